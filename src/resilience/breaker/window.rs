//! The breaker's memory: how many recent calls failed, or were slow.
//!
//! A breaker judges "recent" calls, and there are two ways to say recent
//! ([`SlidingWindow`]): the last N calls, however old (a ring of N verdicts),
//! or the calls of the last T seconds (a ring of buckets, one per slice of
//! time, the oldest dropped whole as time moves on). Both keep running
//! totals, so asking for the rates costs nothing, and both allocate their
//! storage once, when the breaker is built: recording a call never allocates.

use std::time::Duration;

use super::config::{BreakerConfig, SlidingWindow};

/// Call, failure and slow-call counts over some calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub calls: u32,
    pub failures: u32,
    pub slow: u32,
}

impl Counts {
    pub(super) fn add(&mut self, verdict: Verdict) {
        self.calls += 1;
        self.failures += u32::from(verdict.failure);
        self.slow += u32::from(verdict.slow);
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
    pub(super) fn exceeds(&self, config: &BreakerConfig) -> bool {
        let calls = f64::from(self.calls);
        f64::from(self.failures) * 100.0 >= config.failure_rate_threshold * calls
            || f64::from(self.slow) * 100.0 >= config.slow_call_rate_threshold * calls
    }
}

/// How the breaker judged one call: did the server fail it, was it slow?
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Verdict {
    pub(super) failure: bool,
    pub(super) slow: bool,
}

/// The verdicts of the last N calls in a ring buffer, with running totals.
#[derive(Clone, Debug)]
pub(super) struct CountWindow {
    ring: Box<[Verdict]>,
    next: usize,
    filled: usize,
    totals: Counts,
}

impl CountWindow {
    fn new(calls: u32) -> Self {
        CountWindow {
            ring: vec![Verdict::default(); calls as usize].into_boxed_slice(),
            next: 0,
            filled: 0,
            totals: Counts::default(),
        }
    }

    fn record(&mut self, verdict: Verdict) {
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
        self.ring[self.next] = verdict;
        self.next = (self.next + 1) % self.ring.len();
        self.totals.add(verdict);
    }
}

/// Counts per slice of time in a ring of buckets, with running totals.
#[derive(Clone, Debug)]
pub(super) struct TimeWindow {
    buckets: Box<[Counts]>,
    bucket_nanos: u128,
    /// The slice number (`now / bucket width`) of the newest bucket.
    newest: u64,
    totals: Counts,
}

impl TimeWindow {
    fn new(length: Duration, buckets: u32) -> Self {
        TimeWindow {
            buckets: vec![Counts::default(); buckets as usize].into_boxed_slice(),
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
            self.totals.remove(*bucket);
            *bucket = Counts::default();
        }
        self.newest = slice;
    }

    fn record(&mut self, verdict: Verdict, now: Duration) {
        self.advance(now);
        let n = self.buckets.len() as u64;
        // A late outcome (stamped before `newest`) lands in the newest bucket:
        // the window moves forward only.
        let bucket = &mut self.buckets[(self.newest % n) as usize];
        bucket.add(verdict);
        self.totals.add(verdict);
    }
}

/// Whichever window the configuration chose.
#[derive(Clone, Debug)]
pub(super) enum Window {
    Count(CountWindow),
    Time(TimeWindow),
}

impl Window {
    pub(super) fn new(kind: SlidingWindow) -> Self {
        match kind {
            SlidingWindow::Count { calls } => Window::Count(CountWindow::new(calls.max(1))),
            SlidingWindow::Time { length, buckets } => {
                Window::Time(TimeWindow::new(length, buckets.max(1)))
            }
        }
    }

    pub(super) fn record(&mut self, verdict: Verdict, now: Duration) {
        match self {
            Window::Count(window) => window.record(verdict),
            Window::Time(window) => window.record(verdict, now),
        }
    }

    pub(super) fn totals(&self) -> Counts {
        match self {
            Window::Count(window) => window.totals,
            Window::Time(window) => window.totals,
        }
    }

    /// Forget everything, keeping the storage (no allocation).
    pub(super) fn clear(&mut self) {
        match self {
            Window::Count(window) => {
                window.next = 0;
                window.filled = 0;
                window.totals = Counts::default();
            }
            Window::Time(window) => {
                window.buckets.fill(Counts::default());
                window.newest = 0;
                window.totals = Counts::default();
            }
        }
    }
}
