//! A cascading failure, over real sockets, and what stops it.
//!
//! Two tiers in one server (`rpc_lab_server::shop`): `Shop/Checkout` calls
//! `Payment/Charge` through the front tier's resilient client; `Calculator/
//! Add` shares the front tier's four workers but never touches payment.
//! Payment hangs (a brownout with no workers for the whole test). Checkouts
//! arrive faster than four workers can time out on payment, so:
//!
//! - with no breaker, every front worker ends up waiting on payment, the
//!   queue fills with checkouts, and `Add` — which needed nothing from
//!   payment — times out: the failure has cascaded;
//! - with a breaker in the front tier's payment client, checkouts fail fast
//!   once it has seen a few time out, the workers come free, and `Add` is
//!   served;
//! - with a bulkhead (at most two checkouts may wait on payment), two
//!   workers are always left for everything else.
//!
//! The assertions are on counts: which share of the `Add` calls made in the
//! second half of the run (after the breaker has had time to learn)
//! succeeded, with wide margins between the steps.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{TestServer, request};
use rpc_lab::proto::{BinaryOperation, CalculatorClient};
use rpc_lab::resilience::{BreakerConfig, RetryPolicy, SlidingWindow};
use rpc_lab_server::capacity::{self, AbandonedWork, Brownout, CapacitySettings};
use rpc_lab_server::config::Config;
use rpc_lab_server::shop::proto::CheckoutRequest;
use rpc_lab_server::shop::proto::shop_client::ShopClient;
use rpc_lab_server::shop::{PaymentClientSettings, PaymentTierSettings};
use rpc_lab_server::state::LabState;
use tokio::time::Instant;
use tonic::Code;
use tonic::transport::Channel;

const SESSION: &str = "cascade";
/// How long traffic is sent for.
const RUN: Duration = Duration::from_millis(2000);
/// Add calls made after this are the ones judged.
const JUDGED_FROM: Duration = Duration::from_millis(1000);
const CHECKOUTS_PER_SECOND: u64 = 20;
const ADDS_PER_SECOND: u64 = 50;
/// How long an `Add`'s client waits.
const ADD_DEADLINE: Duration = Duration::from_millis(300);
/// How long the front tier's client waits for each payment attempt.
const PAYMENT_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(500);

/// What the traffic saw.
#[derive(Debug, Default)]
struct Outcome {
    adds_judged: u32,
    adds_ok: u32,
    /// Latency of the judged Adds that succeeded, sorted.
    add_ok_latencies: Vec<Duration>,
    /// The most checkouts seen waiting on payment at once (sampled).
    most_waiting_on_payment: u32,
    checkouts: u32,
    checkouts_by_code: std::collections::BTreeMap<String, u32>,
}

impl Outcome {
    fn add_success(&self) -> f64 {
        f64::from(self.adds_ok) / f64::from(self.adds_judged.max(1))
    }

    /// What the report quotes: Add's goodput and p99 in the judged second.
    fn summary(&self) -> String {
        let p99 = self
            .add_ok_latencies
            .get(
                (self.add_ok_latencies.len() * 99)
                    .div_ceil(100)
                    .saturating_sub(1),
            )
            .map_or("-".to_owned(), |d| {
                format!("{:.1} ms", d.as_secs_f64() * 1e3)
            });
        format!(
            "Add: {}/{} ok in the judged {} ms ({:.0}/s), p99 of those ok {p99}; \
             checkouts {:?}; at most {} waiting on payment",
            self.adds_ok,
            self.adds_judged,
            (RUN - JUDGED_FROM).as_millis(),
            f64::from(self.adds_ok) / (RUN - JUDGED_FROM).as_secs_f64(),
            self.checkouts_by_code,
            self.most_waiting_on_payment
        )
    }
}

struct Tiers {
    server: TestServer,
    lab: Arc<LabState>,
}

impl Tiers {
    async fn start() -> Tiers {
        let config = Config {
            seed: Some(1),
            ..Config::default()
        };
        let (app, lab) = rpc_lab_server::app(&config, rpc_lab_server::Layers::All)
            .await
            .expect("the app");
        let server = TestServer::serve_router(app).await;
        lab.own_address.set(server.addr).unwrap();
        Tiers { server, lab }
    }

    /// Four front workers; a payment tier with no workers at all.
    fn configure(&self, client: PaymentClientSettings) {
        let (session, _) = self.lab.sessions.get(SESSION);
        let now = capacity::now();
        session.capacity.set(
            CapacitySettings {
                workers: Some(4),
                queue: 1000,
                service: Duration::from_millis(2),
                ..CapacitySettings::default()
            },
            now,
        );
        session.payment.set(
            PaymentTierSettings {
                capacity: Some(CapacitySettings {
                    workers: Some(4),
                    queue: 1000,
                    abandoned_work: AbandonedWork::CancelOnHangup,
                    brownout: Some(Brownout {
                        start: Duration::ZERO,
                        end: Duration::from_secs(600),
                        service_time_factor: 1.0,
                        workers: Some(0),
                    }),
                    ..CapacitySettings::default()
                }),
                client,
            },
            now,
        );
    }

    /// Checkouts and Adds side by side, on two connections, for [`RUN`].
    async fn traffic(&self) -> Outcome {
        let shop = ShopClient::new(self.server.channel().await);
        let calculator = CalculatorClient::new(self.server.channel().await);
        let start = Instant::now();
        let (session, _) = self.lab.sessions.get(SESSION);
        let sampler = tokio::spawn(async move {
            let mut most = 0;
            while start.elapsed() < RUN + ADD_DEADLINE {
                most = most.max(session.payment.bulkhead.waiting());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            most
        });
        let mut checkouts = tokio::task::JoinSet::new();
        let mut adds = tokio::task::JoinSet::new();
        let every = |per_second: u64| Duration::from_micros(1_000_000 / per_second);
        let mut next_checkout = start;
        let mut next_add = start;
        while next_checkout < start + RUN || next_add < start + RUN {
            if next_checkout <= next_add {
                tokio::time::sleep_until(next_checkout).await;
                checkouts.spawn(checkout(shop.clone()));
                next_checkout += every(CHECKOUTS_PER_SECOND);
            } else {
                tokio::time::sleep_until(next_add).await;
                let judged = next_add >= start + JUDGED_FROM;
                let calculator = calculator.clone();
                adds.spawn(async move {
                    let sent = Instant::now();
                    (judged, add(calculator).await.then(|| sent.elapsed()))
                });
                next_add += every(ADDS_PER_SECOND);
            }
        }
        let mut outcome = Outcome {
            most_waiting_on_payment: sampler.await.unwrap(),
            ..Outcome::default()
        };
        while let Some(done) = adds.join_next().await {
            let (judged, ok) = done.unwrap();
            if judged {
                outcome.adds_judged += 1;
                outcome.adds_ok += u32::from(ok.is_some());
                outcome.add_ok_latencies.extend(ok);
            }
        }
        while let Some(code) = checkouts.join_next().await {
            outcome.checkouts += 1;
            *outcome
                .checkouts_by_code
                .entry(format!("{:?}", code.unwrap()))
                .or_default() += 1;
        }
        outcome.add_ok_latencies.sort();
        outcome
    }
}

async fn add(mut calculator: CalculatorClient<Channel>) -> bool {
    // (`then` below: the latency is kept only for an Add that succeeded.)
    let mut call = request(
        BinaryOperation { a: 1.0, b: 2.0 },
        &[("x-lab-session", SESSION)],
    );
    call.set_timeout(ADD_DEADLINE);
    calculator.add(call).await.is_ok()
}

async fn checkout(mut shop: ShopClient<Channel>) -> Code {
    let mut call = request(
        CheckoutRequest { amount_cents: 100 },
        &[("x-lab-session", SESSION)],
    );
    call.set_timeout(Duration::from_secs(2));
    match shop.checkout(call).await {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

fn timeout_only() -> PaymentClientSettings {
    PaymentClientSettings {
        policy: RetryPolicy {
            per_attempt_timeout: Some(PAYMENT_ATTEMPT_TIMEOUT),
            ..RetryPolicy::no_retries()
        },
        ..PaymentClientSettings::default()
    }
}

fn breaker() -> BreakerConfig {
    BreakerConfig {
        window: SlidingWindow::Count { calls: 10 },
        minimum_calls: 4,
        failure_rate_threshold: 50.0,
        wait_in_open: Duration::from_secs(30),
        ..BreakerConfig::default()
    }
}

async fn run(client: PaymentClientSettings) -> (Outcome, Tiers) {
    let tiers = Tiers::start().await;
    tiers.configure(client);
    let outcome = tiers.traffic().await;
    let (session, _) = tiers.lab.sessions.get(SESSION);
    eprintln!("{}\n{:?}", outcome.summary(), session.payment.snapshot());
    (outcome, tiers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_breaker_a_hanging_payment_takes_add_down_with_it() {
    let (outcome, _tiers) = run(timeout_only()).await;
    assert!(
        outcome.add_success() < 0.2,
        "Add should starve behind checkouts waiting on payment: {outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaker_in_the_front_tier_fails_checkouts_fast_and_add_stays_healthy() {
    let (outcome, _tiers) = run(PaymentClientSettings {
        breaker: Some(breaker()),
        ..timeout_only()
    })
    .await;
    assert!(
        outcome.add_success() > 0.8,
        "Add should be served once the breaker is open: {outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulkhead_leaves_workers_for_add() {
    let (outcome, _tiers) = run(PaymentClientSettings {
        bulkhead: Some(2),
        ..timeout_only()
    })
    .await;
    assert!(
        outcome.add_success() > 0.8,
        "two workers are always left for Add: {outcome:?}"
    );
}
