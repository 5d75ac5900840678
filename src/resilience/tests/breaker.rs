//! The circuit breaker inside the caller.

use tonic::Code;

use super::*;
use crate::resilience::{BreakerConfig, BreakerState, CircuitBreaker, GaveUp, SlidingWindow};

fn lab_with_breaker() -> Lab {
    let mut lab = Lab::new(RetryPolicy::no_retries());
    let breaker = CircuitBreaker::new(BreakerConfig {
        window: SlidingWindow::Count { calls: 4 },
        minimum_calls: 4,
        failure_rate_threshold: 50.0,
        wait_in_open: 1000 * MS,
        half_open_probes: 1,
        ..BreakerConfig::default()
    })
    .unwrap();
    lab.caller = lab.caller.with_breaker(breaker);
    lab
}

/// Once open, a call fails at once with a distinct error, and the attempt
/// closure is not even called: no request leaves the client.
#[tokio::test(start_paused = true)]
async fn an_open_breaker_fails_calls_without_sending_anything() {
    let lab = lab_with_breaker();
    let script = Script::new((0..4).map(|_| fail(Code::Unavailable, 10)));
    for _ in 0..4 {
        lab.call(&script, IDEMPOTENT).await.unwrap_err();
    }
    assert_eq!(lab.caller.breaker_state(), Some(BreakerState::Open));

    let error = lab.call(&script, IDEMPOTENT).await.unwrap_err();

    assert!(error.rejected_by_breaker());
    assert_eq!((error.attempts, error.gave_up), (0, GaveUp::BreakerOpen));
    assert_eq!(error.status.code(), Code::Unavailable);
    assert!(error.status.message().contains("circuit breaker is open"));
    assert_eq!(script.attempts(), 4, "the fifth call sent nothing");
    assert!(lab.events().iter().any(|e| e.kind
        == EventKind::RejectedByBreaker {
            attempt: 1,
            state: BreakerState::Open
        }));
    assert!(lab.events().iter().any(|e| e.kind
        == EventKind::BreakerTransition {
            from: BreakerState::Closed,
            to: BreakerState::Open
        }));
}

/// After the wait, one probe goes through; its success closes the breaker.
#[tokio::test(start_paused = true)]
async fn a_successful_probe_closes_the_breaker() {
    let lab = lab_with_breaker();
    let script = Script::new((0..4).map(|_| fail(Code::Unavailable, 10)).chain([ok(10)]));
    for _ in 0..4 {
        lab.call(&script, IDEMPOTENT).await.unwrap_err();
    }
    tokio::time::sleep(1000 * MS).await;

    lab.call(&script, IDEMPOTENT)
        .await
        .expect("the probe passes");

    assert_eq!(lab.caller.breaker_state(), Some(BreakerState::Closed));
    let transitions: Vec<(BreakerState, BreakerState)> = lab
        .events()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::BreakerTransition { from, to } => Some((from, to)),
            _ => None,
        })
        .collect();
    assert_eq!(
        transitions,
        [
            (BreakerState::Closed, BreakerState::Open),
            (BreakerState::Open, BreakerState::HalfOpen),
            (BreakerState::HalfOpen, BreakerState::Closed),
        ]
    );
}

/// A retry is an attempt too: the breaker can stop a call between attempts.
#[tokio::test(start_paused = true)]
async fn the_breaker_is_consulted_before_every_attempt() {
    let mut lab = Lab::new(plain_policy());
    lab.caller = lab.caller.with_breaker(
        CircuitBreaker::new(BreakerConfig {
            window: SlidingWindow::Count { calls: 2 },
            minimum_calls: 2,
            ..BreakerConfig::default()
        })
        .unwrap(),
    );
    let script = Script::new([fail(Code::Unavailable, 1), fail(Code::Unavailable, 1)]);

    let error = lab.call(&script, IDEMPOTENT).await.unwrap_err();

    assert_eq!((error.attempts, error.gave_up), (2, GaveUp::BreakerOpen));
    assert_eq!(
        error.status.code(),
        Code::Unavailable,
        "the last real status"
    );
    assert!(!error.rejected_by_breaker());
}

/// The operator's switches are events too (outside any call: call 0).
#[tokio::test(start_paused = true)]
async fn forcing_the_breaker_open_is_reported() {
    let lab = lab_with_breaker();
    lab.caller.force_open_breaker();
    let script = Script::new([]);
    let error = lab.call(&script, IDEMPOTENT).await.unwrap_err();
    assert!(error.rejected_by_breaker());
    assert_eq!(lab.events()[0].call, 0);
    lab.caller.reset_breaker();
    assert_eq!(lab.caller.breaker_state(), Some(BreakerState::Closed));
}

/// Each attempt judged while closed reports the window it was judged by, so a
/// plot can draw the rolling failure rate rising to the threshold.
#[tokio::test(start_paused = true)]
async fn the_window_is_reported_after_each_closed_attempt() {
    let lab = lab_with_breaker();
    let script = Script::new([
        ok(10),
        fail(Code::Unavailable, 10),
        fail(Code::Unavailable, 10),
    ]);
    for _ in 0..3 {
        let _ = lab.call(&script, IDEMPOTENT).await;
    }
    let rates: Vec<(u32, Option<f64>)> = lab
        .events()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::BreakerWindow { counts } => Some((counts.calls, counts.failure_rate())),
            _ => None,
        })
        .collect();
    let third = 200.0 / 3.0;
    assert_eq!(rates, [(1, Some(0.0)), (2, Some(50.0)), (3, Some(third))]);
}
