//! A native tonic client's expired deadline, named as gRPC names it.
//!
//! When a request carries a deadline (`Request::set_timeout`, which every
//! attempt of the resilience core sets from its attempt timeout), tonic's
//! client channel enforces it itself, and when it expires the call fails with
//! CANCELLED, "Timeout expired". The gRPC specification, grpcio, grpc-go and
//! the lab's contract all say a call whose deadline passed is
//! DEADLINE_EXCEEDED — and the difference is not cosmetic: DEADLINE_EXCEEDED
//! is retryable and counts as the server's failure in the breaker, CANCELLED
//! (the caller gave up on purpose) is neither. A load run whose attempts time
//! out in a full queue would otherwise never retry, and a retry storm could
//! not happen. The page's client (gRPC-Web over fetch) has no such timer:
//! its deadline is the core's own, already DEADLINE_EXCEEDED.
//!
//! tonic marks its timer's error only by its message, so that is what we
//! match; `server/tests/load.rs` checks it against the tonic in use, over a
//! real socket.

use tonic::{Code, Status};

/// The message tonic 0.14 gives a call whose own deadline expired
/// (`tonic::TimeoutExpired`'s `Display`).
const TONIC_TIMEOUT_MESSAGE: &str = "Timeout expired";

/// `status`, unless it is tonic's own expired deadline: then the
/// DEADLINE_EXCEEDED it stands for.
pub fn named_by_grpc(status: Status) -> Status {
    if status.code() == Code::Cancelled && status.message() == TONIC_TIMEOUT_MESSAGE {
        Status::deadline_exceeded(
            "the attempt's deadline passed before the server answered (the client gave up waiting)",
        )
    } else {
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tonics_timer_becomes_deadline_exceeded() {
        let status = named_by_grpc(Status::cancelled(TONIC_TIMEOUT_MESSAGE));
        assert_eq!(status.code(), Code::DeadlineExceeded);
    }

    #[test]
    fn a_real_cancellation_stays_one() {
        let status = named_by_grpc(Status::cancelled("the client hung up"));
        assert_eq!(status.code(), Code::Cancelled);
        assert_eq!(status.message(), "the client hung up");
        let status = named_by_grpc(Status::unavailable(TONIC_TIMEOUT_MESSAGE));
        assert_eq!(status.code(), Code::Unavailable);
    }
}
