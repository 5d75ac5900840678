//! # rpc-lab: the shared half of RPC Resilience Lab
//!
//! The lab has a server (`server/`) and a browser page (`web/`). Both speak the
//! wire contract in `proto/`, and this crate is where that contract becomes Rust:
//!
//! - [`proto`]: message types and gRPC stubs generated from `proto/` by `build.rs`.
//!   Nothing here is written by hand.
//! - [`calculator`]: the four operations as a student sees them, and one function
//!   that calls the server for any of them over any transport.
//! - [`headers`]: the names of the contract's headers, for both sides of the wire.
//! - [`jitter_experiment`]: Brooker's jitter experiment as load runs, the same
//!   in the page and on the command line.
//! - [`load_policy`]: the core's client policy as the load engine's `LoadPolicy`,
//!   written the same way by the page and the server.
//! - [`number_format`]: numbers as text, through the browser's own formatter
//!   in the page, so the page's download carries no float formatter of its own.
//! - [`status`]: what each gRPC status code means, in words a student can act on.
//! - [`resilience`]: retries with backoff and jitter, deadlines, a retry budget,
//!   hedging, idempotency keys and a circuit breaker, around any of these calls.
//!
//! The same code runs in the browser (compiled to `wasm32`, talking gRPC-Web
//! through `fetch`) and natively (tests and benchmarks, talking HTTP/2 or
//! gRPC-Web over a socket). That is why nothing in this crate opens a socket or
//! reads the time on its own: the caller brings the transport, and the clock
//! (`resilience::WebClock` in the browser, `TokioClock` natively, a paused one
//! in tests) is handed in.

pub mod calculator;
pub mod headers;
pub mod jitter_experiment;
pub mod load_policy;
pub mod number_format;
pub mod proto;
pub mod resilience;
pub mod status;
