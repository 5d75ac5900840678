//! # Resilience: how a careful client calls a server that may fail
//!
//! A remote call can fail in ways a local one cannot: the server is down,
//! the reply is lost, the answer comes too late. This module is the lab's
//! answer, one pattern per file (a folder, for the two patterns that need
//! several), each small enough to read in one sitting. Read the table from
//! the top: each file uses only files above it, so the table is also the
//! order in which the pieces build on each other.
//!
//! | file | pattern | the question it answers |
//! | --- | --- | --- |
//! | [`config`] | configuration errors | what is wrong with these settings, in words? |
//! | [`clock`] | injected time and randomness | how do we test and replay all this? |
//! | [`codes`] | sets of status codes | which errors count as what? |
//! | [`outcome`] | why a call gave up, and its error | how did a failed call end? |
//! | [`pushback`] | server pushback (gRFC A6) | did the server say when to retry? |
//! | [`backoff`] | exponential backoff + jitter | how long to wait before the next try? |
//! | [`budget`] | retry budget (gRFC A6 throttling) | are we retrying so much we make things worse? |
//! | [`idempotency`] | idempotency keys | can the server tell a retry from a new request? |
//! | [`breaker`] | circuit breaker | should we call this server at all right now? |
//! | [`policy`] | retry policy | how hard should this call try? |
//! | [`events`] | event stream | what happened, when, and why? |
//! | [`caller`] | the retry loop, timeouts, deadlines, hedging | puts it all together around one RPC |
//!
//! Who uses whom, level by level (in brackets: the files each one uses):
//!
//! ```text
//! 0  config   clock   codes   outcome   pushback       (nothing in resilience/)
//! 1  backoff (clock)   budget (config)   idempotency (clock)
//! 2  breaker (config, codes, backoff)
//!    policy  (config, codes, outcome, backoff, budget)
//! 3  events  (outcome, pushback, idempotency, breaker)
//! 4  caller  (all of the above)
//! ```
//!
//! The decisions are pure (the breaker, the backoff and the budget take the
//! time and the random numbers as arguments), and the I/O is at the edge:
//! [`ResilientCaller`] runs the attempts a closure makes, with a [`Clock`]
//! and a [`RandomSource`] handed in. In the browser those are `WebClock`
//! and a [`SeededRng`] (idempotency keys come from [`RandomKeys`], never
//! from the seed); natively `TokioClock` (feature `tokio`), whose
//! paused mode lets the tests run minutes of retries in microseconds and
//! always the same way.
//!
//! What a production client adds is noted where it matters: gRPC's built-in
//! retry and hedging (configured by the same names, gRFC A6), tracing and
//! metrics fed from the same events, a vetted CSPRNG for keys natively, and a breaker
//! per server shared across threads.

pub mod backoff;
pub mod breaker;
pub mod budget;
pub mod caller;
pub mod clock;
pub mod codes;
pub mod config;
pub mod events;
pub mod idempotency;
pub mod outcome;
pub mod policy;
pub mod pushback;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

pub use backoff::{Backoff, Jitter};
pub use breaker::{
    BreakerConfig, BreakerState, CircuitBreaker, Counts, Permit, Rejected, SlidingWindow,
    Transition,
};
pub use budget::{BudgetConfig, RetryBudget};
pub use caller::{Attempt, CallSpec, ResilientCaller, bare_call};
#[cfg(all(not(target_arch = "wasm32"), any(feature = "tokio", test)))]
pub use clock::TokioClock;
#[cfg(target_arch = "wasm32")]
pub use clock::WebClock;
pub use clock::{Clock, RandomSource, SeededRng};
pub use codes::CodeSet;
pub use config::ConfigError;
pub use events::{DelaySource, DiscardEvents, Event, EventKind, EventSink, VecSink};
pub use idempotency::{IdempotencyKey, KeySource, RandomKeys, SeededKeys};
pub use outcome::{GaveUp, ResilientCallError};
pub use policy::{HedgingConfig, RetryPolicy};
pub use pushback::Pushback;
