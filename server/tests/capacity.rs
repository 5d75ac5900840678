//! A session's capacity (`Lab/SetCapacity`) over real sockets: workers, a
//! queue, service times, what happens to abandoned work, a brownout.
//!
//! Service times here are real sleeps in the server, so the tests assert
//! counts and order, and times only from below ("at least four service
//! times"), which a slow machine cannot break. Exact times are the pure
//! model's tests (`server/src/capacity/`), on an injected clock. Where a test
//! must wait for the server to reach a state (two executing, three queued),
//! it asks `Lab/GetStats` until it has — the server's own truth, not a
//! guess at how long that takes.

mod common;

use std::future::Future;
use std::time::{Duration, Instant};

use common::{Clients, TestServer, header, request};
use rpc_lab::proto::calculator_v1::{
    AbandonedWork, AmountRequest, AppendRequest, Brownout, Capacity, IncrementRequest, LabStats,
    ResetSessionRequest, SetCapacityRequest,
};
use rpc_lab::proto::{BinaryOperation, CalculatorClient};
use rpc_lab_server::config::Config;
use tonic::Code;
use tonic::transport::Channel;

const NAME: &str = "capacity";
const SESSION: (&str, &str) = ("x-lab-session", NAME);

/// A server, its clients on one HTTP/2 connection, and a calculator.
struct Lab {
    server: TestServer,
    c: Clients,
    calculator: CalculatorClient<Channel>,
}

impl Lab {
    async fn start() -> Lab {
        Self::with(TestServer::start().await).await
    }

    async fn with(server: TestServer) -> Lab {
        let c = server.clients().await;
        let calculator = server.grpc_calculator().await;
        Lab {
            server,
            c,
            calculator,
        }
    }

    async fn set(&mut self, capacity: Capacity) -> Result<Capacity, tonic::Status> {
        self.c
            .lab
            .set_capacity(request(
                SetCapacityRequest {
                    capacity: Some(capacity),
                },
                &[SESSION],
            ))
            .await
            .map(tonic::Response::into_inner)
    }

    async fn stats(&mut self) -> LabStats {
        self.c.stats(NAME).await
    }

    /// Asks GetStats until `reached` holds (at most 10 s): waiting for the
    /// server to get somewhere, never for a length of time.
    async fn until(&mut self, what: &str, reached: impl Fn(&LabStats) -> bool) -> LabStats {
        let give_up = Instant::now() + Duration::from_secs(10);
        loop {
            let stats = self.stats().await;
            if reached(&stats) {
                return stats;
            }
            assert!(
                Instant::now() < give_up,
                "waited 10 s for {what}: {stats:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// An Add in the session, in a task of its own.
    fn add_in_background(
        &self,
        headers: &'static [(&'static str, &'static str)],
    ) -> tokio::task::JoinHandle<Result<f64, tonic::Status>> {
        let mut calculator = self.calculator.clone();
        tokio::spawn(async move {
            let mut all = vec![SESSION];
            all.extend_from_slice(headers);
            calculator
                .add(request(BinaryOperation { a: 1.0, b: 2.0 }, &all))
                .await
                .map(|reply| reply.into_inner().value)
        })
    }

    async fn add(&mut self) -> Result<f64, tonic::Status> {
        self.calculator
            .add(request(BinaryOperation { a: 1.0, b: 2.0 }, &[SESSION]))
            .await
            .map(|reply| reply.into_inner().value)
    }

    async fn executions(&mut self, method: &str) -> u64 {
        self.c.executions(NAME, method).await
    }
}

fn capacity(workers: u32, queue: u32, service_ms: u32) -> Capacity {
    Capacity {
        workers,
        queue,
        service_ms,
        ..Capacity::default()
    }
}

/// Starts `call` in a task, waits until the server shows it has arrived,
/// then hangs up: the task is aborted, its future dropped, and tonic resets
/// the HTTP/2 stream. The server learns only that the client has gone.
async fn hang_up<T: Send + 'static>(
    lab: &mut Lab,
    call: impl Future<Output = T> + Send + 'static,
    arrived: impl Fn(&LabStats) -> bool,
) {
    let task = tokio::spawn(call);
    lab.until("the call to arrive", arrived).await;
    task.abort();
    assert!(matches!(task.await, Err(aborted) if aborted.is_cancelled()));
}

fn increment() -> tonic::Request<IncrementRequest> {
    request(
        IncrementRequest {
            key: "n".into(),
            delta: 1.0,
        },
        &[SESSION],
    )
}

fn keyed_deposit() -> tonic::Request<AmountRequest> {
    request(
        AmountRequest {
            account: "a".into(),
            amount_cents: 100,
        },
        &[SESSION, ("idempotency-key", "deposit-1")],
    )
}

/// An Add with a `grpc-timeout` from a gRPC-Web client, which keeps no timer
/// of its own: it waits for whatever the server answers, whenever.
fn late_add(lab: &Lab, deadline: Duration) -> tokio::task::JoinHandle<Result<f64, tonic::Status>> {
    let mut web = lab.server.grpc_web_calculator();
    let mut add = request(BinaryOperation { a: 1.0, b: 2.0 }, &[SESSION]);
    add.set_timeout(deadline);
    tokio::spawn(async move { web.add(add).await.map(|reply| reply.into_inner().value) })
}

/// Without SetCapacity nothing changes: no limit, nothing queued or counted.
#[tokio::test]
async fn without_a_capacity_nothing_waits_and_nothing_is_counted() {
    let mut lab = Lab::start().await;
    let calls: Vec<_> = (0..50).map(|_| lab.add_in_background(&[])).collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), 3.0);
    }
    let stats = lab.stats().await;
    assert_eq!(stats.capacity, None);
    assert_eq!((stats.executions_started, stats.refused_overloaded), (0, 0));
    assert_eq!(lab.executions("Calculator/Add").await, 50);
}

/// W + Q requests are accepted; the next is RESOURCE_EXHAUSTED at once,
/// naming the limit and carrying the pushback; the accepted all finish.
#[tokio::test]
async fn w_plus_q_are_accepted_and_the_next_is_refused_naming_the_limit() {
    let mut lab = Lab::start().await;
    let stored = lab
        .set(Capacity {
            pushback_ms: 250,
            ..capacity(2, 3, 300)
        })
        .await
        .unwrap();
    assert_eq!(
        (stored.workers, stored.queue, stored.pushback_ms),
        (2, 3, 250)
    );
    let accepted: Vec<_> = (0..5).map(|_| lab.add_in_background(&[])).collect();
    lab.until("2 executing and 3 queued", |s| {
        s.executions_in_flight == 2 && s.queue_depth == 3
    })
    .await;

    let refused = lab.add().await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused
            .message()
            .starts_with("overloaded: 2 executing on 2 workers and 3 requests queued"),
        "{}",
        refused.message()
    );
    assert_eq!(
        header(refused.metadata(), "x-lab-overload").as_deref(),
        Some("queue-full")
    );
    assert_eq!(
        header(refused.metadata(), "grpc-retry-pushback-ms").as_deref(),
        Some("250")
    );

    for call in accepted {
        assert_eq!(call.await.unwrap().unwrap(), 3.0);
    }
    let stats = lab.stats().await;
    assert_eq!(
        (
            stats.executions_started,
            stats.executions_finished,
            stats.refused_overloaded
        ),
        (5, 5, 1)
    );
    assert_eq!((stats.queue_depth, stats.executions_in_flight), (0, 0));
    assert_eq!(
        lab.executions("Calculator/Add").await,
        5,
        "the refused one never ran"
    );
}

/// With no queue, the refusal names the other limit: the workers.
#[tokio::test]
async fn without_a_queue_busy_workers_refuse_at_once() {
    let mut lab = Lab::start().await;
    lab.set(capacity(1, 0, 300)).await.unwrap();
    let first = lab.add_in_background(&[]);
    lab.until("one executing", |s| s.executions_in_flight == 1)
        .await;
    let refused = lab.add().await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert_eq!(
        header(refused.metadata(), "x-lab-overload").as_deref(),
        Some("workers-busy")
    );
    assert!(refused.metadata().get("grpc-retry-pushback-ms").is_none());
    first.await.unwrap().unwrap();
}

/// First come, first served: appends queued one after another run in the
/// order they arrived.
#[tokio::test]
async fn the_queue_is_first_come_first_served() {
    let mut lab = Lab::start().await;
    lab.set(capacity(1, 10, 30)).await.unwrap();
    let mut calls = Vec::new();
    for item in 0..6u32 {
        let mut store = lab.c.store.clone();
        calls.push(tokio::spawn(async move {
            store
                .append(request(
                    AppendRequest {
                        key: "order".into(),
                        item: f64::from(item),
                    },
                    &[SESSION],
                ))
                .await
                .unwrap()
                .into_inner()
                .items
        }));
        // The next one leaves only once this one has arrived.
        lab.until("the append to arrive", |s| {
            s.executions_started + s.queue_depth == u64::from(item) + 1
        })
        .await;
    }
    let mut last = Vec::new();
    for call in calls {
        last = call.await.unwrap();
    }
    assert_eq!(last, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
}

/// One worker, service time S: the k-th reply cannot come before k × S —
/// queue waits add up to the service times before them.
#[tokio::test]
async fn queue_waits_add_up_to_the_service_times_before_them() {
    const N: u32 = 5;
    const S: Duration = Duration::from_millis(50);
    let mut lab = Lab::start().await;
    lab.set(capacity(1, N, 50)).await.unwrap();
    let sent = Instant::now();
    let calls: Vec<_> = (0..N)
        .map(|_| {
            let call = lab.add_in_background(&[]);
            async move {
                call.await.unwrap().unwrap();
                sent.elapsed()
            }
        })
        .collect();
    let mut took = futures_util::future::join_all(calls).await;
    took.sort();
    for (k, took) in (1..).zip(&took) {
        assert!(
            took >= &(S * k),
            "reply {k} after {took:?}, before {k} × {S:?}"
        );
    }
    assert_eq!(lab.stats().await.executions_finished, u64::from(N));
}

/// FINISH: a client that gives up does not stop the work. The operations
/// happen for nobody, and are counted abandoned.
#[tokio::test]
async fn finish_executes_requests_whose_client_gave_up() {
    let mut lab = Lab::start().await;
    lab.set(capacity(1, 5, 500)).await.unwrap();
    let first = lab.add_in_background(&[]);
    lab.until("one executing", |s| s.executions_in_flight == 1)
        .await;
    // One whose deadline will have passed...
    let late = late_add(&lab, Duration::from_millis(100));
    lab.until("it queued", |s| s.queue_depth == 1).await;
    // ...and one whose client hangs up.
    let mut store = lab.c.store.clone();
    hang_up(
        &mut lab,
        async move { store.increment(increment()).await },
        |s| s.queue_depth == 2,
    )
    .await;
    first.await.unwrap().unwrap();
    assert_eq!(
        late.await.unwrap().unwrap(),
        3.0,
        "answered, long after its deadline"
    );
    let stats = lab
        .until("all three finished", |s| s.executions_finished == 3)
        .await;
    assert_eq!(stats.executions_abandoned, 2, "{stats:?}");
    assert_eq!(lab.executions("Store/Increment").await, 1, "it ran");
}

/// SKIP_EXPIRED: a request whose deadline passed while it waited is not
/// executed when its turn comes; the server answers DEADLINE_EXCEEDED.
#[tokio::test]
async fn skip_expired_skips_requests_whose_deadline_passed_in_the_queue() {
    let mut lab = Lab::start().await;
    lab.set(Capacity {
        abandoned_work: AbandonedWork::SkipExpired.into(),
        ..capacity(1, 5, 1_000)
    })
    .await
    .unwrap();
    let first = lab.add_in_background(&[]);
    lab.until("one executing", |s| s.executions_in_flight == 1)
        .await;
    // The answer comes when a worker picks the request up.
    let error = late_add(&lab, Duration::from_millis(50))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(error.code(), Code::DeadlineExceeded, "{error:?}");
    assert!(
        error.message().contains("skipped it without executing"),
        "{}",
        error.message()
    );
    first.await.unwrap().unwrap();
    let stats = lab.stats().await;
    assert_eq!(
        (stats.executions_skipped, stats.executions_finished),
        (1, 1)
    );
    assert_eq!(lab.executions("Calculator/Add").await, 1);
}

/// SKIP_EXPIRED looks at deadlines, not connections: a client that hangs up
/// without a deadline is executed anyway (and counted abandoned).
#[tokio::test]
async fn skip_expired_still_finishes_a_hung_up_request_without_a_deadline() {
    let mut lab = Lab::start().await;
    lab.set(Capacity {
        abandoned_work: AbandonedWork::SkipExpired.into(),
        ..capacity(1, 5, 200)
    })
    .await
    .unwrap();
    let first = lab.add_in_background(&[]);
    lab.until("one executing", |s| s.executions_in_flight == 1)
        .await;
    let mut calculator = lab.calculator.clone();
    let add = request(BinaryOperation { a: 1.0, b: 2.0 }, &[SESSION]);
    hang_up(&mut lab, async move { calculator.add(add).await }, |s| {
        s.queue_depth == 1
    })
    .await;
    first.await.unwrap().unwrap();
    let stats = lab
        .until("both finished", |s| s.executions_finished == 2)
        .await;
    assert_eq!(
        (stats.executions_abandoned, stats.executions_skipped),
        (1, 0)
    );
}

/// CANCEL_ON_HANGUP: when the client hangs up, its request leaves the queue,
/// or stops in its service time; the operation never runs, and the worker
/// is free at once for the next.
#[tokio::test]
async fn cancel_on_hangup_stops_queued_and_serving_work() {
    let mut lab = Lab::start().await;
    lab.set(Capacity {
        abandoned_work: AbandonedWork::CancelOnHangup.into(),
        ..capacity(1, 5, 5_000)
    })
    .await
    .unwrap();
    let mut store = lab.c.store.clone();
    let serving = tokio::spawn(async move { store.increment(increment()).await });
    lab.until("one executing", |s| s.executions_in_flight == 1)
        .await;
    let mut store = lab.c.store.clone();
    let queued = tokio::spawn(async move { store.increment(increment()).await });
    lab.until("one queued", |s| s.queue_depth == 1).await;
    // Both clients hang up: first the one in the queue, then the one in its
    // service time (the other way round, the queued one would get the
    // worker before its own hang-up arrived).
    queued.abort();
    lab.until("the queued one cancelled", |s| s.executions_cancelled == 1)
        .await;
    serving.abort();
    let stats = lab
        .until("both cancelled", |s| s.executions_cancelled == 2)
        .await;
    assert_eq!(
        (
            stats.executions_started,
            stats.executions_in_flight,
            stats.queue_depth
        ),
        (1, 0, 0),
        "one had started; nothing is left"
    );
    assert_eq!(lab.executions("Store/Increment").await, 0, "neither ran");

    // The worker came back long before the 5 s service time was over.
    lab.set(Capacity {
        abandoned_work: AbandonedWork::CancelOnHangup.into(),
        ..capacity(1, 0, 0)
    })
    .await
    .unwrap();
    assert_eq!(lab.add().await.unwrap(), 3.0);
}

/// A hang-up over HTTP/1.1 (how a browser's gRPC-Web and REST calls travel)
/// is seen too: closing the connection cancels the request in the queue
/// and the one in its service time.
#[tokio::test]
async fn cancel_on_hangup_sees_an_http1_client_close_its_connection() {
    use tokio::io::AsyncWriteExt;
    let mut lab = Lab::start().await;
    lab.set(Capacity {
        abandoned_work: AbandonedWork::CancelOnHangup.into(),
        ..capacity(1, 5, 5_000)
    })
    .await
    .unwrap();
    let body = r#"{"a": 1, "b": 2}"#;
    let post = format!(
        "POST /api/v1/calculator/add HTTP/1.1\r\nhost: lab\r\n{}: {NAME}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        SESSION.0,
        body.len()
    );
    let mut serving = tokio::net::TcpStream::connect(lab.server.addr)
        .await
        .unwrap();
    serving.write_all(post.as_bytes()).await.unwrap();
    lab.until("one executing", |s| s.executions_in_flight == 1)
        .await;
    let mut queued = tokio::net::TcpStream::connect(lab.server.addr)
        .await
        .unwrap();
    queued.write_all(post.as_bytes()).await.unwrap();
    lab.until("one queued", |s| s.queue_depth == 1).await;
    drop(queued);
    lab.until("the queued one cancelled", |s| s.executions_cancelled == 1)
        .await;
    drop(serving);
    let stats = lab
        .until("both cancelled", |s| s.executions_cancelled == 2)
        .await;
    assert_eq!(
        (stats.executions_in_flight, stats.executions_finished),
        (0, 0)
    );
}

/// CANCEL_ON_HANGUP also stops a request whose deadline passes while it
/// waits, even for a client that keeps no timer of its own (gRPC-Web): the
/// answer comes at the deadline, not when a worker would have been free.
#[tokio::test]
async fn cancel_on_hangup_stops_a_request_at_its_deadline() {
    let mut lab = Lab::start().await;
    lab.set(Capacity {
        abandoned_work: AbandonedWork::CancelOnHangup.into(),
        ..capacity(1, 5, 3_000)
    })
    .await
    .unwrap();
    let first = lab.add_in_background(&[]);
    lab.until("one executing", |s| s.executions_in_flight == 1)
        .await;
    let error = late_add(&lab, Duration::from_millis(100))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(error.code(), Code::DeadlineExceeded, "{error:?}");
    assert!(
        error.message().contains("CANCEL_ON_HANGUP"),
        "{}",
        error.message()
    );
    let stats = lab.stats().await;
    assert_eq!(stats.executions_cancelled, 1);
    assert_eq!(
        stats.executions_in_flight, 1,
        "the answer came before the first had finished"
    );
    first.await.unwrap().unwrap();
}

/// A keyed request cancelled before it ran is not stored: its retry with
/// the same key executes, once.
#[tokio::test]
async fn a_keyed_request_cancelled_in_the_queue_executes_on_retry() {
    let mut lab = Lab::start().await;
    lab.set(Capacity {
        abandoned_work: AbandonedWork::CancelOnHangup.into(),
        ..capacity(1, 5, 300)
    })
    .await
    .unwrap();
    let first = lab.add_in_background(&[]);
    lab.until("one executing", |s| s.executions_in_flight == 1)
        .await;
    let mut account = lab.c.account.clone();
    hang_up(
        &mut lab,
        async move { account.deposit(keyed_deposit()).await },
        |s| s.queue_depth == 1,
    )
    .await;
    lab.until("the deposit cancelled", |s| s.executions_cancelled == 1)
        .await;
    first.await.unwrap().unwrap();

    let retry = lab.c.account.deposit(keyed_deposit()).await.unwrap();
    assert_eq!(
        header(retry.metadata(), "idempotent-replayed"),
        None,
        "executed now, not replayed"
    );
    assert_eq!(retry.into_inner().balance_cents, 100);
    assert_eq!(lab.executions("Account/Deposit").await, 1);
}

/// FINISH and idempotency together: a keyed deposit whose client gave up
/// still runs, and its outcome is stored — the retry is a replay, not a
/// second deposit.
#[tokio::test]
async fn an_abandoned_keyed_execution_is_stored_for_the_retry() {
    let mut lab = Lab::start().await;
    lab.set(capacity(1, 5, 300)).await.unwrap();
    let first = lab.add_in_background(&[]);
    lab.until("one executing", |s| s.executions_in_flight == 1)
        .await;
    let mut account = lab.c.account.clone();
    hang_up(
        &mut lab,
        async move { account.deposit(keyed_deposit()).await },
        |s| s.queue_depth == 1,
    )
    .await;
    first.await.unwrap().unwrap();
    let stats = lab
        .until("the deposit finished", |s| s.executions_finished == 2)
        .await;
    assert_eq!(stats.executions_abandoned, 1);

    let retry = lab.c.account.deposit(keyed_deposit()).await.unwrap();
    assert_eq!(
        header(retry.metadata(), "idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(retry.into_inner().balance_cents, 100);
    assert_eq!(lab.executions("Account/Deposit").await, 1);
}

/// Inside a brownout's window service is slower (coarsely: at least m × S);
/// a brownout with no workers refuses, saying so; after the window, service
/// is back.
#[tokio::test]
async fn a_brownout_slows_service_or_takes_the_workers_away() {
    let mut lab = Lab::start().await;
    lab.set(Capacity {
        brownout: Some(Brownout {
            start_ms: 0,
            end_ms: 60_000,
            service_time_factor: Some(20.0),
            workers: None,
        }),
        ..capacity(1, 0, 10)
    })
    .await
    .unwrap();
    let sent = Instant::now();
    lab.add().await.unwrap();
    assert!(sent.elapsed() >= Duration::from_millis(200), "20 × 10 ms");

    lab.set(Capacity {
        brownout: Some(Brownout {
            start_ms: 0,
            end_ms: 300,
            service_time_factor: None,
            workers: Some(0),
        }),
        ..capacity(1, 0, 0)
    })
    .await
    .unwrap();
    let set = Instant::now();
    let refused = lab.add().await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(
        refused.message().contains("0 workers (a brownout)"),
        "{}",
        refused.message()
    );
    // The window is measured from SetCapacity on the server, which came
    // before `set`: 300 ms after `set`, it is over for sure.
    tokio::time::sleep_until((set + Duration::from_millis(300)).into()).await;
    assert_eq!(lab.add().await.unwrap(), 3.0);
}

/// Requests waiting when the brownout's workers come back start without
/// anyone finishing.
#[tokio::test]
async fn waiting_requests_start_when_a_brownout_ends() {
    let mut lab = Lab::start().await;
    lab.set(Capacity {
        brownout: Some(Brownout {
            start_ms: 0,
            end_ms: 200,
            service_time_factor: None,
            workers: Some(0),
        }),
        ..capacity(2, 5, 0)
    })
    .await
    .unwrap();
    let calls: Vec<_> = (0..3).map(|_| lab.add_in_background(&[])).collect();
    for call in calls {
        let served = tokio::time::timeout(Duration::from_secs(10), call).await;
        assert_eq!(
            served
                .expect("started when the window closed")
                .unwrap()
                .unwrap(),
            3.0
        );
    }
    let stats = lab.stats().await;
    assert_eq!(
        (stats.executions_finished, stats.refused_overloaded),
        (3, 0)
    );
}

/// Stopping the server lets the queue go: requests waiting behind an outage
/// are served at once rather than holding up the graceful stop.
#[tokio::test]
async fn a_graceful_stop_does_not_wait_for_the_queue() {
    let mut lab = Lab::start().await;
    lab.set(Capacity {
        brownout: Some(Brownout {
            start_ms: 0,
            end_ms: 3_600_000,
            service_time_factor: None,
            workers: Some(0),
        }),
        ..capacity(1, 5, 0)
    })
    .await
    .unwrap();
    let waiting = lab.add_in_background(&[]);
    lab.until("one queued", |s| s.queue_depth == 1).await;
    let Lab { server, .. } = lab;
    let stopped = tokio::time::timeout(Duration::from_secs(10), server.stop()).await;
    stopped
        .expect("stopped without waiting for the outage to end")
        .unwrap();
    assert_eq!(
        waiting.await.unwrap().unwrap(),
        3.0,
        "served on the way out"
    );
}

/// ResetSession forgets the capacity with everything else: no limit again,
/// nothing counted.
#[tokio::test]
async fn reset_session_restores_unlimited_capacity() {
    let mut lab = Lab::start().await;
    lab.set(capacity(1, 0, 300)).await.unwrap();
    let first = lab.add_in_background(&[]);
    lab.until("one executing", |s| s.executions_in_flight == 1)
        .await;
    assert_eq!(lab.add().await.unwrap_err().code(), Code::ResourceExhausted);
    lab.c
        .lab
        .reset_session(request(ResetSessionRequest { seed: None }, &[SESSION]))
        .await
        .unwrap();
    let stats = lab.stats().await;
    assert_eq!(stats.capacity, None);
    assert_eq!(stats.refused_overloaded, 0);
    let calls: Vec<_> = (0..10).map(|_| lab.add_in_background(&[])).collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    first.await.unwrap().unwrap();
}

/// A capacity belongs to one session: the next tab is not limited by it.
#[tokio::test]
async fn a_capacity_limits_only_its_own_session() {
    let mut lab = Lab::start().await;
    lab.set(capacity(1, 0, 300)).await.unwrap();
    let first = lab.add_in_background(&[]);
    lab.until("one executing", |s| s.executions_in_flight == 1)
        .await;
    let other = lab
        .calculator
        .add(request(
            BinaryOperation { a: 1.0, b: 2.0 },
            &[("x-lab-session", "another-tab")],
        ))
        .await;
    assert_eq!(other.unwrap().into_inner().value, 3.0);
    first.await.unwrap().unwrap();
}

/// Lab, health and reflection are never limited: a saturated session can
/// still read its own truth.
#[tokio::test]
async fn the_lab_service_and_health_are_never_limited() {
    let mut lab = Lab::start().await;
    lab.set(capacity(1, 0, 500)).await.unwrap();
    let first = lab.add_in_background(&[]);
    lab.until("one executing", |s| s.executions_in_flight == 1)
        .await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(lab.server.channel().await);
    let serving = health
        .check(request(
            tonic_health::pb::HealthCheckRequest::default(),
            &[SESSION],
        ))
        .await
        .unwrap();
    assert_eq!(serving.into_inner().status, 1, "SERVING");
    assert_eq!(lab.stats().await.executions_in_flight, 1);
    first.await.unwrap().unwrap();
}

/// Bad values are INVALID_ARGUMENT naming the field; the server's flags cap
/// what a session may ask for.
#[tokio::test]
async fn bad_capacities_are_refused_naming_the_field() {
    let mut lab = Lab::with(
        TestServer::start_with(Config {
            max_capacity_workers: 8,
            max_capacity_queue: 16,
            max_service_ms: 1_000,
            ..Config::default()
        })
        .await,
    )
    .await;
    for (capacity, words) in [
        (capacity(9, 0, 0), "capacity.workers must be at most 8"),
        (capacity(1, 17, 0), "capacity.queue must be at most 16"),
        (
            capacity(1, 0, 1_001),
            "capacity.service_ms must be at most 1000",
        ),
        (
            Capacity {
                slowdown: -1.0,
                ..capacity(1, 0, 0)
            },
            "capacity.slowdown",
        ),
        (
            Capacity {
                abandoned_work: 9,
                ..capacity(1, 0, 0)
            },
            "capacity.abandoned_work",
        ),
        (
            Capacity {
                brownout: Some(Brownout {
                    start_ms: 100,
                    end_ms: 50,
                    service_time_factor: Some(2.0),
                    workers: None,
                }),
                ..capacity(1, 0, 0)
            },
            "capacity.brownout.end_ms",
        ),
    ] {
        let error = lab.set(capacity).await.unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{words}");
        assert!(error.message().starts_with(words), "{}", error.message());
    }
    assert_eq!(
        lab.stats().await.capacity,
        None,
        "a refused capacity changes nothing"
    );
}

/// The REST twin is limited by the same capacity and refuses in its own
/// language: 429 with the JSON error, the limit and the pushback as headers.
#[tokio::test]
async fn rest_requests_wait_and_are_refused_the_same_way() {
    let mut lab = Lab::start().await;
    lab.set(Capacity {
        pushback_ms: 1_500,
        ..capacity(1, 0, 300)
    })
    .await
    .unwrap();
    let first = lab.add_in_background(&[]);
    lab.until("one executing", |s| s.executions_in_flight == 1)
        .await;
    let refused = lab
        .server
        .rest(
            "POST",
            "/api/v1/calculator/add",
            &[SESSION],
            Some(r#"{"a": 1, "b": 2}"#),
        )
        .await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.json["code"], "RESOURCE_EXHAUSTED");
    assert!(
        refused.json["message"]
            .as_str()
            .unwrap()
            .starts_with("overloaded"),
        "{}",
        refused.json
    );
    assert_eq!(refused.headers["x-lab-overload"], "workers-busy");
    assert_eq!(refused.headers["grpc-retry-pushback-ms"], "1500");
    assert_eq!(
        refused.headers["retry-after"], "2",
        "whole seconds, rounded up"
    );
    first.await.unwrap().unwrap();

    let served = lab
        .server
        .rest(
            "POST",
            "/api/v1/calculator/add",
            &[SESSION],
            Some(r#"{"a": 1, "b": 2}"#),
        )
        .await;
    assert_eq!(served.status, 200);
    assert_eq!(lab.stats().await.executions_finished, 2);
}

/// SetCapacity with no capacity at all: no limits, but the session is now
/// counted — a lesson's baseline.
#[tokio::test]
async fn an_empty_capacity_counts_without_limiting() {
    let mut lab = Lab::start().await;
    let stored = lab
        .c
        .lab
        .set_capacity(request(SetCapacityRequest { capacity: None }, &[SESSION]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stored, Capacity::default());
    let calls: Vec<_> = (0..20).map(|_| lab.add_in_background(&[])).collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    let stats = lab.stats().await;
    assert_eq!(stats.capacity, Some(Capacity::default()));
    assert_eq!(
        (
            stats.executions_started,
            stats.executions_finished,
            stats.refused_overloaded
        ),
        (20, 20, 0)
    );
}
