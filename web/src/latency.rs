//! Latency statistics for the page: percentiles and histogram bins.
//!
//! Pure functions on plain numbers (and on the run log, for the timeouts the
//! attempts were given), so the plots' math is tested natively.
//! Percentiles use the nearest-rank method: the p-th percentile is a latency
//! that was actually measured, never an interpolation between two.

use std::collections::BTreeMap;

use rpc_lab::resilience::EventKind;

use crate::run_log::RunLog;

/// The numbers a student compares.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub mean: f64,
    pub max: f64,
}

/// The nearest-rank percentile `p` (0–100) of `sorted` (ascending).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Summarises latencies in milliseconds.
pub fn summarize(latencies: &[f64]) -> Summary {
    let mut sorted = latencies.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return Summary::default();
    }
    Summary {
        count: sorted.len(),
        p50: percentile(&sorted, 50.0),
        p90: percentile(&sorted, 90.0),
        p99: percentile(&sorted, 99.0),
        mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
        max: sorted[sorted.len() - 1],
    }
}

/// Equal-width bins from 0 to `upper`, the same for every series plotted
/// side by side (so equal bars mean equal things). The last bin also holds
/// everything above `upper`.
#[derive(Clone, Debug, PartialEq)]
pub struct Bins {
    pub width: f64,
    pub count: usize,
}

impl Bins {
    /// Bins covering every series up to the largest p99, rounded up to a
    /// readable number of milliseconds, so one slow outlier does not squash
    /// the plot.
    pub fn shared(series: &[&[f64]], count: usize) -> Bins {
        let upper = series
            .iter()
            .map(|latencies| summarize(latencies).p99)
            .fold(0.0, f64::max)
            .max(0.1);
        let width = nice_ceiling(upper / count as f64);
        Bins { width, count }
    }

    /// Like [`Bins::shared`], but reaching `mark` (a timeout) too when it
    /// lies not far beyond the data — at most [`REACH`] times the largest
    /// p99 — so the student sees where the timeout sits against the
    /// distribution. A mark much further out (a 1 s timeout on 2 ms calls)
    /// would squash every bar into the first bin; it stays off the scale,
    /// and the plot says so.
    pub fn shared_reaching(series: &[&[f64]], count: usize, mark: Option<f64>) -> Bins {
        let bins = Bins::shared(series, count);
        match mark {
            Some(mark) if mark > bins.upper() && mark <= REACH * bins.upper() => {
                // A little room past the mark, so its line is not the frame.
                let width = nice_ceiling(mark * 1.05 / count as f64);
                Bins { width, count }
            }
            _ => bins,
        }
    }

    /// How many latencies fall in each bin.
    pub fn histogram(&self, latencies: &[f64]) -> Vec<usize> {
        let mut counts = vec![0; self.count];
        for &latency in latencies {
            let index = ((latency / self.width) as usize).min(self.count - 1);
            counts[index] += 1;
        }
        counts
    }

    /// The upper edge of the plotted range.
    pub fn upper(&self) -> f64 {
        self.width * self.count as f64
    }
}

/// How far past the data a histogram's axis stretches to show a timeout.
pub const REACH: f64 = 4.0;

/// The per-attempt timeouts the attempts of `step` (or of every step, for
/// `None`) were given, in ms: one per step that had one, without repeats.
///
/// Read from the caller's own events (`AttemptStarted`'s `grpc-timeout`),
/// not from the controls, which may have changed since. A step's timeout is
/// the longest any of its attempts was given: a retry late in a call may get
/// less, only what is left of the deadline.
pub fn attempt_timeouts(log: &RunLog, step: Option<usize>) -> Vec<f64> {
    let mut longest: BTreeMap<usize, f64> = BTreeMap::new();
    for event in log
        .events
        .iter()
        .filter(|e| step.is_none_or(|s| e.step == s))
    {
        if let EventKind::AttemptStarted {
            timeout: Some(timeout),
            ..
        } = event.kind
        {
            let ms = timeout.as_secs_f64() * 1000.0;
            let entry = longest.entry(event.step).or_insert(ms);
            *entry = entry.max(ms);
        }
    }
    let mut timeouts: Vec<f64> = longest.into_values().collect();
    timeouts.sort_by(f64::total_cmp);
    timeouts.dedup();
    timeouts
}

/// The smallest of 1, 2, 2.5 or 5 × 10ⁿ that is ≥ `x`: axis steps a person
/// reads at a glance.
pub fn nice_ceiling(x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    // `powi`, not `powf`: the exponent is a whole number, and `powf` would
    // bring a general `pow` (2 KB) into the page's WebAssembly.
    let magnitude = 10f64.powi(x.log10().floor() as i32);
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|step| step * magnitude)
        .find(|&candidate| candidate >= x * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rpc_lab::resilience::Event;

    use super::*;

    #[test]
    fn a_timeout_near_the_data_is_on_the_axis_and_a_far_one_is_not() {
        let latencies: Vec<f64> = (1..=100).map(f64::from).collect(); // p99 99 ms
        let plain = Bins::shared(&[&latencies], 24);
        assert_eq!(plain.upper(), 120.0);
        let near = Bins::shared_reaching(&[&latencies], 24, Some(400.0));
        assert!(
            near.upper() > 400.0,
            "the 400 ms timeout is drawn: {near:?}"
        );
        assert!(near.upper() <= 600.0, "without much room wasted: {near:?}");
        let inside = Bins::shared_reaching(&[&latencies], 24, Some(100.0));
        assert_eq!(inside, plain, "a timeout inside the data changes nothing");
        let far = Bins::shared_reaching(&[&latencies], 24, Some(60_000.0));
        assert_eq!(far, plain, "a minute-long timeout would squash the bars");
    }

    #[test]
    fn timeouts_are_read_per_step_from_the_attempts() {
        let mut log = RunLog::new(Duration::ZERO);
        let attempt = |at: u64, timeout: Option<u64>| Event {
            at: Duration::from_millis(at),
            call: 1,
            kind: EventKind::AttemptStarted {
                attempt: 1,
                hedge: false,
                timeout: timeout.map(Duration::from_millis),
            },
        };
        log.begin_step(0, Duration::ZERO, None);
        log.record(attempt(0, Some(100)));
        log.record(attempt(5, Some(40))); // what was left of the deadline
        log.begin_step(1, Duration::from_millis(10), None);
        log.record(attempt(10, Some(400)));
        log.begin_step(2, Duration::from_millis(20), None);
        log.record(attempt(20, None));
        assert_eq!(attempt_timeouts(&log, Some(0)), [100.0]);
        assert_eq!(attempt_timeouts(&log, Some(1)), [400.0]);
        assert_eq!(attempt_timeouts(&log, Some(2)), Vec::<f64>::new());
        assert_eq!(attempt_timeouts(&log, None), [100.0, 400.0]);
    }

    #[test]
    fn nearest_rank_percentiles_are_measured_values() {
        let sorted: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&sorted, 50.0), 50.0);
        assert_eq!(percentile(&sorted, 99.0), 99.0);
        assert_eq!(percentile(&sorted, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn summaries() {
        let s = summarize(&[4.0, 1.0, 3.0, 2.0]);
        assert_eq!(
            (s.count, s.p50, s.p99, s.mean, s.max),
            (4, 2.0, 4.0, 2.5, 4.0)
        );
        assert_eq!(summarize(&[]), Summary::default());
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_ceiling(0.37), 0.5);
        assert_eq!(nice_ceiling(1.0), 1.0);
        assert_eq!(nice_ceiling(1.2), 2.0);
        assert_eq!(nice_ceiling(2.2), 2.5);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
    }

    #[test]
    fn nice_steps_are_the_same_with_whole_powers_of_ten() {
        // `nice_ceiling` takes 10ⁿ with `powi`; `powf` gives the same steps.
        let with_powf = |x: f64| {
            let magnitude = 10f64.powf(x.log10().floor());
            [1.0, 2.0, 2.5, 5.0, 10.0]
                .iter()
                .map(|step| step * magnitude)
                .find(|&candidate| candidate >= x * (1.0 - 1e-9))
                .unwrap_or(10.0 * magnitude)
        };
        for exponent in -9..=12 {
            for mantissa in [1.0, 1.2, 2.0, 2.2, 2.5, 3.7, 5.0, 7.0, 9.99] {
                let x = mantissa * 10f64.powi(exponent);
                assert_eq!(nice_ceiling(x), with_powf(x), "{x}");
            }
        }
    }

    #[test]
    fn shared_bins_cover_both_series_and_keep_every_sample() {
        let fast = vec![1.0; 50];
        let slow: Vec<f64> = (0..100).map(|i| f64::from(i) / 10.0).collect(); // 0 … 9.9 ms
        let bins = Bins::shared(&[&fast, &slow], 20);
        assert!(
            bins.upper() >= 9.8,
            "covers the slower series' p99: {bins:?}"
        );
        let counts = bins.histogram(&slow);
        assert_eq!(counts.iter().sum::<usize>(), slow.len(), "no sample lost");
        assert_eq!(
            bins.histogram(&[1e9]).last(),
            Some(&1),
            "outliers land in the last bin"
        );
    }
}
