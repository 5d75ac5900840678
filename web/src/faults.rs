//! The failure sliders, turned into the contract's fault headers.
//!
//! The lab's server injects faults when a request asks for them
//! (`x-fault-fail`, `x-fault-drop`, `x-fault-delay-ms`; see the contract). The
//! server draws the fail and drop dice itself, from the session's seeded
//! stream. Two choices are the page's, drawn per attempt from its own seeded
//! stream: whether this attempt is one of the delayed ones, and how much
//! jitter its delay gets. The outage switch overrides everything: the service
//! is down, either refusing at once or hanging.

use rpc_lab::headers::{FAULT_DELAY_MS, FAULT_DROP, FAULT_FAIL};
use rpc_lab::number_format::shortest;
use rpc_lab::resilience::RandomSource;
use tonic::Request;
use tonic::metadata::MetadataValue;

/// How a service that is down looks to its callers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Outage {
    #[default]
    Off,
    /// Every request fails at once (`UNAVAILABLE`): a crashed process, a
    /// refused connection. Cheap for the caller.
    Refusing,
    /// Every request hangs for [`HANG_MS`]: an overloaded or deadlocked
    /// service. The caller waits for its timeout each time — the seeds'
    /// "5 s × 1000 requests" scenario.
    Hanging,
}

/// How long a hanging service holds a request: the server's default cap.
pub const HANG_MS: u32 = 10_000;

/// The sliders' positions.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultSettings {
    /// Percentage of attempts refused before executing.
    pub fail_pct: u32,
    /// Percentage of attempts executed whose reply is then lost.
    pub drop_pct: u32,
    /// Delay before executing, in milliseconds.
    pub delay_ms: u32,
    /// Up to this much extra delay, uniformly random per attempt.
    pub delay_jitter_ms: u32,
    /// Percentage of attempts that are delayed at all (100: every one).
    pub delay_pct: u32,
    pub outage: Outage,
}

impl Default for FaultSettings {
    /// A healthy server: no faults.
    fn default() -> Self {
        FaultSettings {
            fail_pct: 0,
            drop_pct: 0,
            delay_ms: 0,
            delay_jitter_ms: 0,
            delay_pct: 100,
            outage: Outage::Off,
        }
    }
}

/// The fault headers of one attempt.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AttemptFaults {
    pub fail: f64,
    pub drop: f64,
    pub delay_ms: u32,
}

impl FaultSettings {
    /// The headers for the next attempt; draws from `rng` only when a choice
    /// is the page's (a partial delay share, a delay jitter), so a healthy
    /// setting consumes no randomness.
    pub fn for_attempt(&self, rng: &mut dyn RandomSource) -> AttemptFaults {
        match self.outage {
            Outage::Refusing => {
                return AttemptFaults {
                    fail: 1.0,
                    ..AttemptFaults::default()
                };
            }
            Outage::Hanging => {
                return AttemptFaults {
                    delay_ms: HANG_MS,
                    ..AttemptFaults::default()
                };
            }
            Outage::Off => {}
        }
        let delayed = self.delay_ms + self.delay_jitter_ms > 0
            && (self.delay_pct >= 100 || rng.next_f64() * 100.0 < f64::from(self.delay_pct));
        let delay_ms = if !delayed {
            0
        } else if self.delay_jitter_ms == 0 {
            self.delay_ms
        } else {
            let extra = (rng.next_f64() * f64::from(self.delay_jitter_ms + 1)) as u32;
            self.delay_ms + extra.min(self.delay_jitter_ms)
        };
        AttemptFaults {
            fail: percent(self.fail_pct),
            drop: percent(self.drop_pct),
            delay_ms,
        }
    }

    /// In words, for the run's summary ("fail 20 %, drop 30 %").
    pub fn describe(&self) -> String {
        match self.outage {
            Outage::Refusing => return "outage: every request refused".into(),
            Outage::Hanging => return format!("outage: every request hangs {} s", HANG_MS / 1000),
            Outage::Off => {}
        }
        let mut parts = Vec::new();
        if self.fail_pct > 0 {
            parts.push(format!("fail {} %", self.fail_pct));
        }
        if self.drop_pct > 0 {
            parts.push(format!("drop {} %", self.drop_pct));
        }
        if self.delay_ms + self.delay_jitter_ms > 0 {
            let jitter = if self.delay_jitter_ms > 0 {
                format!("+0–{}", self.delay_jitter_ms)
            } else {
                String::new()
            };
            let share = if self.delay_pct < 100 {
                format!(" on {} % of requests", self.delay_pct)
            } else {
                String::new()
            };
            parts.push(format!("delay {}{jitter} ms{share}", self.delay_ms));
        }
        if parts.is_empty() {
            "no faults".into()
        } else {
            parts.join(", ")
        }
    }
}

impl FaultSettings {
    /// The faults a request would meet, in a student's words ("30 % replies
    /// lost"), or `None` for a healthy server. A lesson leaves its last
    /// step's faults set; the page names them so that the student's next
    /// request is not silently refused, lost or delayed.
    pub fn still_on(&self) -> Option<String> {
        match self.outage {
            Outage::Refusing => return Some("outage: every request refused".into()),
            Outage::Hanging => {
                return Some(format!("outage: every request hangs {} s", HANG_MS / 1000));
            }
            Outage::Off => {}
        }
        let mut parts = Vec::new();
        if self.fail_pct > 0 {
            parts.push(format!(
                "{} % refused before executing",
                self.fail_pct.min(100)
            ));
        }
        if self.drop_pct > 0 {
            parts.push(format!("{} % replies lost", self.drop_pct.min(100)));
        }
        if self.delay_ms + self.delay_jitter_ms > 0 && self.delay_pct > 0 {
            let jitter = if self.delay_jitter_ms > 0 {
                format!(" + up to {} ms", self.delay_jitter_ms)
            } else {
                String::new()
            };
            parts.push(format!(
                "{} % of requests delayed {} ms{jitter}",
                self.delay_pct.min(100),
                self.delay_ms
            ));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

fn percent(pct: u32) -> f64 {
    f64::from(pct.min(100)) / 100.0
}

impl AttemptFaults {
    /// Adds the headers that ask for something; a zero asks for nothing and
    /// is not sent.
    pub fn apply<M>(&self, request: &mut Request<M>) {
        let metadata = request.metadata_mut();
        let mut put = |name: &'static str, value: String| {
            let value =
                MetadataValue::try_from(value).expect("digits and a dot are valid metadata");
            metadata.insert(name, value);
        };
        if self.fail > 0.0 {
            put(FAULT_FAIL, shortest(self.fail));
        }
        if self.drop > 0.0 {
            put(FAULT_DROP, shortest(self.drop));
        }
        if self.delay_ms > 0 {
            put(FAULT_DELAY_MS, self.delay_ms.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use rpc_lab::resilience::SeededRng;

    use super::*;

    fn headers(faults: &AttemptFaults) -> Vec<(String, String)> {
        let mut request = Request::new(());
        faults.apply(&mut request);
        let mut pairs: Vec<_> = request
            .metadata()
            .clone()
            .into_headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        pairs.sort();
        pairs
    }

    #[test]
    fn sliders_become_the_contract_headers() {
        let settings = FaultSettings {
            fail_pct: 20,
            drop_pct: 35,
            delay_ms: 150,
            ..FaultSettings::default()
        };
        let faults = settings.for_attempt(&mut SeededRng::new(1));
        assert_eq!(
            headers(&faults),
            [
                ("x-fault-delay-ms".to_owned(), "150".to_owned()),
                ("x-fault-drop".to_owned(), "0.35".to_owned()),
                ("x-fault-fail".to_owned(), "0.2".to_owned()),
            ]
        );
        assert_eq!(settings.describe(), "fail 20 %, drop 35 %, delay 150 ms");
    }

    #[test]
    fn a_healthy_server_gets_no_headers_and_uses_no_randomness() {
        let mut rng = SeededRng::new(5);
        let faults = FaultSettings::default().for_attempt(&mut rng);
        assert!(headers(&faults).is_empty());
        assert_eq!(rng.next_u64(), SeededRng::new(5).next_u64());
        assert_eq!(FaultSettings::default().describe(), "no faults");
    }

    /// A student's report: lesson 1's 30 % reply loss stayed on, and their
    /// next by-hand send was silently dropped. The page names what is on.
    #[test]
    fn faults_left_on_are_named_and_a_healthy_server_is_not() {
        assert_eq!(FaultSettings::default().still_on(), None);
        let lesson_one = FaultSettings {
            drop_pct: 30,
            ..FaultSettings::default()
        };
        assert_eq!(lesson_one.still_on().as_deref(), Some("30 % replies lost"));
        let slow = FaultSettings {
            fail_pct: 10,
            delay_ms: 2000,
            delay_pct: 10,
            ..FaultSettings::default()
        };
        assert_eq!(
            slow.still_on().as_deref(),
            Some("10 % refused before executing, 10 % of requests delayed 2000 ms")
        );
        // A delay on no request delays nothing.
        let none_delayed = FaultSettings {
            delay_ms: 500,
            delay_pct: 0,
            ..FaultSettings::default()
        };
        assert_eq!(none_delayed.still_on(), None);
        let down = FaultSettings {
            outage: Outage::Hanging,
            ..FaultSettings::default()
        };
        assert_eq!(
            down.still_on().as_deref(),
            Some("outage: every request hangs 10 s")
        );
    }

    #[test]
    fn outages_override_the_sliders() {
        let mut rng = SeededRng::new(1);
        let settings = FaultSettings {
            drop_pct: 50,
            outage: Outage::Refusing,
            ..FaultSettings::default()
        };
        assert_eq!(settings.for_attempt(&mut rng).fail, 1.0);
        assert_eq!(settings.for_attempt(&mut rng).drop, 0.0);
        let hanging = FaultSettings {
            outage: Outage::Hanging,
            ..settings
        };
        assert_eq!(hanging.for_attempt(&mut rng).delay_ms, HANG_MS);
    }

    #[test]
    fn jitter_and_share_are_seeded_and_within_bounds() {
        let settings = FaultSettings {
            delay_ms: 100,
            delay_jitter_ms: 50,
            delay_pct: 25,
            ..FaultSettings::default()
        };
        let draw = |seed| {
            let mut rng = SeededRng::new(seed);
            (0..400)
                .map(|_| settings.for_attempt(&mut rng).delay_ms)
                .collect::<Vec<_>>()
        };
        let delays = draw(9);
        assert_eq!(delays, draw(9), "same seed, same delays");
        let delayed: Vec<_> = delays.iter().filter(|&&d| d > 0).collect();
        assert!(
            (60..=140).contains(&delayed.len()),
            "about 25 %: {}",
            delayed.len()
        );
        assert!(delayed.iter().all(|&&d| (100..=150).contains(&d)));
        assert!(delayed.iter().any(|&&d| d > 125), "the jitter is used");
    }
}
