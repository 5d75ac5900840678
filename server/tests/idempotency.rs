//! The `idempotency-key` rules of the contract, over real sockets.

mod common;

use common::{Clients, TestServer, assert_fault_injected, assert_replayed, header, request};
use rpc_lab::proto::AccountClient;
use rpc_lab::proto::calculator_v1::{AmountRequest, Balance, LabStats, SetValueRequest};
use rpc_lab_server::config::Config;
use tonic::transport::Channel;
use tonic::{Code, Response, Status};

/// The lab session every test here runs in.
const SESSION: &str = "idem";
/// The header that puts a call in [`SESSION`].
const IN_SESSION: (&str, &str) = ("x-lab-session", SESSION);

/// Alice's account in [`SESSION`], and the server's truth about that session.
struct Alice {
    clients: Clients,
}

impl Alice {
    /// Alice before any money came in.
    async fn at(server: &TestServer) -> Alice {
        Alice {
            clients: server.clients().await,
        }
    }

    /// Alice after an opening deposit of `cents` (sent without a key).
    async fn with(server: &TestServer, cents: i64) -> Alice {
        let alice = Alice::at(server).await;
        alice
            .deposit(cents)
            .send()
            .await
            .expect("the opening deposit");
        alice
    }

    fn withdraw(&self, cents: i64) -> Call {
        Call::new(self, Operation::Withdraw, cents)
    }

    fn deposit(&self, cents: i64) -> Call {
        Call::new(self, Operation::Deposit, cents)
    }

    async fn balance(&mut self) -> i64 {
        self.clients.balance(SESSION, "alice").await
    }

    /// How many times `method` (e.g. "Account/Withdraw") executed in the session.
    async fn executions(&mut self, method: &str) -> u64 {
        self.clients.executions(SESSION, method).await
    }

    async fn stats(&mut self) -> LabStats {
        self.clients.stats(SESSION).await
    }
}

enum Operation {
    Deposit,
    Withdraw,
}

/// One call on Alice's account: built header by header, then sent. It owns
/// its (cheaply cloned) client, so many calls can be in flight at once.
struct Call {
    account: AccountClient<Channel>,
    operation: Operation,
    cents: i64,
    headers: Vec<(&'static str, String)>,
}

impl Call {
    fn new(alice: &Alice, operation: Operation, cents: i64) -> Call {
        Call {
            account: alice.clients.account.clone(),
            operation,
            cents,
            headers: vec![(IN_SESSION.0, IN_SESSION.1.to_owned())],
        }
    }

    /// Sends the call with `idempotency-key: <key>`.
    fn key(mut self, key: &str) -> Call {
        self.headers.push(("idempotency-key", key.to_owned()));
        self
    }

    /// The server executes the call, then answers UNAVAILABLE as if the
    /// reply were lost (`x-fault-drop: 1`).
    fn fault_drop(mut self) -> Call {
        self.headers.push(("x-fault-drop", "1".to_owned()));
        self
    }

    /// The server answers UNAVAILABLE before executing (`x-fault-fail: 1`).
    fn fault_fail(mut self) -> Call {
        self.headers.push(("x-fault-fail", "1".to_owned()));
        self
    }

    async fn send(mut self) -> Result<Response<Balance>, Status> {
        let headers: Vec<(&'static str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        let amount = AmountRequest {
            account: "alice".into(),
            amount_cents: self.cents,
        };
        let request = request(amount, &headers);
        match self.operation {
            Operation::Deposit => self.account.deposit(request).await,
            Operation::Withdraw => self.account.withdraw(request).await,
        }
    }
}

/// Asserts that a reply is a fresh execution: no `idempotent-replayed` header.
#[track_caller]
fn assert_executed(metadata: &tonic::metadata::MetadataMap, why: &str) {
    assert_eq!(header(metadata, "idempotent-replayed"), None, "{why}");
}

/// The lesson in one test: the reply of a withdrawal is lost, the client
/// retries with the same key, and the money leaves the account once.
#[tokio::test]
async fn drop_then_retry_with_the_same_key_executes_once() {
    let server = TestServer::start().await;
    let mut alice = Alice::with(&server, 10_000).await;

    let lost = alice
        .withdraw(1_000)
        .key("withdraw-1")
        .fault_drop()
        .send()
        .await
        .unwrap_err();
    assert_eq!(lost.code(), Code::Unavailable);
    assert_fault_injected(lost.metadata(), "drop");

    let retry = alice
        .withdraw(1_000)
        .key("withdraw-1")
        .send()
        .await
        .unwrap();
    assert_replayed(retry.metadata());
    assert_eq!(
        retry.into_inner().balance_cents,
        9_000,
        "the stored reply of the first execution"
    );

    assert_eq!(alice.balance().await, 9_000, "withdrawn once");
    assert_eq!(alice.executions("Account/Withdraw").await, 1);
    let stats = alice.stats().await;
    assert_eq!((stats.replays, stats.faults_drop), (1, 1));
}

/// The same story without a key: the retry executes again.
#[tokio::test]
async fn without_a_key_a_retry_executes_again() {
    let server = TestServer::start().await;
    let mut alice = Alice::with(&server, 10_000).await;
    let lost = alice.withdraw(1_000).fault_drop().send().await;
    assert_eq!(lost.unwrap_err().code(), Code::Unavailable);
    alice.withdraw(1_000).send().await.unwrap();
    assert_eq!(
        alice.balance().await,
        8_000,
        "at-least-once: withdrawn twice"
    );
    assert_eq!(alice.executions("Account/Withdraw").await, 2);
}

/// A failure before execution is not stored: a retry with the key executes.
#[tokio::test]
async fn a_fail_with_a_key_is_not_stored() {
    let server = TestServer::start().await;
    let mut alice = Alice::with(&server, 5_000).await;
    let failed = alice
        .withdraw(500)
        .key("k-fail")
        .fault_fail()
        .send()
        .await
        .unwrap_err();
    assert_eq!(failed.code(), Code::Unavailable);
    assert_fault_injected(failed.metadata(), "fail");
    assert_eq!(alice.executions("Account/Withdraw").await, 0, "nothing ran");
    assert_eq!(alice.stats().await.idempotency_keys, 0, "nothing stored");

    let retry = alice.withdraw(500).key("k-fail").send().await.unwrap();
    assert_executed(retry.metadata(), "executed, not replayed");
    assert_eq!(retry.into_inner().balance_cents, 4_500);
    assert_eq!(alice.executions("Account/Withdraw").await, 1);
}

/// Sixteen copies of one keyed request at once: one execution, sixteen
/// identical answers.
#[tokio::test]
async fn sixteen_concurrent_requests_with_one_key_execute_once() {
    let server = TestServer::start().await;
    let mut alice = Alice::with(&server, 100_000).await;
    let calls = (0..16).map(|_| alice.withdraw(2_500).key("burst").send());
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
    assert_eq!(alice.executions("Account/Withdraw").await, 1);
    assert_eq!(alice.balance().await, 97_500);
}

/// A key reused for another body or another method is refused, not executed,
/// and the stored outcome is not handed out.
#[tokio::test]
async fn reusing_a_key_for_another_request_is_refused() {
    let server = TestServer::start().await;
    let mut alice = Alice::with(&server, 10_000).await;
    alice.withdraw(100).key("reused").send().await.unwrap();

    let other_body = alice.withdraw(999).key("reused").send().await.unwrap_err();
    assert_eq!(other_body.code(), Code::FailedPrecondition);
    assert!(
        other_body.message().contains("different request body"),
        "{}",
        other_body.message()
    );

    let other_method = alice.deposit(100).key("reused").send().await.unwrap_err();
    assert_eq!(other_method.code(), Code::FailedPrecondition);
    assert!(
        other_method
            .message()
            .contains("/calculator.v1.Account/Withdraw"),
        "{}",
        other_method.message()
    );

    assert_eq!(alice.balance().await, 9_900, "neither ran");
    assert_eq!(alice.stats().await.key_reuse_rejected, 2);
}

/// Deterministic errors are stored: the same key gets the same answer, even
/// after the state that caused it has changed.
#[tokio::test]
async fn a_deterministic_error_is_stored_and_replayed() {
    let server = TestServer::start().await;
    let mut alice = Alice::at(&server).await;
    let refused = alice
        .withdraw(500)
        .key("too-much")
        .send()
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    alice.deposit(1_000).send().await.unwrap();
    let again = alice
        .withdraw(500)
        .key("too-much")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        again.code(),
        Code::FailedPrecondition,
        "the stored outcome, not a new execution"
    );
    assert_replayed(again.metadata());
    assert_eq!(alice.balance().await, 1_000);
}

/// Malformed keys get INVALID_ARGUMENT naming the header, and nothing runs.
#[tokio::test]
async fn malformed_keys_are_invalid_arguments() {
    let server = TestServer::start().await;
    let mut c = server.clients().await;
    let long = "k".repeat(256);
    for (what, key) in [
        ("empty", ""),
        ("one byte over the limit", long.as_str()),
        // A tab is a legal header character but not a printable one.
        ("a tab", "a\tb"),
    ] {
        let set = SetValueRequest {
            key: "x".into(),
            value: 1.0,
        };
        let error = c
            .store
            .set_value(request(set, &[IN_SESSION, ("idempotency-key", key)]))
            .await
            .unwrap_err();
        assert_eq!(
            error.code(),
            Code::InvalidArgument,
            "{what}: key of {} bytes",
            key.len()
        );
        assert!(
            error.message().contains("idempotency-key"),
            "{what}: {}",
            error.message()
        );
    }
    assert_eq!(c.executions(SESSION, "Store/SetValue").await, 0);
}

/// Keys work the same over gRPC-Web, as the browser sends them.
#[tokio::test]
async fn keys_are_honoured_over_grpc_web() {
    let server = TestServer::start().await;
    let mut calculator = server.grpc_web_calculator();
    let add = rpc_lab::proto::BinaryOperation { a: 1.0, b: 2.0 };
    let key = ("idempotency-key", "web-1");
    let first = calculator
        .add(request(add, &[IN_SESSION, key]))
        .await
        .unwrap();
    assert_executed(first.metadata(), "the first call executes");
    let second = calculator
        .add(request(add, &[IN_SESSION, key]))
        .await
        .unwrap();
    assert_replayed(second.metadata());
    assert_eq!(second.into_inner().value, 3.0);
    let mut c = server.clients().await;
    assert_eq!(c.executions(SESSION, "Calculator/Add").await, 1);
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
    let mut alice = Alice::with(&server, 10_000).await;
    for key in ["first", "second", "third"] {
        alice.withdraw(100).key(key).send().await.unwrap();
    }
    assert_eq!(alice.stats().await.idempotency_keys_total, 2, "bounded");
    let late = alice.withdraw(100).key("first").send().await.unwrap();
    assert_executed(late.metadata(), "forgotten, so executed again");
    let recent = alice.withdraw(100).key("third").send().await.unwrap();
    assert_replayed(recent.metadata());
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
    let mut alice = Alice::at(&server).await;
    let expires = |metadata: &tonic::metadata::MetadataMap| {
        header(metadata, "idempotency-key-expires-in-ms").map(|ms| ms.parse::<u64>().unwrap())
    };

    let first = alice.deposit(1_000).key("kept").send().await.unwrap();
    let first_ms = expires(first.metadata()).expect("a stored outcome says its time");
    // Rounded down, and the reply left the server a moment after the store
    // started counting: just under the TTL, never over it.
    assert!(
        first_ms <= TTL_MS && first_ms > TTL_MS - 10_000,
        "{first_ms}"
    );

    let replay = alice.deposit(1_000).key("kept").send().await.unwrap();
    assert_replayed(replay.metadata());
    let replay_ms = expires(replay.metadata()).unwrap();
    assert!(replay_ms <= first_ms, "{replay_ms} > {first_ms}");

    let reused = alice.deposit(2_000).key("kept").send().await.unwrap_err();
    assert_eq!(reused.code(), Code::FailedPrecondition);
    let reused_ms = expires(reused.metadata()).expect("the refused key is still kept");
    assert!(reused_ms <= replay_ms, "{reused_ms} > {replay_ms}");

    let unkeyed = alice.deposit(1_000).send().await.unwrap();
    assert_eq!(expires(unkeyed.metadata()), None, "no key, nothing kept");
    let lost = alice
        .deposit(1_000)
        .key("failed")
        .fault_fail()
        .send()
        .await
        .unwrap_err();
    assert_eq!(lost.code(), Code::Unavailable);
    assert_eq!(expires(lost.metadata()), None, "a failure is not stored");
    assert_eq!(alice.executions("Account/Deposit").await, 2);
}
