//! Time limits: the per-attempt timeout and the deadline shared by all attempts.

use tonic::Code;

use super::*;
use crate::resilience::GaveUp;

/// A slow attempt is abandoned at its timeout and retried; the abandoned
/// attempt's future is dropped, which cancels it.
#[tokio::test(start_paused = true)]
async fn a_per_attempt_timeout_cuts_a_slow_attempt_and_retries() {
    let lab = Lab::new(RetryPolicy {
        per_attempt_timeout: Some(200 * MS),
        ..plain_policy()
    });
    let script = Script::new([ok(5_000), ok(50)]);

    let reply = lab.call(&script, IDEMPOTENT).await.expect("second attempt");

    assert_eq!(reply.into_inner(), 2);
    assert_eq!(script.cancelled(), [1]);
    let ended = lab.find(|k| matches!(k, EventKind::AttemptEnded { attempt: 1, .. }));
    assert_eq!(ended[0].0, 200);
    assert!(matches!(
        ended[0].1,
        EventKind::AttemptEnded {
            code: Code::DeadlineExceeded,
            ..
        }
    ));
    // 200 ms timeout + 100 ms backoff + 50 ms.
    assert_eq!(
        lab.find(|k| matches!(k, EventKind::CallEnded { .. }))[0].0,
        350
    );
}

/// Each attempt gets min(per-attempt timeout, time left), and sends it as
/// `grpc-timeout` so the server knows too.
#[tokio::test(start_paused = true)]
async fn each_attempt_sends_the_time_it_has_left() {
    let lab = Lab::new(RetryPolicy {
        per_attempt_timeout: Some(400 * MS),
        deadline: Some(1000 * MS),
        ..plain_policy()
    });
    let script = Script::new([
        fail(Code::Unavailable, 300),
        fail(Code::Unavailable, 300),
        ok(10),
    ]);

    lab.call(&script, IDEMPOTENT).await.unwrap();

    let seen = script.seen();
    let timeouts: Vec<Option<std::time::Duration>> = seen.iter().map(|s| s.timeout).collect();
    // Start 0: 400 (cap). Start 400: 400 (600 left). Start 900: 100 left.
    assert_eq!(
        timeouts,
        [Some(400 * MS), Some(400 * MS), Some(100 * MS)],
        "{seen:?}"
    );
    assert_eq!(seen[0].grpc_timeout.as_deref(), Some("400000u"));
    assert_eq!(seen[2].grpc_timeout.as_deref(), Some("100000u"));
}

/// A backoff that would end past the deadline is not slept: the call stops
/// at once with DeadlineHit, returning the last real error.
#[tokio::test(start_paused = true)]
async fn backoff_never_sleeps_past_the_deadline() {
    let lab = Lab::new(RetryPolicy {
        deadline: Some(250 * MS),
        ..plain_policy()
    });
    let script = Script::new([fail(Code::Unavailable, 10), fail(Code::Unavailable, 10)]);

    let error = lab.call(&script, IDEMPOTENT).await.unwrap_err();

    // 10 + 100 backoff + 10 = 120 ms; the next backoff (200 ms) would end at 320.
    assert_eq!(
        (error.attempts, error.gave_up),
        (2, GaveUp::DeadlineExceeded)
    );
    assert_eq!(error.status.code(), Code::Unavailable);
    let hits = lab.find(|k| matches!(k, EventKind::DeadlineHit { .. }));
    assert_eq!(hits, [(120, EventKind::DeadlineHit { deadline: 250 * MS })]);
    assert_eq!(
        lab.find(|k| matches!(k, EventKind::CallEnded { .. }))[0].0,
        120
    );
}

/// When the deadline itself cuts an attempt, the call ends with
/// DEADLINE_EXCEEDED at the deadline, not a moment later.
#[tokio::test(start_paused = true)]
async fn the_deadline_ends_a_hanging_attempt() {
    let lab = Lab::new(RetryPolicy {
        deadline: Some(300 * MS),
        ..plain_policy()
    });
    let script = Script::new([ok(60_000)]);

    let error = lab.call(&script, IDEMPOTENT).await.unwrap_err();

    assert_eq!(error.status.code(), Code::DeadlineExceeded);
    assert_eq!(
        (error.attempts, error.gave_up),
        (1, GaveUp::DeadlineExceeded)
    );
    assert_eq!(
        lab.call_ended(),
        EventKind::CallEnded {
            code: Code::DeadlineExceeded,
            attempts: 1,
            elapsed: 300 * MS,
            gave_up: Some(GaveUp::DeadlineExceeded)
        }
    );
    assert_eq!(script.cancelled(), [1]);
}

/// A timed-out `Withdraw` without a key is not retried: the server may have
/// done the work, and a second attempt could withdraw twice.
#[tokio::test(start_paused = true)]
async fn a_timed_out_non_idempotent_call_without_a_key_is_not_retried() {
    let lab = Lab::new(RetryPolicy {
        per_attempt_timeout: Some(200 * MS),
        idempotency_keys: false,
        ..plain_policy()
    });
    let script = Script::new([ok(5_000)]);

    let error = lab.call(&script, NOT_IDEMPOTENT).await.unwrap_err();

    assert_eq!(error.status.code(), Code::DeadlineExceeded);
    assert_eq!((error.attempts, error.gave_up), (1, GaveUp::NotIdempotent));
}
