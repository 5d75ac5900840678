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
//! never pick the same one by chance. Here the bits come from the injected
//! [`RandomSource`], so a seeded lesson sends the same keys every run. The
//! key is a fixed-size value, not a `String`: making one allocates nothing,
//! and it can be copied into every event of the call.

use std::fmt;

use super::clock::RandomSource;

/// A UUID v4 in its 36-character text form, e.g.
/// `3f2b8c1e-9a4d-4f6b-8c2e-1a2b3c4d5e6f`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdempotencyKey {
    text: [u8; 36],
}

impl IdempotencyKey {
    /// The metadata (header) name the key travels under.
    pub const HEADER: &'static str = crate::headers::IDEMPOTENCY_KEY;

    /// A fresh random key.
    pub fn generate(rng: &mut dyn RandomSource) -> Self {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
        bytes[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
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
    use super::*;
    use crate::resilience::clock::SeededRng;

    #[test]
    fn a_key_is_a_well_formed_uuid_v4() {
        let key = IdempotencyKey::generate(&mut SeededRng::new(1));
        let text = key.as_str();
        assert_eq!(text.len(), 36);
        let groups: Vec<usize> = text.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert_eq!(&text[14..15], "4", "version 4");
        assert!("89ab".contains(&text[19..20]), "RFC variant");
        assert!(
            text.chars()
                .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_keys_and_keys_differ() {
        let mut a = SeededRng::new(5);
        let mut b = SeededRng::new(5);
        let first = IdempotencyKey::generate(&mut a);
        assert_eq!(first, IdempotencyKey::generate(&mut b));
        assert_ne!(first, IdempotencyKey::generate(&mut a));
    }
}
