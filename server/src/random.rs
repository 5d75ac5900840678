//! Seeded randomness for fault decisions, one stream per lab session.
//!
//! Faults are random, but a lesson must be repeatable: the same seed and the
//! same steps must give the same failures. So the server never asks the
//! operating system for randomness while serving; each lab session draws
//! from its own generator, seeded from the server's `--seed` and the
//! session's name. The generator is the client's own
//! [`rpc_lab::resilience::SeededRng`] (SplitMix64): one implementation of
//! the idea for both sides of the wire.

pub use rpc_lab::resilience::{RandomSource, SeededRng};

/// The random stream of the session `name` under the server's `seed`: the
/// seed mixed with an FNV-1a hash of the name, so every session has its own
/// stream and the same name always gets the same one.
pub fn for_session(seed: u64, name: &str) -> SeededRng {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    SeededRng::new(seed ^ hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(mut rng: SeededRng) -> Vec<u64> {
        (0..5).map(|_| rng.next_u64()).collect()
    }

    #[test]
    fn each_session_has_its_own_repeatable_stream() {
        assert_eq!(
            draws(for_session(7, "tab-1")),
            draws(for_session(7, "tab-1"))
        );
        assert_ne!(
            draws(for_session(7, "tab-1")),
            draws(for_session(7, "tab-2"))
        );
        assert_ne!(
            draws(for_session(7, "tab-1")),
            draws(for_session(8, "tab-1"))
        );
    }

    #[test]
    fn floats_are_in_the_unit_interval_and_roughly_uniform() {
        let mut rng = for_session(42, "default");
        let draws: Vec<f64> = (0..10_000).map(|_| rng.next_f64()).collect();
        assert!(draws.iter().all(|x| (0.0..1.0).contains(x)));
        let below_quarter = draws.iter().filter(|&&x| x < 0.25).count();
        assert!(
            (2_300..2_700).contains(&below_quarter),
            "{below_quarter} of 10000 below 0.25"
        );
    }
}
