//! The page's building blocks, one file each, named for what they show.
//!
//! Components render what they are given and report what the student did
//! through callbacks; none of them calls the server or holds the page's state.

mod call_history;
mod call_result;
mod latency_histogram;
mod operand_input;
mod operation_buttons;
mod rpc_vs_rest;
mod server_banner;

pub use call_history::CallHistory;
pub use call_result::CallResult;
pub use latency_histogram::{Fill, LatencyHistogram};
pub use operand_input::OperandInput;
pub use operation_buttons::OperationButtons;
pub use rpc_vs_rest::RpcVsRest;
pub use server_banner::ServerBanner;
