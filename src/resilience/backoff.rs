//! How long to wait before the next retry: exponential backoff with jitter.
//!
//! Waiting longer after each failure gives a struggling server room to
//! recover (*exponential backoff*). But if a thousand clients failed at the
//! same instant and all wait exactly 100 ms, 200 ms, 400 ms, they come back
//! together each time, in synchronized waves. *Jitter* spreads them out.
//!
//! The strategies and their formulas are those of Marc Brooker's "Exponential
//! Backoff and Jitter" (AWS Architecture Blog, 2015), with `base` the initial
//! backoff, `cap` the maximum and `n` the number of retries so far:
//!
//! | [`Jitter`]       | delay                                        |
//! | ---------------- | -------------------------------------------- |
//! | `None`           | `min(cap, base · m^n)`                       |
//! | `Full`           | `rand(0, min(cap, base · m^n))`              |
//! | `Equal`          | `t/2 + rand(0, t/2)` with `t = min(cap, base · m^n)` |
//! | `Decorrelated`   | `min(cap, rand(base, previous · 3))`         |
//!
//! The article uses `m = 2`; here the multiplier is the policy's (2 by
//! default), as in gRPC. Decorrelated jitter ignores it: it grows from the
//! *previous delay* by a random factor of up to 3. The article's simulation
//! found full and decorrelated jitter do the least total work.
//!
//! Everything here is a pure function of its inputs and a [`RandomSource`],
//! so every schedule can be tested, plotted and replayed.

use std::time::Duration;

use super::clock::RandomSource;

/// How randomness is mixed into the backoff.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Jitter {
    /// No randomness: the pure exponential schedule. Clients that failed
    /// together retry together.
    None,
    /// Anywhere between zero and the exponential delay.
    #[default]
    Full,
    /// At least half the exponential delay, plus a random part of the rest.
    Equal,
    /// Random between the base and three times the previous delay, capped.
    Decorrelated,
}

impl Jitter {
    /// All four, in the order of the table above.
    pub const ALL: [Jitter; 4] = [
        Jitter::None,
        Jitter::Full,
        Jitter::Equal,
        Jitter::Decorrelated,
    ];
}

/// `min(cap, base · multiplier^retry)`: the exponential ceiling, no jitter.
///
/// Computed in floating point so that a large `retry` saturates at `cap`
/// instead of overflowing.
pub fn exponential(base: Duration, multiplier: f64, cap: Duration, retry: u32) -> Duration {
    let exponent = i32::try_from(retry).unwrap_or(i32::MAX);
    let seconds = base.as_secs_f64() * multiplier.powi(exponent);
    // Overflow to infinity (or NaN from a bad multiplier) means "the cap" too.
    if seconds.is_finite() && seconds < cap.as_secs_f64() {
        Duration::from_secs_f64(seconds).min(cap)
    } else {
        cap
    }
}

/// Full jitter: uniformly random in `[0, ceiling)`.
pub fn full_jitter(ceiling: Duration, rng: &mut dyn RandomSource) -> Duration {
    ceiling.mul_f64(rng.next_f64()).min(ceiling)
}

/// Equal jitter: half the ceiling, plus a random part of the other half.
pub fn equal_jitter(ceiling: Duration, rng: &mut dyn RandomSource) -> Duration {
    let half = ceiling / 2;
    (half + half.mul_f64(rng.next_f64())).min(ceiling)
}

/// Decorrelated jitter: uniformly random in `[base, previous · 3)`, then capped.
pub fn decorrelated_jitter(
    base: Duration,
    previous: Duration,
    cap: Duration,
    rng: &mut dyn RandomSource,
) -> Duration {
    let high = previous.saturating_mul(3).max(base);
    let delay = base + (high - base).mul_f64(rng.next_f64());
    delay.min(cap)
}

/// The backoff schedule of one logical call: remembers how many retries came
/// before and, for decorrelated jitter, the previous delay.
#[derive(Clone, Debug, PartialEq)]
pub struct Backoff {
    base: Duration,
    multiplier: f64,
    cap: Duration,
    jitter: Jitter,
    retries: u32,
    previous: Duration,
}

impl Backoff {
    /// A fresh schedule from the four numbers of the formula (a policy
    /// makes one with [`RetryPolicy::backoff`](super::RetryPolicy::backoff)).
    pub fn new(base: Duration, multiplier: f64, cap: Duration, jitter: Jitter) -> Self {
        Backoff {
            base,
            multiplier,
            cap,
            jitter,
            retries: 0,
            previous: base,
        }
    }

    /// The delay before the next retry; advances the schedule.
    pub fn next_delay(&mut self, rng: &mut dyn RandomSource) -> Duration {
        let ceiling = exponential(self.base, self.multiplier, self.cap, self.retries);
        let delay = match self.jitter {
            Jitter::None => ceiling,
            Jitter::Full => full_jitter(ceiling, rng),
            Jitter::Equal => equal_jitter(ceiling, rng),
            Jitter::Decorrelated => decorrelated_jitter(self.base, self.previous, self.cap, rng),
        };
        self.retries = self.retries.saturating_add(1);
        self.previous = delay;
        delay
    }

    /// Start over from the base, as after server pushback (gRFC A6: the
    /// server's delay replaces the schedule, which then begins again).
    pub fn reset(&mut self) {
        self.retries = 0;
        self.previous = self.base;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resilience::clock::SeededRng;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn without_jitter_the_delay_doubles_up_to_the_cap() {
        let mut backoff = Backoff::new(100 * MS, 2.0, 1000 * MS, Jitter::None);
        let mut rng = SeededRng::new(1);
        let delays: Vec<u128> = (0..6)
            .map(|_| backoff.next_delay(&mut rng).as_millis())
            .collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn a_huge_retry_count_saturates_at_the_cap() {
        assert_eq!(exponential(MS, 10.0, 5000 * MS, u32::MAX), 5000 * MS);
    }

    #[test]
    fn reset_starts_the_schedule_over() {
        let mut backoff = Backoff::new(100 * MS, 2.0, 1000 * MS, Jitter::None);
        let mut rng = SeededRng::new(1);
        backoff.next_delay(&mut rng);
        backoff.next_delay(&mut rng);
        backoff.reset();
        assert_eq!(backoff.next_delay(&mut rng), 100 * MS);
    }

    #[test]
    fn the_same_seed_gives_the_same_schedule() {
        for jitter in Jitter::ALL {
            let schedule = |seed| {
                let mut backoff = Backoff::new(100 * MS, 2.0, 5000 * MS, jitter);
                let mut rng = SeededRng::new(seed);
                (0..8)
                    .map(|_| backoff.next_delay(&mut rng))
                    .collect::<Vec<_>>()
            };
            assert_eq!(schedule(9), schedule(9), "{jitter:?}");
        }
    }
}
