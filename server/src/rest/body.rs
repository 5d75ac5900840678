//! Reading a JSON request body, with an error a client can act on for each
//! way it can be wrong: wrong content type, too large, not JSON, wrong shape.

use axum::body::Body;
use http::{HeaderMap, header};
use serde::de::DeserializeOwned;

/// The largest REST request body read. Every lab request is a few dozen bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Why a body was refused, with the HTTP status that says so best.
#[derive(Debug)]
pub enum BodyError {
    /// 415 Unsupported Media Type.
    WrongContentType(String),
    /// 413 Content Too Large.
    TooLarge,
    /// 400 Bad Request: not JSON, or not the expected fields.
    Malformed(String),
}

impl BodyError {
    pub fn into_reply(self) -> axum::response::Response {
        let (status, message) = match self {
            BodyError::WrongContentType(got) => (
                http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("content-type must be application/json, got {got:?}"),
            ),
            BodyError::TooLarge => (
                http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
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
            content_type.unwrap_or_else(|| "nothing".into()),
        ));
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| BodyError::TooLarge)?;
    serde_json::from_slice(&bytes).map_err(|error| BodyError::Malformed(error.to_string()))
}
