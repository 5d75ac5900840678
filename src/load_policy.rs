//! The resilience core's client policy as the load engine's `LoadPolicy`.
//!
//! `Lab/RunLoad` runs its virtual clients through the very `ResilientCaller`
//! the page uses, so its request carries the core's `RetryPolicy` and
//! `BreakerConfig` — as a `LoadPolicy` message. Two sides write that message
//! from the core's types: the page (its policy controls, for a Scale run) and
//! the server (saying back the payment tier's client it stored). One function
//! here, so the two cannot drift apart; the server reads it back, with the
//! core's own validation, in `server/src/load/scenario.rs`.
//!
//! What has no place on the wire: the retryable and failure codes (always
//! the core's defaults on the engine's side), hedging (the engine does not
//! hedge), and a breaker window measured in time — the engine's windows
//! count calls, so such a window is sent as 0 calls, which the engine
//! refuses in the core's words (`window.calls is 0: the window must hold at
//! least one call`).

use std::time::Duration;

use crate::proto::calculator_v1::{LoadBreaker, LoadBudget, LoadJitter, LoadPolicy};
use crate::resilience::{BreakerConfig, Jitter, RetryPolicy, SlidingWindow};

/// `retry` and `breaker` as a `LoadPolicy`, in whole milliseconds.
pub fn to_load_policy(retry: &RetryPolicy, breaker: Option<&BreakerConfig>) -> LoadPolicy {
    LoadPolicy {
        max_attempts: retry.max_attempts,
        initial_backoff_ms: millis(retry.initial_backoff),
        max_backoff_ms: millis(retry.max_backoff),
        backoff_multiplier: retry.multiplier,
        jitter: match retry.jitter {
            Jitter::Full => LoadJitter::Full,
            Jitter::None => LoadJitter::None,
            Jitter::Equal => LoadJitter::Equal,
            Jitter::Decorrelated => LoadJitter::Decorrelated,
        }
        .into(),
        attempt_timeout_ms: retry.per_attempt_timeout.map(millis),
        deadline_ms: retry.deadline.map(millis),
        idempotency_keys: retry.idempotency_keys,
        budget: retry.budget.map(|b| LoadBudget {
            max_tokens: b.max_tokens,
            token_ratio: b.token_ratio,
        }),
        breaker: breaker.map(|b| LoadBreaker {
            window_calls: match b.window {
                SlidingWindow::Count { calls } => calls,
                SlidingWindow::Time { .. } => 0,
            },
            minimum_calls: b.minimum_calls,
            failure_rate_threshold: b.failure_rate_threshold,
            slow_call_ms: millis(b.slow_call_duration),
            slow_call_rate_threshold: b.slow_call_rate_threshold,
            wait_in_open_ms: millis(b.wait_in_open),
            wait_multiplier: b.wait_multiplier,
            max_wait_in_open_ms: millis(b.max_wait_in_open),
            half_open_probes: b.half_open_probes,
        }),
    }
}

fn millis(duration: Duration) -> u32 {
    u32::try_from(duration.as_millis()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resilience::BudgetConfig;

    #[test]
    fn every_setting_is_carried_in_milliseconds() {
        let retry = RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(25),
            max_backoff: Duration::from_millis(400),
            multiplier: 3.0,
            jitter: Jitter::Decorrelated,
            per_attempt_timeout: Some(Duration::from_micros(250_900)),
            deadline: Some(Duration::from_secs(2)),
            budget: Some(BudgetConfig {
                max_tokens: 10.0,
                token_ratio: 0.1,
            }),
            idempotency_keys: true,
            ..RetryPolicy::default()
        };
        let breaker = BreakerConfig {
            window: SlidingWindow::Count { calls: 20 },
            minimum_calls: 5,
            ..BreakerConfig::default()
        };
        let wire = to_load_policy(&retry, Some(&breaker));
        assert_eq!(wire.max_attempts, 4);
        assert_eq!((wire.initial_backoff_ms, wire.max_backoff_ms), (25, 400));
        assert_eq!(wire.jitter(), LoadJitter::Decorrelated);
        assert_eq!(wire.attempt_timeout_ms, Some(250), "whole milliseconds");
        assert_eq!(wire.deadline_ms, Some(2_000));
        assert!(wire.idempotency_keys);
        assert_eq!(wire.budget.map(|b| b.token_ratio), Some(0.1));
        let wire_breaker = wire.breaker.expect("a breaker");
        assert_eq!(
            (wire_breaker.window_calls, wire_breaker.minimum_calls),
            (20, 5)
        );
        assert_eq!(
            wire_breaker.wait_in_open_ms,
            millis(BreakerConfig::default().wait_in_open)
        );
    }

    #[test]
    fn a_time_window_has_no_wire_form_and_goes_as_zero_calls() {
        let breaker = BreakerConfig {
            window: SlidingWindow::Time {
                length: Duration::from_secs(10),
                buckets: 10,
            },
            ..BreakerConfig::default()
        };
        let wire = to_load_policy(&RetryPolicy::no_retries(), Some(&breaker));
        assert_eq!(wire.breaker.unwrap().window_calls, 0);
        assert!(
            to_load_policy(&RetryPolicy::no_retries(), None)
                .breaker
                .is_none()
        );
    }
}
