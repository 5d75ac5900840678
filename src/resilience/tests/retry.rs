//! Retries: which errors, which operations, how long between, and pushback.

use tonic::Code;

use super::*;
use crate::resilience::{DelaySource, GaveUp, Jitter, Pushback};

/// A transient failure is retried after the backoff, and the call succeeds.
#[tokio::test(start_paused = true)]
async fn unavailable_is_retried_with_exponential_backoff() {
    let lab = Lab::new(plain_policy());
    let script = Script::new([
        fail(Code::Unavailable, 10),
        fail(Code::Unavailable, 10),
        ok(10),
    ]);

    let reply = lab
        .call(&script, IDEMPOTENT)
        .await
        .expect("third attempt succeeds");

    assert_eq!(reply.into_inner(), 3);
    let starts: Vec<u128> = script.seen().iter().map(|s| s.at.as_millis()).collect();
    // 10 ms attempt, 100 ms backoff, 10 ms attempt, 200 ms backoff.
    assert_eq!(starts, [0, 110, 320]);
    assert_eq!(
        lab.find(|k| matches!(k, EventKind::BackoffChosen { .. })),
        [
            (
                10,
                EventKind::BackoffChosen {
                    next_attempt: 2,
                    delay: 100 * MS,
                    source: DelaySource::Backoff
                }
            ),
            (
                120,
                EventKind::BackoffChosen {
                    next_attempt: 3,
                    delay: 200 * MS,
                    source: DelaySource::Backoff
                }
            ),
        ]
    );
    assert_eq!(
        lab.call_ended(),
        EventKind::CallEnded {
            code: Code::Ok,
            attempts: 3,
            elapsed: 330 * MS,
            gave_up: None
        }
    );
}

/// The whole event stream of a simple retried call, in order.
#[tokio::test(start_paused = true)]
async fn every_step_is_an_event() {
    let lab = Lab::new(RetryPolicy {
        idempotency_keys: false,
        ..plain_policy()
    });
    let script = Script::new([
        fail_with(Code::Unavailable, 5, &[("x-fault-injected", "fail")]),
        ok(5),
    ]);
    lab.call(&script, IDEMPOTENT).await.unwrap();

    let events: Vec<(u128, u64, EventKind)> = lab
        .events()
        .into_iter()
        .map(|e| (e.at.as_millis(), e.call, e.kind))
        .collect();
    assert_eq!(
        events,
        [
            (
                0,
                1,
                EventKind::CallStarted {
                    operation: "GetBalance",
                    idempotent: true,
                    key: None
                }
            ),
            (
                0,
                1,
                EventKind::AttemptStarted {
                    attempt: 1,
                    hedge: false,
                    timeout: None
                }
            ),
            (
                5,
                1,
                EventKind::AttemptEnded {
                    attempt: 1,
                    code: Code::Unavailable,
                    latency: 5 * MS,
                    fault_injected: Some("fail".into()),
                    replayed: false
                }
            ),
            (
                5,
                1,
                EventKind::BackoffChosen {
                    next_attempt: 2,
                    delay: 100 * MS,
                    source: DelaySource::Backoff
                }
            ),
            (
                105,
                1,
                EventKind::AttemptStarted {
                    attempt: 2,
                    hedge: false,
                    timeout: None
                }
            ),
            (
                110,
                1,
                EventKind::AttemptEnded {
                    attempt: 2,
                    code: Code::Ok,
                    latency: 5 * MS,
                    fault_injected: None,
                    replayed: false
                }
            ),
            (
                110,
                1,
                EventKind::CallEnded {
                    code: Code::Ok,
                    attempts: 2,
                    elapsed: 110 * MS,
                    gave_up: None
                }
            ),
        ]
    );
}

/// A client error is not retried: the same request would fail the same way.
#[tokio::test(start_paused = true)]
async fn a_non_retryable_code_stops_at_once() {
    let lab = Lab::new(plain_policy());
    let script = Script::new([fail(Code::InvalidArgument, 10)]);

    let error = lab.call(&script, IDEMPOTENT).await.unwrap_err();

    assert_eq!(error.status.code(), Code::InvalidArgument);
    assert_eq!((error.attempts, error.gave_up), (1, GaveUp::NotRetryable));
    assert_eq!(script.attempts(), 1);
}

/// The policy's attempt limit holds, and the last status is returned.
#[tokio::test(start_paused = true)]
async fn attempts_stop_at_max_attempts() {
    let lab = Lab::new(RetryPolicy {
        max_attempts: 3,
        ..plain_policy()
    });
    let script = Script::new([
        fail(Code::Unavailable, 1),
        fail(Code::Aborted, 1),
        fail(Code::Unavailable, 1),
    ]);

    let error = lab.call(&script, IDEMPOTENT).await.unwrap_err();

    assert_eq!(
        (error.attempts, error.gave_up),
        (3, GaveUp::AttemptsExhausted)
    );
    assert_eq!(error.status.code(), Code::Unavailable);
    assert!(error.to_string().contains("gave up after 3 attempts"));
}

/// Without a key, a non-idempotent operation is not retried: it may have run.
#[tokio::test(start_paused = true)]
async fn a_non_idempotent_call_without_a_key_is_not_retried() {
    let lab = Lab::new(RetryPolicy {
        idempotency_keys: false,
        ..plain_policy()
    });
    let script = Script::new([fail(Code::Unavailable, 10)]);

    let error = lab.call(&script, NOT_IDEMPOTENT).await.unwrap_err();

    assert_eq!((error.attempts, error.gave_up), (1, GaveUp::NotIdempotent));
}

/// With a key, the same non-idempotent call is retried — with the same key.
#[tokio::test(start_paused = true)]
async fn a_key_makes_the_retry_safe_and_is_the_same_on_every_attempt() {
    let lab = Lab::new(plain_policy());
    let script = Script::new([
        fail(Code::Unavailable, 10),
        ok_with(10, &[("idempotent-replayed", "true")]),
    ]);

    lab.call(&script, NOT_IDEMPOTENT).await.expect("retried");

    let keys: Vec<Option<String>> = script.seen().into_iter().map(|s| s.key).collect();
    assert_eq!(keys.len(), 2);
    assert!(keys[0].is_some());
    assert_eq!(keys[0], keys[1]);
    let Some((_, EventKind::CallStarted { key, .. })) = lab
        .find(|k| matches!(k, EventKind::CallStarted { .. }))
        .pop()
    else {
        panic!("CallStarted")
    };
    assert_eq!(key.map(|k| k.to_string()), keys[0]);
    assert!(lab.events().iter().any(|e| matches!(
        e.kind,
        EventKind::AttemptEnded {
            attempt: 2,
            replayed: true,
            ..
        }
    )));
}

/// Two logical calls draw two different keys.
#[tokio::test(start_paused = true)]
async fn each_logical_call_has_its_own_key() {
    let lab = Lab::new(plain_policy());
    let script = Script::new([ok(1), ok(1)]);
    lab.call(&script, NOT_IDEMPOTENT).await.unwrap();
    lab.call(&script, NOT_IDEMPOTENT).await.unwrap();
    let seen = script.seen();
    assert_ne!(seen[0].key, seen[1].key);
}

/// Issue 10: a lesson and then free play in the same tab build two callers
/// from the same seed. Their keys must still differ, or the server answers
/// the free call from the lesson's stored outcome without executing it.
#[tokio::test(start_paused = true)]
async fn callers_with_the_same_seed_never_share_a_key() {
    let script = Script::new([ok(1), ok(1), ok(1), ok(1)]);
    for _ in 0..2 {
        let caller = ResilientCaller::new(
            plain_policy(),
            Rc::new(TokioClock::new()),
            SeededRng::new(7),
            Rc::new(VecSink::new()),
        )
        .expect("valid policy");
        for _ in 0..2 {
            caller
                .call(NOT_IDEMPOTENT, |attempt| {
                    script.attempt(attempt, tokio::time::Instant::now())
                })
                .await
                .unwrap();
        }
    }
    let keys: std::collections::HashSet<_> = script.seen().into_iter().map(|s| s.key).collect();
    assert_eq!(keys.len(), 4, "four logical calls, four keys: {keys:?}");
    assert!(!keys.contains(&None));
}

/// Switched off, no key is sent at all.
#[tokio::test(start_paused = true)]
async fn keys_can_be_switched_off() {
    let lab = Lab::new(RetryPolicy {
        idempotency_keys: false,
        ..plain_policy()
    });
    let script = Script::new([ok(1)]);
    lab.call(&script, IDEMPOTENT).await.unwrap();
    assert_eq!(script.seen()[0].key, None);
}

/// The same seed draws the same jitter (and the fixture's seeded keys the
/// same keys): a lesson replays.
#[tokio::test(start_paused = true)]
async fn a_seeded_run_replays_exactly() {
    async fn run() -> Vec<Event> {
        let lab = Lab::new(RetryPolicy {
            jitter: Jitter::Full,
            ..plain_policy()
        });
        let script = Script::new([
            fail(Code::Unavailable, 3),
            fail(Code::Unavailable, 3),
            ok(3),
        ]);
        lab.call(&script, NOT_IDEMPOTENT).await.unwrap();
        // Timestamps are relative to each run's own clock origin.
        lab.events()
    }
    assert_eq!(run().await, run().await);
}

/// Server pushback replaces the backoff with the server's delay (gRFC A6).
#[tokio::test(start_paused = true)]
async fn pushback_sets_the_next_delay() {
    let lab = Lab::new(plain_policy());
    let script = Script::new([
        fail_with(Code::Unavailable, 10, &[("grpc-retry-pushback-ms", "750")]),
        fail(Code::Unavailable, 10),
        ok(10),
    ]);

    lab.call(&script, IDEMPOTENT).await.unwrap();

    let starts: Vec<u128> = script.seen().iter().map(|s| s.at.as_millis()).collect();
    // 750 ms from the server; then the schedule starts over at 100 ms.
    assert_eq!(starts, [0, 760, 870]);
    assert!(lab.events().iter().any(|e| e.kind
        == EventKind::PushbackReceived {
            attempt: 1,
            pushback: Pushback::RetryAfter(750 * MS)
        }));
}

/// A negative or malformed pushback means "do not retry".
#[tokio::test(start_paused = true)]
async fn negative_or_malformed_pushback_stops_retrying() {
    for value in ["-1", "soon", "1.5"] {
        let lab = Lab::new(plain_policy());
        let script = Script::new([fail_with(
            Code::Unavailable,
            10,
            &[("grpc-retry-pushback-ms", value)],
        )]);
        let error = lab.call(&script, IDEMPOTENT).await.unwrap_err();
        assert_eq!(error.gave_up, GaveUp::PushbackSaidStop, "{value}");
        assert_eq!(script.attempts(), 1);
    }
}

/// Pushback does not make a non-retryable code retryable.
#[tokio::test(start_paused = true)]
async fn pushback_on_a_non_retryable_code_is_not_a_retry() {
    let lab = Lab::new(plain_policy());
    let script = Script::new([fail_with(
        Code::ResourceExhausted,
        10,
        &[("grpc-retry-pushback-ms", "100")],
    )]);
    let error = lab.call(&script, IDEMPOTENT).await.unwrap_err();
    assert_eq!(error.gave_up, GaveUp::NotRetryable);
}

/// Every jitter strategy stays between zero and the cap in a real call.
#[tokio::test(start_paused = true)]
async fn jittered_backoff_stays_under_the_cap() {
    for jitter in Jitter::ALL {
        let lab = Lab::new(RetryPolicy {
            jitter,
            max_attempts: 6,
            max_backoff: 300 * MS,
            ..plain_policy()
        });
        let script = Script::new((0..6).map(|_| fail(Code::Unavailable, 0)));
        lab.call(&script, IDEMPOTENT).await.unwrap_err();
        for (_, kind) in lab.find(|k| matches!(k, EventKind::BackoffChosen { .. })) {
            let EventKind::BackoffChosen { delay, .. } = kind else {
                unreachable!()
            };
            assert!(delay <= 300 * MS, "{jitter:?}: {delay:?}");
        }
    }
}

/// A caller cannot be built from an invalid policy; the problems are listed.
#[test]
fn an_invalid_policy_is_refused_with_its_problems() {
    let problems = ResilientCaller::new(
        RetryPolicy {
            max_attempts: 0,
            ..plain_policy()
        },
        std::rc::Rc::new(TokioClock::new()),
        SeededRng::new(1),
        std::rc::Rc::new(VecSink::new()),
    )
    .err()
    .expect("refused");
    assert_eq!(problems[0].field, "max_attempts");
}
