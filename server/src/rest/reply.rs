//! REST replies: JSON bodies, and gRPC status codes mapped to HTTP statuses.
//!
//! One error vocabulary serves both protocols: handlers and layers speak
//! `tonic::Status`, and a REST client receives the same code and message as
//! `{"code": "INVALID_ARGUMENT", "message": "..."}` with the HTTP status that
//! the code maps to.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Serialize;
use tonic::{Code, Status};

use rpc_lab::status::code_name;

/// The HTTP status for a gRPC code (the mapping of Google's API design guide,
/// with FAILED_PRECONDITION as 412 Precondition Failed so a client can tell
/// "not now" from "never").
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::FailedPrecondition => StatusCode::PRECONDITION_FAILED,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::Cancelled => StatusCode::from_u16(499).expect("499 is a valid status"),
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'static str,
    message: &'a str,
}

/// A JSON error reply.
pub fn error(status: &Status) -> Response {
    let body = ErrorBody {
        code: code_name(status.code()),
        message: status.message(),
    };
    (http_status(status.code()), Json(body)).into_response()
}

/// A JSON success reply.
pub fn ok(value: impl Serialize) -> Response {
    (StatusCode::OK, Json(value)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_s_statuses() {
        assert_eq!(http_status(Code::InvalidArgument), 400);
        assert_eq!(http_status(Code::NotFound), 404);
        assert_eq!(http_status(Code::Aborted), 409);
        assert_eq!(http_status(Code::FailedPrecondition), 412);
        assert_eq!(http_status(Code::Internal), 500);
        assert_eq!(http_status(Code::Unavailable), 503);
        assert_eq!(http_status(Code::DeadlineExceeded), 504);
    }
}
