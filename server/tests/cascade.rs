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
//!
//! Every setting goes over the wire, as a lesson's would: the front tier's
//! capacity with `Lab/SetCapacity`, the payment tier with
//! `Lab/SetPaymentTier`. The same steps are then driven by the load engine
//! (`Lab/RunLoad` with `operation: CHECKOUT`, a `payment_tier` and a
//! background of `Add`s), which is how the page runs the lesson.

mod common;

use std::time::Duration;

use common::{TestServer, request};
use rpc_lab::load_policy::to_load_policy;
use rpc_lab::proto::calculator_v1::{
    AbandonedWork, BackgroundLoad, Brownout, Capacity, GetStatsRequest, LabStats, LoadOperation,
    LoadPolicy, LoadScenario, LoadSnapshot, OpenLoop, PaymentBreakerState, PaymentTier,
    ResetSessionRequest, SetCapacityRequest, SetPaymentTierRequest, load_scenario::Arrival,
};
use rpc_lab::proto::{BinaryOperation, CalculatorClient, LabClient};
use rpc_lab::resilience::{BreakerConfig, RetryPolicy, SlidingWindow};
use rpc_lab_server::load::client_deadline::named_by_grpc;
use rpc_lab_server::shop::PaymentClientSettings;
use rpc_lab_server::shop::proto::CheckoutRequest;
use rpc_lab_server::shop::proto::shop_client::ShopClient;
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
/// How long a checkout's own client waits.
const CHECKOUT_DEADLINE: Duration = Duration::from_secs(2);

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

/// Four front workers, a queue, 2 ms of service: the session's own capacity,
/// which checkouts and `Add`s share.
fn front_capacity() -> Capacity {
    Capacity {
        workers: 4,
        queue: 1000,
        service_ms: 2,
        ..Capacity::default()
    }
}

/// A payment tier that hangs: four workers, none of them there for the
/// whole test (a brownout with no workers); and the front tier's `client`.
fn hanging_payment(client: &PaymentClientSettings) -> PaymentTier {
    PaymentTier {
        capacity: Some(Capacity {
            workers: 4,
            queue: 1000,
            abandoned_work: AbandonedWork::CancelOnHangup.into(),
            brownout: Some(Brownout {
                start_ms: 0,
                end_ms: 600_000,
                service_time_factor: None,
                workers: Some(0),
            }),
            ..Capacity::default()
        }),
        client: Some(to_load_policy(&client.policy, client.breaker.as_ref())),
        bulkhead: client.bulkhead,
    }
}

fn in_session<T>(message: T) -> tonic::Request<T> {
    request(message, &[("x-lab-session", SESSION)])
}

async fn lab(server: &TestServer) -> LabClient<Channel> {
    server.clients().await.lab
}

async fn stats(lab: &mut LabClient<Channel>) -> LabStats {
    lab.get_stats(in_session(GetStatsRequest {}))
        .await
        .expect("GetStats")
        .into_inner()
}

/// The front tier's capacity and the hanging payment tier, over the wire.
async fn configure(server: &TestServer, client: &PaymentClientSettings) {
    let mut lab = lab(server).await;
    lab.set_capacity(in_session(SetCapacityRequest {
        capacity: Some(front_capacity()),
    }))
    .await
    .expect("SetCapacity");
    let tier = hanging_payment(client);
    let stored = lab
        .set_payment_tier(in_session(SetPaymentTierRequest {
            payment_tier: Some(tier.clone()),
        }))
        .await
        .expect("SetPaymentTier")
        .into_inner();
    assert_eq!(stored.client, tier.client, "the client, as it was stored");
    assert_eq!(stored.bulkhead, tier.bulkhead);
    let stored_brownout = stored.capacity.and_then(|c| c.brownout);
    assert_eq!(
        stored_brownout.and_then(|b| b.workers),
        Some(0),
        "payment's outage, as it was stored"
    );
}

/// Checkouts and Adds side by side, on two connections, for [`RUN`].
async fn traffic(server: &TestServer) -> Outcome {
    let shop = ShopClient::new(server.channel().await);
    let calculator = CalculatorClient::new(server.channel().await);
    let start = Instant::now();
    // The server's own gauge, read over the wire as the run goes.
    let mut watcher = lab(server).await;
    let sampler = tokio::spawn(async move {
        let mut most = 0;
        while start.elapsed() < RUN + ADD_DEADLINE {
            most = most.max(stats(&mut watcher).await.checkouts_waiting_on_payment);
            tokio::time::sleep(Duration::from_millis(10)).await;
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

async fn add(mut calculator: CalculatorClient<Channel>) -> bool {
    // (`then` above: the latency is kept only for an Add that succeeded.)
    let mut call = in_session(BinaryOperation { a: 1.0, b: 2.0 });
    call.set_timeout(ADD_DEADLINE);
    calculator.add(call).await.is_ok()
}

async fn checkout(mut shop: ShopClient<Channel>) -> Code {
    let mut call = in_session(CheckoutRequest { amount_cents: 100 });
    call.set_timeout(CHECKOUT_DEADLINE);
    // tonic's own expired deadline is CANCELLED; gRPC calls it
    // DEADLINE_EXCEEDED, and so does the report.
    match shop.checkout(call).await.map_err(named_by_grpc) {
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

fn with_breaker() -> PaymentClientSettings {
    PaymentClientSettings {
        breaker: Some(breaker()),
        ..timeout_only()
    }
}

fn with_bulkhead() -> PaymentClientSettings {
    PaymentClientSettings {
        bulkhead: Some(2),
        ..timeout_only()
    }
}

async fn run(client: PaymentClientSettings) -> (Outcome, TestServer) {
    let server = TestServer::start().await;
    configure(&server, &client).await;
    let outcome = traffic(&server).await;
    let s = stats(&mut lab(&server).await).await;
    eprintln!(
        "{}\ncheckouts: {} paid, {} payment failed, {} rejected by the breaker, {} bulkhead full",
        outcome.summary(),
        s.checkouts_paid,
        s.checkouts_payment_failed,
        s.checkouts_rejected_by_breaker,
        s.checkouts_bulkhead_full
    );
    (outcome, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_breaker_a_hanging_payment_takes_add_down_with_it() {
    let (outcome, _server) = run(timeout_only()).await;
    assert!(
        outcome.add_success() < 0.2,
        "Add should starve behind checkouts waiting on payment: {outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaker_in_the_front_tier_fails_checkouts_fast_and_add_stays_healthy() {
    let (outcome, _server) = run(with_breaker()).await;
    assert!(
        outcome.add_success() > 0.8,
        "Add should be served once the breaker is open: {outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulkhead_leaves_workers_for_add() {
    let (outcome, _server) = run(with_bulkhead()).await;
    assert!(
        outcome.add_success() > 0.8,
        "two workers are always left for Add: {outcome:?}"
    );
}

// ---- Lab/SetPaymentTier itself ---------------------------------------------

#[tokio::test]
async fn set_payment_tier_names_a_bad_field_and_reset_session_clears_it() {
    let server = TestServer::start().await;
    let mut lab = lab(&server).await;
    let mut shop = ShopClient::new(server.channel().await);

    for (tier, field) in [
        (
            PaymentTier {
                capacity: Some(Capacity {
                    queue: u32::MAX,
                    ..Capacity::default()
                }),
                ..PaymentTier::default()
            },
            "payment_tier.capacity.queue",
        ),
        (
            PaymentTier {
                client: Some(LoadPolicy::default()),
                ..PaymentTier::default()
            },
            "payment_tier.client.max_attempts",
        ),
    ] {
        let error = lab
            .set_payment_tier(in_session(SetPaymentTierRequest {
                payment_tier: Some(tier),
            }))
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument);
        assert!(error.message().starts_with(field), "{}", error.message());
    }

    // A bulkhead of 0 lets no checkout wait: refused, payment not called.
    lab.set_payment_tier(in_session(SetPaymentTierRequest {
        payment_tier: Some(PaymentTier {
            bulkhead: Some(0),
            ..PaymentTier::default()
        }),
    }))
    .await
    .expect("SetPaymentTier");
    let refused = shop
        .checkout(in_session(CheckoutRequest { amount_cents: 100 }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    let s = stats(&mut lab).await;
    assert_eq!((s.checkouts_bulkhead_full, s.checkouts_paid), (1, 0));
    assert_eq!(
        s.executions.get("/shop.v1.Payment/Charge"),
        None,
        "payment was not called"
    );

    // ResetSession forgets the tier (and its counts): the next checkout pays.
    lab.reset_session(in_session(ResetSessionRequest { seed: None }))
        .await
        .expect("ResetSession");
    let paid = shop
        .checkout(in_session(CheckoutRequest { amount_cents: 100 }))
        .await
        .expect("a checkout with the default tier pays")
        .into_inner();
    assert_eq!(paid.payment_attempts, 1);
    let s = stats(&mut lab).await;
    assert_eq!((s.checkouts_bulkhead_full, s.checkouts_paid), (0, 1));
    assert_eq!(s.executions.get("/shop.v1.Payment/Charge"), Some(&1));
}

/// A checkout whose shopper gives up while it waits on payment, under
/// `CANCEL_ON_HANGUP`: the front tier stops it part-way. It reached its
/// handler and held a worker, so it is neither "cancelled before it ran" nor
/// a finished execution: it is counted interrupted, and as a checkout
/// abandoned — every checkout that reached its handler counted once.
#[tokio::test]
async fn a_checkout_whose_shopper_leaves_while_it_waits_on_payment_is_counted_abandoned() {
    let server = TestServer::start().await;
    let mut lab = lab(&server).await;
    lab.set_capacity(in_session(SetCapacityRequest {
        capacity: Some(Capacity {
            abandoned_work: AbandonedWork::CancelOnHangup.into(),
            ..front_capacity()
        }),
    }))
    .await
    .expect("SetCapacity");
    // Payment hangs, and the front tier would wait 5 s for it: far longer
    // than the shopper's 300 ms.
    let patient = PaymentClientSettings {
        policy: RetryPolicy {
            per_attempt_timeout: Some(Duration::from_secs(5)),
            ..RetryPolicy::no_retries()
        },
        ..PaymentClientSettings::default()
    };
    lab.set_payment_tier(in_session(SetPaymentTierRequest {
        payment_tier: Some(hanging_payment(&patient)),
    }))
    .await
    .expect("SetPaymentTier");

    let mut shop = ShopClient::new(server.channel().await);
    let mut call = in_session(CheckoutRequest { amount_cents: 100 });
    call.set_timeout(Duration::from_millis(300));
    let gave_up = shop
        .checkout(call)
        .await
        .map_err(named_by_grpc)
        .unwrap_err();
    assert_eq!(gave_up.code(), Code::DeadlineExceeded, "{gave_up:?}");

    // The server notices the hang-up when hyper drops the request; read
    // until it has (a few ms), at most for 5 s.
    let give_up_at = Instant::now() + Duration::from_secs(5);
    let s = loop {
        let s = stats(&mut lab).await;
        if s.checkouts_abandoned > 0 || Instant::now() > give_up_at {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(s.checkouts_abandoned, 1, "{s:?}");
    assert_eq!(
        (
            s.checkouts_paid,
            s.checkouts_payment_failed,
            s.checkouts_rejected_by_breaker,
            s.checkouts_bulkhead_full,
            s.checkouts_waiting_on_payment
        ),
        (0, 0, 0, 0, 0),
        "no other ending, and its place in the bulkhead given back"
    );
    assert_eq!(
        (
            s.executions_started,
            s.executions_interrupted,
            s.executions_cancelled,
            s.executions_finished,
            s.executions_in_flight
        ),
        (1, 1, 0, 0, 0),
        "it got a worker and its handler ran part-way; the worker is free again"
    );
    assert_eq!(
        s.executions.get("/shop.v1.Shop/Checkout"),
        None,
        "an interrupted checkout is not an execution"
    );
}

// ---- The same lesson, driven by the load engine ----------------------------

/// The cascade as the page runs it: checkouts as the run's operation (open
/// loop, 20/s), `Add`s as its background (50/s, 300 ms deadline), the front
/// capacity and the hanging payment tier in the scenario itself.
fn cascade_scenario(client: &PaymentClientSettings) -> LoadScenario {
    let one_attempt = |timeout: Duration| LoadPolicy {
        max_attempts: 1,
        initial_backoff_ms: 10,
        max_backoff_ms: 100,
        backoff_multiplier: 2.0,
        attempt_timeout_ms: Some(timeout.as_millis() as u32),
        ..LoadPolicy::default()
    };
    LoadScenario {
        arrival: Some(Arrival::Open(OpenLoop {
            rate_per_second: CHECKOUTS_PER_SECOND as f64,
            poisson: false,
        })),
        duration_ms: RUN.as_millis() as u32,
        operation: LoadOperation::Checkout.into(),
        policy: Some(one_attempt(CHECKOUT_DEADLINE)),
        capacity: Some(front_capacity()),
        payment_tier: Some(Box::new(hanging_payment(client))),
        background: Some(Box::new(BackgroundLoad {
            rate_per_second: ADDS_PER_SECOND as f64,
            operation: LoadOperation::Add.into(),
            policy: Some(one_attempt(ADD_DEADLINE)),
            shared_client: false,
        })),
        seed: Some(1),
        ..LoadScenario::default()
    }
}

/// What the engine reported about the background `Add`s that ended after
/// [`JUDGED_FROM`], and the run's summary.
struct EngineOutcome {
    judged_started: u64,
    judged_ok: u64,
    judged_failed: u64,
    /// The worst p99 of the judged windows (ms).
    judged_p99_ms: f64,
    most_waiting_on_payment: u32,
    /// The front tier's payment breaker, window by window, each state
    /// once in the order it came.
    breaker_states: Vec<PaymentBreakerState>,
    summary: LoadSnapshot,
}

impl EngineOutcome {
    fn add_success(&self) -> f64 {
        self.judged_ok as f64 / (self.judged_ok + self.judged_failed).max(1) as f64
    }
}

async fn engine_run(client: PaymentClientSettings) -> EngineOutcome {
    let server = TestServer::start().await;
    let mut lab = lab(&server).await;
    let mut stream = lab
        .run_load(in_session(cascade_scenario(&client)))
        .await
        .expect("RunLoad")
        .into_inner();
    let mut all = Vec::new();
    while let Some(snapshot) = stream.message().await.expect("a snapshot") {
        all.push(snapshot);
    }
    let summary = all.pop().expect("a summary");
    assert!(summary.r#final && !summary.stopped);
    let judged_ms: u32 = all
        .iter()
        .filter(|w| u128::from(w.elapsed_ms - w.window_ms) >= JUDGED_FROM.as_millis())
        .map(|w| w.window_ms)
        .sum();
    let judged: Vec<_> = all
        .iter()
        // Windows that began at JUDGED_FROM or later (their calls ended then).
        .filter(|w| u128::from(w.elapsed_ms - w.window_ms) >= JUDGED_FROM.as_millis())
        .map(|w| {
            w.background
                .expect("every window of a run with a background has it")
        })
        .collect();
    let outcome = EngineOutcome {
        judged_started: judged.iter().map(|b| b.calls_started).sum(),
        judged_ok: judged.iter().map(|b| b.calls_succeeded).sum(),
        judged_failed: judged.iter().map(|b| b.calls_failed).sum(),
        judged_p99_ms: judged.iter().map(|b| b.latency_p99_ms).fold(0.0, f64::max),
        most_waiting_on_payment: all.iter().map(|w| w.waiting_on_payment).max().unwrap_or(0),
        breaker_states: all.iter().fold(Vec::new(), |mut states, w| {
            if states.last() != Some(&w.payment_breaker()) {
                states.push(w.payment_breaker());
            }
            states
        }),
        summary,
    };
    let background = outcome.summary.background.expect("the run's background");
    let s = stats(&mut lab).await;
    eprintln!(
        "background Add in the {judged_ms} ms after {} ms: {} started, {} ok, {} failed ({:.0} % ok, {:.0}/s), worst \
         window p99 {:.0} ms; whole run: {}/{} ok, p99 {:.0} ms; checkouts {:?}; at most {} \
         waiting on payment; server: {} paid, {} payment failed, {} rejected by the breaker, \
         {} bulkhead full",
        JUDGED_FROM.as_millis(),
        outcome.judged_started,
        outcome.judged_ok,
        outcome.judged_failed,
        outcome.add_success() * 100.0,
        outcome.judged_ok as f64 * 1000.0 / f64::from(judged_ms.max(1)),
        outcome.judged_p99_ms,
        background.calls_succeeded,
        background.calls_started,
        background.latency_p99_ms,
        outcome.summary.attempts_by_code,
        outcome.most_waiting_on_payment,
        s.checkouts_paid,
        s.checkouts_payment_failed,
        s.checkouts_rejected_by_breaker,
        s.checkouts_bulkhead_full
    );
    // The background's counts are its own: every call it started ended,
    // and none of them is among the run's (checkout) calls.
    assert_eq!(
        background.calls_started,
        background.calls_succeeded + background.calls_failed
    );
    assert_eq!(
        outcome.summary.calls_started,
        outcome.summary.calls_succeeded + outcome.summary.calls_failed
    );
    assert_eq!(
        s.executions
            .get("/shop.v1.Shop/Checkout")
            .copied()
            .unwrap_or(0),
        outcome.summary.server_executions,
        "the run's executions are the checkouts'"
    );
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_shows_add_collapse_without_a_breaker_and_stay_up_with_one() {
    let naive = engine_run(timeout_only()).await;
    assert!(
        naive.judged_started >= 40,
        "about 50 Adds are started in the judged second: {}",
        naive.judged_started
    );
    assert!(
        naive.add_success() < 0.2,
        "without a breaker the background Adds starve: {} ok of {}",
        naive.judged_ok,
        naive.judged_ok + naive.judged_failed
    );
    assert_eq!(
        naive.most_waiting_on_payment, 4,
        "every front worker ends up waiting on payment"
    );
    assert_eq!(naive.breaker_states, [PaymentBreakerState::Unspecified]);

    let guarded = engine_run(with_breaker()).await;
    assert!(
        guarded.add_success() > 0.8,
        "with a breaker the background Adds are served: {} ok of {}",
        guarded.judged_ok,
        guarded.judged_ok + guarded.judged_failed
    );
    assert!(
        guarded.judged_ok >= 3 * naive.judged_ok.max(1),
        "goodput: {} with a breaker, {} without",
        guarded.judged_ok,
        naive.judged_ok
    );
    // The snapshots show the server's breaker learn, then open (for 30 s:
    // the rest of the run).
    assert_eq!(
        guarded.breaker_states,
        [PaymentBreakerState::Closed, PaymentBreakerState::Open]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_shows_a_bulkhead_keeping_add_up() {
    let bulkhead = engine_run(with_bulkhead()).await;
    assert!(
        bulkhead.add_success() > 0.8,
        "two workers are always left for Add: {} ok of {}",
        bulkhead.judged_ok,
        bulkhead.judged_ok + bulkhead.judged_failed
    );
    assert!(
        bulkhead.most_waiting_on_payment <= 2,
        "the bulkhead lets at most two wait: {}",
        bulkhead.most_waiting_on_payment
    );
}
