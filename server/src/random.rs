//! A small seedable random number generator (SplitMix64).
//!
//! Faults are random, but a lesson must be repeatable: the same seed and the
//! same steps must give the same failures. So the server never asks the
//! operating system for randomness while serving; each lab session gets a
//! generator seeded from the server's `--seed` and the session's name.
//! SplitMix64 is tiny, fast and statistically good enough for coin flips;
//! it is not for cryptography.

#[derive(Clone, Debug)]
pub struct SeededRng {
    state: u64,
}

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        SeededRng { state: seed }
    }

    /// A generator for one named stream under a common seed (FNV-1a of the name).
    pub fn for_stream(seed: u64, name: &str) -> Self {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in name.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        SeededRng::new(seed ^ hash)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1): the top 53 bits, as many as an `f64` holds exactly.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_stream() {
        let a: Vec<u64> = (0..5)
            .scan(SeededRng::new(7), |r, _| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..5)
            .scan(SeededRng::new(7), |r, _| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        let mut other = SeededRng::for_stream(7, "tab-2");
        assert_ne!(a[0], other.next_u64(), "another session, another stream");
    }

    #[test]
    fn floats_are_in_the_unit_interval_and_roughly_uniform() {
        let mut rng = SeededRng::new(42);
        let draws: Vec<f64> = (0..10_000).map(|_| rng.next_f64()).collect();
        assert!(draws.iter().all(|x| (0.0..1.0).contains(x)));
        let below_quarter = draws.iter().filter(|&&x| x < 0.25).count();
        assert!(
            (2_300..2_700).contains(&below_quarter),
            "{below_quarter} of 10000 below 0.25"
        );
    }
}
