//! Time and chance, injected.
//!
//! Every decision of a resilient client depends on *when* (is the deadline
//! gone? has the breaker waited long enough?) and on *chance* (jitter, keys).
//! If the code read the system clock and an OS random generator directly, no
//! test could replay a scenario and no lesson could be repeated exactly. So
//! the policies never ask the world; they ask a [`Clock`] and a
//! [`RandomSource`] that the caller hands in:
//!
//! - in the browser, `WebClock` reads `performance.now()` and sleeps with
//!   `setTimeout` (std's `Instant` panics in `wasm32`, tokio's timers do not
//!   run there);
//! - natively, `TokioClock` (cargo feature `tokio`) uses tokio's clock, which
//!   tests freeze with `tokio::time::pause()` so that hours of backoff pass in
//!   microseconds, deterministically;
//! - [`SeededRng`] gives the same jitter for the same seed, so a lesson
//!   replays exactly. (Idempotency keys are the exception: they must never
//!   repeat, so they come from their own source; see `idempotency`.)

use std::time::Duration;

use futures_util::future::LocalBoxFuture;

/// Monotonic time and sleeping, as the resilience code needs them.
///
/// `now` is time since an arbitrary origin (the clock's creation, the page's
/// load): only differences between two readings mean anything. It must never
/// go backwards — that is why it is not the wall clock, which can jump when
/// the computer synchronises its time.
pub trait Clock {
    /// Time elapsed since this clock's origin.
    fn now(&self) -> Duration;

    /// A future that completes once `duration` has passed on this clock.
    ///
    /// Dropping the future cancels the timer. The future is boxed and not
    /// `Send` because the browser's timers live on its single thread.
    fn sleep(&self, duration: Duration) -> LocalBoxFuture<'static, ()>;
}

/// The native clock: tokio's `Instant`, measured from the clock's creation.
///
/// Under `tokio::time::pause()` (or `#[tokio::test(start_paused = true)]`) the
/// clock stands still until every task waits on a timer, then jumps straight
/// to the next timer. Tests therefore sleep for "seconds" instantly and always
/// see the same timestamps.
#[cfg(all(not(target_arch = "wasm32"), any(feature = "tokio", test)))]
#[derive(Clone, Copy, Debug)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

#[cfg(all(not(target_arch = "wasm32"), any(feature = "tokio", test)))]
impl TokioClock {
    /// A clock whose `now()` starts at zero now.
    pub fn new() -> Self {
        TokioClock {
            origin: tokio::time::Instant::now(),
        }
    }
}

#[cfg(all(not(target_arch = "wasm32"), any(feature = "tokio", test)))]
impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(all(not(target_arch = "wasm32"), any(feature = "tokio", test)))]
impl Clock for TokioClock {
    fn now(&self) -> Duration {
        tokio::time::Instant::now().duration_since(self.origin)
    }

    fn sleep(&self, duration: Duration) -> LocalBoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// The browser's clock: `performance.now()` and `setTimeout`.
///
/// `performance.now()` is monotonic and counts milliseconds (as a float, with
/// microsecond-ish resolution) since the page was loaded. Browsers coarsen it
/// a little on purpose, against timing attacks; for the lab's milliseconds
/// that does not matter.
#[cfg(target_arch = "wasm32")]
#[derive(Clone, Debug)]
pub struct WebClock {
    performance: web_sys::Performance,
}

#[cfg(target_arch = "wasm32")]
impl WebClock {
    /// The page's clock, or `None` outside a window (a worker without
    /// `performance`, a non-browser wasm host).
    pub fn new() -> Option<Self> {
        let performance = web_sys::window()?.performance()?;
        Some(WebClock { performance })
    }
}

#[cfg(target_arch = "wasm32")]
impl Clock for WebClock {
    fn now(&self) -> Duration {
        // Milliseconds as f64; never negative for a monotonic page clock, but
        // `max` keeps `from_secs_f64` from panicking on a misbehaving host.
        Duration::from_secs_f64((self.performance.now() / 1000.0).max(0.0))
    }

    fn sleep(&self, duration: Duration) -> LocalBoxFuture<'static, ()> {
        Box::pin(gloo_timers::future::sleep(duration))
    }
}

/// A source of randomness for jitter.
pub trait RandomSource {
    /// 64 uniformly random bits.
    fn next_u64(&mut self) -> u64;

    /// A uniformly random number in `[0, 1)`.
    fn next_f64(&mut self) -> f64 {
        // The top 53 bits fill an f64's mantissa exactly: every result is a
        // multiple of 2^-53, and 1.0 itself can never come out.
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// SplitMix64: a tiny, fast, seedable generator (Steele, Lea and Flood, 2014).
///
/// The same seed gives the same sequence on every machine and in the browser,
/// which is what makes a lesson replayable. It is *not* cryptographically
/// secure, and it never makes idempotency keys: those must not repeat when
/// the seed does (see `idempotency::RandomKeys`); jitter needs no such care.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeededRng {
    state: u64,
}

impl SeededRng {
    /// A generator that will produce the same numbers for the same `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRng { state: seed }
    }
}

impl RandomSource for SeededRng {
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_replays_the_same_numbers() {
        let mut a = SeededRng::new(42);
        let mut b = SeededRng::new(42);
        let first: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let second: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(first, second);
        assert_ne!(SeededRng::new(43).next_u64(), first[0]);
    }

    #[test]
    fn splitmix64_matches_its_reference_output() {
        // First outputs for seed 0 from the reference implementation.
        let mut rng = SeededRng::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn floats_stay_in_the_half_open_unit_interval() {
        let mut rng = SeededRng::new(7);
        for _ in 0..10_000 {
            let x = rng.next_f64();
            assert!((0.0..1.0).contains(&x), "{x}");
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[tokio::test(start_paused = true)]
    async fn the_tokio_clock_moves_only_when_time_is_advanced() {
        let clock = TokioClock::new();
        assert_eq!(clock.now(), Duration::ZERO);
        clock.sleep(Duration::from_millis(1500)).await;
        assert_eq!(clock.now(), Duration::from_millis(1500));
    }
}
