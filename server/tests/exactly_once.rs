//! Property: whatever the faults and however often a client retries, keyed
//! operations take effect exactly once.
//!
//! Random programs of logical operations (deposits, withdrawals, increments,
//! appends), each with its own idempotency key and sent one to four times,
//! each try with a random fault (none, fail before executing, drop after
//! executing). A model applies each logical operation once if any try got
//! past the fail fault — that is when the server executed it — and the
//! server's final state must equal the model's.

mod common;

use std::collections::HashMap;

use common::{Clients, TestServer, request};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use rpc_lab::proto::calculator_v1::{
    AmountRequest, AppendRequest, GetValueRequest, IncrementRequest,
};

#[derive(Clone, Copy, Debug)]
enum Op {
    Deposit { account: u8, cents: i64 },
    Withdraw { account: u8, cents: i64 },
    Increment { key: u8, delta: i8 },
    Append { key: u8, item: i8 },
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    None,
    Fail,
    Drop,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3u8, 1..500i64).prop_map(|(account, cents)| Op::Deposit { account, cents }),
        (0..3u8, 1..500i64).prop_map(|(account, cents)| Op::Withdraw { account, cents }),
        (0..3u8, any::<i8>()).prop_map(|(key, delta)| Op::Increment { key, delta }),
        (0..3u8, any::<i8>()).prop_map(|(key, item)| Op::Append { key, item }),
    ]
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![Just(Fault::None), Just(Fault::Fail), Just(Fault::Drop)]
}

/// A program: logical operations, each with the faults of its tries.
fn program() -> impl Strategy<Value = Vec<(Op, Vec<Fault>)>> {
    prop::collection::vec((op(), prop::collection::vec(fault(), 1..=4)), 1..24)
}

#[derive(Debug, Default, PartialEq)]
struct Model {
    balances: HashMap<u8, i64>,
    values: HashMap<u8, f64>,
    lists: HashMap<u8, Vec<f64>>,
}

impl Model {
    fn apply(&mut self, op: Op) {
        match op {
            Op::Deposit { account, cents } => *self.balances.entry(account).or_default() += cents,
            Op::Withdraw { account, cents } => {
                let balance = self.balances.entry(account).or_default();
                if *balance >= cents {
                    *balance -= cents; // otherwise FAILED_PRECONDITION, nothing changes
                }
            }
            Op::Increment { key, delta } => {
                *self.values.entry(key).or_default() += f64::from(delta)
            }
            Op::Append { key, item } => self.lists.entry(key).or_default().push(f64::from(item)),
        }
    }
}

async fn send(c: &mut Clients, session: &str, key: &str, op: Op, fault: Fault) {
    let mut headers = vec![("x-lab-session", session), ("idempotency-key", key)];
    match fault {
        Fault::None => {}
        Fault::Fail => headers.push(("x-fault-fail", "1")),
        Fault::Drop => headers.push(("x-fault-drop", "1")),
    }
    // Outcomes are not checked here: the final state is what the property is about.
    let _ = match op {
        Op::Deposit { account, cents } => c
            .account
            .deposit(request(
                AmountRequest {
                    account: account.to_string(),
                    amount_cents: cents,
                },
                &headers,
            ))
            .await
            .map(drop),
        Op::Withdraw { account, cents } => c
            .account
            .withdraw(request(
                AmountRequest {
                    account: account.to_string(),
                    amount_cents: cents,
                },
                &headers,
            ))
            .await
            .map(drop),
        Op::Increment { key, delta } => c
            .store
            .increment(request(
                IncrementRequest {
                    key: key.to_string(),
                    delta: f64::from(delta),
                },
                &headers,
            ))
            .await
            .map(drop),
        Op::Append { key, item } => c
            .store
            .append(request(
                AppendRequest {
                    key: key.to_string(),
                    item: f64::from(item),
                },
                &headers,
            ))
            .await
            .map(drop),
    };
}

async fn run(
    c: &mut Clients,
    session: &str,
    program: &[(Op, Vec<Fault>)],
) -> Result<(), TestCaseError> {
    let mut model = Model::default();
    for (index, (op, tries)) in program.iter().enumerate() {
        let key = format!("{session}-op-{index}");
        for &fault in tries {
            send(c, session, &key, *op, fault).await;
        }
        if tries.iter().any(|&f| f != Fault::Fail) {
            model.apply(*op);
        }
    }
    for account in 0..3u8 {
        let expected = model.balances.get(&account).copied().unwrap_or(0);
        prop_assert_eq!(
            c.balance(session, &account.to_string()).await,
            expected,
            "account {}",
            account
        );
    }
    for key in 0..3u8 {
        let reply = c
            .store
            .get_value(request(
                GetValueRequest {
                    key: key.to_string(),
                },
                &[("x-lab-session", session)],
            ))
            .await;
        prop_assert_eq!(
            reply.ok().map(|r| r.into_inner().value),
            model.values.get(&key).copied(),
            "value {}",
            key
        );
        // Appending 0-ish items is not allowed to hide a difference: compare whole lists.
        let list = c
            .store
            .append(request(
                AppendRequest {
                    key: key.to_string(),
                    item: 0.0,
                },
                &[("x-lab-session", session)],
            ))
            .await
            .unwrap()
            .into_inner()
            .items;
        let mut expected = model.lists.get(&key).cloned().unwrap_or_default();
        expected.push(0.0);
        prop_assert_eq!(list, expected, "list {}", key);
    }
    Ok(())
}

#[test]
fn keyed_operations_take_effect_exactly_once_whatever_the_faults() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(TestServer::start());
    let clients = runtime.block_on(server.clients());
    let case = std::sync::atomic::AtomicU32::new(0);
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    });
    runner
        .run(&program(), |program| {
            // A fresh session, so a fresh world, for every case.
            let session = format!(
                "case-{}",
                case.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            );
            runtime.block_on(run(&mut clients.clone(), &session, &program))
        })
        .unwrap();
}
