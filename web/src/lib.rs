//! # The RPC Resilience Lab page
//!
//! A Yew app compiled to WebAssembly; Trunk builds it (`web/index.html`).
//!
//! - [`app`]: the page itself, and the only place that calls the server.
//! - [`components`]: what the page is made of, one component per file.
//! - [`state`]: the page's state and the reducer that changes it (pure, tested natively).
//! - [`latency`]: percentiles and histogram bins for the plots (pure, tested natively).
//! - [`step_view`]: which lesson steps a plot shows, each on its own clock (pure, tested natively).
//! - [`attempt_rate`]: attempts sent to the server per interval, the load retries create (pure, tested natively).
//! - [`plot_scale`]: scales, time ticks, labels and downsampling for the run plots (pure, tested natively).
//! - [`key_by_hand`]: one idempotency key sent by hand, and what each reply says the server did (pure, tested natively).
//! - [`check`]: each lesson's "check your understanding" question, judged by the run's own numbers (pure, tested natively).
//! - [`comparison`]: the RPC-vs-REST lesson's measurement (gRPC-Web and `fetch`).
//! - [`server_url`]: which server to call: this origin, or `?server=` (pure, tested natively).
//! - [`browser`]: the browser's clock and address (`std::time::Instant` panics in wasm32).
//!
//! The calls themselves go through [`rpc_lab::calculator::calculate`], the same
//! function the native tests use, over `tonic-web-wasm-client`'s `fetch` transport.

pub mod app;
pub mod attempt_rate;
pub mod browser;
pub mod check;
pub mod comparison;
pub mod components;
pub mod export;
pub mod faults;
pub mod key_by_hand;
pub mod lab;
pub mod latency;
pub mod lessons;
pub mod operations;
pub mod plot_scale;
pub mod policy_form;
pub mod run_log;
pub mod server_url;
pub mod session;
pub mod state;
pub mod step_view;
pub mod truth;
