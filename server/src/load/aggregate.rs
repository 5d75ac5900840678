//! A run's numbers: counters per 100 ms window, and for the whole run.
//!
//! The runner tells the aggregator what happened (a call started, an
//! attempt ended with this code...) and, every window, asks it for a
//! [`LoadSnapshot`]; the window's counters then start again from zero. The
//! same events also add up into the run's totals, which become the final
//! message. Nothing here does I/O or reads a clock: time comes in as
//! arguments, so the tests below check the arithmetic exactly.
//!
//! Memory is bounded whatever the run's length: counters, two fixed-size
//! histograms per tally, and a map with one entry per status code seen.
//!
//! A run with background calls (`LoadScenario.background`) counts them in
//! a tally of their own, so the main counts stay those of the run's
//! operation and the background's goodput can be plotted beside them.

use std::collections::BTreeMap;
use std::time::Duration;

use rpc_lab::proto::calculator_v1::{LoadSnapshot, OperationCounts, PaymentBreakerState};
use rpc_lab::status::code_name;
use tonic::Code;

use super::histogram::Histogram;

/// What the runner reads at the end of a window (not counted by events).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Gauges {
    pub breakers_closed: u32,
    pub breakers_open: u32,
    pub breakers_half_open: u32,
    pub budget_tokens: Option<f64>,
    pub calls_in_flight: u64,
    pub queue_depth: u64,
    pub executions_in_flight: u64,
    /// Executions of the run's method on the server during the window.
    pub server_executions: u64,
    /// The session's checkouts waiting on payment now.
    pub waiting_on_payment: u32,
    /// The breaker in the front tier's client of payment now.
    pub payment_breaker: PaymentBreakerState,
}

/// Counts of one window, or of the whole run.
#[derive(Clone, Debug, Default)]
struct Tally {
    calls_started: u64,
    calls_succeeded: u64,
    calls_failed: u64,
    attempts_sent: u64,
    attempts_ended: u64,
    attempts_by_code: BTreeMap<&'static str, u64>,
    attempts_fault_injected: u64,
    attempts_replayed: u64,
    retries: u64,
    breaker_rejections: u64,
    calls_not_sent: u64,
    wasted: Duration,
    server_executions: u64,
    latency: Histogram,
    lag: Histogram,
}

/// Counts of the background calls, in one window or the whole run.
#[derive(Clone, Debug, Default)]
struct Calls {
    started: u64,
    succeeded: u64,
    failed: u64,
    not_sent: u64,
    latency: Histogram,
}

/// The windowed and whole-run counters of one run.
#[derive(Debug, Default)]
pub struct Aggregator {
    window: Tally,
    run: Tally,
    /// The background's window and run; `None`: the run has none.
    background: Option<(Calls, Calls)>,
    window_start: Duration,
}

impl Aggregator {
    pub fn new() -> Self {
        Self::default()
    }

    /// An aggregator that also counts background calls.
    pub fn with_background() -> Self {
        Aggregator {
            background: Some(Default::default()),
            ..Self::default()
        }
    }

    fn both(&mut self, change: impl Fn(&mut Tally)) {
        change(&mut self.window);
        change(&mut self.run);
    }

    fn background(&mut self, change: impl Fn(&mut Calls)) {
        if let Some((window, run)) = &mut self.background {
            change(window);
            change(run);
        }
    }

    /// A background call began.
    pub fn background_started(&mut self) {
        self.background(|c| c.started += 1);
    }

    /// A background call ended, `latency` after it was meant to start.
    pub fn background_ended(&mut self, succeeded: bool, latency: Duration) {
        self.background(|c| {
            if succeeded {
                c.succeeded += 1;
            } else {
                c.failed += 1;
            }
            c.latency.record(latency);
        });
    }

    /// The background's schedule wanted a call, but too many were in flight.
    pub fn background_not_sent(&mut self) {
        self.background(|c| c.not_sent += 1);
    }

    /// A logical call began, `lag` after its scheduled time (zero in closed loop).
    pub fn call_started(&mut self, lag: Option<Duration>) {
        self.both(|t| {
            t.calls_started += 1;
            if let Some(lag) = lag {
                t.lag.record(lag);
            }
        });
    }

    /// A logical call ended, `latency` after it was meant to start.
    pub fn call_ended(&mut self, succeeded: bool, latency: Duration) {
        self.both(|t| {
            if succeeded {
                t.calls_succeeded += 1;
            } else {
                t.calls_failed += 1;
                t.wasted += latency;
            }
            t.latency.record(latency);
        });
    }

    /// The schedule wanted a call, but too many were in flight to send it.
    pub fn call_not_sent(&mut self) {
        self.both(|t| t.calls_not_sent += 1);
    }

    /// An attempt went on the wire; `number` 1 is the call's first.
    pub fn attempt_started(&mut self, number: u32) {
        self.both(|t| {
            t.attempts_sent += 1;
            if number > 1 {
                t.retries += 1;
            }
        });
    }

    pub fn attempt_ended(&mut self, code: Code, fault_injected: bool, replayed: bool) {
        self.both(|t| {
            t.attempts_ended += 1;
            *t.attempts_by_code.entry(code_name(code)).or_default() += 1;
            t.attempts_fault_injected += u64::from(fault_injected);
            t.attempts_replayed += u64::from(replayed);
        });
    }

    pub fn breaker_rejected(&mut self) {
        self.both(|t| t.breaker_rejections += 1);
    }

    /// The window that ends `now` (time since the run's start); the window's
    /// counters start again from zero.
    pub fn window(&mut self, now: Duration, gauges: Gauges) -> LoadSnapshot {
        self.run.server_executions += gauges.server_executions;
        self.window.server_executions = gauges.server_executions;
        let length = now.saturating_sub(self.window_start);
        let mut snapshot = to_snapshot(&self.window, now, length, gauges);
        if let Some((window, _)) = &mut self.background {
            snapshot.background = Some(to_counts(window, length));
            *window = Calls::default();
        }
        self.window = Tally::default();
        self.window_start = now;
        snapshot
    }

    /// The whole run, ending `now`: the final message. Call [`window`]
    /// first for the last partial window (its executions are added there).
    ///
    /// [`window`]: Aggregator::window
    pub fn summary(&self, now: Duration, gauges: Gauges, stopped: bool) -> LoadSnapshot {
        let gauges = Gauges {
            server_executions: self.run.server_executions,
            ..gauges
        };
        LoadSnapshot {
            r#final: true,
            stopped,
            background: self.background.as_ref().map(|(_, run)| to_counts(run, now)),
            ..to_snapshot(&self.run, now, now, gauges)
        }
    }
}

fn to_counts(c: &Calls, length: Duration) -> OperationCounts {
    OperationCounts {
        calls_started: c.started,
        calls_succeeded: c.succeeded,
        calls_failed: c.failed,
        goodput_per_second: per_second(c.succeeded, length),
        latency_p50_ms: c.latency.quantile_ms(0.50),
        latency_p90_ms: c.latency.quantile_ms(0.90),
        latency_p99_ms: c.latency.quantile_ms(0.99),
        calls_not_sent: c.not_sent,
    }
}

/// `count` over `length`, per second (0 over no time).
fn per_second(count: u64, length: Duration) -> f64 {
    let seconds = length.as_secs_f64();
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

fn to_snapshot(t: &Tally, now: Duration, length: Duration, g: Gauges) -> LoadSnapshot {
    let per_second = |count: u64| per_second(count, length);
    LoadSnapshot {
        elapsed_ms: millis(now),
        window_ms: millis(length),
        r#final: false,
        stopped: false,
        calls_started: t.calls_started,
        calls_succeeded: t.calls_succeeded,
        calls_failed: t.calls_failed,
        calls_started_per_second: per_second(t.calls_started),
        goodput_per_second: per_second(t.calls_succeeded),
        attempts_sent: t.attempts_sent,
        offered_attempts_per_second: per_second(t.attempts_sent),
        attempts_ended: t.attempts_ended,
        attempts_by_code: t
            .attempts_by_code
            .iter()
            .map(|(code, n)| (code.to_string(), *n))
            .collect(),
        attempts_fault_injected: t.attempts_fault_injected,
        attempts_replayed: t.attempts_replayed,
        retries: t.retries,
        retries_per_second: per_second(t.retries),
        breakers_closed: g.breakers_closed,
        breakers_open: g.breakers_open,
        breakers_half_open: g.breakers_half_open,
        breaker_rejections: t.breaker_rejections,
        budget_tokens: g.budget_tokens,
        latency_p50_ms: t.latency.quantile_ms(0.50),
        latency_p90_ms: t.latency.quantile_ms(0.90),
        latency_p99_ms: t.latency.quantile_ms(0.99),
        schedule_lag_p99_ms: t.lag.quantile_ms(0.99),
        schedule_lag_max_ms: t.lag.max_ms(),
        calls_not_sent: t.calls_not_sent,
        calls_in_flight: g.calls_in_flight,
        queue_depth: g.queue_depth,
        executions_in_flight: g.executions_in_flight,
        server_executions: t.server_executions,
        wasted_client_ms: t.wasted.as_secs_f64() * 1000.0,
        background: None,
        waiting_on_payment: g.waiting_on_payment,
        payment_breaker: g.payment_breaker.into(),
    }
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_window_counts_its_own_events_and_then_starts_again() {
        let mut a = Aggregator::new();
        a.call_started(Some(MS));
        a.attempt_started(1);
        a.attempt_ended(Code::Unavailable, true, false);
        a.attempt_started(2);
        a.attempt_ended(Code::Ok, false, true);
        a.call_ended(true, 30 * MS);
        a.call_started(None);
        a.attempt_started(1);
        a.attempt_ended(Code::FailedPrecondition, false, false);
        a.call_ended(false, 10 * MS);
        let gauges = Gauges {
            server_executions: 2,
            ..Gauges::default()
        };
        let w = a.window(100 * MS, gauges);
        assert_eq!((w.elapsed_ms, w.window_ms), (100, 100));
        assert_eq!(
            (w.calls_started, w.calls_succeeded, w.calls_failed),
            (2, 1, 1)
        );
        assert_eq!((w.attempts_sent, w.attempts_ended, w.retries), (3, 3, 1));
        assert_eq!(w.attempts_ended, w.attempts_by_code.values().sum::<u64>());
        assert_eq!(w.attempts_by_code["UNAVAILABLE"], 1);
        assert_eq!(w.attempts_by_code["OK"], 1);
        assert_eq!(w.attempts_by_code["FAILED_PRECONDITION"], 1);
        assert_eq!((w.attempts_fault_injected, w.attempts_replayed), (1, 1));
        assert_eq!(w.offered_attempts_per_second, 30.0);
        assert_eq!(w.goodput_per_second, 10.0);
        assert_eq!(w.wasted_client_ms, 10.0);
        assert_eq!(w.server_executions, 2);
        assert!(w.latency_p99_ms >= 30.0 && w.latency_p99_ms < 31.0);

        let next = a.window(200 * MS, Gauges::default());
        assert_eq!(
            (next.window_ms, next.calls_started, next.attempts_sent),
            (100, 0, 0)
        );
        assert!(next.attempts_by_code.is_empty());
        assert_eq!(next.latency_p50_ms, 0.0);
    }

    #[test]
    fn background_calls_are_counted_apart_from_the_main_ones() {
        let mut a = Aggregator::with_background();
        a.call_started(Some(Duration::ZERO));
        a.call_ended(false, 500 * MS);
        for ok in [true, true, false] {
            a.background_started();
            a.background_ended(ok, 10 * MS);
        }
        a.background_not_sent();
        let gauges = Gauges {
            waiting_on_payment: 4,
            payment_breaker: PaymentBreakerState::Open,
            ..Gauges::default()
        };
        let w = a.window(100 * MS, gauges);
        assert_eq!(
            (w.calls_started, w.calls_succeeded, w.calls_failed),
            (1, 0, 1)
        );
        assert_eq!(w.waiting_on_payment, 4);
        assert_eq!(w.payment_breaker(), PaymentBreakerState::Open);
        let b = w.background.expect("a run with a background counts it");
        assert_eq!(
            (b.calls_started, b.calls_succeeded, b.calls_failed),
            (3, 2, 1)
        );
        assert_eq!(b.calls_not_sent, 1);
        assert_eq!(b.goodput_per_second, 20.0);
        assert!(b.latency_p99_ms >= 10.0 && b.latency_p99_ms < 11.0);

        a.background_started();
        let next = a.window(200 * MS, Gauges::default());
        let b = next.background.unwrap();
        assert_eq!((b.calls_started, b.calls_succeeded), (1, 0), "a new window");
        let s = a.summary(200 * MS, Gauges::default(), false);
        let b = s.background.unwrap();
        assert_eq!(
            (b.calls_started, b.calls_succeeded, b.calls_failed),
            (4, 2, 1)
        );
        assert_eq!(b.goodput_per_second, 10.0);

        assert_eq!(
            Aggregator::new().window(MS, Gauges::default()).background,
            None
        );
    }

    #[test]
    fn the_summary_sums_every_window() {
        let mut a = Aggregator::new();
        for window in 1..=3u32 {
            for _ in 0..window {
                a.call_started(Some(Duration::ZERO));
                a.attempt_started(1);
                a.attempt_ended(Code::Ok, false, false);
                a.call_ended(true, MS);
            }
            a.breaker_rejected();
            a.call_not_sent();
            let gauges = Gauges {
                server_executions: u64::from(window),
                ..Gauges::default()
            };
            a.window(Duration::from_millis(100 * u64::from(window)), gauges);
        }
        let s = a.summary(300 * MS, Gauges::default(), true);
        assert!(s.r#final && s.stopped);
        assert_eq!((s.elapsed_ms, s.window_ms), (300, 300));
        assert_eq!(
            (s.calls_started, s.calls_succeeded, s.attempts_ended),
            (6, 6, 6)
        );
        assert_eq!(s.attempts_by_code["OK"], 6);
        assert_eq!((s.breaker_rejections, s.calls_not_sent), (3, 3));
        assert_eq!(s.server_executions, 6);
        assert_eq!(s.goodput_per_second, 20.0);
    }
}
