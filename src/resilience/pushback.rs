//! Server pushback: the server, not the client, says when to retry.
//!
//! A client's backoff is a guess; the server knows. gRFC A6 lets it say so
//! on a failed reply with `grpc-retry-pushback-ms`: a number of milliseconds
//! means "retry after exactly this long" (the delay replaces the client's
//! backoff schedule), and a negative or malformed value means "do not retry
//! at all". A pushback also counts as a failure for the retry budget.
//!
//! Reading the header is the whole of this file, so that the caller (which
//! acts on it) and the event stream (which reports it) share one definition.

use std::time::Duration;

use tonic::metadata::MetadataMap;

use crate::headers::RETRY_PUSHBACK_MS;

/// What the server's pushback asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pushback {
    /// Retry after exactly this delay.
    RetryAfter(Duration),
    /// Do not retry (a negative or malformed value).
    DoNotRetry,
}

impl Pushback {
    /// The pushback in a reply's metadata, if it carries one.
    ///
    /// gRFC A6: a non-negative decimal integer of milliseconds means "retry
    /// after that long"; anything else (negative, malformed) means "do not
    /// retry".
    pub fn from_metadata(metadata: &MetadataMap) -> Option<Pushback> {
        let value = metadata.get(RETRY_PUSHBACK_MS)?;
        let millis = value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok());
        Some(match millis {
            Some(ms) if ms >= 0 => Pushback::RetryAfter(Duration::from_millis(ms.unsigned_abs())),
            _ => Pushback::DoNotRetry,
        })
    }
}
