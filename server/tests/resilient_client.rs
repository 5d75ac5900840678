//! The client's resilience core against the real server, over the native
//! transport: the lesson of `withdraw`, measured.
//!
//! Thirty logical withdrawals of $1.00 from $100.00, every attempt facing a
//! 50 % chance that the server executes it and then loses the reply
//! (`x-fault-drop: 0.5`). The client retries lost replies. What the server
//! really did is read from its Lab service.

mod common;

use std::rc::Rc;
use std::time::Duration;

use common::{TestServer, request};
use rpc_lab::proto::AccountClient;
use rpc_lab::proto::calculator_v1::AmountRequest;
use rpc_lab::resilience::{
    CallSpec, EventKind, ResilientCaller, RetryPolicy, SeededRng, TokioClock, VecSink,
};
use tonic::Code;

const WITHDRAWALS: usize = 30;
const AMOUNT: i64 = 100;
const START: i64 = 10_000;

/// What one run of thirty withdrawals looked like, from both sides.
struct Run {
    /// Logical calls the client saw succeed.
    succeeded: usize,
    /// Attempts the client sent.
    attempts: usize,
    /// Replies that were replays of a stored outcome.
    replayed: usize,
    /// Times the server's handler really ran (server truth).
    executions: u64,
    balance: i64,
}

async fn thirty_withdrawals(
    server: &TestServer,
    session: &str,
    keys: bool,
    declared_idempotent: bool,
) -> Run {
    let mut clients = server.clients().await;
    clients
        .account
        .deposit(request(
            AmountRequest {
                account: "alice".into(),
                amount_cents: START,
            },
            &[("x-lab-session", session)],
        ))
        .await
        .unwrap();

    let policy = RetryPolicy {
        max_attempts: 8,
        initial_backoff: Duration::from_millis(2),
        max_backoff: Duration::from_millis(10),
        per_attempt_timeout: Some(Duration::from_secs(5)),
        deadline: Some(Duration::from_secs(20)),
        idempotency_keys: keys,
        ..RetryPolicy::default()
    };
    let events = Rc::new(VecSink::default());
    let caller = ResilientCaller::new(
        policy,
        Rc::new(TokioClock::new()),
        SeededRng::new(7),
        events.clone(),
    )
    .expect("a valid policy");
    let client = AccountClient::new(server.channel().await);

    let spec = CallSpec {
        operation: "Withdraw",
        idempotent: declared_idempotent,
    };
    let mut succeeded = 0;
    for _ in 0..WITHDRAWALS {
        let outcome = caller
            .call(spec, |attempt| {
                let mut req = request(
                    AmountRequest {
                        account: "alice".into(),
                        amount_cents: AMOUNT,
                    },
                    &[("x-lab-session", session), ("x-fault-drop", "0.5")],
                );
                attempt.prepare(&mut req);
                let mut client = client.clone();
                async move { client.withdraw(req).await }
            })
            .await;
        succeeded += usize::from(outcome.is_ok());
    }

    let (mut attempts, mut replayed) = (0, 0);
    for event in events.events() {
        if let EventKind::AttemptEnded {
            replayed: was_replayed,
            code,
            ..
        } = event.kind
        {
            attempts += 1;
            replayed += usize::from(was_replayed && code == Code::Ok);
        }
    }
    let run = Run {
        succeeded,
        attempts,
        replayed,
        executions: clients.executions(session, "Account/Withdraw").await,
        balance: clients.balance(session, "alice").await,
    };
    println!(
        "{session}: {WITHDRAWALS} withdrawals of {AMOUNT} cents -> {} succeeded for the client, {} attempts, \
         {} replays, {} executions on the server, balance {} (expected {})",
        run.succeeded,
        run.attempts,
        run.replayed,
        run.executions,
        run.balance,
        START - WITHDRAWALS as i64 * AMOUNT
    );
    run
}

/// Keys on: retries are safe. Every logical withdrawal took effect exactly
/// once — even a call whose every reply was lost ran once on the server.
#[tokio::test]
async fn with_keys_every_withdrawal_takes_effect_exactly_once() {
    let server = TestServer::start().await;
    let run = thirty_withdrawals(&server, "keys-on", true, false).await;
    assert!(
        run.attempts > WITHDRAWALS,
        "replies were lost and retried ({} attempts)",
        run.attempts
    );
    assert!(
        run.replayed > 0,
        "some retries were answered from the idempotency store"
    );
    assert_eq!(
        run.executions, WITHDRAWALS as u64,
        "one execution per logical withdrawal"
    );
    assert_eq!(
        run.balance,
        START - WITHDRAWALS as i64 * AMOUNT,
        "exactly $30.00 left the account"
    );
    assert!(
        run.succeeded >= WITHDRAWALS - 1,
        "with 8 attempts nearly every call gets its answer"
    );
}

/// Keys off, and `Withdraw` wrongly declared idempotent so the client retries
/// it anyway: every lost reply becomes a duplicate withdrawal.
#[tokio::test]
async fn without_keys_retried_withdrawals_are_duplicated_and_counted() {
    let server = TestServer::start().await;
    let run = thirty_withdrawals(&server, "keys-off", false, true).await;
    let duplicates = run.executions - WITHDRAWALS as u64;
    assert!(
        duplicates > 0,
        "lost replies were retried and executed again"
    );
    assert_eq!(
        run.executions, run.attempts as u64,
        "every attempt reached the handler"
    );
    assert_eq!(
        run.balance,
        START - run.executions as i64 * AMOUNT,
        "the account paid for each duplicate"
    );
    assert_eq!(run.replayed, 0, "nothing protects the retries");
}

/// Keys off and `Withdraw` honestly declared non-idempotent: the client does
/// not retry it. No duplicates — but every lost reply is now an error the
/// program must handle, although the money did leave the account.
#[tokio::test]
async fn without_keys_a_careful_client_does_not_retry_and_reports_errors_instead() {
    let server = TestServer::start().await;
    let run = thirty_withdrawals(&server, "careful", false, false).await;
    assert_eq!(
        run.attempts, WITHDRAWALS,
        "one attempt per call: no retries"
    );
    assert_eq!(run.executions, WITHDRAWALS as u64);
    assert!(
        run.succeeded < WITHDRAWALS,
        "lost replies surfaced as errors"
    );
    assert_eq!(
        run.balance,
        START - WITHDRAWALS as i64 * AMOUNT,
        "yet each withdrawal ran"
    );
}
