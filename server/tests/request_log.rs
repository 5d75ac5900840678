//! The server's own record of a session (`Lab/WatchRequests`) over real
//! sockets: one test per outcome the server can report, the log's bound,
//! and the stream — backlog, then live records in order, ending when
//! cancelled or when the server stops.
//!
//! Every wait here is on something the server says: the next record on the
//! stream, or `Lab/GetStats` reaching a state. None waits for a length of
//! time and then hopes.

mod common;

use std::time::{Duration, Instant};

use common::{TestServer, request};
use rpc_lab::proto::calculator_v1::{
    AbandonedWork, AmountRequest, Capacity, GetStatsRequest, InjectedFault, LabStats,
    RequestOutcome, RequestRecord, RequestTransport, ResetSessionRequest, SetCapacityRequest,
    WatchRequestsRequest,
};
use rpc_lab::proto::{AccountClient, BinaryOperation, CalculatorClient, LabClient};
use rpc_lab_server::config::Config;
use rpc_lab_server::{Layers, app};
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic::{Code, Streaming};

/// How long any one wait may take before the test gives up (and fails).
const PATIENCE: Duration = Duration::from_secs(10);

fn session(name: &'static str) -> (&'static str, &'static str) {
    ("x-lab-session", name)
}

/// Starts watching `name`'s requests over native gRPC.
async fn watch(server: &TestServer, name: &'static str) -> Streaming<RequestRecord> {
    LabClient::new(server.channel().await)
        .watch_requests(request(WatchRequestsRequest {}, &[session(name)]))
        .await
        .expect("WatchRequests")
        .into_inner()
}

/// The next record on a watch: waits for the server to send it.
async fn next(records: &mut Streaming<RequestRecord>) -> RequestRecord {
    tokio::time::timeout(PATIENCE, records.next())
        .await
        .expect("a record within 10 s")
        .expect("the stream goes on")
        .expect("a record, not an error")
}

/// Every record the session holds now (its backlog), in order.
async fn backlog(server: &TestServer, name: &'static str, expected: usize) -> Vec<RequestRecord> {
    let mut records = watch(server, name).await;
    let mut held = Vec::new();
    for _ in 0..expected {
        let record = next(&mut records).await;
        assert!(!record.live, "from the backlog: {record:?}");
        held.push(record);
    }
    held
}

/// The one record a session holds after one request.
async fn only_record(server: &TestServer, name: &'static str) -> RequestRecord {
    backlog(server, name, 1).await.remove(0)
}

fn deposit(cents: i64) -> AmountRequest {
    AmountRequest {
        account: "a".into(),
        amount_cents: cents,
    }
}

async fn stats(lab: &mut LabClient<Channel>, name: &'static str) -> LabStats {
    lab.get_stats(request(GetStatsRequest {}, &[session(name)]))
        .await
        .unwrap()
        .into_inner()
}

/// Asks GetStats until `reached` holds: waiting for the server to get
/// somewhere, never for a length of time.
async fn until(
    lab: &mut LabClient<Channel>,
    name: &'static str,
    reached: impl Fn(&LabStats) -> bool,
) {
    let give_up = Instant::now() + PATIENCE;
    loop {
        let stats = stats(lab, name).await;
        if reached(&stats) {
            return;
        }
        assert!(Instant::now() < give_up, "waited 10 s: {stats:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn set_capacity(lab: &mut LabClient<Channel>, name: &'static str, capacity: Capacity) {
    lab.set_capacity(request(
        SetCapacityRequest {
            capacity: Some(capacity),
        },
        &[session(name)],
    ))
    .await
    .expect("SetCapacity");
}

// ---- One test per outcome -------------------------------------------------

/// An executed call: everything the request said about itself, and what
/// the server did, with its status and time.
#[tokio::test]
async fn an_execution_is_recorded_with_what_the_request_said() {
    let server = TestServer::start().await;
    let mut account = AccountClient::new(server.channel().await);
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64;
    let mut call = request(
        deposit(100),
        &[session("executed"), ("idempotency-key", "key-1")],
    );
    call.set_timeout(Duration::from_secs(5));
    account.deposit(call).await.unwrap();

    let record = only_record(&server, "executed").await;
    assert_eq!(record.sequence, 1);
    assert_eq!(record.missed_before, 0);
    assert_eq!(record.outcome(), RequestOutcome::Executed);
    assert_eq!(record.transport(), RequestTransport::Grpc);
    assert_eq!(record.operation, "/calculator.v1.Account/Deposit");
    assert_eq!(record.idempotency_key.as_deref(), Some("key-1"));
    assert_eq!(record.code, "OK");
    assert_eq!(record.http_status, 200);
    assert_eq!(record.fault(), InjectedFault::None);
    assert!(!record.hung_up);
    assert!(record.connection_id >= 1);
    assert!(record.peer.starts_with("127.0.0.1:"), "{}", record.peer);
    assert!(record.user_agent.contains("tonic"), "{}", record.user_agent);
    // tonic sends its timeout as grpc-timeout, in microseconds or less.
    let timeout = record.timeout_micros.expect("grpc-timeout was sent");
    assert!((4_900_000..=5_000_000).contains(&timeout), "{timeout}");
    assert!(record.arrived_unix_micros >= before);
    assert!(record.server_micros > 0);
    assert_eq!(record.queued_micros, 0);
    assert!(!record.bookkeeping, "nothing marked it as bookkeeping");
}

/// The page marks its own set-up and truth reads; the server handles them
/// as any request and its record says so. `0` is not a mark.
#[tokio::test]
async fn a_request_marked_as_the_client_s_bookkeeping_is_recorded_as_such() {
    let server = TestServer::start().await;
    let mut account = AccountClient::new(server.channel().await);
    for mark in ["1", "0"] {
        let headers = [session("bookkeeping"), ("x-lab-bookkeeping", mark)];
        account
            .deposit(request(deposit(5), &headers))
            .await
            .unwrap();
    }
    let records = backlog(&server, "bookkeeping", 2).await;
    assert_eq!(records[0].outcome(), RequestOutcome::Executed);
    assert!(records[0].bookkeeping);
    assert!(!records[1].bookkeeping);
}

#[tokio::test]
async fn a_replay_is_recorded_as_not_executed() {
    let server = TestServer::start().await;
    let mut account = AccountClient::new(server.channel().await);
    for _ in 0..2 {
        let headers = [session("replayed"), ("idempotency-key", "same")];
        account
            .deposit(request(deposit(5), &headers))
            .await
            .unwrap();
    }
    let records = backlog(&server, "replayed", 2).await;
    assert_eq!(records[0].outcome(), RequestOutcome::Executed);
    assert_eq!(records[1].outcome(), RequestOutcome::Replayed);
    assert_eq!(records[1].code, "OK");
    assert_eq!(records[1].idempotency_key.as_deref(), Some("same"));
}

#[tokio::test]
async fn a_reused_key_is_recorded_as_refused_for_reuse() {
    let server = TestServer::start().await;
    let mut account = AccountClient::new(server.channel().await);
    let headers = [session("reused"), ("idempotency-key", "once")];
    account
        .deposit(request(deposit(5), &headers))
        .await
        .unwrap();
    let error = account
        .deposit(request(deposit(6), &headers))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::FailedPrecondition);
    let records = backlog(&server, "reused", 2).await;
    assert_eq!(records[1].outcome(), RequestOutcome::KeyReused);
    assert_eq!(records[1].code, "FAILED_PRECONDITION");
}

#[tokio::test]
async fn an_injected_fail_is_recorded_as_failed_before_executing() {
    let server = TestServer::start().await;
    let mut account = AccountClient::new(server.channel().await);
    let headers = [session("fail"), ("x-fault-fail", "1")];
    account
        .deposit(request(deposit(5), &headers))
        .await
        .unwrap_err();
    let record = only_record(&server, "fail").await;
    assert_eq!(record.outcome(), RequestOutcome::FailedBeforeExecuting);
    assert_eq!(record.fault(), InjectedFault::Fail);
    assert_eq!(record.code, "UNAVAILABLE");
}

/// A drop: executed with its reply lost. Its keyed retry, dropped again:
/// replayed with its reply lost — nothing ran the second time.
#[tokio::test]
async fn a_drop_is_recorded_as_executed_with_the_reply_lost() {
    let server = TestServer::start().await;
    let mut account = AccountClient::new(server.channel().await);
    let headers = [
        session("drop"),
        ("x-fault-drop", "1"),
        ("idempotency-key", "k"),
    ];
    for _ in 0..2 {
        let error = account
            .deposit(request(deposit(5), &headers))
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::Unavailable);
    }
    let records = backlog(&server, "drop", 2).await;
    assert_eq!(records[0].outcome(), RequestOutcome::ExecutedReplyLost);
    assert_eq!(records[1].outcome(), RequestOutcome::ReplayedReplyLost);
    for record in &records {
        assert_eq!(record.fault(), InjectedFault::Drop);
        assert_eq!(record.code, "UNAVAILABLE");
    }
}

/// A deadline that runs out during an injected delay: not executed. Over
/// gRPC-Web, so the server's own answer is what the client sees (tonic's
/// HTTP/2 client gives up on its own timer) — and the record says gRPC-Web.
#[tokio::test]
async fn a_deadline_during_a_delay_is_recorded_as_not_executed() {
    let server = TestServer::start().await;
    let mut web = AccountClient::with_origin(server.grpc_web(), server.url().parse().unwrap());
    let mut call = request(
        deposit(5),
        &[session("deadline"), ("x-fault-delay-ms", "5000")],
    );
    call.set_timeout(Duration::from_millis(50));
    let error = web.deposit(call).await.unwrap_err();
    assert_eq!(error.code(), Code::DeadlineExceeded);
    let record = only_record(&server, "deadline").await;
    assert_eq!(record.outcome(), RequestOutcome::DeadlineBeforeExecution);
    assert_eq!(record.fault(), InjectedFault::Delay);
    assert_eq!(record.transport(), RequestTransport::GrpcWeb);
    assert_eq!(record.code, "DEADLINE_EXCEEDED");
    assert_eq!(record.timeout_micros, Some(50_000));
    assert!(record.server_micros >= 50_000, "{}", record.server_micros);
}

/// A delay within the deadline: executed, and the record names the fault.
#[tokio::test]
async fn a_delay_within_the_deadline_is_an_execution_with_its_fault() {
    let server = TestServer::start().await;
    let mut account = AccountClient::new(server.channel().await);
    let headers = [session("delayed"), ("x-fault-delay-ms", "20")];
    account
        .deposit(request(deposit(5), &headers))
        .await
        .unwrap();
    let record = only_record(&server, "delayed").await;
    assert_eq!(record.outcome(), RequestOutcome::Executed);
    assert_eq!(record.fault(), InjectedFault::Delay);
    assert!(record.server_micros >= 20_000, "{}", record.server_micros);
}

/// A malformed request header: refused before executing, as its status says.
#[tokio::test]
async fn a_malformed_header_is_recorded_as_refused() {
    let server = TestServer::start().await;
    let mut account = AccountClient::new(server.channel().await);
    let too_long = "k".repeat(300);
    let headers = [session("refused"), ("idempotency-key", too_long.as_str())];
    let error = account
        .deposit(request(deposit(5), &headers))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    let record = only_record(&server, "refused").await;
    assert_eq!(record.outcome(), RequestOutcome::Refused);
    assert_eq!(record.code, "INVALID_ARGUMENT");
    assert_eq!(
        record.idempotency_key.as_deref().map(str::len),
        Some(255),
        "what was sent, cut to the longest a key may be"
    );
}

/// Every worker busy and no queue: refused as overloaded. Then the first
/// call's record shows it executed after its service time.
#[tokio::test]
async fn an_overload_refusal_is_recorded() {
    let server = TestServer::start().await;
    let channel = server.channel().await;
    let mut lab = LabClient::new(channel.clone());
    let name = "overload";
    set_capacity(
        &mut lab,
        name,
        Capacity {
            workers: 1,
            queue: 0,
            service_ms: 300,
            ..Capacity::default()
        },
    )
    .await;
    let mut first = AccountClient::new(channel.clone());
    let first =
        tokio::spawn(async move { first.deposit(request(deposit(1), &[session(name)])).await });
    until(&mut lab, name, |s| s.executions_in_flight == 1).await;
    let error = AccountClient::new(channel)
        .deposit(request(deposit(1), &[session(name)]))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::ResourceExhausted);
    first.await.unwrap().unwrap();

    let records = backlog(&server, name, 2).await;
    assert_eq!(records[0].outcome(), RequestOutcome::Overloaded);
    assert_eq!(records[0].code, "RESOURCE_EXHAUSTED");
    assert_eq!(records[1].outcome(), RequestOutcome::Executed);
    assert!(records[1].server_micros >= 300_000);
}

/// SKIP_EXPIRED: a request whose deadline passed while it waited in the
/// queue is skipped, not executed; the record shows how long it waited.
#[tokio::test]
async fn a_skipped_request_is_recorded_with_its_wait() {
    let server = TestServer::start().await;
    let channel = server.channel().await;
    let mut lab = LabClient::new(channel.clone());
    let name = "skipped";
    set_capacity(
        &mut lab,
        name,
        Capacity {
            workers: 1,
            queue: 1,
            service_ms: 1_000,
            abandoned_work: AbandonedWork::SkipExpired.into(),
            ..Capacity::default()
        },
    )
    .await;
    let mut first = AccountClient::new(channel);
    let first =
        tokio::spawn(async move { first.deposit(request(deposit(1), &[session(name)])).await });
    until(&mut lab, name, |s| s.executions_in_flight == 1).await;
    let mut web = AccountClient::with_origin(server.grpc_web(), server.url().parse().unwrap());
    let mut late = request(deposit(1), &[session(name)]);
    late.set_timeout(Duration::from_millis(50));
    let error = web.deposit(late).await.unwrap_err();
    assert_eq!(error.code(), Code::DeadlineExceeded);
    first.await.unwrap().unwrap();

    let records = backlog(&server, name, 2).await;
    let skipped = records
        .iter()
        .find(|r| r.transport() == RequestTransport::GrpcWeb)
        .unwrap();
    assert_eq!(skipped.outcome(), RequestOutcome::Skipped);
    assert_eq!(skipped.code, "DEADLINE_EXCEEDED");
    assert!(skipped.queued_micros >= 50_000, "{}", skipped.queued_micros);
}

/// CANCEL_ON_HANGUP: a request whose deadline passes in the queue is taken
/// out of it, not executed.
#[tokio::test]
async fn a_cancelled_request_is_recorded() {
    let server = TestServer::start().await;
    let channel = server.channel().await;
    let mut lab = LabClient::new(channel.clone());
    let name = "cancelled";
    set_capacity(
        &mut lab,
        name,
        Capacity {
            workers: 1,
            queue: 1,
            service_ms: 1_000,
            abandoned_work: AbandonedWork::CancelOnHangup.into(),
            ..Capacity::default()
        },
    )
    .await;
    let mut first = AccountClient::new(channel);
    let first =
        tokio::spawn(async move { first.deposit(request(deposit(1), &[session(name)])).await });
    until(&mut lab, name, |s| s.executions_in_flight == 1).await;
    let mut web = AccountClient::with_origin(server.grpc_web(), server.url().parse().unwrap());
    let mut late = request(deposit(1), &[session(name)]);
    late.set_timeout(Duration::from_millis(50));
    assert_eq!(
        web.deposit(late).await.unwrap_err().code(),
        Code::DeadlineExceeded
    );
    let cancelled = only_record(&server, name).await;
    assert_eq!(cancelled.outcome(), RequestOutcome::Cancelled);
    assert_eq!(cancelled.code, "DEADLINE_EXCEEDED");
    assert!(!cancelled.hung_up);
    first.await.unwrap().unwrap();
}

/// A client that hangs up during an injected delay: nothing ran, and no
/// reply was sent. The record is written when the server lets the request go.
#[tokio::test]
async fn a_client_that_hangs_up_before_execution_is_recorded_as_gone() {
    let server = TestServer::start().await;
    let channel = server.channel().await;
    let mut lab = LabClient::new(channel.clone());
    let name = "gone";
    let mut records = watch(&server, name).await;
    let mut account = AccountClient::new(channel);
    let call = tokio::spawn(async move {
        let headers = [session(name), ("x-fault-delay-ms", "10000")];
        account.deposit(request(deposit(1), &headers)).await
    });
    until(&mut lab, name, |s| s.faults_delay == 1).await;
    call.abort(); // the client hangs up (HTTP/2 RST_STREAM)
    let record = next(&mut records).await;
    assert_eq!(record.outcome(), RequestOutcome::ClientGone);
    assert!(record.hung_up);
    assert_eq!(record.fault(), InjectedFault::Delay);
    assert_eq!((record.code.as_str(), record.http_status), ("", 0));
    assert!(record.live);
}

/// FINISH: the client hangs up while its request holds a worker; the server
/// finishes it anyway. The record waits for that and says it executed —
/// work done for nobody.
#[tokio::test]
async fn work_finished_for_a_client_that_hung_up_is_recorded_as_executed() {
    let server = TestServer::start().await;
    let channel = server.channel().await;
    let mut lab = LabClient::new(channel.clone());
    let name = "abandoned";
    set_capacity(
        &mut lab,
        name,
        Capacity {
            workers: 1,
            queue: 0,
            service_ms: 300,
            ..Capacity::default()
        },
    )
    .await;
    let mut records = watch(&server, name).await;
    let mut account = AccountClient::new(channel);
    let call =
        tokio::spawn(async move { account.deposit(request(deposit(1), &[session(name)])).await });
    until(&mut lab, name, |s| s.executions_in_flight == 1).await;
    call.abort();
    let record = next(&mut records).await;
    assert_eq!(record.outcome(), RequestOutcome::Executed);
    assert!(record.hung_up);
    assert_eq!(stats(&mut lab, name).await.executions_abandoned, 1);
}

/// The REST twin: its route, its HTTP status, no gRPC code.
#[tokio::test]
async fn a_rest_request_is_recorded_with_its_route() {
    let server = TestServer::start().await;
    let reply = server
        .rest(
            "POST",
            "/api/v1/accounts/alice/deposit",
            &[("x-lab-session", "rest"), ("idempotency-key", "r-1")],
            Some(r#"{"amount_cents": 100}"#),
        )
        .await;
    assert_eq!(reply.status, 200);
    let record = only_record(&server, "rest").await;
    assert_eq!(record.transport(), RequestTransport::Rest);
    assert_eq!(record.operation, "POST /api/v1/accounts/{account}/deposit");
    assert_eq!(record.outcome(), RequestOutcome::Executed);
    assert_eq!((record.code.as_str(), record.http_status), ("", 200));
    assert_eq!(record.idempotency_key.as_deref(), Some("r-1"));
}

// ---- Who sent it ---------------------------------------------------------

/// Two clients in one session, each on its own connection, are told apart.
#[tokio::test]
async fn two_connections_in_one_session_have_different_ids() {
    let server = TestServer::start().await;
    for _ in 0..2 {
        // A new channel each time: a new TCP connection.
        CalculatorClient::new(server.channel().await)
            .add(request(
                BinaryOperation { a: 1.0, b: 2.0 },
                &[session("two")],
            ))
            .await
            .unwrap();
    }
    let records = backlog(&server, "two", 2).await;
    assert_ne!(records[0].connection_id, records[1].connection_id);
    assert_ne!(records[0].peer, records[1].peer, "different client ports");
    assert!(records.iter().all(|r| r.connection_id >= 1));
}

/// Lab, health and reflection calls are not the lab's operations: they are
/// not recorded.
#[tokio::test]
async fn only_the_lab_s_operations_are_recorded() {
    let server = TestServer::start().await;
    let channel = server.channel().await;
    let mut lab = LabClient::new(channel.clone());
    let name = "only";
    stats(&mut lab, name).await;
    tonic_health::pb::health_client::HealthClient::new(channel.clone())
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .unwrap();
    CalculatorClient::new(channel)
        .add(request(
            BinaryOperation { a: 1.0, b: 2.0 },
            &[session(name)],
        ))
        .await
        .unwrap();
    let mut records = watch(&server, name).await;
    let first = next(&mut records).await;
    assert_eq!(first.operation, "/calculator.v1.Calculator/Add");
    assert_eq!(first.sequence, 1, "nothing before it");
}

// ---- The bound and the stream --------------------------------------------

/// A log keeps its last N records; the older ones are dropped and counted,
/// and a new watcher is told how many it will never see.
#[tokio::test]
async fn the_log_stays_within_its_bound_and_counts_what_it_dropped() {
    let server = TestServer::start_with(Config {
        seed: Some(1),
        request_log_capacity: 5,
        ..Config::default()
    })
    .await;
    let mut calculator = CalculatorClient::new(server.channel().await);
    for n in 0..12 {
        calculator
            .add(request(
                BinaryOperation {
                    a: n as f64,
                    b: 0.0,
                },
                &[session("bound")],
            ))
            .await
            .unwrap();
    }
    let records = backlog(&server, "bound", 5).await;
    let sequences: Vec<u64> = records.iter().map(|r| r.sequence).collect();
    assert_eq!(sequences, [8, 9, 10, 11, 12]);
    assert_eq!(records[0].missed_before, 7, "1 to 7 were dropped");
    assert!(records[1..].iter().all(|r| r.missed_before == 0));

    // Nothing more is held: the next record on the stream is a live one.
    let mut stream = watch(&server, "bound").await;
    for _ in 0..5 {
        next(&mut stream).await;
    }
    calculator
        .add(request(
            BinaryOperation { a: 1.0, b: 1.0 },
            &[session("bound")],
        ))
        .await
        .unwrap();
    let live = next(&mut stream).await;
    assert_eq!(
        (live.sequence, live.live, live.missed_before),
        (13, true, 0)
    );
}

/// The backlog, then each new record as it happens, in order, without gaps
/// or repeats; cancelling the stream gives the watcher's place back.
#[tokio::test]
async fn the_stream_sends_the_backlog_then_live_records_and_ends_when_cancelled() {
    let config = Config {
        seed: Some(1),
        ..Config::default()
    };
    let (router, lab_state) = app(&config, Layers::All).await.unwrap();
    let server = TestServer::serve_router(router).await;
    let mut calculator = CalculatorClient::new(server.channel().await);
    let add = |n: f64| request(BinaryOperation { a: n, b: 0.0 }, &[session("stream")]);
    for n in 0..2 {
        calculator.add(add(n as f64)).await.unwrap();
    }
    let mut records = watch(&server, "stream").await;
    for expected in 1..=2 {
        let record = next(&mut records).await;
        assert_eq!((record.sequence, record.live), (expected, false));
    }
    for n in 0..3 {
        calculator.add(add(n as f64)).await.unwrap();
        let record = next(&mut records).await;
        assert_eq!((record.sequence, record.live), (3 + n, true));
        assert_eq!(record.missed_before, 0);
    }

    let (session_state, _) = lab_state.sessions.get("stream");
    assert_eq!(session_state.requests.watchers(), 1);
    drop(records); // the client cancels (HTTP/2 RST_STREAM)
    let give_up = Instant::now() + PATIENCE;
    while session_state.requests.watchers() != 0 {
        assert!(Instant::now() < give_up, "the server kept the watcher");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A reset forgets the session's state, not the record of what reached
/// it: a watcher goes on watching, and the numbers go on counting.
#[tokio::test]
async fn a_watcher_keeps_watching_across_a_reset() {
    let server = TestServer::start().await;
    let channel = server.channel().await;
    let mut calculator = CalculatorClient::new(channel.clone());
    let mut records = watch(&server, "reset").await;
    let add = || request(BinaryOperation { a: 1.0, b: 2.0 }, &[session("reset")]);
    calculator.add(add()).await.unwrap();
    assert_eq!(next(&mut records).await.sequence, 1);
    LabClient::new(channel)
        .reset_session(request(
            ResetSessionRequest { seed: None },
            &[session("reset")],
        ))
        .await
        .unwrap();
    calculator.add(add()).await.unwrap();
    assert_eq!(next(&mut records).await.sequence, 2);
}

/// A stopping server ends every watch (UNAVAILABLE) and stops: a stream
/// that never ends must not hold up a graceful stop.
#[tokio::test]
async fn a_stopping_server_ends_the_watch() {
    let server = TestServer::start().await;
    let mut records = watch(&server, "stop").await;
    let stopped = tokio::spawn(server.stop());
    let end = tokio::time::timeout(PATIENCE, records.next())
        .await
        .expect("the stream ends within 10 s");
    let error = end.expect("an ending status").unwrap_err();
    assert_eq!(error.code(), Code::Unavailable, "{error:?}");
    tokio::time::timeout(PATIENCE, stopped)
        .await
        .expect("the server stops within 10 s")
        .unwrap()
        .unwrap();
}

/// The stream works over gRPC-Web too (what the page uses), and is not
/// gathered into one reply like a unary call (`transport::whole_reply`).
#[tokio::test]
async fn the_stream_works_over_grpc_web() {
    let unary = rpc_lab_server::transport::whole_reply::UnaryMethods::of_the_lab().unwrap();
    assert!(!unary.contains("/calculator.v1.Lab/WatchRequests"));

    let server = TestServer::start().await;
    let mut web_lab = LabClient::with_origin(server.grpc_web(), server.url().parse().unwrap());
    let mut records = web_lab
        .watch_requests(request(WatchRequestsRequest {}, &[session("web")]))
        .await
        .expect("WatchRequests over gRPC-Web")
        .into_inner();
    // The stream is open before anything is recorded: a live record must
    // arrive while the reply is still going on.
    CalculatorClient::new(server.channel().await)
        .add(request(
            BinaryOperation { a: 1.0, b: 2.0 },
            &[session("web")],
        ))
        .await
        .unwrap();
    let record = tokio::time::timeout(PATIENCE, records.next())
        .await
        .expect("a live record within 10 s")
        .unwrap()
        .unwrap();
    assert_eq!((record.sequence, record.live), (1, true));
    assert_eq!(record.transport(), RequestTransport::Grpc);
}

/// A watch outlives the server's idle timeout: a streaming reply is a request
/// in flight until its last message, so its quiet connection is not closed
/// under it (idle timeout 200 ms, and a second's grace after the goodbye).
#[tokio::test]
async fn a_watch_outlives_the_idle_timeout() {
    let server = TestServer::start_with(Config {
        seed: Some(1),
        idle_timeout_ms: 200,
        ..Config::default()
    })
    .await;
    let mut records = watch(&server, "long-watch").await;
    // Long enough for the idle timer and the goodbye grace to have closed
    // the watch's connection, had its stream not counted as in flight.
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    AccountClient::new(server.channel().await)
        .deposit(request(deposit(100), &[session("long-watch")]))
        .await
        .expect("a deposit on another connection");
    let record = next(&mut records).await;
    assert!(record.live, "{record:?}");
    assert_eq!(record.operation, "/calculator.v1.Account/Deposit");
}
