//! The circuit breaker's states, and the rules that move between them.
//!
//! See [the module](super) for the diagram. Two decisions make this type
//! easy to test and fast:
//!
//! - **It is pure.** Every method takes `now`; nothing reads a clock, sleeps
//!   or spawns. A test drives it through hours of virtual time in a loop.
//! - **The hot paths do not allocate.** The window's storage is allocated
//!   once, in [`CircuitBreaker::new`]; admitting a call in the closed state
//!   and rejecting one in the open state are a few comparisons (the
//!   benchmark counts allocations to prove it).

use std::fmt;
use std::time::Duration;

use tonic::Code;

use super::config::BreakerConfig;
use super::window::{Counts, Verdict, Window};
use crate::resilience::backoff::exponential;
use crate::resilience::config::ConfigError;

/// The breaker's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls flow; outcomes are recorded in the sliding window.
    Closed,
    /// Calls are rejected at once until the wait is over.
    Open,
    /// A limited number of probe calls may pass to test the server.
    HalfOpen,
    /// Rejects every call until [`CircuitBreaker::reset`].
    ForcedOpen,
    /// Lets every call through and records nothing, until [`CircuitBreaker::reset`].
    Disabled,
}

impl BreakerState {
    /// A short name for labels and plots: `closed`, `half-open`, …
    pub fn name(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
            BreakerState::ForcedOpen => "forced-open",
            BreakerState::Disabled => "disabled",
        }
    }
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A change of state, reported so the caller can emit an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    pub from: BreakerState,
    pub to: BreakerState,
}

/// Permission to make one call. Hand it back with [`CircuitBreaker::record`]
/// when the call ends, or [`CircuitBreaker::release`] if it was cancelled.
#[must_use = "a permit must be given back with `record` or `release`"]
#[derive(Debug, PartialEq, Eq)]
pub struct Permit {
    /// The breaker's epoch when the permit was granted. An outcome from an
    /// earlier epoch (a call that started before the breaker opened) must not
    /// count in the next epoch's window.
    epoch: u64,
    transition: Option<Transition>,
}

impl Permit {
    /// The transition that granting this permit caused, if any: the first
    /// call after the wait moves the breaker from open to half-open.
    pub fn transition(&self) -> Option<Transition> {
        self.transition
    }
}

/// The breaker refused a call: no request is to be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// Open, ForcedOpen, or HalfOpen with all its probes taken.
    pub state: BreakerState,
    /// When the breaker will let a probe through, if it knows.
    pub retry_after: Option<Duration>,
}

/// A circuit breaker. Pure: give it `now` on every call.
#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    state: BreakerState,
    /// Increases on every transition; permits from an older epoch are stale.
    epoch: u64,
    window: Window,
    /// When the current open period ends.
    open_until: Duration,
    /// Openings since the breaker was last closed; makes the wait grow.
    consecutive_opens: u32,
    /// Probes admitted in this half-open period (finished ones included).
    probes_admitted: u32,
    /// Outcomes of the probes that finished in this half-open period.
    probe_counts: Counts,
}

impl CircuitBreaker {
    /// A closed breaker, or every problem with `config`.
    pub fn new(config: BreakerConfig) -> Result<Self, Vec<ConfigError>> {
        config.validate()?;
        Ok(CircuitBreaker {
            window: Window::new(config.window),
            config,
            state: BreakerState::Closed,
            epoch: 0,
            open_until: Duration::ZERO,
            consecutive_opens: 0,
            probes_admitted: 0,
            probe_counts: Counts::default(),
        })
    }

    /// The current state (an open breaker whose wait is over still says
    /// `Open` until the next call asks to pass).
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// The configuration.
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// Counts in the sliding window (closed state), as of the last record.
    pub fn window_counts(&self) -> Counts {
        self.window.totals()
    }

    /// Probes in flight right now (half-open state only).
    pub fn probes_in_flight(&self) -> u32 {
        if self.state == BreakerState::HalfOpen {
            self.probes_admitted - self.probe_counts.calls
        } else {
            0
        }
    }

    /// When an open breaker will admit a probe.
    pub fn open_until(&self) -> Option<Duration> {
        (self.state == BreakerState::Open).then_some(self.open_until)
    }

    /// Ask to make one call now. Allocation-free in every state.
    pub fn try_acquire(&mut self, now: Duration) -> Result<Permit, Rejected> {
        match self.state {
            BreakerState::Closed | BreakerState::Disabled => Ok(Permit {
                epoch: self.epoch,
                transition: None,
            }),
            BreakerState::ForcedOpen => Err(Rejected {
                state: BreakerState::ForcedOpen,
                retry_after: None,
            }),
            BreakerState::Open if now < self.open_until => Err(Rejected {
                state: BreakerState::Open,
                retry_after: Some(self.open_until - now),
            }),
            BreakerState::Open => {
                let transition = self.move_to(BreakerState::HalfOpen);
                self.admit_probe()
                    .map(|mut permit| {
                        permit.transition = transition;
                        permit
                    })
                    .ok_or(Rejected {
                        state: BreakerState::HalfOpen,
                        retry_after: None,
                    })
            }
            BreakerState::HalfOpen => self.admit_probe().ok_or(Rejected {
                state: BreakerState::HalfOpen,
                retry_after: None,
            }),
        }
    }

    fn admit_probe(&mut self) -> Option<Permit> {
        (self.probes_admitted < self.config.half_open_probes).then(|| {
            self.probes_admitted += 1;
            Permit {
                epoch: self.epoch,
                transition: None,
            }
        })
    }

    /// Report how a permitted call ended: its status code (`Code::Ok` for a
    /// success) and how long it took. Returns the transition it caused, if any.
    pub fn record(
        &mut self,
        permit: Permit,
        code: Code,
        duration: Duration,
        now: Duration,
    ) -> Option<Transition> {
        if permit.epoch != self.epoch {
            // The call started in an earlier state (before an opening, or in a
            // half-open period that is over): its outcome says nothing about now.
            return None;
        }
        let verdict = Verdict {
            failure: self.config.failure_codes.contains(code),
            slow: duration >= self.config.slow_call_duration,
        };
        match self.state {
            BreakerState::Closed => {
                self.window.record(verdict, now);
                let counts = self.window.totals();
                if counts.calls >= self.config.minimum_calls && counts.exceeds(&self.config) {
                    self.open(now)
                } else {
                    None
                }
            }
            BreakerState::HalfOpen => {
                self.probe_counts.add(verdict);
                if self.probe_counts.calls < self.config.half_open_probes {
                    None
                } else if self.probe_counts.exceeds(&self.config) {
                    self.open(now)
                } else {
                    self.consecutive_opens = 0;
                    self.move_to(BreakerState::Closed)
                }
            }
            // Disabled records nothing; Open and ForcedOpen grant no permits of
            // the current epoch.
            BreakerState::Disabled | BreakerState::Open | BreakerState::ForcedOpen => None,
        }
    }

    /// Give back a permit whose call was cancelled before it ended (a hedged
    /// attempt that lost the race): its probe slot is freed, nothing is recorded.
    pub fn release(&mut self, permit: Permit) {
        if permit.epoch == self.epoch && self.state == BreakerState::HalfOpen {
            self.probes_admitted -= 1;
        }
    }

    /// Reject every call until [`reset`](Self::reset).
    pub fn force_open(&mut self) -> Option<Transition> {
        self.move_to(BreakerState::ForcedOpen)
    }

    /// Let every call through and judge nothing until [`reset`](Self::reset).
    pub fn disable(&mut self) -> Option<Transition> {
        self.move_to(BreakerState::Disabled)
    }

    /// Back to closed with an empty window and the initial wait.
    pub fn reset(&mut self) -> Option<Transition> {
        self.consecutive_opens = 0;
        self.move_to(BreakerState::Closed)
    }

    fn open(&mut self, now: Duration) -> Option<Transition> {
        self.consecutive_opens = self.consecutive_opens.saturating_add(1);
        self.open_until = now + self.current_wait();
        self.move_to(BreakerState::Open)
    }

    /// `min(max, wait · multiplier^(opens − 1))`.
    fn current_wait(&self) -> Duration {
        exponential(
            self.config.wait_in_open,
            self.config.wait_multiplier,
            self.config.max_wait_in_open,
            self.consecutive_opens.saturating_sub(1),
        )
    }

    fn move_to(&mut self, to: BreakerState) -> Option<Transition> {
        let from = self.state;
        if from == to {
            return None;
        }
        self.state = to;
        self.epoch += 1;
        self.probes_admitted = 0;
        self.probe_counts = Counts::default();
        if to == BreakerState::Closed {
            self.window.clear();
        }
        Some(Transition { from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resilience::breaker::SlidingWindow;

    const MS: Duration = Duration::from_millis(1);
    const FAST: Duration = Duration::from_millis(10);

    fn breaker(config: BreakerConfig) -> CircuitBreaker {
        CircuitBreaker::new(config).expect("valid config")
    }

    fn call(b: &mut CircuitBreaker, code: Code, now: Duration) -> Option<Transition> {
        let permit = b.try_acquire(now).expect("admitted");
        b.record(permit, code, FAST, now)
    }

    fn small() -> BreakerConfig {
        BreakerConfig {
            window: SlidingWindow::Count { calls: 4 },
            minimum_calls: 4,
            failure_rate_threshold: 50.0,
            wait_in_open: 100 * MS,
            wait_multiplier: 2.0,
            max_wait_in_open: 300 * MS,
            half_open_probes: 2,
            ..BreakerConfig::default()
        }
    }

    #[test]
    fn no_judgement_before_the_minimum_number_of_calls() {
        let mut b = breaker(small());
        for _ in 0..3 {
            assert_eq!(call(&mut b, Code::Unavailable, MS), None);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(
            call(&mut b, Code::Unavailable, MS),
            Some(Transition {
                from: BreakerState::Closed,
                to: BreakerState::Open
            })
        );
    }

    #[test]
    fn a_rate_exactly_at_the_threshold_opens() {
        let mut b = breaker(small());
        call(&mut b, Code::Ok, MS);
        call(&mut b, Code::Unavailable, MS);
        call(&mut b, Code::Ok, MS);
        assert!(call(&mut b, Code::Internal, MS).is_some(), "2 of 4 is 50 %");
    }

    #[test]
    fn client_errors_are_not_the_servers_failure() {
        let mut b = breaker(small());
        for _ in 0..10 {
            call(&mut b, Code::InvalidArgument, MS);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.window_counts().failures, 0);
    }

    #[test]
    fn open_rejects_until_the_wait_then_admits_only_the_configured_probes() {
        let mut b = breaker(small());
        for _ in 0..4 {
            call(&mut b, Code::Unavailable, Duration::ZERO);
        }
        let rejected = b.try_acquire(40 * MS).unwrap_err();
        assert_eq!(rejected.state, BreakerState::Open);
        assert_eq!(rejected.retry_after, Some(60 * MS));

        let first = b.try_acquire(100 * MS).expect("the wait is over");
        assert_eq!(
            first.transition(),
            Some(Transition {
                from: BreakerState::Open,
                to: BreakerState::HalfOpen
            })
        );
        let second = b.try_acquire(100 * MS).expect("second probe");
        assert_eq!(b.probes_in_flight(), 2);
        assert_eq!(
            b.try_acquire(100 * MS).unwrap_err().state,
            BreakerState::HalfOpen
        );

        assert_eq!(b.record(first, Code::Ok, FAST, 110 * MS), None);
        let closed = b.record(second, Code::Ok, FAST, 110 * MS);
        assert_eq!(closed.map(|t| t.to), Some(BreakerState::Closed));
        assert_eq!(b.window_counts(), Counts::default(), "a fresh window");
    }

    #[test]
    fn failed_probes_reopen_with_a_growing_wait_up_to_the_cap() {
        let mut b = breaker(small());
        for _ in 0..4 {
            call(&mut b, Code::Unavailable, Duration::ZERO);
        }
        assert_eq!(b.open_until(), Some(100 * MS));
        let mut now = 100 * MS;
        for expected_wait in [200, 300, 300] {
            call(&mut b, Code::Unavailable, now);
            call(&mut b, Code::Unavailable, now);
            assert_eq!(b.state(), BreakerState::Open);
            assert_eq!(b.open_until(), Some(now + expected_wait * MS));
            now += expected_wait * MS;
        }
    }

    #[test]
    fn a_cancelled_probe_frees_its_slot() {
        let mut b = breaker(BreakerConfig {
            half_open_probes: 1,
            ..small()
        });
        for _ in 0..4 {
            call(&mut b, Code::Unavailable, Duration::ZERO);
        }
        let probe = b.try_acquire(100 * MS).unwrap();
        assert!(b.try_acquire(100 * MS).is_err());
        b.release(probe);
        assert!(b.try_acquire(100 * MS).is_ok());
    }

    #[test]
    fn an_outcome_from_before_the_opening_is_ignored() {
        let mut b = breaker(small());
        let late = b.try_acquire(Duration::ZERO).unwrap();
        for _ in 0..4 {
            call(&mut b, Code::Unavailable, Duration::ZERO);
        }
        assert_eq!(b.record(late, Code::Ok, FAST, 50 * MS), None);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn slow_successes_open_the_breaker_too() {
        let mut b = breaker(BreakerConfig {
            slow_call_duration: 500 * MS,
            slow_call_rate_threshold: 75.0,
            ..small()
        });
        for _ in 0..3 {
            let permit = b.try_acquire(Duration::ZERO).unwrap();
            b.record(permit, Code::Ok, 600 * MS, Duration::ZERO);
        }
        let permit = b.try_acquire(Duration::ZERO).unwrap();
        let opened = b.record(permit, Code::Ok, FAST, Duration::ZERO);
        assert_eq!(
            opened.map(|t| t.to),
            Some(BreakerState::Open),
            "3 of 4 slow"
        );
    }

    #[test]
    fn a_time_window_forgets_calls_older_than_its_length() {
        let mut b = breaker(BreakerConfig {
            window: SlidingWindow::Time {
                length: 1000 * MS,
                buckets: 10,
            },
            minimum_calls: 3,
            ..small()
        });
        call(&mut b, Code::Unavailable, Duration::ZERO);
        call(&mut b, Code::Unavailable, 50 * MS);
        assert_eq!(b.window_counts().calls, 2);
        // 1.2 s later both failures have slid out; three successes don't open.
        call(&mut b, Code::Ok, 1250 * MS);
        assert_eq!(b.window_counts().calls, 1);
        call(&mut b, Code::Unavailable, 1300 * MS);
        call(&mut b, Code::Ok, 1350 * MS);
        assert_eq!(b.state(), BreakerState::Closed, "1 failure of 3");
        // Three failures within the window open it.
        call(&mut b, Code::Unavailable, 1400 * MS);
        assert_eq!(b.state(), BreakerState::Open, "2 failures of 4");
    }

    #[test]
    fn forced_open_and_disabled_override_the_rates() {
        let mut b = breaker(small());
        assert_eq!(b.force_open().map(|t| t.to), Some(BreakerState::ForcedOpen));
        assert_eq!(
            b.try_acquire(Duration::from_secs(3600)).unwrap_err().state,
            BreakerState::ForcedOpen
        );
        b.disable();
        for _ in 0..100 {
            call(&mut b, Code::Unavailable, MS);
        }
        assert_eq!(b.state(), BreakerState::Disabled);
        assert_eq!(b.reset().map(|t| t.to), Some(BreakerState::Closed));
    }

    #[test]
    fn a_minimum_larger_than_the_window_is_refused() {
        let errors = CircuitBreaker::new(BreakerConfig {
            window: SlidingWindow::Count { calls: 5 },
            minimum_calls: 10,
            ..BreakerConfig::default()
        })
        .unwrap_err();
        assert_eq!(
            errors[0].to_string(),
            "minimum_calls (10) is larger than the window (5 calls): the breaker could never judge"
        );
    }
}
