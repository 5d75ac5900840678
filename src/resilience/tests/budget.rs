//! The retry budget across calls (gRFC A6 throttling).

use tonic::Code;

use super::*;
use crate::resilience::{BudgetConfig, GaveUp};

/// Failures drain the shared bucket; once at half, retries stop for every
/// call — but first attempts still go out — and successes refill it.
#[tokio::test(start_paused = true)]
async fn a_drained_budget_refuses_retries_but_not_first_attempts() {
    let lab = Lab::new(RetryPolicy {
        max_attempts: 3,
        budget: Some(BudgetConfig {
            max_tokens: 4.0,
            token_ratio: 1.0,
        }),
        ..plain_policy()
    });
    // Call 1: fails twice (4 → 3 → 2 tokens); at 2 = half, the third attempt is refused.
    let script = Script::new([fail(Code::Unavailable, 1), fail(Code::Unavailable, 1)]);
    let error = lab.call(&script, IDEMPOTENT).await.unwrap_err();
    assert_eq!(
        (error.attempts, error.gave_up),
        (2, GaveUp::BudgetExhausted)
    );
    assert_eq!(lab.caller.budget_tokens(), Some(2.0));
    assert!(
        lab.events()
            .iter()
            .any(|e| e.kind == EventKind::BudgetRefused { tokens: 2.0 })
    );

    // Calls 2 and 3: first attempts are sent, succeed, and repay a token each.
    let script = Script::new([ok(1), ok(1)]);
    lab.call(&script, IDEMPOTENT).await.unwrap();
    assert_eq!(lab.caller.budget_tokens(), Some(3.0));
    lab.call(&script, IDEMPOTENT).await.unwrap();
    assert_eq!(lab.caller.budget_tokens(), Some(4.0));

    // Call 4: a failure takes the bucket to 3, above half: one retry is allowed.
    let script = Script::new([fail(Code::Unavailable, 1), ok(1)]);
    lab.call(&script, IDEMPOTENT).await.unwrap();
    assert_eq!(script.attempts(), 2);
}

/// Every change of the bucket is an event, so the page can plot it.
#[tokio::test(start_paused = true)]
async fn the_token_count_is_observable_in_events() {
    let lab = Lab::new(RetryPolicy {
        budget: Some(BudgetConfig::default()),
        ..plain_policy()
    });
    let script = Script::new([fail(Code::Unavailable, 1), fail(Code::InvalidArgument, 1)]);
    lab.call(&script, IDEMPOTENT).await.unwrap_err();
    let tokens: Vec<EventKind> = lab
        .find(|k| matches!(k, EventKind::BudgetUpdated { .. }))
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    // UNAVAILABLE costs a token; INVALID_ARGUMENT (the client's fault) costs nothing.
    assert_eq!(tokens, [EventKind::BudgetUpdated { tokens: 9.0 }]);
}
