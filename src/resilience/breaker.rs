//! The circuit breaker: stop calling a server that is failing.
//!
//! Retries help when failures are rare and brief. When a server is down,
//! they make things worse: every call waits for its timeouts, and the load
//! keeps the server from recovering. A circuit breaker watches the outcomes
//! of recent calls and, when too many fail, *opens*: calls fail at once,
//! without touching the network, until a wait has passed. Then it lets a few
//! *probe* calls through (*half-open*); if they succeed it *closes* again,
//! otherwise it reopens, waiting longer each time if so configured.
//!
//! ```text
//!            failure or slow-call rate ≥ threshold
//!            (after the minimum number of calls)
//!   Closed ─────────────────────────────────────▶ Open ◀──────────┐
//!     ▲                                            │ wait passed   │ probes fail
//!     │ probes succeed                             ▼               │
//!     └──────────────────────────────────────── HalfOpen ──────────┘
//!
//!   ForcedOpen: an operator's "off" switch, rejects everything.
//!   Disabled:   an operator's bypass, lets everything through, judges nothing.
//! ```
//!
//! The design follows Resilience4j's `CircuitBreaker`, whose settings are the
//! industry's vocabulary: count-based or time-based sliding window, failure
//! rate threshold, slow-call duration and rate threshold, minimum number of
//! calls, wait duration in open state, permitted calls in half-open state.
//!
//! Two decisions make this type easy to test and fast:
//!
//! - **It is pure.** Every method takes `now`; nothing reads a clock, sleeps
//!   or spawns. A test drives it through hours of virtual time in a loop.
//! - **The hot paths do not allocate.** The window's storage is allocated
//!   once, in [`CircuitBreaker::new`]; admitting a call in the closed state
//!   and rejecting one in the open state are a few comparisons (the
//!   benchmark counts allocations to prove it).
//!
//! A production breaker would add what this one leaves to its caller:
//! metrics export, a timer that moves Open → HalfOpen even when no call
//! arrives (here the move happens on the next call, which is equivalent for
//! the caller), and thread-safe sharing (here the caller wraps it in a
//! `RefCell`, because the browser has one thread).

use std::fmt;
use std::time::Duration;

use tonic::Code;

use super::codes::CodeSet;
use super::config::{ConfigError, all_problems, millis};

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
                    self.failure_rate_threshold
                ),
            );
        }
        if !is_percentage(self.slow_call_rate_threshold) {
            problem(
                "slow_call_rate_threshold",
                format!(
                    "is {}: it is a percentage, more than 0 and at most 100",
                    self.slow_call_rate_threshold
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
                    self.wait_multiplier
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

/// Call, failure and slow-call counts over some calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub calls: u32,
    pub failures: u32,
    pub slow: u32,
}

impl Counts {
    fn add(&mut self, outcome: Outcome) {
        self.calls += 1;
        self.failures += u32::from(outcome.failure);
        self.slow += u32::from(outcome.slow);
    }

    fn remove(&mut self, other: Counts) {
        self.calls -= other.calls;
        self.failures -= other.failures;
        self.slow -= other.slow;
    }

    /// Percentage of failed calls, or `None` with no calls.
    pub fn failure_rate(&self) -> Option<f64> {
        (self.calls > 0).then(|| f64::from(self.failures) * 100.0 / f64::from(self.calls))
    }

    /// Percentage of slow calls, or `None` with no calls.
    pub fn slow_call_rate(&self) -> Option<f64> {
        (self.calls > 0).then(|| f64::from(self.slow) * 100.0 / f64::from(self.calls))
    }

    /// Whether either rate reached its threshold. Compared as integers scaled
    /// by 100 where possible, so "5 of 10 at 50 %" is exactly at the threshold.
    fn exceeds(&self, config: &BreakerConfig) -> bool {
        let calls = f64::from(self.calls);
        f64::from(self.failures) * 100.0 >= config.failure_rate_threshold * calls
            || f64::from(self.slow) * 100.0 >= config.slow_call_rate_threshold * calls
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Outcome {
    failure: bool,
    slow: bool,
}

/// The last N outcomes in a ring buffer, with running totals.
#[derive(Clone, Debug)]
struct CountWindow {
    ring: Box<[Outcome]>,
    next: usize,
    filled: usize,
    totals: Counts,
}

impl CountWindow {
    fn new(calls: u32) -> Self {
        CountWindow {
            ring: vec![Outcome::default(); calls as usize].into_boxed_slice(),
            next: 0,
            filled: 0,
            totals: Counts::default(),
        }
    }

    fn record(&mut self, outcome: Outcome) {
        if self.filled == self.ring.len() {
            let oldest = self.ring[self.next];
            self.totals.remove(Counts {
                calls: 1,
                failures: u32::from(oldest.failure),
                slow: u32::from(oldest.slow),
            });
        } else {
            self.filled += 1;
        }
        self.ring[self.next] = outcome;
        self.next = (self.next + 1) % self.ring.len();
        self.totals.add(outcome);
    }
}

/// Counts per slice of time in a ring of buckets, with running totals.
#[derive(Clone, Debug)]
struct TimeWindow {
    buckets: Box<[(u64, Counts)]>,
    bucket_nanos: u128,
    /// The slice number (`now / bucket width`) of the newest bucket.
    newest: u64,
    totals: Counts,
}

impl TimeWindow {
    fn new(length: Duration, buckets: u32) -> Self {
        TimeWindow {
            buckets: vec![(0, Counts::default()); buckets as usize].into_boxed_slice(),
            bucket_nanos: (length.as_nanos() / u128::from(buckets)).max(1),
            newest: 0,
            totals: Counts::default(),
        }
    }

    /// Drop the buckets that slid out of the window by `now`.
    fn advance(&mut self, now: Duration) {
        let slice = u64::try_from(now.as_nanos() / self.bucket_nanos).unwrap_or(u64::MAX);
        if slice <= self.newest {
            return;
        }
        let n = self.buckets.len() as u64;
        // At most one lap of the ring needs clearing, however long the pause.
        let first = (self.newest + 1).max(slice.saturating_sub(n - 1));
        for s in first..=slice {
            let bucket = &mut self.buckets[(s % n) as usize];
            self.totals.remove(bucket.1);
            *bucket = (s, Counts::default());
        }
        self.newest = slice;
    }

    fn record(&mut self, outcome: Outcome, now: Duration) {
        self.advance(now);
        let n = self.buckets.len() as u64;
        // A late outcome (stamped before `newest`) lands in the newest bucket:
        // the window moves forward only.
        let bucket = &mut self.buckets[(self.newest % n) as usize];
        bucket.1.add(outcome);
        self.totals.add(outcome);
    }
}

#[derive(Clone, Debug)]
enum Window {
    Count(CountWindow),
    Time(TimeWindow),
}

impl Window {
    fn new(kind: SlidingWindow) -> Self {
        match kind {
            SlidingWindow::Count { calls } => Window::Count(CountWindow::new(calls.max(1))),
            SlidingWindow::Time { length, buckets } => {
                Window::Time(TimeWindow::new(length, buckets.max(1)))
            }
        }
    }

    fn record(&mut self, outcome: Outcome, now: Duration) {
        match self {
            Window::Count(window) => window.record(outcome),
            Window::Time(window) => window.record(outcome, now),
        }
    }

    fn totals(&self) -> Counts {
        match self {
            Window::Count(window) => window.totals,
            Window::Time(window) => window.totals,
        }
    }

    /// Forget everything, keeping the storage (no allocation).
    fn clear(&mut self) {
        match self {
            Window::Count(window) => {
                window.next = 0;
                window.filled = 0;
                window.totals = Counts::default();
            }
            Window::Time(window) => {
                window.buckets.fill((0, Counts::default()));
                window.newest = 0;
                window.totals = Counts::default();
            }
        }
    }
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
        let outcome = Outcome {
            failure: self.config.failure_codes.contains(code),
            slow: duration >= self.config.slow_call_duration,
        };
        match self.state {
            BreakerState::Closed => {
                self.window.record(outcome, now);
                let counts = self.window.totals();
                if counts.calls >= self.config.minimum_calls && counts.exceeds(&self.config) {
                    self.open(now)
                } else {
                    None
                }
            }
            BreakerState::HalfOpen => {
                self.probe_counts.add(outcome);
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
        super::backoff::exponential(
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
