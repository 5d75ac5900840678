//! What every configuration in the core shares: how a problem is reported.
//!
//! The retry policy, the retry budget and the circuit breaker each check
//! their own numbers (each in its own file, next to the numbers). They report
//! what is wrong the same way — a [`ConfigError`] naming the field and saying
//! what would be right — so the page can list every problem at once, in the
//! core's own words. This file is that shared vocabulary and nothing else,
//! which is why every other file may use it without depending on any pattern.

use std::fmt;
use std::time::Duration;

use crate::number_format::{fixed, shortest};

/// One thing wrong with a configuration: which field, and what to change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The field's name as written in the config type (`max_backoff`).
    pub field: &'static str,
    /// What is wrong, in a sentence that says what would be right.
    pub problem: String,
}

impl ConfigError {
    pub(crate) fn new(field: &'static str, problem: String) -> Self {
        ConfigError { field, problem }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.field, self.problem)
    }
}

impl std::error::Error for ConfigError {}

/// `Ok` when no problem was found, else every problem at once.
pub(crate) fn all_problems(problems: Vec<ConfigError>) -> Result<(), Vec<ConfigError>> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// `150 ms`, `1.5 ms`: durations as a student reads them in an error.
pub(crate) fn millis(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms.fract() == 0.0 {
        format!("{} ms", fixed(ms, 0))
    } else {
        format!("{} ms", shortest(ms))
    }
}
