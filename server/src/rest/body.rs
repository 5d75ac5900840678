//! Reading a JSON request body, with an error a client can act on for each
//! way it can be wrong: wrong content type, too large, not JSON, wrong shape.

use axum::body::Body;
use http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use crate::quote::quoted;
use crate::transport::connections::BodyTimedOut;

/// The largest REST request body read. Every lab request is a few dozen bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Why a body was refused, with the HTTP status that says so best.
#[derive(Debug)]
pub enum BodyError {
    /// 415 Unsupported Media Type.
    WrongContentType(String),
    /// 413 Content Too Large.
    TooLarge,
    /// 408 Request Timeout: the client was too slow to send the body
    /// (`--body-read-timeout-ms`).
    TooSlow(String),
    /// 400 Bad Request: the body broke off or could not be read.
    Unreadable(String),
    /// 400 Bad Request: not JSON, or not the expected fields.
    Malformed(String),
}

impl BodyError {
    pub fn into_reply(self) -> axum::response::Response {
        let (status, message) = match self {
            BodyError::WrongContentType(got) => (
                http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("content-type must be application/json, got {got}"),
            ),
            BodyError::TooLarge => (
                http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
            ),
            BodyError::TooSlow(why) => (http::StatusCode::REQUEST_TIMEOUT, why),
            BodyError::Unreadable(why) => (
                http::StatusCode::BAD_REQUEST,
                format!("the request body could not be read: {why}"),
            ),
            BodyError::Malformed(why) => (
                http::StatusCode::BAD_REQUEST,
                format!("the request body is not valid: {why}"),
            ),
        };
        // The same JSON error as every other refusal, with a more precise
        // HTTP status than INVALID_ARGUMENT's 400 where one exists.
        let mut reply = super::reply::error(&tonic::Status::invalid_argument(message));
        *reply.status_mut() = status;
        reply
    }
}

/// Reads and parses a JSON body into `T`.
pub async fn read_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
) -> Result<T, BodyError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let is_json = content_type
        .as_deref()
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(BodyError::WrongContentType(
            content_type.map_or_else(|| "nothing".into(), |ct| quoted(ct.as_bytes())),
        ));
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(why_unreadable)?;
    // JSON is UTF-8 (RFC 8259). serde_json checks the strings it reads but not
    // the ones it skips (an unknown field), so check the whole body first.
    if let Err(error) = std::str::from_utf8(&bytes) {
        return Err(BodyError::Malformed(format!(
            "it is not UTF-8 (byte {} is invalid)",
            error.valid_up_to()
        )));
    }
    serde_json::from_slice(&bytes).map_err(|error| BodyError::Malformed(error.to_string()))
}

/// Tells apart the ways reading a body can fail, by the errors in the chain.
fn why_unreadable(error: axum::Error) -> BodyError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(current) = cause {
        if current.is::<http_body_util::LengthLimitError>() {
            return BodyError::TooLarge;
        }
        if let Some(slow) = current.downcast_ref::<BodyTimedOut>() {
            return BodyError::TooSlow(slow.to_string());
        }
        cause = current.source();
    }
    BodyError::Unreadable(error.to_string())
}
