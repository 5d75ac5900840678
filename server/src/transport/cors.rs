//! Cross-origin rules, so a page served from another origin can call the lab.
//!
//! A browser calling the server from a page on another origin (Trunk on :8080
//! calling the server on :50051, or any page using `?server=`) first sends a
//! CORS preflight asking which methods and headers it may use, and afterwards
//! lets the page read only the response headers the server *exposes*.
//!
//! tonic-web does no CORS itself. Forgetting to expose `grpc-status` and
//! `grpc-message` is a classic gRPC-Web bug: the browser hides them, and every
//! error — even a plain "division by zero" — looks like a malformed response.
//!
//! The lists below are the headers of the wire contract (README, "Headers"),
//! named by the constants of the modules that read or write them. A header
//! added to the contract must be added here too, or browsers cannot use it.

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use rpc_lab::headers::{
    FAULT_DELAY_MS, FAULT_DROP, FAULT_FAIL, FAULT_INJECTED, IDEMPOTENCY_KEY,
    IDEMPOTENCY_KEY_EXPIRES_IN_MS, IDEMPOTENT_REPLAYED, LAB_BOOKKEEPING, LAB_OVERLOAD, LAB_SESSION,
    RETRY_PUSHBACK_MS,
};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::deadline::GRPC_TIMEOUT;

/// Headers a browser client may send: what gRPC-Web clients send, plus the lab's own.
pub const REQUEST_HEADERS: &[&str] = &[
    "content-type",
    "x-grpc-web",
    "x-user-agent",
    GRPC_TIMEOUT,
    "grpc-accept-encoding",
    IDEMPOTENCY_KEY,
    FAULT_FAIL,
    FAULT_DROP,
    FAULT_DELAY_MS,
    LAB_SESSION,
    LAB_BOOKKEEPING,
];

/// Response headers (and gRPC-Web trailers sent as headers) a page may read.
pub const EXPOSED_HEADERS: &[&str] = &[
    "grpc-status",
    "grpc-message",
    "grpc-status-details-bin",
    RETRY_PUSHBACK_MS,
    IDEMPOTENT_REPLAYED,
    IDEMPOTENCY_KEY_EXPIRES_IN_MS,
    FAULT_INJECTED,
    LAB_OVERLOAD,
];

/// Lets a page on another origin read the sizes and timings of its requests
/// through the Resource Timing API (the RPC-vs-REST lesson shows response
/// sizes). Without it the browser reports them as zero.
pub fn timing_allow_origin() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(
        HeaderName::from_static("timing-allow-origin"),
        HeaderValue::from_static("*"),
    )
}

/// How long a browser may cache a preflight answer: fewer OPTIONS round trips.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// The CORS layer. Any origin may call: this is a teaching server holding no
/// secrets and using no cookies. A production service would list its origins.
pub fn layer() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods([Method::POST, Method::GET, Method::OPTIONS])
        .allow_headers(
            REQUEST_HEADERS
                .iter()
                .map(|h| HeaderName::from_static(h))
                .collect::<Vec<_>>(),
        )
        .expose_headers(
            EXPOSED_HEADERS
                .iter()
                .map(|h| HeaderName::from_static(h))
                .collect::<Vec<_>>(),
        )
        .max_age(PREFLIGHT_MAX_AGE)
}
