//! The circuit breaker's settings, and what is wrong with a bad one.
//!
//! The names are Resilience4j's, the industry's vocabulary for breakers.
//! [`BreakerConfig::validate`] lists every problem at once, in words, so
//! the page can show them before a breaker is ever built.

use std::time::Duration;

use tonic::Code;

use crate::number_format::shortest;
use crate::resilience::codes::CodeSet;
use crate::resilience::config::{ConfigError, all_problems, millis};

/// Which recent calls the failure rate is computed over.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SlidingWindow {
    /// The last `calls` calls, however old.
    Count { calls: u32 },
    /// The calls of the last `length`, kept in `buckets` equal slices of
    /// time. The oldest slice is dropped whole, so the window covers between
    /// `length · (buckets − 1) / buckets` and `length`: more buckets, finer
    /// edges, a little more memory. (Resilience4j uses one-second buckets.)
    Time { length: Duration, buckets: u32 },
}

/// Every setting of a circuit breaker.
#[derive(Clone, Debug, PartialEq)]
pub struct BreakerConfig {
    /// The calls the rates are computed over.
    pub window: SlidingWindow,
    /// No judgement before the window holds this many calls: two failures out
    /// of two calls is not yet evidence of an outage.
    pub minimum_calls: u32,
    /// Open when at least this percentage of the window's calls failed.
    pub failure_rate_threshold: f64,
    /// A call that took at least this long counts as slow, even if it succeeded.
    pub slow_call_duration: Duration,
    /// Open when at least this percentage of the window's calls were slow: a
    /// server that answers, but too late, is failing its callers too.
    pub slow_call_rate_threshold: f64,
    /// How long to stay open before letting probes through.
    pub wait_in_open: Duration,
    /// Each consecutive reopening (probes failed again) multiplies the wait by
    /// this; 1.0 keeps it constant.
    pub wait_multiplier: f64,
    /// The wait never grows beyond this.
    pub max_wait_in_open: Duration,
    /// Probe calls allowed in half-open; never more than this many are
    /// admitted, so never more are in flight.
    pub half_open_probes: u32,
    /// Status codes that mean "the server failed". Every other code, `OK`
    /// included, counts as a success: `INVALID_ARGUMENT` is the *client's*
    /// fault, and a server that answers it correctly is healthy.
    pub failure_codes: CodeSet,
}

impl BreakerConfig {
    /// Codes that count as the server's failure by default: it could not be
    /// reached or did not answer in time (`UNAVAILABLE`, `DEADLINE_EXCEEDED`),
    /// it broke (`INTERNAL`, `UNKNOWN`), or it is overloaded (`RESOURCE_EXHAUSTED`).
    pub const DEFAULT_FAILURE_CODES: CodeSet = CodeSet::of(&[
        Code::Unavailable,
        Code::DeadlineExceeded,
        Code::Internal,
        Code::Unknown,
        Code::ResourceExhausted,
    ]);

    /// Every problem with this configuration, in words; `Ok` if there is none.
    pub fn validate(&self) -> Result<(), Vec<ConfigError>> {
        let mut problems = Vec::new();
        let mut problem = |field, text: String| problems.push(ConfigError::new(field, text));
        let is_percentage = |x: f64| x > 0.0 && x <= 100.0;

        match self.window {
            SlidingWindow::Count { calls } => {
                if calls == 0 {
                    problem(
                        "window.calls",
                        "is 0: the window must hold at least one call".into(),
                    );
                } else if self.minimum_calls > calls {
                    problem(
                        "minimum_calls",
                        format!(
                            "({}) is larger than the window ({calls} calls): the breaker could never judge",
                            self.minimum_calls
                        ),
                    );
                }
            }
            SlidingWindow::Time { length, buckets } => {
                if buckets == 0 {
                    problem("window.buckets", "is 0: use at least 1".into());
                } else if length.as_nanos() < u128::from(buckets) {
                    problem(
                        "window.length",
                        format!("({}) is too short for {buckets} buckets", millis(length)),
                    );
                }
            }
        }
        if self.minimum_calls == 0 {
            problem("minimum_calls", "is 0: use at least 1".into());
        }
        if !is_percentage(self.failure_rate_threshold) {
            problem(
                "failure_rate_threshold",
                format!(
                    "is {}: it is a percentage, more than 0 and at most 100",
                    shortest(self.failure_rate_threshold)
                ),
            );
        }
        if !is_percentage(self.slow_call_rate_threshold) {
            problem(
                "slow_call_rate_threshold",
                format!(
                    "is {}: it is a percentage, more than 0 and at most 100",
                    shortest(self.slow_call_rate_threshold)
                ),
            );
        }
        if self.slow_call_duration.is_zero() {
            problem(
                "slow_call_duration",
                "is 0: every call would be slow".into(),
            );
        }
        if self.wait_in_open.is_zero() {
            problem(
                "wait_in_open",
                "is 0: the breaker would never stay open".into(),
            );
        }
        if !(self.wait_multiplier.is_finite() && self.wait_multiplier >= 1.0) {
            problem(
                "wait_multiplier",
                format!(
                    "is {}: it must be a number ≥ 1 (1 keeps the wait constant)",
                    shortest(self.wait_multiplier)
                ),
            );
        }
        if self.max_wait_in_open < self.wait_in_open {
            problem(
                "max_wait_in_open",
                format!(
                    "({}) is smaller than wait_in_open ({})",
                    millis(self.max_wait_in_open),
                    millis(self.wait_in_open)
                ),
            );
        }
        if self.half_open_probes == 0 {
            problem(
                "half_open_probes",
                "is 0: the breaker could never close again".into(),
            );
        }
        all_problems(problems)
    }
}

/// A starting point for the lab: judge the last 20 calls once 10 have been
/// seen, open at 50 % failures (or 100 % slow calls over 2 s), wait 5 s
/// (doubling on each reopening up to 60 s), then let 3 probes through.
impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            window: SlidingWindow::Count { calls: 20 },
            minimum_calls: 10,
            failure_rate_threshold: 50.0,
            slow_call_duration: Duration::from_secs(2),
            slow_call_rate_threshold: 100.0,
            wait_in_open: Duration::from_secs(5),
            wait_multiplier: 2.0,
            max_wait_in_open: Duration::from_secs(60),
            half_open_probes: 3,
            failure_codes: BreakerConfig::DEFAULT_FAILURE_CODES,
        }
    }
}
