//! How an error message shows what a client sent.
//!
//! Naming the bad value makes an error actionable (`x-fault-fail must be a
//! probability between 0 and 1, got "maybe"`). But a gRPC error travels in a
//! header, `grpc-message`, and clients refuse header blocks over a limit
//! (16 KiB by default in hyper and grpcio): quoting a 6 000-byte header back
//! — percent-encoded, three times as long — would turn a clear
//! `INVALID_ARGUMENT` into an unreadable protocol error. So a quote shows at
//! most [`MAX_QUOTED`] bytes and says how long the whole value was.

/// The most bytes of a client's value an error message repeats.
pub const MAX_QUOTED: usize = 64;

/// `raw` as a quoted string for an error message, cut to [`MAX_QUOTED`] bytes.
pub fn quoted(raw: &[u8]) -> String {
    if raw.len() <= MAX_QUOTED {
        format!("{:?}", String::from_utf8_lossy(raw))
    } else {
        format!(
            "{:?}… ({} bytes in all)",
            String::from_utf8_lossy(&raw[..MAX_QUOTED]),
            raw.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_quoted_whole() {
        assert_eq!(quoted(b"maybe"), "\"maybe\"");
        assert_eq!(quoted(b""), "\"\"");
    }

    #[test]
    fn long_values_are_cut_and_their_length_given() {
        let quote = quoted(&[b'{'; 6_000]);
        assert!(quote.len() < MAX_QUOTED + 40, "{quote}");
        assert!(quote.ends_with("… (6000 bytes in all)"), "{quote}");
    }

    #[test]
    fn a_cut_through_a_character_stays_printable() {
        let mut raw = vec![b'a'; MAX_QUOTED - 1];
        raw.extend_from_slice("é".as_bytes()); // 2 bytes: cut after the first
        raw.extend_from_slice(b"tail");
        assert!(quoted(&raw).contains('\u{fffd}'));
    }
}
