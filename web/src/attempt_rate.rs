//! Attempts sent to the server over time: the load a retry policy creates.
//!
//! The timeline shows each call's attempts, but not what the *server* sees:
//! how many requests arrive in each short interval. Without jitter, callers
//! that failed together wait the same backoff and retry together, so the
//! server gets bursts — "vertical stripes" — with quiet gaps between them;
//! jitter spreads the same retries out. A bar per interval shows this where
//! the timeline, at its scale, cannot.
//!
//! Pure functions on the run log's rows, tested natively.

use crate::latency::nice_ceiling;
use crate::run_log::{AttemptOutcome, CallRow};

/// Equal time bins from a step's start: `count` bins of `width_ms` each.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateBins {
    pub width_ms: f64,
    pub count: usize,
}

impl RateBins {
    /// Bins covering `0..span_ms` with about `about` bins, each a readable
    /// width (1, 2, 2.5 or 5 × 10ⁿ ms: "per 50 ms", "per 100 ms").
    ///
    /// A retry storm of two seconds gets 50 ms bins, narrower than its first
    /// backoff, so two waves of retries never share a bin.
    pub fn covering(span_ms: f64, about: usize) -> RateBins {
        let width_ms = nice_ceiling(span_ms.max(1.0) / about.max(1) as f64);
        let count = ((span_ms / width_ms) - 1e-9).ceil().max(1.0) as usize;
        RateBins { width_ms, count }
    }

    /// How many of `starts` (ms since the step began) fall in each bin;
    /// anything at or past the end goes into the last bin, so none is lost.
    pub fn counts(&self, starts: impl IntoIterator<Item = f64>) -> Vec<usize> {
        let mut counts = vec![0; self.count];
        for start in starts {
            let index = ((start.max(0.0) / self.width_ms) as usize).min(self.count - 1);
            counts[index] += 1;
        }
        counts
    }
}

/// When each attempt that reached the server began, in ms since `origin_ms`.
/// Hedges count (the server serves them too); rejections by the breaker do
/// not (nothing was sent).
///
/// Rounded to the microsecond. A browser's clock is coarse (Chrome gives
/// `performance.now()` in steps of 0.1 ms), so an attempt can start exactly on
/// a bin's edge, and the subtraction's last bit then decides its bin:
/// `1234.5 - 1134.5` may come out as `99.99999999999` and fall a bin early.
/// Rounded, an attempt on an edge belongs to the bin that starts there, as
/// the times printed in the timeline say.
pub fn sent_starts<'a>(calls: impl IntoIterator<Item = &'a CallRow>, origin_ms: f64) -> Vec<f64> {
    calls
        .into_iter()
        .flat_map(|call| &call.attempts)
        .filter(|a| a.outcome != AttemptOutcome::RejectedByBreaker)
        .map(|a| ((a.start_ms - origin_ms) * 1000.0).round() / 1000.0)
        .collect()
}

/// How bunched-up the attempts are: the sum of each bin's squared share
/// (the Herfindahl index). All in one bin gives 1; spread evenly over `n`
/// bins gives 1/n. Stripes score higher than the same attempts jittered.
pub fn concentration(counts: &[usize]) -> f64 {
    let total: usize = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    counts
        .iter()
        .map(|&c| (c as f64 / total as f64).powi(2))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_log::AttemptSegment;

    fn call(attempts: &[(f64, AttemptOutcome)]) -> CallRow {
        CallRow {
            row: 1,
            step: 0,
            operation: "add",
            key: None,
            start_ms: attempts[0].0,
            end_ms: None,
            code: None,
            gave_up: None,
            attempts: attempts
                .iter()
                .enumerate()
                .map(|(i, &(start_ms, outcome))| AttemptSegment {
                    number: i as u32 + 1,
                    hedge: false,
                    start_ms,
                    end_ms: Some(start_ms + 1.0),
                    outcome,
                })
                .collect(),
            backoffs: Vec::new(),
        }
    }

    #[test]
    fn bins_are_round_and_cover_the_step() {
        assert_eq!(
            RateBins::covering(2000.0, 40),
            RateBins {
                width_ms: 50.0,
                count: 40
            }
        );
        assert_eq!(
            RateBins::covering(2100.0, 40),
            RateBins {
                width_ms: 100.0,
                count: 21
            }
        );
        let tiny = RateBins::covering(0.0, 40);
        assert!(tiny.count >= 1 && tiny.width_ms > 0.0, "{tiny:?}");
    }

    #[test]
    fn every_attempt_lands_in_one_bin() {
        let bins = RateBins::covering(1000.0, 10);
        assert_eq!(bins.width_ms, 100.0);
        let counts = bins.counts([0.0, 99.9, 100.0, 950.0, 1000.0, 5000.0]);
        assert_eq!(counts, [2, 1, 0, 0, 0, 0, 0, 0, 0, 3]);
    }

    #[test]
    fn rejected_attempts_were_never_sent() {
        use AttemptOutcome as O;
        let calls = [
            call(&[(100.0, O::InjectedFail), (150.0, O::Ok)]),
            call(&[(120.0, O::RejectedByBreaker)]),
        ];
        assert_eq!(sent_starts(&calls, 100.0), [0.0, 50.0]);
    }

    #[test]
    fn an_attempt_on_a_bin_edge_falls_in_the_bin_that_starts_there() {
        // Times as a browser's 0.1 ms clock gives them: 16452.6 - 16352.6
        // is 99.99999999999818 in f64, one bin early without the rounding.
        let (origin, edge) = (16352.6, 16452.6);
        assert!(edge - origin < 100.0, "the case this test is about");
        let calls = [
            call(&[(origin, AttemptOutcome::Ok)]),
            call(&[(edge, AttemptOutcome::Ok)]),
        ];
        let starts = sent_starts(&calls, origin);
        assert_eq!(starts, [0.0, 100.0]);
        assert_eq!(RateBins::covering(200.0, 2).counts(starts), [1, 1]);
    }

    #[test]
    fn stripes_are_more_concentrated_than_spread_retries() {
        // Eight callers retrying at the same instants vs at scattered ones.
        let bins = RateBins::covering(800.0, 16);
        let striped: Vec<f64> = [0.0, 50.0, 150.0, 350.0, 750.0]
            .iter()
            .flat_map(|&t| std::iter::repeat_n(t + 3.0, 8))
            .collect();
        let spread: Vec<f64> = (0..40).map(|i| f64::from(i) * 19.7).collect();
        let (a, b) = (
            concentration(&bins.counts(striped)),
            concentration(&bins.counts(spread)),
        );
        assert!(a > 2.0 * b, "stripes {a} vs spread {b}");
        assert_eq!(concentration(&[5]), 1.0);
        assert_eq!(concentration(&[1, 1, 1, 1]), 0.25);
        assert_eq!(concentration(&[]), 0.0);
    }
}
