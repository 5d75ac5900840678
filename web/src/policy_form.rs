//! The client-policy controls, turned into the resilience core's configuration.
//!
//! A form holds numbers a person can type (milliseconds, percentages, on/off);
//! the core wants `Duration`s, `Option`s and validated structs. This module is
//! the translation, in one place, with the core's own validation: a setting
//! the core would refuse is shown beside the control with the core's words,
//! and the page keeps its last good caller until it is fixed.

use std::time::Duration;

use rpc_lab::number_format::shortest;
use rpc_lab::resilience::{
    BreakerConfig, BudgetConfig, ConfigError, HedgingConfig, Jitter, RetryPolicy, SlidingWindow,
};

/// Every client-side setting of the lab, as the controls show it.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyForm {
    /// Off: exactly one attempt per call.
    pub retries: bool,
    /// Retry non-idempotent operations even without a key: the naive client
    /// that treats every call as safe to repeat. Off, the core refuses to
    /// retry an unsafe call that carries no key.
    pub retry_unsafe: bool,
    pub max_attempts: u32,
    pub initial_backoff_ms: u32,
    pub multiplier: f64,
    pub max_backoff_ms: u32,
    pub jitter: Jitter,
    /// 0: no per-attempt timeout.
    pub attempt_timeout_ms: u32,
    /// 0: no overall deadline.
    pub deadline_ms: u32,
    pub budget: bool,
    pub budget_max_tokens: f64,
    pub budget_token_ratio: f64,
    pub hedging: bool,
    pub hedging_delay_ms: u32,
    pub idempotency_keys: bool,
    pub breaker: bool,
    pub breaker_threshold_pct: f64,
    pub breaker_window_calls: u32,
    pub breaker_minimum_calls: u32,
    pub breaker_open_ms: u32,
    pub breaker_probes: u32,
}

impl Default for PolicyForm {
    /// The core's defaults, with the breaker and budget off: a student starts
    /// from plain retries and switches the rest on one at a time.
    fn default() -> Self {
        let policy = RetryPolicy::default();
        let breaker = BreakerConfig::default();
        let budget = BudgetConfig::default();
        PolicyForm {
            retries: true,
            retry_unsafe: false,
            max_attempts: policy.max_attempts,
            initial_backoff_ms: millis(policy.initial_backoff),
            multiplier: policy.multiplier,
            max_backoff_ms: millis(policy.max_backoff),
            jitter: policy.jitter,
            attempt_timeout_ms: policy.per_attempt_timeout.map_or(0, millis),
            deadline_ms: policy.deadline.map_or(0, millis),
            budget: false,
            budget_max_tokens: budget.max_tokens,
            budget_token_ratio: budget.token_ratio,
            hedging: false,
            hedging_delay_ms: 200,
            idempotency_keys: policy.idempotency_keys,
            breaker: false,
            breaker_threshold_pct: breaker.failure_rate_threshold,
            breaker_window_calls: 20,
            breaker_minimum_calls: breaker.minimum_calls,
            breaker_open_ms: millis(breaker.wait_in_open),
            breaker_probes: breaker.half_open_probes,
        }
    }
}

fn millis(duration: Duration) -> u32 {
    u32::try_from(duration.as_millis()).unwrap_or(u32::MAX)
}

fn ms(millis: u32) -> Duration {
    Duration::from_millis(u64::from(millis))
}

fn optional_ms(millis: u32) -> Option<Duration> {
    (millis > 0).then(|| ms(millis))
}

impl PolicyForm {
    /// The retry policy these settings describe, or every problem with it.
    pub fn policy(&self) -> Result<RetryPolicy, Vec<ConfigError>> {
        let policy = RetryPolicy {
            max_attempts: if self.retries { self.max_attempts } else { 1 },
            initial_backoff: ms(self.initial_backoff_ms),
            multiplier: self.multiplier,
            max_backoff: ms(self.max_backoff_ms),
            jitter: self.jitter,
            retryable_codes: RetryPolicy::DEFAULT_RETRYABLE,
            per_attempt_timeout: optional_ms(self.attempt_timeout_ms),
            deadline: optional_ms(self.deadline_ms),
            budget: self.budget.then_some(BudgetConfig {
                max_tokens: self.budget_max_tokens,
                token_ratio: self.budget_token_ratio,
            }),
            hedging: (self.retries && self.hedging).then(|| HedgingConfig {
                delay: ms(self.hedging_delay_ms),
            }),
            idempotency_keys: self.idempotency_keys,
        };
        policy.validate()?;
        Ok(policy)
    }

    /// The breaker's configuration, `Ok(None)` when it is off.
    pub fn breaker(&self) -> Result<Option<BreakerConfig>, Vec<ConfigError>> {
        if !self.breaker {
            return Ok(None);
        }
        let config = BreakerConfig {
            window: SlidingWindow::Count {
                calls: self.breaker_window_calls,
            },
            minimum_calls: self.breaker_minimum_calls,
            failure_rate_threshold: self.breaker_threshold_pct,
            wait_in_open: ms(self.breaker_open_ms),
            half_open_probes: self.breaker_probes,
            ..BreakerConfig::default()
        };
        config.validate()?;
        Ok(Some(config))
    }

    /// Every problem with the settings, policy and breaker together.
    pub fn problems(&self) -> Vec<ConfigError> {
        let mut problems = self.policy().err().unwrap_or_default();
        problems.extend(self.breaker().err().unwrap_or_default());
        problems
    }

    /// In words, for a run's summary ("4 attempts, full jitter, keys, breaker").
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.retries {
            parts.push(format!(
                "up to {} attempts, {} jitter",
                self.max_attempts,
                jitter_name(self.jitter)
            ));
        } else {
            parts.push("no retries".into());
        }
        if self.attempt_timeout_ms > 0 {
            parts.push(format!("{} ms per attempt", self.attempt_timeout_ms));
        }
        if self.deadline_ms > 0 {
            parts.push(format!("{} ms deadline", self.deadline_ms));
        }
        parts.push(
            if self.idempotency_keys {
                "keys on"
            } else {
                "keys off"
            }
            .into(),
        );
        if self.retries && self.retry_unsafe {
            parts.push("retries unsafe calls".into());
        }
        if self.budget {
            parts.push("retry budget".into());
        }
        if self.retries && self.hedging {
            parts.push(format!("hedging after {} ms", self.hedging_delay_ms));
        }
        if self.breaker {
            parts.push(format!(
                "breaker at {} %",
                shortest(self.breaker_threshold_pct)
            ));
        }
        parts.join(", ")
    }
}

/// The jitter strategy's name, as the select shows it.
pub fn jitter_name(jitter: Jitter) -> &'static str {
    match jitter {
        Jitter::None => "no",
        Jitter::Full => "full",
        Jitter::Equal => "equal",
        Jitter::Decorrelated => "decorrelated",
    }
}

/// The strategy for a select's value.
pub fn jitter_from_name(name: &str) -> Option<Jitter> {
    Jitter::ALL.into_iter().find(|j| jitter_name(*j) == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_cores_with_breaker_and_budget_off() {
        let form = PolicyForm::default();
        assert_eq!(form.policy().unwrap(), RetryPolicy::default());
        assert_eq!(form.breaker(), Ok(None));
        assert!(form.problems().is_empty());
    }

    #[test]
    fn switching_retries_off_leaves_one_attempt_and_no_hedging() {
        let form = PolicyForm {
            retries: false,
            hedging: true,
            ..PolicyForm::default()
        };
        let policy = form.policy().unwrap();
        assert_eq!((policy.max_attempts, policy.hedging), (1, None));
        assert!(form.describe().starts_with("no retries"));
    }

    #[test]
    fn zero_means_no_timeout() {
        let form = PolicyForm {
            attempt_timeout_ms: 0,
            deadline_ms: 0,
            ..PolicyForm::default()
        };
        let policy = form.policy().unwrap();
        assert_eq!((policy.per_attempt_timeout, policy.deadline), (None, None));
    }

    #[test]
    fn the_cores_validation_speaks_for_bad_settings() {
        let form = PolicyForm {
            max_attempts: 0,
            breaker: true,
            breaker_threshold_pct: 150.0,
            ..PolicyForm::default()
        };
        let fields: Vec<_> = form.problems().iter().map(|p| p.field).collect();
        assert!(fields.contains(&"max_attempts"), "{fields:?}");
        assert!(fields.contains(&"failure_rate_threshold"), "{fields:?}");
    }

    #[test]
    fn the_breaker_follows_its_controls() {
        let form = PolicyForm {
            breaker: true,
            breaker_window_calls: 6,
            breaker_minimum_calls: 4,
            breaker_open_ms: 800,
            breaker_probes: 1,
            ..PolicyForm::default()
        };
        let config = form.breaker().unwrap().unwrap();
        assert_eq!(config.window, SlidingWindow::Count { calls: 6 });
        assert_eq!(
            (
                config.minimum_calls,
                config.wait_in_open,
                config.half_open_probes
            ),
            (4, Duration::from_millis(800), 1)
        );
        for jitter in Jitter::ALL {
            assert_eq!(jitter_from_name(jitter_name(jitter)), Some(jitter));
        }
    }
}
