//! Hedging: a second attempt alongside a slow first one.

use tonic::Code;

use super::*;
use crate::resilience::{BudgetConfig, GaveUp, HedgingConfig};

fn hedging_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        hedging: Some(HedgingConfig { delay: 100 * MS }),
        ..plain_policy()
    }
}

/// The first attempt is slow; a hedge starts after the delay, answers
/// first, and wins; the slow attempt is cancelled.
#[tokio::test(start_paused = true)]
async fn the_first_answer_wins_and_the_others_are_cancelled() {
    let lab = Lab::new(hedging_policy());
    let script = Script::new([ok(1000), ok(50), ok(10)]);

    let reply = lab.call(&script, IDEMPOTENT).await.unwrap();

    assert_eq!(reply.into_inner(), 2);
    let seen = script.seen();
    assert_eq!(seen.len(), 2, "won before the third hedge was due");
    assert_eq!((seen[1].at.as_millis(), seen[1].hedge), (100, true));
    assert_eq!(seen[0].key, seen[1].key, "hedges share the call's key");
    assert_eq!(script.cancelled(), [1]);
    assert!(lab.events().iter().any(|e| matches!(
        e.kind,
        EventKind::AttemptEnded {
            attempt: 1,
            code: Code::Cancelled,
            ..
        }
    )));
    assert_eq!(
        lab.find(|k| matches!(k, EventKind::CallEnded { .. }))[0].0,
        150
    );
}

/// Hedges keep coming every delay, up to max_attempts in flight.
#[tokio::test(start_paused = true)]
async fn hedges_stop_at_max_attempts() {
    let lab = Lab::new(hedging_policy());
    let script = Script::new([ok(1000), ok(1000), ok(1000)]);
    lab.call(&script, IDEMPOTENT).await.unwrap();
    let starts: Vec<u128> = script.seen().iter().map(|s| s.at.as_millis()).collect();
    assert_eq!(starts, [0, 100, 200]);
    let mut cancelled = script.cancelled();
    cancelled.sort();
    assert_eq!(cancelled, [2, 3]);
}

/// A retryable failure starts the next hedge at once (gRFC A6).
#[tokio::test(start_paused = true)]
async fn a_retryable_failure_hedges_immediately() {
    let lab = Lab::new(hedging_policy());
    let script = Script::new([fail(Code::Unavailable, 30), ok(10)]);
    lab.call(&script, IDEMPOTENT).await.unwrap();
    assert_eq!(script.seen()[1].at.as_millis(), 30);
}

/// A fatal code ends the call and cancels the attempts still running.
#[tokio::test(start_paused = true)]
async fn a_fatal_code_cancels_everything() {
    let lab = Lab::new(hedging_policy());
    let script = Script::new([ok(1000), fail(Code::InvalidArgument, 10)]);
    let error = lab.call(&script, IDEMPOTENT).await.unwrap_err();
    assert_eq!(error.gave_up, GaveUp::NotRetryable);
    assert_eq!(script.cancelled(), [1]);
}

/// A non-idempotent operation is never hedged, only retried.
#[tokio::test(start_paused = true)]
async fn non_idempotent_operations_are_not_hedged() {
    let lab = Lab::new(hedging_policy());
    let script = Script::new([ok(1000)]);
    lab.call(&script, NOT_IDEMPOTENT).await.unwrap();
    assert_eq!(script.attempts(), 1);
}

/// Hedges spend the retry budget like retries do.
#[tokio::test(start_paused = true)]
async fn a_spent_budget_stops_hedging() {
    let lab = Lab::new(RetryPolicy {
        budget: Some(BudgetConfig {
            max_tokens: 2.0,
            token_ratio: 0.1,
        }),
        ..hedging_policy()
    });
    // 2 → 1 token after the first failure: at half, no hedge may follow.
    let script = Script::new([fail(Code::Unavailable, 10)]);
    let error = lab.call(&script, IDEMPOTENT).await.unwrap_err();
    assert_eq!(
        (error.attempts, error.gave_up),
        (1, GaveUp::BudgetExhausted)
    );
}

/// When every hedge fails, the call reports the last failure.
#[tokio::test(start_paused = true)]
async fn all_hedges_failing_exhausts_the_attempts() {
    let lab = Lab::new(hedging_policy());
    let script = Script::new([
        fail(Code::Unavailable, 500),
        fail(Code::Unavailable, 500),
        fail(Code::Unavailable, 500),
    ]);
    let error = lab.call(&script, IDEMPOTENT).await.unwrap_err();
    assert_eq!(
        (error.attempts, error.gave_up),
        (3, GaveUp::AttemptsExhausted)
    );
    assert_eq!(
        lab.find(|k| matches!(k, EventKind::CallEnded { .. }))[0].0,
        700
    );
}

/// Pushback in hedging: "do not retry" stops new hedges; the running ones may still win.
#[tokio::test(start_paused = true)]
async fn pushback_stops_further_hedges() {
    let lab = Lab::new(hedging_policy());
    let script = Script::new([
        ok(300),
        fail_with(Code::Unavailable, 10, &[("grpc-retry-pushback-ms", "-1")]),
    ]);
    let reply = lab.call(&script, IDEMPOTENT).await.unwrap();
    assert_eq!(reply.into_inner(), 1);
    assert_eq!(script.attempts(), 2, "no third attempt");
}

/// Hedged attempts never start after the deadline.
#[tokio::test(start_paused = true)]
async fn no_hedge_starts_after_the_deadline() {
    let lab = Lab::new(RetryPolicy {
        deadline: Some(150 * MS),
        ..hedging_policy()
    });
    let script = Script::new([ok(1000), ok(1000)]);
    let error = lab.call(&script, IDEMPOTENT).await.unwrap_err();
    assert_eq!(error.status.code(), Code::DeadlineExceeded);
    assert_eq!(error.gave_up, GaveUp::DeadlineExceeded);
    let starts: Vec<u128> = script.seen().iter().map(|s| s.at.as_millis()).collect();
    assert_eq!(starts, [0, 100]);
    assert_eq!(
        lab.find(|k| matches!(k, EventKind::CallEnded { .. }))[0].0,
        150
    );
}
