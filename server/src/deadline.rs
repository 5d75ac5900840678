//! The `grpc-timeout` header: how long the client will wait for an answer.
//!
//! gRPC sends a deadline as a relative timeout: 1 to 8 digits and a unit,
//! `H` hours, `M` minutes, `S` seconds, `m` milliseconds, `u` microseconds,
//! `n` nanoseconds (`100m` = 100 ms). The server uses it to stop work nobody
//! will wait for: an injected delay longer than the client's deadline ends in
//! `DEADLINE_EXCEEDED` without executing.

use std::time::Duration;

use tonic::Status;

use crate::quote::quoted;

pub const GRPC_TIMEOUT: &str = "grpc-timeout";

/// Reads a `grpc-timeout` value.
pub fn parse(value: &[u8]) -> Result<Duration, Status> {
    let malformed = || {
        Status::invalid_argument(format!(
            "{GRPC_TIMEOUT} {} is malformed: expected 1 to 8 digits and a unit (H, M, S, m, u, n), e.g. 250m",
            quoted(value)
        ))
    };
    let (digits, unit) = value.split_at(value.len().saturating_sub(1));
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(malformed());
    }
    let amount: u64 = std::str::from_utf8(digits)
        .map_err(|_| malformed())?
        .parse()
        .map_err(|_| malformed())?;
    Ok(match unit {
        b"H" => Duration::from_secs(amount * 3600),
        b"M" => Duration::from_secs(amount * 60),
        b"S" => Duration::from_secs(amount),
        b"m" => Duration::from_millis(amount),
        b"u" => Duration::from_micros(amount),
        b"n" => Duration::from_nanos(amount),
        _ => return Err(malformed()),
    })
}

/// Writes a `grpc-timeout` value, as precise as 8 digits allow.
pub fn encode(timeout: Duration) -> String {
    let micros = timeout.as_micros();
    if micros < 100_000_000 {
        format!("{micros}u")
    } else {
        format!("{}m", timeout.as_millis().min(99_999_999))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit() {
        for (text, expected) in [
            ("1H", Duration::from_secs(3600)),
            ("2M", Duration::from_secs(120)),
            ("3S", Duration::from_secs(3)),
            ("250m", Duration::from_millis(250)),
            ("7u", Duration::from_micros(7)),
            ("99999999n", Duration::from_nanos(99_999_999)),
        ] {
            assert_eq!(parse(text.as_bytes()).unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn malformed_values_are_invalid_arguments() {
        for bad in ["", "m", "10", "10x", "-5m", "123456789m", "1.5S", "１m"] {
            let error = parse(bad.as_bytes()).unwrap_err();
            assert_eq!(error.code(), tonic::Code::InvalidArgument, "{bad}");
            assert!(error.message().contains("grpc-timeout"));
        }
    }

    #[test]
    fn encode_round_trips() {
        for d in [
            Duration::from_millis(1),
            Duration::from_millis(1500),
            Duration::from_secs(3600),
        ] {
            let back = parse(encode(d).as_bytes()).unwrap();
            assert!(
                back <= d && d - back < Duration::from_millis(1),
                "{d:?} -> {back:?}"
            );
        }
    }
}
