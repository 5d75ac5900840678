//! The retry budget: gRFC A6's retry throttling.
//!
//! `max_attempts` limits the retries of *one* call. It does nothing against a
//! *retry storm*: when a server is down, every call retries, and a client
//! with `max_attempts = 4` sends four times its normal load to the server at
//! the very moment it can least take it. A budget limits retries across
//! *all* calls of a client: retries are allowed only while most recent
//! attempts succeed.
//!
//! gRPC's rule (gRFC A6, "Retry Throttling") is a token bucket:
//!
//! - the bucket starts full, at `max_tokens`;
//! - every failed attempt takes 1 token, every successful one gives back
//!   `token_ratio` (0.1: ten successes repay one failure), never above the max;
//! - a retry (or a hedged attempt) may start only while the count is
//!   **above half** of `max_tokens`.
//!
//! The first attempt of a call is never refused: the budget limits *extra*
//! load, not normal traffic. What counts as a failure follows A6 too: an
//! attempt that ended with a retryable code, or whose server pushed back.
//! Errors the client caused (`INVALID_ARGUMENT`) change nothing.
//!
//! tower's `retry::budget` makes the same point with a time-windowed deposit
//! and withdraw scheme; a production client keeps one budget per server
//! (per channel), as this lab's caller does.

use super::config::ConfigError;
use crate::number_format::shortest;

/// The two numbers of a gRFC A6 retry throttling policy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BudgetConfig {
    /// Size of the bucket, and its starting level. A6 allows (0, 1000].
    pub max_tokens: f64,
    /// Tokens a successful attempt gives back. A6 requires > 0.
    pub token_ratio: f64,
}

impl Default for BudgetConfig {
    /// gRPC's documented example: 10 tokens, 0.1 per success.
    fn default() -> Self {
        BudgetConfig {
            max_tokens: 10.0,
            token_ratio: 0.1,
        }
    }
}

impl BudgetConfig {
    /// Problems with these numbers, in words (empty if none).
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut problems = Vec::new();
        if !(self.max_tokens > 0.0 && self.max_tokens <= 1000.0) {
            problems.push(ConfigError::new(
                "budget.max_tokens",
                format!(
                    "is {}: it must be more than 0 and at most 1000 (gRFC A6)",
                    shortest(self.max_tokens)
                ),
            ));
        }
        if !(self.token_ratio > 0.0 && self.token_ratio.is_finite()) {
            problems.push(ConfigError::new(
                "budget.token_ratio",
                format!(
                    "is {}: it must be more than 0, or a failure could never be repaid",
                    shortest(self.token_ratio)
                ),
            ));
        }
        problems
    }
}

/// The token bucket itself: shared by every call of one caller.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryBudget {
    config: BudgetConfig,
    tokens: f64,
}

impl RetryBudget {
    /// A full bucket.
    pub fn new(config: BudgetConfig) -> Self {
        RetryBudget {
            config,
            tokens: config.max_tokens,
        }
    }

    /// The current number of tokens, for plots.
    pub fn tokens(&self) -> f64 {
        self.tokens
    }

    /// The bucket's configuration.
    pub fn config(&self) -> BudgetConfig {
        self.config
    }

    /// Whether a retry or hedge may start now: tokens above half the maximum.
    pub fn retry_allowed(&self) -> bool {
        self.tokens > self.config.max_tokens / 2.0
    }

    /// An attempt failed with a retryable code (or was pushed back): −1.
    pub fn record_failure(&mut self) {
        self.tokens = (self.tokens - 1.0).max(0.0);
    }

    /// An attempt succeeded: + `token_ratio`, up to the maximum.
    pub fn record_success(&mut self) {
        self.tokens = (self.tokens + self.config.token_ratio).min(self.config.max_tokens);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_stop_at_half_and_resume_after_enough_successes() {
        let mut budget = RetryBudget::new(BudgetConfig {
            max_tokens: 4.0,
            token_ratio: 0.5,
        });
        assert!(budget.retry_allowed());
        budget.record_failure(); // 3
        assert!(budget.retry_allowed());
        budget.record_failure(); // 2 = half: not above it
        assert!(!budget.retry_allowed());
        budget.record_success(); // 2.5
        assert!(budget.retry_allowed());
        assert_eq!(budget.tokens(), 2.5);
    }

    #[test]
    fn the_bucket_stays_between_zero_and_the_maximum() {
        let mut budget = RetryBudget::new(BudgetConfig::default());
        for _ in 0..100 {
            budget.record_success();
        }
        assert_eq!(budget.tokens(), 10.0);
        for _ in 0..100 {
            budget.record_failure();
        }
        assert_eq!(budget.tokens(), 0.0);
    }

    #[test]
    fn out_of_range_numbers_are_explained() {
        let problems = BudgetConfig {
            max_tokens: 2000.0,
            token_ratio: -1.0,
        }
        .validate();
        assert_eq!(problems.len(), 2);
        assert!(problems[0].to_string().contains("at most 1000"));
    }
}
