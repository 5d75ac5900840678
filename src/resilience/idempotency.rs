//! Idempotency keys: how a retry of a non-idempotent operation stays safe.
//!
//! When a `Withdraw` times out, the client cannot know whether the server
//! never got it or did the work and lost the reply. Retrying may withdraw
//! twice; not retrying may withdraw never. The way out is to make the retry
//! *recognisable*: the client picks a unique key for the logical operation
//! and sends it, unchanged, with every attempt (`idempotency-key` metadata).
//! The server executes the first request with a key, stores the outcome, and
//! answers repeats with the stored outcome (`idempotent-replayed: true`)
//! instead of executing again. Stripe's API popularised the pattern; the
//! IETF drafts it as the `Idempotency-Key` HTTP header.
//!
//! The key is a UUID version 4 (RFC 9562): 122 random bits, so two clients
//! never pick the same one by chance. The key is a fixed-size value, not a
//! `String`: making one allocates nothing, and it can be copied into every
//! event of the call.
//!
//! ## Keys are not replayed with the seed
//!
//! A key must be new for every logical call, *always*. The lab replays a
//! lesson from a seed, so it is tempting to draw keys from the seeded
//! generator too — and then the second run of a seed sends the first run's
//! keys, and the server, which remembers them, answers the new calls with
//! the old outcomes: a withdrawal that never runs, a stale balance, or
//! `FAILED_PRECONDITION` when a key comes back on another operation. So keys
//! come from a [`KeySource`] of their own. The default, [`RandomKeys`], asks
//! the platform for fresh randomness (the browser's `crypto.getRandomValues`);
//! the seed drives only faults and jitter. A replay is still exact, because
//! nothing the server does depends on a key's *value*, only on whether it
//! has seen it. [`SeededKeys`] exists for tests that compare whole event
//! streams, and for nothing else.

use std::fmt;

use super::clock::{RandomSource, SeededRng};

/// A UUID v4 in its 36-character text form, e.g.
/// `3f2b8c1e-9a4d-4f6b-8c2e-1a2b3c4d5e6f`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdempotencyKey {
    text: [u8; 36],
}

impl IdempotencyKey {
    /// The key made of 16 random bytes (6 bits of which become the version
    /// and variant).
    pub fn from_random_bytes(mut bytes: [u8; 16]) -> Self {
        // RFC 9562: version 4 in the high nibble of byte 6, variant `10` in
        // the two high bits of byte 8. The other 122 bits stay random.
        bytes[6] = (bytes[6] & 0x0F) | 0x40;
        bytes[8] = (bytes[8] & 0x3F) | 0x80;
        IdempotencyKey::from_bytes(bytes)
    }

    fn from_bytes(bytes: [u8; 16]) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [b'-'; 36];
        let mut position = 0;
        for (index, byte) in bytes.iter().enumerate() {
            // Dashes after the 4th, 6th, 8th and 10th byte: 8-4-4-4-12 digits.
            if matches!(index, 4 | 6 | 8 | 10) {
                position += 1;
            }
            text[position] = HEX[usize::from(byte >> 4)];
            text[position + 1] = HEX[usize::from(byte & 0x0F)];
            position += 2;
        }
        IdempotencyKey { text }
    }

    /// The key as text, as it is sent.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.text).expect("hex digits and dashes are ASCII")
    }
}

/// Where a caller's idempotency keys come from: one key per logical call.
pub trait KeySource {
    /// A key no earlier call has used.
    fn next_key(&mut self) -> IdempotencyKey;
}

/// Keys from the platform's randomness: what every real caller uses (and
/// what [`ResilientCaller`](super::ResilientCaller) uses unless told otherwise).
///
/// In the browser the bytes come from `crypto.getRandomValues`, the page's
/// cryptographic generator. Natively they come from the standard library's
/// hash seeds: SipHash keyed with 128 bits the operating system gave the
/// process, and a different key for every draw — unique with overwhelming
/// probability, though not a vetted CSPRNG; a production client would use
/// the `getrandom` or `uuid` crate, which the lab does without to stay small.
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomKeys;

impl RandomKeys {
    pub fn new() -> Self {
        RandomKeys
    }
}

impl KeySource for RandomKeys {
    fn next_key(&mut self) -> IdempotencyKey {
        IdempotencyKey::from_random_bytes(random_bytes())
    }
}

/// 16 bytes from `crypto.getRandomValues`; outside a window (a worker, a
/// non-browser host) from the standard library as natively.
#[cfg(target_arch = "wasm32")]
fn random_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    let filled = web_sys::window()
        .and_then(|window| window.crypto().ok())
        .is_some_and(|crypto| crypto.get_random_values_with_u8_array(&mut bytes).is_ok());
    if filled { bytes } else { std_random_bytes() }
}

#[cfg(not(target_arch = "wasm32"))]
fn random_bytes() -> [u8; 16] {
    std_random_bytes()
}

/// Each `RandomState::new()` is keyed differently (the standard library
/// seeds the first from the OS and counts up from there), so hashing with
/// two fresh ones gives 128 new bits per call.
fn std_random_bytes() -> [u8; 16] {
    use std::hash::{BuildHasher, RandomState};
    let mut bytes = [0u8; 16];
    for (half, chunk) in bytes.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(&RandomState::new().hash_one(half).to_be_bytes());
    }
    bytes
}

/// Keys from a seed: the same seed, the same keys.
///
/// Only for tests that compare whole event streams of two runs. Never give
/// it to a caller that talks to a real server: a second run with the same
/// seed would send the first run's keys and be answered with the first
/// run's outcomes, without executing.
#[derive(Clone, Debug)]
pub struct SeededKeys(SeededRng);

impl SeededKeys {
    pub fn new(seed: u64) -> Self {
        SeededKeys(SeededRng::new(seed))
    }
}

impl KeySource for SeededKeys {
    fn next_key(&mut self) -> IdempotencyKey {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.0.next_u64().to_be_bytes());
        bytes[8..].copy_from_slice(&self.0.next_u64().to_be_bytes());
        IdempotencyKey::from_random_bytes(bytes)
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn assert_uuid_v4(key: IdempotencyKey) {
        let text = key.as_str();
        assert_eq!(text.len(), 36);
        let groups: Vec<usize> = text.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert_eq!(&text[14..15], "4", "version 4: {text}");
        assert!("89ab".contains(&text[19..20]), "RFC variant: {text}");
        assert!(
            text.chars()
                .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }

    #[test]
    fn a_key_is_a_well_formed_uuid_v4() {
        assert_uuid_v4(SeededKeys::new(1).next_key());
        assert_uuid_v4(RandomKeys::new().next_key());
        assert_uuid_v4(IdempotencyKey::from_random_bytes([0xFF; 16]));
        assert_eq!(
            IdempotencyKey::from_random_bytes([0; 16]).as_str(),
            "00000000-0000-4000-8000-000000000000"
        );
    }

    #[test]
    fn seeded_keys_repeat_with_the_seed() {
        let mut a = SeededKeys::new(5);
        let mut b = SeededKeys::new(5);
        let first = a.next_key();
        assert_eq!(first, b.next_key());
        assert_ne!(first, a.next_key());
    }

    /// Issue 10: two sources made alike (as two runs of one lesson make
    /// them) must still never hand out the same key.
    #[test]
    fn random_keys_never_repeat_across_sources() {
        let mut seen = HashSet::new();
        for _ in 0..100 {
            let mut source = RandomKeys::new();
            for _ in 0..100 {
                assert!(seen.insert(source.next_key()), "a key repeated");
            }
        }
    }
}
