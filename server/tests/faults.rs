//! Fault injection as the contract describes it, over real sockets.

mod common;

use std::time::Duration;

use common::{TestServer, header, request};
use rpc_lab::proto::calculator_v1::{AmountRequest, IncrementRequest, ResetSessionRequest};
use rpc_lab_server::config::Config;
use tonic::Code;

const SESSION: (&str, &str) = ("x-lab-session", "faults");

fn increment() -> IncrementRequest {
    IncrementRequest {
        key: "n".into(),
        delta: 1.0,
    }
}

/// `fail`: UNAVAILABLE before executing; nothing ran.
#[tokio::test]
async fn fail_answers_unavailable_without_executing() {
    let server = TestServer::start().await;
    let mut c = server.clients().await;
    let error = c
        .store
        .increment(request(increment(), &[SESSION, ("x-fault-fail", "1")]))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::Unavailable);
    assert!(
        error.message().contains("before executing"),
        "{}",
        error.message()
    );
    assert_eq!(
        header(error.metadata(), "x-fault-injected").as_deref(),
        Some("fail")
    );
    assert_eq!(c.executions("faults", "Store/Increment").await, 0);
    assert_eq!(c.stats("faults").await.faults_fail, 1);
}

/// `drop`: executes, then answers UNAVAILABLE as if the reply were lost.
#[tokio::test]
async fn drop_executes_then_loses_the_reply() {
    let server = TestServer::start().await;
    let mut c = server.clients().await;
    let error = c
        .store
        .increment(request(increment(), &[SESSION, ("x-fault-drop", "1")]))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::Unavailable);
    assert_eq!(
        header(error.metadata(), "x-fault-injected").as_deref(),
        Some("drop")
    );
    assert_eq!(c.executions("faults", "Store/Increment").await, 1, "it ran");
    let now = c
        .store
        .increment(request(increment(), &[SESSION]))
        .await
        .unwrap();
    assert_eq!(now.into_inner().value, 2.0, "the lost increment happened");
}

/// `drop` of a reply answered from the idempotency store: the lost reply
/// still says it was a replay, so the client does not count an execution.
#[tokio::test]
async fn a_dropped_replay_still_says_it_was_replayed() {
    let server = TestServer::start().await;
    let mut c = server.clients().await;
    let key = ("idempotency-key", "3f2b8c1e-9a4d-4f6b-8c2e-1a2b3c4d5e6f");
    let first = c
        .store
        .increment(request(increment(), &[SESSION, key, ("x-fault-drop", "1")]))
        .await
        .unwrap_err();
    assert_eq!(
        header(first.metadata(), "idempotent-replayed"),
        None,
        "it ran"
    );
    let again = c
        .store
        .increment(request(increment(), &[SESSION, key, ("x-fault-drop", "1")]))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::Unavailable);
    assert_eq!(
        header(again.metadata(), "x-fault-injected").as_deref(),
        Some("drop")
    );
    assert_eq!(
        header(again.metadata(), "idempotent-replayed").as_deref(),
        Some("true")
    );
    assert!(
        again.message().contains("without executing"),
        "{}",
        again.message()
    );
    assert_eq!(c.executions("faults", "Store/Increment").await, 1);
    assert_eq!(c.stats("faults").await.replays, 1);
}

/// `delay` within the deadline: the call runs and says it was delayed.
#[tokio::test]
async fn a_delay_within_the_deadline_executes_and_is_marked() {
    let server = TestServer::start().await;
    let mut c = server.clients().await;
    let mut req = request(increment(), &[SESSION, ("x-fault-delay-ms", "20")]);
    req.set_timeout(Duration::from_secs(10));
    let reply = c.store.increment(req).await.unwrap();
    assert_eq!(
        header(reply.metadata(), "x-fault-injected").as_deref(),
        Some("delay")
    );
    assert_eq!(c.executions("faults", "Store/Increment").await, 1);
    assert_eq!(c.stats("faults").await.faults_delay, 1);
}

/// A deadline that runs out during the delay: DEADLINE_EXCEEDED, not executed.
/// (Over gRPC-Web, like the browser: tonic's HTTP/2 client would give up on
/// its own timer first and report CANCELLED, hiding the server's answer.)
#[tokio::test]
async fn a_deadline_during_the_delay_is_not_executed() {
    let server = TestServer::start().await;
    let mut c = server.clients().await;
    let mut web_account = rpc_lab::proto::AccountClient::with_origin(
        server.grpc_web(),
        server.url().parse().unwrap(),
    );
    c.account
        .deposit(request(
            AmountRequest {
                account: "a".into(),
                amount_cents: 1_000,
            },
            &[SESSION],
        ))
        .await
        .unwrap();
    let mut req = request(
        AmountRequest {
            account: "a".into(),
            amount_cents: 400,
        },
        &[
            SESSION,
            ("x-fault-delay-ms", "5000"),
            ("idempotency-key", "slow"),
        ],
    );
    req.set_timeout(Duration::from_millis(50));
    let error = web_account.withdraw(req).await.unwrap_err();
    assert_eq!(error.code(), Code::DeadlineExceeded, "{error:?}");
    assert!(
        error.message().contains("not executed"),
        "{}",
        error.message()
    );
    assert_eq!(
        header(error.metadata(), "x-fault-injected").as_deref(),
        Some("delay")
    );
    assert_eq!(c.executions("faults", "Account/Withdraw").await, 0);
    assert_eq!(c.balance("faults", "a").await, 1_000);
    assert_eq!(
        c.stats("faults").await.idempotency_keys,
        0,
        "a deadline before execution is not stored"
    );
}

/// Malformed fault headers are INVALID_ARGUMENT naming the header; nothing runs.
#[tokio::test]
async fn malformed_fault_headers_are_named() {
    let server = TestServer::start().await;
    let mut c = server.clients().await;
    for (name, value) in [
        ("x-fault-fail", "sometimes"),
        ("x-fault-fail", "1.01"),
        ("x-fault-drop", "-1"),
        ("x-fault-delay-ms", "-10"),
        ("x-fault-delay-ms", "1e3"),
    ] {
        let error = c
            .store
            .increment(request(increment(), &[SESSION, (name, value)]))
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{name}: {value}");
        assert!(
            error.message().contains(name),
            "{name}: {}",
            error.message()
        );
    }
    let mut bad_timeout = request(increment(), &[SESSION, ("x-fault-delay-ms", "10")]);
    bad_timeout
        .metadata_mut()
        .insert("grpc-timeout", "soon".parse().unwrap());
    let error = c.store.increment(bad_timeout).await.unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    assert!(error.message().contains("grpc-timeout"));
    assert_eq!(c.executions("faults", "Store/Increment").await, 0);
}

/// Flags cap what headers may ask for.
#[tokio::test]
async fn caps_shorten_delays() {
    let server = TestServer::start_with(Config {
        seed: Some(1),
        max_fault_delay_ms: 10,
        ..Config::default()
    })
    .await;
    let mut c = server.clients().await;
    // Asked for 5 s with a 2 s deadline: capped to 10 ms, so it runs.
    let mut req = request(increment(), &[SESSION, ("x-fault-delay-ms", "5000")]);
    req.set_timeout(Duration::from_secs(2));
    c.store
        .increment(req)
        .await
        .expect("the capped delay fits the deadline");
}

/// A teacher's server-wide profile applies; with header faults switched off,
/// students cannot override it.
#[tokio::test]
async fn a_server_wide_profile_and_header_faults_switched_off() {
    let server = TestServer::start_with(Config {
        seed: Some(1),
        fault_fail: 1.0,
        no_header_faults: true,
        ..Config::default()
    })
    .await;
    let mut c = server.clients().await;
    let error = c
        .store
        .increment(request(increment(), &[SESSION, ("x-fault-fail", "0")]))
        .await
        .unwrap_err();
    assert_eq!(
        error.code(),
        Code::Unavailable,
        "the header cannot switch the teacher's faults off"
    );
    // Health and the Lab service are never shaped.
    assert_eq!(c.stats("faults").await.faults_fail, 1);
}

/// The same seed and the same requests give the same faults.
#[tokio::test]
async fn faults_replay_exactly_from_a_seed() {
    async fn outcomes(seed: u64) -> Vec<bool> {
        let server = TestServer::start_with(Config {
            seed: Some(seed),
            ..Config::default()
        })
        .await;
        let mut c = server.clients().await;
        let mut failed = Vec::new();
        for _ in 0..40 {
            let reply = c
                .store
                .increment(request(increment(), &[SESSION, ("x-fault-fail", "0.5")]))
                .await;
            failed.push(reply.is_err());
        }
        failed
    }
    let first = outcomes(2024).await;
    assert_eq!(first, outcomes(2024).await);
    assert_ne!(first, outcomes(7).await, "another seed, other faults");
    let failures = first.iter().filter(|&&f| f).count();
    assert!((10..=30).contains(&failures), "{failures} of 40 at p = 0.5");
}

/// A reset with a seed restarts a session's faults from that seed alone: two
/// tabs (sessions) reset with the same seed see the same faults, whatever the
/// server's own seed, and a third seed gives others.
#[tokio::test]
async fn a_reset_with_a_seed_replays_the_same_faults_in_any_session() {
    let server = TestServer::start().await;
    let c = server.clients().await;
    let outcomes = |session: &'static str, seed: u64| {
        let mut c = c.clone();
        async move {
            let tab = ("x-lab-session", session);
            c.lab
                .reset_session(request(ResetSessionRequest { seed: Some(seed) }, &[tab]))
                .await
                .unwrap();
            let mut failed = Vec::new();
            for _ in 0..40 {
                let reply = c
                    .store
                    .increment(request(increment(), &[tab, ("x-fault-fail", "0.5")]))
                    .await;
                failed.push(reply.is_err());
            }
            failed
        }
    };
    let first = outcomes("tab-a", 99).await;
    assert_eq!(first, outcomes("tab-b", 99).await, "same seed, same faults");
    assert_eq!(
        first,
        outcomes("tab-a", 99).await,
        "and again after a reset"
    );
    assert_ne!(
        first,
        outcomes("tab-a", 100).await,
        "another seed, other faults"
    );
}

/// Faults reach a gRPC-Web client too, with the marker header readable.
#[tokio::test]
async fn faults_over_grpc_web() {
    let server = TestServer::start().await;
    let mut calculator = server.grpc_web_calculator();
    let add = rpc_lab::proto::BinaryOperation { a: 1.0, b: 2.0 };
    let error = calculator
        .add(request(add, &[SESSION, ("x-fault-fail", "1")]))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::Unavailable);
    assert_eq!(
        header(error.metadata(), "x-fault-injected").as_deref(),
        Some("fail")
    );
}
