//! The circuit breaker: stop calling a server that is failing.
//!
//! Retries help when failures are rare and brief. When a server is down,
//! they make things worse: every call waits for its timeouts, and the load
//! keeps the server from recovering. A circuit breaker watches the outcomes
//! of recent calls and, when too many fail, *opens*: calls fail at once,
//! without touching the network, until a wait has passed. Then it lets a few
//! *probe* calls through (*half-open*); if they succeed it *closes* again,
//! otherwise it reopens, waiting longer each time if so configured.
//!
//! ```text
//!            failure or slow-call rate ≥ threshold
//!            (after the minimum number of calls)
//!   Closed ─────────────────────────────────────▶ Open ◀──────────┐
//!     ▲                                            │ wait passed   │ probes fail
//!     │ probes succeed                             ▼               │
//!     └──────────────────────────────────────── HalfOpen ──────────┘
//!
//!   ForcedOpen: an operator's "off" switch, rejects everything.
//!   Disabled:   an operator's bypass, lets everything through, judges nothing.
//! ```
//!
//! The design follows Resilience4j's `CircuitBreaker`, whose settings are the
//! industry's vocabulary: count-based or time-based sliding window, failure
//! rate threshold, slow-call duration and rate threshold, minimum number of
//! calls, wait duration in open state, permitted calls in half-open state.
//!
//! | file | what it holds |
//! | --- | --- |
//! | `config.rs` | [`BreakerConfig`] and [`SlidingWindow`]: every setting, checked |
//! | `window.rs` | [`Counts`] and the two sliding windows (last N calls, last T of time) |
//! | `state_machine.rs` | [`CircuitBreaker`]: the states above, and the permits it hands out |
//!
//! A production breaker would add what this one leaves to its caller:
//! metrics export, a timer that moves Open → HalfOpen even when no call
//! arrives (here the move happens on the next call, which is equivalent for
//! the caller), and thread-safe sharing (here the caller wraps it in a
//! `RefCell`, because the browser has one thread).

mod config;
mod state_machine;
mod window;

pub use config::{BreakerConfig, SlidingWindow};
pub use state_machine::{BreakerState, CircuitBreaker, Permit, Rejected, Transition};
pub use window::Counts;
