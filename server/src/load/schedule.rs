//! The open loop's arrival schedule: when each call is *meant* to be sent.
//!
//! An open-loop load generator decides its send times in advance, from the
//! run's start, and never waits for replies. That is the whole point: a
//! generator that waits for a slow reply before sending the next call
//! quietly stops measuring the slowness it caused ("coordinated omission",
//! Gil Tene). So the schedule is a pure sequence of offsets from the start,
//! and the runner measures each call's latency from its offset here, not
//! from when it actually got round to sending it.
//!
//! Pure and seeded: the same rate and seed give the same offsets on every
//! machine, so the tests below check them exactly.

use std::time::Duration;

use rpc_lab::resilience::{RandomSource, SeededRng};

/// How the gaps between arrivals are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrivals {
    /// Evenly spaced, `1/rate` apart.
    Constant,
    /// A Poisson process: exponential gaps with mean `1/rate`, as independent
    /// users arrive.
    Poisson,
}

/// The send offsets of an open loop at `rate` calls per second.
#[derive(Clone, Debug)]
pub struct Schedule {
    rate: f64,
    arrivals: Arrivals,
    rng: SeededRng,
    /// Offset of the next arrival, in seconds (f64, so that a long run of
    /// small gaps does not accumulate rounding to whole nanoseconds).
    next: f64,
}

impl Schedule {
    /// `rate` must be positive and finite (the scenario checks it).
    pub fn new(rate: f64, arrivals: Arrivals, seed: u64) -> Self {
        let mut schedule = Schedule {
            rate,
            arrivals,
            rng: SeededRng::new(seed),
            next: 0.0,
        };
        // The first call goes out at the start for a constant rate, after a
        // first random gap for Poisson arrivals (the process has no memory).
        if arrivals == Arrivals::Poisson {
            schedule.next = schedule.gap();
        }
        schedule
    }

    fn gap(&mut self) -> f64 {
        match self.arrivals {
            Arrivals::Constant => 1.0 / self.rate,
            // Inverse transform: -ln(U)/rate with U in (0, 1]; 1 - next_f64()
            // is never 0, so the logarithm is finite.
            Arrivals::Poisson => -(1.0 - self.rng.next_f64()).ln() / self.rate,
        }
    }
}

impl Iterator for Schedule {
    type Item = Duration;

    /// The next send offset from the run's start; never ends.
    fn next(&mut self) -> Option<Duration> {
        let at = Duration::from_secs_f64(self.next);
        self.next += self.gap();
        Some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_rate_is_evenly_spaced_from_the_start() {
        let offsets: Vec<_> = Schedule::new(4.0, Arrivals::Constant, 1).take(5).collect();
        let ms: Vec<u128> = offsets.iter().map(|d| d.as_millis()).collect();
        assert_eq!(ms, [0, 250, 500, 750, 1000]);
    }

    #[test]
    fn a_long_constant_run_does_not_drift() {
        // 2 000 calls/s for 60 s: the 120 000th call is still at 60 s to the
        // microsecond, not 60 s plus the rounding of 120 000 gaps.
        let last = Schedule::new(2000.0, Arrivals::Constant, 1)
            .nth(120_000)
            .unwrap();
        assert!(
            last.abs_diff(Duration::from_secs(60)) < Duration::from_micros(1),
            "{last:?}"
        );
    }

    #[test]
    fn poisson_arrivals_have_the_asked_rate_and_are_replayable() {
        let rate = 1000.0;
        let within_10s = Schedule::new(rate, Arrivals::Poisson, 7)
            .take_while(|at| *at < Duration::from_secs(10))
            .count();
        // Mean 10 000, standard deviation 100: 5 deviations either side.
        assert!((9_500..=10_500).contains(&within_10s), "{within_10s}");
        let again = Schedule::new(rate, Arrivals::Poisson, 7)
            .take_while(|at| *at < Duration::from_secs(10))
            .count();
        assert_eq!(within_10s, again, "the same seed gives the same arrivals");
        let other: Vec<_> = Schedule::new(rate, Arrivals::Poisson, 8).take(3).collect();
        let first: Vec<_> = Schedule::new(rate, Arrivals::Poisson, 7).take(3).collect();
        assert_ne!(other, first, "another seed, other arrivals");
    }

    #[test]
    fn poisson_gaps_are_never_negative_and_sometimes_long() {
        let offsets: Vec<_> = Schedule::new(100.0, Arrivals::Poisson, 3)
            .take(10_000)
            .collect();
        assert!(offsets.windows(2).all(|w| w[0] <= w[1]));
        // Exponential gaps: about e^-3 ≈ 5 % exceed three times the mean.
        let long = offsets
            .windows(2)
            .filter(|w| w[1] - w[0] > Duration::from_millis(30))
            .count();
        assert!((300..=700).contains(&long), "{long}");
    }
}
