//! The `idempotency-key` rules of the contract, over real sockets.

mod common;

use common::{TestServer, header, request};
use rpc_lab::proto::calculator_v1::{AmountRequest, SetValueRequest};
use rpc_lab_server::config::Config;
use tonic::Code;

const SESSION: (&str, &str) = ("x-lab-session", "idem");

fn withdraw(cents: i64) -> AmountRequest {
    AmountRequest {
        account: "alice".into(),
        amount_cents: cents,
    }
}

fn deposit(cents: i64) -> AmountRequest {
    AmountRequest {
        account: "alice".into(),
        amount_cents: cents,
    }
}

/// The lesson in one test: the reply of a withdrawal is lost, the client
/// retries with the same key, and the money leaves the account once.
#[tokio::test]
async fn drop_then_retry_with_the_same_key_executes_once() {
    let server = TestServer::start().await;
    let mut c = server.clients().await;
    c.account
        .deposit(request(deposit(10_000), &[SESSION]))
        .await
        .unwrap();

    let key = ("idempotency-key", "withdraw-1");
    let lost = c
        .account
        .withdraw(request(
            withdraw(1_000),
            &[SESSION, key, ("x-fault-drop", "1")],
        ))
        .await
        .unwrap_err();
    assert_eq!(lost.code(), Code::Unavailable);
    assert_eq!(
        header(lost.metadata(), "x-fault-injected").as_deref(),
        Some("drop")
    );

    let retry = c
        .account
        .withdraw(request(withdraw(1_000), &[SESSION, key]))
        .await
        .unwrap();
    assert_eq!(
        header(retry.metadata(), "idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(
        retry.into_inner().balance_cents,
        9_000,
        "the stored reply of the first execution"
    );

    assert_eq!(c.balance("idem", "alice").await, 9_000, "withdrawn once");
    assert_eq!(c.executions("idem", "Account/Withdraw").await, 1);
    let stats = c.stats("idem").await;
    assert_eq!((stats.replays, stats.faults_drop), (1, 1));
}

/// The same story without a key: the retry executes again.
#[tokio::test]
async fn without_a_key_a_retry_executes_again() {
    let server = TestServer::start().await;
    let mut c = server.clients().await;
    c.account
        .deposit(request(deposit(10_000), &[SESSION]))
        .await
        .unwrap();
    let lost = c
        .account
        .withdraw(request(withdraw(1_000), &[SESSION, ("x-fault-drop", "1")]))
        .await;
    assert_eq!(lost.unwrap_err().code(), Code::Unavailable);
    c.account
        .withdraw(request(withdraw(1_000), &[SESSION]))
        .await
        .unwrap();
    assert_eq!(
        c.balance("idem", "alice").await,
        8_000,
        "at-least-once: withdrawn twice"
    );
    assert_eq!(c.executions("idem", "Account/Withdraw").await, 2);
}

/// A failure before execution is not stored: a retry with the key executes.
#[tokio::test]
async fn a_fail_with_a_key_is_not_stored() {
    let server = TestServer::start().await;
    let mut c = server.clients().await;
    c.account
        .deposit(request(deposit(5_000), &[SESSION]))
        .await
        .unwrap();
    let key = ("idempotency-key", "k-fail");
    let failed = c
        .account
        .withdraw(request(
            withdraw(500),
            &[SESSION, key, ("x-fault-fail", "1")],
        ))
        .await
        .unwrap_err();
    assert_eq!(failed.code(), Code::Unavailable);
    assert_eq!(
        header(failed.metadata(), "x-fault-injected").as_deref(),
        Some("fail")
    );
    assert_eq!(
        c.executions("idem", "Account/Withdraw").await,
        0,
        "nothing ran"
    );
    assert_eq!(c.stats("idem").await.idempotency_keys, 0, "nothing stored");

    let retry = c
        .account
        .withdraw(request(withdraw(500), &[SESSION, key]))
        .await
        .unwrap();
    assert_eq!(
        header(retry.metadata(), "idempotent-replayed"),
        None,
        "executed, not replayed"
    );
    assert_eq!(retry.into_inner().balance_cents, 4_500);
    assert_eq!(c.executions("idem", "Account/Withdraw").await, 1);
}

/// Sixteen copies of one keyed request at once: one execution, sixteen
/// identical answers.
#[tokio::test]
async fn sixteen_concurrent_requests_with_one_key_execute_once() {
    let server = TestServer::start().await;
    let mut c = server.clients().await;
    c.account
        .deposit(request(deposit(100_000), &[SESSION]))
        .await
        .unwrap();
    let calls = (0..16).map(|_| {
        let mut account = c.account.clone();
        async move {
            account
                .withdraw(request(
                    withdraw(2_500),
                    &[SESSION, ("idempotency-key", "burst")],
                ))
                .await
        }
    });
    let replies = futures_util::future::join_all(calls).await;
    let mut replayed = 0;
    for reply in replies {
        // The contract allows ABORTED for a duplicate in flight; this server
        // makes duplicates wait and share the first outcome instead.
        let reply = reply.expect("every copy gets the outcome");
        replayed += usize::from(header(reply.metadata(), "idempotent-replayed").is_some());
        assert_eq!(reply.into_inner().balance_cents, 97_500);
    }
    assert_eq!(replayed, 15);
    assert_eq!(c.executions("idem", "Account/Withdraw").await, 1);
    assert_eq!(c.balance("idem", "alice").await, 97_500);
}

/// A key reused for another body or another method is refused, not executed,
/// and the stored outcome is not handed out.
#[tokio::test]
async fn reusing_a_key_for_another_request_is_refused() {
    let server = TestServer::start().await;
    let mut c = server.clients().await;
    c.account
        .deposit(request(deposit(10_000), &[SESSION]))
        .await
        .unwrap();
    let key = ("idempotency-key", "reused");
    c.account
        .withdraw(request(withdraw(100), &[SESSION, key]))
        .await
        .unwrap();

    let other_body = c
        .account
        .withdraw(request(withdraw(999), &[SESSION, key]))
        .await
        .unwrap_err();
    assert_eq!(other_body.code(), Code::FailedPrecondition);
    assert!(
        other_body.message().contains("different request body"),
        "{}",
        other_body.message()
    );

    let other_method = c
        .account
        .deposit(request(deposit(100), &[SESSION, key]))
        .await
        .unwrap_err();
    assert_eq!(other_method.code(), Code::FailedPrecondition);
    assert!(
        other_method
            .message()
            .contains("/calculator.v1.Account/Withdraw"),
        "{}",
        other_method.message()
    );

    assert_eq!(c.balance("idem", "alice").await, 9_900, "neither ran");
    assert_eq!(c.stats("idem").await.key_reuse_rejected, 2);
}

/// Deterministic errors are stored: the same key gets the same answer, even
/// after the state that caused it has changed.
#[tokio::test]
async fn a_deterministic_error_is_stored_and_replayed() {
    let server = TestServer::start().await;
    let mut c = server.clients().await;
    let key = ("idempotency-key", "too-much");
    let refused = c
        .account
        .withdraw(request(withdraw(500), &[SESSION, key]))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    c.account
        .deposit(request(deposit(1_000), &[SESSION]))
        .await
        .unwrap();
    let again = c
        .account
        .withdraw(request(withdraw(500), &[SESSION, key]))
        .await
        .unwrap_err();
    assert_eq!(
        again.code(),
        Code::FailedPrecondition,
        "the stored outcome, not a new execution"
    );
    assert_eq!(
        header(again.metadata(), "idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(c.balance("idem", "alice").await, 1_000);
}

/// Malformed keys get INVALID_ARGUMENT naming the header, and nothing runs.
#[tokio::test]
async fn malformed_keys_are_invalid_arguments() {
    let server = TestServer::start().await;
    let mut c = server.clients().await;
    let long = "k".repeat(256);
    for key in ["", long.as_str()] {
        let error = c
            .store
            .set_value(request(
                SetValueRequest {
                    key: "x".into(),
                    value: 1.0,
                },
                &[SESSION, ("idempotency-key", key)],
            ))
            .await
            .unwrap_err();
        assert_eq!(
            error.code(),
            Code::InvalidArgument,
            "key of {} bytes",
            key.len()
        );
        assert!(error.message().contains("idempotency-key"));
    }
    // A tab is a legal header character but not a printable one.
    let tab = request(
        SetValueRequest {
            key: "x".into(),
            value: 1.0,
        },
        &[SESSION, ("idempotency-key", "a\tb")],
    );
    assert_eq!(
        c.store.set_value(tab).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    assert_eq!(c.executions("idem", "Store/SetValue").await, 0);
}

/// Keys work the same over gRPC-Web, as the browser sends them.
#[tokio::test]
async fn keys_are_honoured_over_grpc_web() {
    let server = TestServer::start().await;
    let mut calculator = server.grpc_web_calculator();
    let add = rpc_lab::proto::BinaryOperation { a: 1.0, b: 2.0 };
    let key = ("idempotency-key", "web-1");
    let first = calculator.add(request(add, &[SESSION, key])).await.unwrap();
    assert_eq!(header(first.metadata(), "idempotent-replayed"), None);
    let second = calculator.add(request(add, &[SESSION, key])).await.unwrap();
    assert_eq!(
        header(second.metadata(), "idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(second.into_inner().value, 3.0);
    let mut c = server.clients().await;
    assert_eq!(c.executions("idem", "Calculator/Add").await, 1);
}

/// The documented trade-off: with the store full, the oldest completed
/// outcome is forgotten, and a (very late) retry of it executes again.
#[tokio::test]
async fn a_full_store_forgets_the_oldest_outcome_first() {
    let server = TestServer::start_with(Config {
        seed: Some(1),
        idempotency_max_keys: 2,
        ..Config::default()
    })
    .await;
    let mut c = server.clients().await;
    c.account
        .deposit(request(deposit(10_000), &[SESSION]))
        .await
        .unwrap();
    for key in ["first", "second", "third"] {
        c.account
            .withdraw(request(withdraw(100), &[SESSION, ("idempotency-key", key)]))
            .await
            .unwrap();
    }
    assert_eq!(c.stats("idem").await.idempotency_keys_total, 2, "bounded");
    let late = c
        .account
        .withdraw(request(
            withdraw(100),
            &[SESSION, ("idempotency-key", "first")],
        ))
        .await
        .unwrap();
    assert_eq!(
        header(late.metadata(), "idempotent-replayed"),
        None,
        "forgotten, so executed again"
    );
    let recent = c
        .account
        .withdraw(request(
            withdraw(100),
            &[SESSION, ("idempotency-key", "third")],
        ))
        .await
        .unwrap();
    assert_eq!(
        header(recent.metadata(), "idempotent-replayed").as_deref(),
        Some("true")
    );
}

/// The `idempotency-key-expires-in-ms` header: how long the client has left
/// to retry. A keyed call that was stored says (at most) the whole TTL, a
/// replay a little less, a refused reuse of the key the same countdown; an
/// outcome that was not stored, or a call without a key, says nothing.
#[tokio::test]
async fn keyed_replies_say_how_long_the_key_is_kept() {
    const TTL_MS: u64 = 90_000;
    let server = TestServer::start_with(Config {
        idempotency_ttl_secs: TTL_MS / 1000,
        ..Config::default()
    })
    .await;
    let mut c = server.clients().await;
    let expires = |metadata: &tonic::metadata::MetadataMap| {
        header(metadata, "idempotency-key-expires-in-ms").map(|ms| ms.parse::<u64>().unwrap())
    };
    let key = ("idempotency-key", "kept");

    let first = c
        .account
        .deposit(request(deposit(1_000), &[SESSION, key]))
        .await
        .unwrap();
    let first_ms = expires(first.metadata()).expect("a stored outcome says its time");
    // Rounded down, and the reply left the server a moment after the store
    // started counting: just under the TTL, never over it.
    assert!(
        first_ms <= TTL_MS && first_ms > TTL_MS - 10_000,
        "{first_ms}"
    );

    let replay = c
        .account
        .deposit(request(deposit(1_000), &[SESSION, key]))
        .await
        .unwrap();
    assert_eq!(
        header(replay.metadata(), "idempotent-replayed").as_deref(),
        Some("true")
    );
    let replay_ms = expires(replay.metadata()).unwrap();
    assert!(replay_ms <= first_ms, "{replay_ms} > {first_ms}");

    let reused = c
        .account
        .deposit(request(deposit(2_000), &[SESSION, key]))
        .await
        .unwrap_err();
    assert_eq!(reused.code(), Code::FailedPrecondition);
    let reused_ms = expires(reused.metadata()).expect("the refused key is still kept");
    assert!(reused_ms <= replay_ms, "{reused_ms} > {replay_ms}");

    let unkeyed = c
        .account
        .deposit(request(deposit(1_000), &[SESSION]))
        .await
        .unwrap();
    assert_eq!(expires(unkeyed.metadata()), None, "no key, nothing kept");
    let lost = c
        .account
        .deposit(request(
            deposit(1_000),
            &[
                SESSION,
                ("idempotency-key", "failed"),
                ("x-fault-fail", "1"),
            ],
        ))
        .await
        .unwrap_err();
    assert_eq!(lost.code(), Code::Unavailable);
    assert_eq!(expires(lost.metadata()), None, "a failure is not stored");
    assert_eq!(c.executions("idem", "Account/Deposit").await, 2);
}
