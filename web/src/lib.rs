//! # The RPC Resilience Lab page
//!
//! A Yew app compiled to WebAssembly; Trunk builds it (`web/index.html`).
//! Most of it is pure logic on plain data, tested natively (`cargo test -p
//! rpc-lab-web --lib`); components draw it, and a few modules talk to the
//! browser and the server.
//!
//! The page and its parts:
//! - [`app`]: the page: the calculator and its one call, then the lab and the RPC-vs-REST lesson.
//! - [`components`]: what the page is made of, one component or view function per file.
//! - [`state`]: the calculator's state and the reducer that changes it (pure, tested natively).
//!
//! The resilience lab:
//! - [`lab`]: its orchestration — the bench's requests, batches, free play, the lesson runner,
//!   the redraw throttle — and its state, a reducer (`lab::state`, pure, tested natively).
//! - [`operations`]: the twelve operations, their inputs, and one attempt of each over gRPC-Web.
//! - [`faults`]: the failure sliders, turned into the contract's fault headers (pure, tested natively).
//! - [`policy_form`]: the client-policy controls, turned into the resilience core's configuration (pure, tested natively).
//! - [`lessons`]: the guided lessons, as plain data.
//! - [`check`]: each lesson's "check your understanding" question, judged by the run's own numbers (pure, tested natively).
//! - [`run_log`]: the core's events, folded into what the plots draw (pure, tested natively).
//! - [`truth`]: client view vs server truth — what was meant, believed and done (pure, tested natively).
//! - [`key_by_hand`]: one idempotency key sent by hand, and what each reply says the server did (pure, tested natively).
//! - [`export`]: a run's events as CSV and JSON (pure, tested natively).
//!
//! The plots' arithmetic:
//! - [`plot_scale`]: scales, time ticks, labels and downsampling (pure, tested natively).
//! - [`latency`]: percentiles and histogram bins (pure, tested natively).
//! - [`step_view`]: which lesson steps a plot shows, each on its own clock (pure, tested natively).
//! - [`markup`]: listener-free figures written as escaped text, far less code than `html!` (tested natively).
//! - [`attempt_rate`]: attempts sent to the server per interval, the load retries create (pure, tested natively).
//!
//! The Scale view (thousands of virtual clients, run by the server's load engine):
//! - [`scale`]: its controls turned into a `LoadScenario`, and the streamed snapshots folded
//!   into plot series and a summary (pure, tested natively).
//!
//! The server's view (what the server did with every request of the tab's session, whoever sent it):
//! - [`server_view`]: the records grouped into logical calls, their duplicates, and the commands
//!   that put a student's own client in the session (pure, tested natively).
//!
//! The RPC-vs-REST lesson:
//! - [`comparison`]: its measurement: the same call over gRPC-Web and over `fetch` with JSON.
//!
//! The browser and the server:
//! - [`browser`]: what the page asks the browser — the time (`std::time::Instant` panics in
//!   wasm32), its address, performance marks, downloads.
//! - [`server_url`]: which server to call: this origin, or `?server=` (pure, tested natively).
//! - [`session`]: each tab is its own lab session, named on every request.
//! - [`wire`]: the one gRPC-Web call the page's requests go through (one compiled copy
//!   of tonic's call machinery instead of one per method).
//!
//! Requests leave the page from [`app`] (the calculator), [`lab::bench`] (the lab's runs and its
//! reads of the server's truth), [`operations::perform`] (one attempt of any operation, for the
//! bench and the by-hand key group), [`comparison`], and the server's and Scale views' streams.
//! All but the REST twin's `fetch` go over `tonic-web-wasm-client`'s `fetch` transport, and all
//! but the Scale view's through [`wire`].

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
pub mod markup;
pub mod operations;
pub mod plot_scale;
pub mod policy_form;
pub mod run_log;
pub mod scale;
pub mod server_url;
pub mod server_view;
pub mod session;
pub mod state;
pub mod step_view;
pub mod truth;
pub mod wire;
