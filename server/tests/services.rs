//! Store, Account and Lab over real sockets: values, errors, sessions.

mod common;

use common::{TestServer, request};
use rpc_lab::proto::calculator_v1::{
    AmountRequest, AppendRequest, DeleteValueRequest, GetValueRequest, IncrementRequest,
    ResetSessionRequest, SetValueRequest,
};
use tonic::Code;

/// Every Store operation, its idempotency in effect, and its errors.
#[tokio::test]
async fn the_store() {
    let server = TestServer::start().await;
    let mut c = server.clients().await;
    let s = [("x-lab-session", "store")];
    let get = |key: &str| request(GetValueRequest { key: key.into() }, &s);

    assert_eq!(
        c.store.get_value(get("x")).await.unwrap_err().code(),
        Code::NotFound
    );
    for _ in 0..2 {
        let set = c
            .store
            .set_value(request(
                SetValueRequest {
                    key: "x".into(),
                    value: 10.0,
                },
                &s,
            ))
            .await
            .unwrap();
        assert_eq!(set.into_inner().value, 10.0);
    }
    assert_eq!(
        c.store
            .get_value(get("x"))
            .await
            .unwrap()
            .into_inner()
            .value,
        10.0
    );

    let delete = |c: &mut common::Clients| {
        let mut store = c.store.clone();
        async move {
            store
                .delete_value(request(DeleteValueRequest { key: "x".into() }, &s))
                .await
                .unwrap()
                .into_inner()
                .existed
        }
    };
    assert!(delete(&mut c).await);
    assert!(!delete(&mut c).await, "same effect twice, different reply");

    let inc = |delta| {
        request(
            IncrementRequest {
                key: "n".into(),
                delta,
            },
            &s,
        )
    };
    assert_eq!(
        c.store
            .increment(inc(2.5))
            .await
            .unwrap()
            .into_inner()
            .value,
        2.5
    );
    assert_eq!(
        c.store
            .increment(inc(2.5))
            .await
            .unwrap()
            .into_inner()
            .value,
        5.0
    );

    let append = |item| {
        request(
            AppendRequest {
                key: "n".into(),
                item,
            },
            &s,
        )
    };
    assert_eq!(
        c.store
            .append(append(1.0))
            .await
            .unwrap()
            .into_inner()
            .items,
        vec![1.0]
    );
    assert_eq!(
        c.store
            .append(append(2.0))
            .await
            .unwrap()
            .into_inner()
            .items,
        vec![1.0, 2.0]
    );
    assert_eq!(
        c.store
            .get_value(get("n"))
            .await
            .unwrap()
            .into_inner()
            .value,
        5.0,
        "lists live beside values"
    );

    for (error, words) in [
        (
            c.store
                .set_value(request(
                    SetValueRequest {
                        key: "".into(),
                        value: 1.0,
                    },
                    &s,
                ))
                .await
                .unwrap_err(),
            "empty",
        ),
        (
            c.store
                .set_value(request(
                    SetValueRequest {
                        key: "k".repeat(257),
                        value: 1.0,
                    },
                    &s,
                ))
                .await
                .unwrap_err(),
            "257 bytes",
        ),
        (
            c.store
                .set_value(request(
                    SetValueRequest {
                        key: "x".into(),
                        value: f64::NAN,
                    },
                    &s,
                ))
                .await
                .unwrap_err(),
            "finite",
        ),
        (
            c.store.increment(inc(f64::INFINITY)).await.unwrap_err(),
            "finite",
        ),
    ] {
        assert_eq!(error.code(), Code::InvalidArgument, "{error:?}");
        assert!(error.message().contains(words), "{}", error.message());
    }
    c.store.increment(inc(f64::MAX)).await.unwrap();
    assert_eq!(
        c.store.increment(inc(f64::MAX)).await.unwrap_err().code(),
        Code::OutOfRange
    );
}

/// Deposit, withdraw, balance; refusals change nothing.
#[tokio::test]
async fn the_account() {
    let server = TestServer::start().await;
    let mut c = server.clients().await;
    let s = [("x-lab-session", "bank")];
    let amount = |cents| AmountRequest {
        account: "alice".into(),
        amount_cents: cents,
    };

    assert_eq!(c.balance("bank", "alice").await, 0, "never used: balance 0");
    assert_eq!(
        c.account
            .deposit(request(amount(10_000), &s))
            .await
            .unwrap()
            .into_inner()
            .balance_cents,
        10_000
    );
    let after = c
        .account
        .withdraw(request(amount(2_500), &s))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (after.account.as_str(), after.balance_cents),
        ("alice", 7_500)
    );

    let refused = c
        .account
        .withdraw(request(amount(7_501), &s))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().contains("insufficient funds"));
    for bad in [0, -5] {
        assert_eq!(
            c.account
                .deposit(request(amount(bad), &s))
                .await
                .unwrap_err()
                .code(),
            Code::InvalidArgument
        );
        assert_eq!(
            c.account
                .withdraw(request(amount(bad), &s))
                .await
                .unwrap_err()
                .code(),
            Code::InvalidArgument
        );
    }
    c.account
        .deposit(request(
            AmountRequest {
                account: "max".into(),
                amount_cents: i64::MAX,
            },
            &s,
        ))
        .await
        .unwrap();
    let overflow = c
        .account
        .deposit(request(
            AmountRequest {
                account: "max".into(),
                amount_cents: 1,
            },
            &s,
        ))
        .await
        .unwrap_err();
    assert_eq!(overflow.code(), Code::OutOfRange);
    assert_eq!(
        c.balance("bank", "alice").await,
        7_500,
        "no refusal changed anything"
    );
    assert_eq!(c.balance("bank", "max").await, i64::MAX);
}

/// Two sessions on one server see only their own accounts and numbers.
#[tokio::test]
async fn sessions_are_isolated_and_can_be_reset() {
    let server = TestServer::start().await;
    let mut c = server.clients().await;
    let deposit = |session: &'static str| {
        request(
            AmountRequest {
                account: "shared-name".into(),
                amount_cents: 100,
            },
            &[("x-lab-session", session)],
        )
    };
    c.account.deposit(deposit("tab-1")).await.unwrap();
    c.account.deposit(deposit("tab-1")).await.unwrap();
    c.account.deposit(deposit("tab-2")).await.unwrap();
    assert_eq!(c.balance("tab-1", "shared-name").await, 200);
    assert_eq!(c.balance("tab-2", "shared-name").await, 100);
    assert_eq!(c.executions("tab-1", "Account/Deposit").await, 2);
    assert_eq!(c.executions("tab-2", "Account/Deposit").await, 1);
    assert_eq!(c.stats("tab-1").await.session, "tab-1");

    c.lab
        .reset_session(request(
            ResetSessionRequest::default(),
            &[("x-lab-session", "tab-1")],
        ))
        .await
        .unwrap();
    assert_eq!(c.balance("tab-1", "shared-name").await, 0);
    assert_eq!(c.executions("tab-1", "Account/Deposit").await, 0);
    assert_eq!(
        c.balance("tab-2", "shared-name").await,
        100,
        "the other session is untouched"
    );

    // Without the header: the "default" session.
    c.account
        .deposit(tonic::Request::new(AmountRequest {
            account: "d".into(),
            amount_cents: 1,
        }))
        .await
        .unwrap();
    assert_eq!(c.balance("default", "d").await, 1);
}

/// A malformed session name is INVALID_ARGUMENT naming the header.
#[tokio::test]
async fn a_malformed_session_header_is_refused() {
    let server = TestServer::start().await;
    let mut c = server.clients().await;
    let long = "s".repeat(65);
    for bad in ["has space", "ünï", long.as_str()] {
        let Ok(value) = bad.parse() else { continue }; // non-ASCII cannot even be sent as text
        let mut req = tonic::Request::new(AmountRequest {
            account: "a".into(),
            amount_cents: 1,
        });
        req.metadata_mut().insert("x-lab-session", value);
        let error = c.account.deposit(req).await.unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{bad:?}");
        assert!(error.message().contains("x-lab-session"));
    }
}
