//! Invariants of the caller, checked on random policies and random servers.
//!
//! Each case builds its own paused tokio runtime, so hundreds of scripted
//! calls with seconds of virtual backoff run in well under a second.

use std::collections::HashSet;

use proptest::prelude::*;
use tonic::Code;

use super::*;
use crate::resilience::{HedgingConfig, Jitter};

/// A random server reply: a code, a latency, sometimes pushback.
fn step() -> impl Strategy<Value = Step> {
    let code = prop::sample::select(vec![
        Code::Ok,
        Code::Unavailable,
        Code::Unavailable,
        Code::DeadlineExceeded,
        Code::Aborted,
        Code::InvalidArgument,
    ]);
    let pushback = prop::sample::select(vec![None, None, None, Some("50"), Some("-1")]);
    (code, 0u64..400, pushback).prop_map(|(code, ms, pushback)| match (code, pushback) {
        (Code::Ok, _) => ok(ms),
        (code, Some(value)) => fail_with(code, ms, &[("grpc-retry-pushback-ms", value)]),
        (code, None) => fail(code, ms),
    })
}

/// A random valid policy with a deadline.
fn policy_with_deadline() -> impl Strategy<Value = RetryPolicy> {
    (
        1u32..6,
        1u32..200,
        prop::sample::select(Jitter::ALL.to_vec()),
        prop::option::of(1u32..300),
        1u32..1500,
        prop::option::of(1u32..200),
    )
        .prop_map(
            |(attempts, backoff, jitter, per_attempt, deadline, hedge)| RetryPolicy {
                max_attempts: attempts.max(if hedge.is_some() { 2 } else { 1 }),
                initial_backoff: backoff * MS,
                max_backoff: (backoff * 4) * MS,
                jitter,
                per_attempt_timeout: per_attempt.map(|ms| ms * MS),
                deadline: Some(deadline * MS),
                hedging: hedge.map(|ms| HedgingConfig { delay: ms * MS }),
                ..plain_policy()
            },
        )
}

fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime")
}

proptest! {
    /// No attempt starts at or after the deadline, none is given time beyond
    /// it, and the call is over by the deadline.
    #[test]
    fn no_attempt_starts_after_the_deadline(
        policy in policy_with_deadline(),
        steps in prop::collection::vec(step(), 6),
        idempotent in any::<bool>(),
    ) {
        let deadline = policy.deadline.unwrap();
        paused_runtime().block_on(async {
            let lab = Lab::new(policy);
            let script = Script::new(steps);
            let spec = CallSpec {
                operation: "Op",
                idempotent,
            };
            let _ = lab.call(&script, spec).await;
            for seen in script.seen() {
                prop_assert!(seen.at < deadline, "{seen:?} after {deadline:?}");
                let timeout = seen.timeout.expect("a deadline gives every attempt a timeout");
                prop_assert!(seen.at + timeout <= deadline, "{seen:?}");
            }
            let ended = lab.events().last().cloned().unwrap();
            prop_assert!(ended.at <= deadline, "{ended:?}");
            Ok(())
        })?;
    }

    /// Every attempt of a logical call sends the call's key; no two calls share one.
    #[test]
    fn one_key_per_logical_call(
        calls in prop::collection::vec(prop::collection::vec(step(), 6), 1..6),
        seed_policy in policy_with_deadline(),
    ) {
        paused_runtime().block_on(async {
            let lab = Lab::new(RetryPolicy { idempotency_keys: true, ..seed_policy });
            let mut keys = HashSet::new();
            for steps in calls {
                let script = Script::new(steps);
                let _ = lab.call(&script, NOT_IDEMPOTENT).await;
                let call_keys: HashSet<Option<String>> =
                    script.seen().into_iter().map(|s| s.key).collect();
                prop_assert_eq!(call_keys.len(), 1, "one key within a call");
                let key = call_keys.into_iter().next().unwrap();
                prop_assert!(key.is_some());
                prop_assert!(keys.insert(key), "a key reused by another call");
            }
            Ok(())
        })?;
    }
}
