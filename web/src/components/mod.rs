//! The page's building blocks, one file each, named for what they show.
//!
//! Components render what they are given and report what the student did
//! through callbacks. Two hold state and make requests: [`ResilienceLab`] (the
//! lab, whose runs [`crate::lab`] orchestrates) and [`RpcVsRest`] (its own
//! measurement); the rest only draw.
//!
//! A part with no state of its own is not a component but a plain view
//! function (`call_history(&history)`) or, when it takes many inputs, a
//! struct of them with a `view` method (`LatencyHistogram { .. }.view()`):
//! each component type adds about 1.6 KB of Yew's machinery to the
//! WebAssembly every student downloads, and these need none of it.

mod attempt_rate_plot;
mod attempt_timeline;
mod breaker_plot;
mod budget_plot;
mod call_history;
mod call_result;
mod fault_controls;
mod fields;
pub mod jitter_experiment;
mod key_by_hand;
mod latency_histogram;
mod latency_panel;
mod lesson_list;
mod live_plots;
mod operand_input;
mod operation_buttons;
mod operation_panel;
mod plot_frame;
mod policy_controls;
mod resilience_lab;
mod rpc_vs_rest;
mod run_summary;
mod scale_plots;
mod scale_view;
mod server_banner;
mod server_view;
mod status_table;
mod step_picker;
mod truth_panel;

pub use attempt_rate_plot::AttemptRatePlot;
pub use attempt_timeline::attempt_timeline;
pub use breaker_plot::breaker_plot;
pub use budget_plot::budget_plot;
pub use call_history::call_history;
pub use call_result::call_result;
pub use fault_controls::FaultControls;
pub use key_by_hand::KeyByHand;
pub use latency_histogram::{Fill, LatencyHistogram};
pub use latency_panel::latency_panel;
pub use lesson_list::LessonList;
pub use operand_input::operand_input;
pub use operation_buttons::operation_buttons;
pub use operation_panel::OperationPanel;
pub use policy_controls::PolicyControls;
pub use resilience_lab::ResilienceLab;
pub use rpc_vs_rest::RpcVsRest;
pub use run_summary::run_summary;
pub use scale_view::ScaleView;
pub use server_banner::server_banner;
pub use server_view::ServerView;
pub use status_table::status_table;
pub use step_picker::StepPicker;
pub use truth_panel::truth_panel;
