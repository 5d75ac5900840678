//! The per-attempt timeout: stop waiting for an attempt that takes too long.
//!
//! An attempt gets `min(per-attempt timeout, time left before the
//! deadline)`. The caller races the attempt's future against a timer on the
//! injected clock; whichever finishes first decides, and the other is
//! dropped. The timeout also travels to the server as `grpc-timeout` (see
//! [`Attempt::prepare`](super::Attempt::prepare)), so the server can stop
//! working on an answer nobody will wait for — but a timeout stops the
//! waiting, not necessarily the work.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use futures_util::future::{Either, LocalBoxFuture, select};
use tonic::{Response, Status};

use crate::resilience::clock::Clock;
use crate::resilience::config::millis;

/// A running per-attempt timeout: how long the attempt has, and the timer
/// that fires then.
pub(super) struct AttemptTimer {
    limit: Duration,
    fires: LocalBoxFuture<'static, ()>,
}

impl AttemptTimer {
    /// Start the timer for an attempt with `timeout`, if it has one.
    pub(super) fn start(clock: &dyn Clock, timeout: Option<Duration>) -> Option<AttemptTimer> {
        timeout.map(|limit| AttemptTimer {
            limit,
            fires: clock.sleep(limit),
        })
    }
}

/// Run `attempt`, or give up on it when `timer` fires first. Dropping the
/// loser cancels it: a dropped tonic future closes its HTTP/2 stream (or
/// aborts the browser's `fetch`), and a dropped timer is cleared.
pub(super) async fn race<T, Fut>(
    attempt: Fut,
    timer: Option<AttemptTimer>,
) -> Result<Response<T>, Status>
where
    Fut: Future<Output = Result<Response<T>, Status>>,
{
    let Some(AttemptTimer { limit, fires }) = timer else {
        return attempt.await;
    };
    match select(pin!(attempt), fires).await {
        Either::Left((outcome, _timer)) => outcome,
        Either::Right(((), _attempt)) => Err(Status::deadline_exceeded(format!(
            "no answer within {} (the client's timeout for this attempt)",
            millis(limit)
        ))),
    }
}
