//! Fault injection: the failures the lab lets a student switch on.
//!
//! Three kinds, each a different lesson:
//! - **fail**: `UNAVAILABLE` *before* executing. Nothing happened, so any
//!   retry is safe.
//! - **drop**: the operation *executes* (and its outcome is stored under its
//!   idempotency key), then the reply is "lost" and the client gets
//!   `UNAVAILABLE`. The client cannot tell this from a fail — which is why
//!   retrying a withdrawal without a key takes the money twice.
//! - **delay**: wait before executing. If the client's deadline runs out
//!   first, the call ends in `DEADLINE_EXCEEDED` and is not executed.
//!
//! A request asks for faults with headers (`x-fault-fail: 0.3`,
//! `x-fault-drop: 0.1`, `x-fault-delay-ms: 200`); a teacher can set a
//! server-wide profile with flags that applies to requests without headers,
//! cap what headers may ask for, or switch header faults off. This file holds
//! the settings and the decision; [`layer`] applies it to requests.

pub mod layer;

use std::time::Duration;

use http::HeaderMap;
use rpc_lab::headers::{FAULT_DELAY_MS, FAULT_DROP, FAULT_FAIL};
use tonic::Status;

use crate::quote::quoted;
use crate::random::{RandomSource, SeededRng};

/// What faults a request gets.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FaultProfile {
    pub fail: f64,
    pub drop: f64,
    pub delay: Duration,
}

/// The server's fault settings (from its flags).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaultSettings {
    /// Whether requests may ask for faults with headers.
    pub headers_enabled: bool,
    /// Applies to requests that ask for nothing (and to all, if headers are off).
    pub default: FaultProfile,
    /// Header probabilities above this are lowered to it.
    pub max_probability: f64,
    /// Header delays above this are lowered to it.
    pub max_delay: Duration,
}

impl Default for FaultSettings {
    fn default() -> Self {
        FaultSettings {
            headers_enabled: true,
            default: FaultProfile::default(),
            max_probability: 1.0,
            max_delay: Duration::from_secs(10),
        }
    }
}

/// What to do to one request, decided before it runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaultPlan {
    pub fail: bool,
    pub drop: bool,
    pub delay: Duration,
}

impl FaultSettings {
    /// The profile for a request: each header present replaces the server's
    /// default for that fault, capped; a malformed header is an error naming it.
    pub fn profile(&self, headers: &HeaderMap) -> Result<FaultProfile, Status> {
        let mut profile = self.default;
        if !self.headers_enabled {
            return Ok(profile);
        }
        if let Some(p) = probability(headers, FAULT_FAIL)? {
            profile.fail = p.min(self.max_probability);
        }
        if let Some(p) = probability(headers, FAULT_DROP)? {
            profile.drop = p.min(self.max_probability);
        }
        if let Some(value) = headers.get(FAULT_DELAY_MS) {
            let ms: u64 = value
                .to_str()
                .ok()
                .and_then(|text| text.trim().parse().ok())
                .ok_or_else(|| {
                    Status::invalid_argument(format!(
                        "{FAULT_DELAY_MS} must be a whole number of milliseconds ≥ 0, got {}",
                        quoted(value.as_bytes())
                    ))
                })?;
            profile.delay = Duration::from_millis(ms).min(self.max_delay);
        }
        Ok(profile)
    }
}

impl FaultProfile {
    /// Rolls the dice. Both draws are always made, in the same order, so a
    /// seeded generator gives the same plans for the same sequence of
    /// requests whatever the probabilities are.
    pub fn plan(&self, rng: &mut SeededRng) -> FaultPlan {
        let fail_roll = rng.next_f64();
        let drop_roll = rng.next_f64();
        FaultPlan {
            fail: fail_roll < self.fail,
            drop: drop_roll < self.drop,
            delay: self.delay,
        }
    }
}

fn probability(headers: &HeaderMap, name: &str) -> Result<Option<f64>, Status> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    let parsed = value
        .to_str()
        .ok()
        .and_then(|text| text.trim().parse::<f64>().ok());
    match parsed {
        Some(p) if (0.0..=1.0).contains(&p) => Ok(Some(p)),
        _ => Err(Status::invalid_argument(format!(
            "{name} must be a probability between 0 and 1, got {}",
            quoted(value.as_bytes())
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn headers_set_the_profile() {
        let settings = FaultSettings::default();
        let profile = settings
            .profile(&headers(&[
                (FAULT_FAIL, "0.25"),
                (FAULT_DROP, "1"),
                (FAULT_DELAY_MS, "150"),
            ]))
            .unwrap();
        assert_eq!(
            profile,
            FaultProfile {
                fail: 0.25,
                drop: 1.0,
                delay: Duration::from_millis(150)
            }
        );
        assert_eq!(
            settings.profile(&HeaderMap::new()).unwrap(),
            FaultProfile::default()
        );
    }

    #[test]
    fn malformed_headers_are_named_in_the_error() {
        let settings = FaultSettings::default();
        for (name, value) in [
            (FAULT_FAIL, "often"),
            (FAULT_FAIL, "1.5"),
            (FAULT_DROP, "-0.1"),
            (FAULT_DROP, "NaN"),
            (FAULT_DELAY_MS, "-5"),
            (FAULT_DELAY_MS, "1.5"),
            (FAULT_DELAY_MS, "soon"),
        ] {
            let error = settings.profile(&headers(&[(name, value)])).unwrap_err();
            assert_eq!(error.code(), tonic::Code::InvalidArgument);
            assert!(
                error.message().contains(name),
                "{name}={value}: {}",
                error.message()
            );
        }
    }

    #[test]
    fn caps_lower_what_headers_ask_for() {
        let settings = FaultSettings {
            max_probability: 0.5,
            max_delay: Duration::from_millis(100),
            ..FaultSettings::default()
        };
        let profile = settings
            .profile(&headers(&[(FAULT_FAIL, "0.9"), (FAULT_DELAY_MS, "5000")]))
            .unwrap();
        assert_eq!(profile.fail, 0.5);
        assert_eq!(profile.delay, Duration::from_millis(100));
    }

    #[test]
    fn the_server_default_applies_and_headers_can_be_switched_off() {
        let flaky = FaultProfile {
            fail: 0.3,
            drop: 0.0,
            delay: Duration::ZERO,
        };
        let settings = FaultSettings {
            default: flaky,
            ..FaultSettings::default()
        };
        assert_eq!(settings.profile(&HeaderMap::new()).unwrap(), flaky);
        assert_eq!(
            settings
                .profile(&headers(&[(FAULT_FAIL, "0")]))
                .unwrap()
                .fail,
            0.0
        );

        let locked = FaultSettings {
            headers_enabled: false,
            ..settings
        };
        let ignored = locked
            .profile(&headers(&[(FAULT_FAIL, "0"), (FAULT_DELAY_MS, "garbage")]))
            .unwrap();
        assert_eq!(
            ignored, flaky,
            "with headers off, even malformed ones are ignored"
        );
    }

    #[test]
    fn plans_follow_the_probabilities_and_the_seed() {
        let profile = FaultProfile {
            fail: 0.3,
            drop: 0.0,
            delay: Duration::ZERO,
        };
        let plans = |seed| {
            let mut rng = SeededRng::new(seed);
            (0..1000)
                .map(|_| profile.plan(&mut rng))
                .collect::<Vec<_>>()
        };
        let run = plans(9);
        assert_eq!(run, plans(9), "same seed, same faults");
        let failures = run.iter().filter(|p| p.fail).count();
        assert!(
            (240..360).contains(&failures),
            "{failures} of 1000 at p = 0.3"
        );
        assert!(run.iter().all(|p| !p.drop));
        let always = FaultProfile {
            fail: 1.0,
            drop: 1.0,
            delay: Duration::ZERO,
        };
        assert!(always.plan(&mut SeededRng::new(1)).fail);
    }
}
