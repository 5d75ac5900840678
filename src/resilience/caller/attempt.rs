//! What the program tells the caller about a call, and what the attempt
//! closure sees of each attempt.
//!
//! These are the caller's public types, the ones a program touches: a
//! [`CallSpec`] going in, an [`Attempt`] handed to the closure that sends one
//! request. They hold no logic of the retry loop, so they can be read (and
//! used, as [`bare_call`] and [`Attempt::by_hand`] do) without it.

use std::future::Future;
use std::time::Duration;

use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status};

use crate::headers;
use crate::resilience::idempotency::IdempotencyKey;

/// What the caller needs to know about the operation it is calling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallSpec {
    /// The RPC's name, for events (`"Withdraw"`).
    pub operation: &'static str,
    /// Whether running it twice has the same effect as running it once.
    /// Only the programmer knows this; the caller trusts the declaration.
    pub idempotent: bool,
}

impl CallSpec {
    /// An operation that may run twice with the effect of once (`GetBalance`,
    /// `SetValue`): the caller may retry it, and hedge it, freely.
    pub const fn idempotent(operation: &'static str) -> Self {
        CallSpec {
            operation,
            idempotent: true,
        }
    }

    /// An operation that must not run twice (`Withdraw`, `Increment`): the
    /// caller retries it only with an idempotency key, and never hedges it.
    pub const fn not_idempotent(operation: &'static str) -> Self {
        CallSpec {
            operation,
            idempotent: false,
        }
    }
}

/// One attempt, as the attempt closure sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub(super) number: u32,
    pub(super) hedge: bool,
    pub(super) key: Option<IdempotencyKey>,
    pub(super) timeout: Option<Duration>,
}

impl Attempt {
    /// An attempt with no key and no timeout: what a call without the
    /// caller is. For comparisons and benchmarks.
    pub fn bare() -> Self {
        Attempt {
            number: 1,
            hedge: false,
            key: None,
            timeout: None,
        }
    }

    /// One attempt with `key` and no timeout: a request a student sends by
    /// hand, the same key as often as they like, outside any retry loop.
    pub fn by_hand(key: IdempotencyKey) -> Self {
        Attempt {
            key: Some(key),
            ..Attempt::bare()
        }
    }

    /// 1 for the first attempt of a call.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// Whether hedging started it.
    pub fn is_hedge(&self) -> bool {
        self.hedge
    }

    /// The call's idempotency key, if keys are on.
    pub fn key(&self) -> Option<IdempotencyKey> {
        self.key
    }

    /// The time this attempt has: `min(per-attempt timeout, time left
    /// before the deadline)`.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Put the attempt into a request: the `idempotency-key` metadata and the
    /// timeout, which tonic sends as `grpc-timeout` so that the server can
    /// stop working on an answer nobody will wait for.
    pub fn prepare<M>(&self, request: &mut Request<M>) {
        if let Some(key) = self.key {
            let value = MetadataValue::try_from(key.as_str())
                .expect("hex digits and dashes are valid metadata");
            request
                .metadata_mut()
                .insert(headers::IDEMPOTENCY_KEY, value);
        }
        if let Some(timeout) = self.timeout {
            request.set_timeout(timeout);
        }
    }
}

/// Make one attempt with no policy at all: the baseline the caller is
/// compared with.
pub async fn bare_call<T, F, Fut>(mut attempt: F) -> Result<Response<T>, Status>
where
    F: FnMut(&Attempt) -> Fut,
    Fut: Future<Output = Result<Response<T>, Status>>,
{
    attempt(&Attempt::bare()).await
}
