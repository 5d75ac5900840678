//! Running a scenario: virtual clients, ticks every 100 ms, the stream.
//!
//! The resilience core's `ResilientCaller` is single-threaded on purpose
//! (the browser has one thread; see `rpc_lab::resilience::caller`), so its
//! futures are not `Send`. A run therefore gets a thread of its own with a
//! single-threaded tokio runtime and a `LocalSet`, where every virtual call
//! is a local task. The calls go to the server's own address over real
//! HTTP/2 connections, like any client's. Snapshots leave the thread through
//! a bounded channel, which is the RPC's response stream.
//!
//! Stopping: when the client cancels the stream (Stop on the page, a closed
//! tab, Ctrl-C in grpcurl) the channel's receiver is dropped; the run sees
//! that at once (`Sender::closed`), aborts the task that schedules calls and
//! every call in flight, and its runtime, connections and thread go away.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use rpc_lab::headers;
use rpc_lab::proto::calculator_v1::{
    AmountRequest, CompareAndSetRequest, GetValueRequest, IncrementRequest, LoadSnapshot,
};
use rpc_lab::proto::{AccountClient, BinaryOperation, CalculatorClient, StoreClient};
use rpc_lab::resilience::{
    BreakerConfig, BreakerState, CircuitBreaker, Clock, DiscardEvents, Event, EventKind, EventSink,
    ResilientCaller, RetryPolicy, SeededRng, TokioClock,
};
use tokio::sync::mpsc;
use tokio::task::{JoinSet, LocalSet};
use tokio::time::{Instant, MissedTickBehavior};
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status};

use super::RunSlot;
use super::aggregate::{Aggregator, Gauges};
use super::client_deadline::named_by_grpc;
use super::pacer::Pacer;
use super::scenario::{Arrival, Background, Faults, Operation, Scenario};
use super::schedule::{Arrivals, Schedule};
use crate::shop::proto::CheckoutRequest;
use crate::shop::proto::shop_client::ShopClient;
use crate::state::LabState;

/// How often a snapshot is sent.
pub const WINDOW: Duration = Duration::from_millis(100);

/// Calls in flight per connection: the server lets an HTTP/2 connection
/// carry 100 at once (`--max-concurrent-streams`), so the engine opens
/// enough connections that its clients do not queue behind one.
const CALLS_PER_CONNECTION: u32 = 90;
/// Connections per run, at most.
const MAX_CONNECTIONS: u32 = 32;

/// Tasks the run's runtime polls between two looks at its timers and
/// sockets (tokio's default is 61): lower, so a send that is due is not kept
/// waiting behind a long round of replies.
const EVENT_INTERVAL: u32 = 8;

pub type SnapshotStream = mpsc::Receiver<Result<LoadSnapshot, Status>>;

/// Starts `scenario` in `session` against the server at `target`; the run
/// holds `slot` until it ends. The receiver is the response stream.
pub fn start(
    scenario: Scenario,
    target: SocketAddr,
    session: Arc<str>,
    lab: Arc<LabState>,
    slot: RunSlot,
) -> Result<SnapshotStream, Status> {
    let (tx, rx) = mpsc::channel(64);
    // The run's clock starts now; an open loop's pacer counts from here.
    let start = Instant::now();
    let pacer = match scenario.arrival {
        Arrival::Open { rate, arrivals, .. } => {
            let schedule = Schedule::new(rate, arrivals, scenario.seed);
            let pacer = Pacer::start(schedule, start.into_std(), scenario.duration)
                .map_err(|e| Status::internal(format!("cannot start a load run: {e}")))?;
            Some(pacer)
        }
        Arrival::Closed { .. } => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .event_interval(EVENT_INTERVAL)
        .build()
        .map_err(|e| Status::internal(format!("cannot start a load run: {e}")))?;
    std::thread::Builder::new()
        .name(format!("load-{session}"))
        .spawn(move || {
            let run = Run {
                scenario,
                target,
                session,
                lab,
                start,
                pacer: Cell::new(pacer),
            };
            let stopping = slot.stopping.clone();
            LocalSet::new().block_on(&runtime, run.run(tx, stopping));
            drop(slot);
        })
        .map_err(|e| Status::internal(format!("cannot start a load run: {e}")))?;
    Ok(rx)
}

struct Run {
    scenario: Scenario,
    target: SocketAddr,
    session: Arc<str>,
    lab: Arc<LabState>,
    /// When the run started: its time axis, the schedule's and the fault
    /// windows' origin.
    start: Instant,
    /// An open loop's send times, taken by the task that sends the calls.
    pacer: Cell<Option<Pacer>>,
}

/// What every task of a run shares (all on the run's one thread).
struct Shared {
    aggregator: RefCell<Aggregator>,
    /// The callers that live for the whole run, for the breaker and budget
    /// gauges: one if shared, one per closed-loop client otherwise.
    callers: RefCell<Vec<Rc<ResilientCaller>>>,
    in_flight: Cell<u64>,
    /// Background calls in flight (counted apart: they have a cap of their own).
    background_in_flight: Cell<u64>,
    started: Cell<u64>,
}

impl Run {
    async fn run(
        self,
        tx: mpsc::Sender<Result<LoadSnapshot, Status>>,
        mut server_stopping: tokio::sync::watch::Receiver<bool>,
    ) {
        let start = self.start;
        let aggregator = match self.scenario.background {
            Some(_) => Aggregator::with_background(),
            None => Aggregator::new(),
        };
        let shared = Rc::new(Shared {
            aggregator: RefCell::new(aggregator),
            callers: RefCell::default(),
            in_flight: Cell::new(0),
            background_in_flight: Cell::new(0),
            started: Cell::new(0),
        });
        let mut executions = self.executions();
        let this = Rc::new(self);
        let mut driver = tokio::task::spawn_local(this.clone().drive(shared.clone(), start));
        let mut ticks = tokio::time::interval_at(start + WINDOW, WINDOW);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut server_stops = std::pin::pin!(server_stopping.wait_for(|stopping| *stopping));
        let mut ended_early = false;
        let cancelled = loop {
            tokio::select! {
                biased;
                _ = tx.closed() => break true,
                _ = &mut server_stops => {
                    // The server is stopping: end the run, but still tell
                    // the client what it did.
                    driver.abort();
                    ended_early = true;
                    break false;
                }
                _ = &mut driver => break false,
                _ = ticks.tick() => {
                    let snapshot = this.window(&shared, start, &mut executions);
                    if tx.send(Ok(snapshot)).await.is_err() {
                        break true;
                    }
                }
            }
        };
        if cancelled {
            // Nobody listens: stop scheduling and abort every call in flight
            // (the driver owns them; aborting it drops its JoinSet).
            driver.abort();
            tracing::info!(session = %this.session, "load run stopped: its stream was cancelled");
            return;
        }
        let last = this.window(&shared, start, &mut executions);
        if last.window_ms > 0 {
            let _ = tx.send(Ok(last)).await;
        }
        let summary = shared.aggregator.borrow().summary(
            start.elapsed(),
            this.gauges(&shared, 0),
            ended_early,
        );
        tracing::info!(
            session = %this.session,
            calls = summary.calls_started,
            attempts = summary.attempts_sent,
            "load run finished"
        );
        let _ = tx.send(Ok(summary)).await;
    }

    /// Starts every call of the run, the background's too, and waits for
    /// them all. Both are parts of this one task, so aborting it (a stop)
    /// drops every call in flight.
    async fn drive(self: Rc<Self>, shared: Rc<Shared>, start: Instant) {
        let channels = self.channels();
        let background = self.scenario.background.as_ref().map(|background| {
            self.clone()
                .drive_background(background, shared.clone(), channels.clone(), start)
        });
        let main = self.clone().drive_main(shared, channels, start);
        match background {
            Some(background) => {
                tokio::join!(main, background);
            }
            None => main.await,
        }
    }

    /// The run's own operation, as its arrival says.
    async fn drive_main(
        self: Rc<Self>,
        shared: Rc<Shared>,
        channels: Vec<Channel>,
        start: Instant,
    ) {
        let sink: Rc<dyn EventSink> = {
            let shared = shared.clone();
            Rc::new(move |event: Event| record(&shared, event))
        };
        let clock: Rc<dyn Clock> = Rc::new(TokioClock::new());
        let seed = self.scenario.seed;
        let make_caller = |n: u64| -> Rc<ResilientCaller> {
            let rng = SeededRng::new(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            build_caller(
                &self.scenario.policy,
                self.scenario.breaker.as_ref(),
                clock.clone(),
                rng,
                sink.clone(),
            )
        };
        let mut calls = JoinSet::new();
        let end = start + self.scenario.duration;
        let max_calls = self.scenario.max_calls;
        match self.scenario.arrival {
            Arrival::Closed { clients, think } => {
                let common = self.scenario.shared_client.then(|| make_caller(0));
                for client in 0..clients {
                    let caller = common.clone().unwrap_or_else(|| make_caller(client.into()));
                    if common.is_none() || client == 0 {
                        shared.callers.borrow_mut().push(caller.clone());
                    }
                    let channel = channels[client as usize % channels.len()].clone();
                    let (this, shared) = (self.clone(), shared.clone());
                    // Each client's first call is claimed here, in client
                    // order, before any task runs: with max_calls at most
                    // the clients, each of the first max_calls clients makes
                    // exactly one call (N writers, one write each), however
                    // the tasks happen to be polled.
                    let mut claimed = take_call(&shared, max_calls);
                    calls.spawn_local(async move {
                        while claimed && Instant::now() < end {
                            let intended = Instant::now();
                            shared.aggregator.borrow_mut().call_started(None);
                            let in_flight = InFlight::enter(&shared, Counter::Main);
                            let ok = this
                                .call(this.scenario.operation, &caller, channel.clone(), in_flight)
                                .await;
                            shared
                                .aggregator
                                .borrow_mut()
                                .call_ended(ok, intended.elapsed());
                            if !think.is_zero() {
                                tokio::time::sleep(think).await;
                            }
                            claimed = take_call(&shared, max_calls);
                        }
                    });
                }
            }
            Arrival::Open { in_flight, .. } => {
                let common = self.scenario.shared_client.then(|| make_caller(0));
                if let Some(caller) = &common {
                    shared.callers.borrow_mut().push(caller.clone());
                }
                // The send times come from the pacer's thread, to a
                // fraction of a millisecond (tokio's timers tick once a
                // millisecond; see `pacer`). Dropping it (the run is
                // aborted) stops that thread.
                let Some(mut pacer) = self.pacer.take() else {
                    // `start` made one for every open loop.
                    return;
                };
                while let Some((n, offset)) = pacer.next().await {
                    let intended = start + offset;
                    // Reap finished calls, so the set holds only live ones.
                    while calls.try_join_next().is_some() {}
                    if shared.in_flight.get() >= u64::from(in_flight) {
                        shared.aggregator.borrow_mut().call_not_sent();
                        continue;
                    }
                    if !take_call(&shared, max_calls) {
                        break;
                    }
                    let lag = Instant::now().saturating_duration_since(intended);
                    shared.aggregator.borrow_mut().call_started(Some(lag));
                    let caller = common.clone().unwrap_or_else(|| make_caller(n as u64 + 1));
                    let channel = channels[n % channels.len()].clone();
                    let (this, shared) = (self.clone(), shared.clone());
                    let in_flight = InFlight::enter(&shared, Counter::Main);
                    calls.spawn_local(async move {
                        let ok = this
                            .call(this.scenario.operation, &caller, channel, in_flight)
                            .await;
                        shared
                            .aggregator
                            .borrow_mut()
                            .call_ended(ok, intended.elapsed());
                    });
                }
            }
        }
        while calls.join_next().await.is_some() {}
    }

    /// The background calls: evenly spaced from the run's start, for the
    /// run's duration, with their own client. Their events are not the
    /// run's (the main counts stay the main operation's): only the calls are
    /// counted, apart.
    async fn drive_background(
        self: Rc<Self>,
        background: &Background,
        shared: Rc<Shared>,
        channels: Vec<Channel>,
        start: Instant,
    ) {
        let clock: Rc<dyn Clock> = Rc::new(TokioClock::new());
        // Another stream of jitter than the main clients'.
        let seed = self.scenario.seed ^ 0xB4C6_6201_0D00_0001;
        let make_caller = |n: u64| {
            build_caller(
                &background.policy,
                background.breaker.as_ref(),
                clock.clone(),
                SeededRng::new(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                Rc::new(DiscardEvents),
            )
        };
        let common = background.shared_client.then(|| make_caller(0));
        let mut calls = JoinSet::new();
        let schedule = Schedule::new(background.rate, Arrivals::Constant, seed);
        for (n, offset) in schedule.enumerate() {
            if offset >= self.scenario.duration {
                break;
            }
            let intended = start + offset;
            tokio::time::sleep_until(intended).await;
            while calls.try_join_next().is_some() {}
            if shared.background_in_flight.get() >= u64::from(background.in_flight) {
                shared.aggregator.borrow_mut().background_not_sent();
                continue;
            }
            shared.aggregator.borrow_mut().background_started();
            let caller = common.clone().unwrap_or_else(|| make_caller(n as u64 + 1));
            let channel = channels[n % channels.len()].clone();
            let (this, shared) = (self.clone(), shared.clone());
            let in_flight = InFlight::enter(&shared, Counter::Background);
            let operation = background.operation;
            calls.spawn_local(async move {
                let ok = this.call(operation, &caller, channel, in_flight).await;
                shared
                    .aggregator
                    .borrow_mut()
                    .background_ended(ok, intended.elapsed());
            });
        }
        while calls.join_next().await.is_some() {}
    }

    /// One logical call of `operation`: whether it succeeded. Every native
    /// call's error goes through [`named_by_grpc`], so an attempt whose
    /// deadline passed is DEADLINE_EXCEEDED (retryable), not CANCELLED.
    async fn call(
        &self,
        operation: Operation,
        caller: &ResilientCaller,
        channel: Channel,
        _in_flight: InFlight,
    ) -> bool {
        let spec = operation.spec();
        let decorate = |request: &mut tonic::metadata::MetadataMap| {
            self.decorate(request);
        };
        let result = match operation {
            Operation::Add => {
                let client = CalculatorClient::new(channel);
                caller
                    .call(spec, |attempt| {
                        let mut request = Request::new(BinaryOperation { a: 1.0, b: 2.0 });
                        attempt.prepare(&mut request);
                        decorate(request.metadata_mut());
                        let mut client = client.clone();
                        async move {
                            client
                                .add(request)
                                .await
                                .map(drop_body)
                                .map_err(named_by_grpc)
                        }
                    })
                    .await
            }
            Operation::Deposit | Operation::Withdraw => {
                let client = AccountClient::new(channel);
                let withdraw = operation == Operation::Withdraw;
                caller
                    .call(spec, |attempt| {
                        let mut request = Request::new(AmountRequest {
                            account: "load".into(),
                            amount_cents: 1,
                        });
                        attempt.prepare(&mut request);
                        decorate(request.metadata_mut());
                        let mut client = client.clone();
                        async move {
                            if withdraw {
                                client
                                    .withdraw(request)
                                    .await
                                    .map(drop_body)
                                    .map_err(named_by_grpc)
                            } else {
                                client
                                    .deposit(request)
                                    .await
                                    .map(drop_body)
                                    .map_err(named_by_grpc)
                            }
                        }
                    })
                    .await
            }
            Operation::Increment => {
                let client = StoreClient::new(channel);
                caller
                    .call(spec, |attempt| {
                        let mut request = Request::new(IncrementRequest {
                            key: "load".into(),
                            delta: 1.0,
                        });
                        attempt.prepare(&mut request);
                        decorate(request.metadata_mut());
                        let mut client = client.clone();
                        async move {
                            client
                                .increment(request)
                                .await
                                .map(drop_body)
                                .map_err(named_by_grpc)
                        }
                    })
                    .await
            }
            Operation::OptimisticWrite => {
                let client = StoreClient::new(channel);
                caller
                    .call(spec, |attempt| {
                        // The read gets the attempt's time but never its
                        // key: a keyed read would be replayed on the retry,
                        // handing back the stale version for ever.
                        let mut read = Request::new(GetValueRequest { key: "load".into() });
                        if let Some(timeout) = attempt.timeout() {
                            read.set_timeout(timeout);
                        }
                        decorate(read.metadata_mut());
                        let (attempt, decorate) = (*attempt, decorate);
                        let mut client = client.clone();
                        async move {
                            let seen = client
                                .get_versioned_value(read)
                                .await
                                .map_err(named_by_grpc)?
                                .into_inner();
                            let mut write = Request::new(CompareAndSetRequest {
                                key: "load".into(),
                                expected_version: seen.version,
                                value: seen.value + 1.0,
                            });
                            attempt.prepare(&mut write);
                            decorate(write.metadata_mut());
                            client
                                .compare_and_set(write)
                                .await
                                .map(drop_body)
                                .map_err(named_by_grpc)
                        }
                    })
                    .await
            }
            Operation::Checkout => {
                let client = ShopClient::new(channel);
                caller
                    .call(spec, |attempt| {
                        let mut request = Request::new(CheckoutRequest { amount_cents: 100 });
                        attempt.prepare(&mut request);
                        decorate(request.metadata_mut());
                        let mut client = client.clone();
                        async move {
                            client
                                .checkout(request)
                                .await
                                .map(drop_body)
                                .map_err(named_by_grpc)
                        }
                    })
                    .await
            }
        };
        result.is_ok()
    }

    /// The session and the scenario's fault headers, on every attempt: the
    /// faults of the window the attempt is sent in, if any.
    fn decorate(&self, metadata: &mut tonic::metadata::MetadataMap) {
        if let Ok(session) = MetadataValue::try_from(&*self.session) {
            metadata.insert(headers::LAB_SESSION, session);
        }
        let Faults {
            fail,
            drop,
            delay_ms,
        } = self.scenario.faults_at(self.start.elapsed());
        let mut put = |name: &'static str, value: String| {
            if let Ok(value) = MetadataValue::try_from(value) {
                metadata.insert(name, value);
            }
        };
        if fail > 0.0 {
            put(headers::FAULT_FAIL, fail.to_string());
        }
        if drop > 0.0 {
            put(headers::FAULT_DROP, drop.to_string());
        }
        if delay_ms > 0 {
            put(headers::FAULT_DELAY_MS, delay_ms.to_string());
        }
    }

    /// Lazily connecting channels to the server's own port, enough for the
    /// calls the run may have in flight.
    fn channels(&self) -> Vec<Channel> {
        let in_flight = match self.scenario.arrival {
            Arrival::Closed { clients, .. } => clients,
            Arrival::Open { in_flight, .. } => in_flight,
        };
        let background = self.scenario.background.as_ref().map_or(0, |b| b.in_flight);
        let count = in_flight
            .saturating_add(background)
            .div_ceil(CALLS_PER_CONNECTION)
            .clamp(1, MAX_CONNECTIONS);
        let endpoint = Endpoint::from_shared(format!("http://{}", self.target))
            .expect("a socket address is a valid URI")
            .tcp_nodelay(true);
        (0..count).map(|_| endpoint.connect_lazy()).collect()
    }

    /// Executions of the run's method in the session so far.
    fn executions(&self) -> u64 {
        let (session, _) = self.lab.sessions.get(&self.session);
        let stats = session.stats.snapshot();
        stats
            .executions
            .get(self.scenario.operation.method())
            .copied()
            .unwrap_or(0)
    }

    /// The window ending now.
    fn window(&self, shared: &Shared, start: Instant, executions: &mut u64) -> LoadSnapshot {
        let now_executions = self.executions();
        // A ResetSession during the run restarts the count from zero.
        let delta = now_executions.saturating_sub(*executions);
        *executions = now_executions;
        let gauges = self.gauges(shared, delta);
        shared
            .aggregator
            .borrow_mut()
            .window(start.elapsed(), gauges)
    }

    fn gauges(&self, shared: &Shared, server_executions: u64) -> Gauges {
        let mut gauges = Gauges {
            calls_in_flight: shared.in_flight.get(),
            server_executions,
            ..Gauges::default()
        };
        let callers = shared.callers.borrow();
        let mut tokens = Vec::new();
        for caller in callers.iter() {
            match caller.breaker_state() {
                Some(BreakerState::Closed) => gauges.breakers_closed += 1,
                Some(BreakerState::Open | BreakerState::ForcedOpen) => gauges.breakers_open += 1,
                Some(BreakerState::HalfOpen) => gauges.breakers_half_open += 1,
                Some(BreakerState::Disabled) | None => {}
            }
            tokens.extend(caller.budget_tokens());
        }
        if !tokens.is_empty() {
            gauges.budget_tokens = Some(tokens.iter().sum::<f64>() / tokens.len() as f64);
        }
        let (session, _) = self.lab.sessions.get(&self.session);
        gauges.waiting_on_payment = session.payment.bulkhead.waiting();
        gauges.payment_breaker = session.payment.breaker_state();
        if let Some(capacity) = session.capacity.active() {
            let (_, load) = capacity.snapshot();
            gauges.queue_depth = load.queue_depth.into();
            gauges.executions_in_flight = load.in_flight.into();
        }
        gauges
    }
}

/// One call in flight, for as long as it lives: dropped when the call ends
/// or is aborted (a stopping server), so the gauge never counts a call that
/// is gone.
/// Counted from when the call is handed to its task, so the open loop's
/// cap on calls in flight also holds for tasks not yet polled.
struct InFlight(Rc<Shared>, Counter);

/// Which calls an [`InFlight`] counts among.
#[derive(Clone, Copy)]
enum Counter {
    Main,
    Background,
}

impl Counter {
    fn of(self, shared: &Shared) -> &Cell<u64> {
        match self {
            Counter::Main => &shared.in_flight,
            Counter::Background => &shared.background_in_flight,
        }
    }
}

impl InFlight {
    fn enter(shared: &Rc<Shared>, counter: Counter) -> Self {
        let cell = counter.of(shared);
        cell.set(cell.get() + 1);
        InFlight(shared.clone(), counter)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let cell = self.1.of(&self.0);
        cell.set(cell.get() - 1);
    }
}

/// A caller for `policy` and `breaker`, both validated with the scenario, so
/// building cannot fail; were it to, the run would be a bug, not a request.
fn build_caller(
    policy: &RetryPolicy,
    breaker: Option<&BreakerConfig>,
    clock: Rc<dyn Clock>,
    rng: SeededRng,
    sink: Rc<dyn EventSink>,
) -> Rc<ResilientCaller> {
    let caller =
        ResilientCaller::new(policy.clone(), clock, rng, sink).expect("a validated policy");
    let caller = match breaker {
        Some(config) => {
            caller.with_breaker(CircuitBreaker::new(config.clone()).expect("a validated breaker"))
        }
        None => caller,
    };
    Rc::new(caller)
}

/// Counts one more call started, unless the scenario's `max_calls` are all
/// started already.
fn take_call(shared: &Shared, max_calls: Option<u64>) -> bool {
    let under_cap = max_calls.is_none_or(|max| shared.started.get() < max);
    if under_cap {
        shared.started.set(shared.started.get() + 1);
    }
    under_cap
}

/// The caller's events that the snapshots count.
fn record(shared: &Shared, event: Event) {
    let mut aggregator = shared.aggregator.borrow_mut();
    match event.kind {
        EventKind::AttemptStarted { attempt, .. } => aggregator.attempt_started(attempt),
        EventKind::AttemptEnded {
            code,
            fault_injected,
            replayed,
            ..
        } => aggregator.attempt_ended(code, fault_injected.is_some(), replayed),
        EventKind::RejectedByBreaker { .. } => aggregator.breaker_rejected(),
        _ => {}
    }
}

fn drop_body<T>(response: Response<T>) -> Response<()> {
    response.map(|_| ())
}
