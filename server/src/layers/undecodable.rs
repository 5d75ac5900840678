//! A request that cannot be decoded is the caller's mistake: `INVALID_ARGUMENT`.
//!
//! tonic decodes each request with prost inside the generated service, and
//! answers a message that does not decode — invalid UTF-8 in a `string` field,
//! a truncated varint, a field of the wrong wire type — with `INTERNAL`, the
//! code for "the server is broken". The contract says otherwise: the server
//! is fine and sending the same bytes again cannot help, which is what
//! `INVALID_ARGUMENT` tells a client (and a retry policy).
//!
//! The decoder is generated code, so the reply is corrected on its way out.
//! This layer sits right around the handlers, inside the idempotency layer,
//! so a keyed undecodable request is stored and replayed as the deterministic
//! error it is. If a tonic upgrade ever words the decode error differently,
//! `server/tests/protocol.rs` and the grpcio interop tests fail.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tonic::{Code, Status};

/// How prost's `DecodeError` begins when tonic turns it into a status message.
const DECODE_ERROR: &str = "failed to decode Protobuf message";

pub async fn invalid_argument(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    match Status::from_header_map(response.headers()) {
        Some(status)
            if status.code() == Code::Internal && status.message().starts_with(DECODE_ERROR) =>
        {
            let detail = status.message()[DECODE_ERROR.len()..]
                .trim_start_matches(':')
                .trim();
            Status::invalid_argument(format!(
                "the request is not a valid protobuf message for this method ({detail})"
            ))
            .into_http()
        }
        _ => response,
    }
}
