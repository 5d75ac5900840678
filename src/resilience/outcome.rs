//! How a logical call ends when it fails: why the caller stopped, and what
//! the program is told.
//!
//! These two types are the vocabulary shared by the retry policy (which
//! decides that a code may not be retried), the event stream (which reports
//! why a call ended) and the caller (which returns the error). Defining them
//! here, apart from all three, is what lets each of them depend on this file
//! without depending on the others.

use std::fmt;

use tonic::Status;

use crate::status::code_name;

/// Why the caller stopped trying.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GaveUp {
    /// The status code is not in the policy's retryable codes.
    NotRetryable,
    /// The code was retryable, but the operation is not idempotent and has
    /// no idempotency key: a retry could run it twice.
    NotIdempotent,
    /// The server's pushback said not to retry.
    PushbackSaidStop,
    /// `max_attempts` attempts were made.
    AttemptsExhausted,
    /// The overall deadline ran out, or the next attempt would start after it.
    DeadlineExceeded,
    /// The retry budget is spent: too many recent attempts failed.
    BudgetExhausted,
    /// The circuit breaker refused the attempt; nothing was sent.
    BreakerOpen,
}

impl GaveUp {
    /// The reason in a sentence.
    pub fn explain(self) -> &'static str {
        match self {
            GaveUp::NotRetryable => "the error is not one that retrying can fix",
            GaveUp::NotIdempotent => {
                "the operation is not idempotent and carries no idempotency key, \
                 so a retry could run it twice"
            }
            GaveUp::PushbackSaidStop => "the server asked the client not to retry",
            GaveUp::AttemptsExhausted => "every allowed attempt was used",
            GaveUp::DeadlineExceeded => "the deadline left no time for another attempt",
            GaveUp::BudgetExhausted => "the retry budget is spent: too many recent attempts failed",
            GaveUp::BreakerOpen => {
                "the circuit breaker is open, so the call failed at once without a request"
            }
        }
    }
}

/// A logical call that failed, after every attempt the policy allowed.
///
/// Unlike a bare call's [`BareCallError`](crate::calculator::BareCallError),
/// which is one reply's status, it also says how many attempts were sent and
/// why the caller stopped.
#[derive(Clone, Debug)]
pub struct ResilientCallError {
    /// The last attempt's status; when no attempt was sent (the breaker
    /// refused the first one), an `UNAVAILABLE` status saying so.
    pub status: Status,
    /// Attempts actually sent.
    pub attempts: u32,
    /// Why the caller stopped.
    pub gave_up: GaveUp,
}

impl ResilientCallError {
    /// Whether the breaker refused the call before any request was sent.
    pub fn rejected_by_breaker(&self) -> bool {
        self.gave_up == GaveUp::BreakerOpen && self.attempts == 0
    }
}

impl fmt::Display for ResilientCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} (gave up after {} attempt{}: {})",
            code_name(self.status.code()),
            self.status.message(),
            self.attempts,
            if self.attempts == 1 { "" } else { "s" },
            self.gave_up.explain()
        )
    }
}

impl std::error::Error for ResilientCallError {}
