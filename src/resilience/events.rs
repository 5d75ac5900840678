//! Every decision the caller makes, as a stream of timestamped events.
//!
//! A retry loop is invisible from outside: a call "took 2.3 s" — but was that
//! one slow attempt, or three fast failures and two backoffs? The caller
//! therefore reports each step as an [`Event`] to an [`EventSink`], with the
//! injected clock's time. The lab's page draws its timelines and plots from
//! this stream alone, and the tests assert on it, so it must be complete:
//! anything that influenced the outcome is in it.
//!
//! Events are plain data (`Clone`, `Debug`, `PartialEq`), with no serializer
//! attached: turning them into JSON or SVG is the consumer's business. A
//! production client would send the same facts to its tracing and metrics
//! system (OpenTelemetry spans for calls and attempts, counters for retries
//! and breaker transitions).

use std::cell::RefCell;
use std::time::Duration;

use tonic::Code;

use super::breaker::{BreakerState, Counts};
use super::idempotency::IdempotencyKey;
use super::outcome::GaveUp;
use super::pushback::Pushback;

/// One thing that happened, when, and in which logical call.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The caller's clock when it happened.
    pub at: Duration,
    /// The logical call it belongs to, numbered from 1 per caller; 0 for
    /// events outside any call (an operator forcing the breaker open).
    pub call: u64,
    pub kind: EventKind,
}

/// Where the next delay came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DelaySource {
    /// The backoff schedule (with its jitter).
    Backoff,
    /// The server's `grpc-retry-pushback-ms`.
    Pushback,
}

/// The kinds of event, in the order they typically occur.
#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// A logical call began.
    CallStarted {
        operation: &'static str,
        idempotent: bool,
        /// The key every attempt of this call sends, if keys are on.
        key: Option<IdempotencyKey>,
    },
    /// An attempt was handed to the transport.
    AttemptStarted {
        /// 1 for the first attempt.
        attempt: u32,
        /// Whether it was started by hedging rather than after a failure.
        hedge: bool,
        /// The time it was given, sent as `grpc-timeout`.
        timeout: Option<Duration>,
    },
    /// An attempt ended: with an answer, an error, a local timeout, or
    /// cancelled because another hedged attempt won (`CANCELLED`).
    AttemptEnded {
        attempt: u32,
        /// `Code::Ok` for a success.
        code: Code,
        latency: Duration,
        /// The reply's `x-fault-injected` header (`fail`, `drop`, `delay`):
        /// the lab's server shaped this outcome on purpose.
        fault_injected: Option<String>,
        /// The reply carried `idempotent-replayed: true`: the server did not
        /// execute again but returned the outcome stored under the key.
        replayed: bool,
    },
    /// The server asked, with `grpc-retry-pushback-ms`, to wait or to stop.
    PushbackReceived { attempt: u32, pushback: Pushback },
    /// The caller will wait this long before the next attempt.
    BackoffChosen {
        /// The attempt that will follow the wait.
        next_attempt: u32,
        delay: Duration,
        source: DelaySource,
    },
    /// The retry budget's token count changed.
    BudgetUpdated { tokens: f64 },
    /// The retry budget refused a retry or hedge: tokens at or below half.
    BudgetRefused { tokens: f64 },
    /// The overall deadline ran out, or the next attempt could only start after it.
    DeadlineHit {
        /// The deadline, measured from the start of the call.
        deadline: Duration,
    },
    /// The closed breaker recorded an attempt's outcome; these are the calls,
    /// failures and slow calls in its window now (the rates it compares with
    /// its thresholds).
    BreakerWindow { counts: Counts },
    /// The circuit breaker changed state.
    BreakerTransition {
        from: BreakerState,
        to: BreakerState,
    },
    /// The circuit breaker refused an attempt; nothing was sent.
    RejectedByBreaker { attempt: u32, state: BreakerState },
    /// The logical call is over.
    CallEnded {
        /// `Code::Ok` for a success, else the status returned to the program.
        code: Code,
        /// Attempts actually sent.
        attempts: u32,
        elapsed: Duration,
        /// Why the caller stopped trying, for a failed call.
        gave_up: Option<GaveUp>,
    },
}

/// Where the caller sends its events.
///
/// `&self`, not `&mut self`: a sink is shared between the caller and whoever
/// reads it (the page, a test), so implementations keep their state in a
/// `RefCell` or a channel.
pub trait EventSink {
    fn emit(&self, event: Event);
}

/// Any `Fn(Event)` is a sink: the page passes a closure that dispatches
/// each event to its state.
impl<F: Fn(Event)> EventSink for F {
    fn emit(&self, event: Event) {
        self(event)
    }
}

/// A sink that drops every event: the caller with nobody watching.
#[derive(Clone, Copy, Debug, Default)]
pub struct DiscardEvents;

impl EventSink for DiscardEvents {
    fn emit(&self, _event: Event) {}
}

/// A sink that keeps every event in memory, for tests and replay.
#[derive(Debug, Default)]
pub struct VecSink {
    events: RefCell<Vec<Event>>,
}

impl VecSink {
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of everything emitted so far.
    pub fn events(&self) -> Vec<Event> {
        self.events.borrow().clone()
    }

    /// Everything emitted so far; the sink is left empty.
    pub fn take(&self) -> Vec<Event> {
        self.events.take()
    }

    /// Only the kinds, for compact assertions.
    pub fn kinds(&self) -> Vec<EventKind> {
        self.events
            .borrow()
            .iter()
            .map(|e| e.kind.clone())
            .collect()
    }
}

impl EventSink for VecSink {
    fn emit(&self, event: Event) {
        self.events.borrow_mut().push(event);
    }
}
