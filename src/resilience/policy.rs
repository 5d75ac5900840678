//! The retry policy: one value that says how hard a client tries.
//!
//! Everything a student can turn on the page — attempts, backoff, jitter,
//! timeouts, budget, hedging, idempotency keys — is a field of
//! [`RetryPolicy`], so there is one place to read what a caller will do. The
//! names follow gRPC's service config (gRFC A6: `maxAttempts`,
//! `initialBackoff`, `backoffMultiplier`, `maxBackoff`,
//! `retryableStatusCodes`), so what is learned here carries over.
//!
//! A policy is plain data; [`RetryPolicy::validate`] says, in words, what is
//! wrong with one before any call is made.

use std::time::Duration;

use tonic::Code;

use super::backoff::{Backoff, Jitter};
use super::budget::BudgetConfig;
use super::codes::CodeSet;
use super::config::{ConfigError, all_problems, millis};
use super::outcome::GaveUp;
use crate::number_format::shortest;

/// How a caller retries, times out and hedges one kind of call.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included: 1 means "never retry".
    pub max_attempts: u32,
    /// The backoff before the first retry, before jitter.
    pub initial_backoff: Duration,
    /// How much the backoff grows per retry (2.0 doubles it).
    pub multiplier: f64,
    /// The backoff never grows beyond this.
    pub max_backoff: Duration,
    /// How randomness is mixed into the backoff, so that clients that failed
    /// together do not all retry at the same instant.
    pub jitter: Jitter,
    /// Status codes worth another attempt. See [`RetryPolicy::DEFAULT_RETRYABLE`].
    pub retryable_codes: CodeSet,
    /// How long one attempt may take before the client gives up on it.
    pub per_attempt_timeout: Option<Duration>,
    /// How long the whole call may take, all attempts and backoffs included.
    pub deadline: Option<Duration>,
    /// gRFC A6 retry throttling, shared by every call of the caller.
    pub budget: Option<BudgetConfig>,
    /// Send extra attempts without waiting for the first to fail (idempotent
    /// operations only).
    pub hedging: Option<HedgingConfig>,
    /// Send an `idempotency-key` with every attempt, the same for all the
    /// attempts of one call. Switch off to watch duplicates appear.
    pub idempotency_keys: bool,
}

/// Hedging: when an attempt is slow, send another one alongside it.
///
/// Hedging trades load for latency: a slow tail (one server paused for
/// garbage collection, one lost packet) is cut by whichever copy answers
/// first. It is only allowed for idempotent operations, because every hedged
/// attempt may execute.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HedgingConfig {
    /// Start another attempt when none has answered for this long. A failure
    /// with a retryable code starts the next one at once (gRFC A6).
    pub delay: Duration,
}

impl RetryPolicy {
    /// The codes retried by default, and why:
    ///
    /// - `UNAVAILABLE`: the server was not reached or the reply was lost — the
    ///   textbook transient failure.
    /// - `DEADLINE_EXCEEDED`: only ever the result of a *per-attempt* timeout
    ///   that left time in the overall deadline (when the deadline itself runs
    ///   out the call stops anyway). Retrying it is the point of a per-attempt
    ///   timeout; the server may have done the work, which is why a
    ///   non-idempotent operation is retried only with an idempotency key.
    /// - `ABORTED`: the lab's server answers a duplicate that arrives while the
    ///   first request with its key is still running with `ABORTED`, meaning
    ///   "try again shortly".
    ///
    /// Not retried: `RESOURCE_EXHAUSTED` (a quota or an overload — retrying
    /// adds to the load that caused it; a server that wants a retry says so
    /// with pushback), and every code that means "your request is wrong"
    /// (`INVALID_ARGUMENT`, `FAILED_PRECONDITION`, …): the same request fails
    /// the same way.
    pub const DEFAULT_RETRYABLE: CodeSet =
        CodeSet::of(&[Code::Unavailable, Code::DeadlineExceeded, Code::Aborted]);

    /// The first two rules the caller applies after a failed attempt, before
    /// it counts attempts, time or budget: may *any* retry follow `code`?
    ///
    /// - The code must be one of [`retryable_codes`](Self::retryable_codes):
    ///   otherwise the same request would fail the same way
    ///   ([`GaveUp::NotRetryable`]).
    /// - An operation that is not idempotent is retried only with an
    ///   idempotency key (`keyed`): the failed attempt may have executed, and
    ///   without a key the server cannot tell the retry from a new request
    ///   ([`GaveUp::NotIdempotent`]).
    ///
    /// The caller asks this on every failure, and the page's table of status
    /// codes is drawn from it, so the two cannot disagree.
    pub fn may_retry(&self, code: Code, idempotent: bool, keyed: bool) -> Result<(), GaveUp> {
        if !self.retryable_codes.contains(code) {
            return Err(GaveUp::NotRetryable);
        }
        if !idempotent && !keyed {
            return Err(GaveUp::NotIdempotent);
        }
        Ok(())
    }

    /// A policy that makes exactly one attempt: the bare call, for comparison.
    pub fn no_retries() -> Self {
        RetryPolicy {
            max_attempts: 1,
            budget: None,
            hedging: None,
            ..RetryPolicy::default()
        }
    }

    /// Every problem with this policy, in words; `Ok` if there is none.
    pub fn validate(&self) -> Result<(), Vec<ConfigError>> {
        let mut problems = Vec::new();
        let mut problem = |field, text: String| problems.push(ConfigError::new(field, text));

        if self.max_attempts == 0 {
            problem(
                "max_attempts",
                "is 0: a call needs at least one attempt (1 means no retries)".into(),
            );
        }
        if self.initial_backoff.is_zero() {
            problem(
                "initial_backoff",
                "is 0: retries would fire back to back; use at least 1 ms".into(),
            );
        }
        if !(self.multiplier.is_finite() && self.multiplier >= 1.0) {
            problem(
                "multiplier",
                format!(
                    "is {}: it must be a number ≥ 1, or the backoff would shrink",
                    shortest(self.multiplier)
                ),
            );
        }
        if self.max_backoff < self.initial_backoff {
            problem(
                "max_backoff",
                format!(
                    "({}) is smaller than initial_backoff ({})",
                    millis(self.max_backoff),
                    millis(self.initial_backoff)
                ),
            );
        }
        if self.per_attempt_timeout.is_some_and(|t| t.is_zero()) {
            problem(
                "per_attempt_timeout",
                "is 0: no attempt could ever finish".into(),
            );
        }
        if self.deadline.is_some_and(|d| d.is_zero()) {
            problem("deadline", "is 0: no attempt could ever start".into());
        }
        if let Some(budget) = &self.budget {
            for error in budget.validate() {
                problems.push(error);
            }
        }
        if let Some(hedging) = &self.hedging {
            if hedging.delay.is_zero() {
                problems.push(ConfigError::new(
                    "hedging.delay",
                    "is 0: every attempt would start at once; use at least 1 ms".into(),
                ));
            }
            if self.max_attempts < 2 {
                problems.push(ConfigError::new(
                    "hedging",
                    format!(
                        "needs max_attempts ≥ 2 to send a second attempt (it is {})",
                        self.max_attempts
                    ),
                ));
            }
        }
        all_problems(problems)
    }

    /// A fresh backoff schedule with this policy's settings, for one
    /// logical call.
    pub fn backoff(&self) -> Backoff {
        Backoff::new(
            self.initial_backoff,
            self.multiplier,
            self.max_backoff,
            self.jitter,
        )
    }
}

/// A starting point close to gRPC's own examples: up to 4 attempts, backoff
/// from 100 ms doubling up to 2 s with full jitter, 1 s per attempt, 5 s for
/// the whole call, keys on. No budget and no hedging until a lesson turns
/// them on.
impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
            multiplier: 2.0,
            max_backoff: Duration::from_secs(2),
            jitter: Jitter::Full,
            retryable_codes: RetryPolicy::DEFAULT_RETRYABLE,
            per_attempt_timeout: Some(Duration::from_secs(1)),
            deadline: Some(Duration::from_secs(5)),
            budget: None,
            hedging: None,
            idempotency_keys: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_needs_a_retryable_code_and_for_unsafe_calls_a_key() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.may_retry(Code::Unavailable, true, false), Ok(()));
        assert_eq!(
            policy.may_retry(Code::Unavailable, false, false),
            Err(GaveUp::NotIdempotent)
        );
        assert_eq!(policy.may_retry(Code::Unavailable, false, true), Ok(()));
        for keyed in [false, true] {
            assert_eq!(
                policy.may_retry(Code::InvalidArgument, true, keyed),
                Err(GaveUp::NotRetryable),
                "a request that is wrong stays wrong"
            );
        }
    }

    #[test]
    fn the_default_policy_is_valid() {
        assert_eq!(RetryPolicy::default().validate(), Ok(()));
        assert_eq!(RetryPolicy::no_retries().validate(), Ok(()));
    }

    #[test]
    fn a_cap_below_the_start_is_explained_with_both_numbers() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(50),
            ..RetryPolicy::default()
        };
        let errors = policy.validate().unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].to_string(),
            "max_backoff (50 ms) is smaller than initial_backoff (100 ms)"
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let policy = RetryPolicy {
            max_attempts: 0,
            multiplier: 0.5,
            deadline: Some(Duration::ZERO),
            budget: Some(BudgetConfig {
                max_tokens: 10.0,
                token_ratio: 0.0,
            }),
            hedging: Some(HedgingConfig {
                delay: Duration::from_millis(10),
            }),
            ..RetryPolicy::default()
        };
        let fields: Vec<&str> = policy
            .validate()
            .unwrap_err()
            .iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "max_attempts",
                "multiplier",
                "deadline",
                "budget.token_ratio",
                "hedging"
            ]
        );
    }

    #[test]
    fn a_nan_multiplier_is_refused() {
        let policy = RetryPolicy {
            multiplier: f64::NAN,
            ..RetryPolicy::default()
        };
        assert_eq!(policy.validate().unwrap_err()[0].field, "multiplier");
    }
}
