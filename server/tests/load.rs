//! The load engine (`Lab/RunLoad`) over real sockets: its numbers against the
//! server's truth, its caps, and its stop.

mod common;

use std::time::{Duration, Instant};

use common::{TestServer, request};
use rpc_lab::proto::calculator_v1::{
    Capacity, ClosedLoop, LoadFaultWindow, LoadFaults, LoadOperation, LoadPolicy, LoadScenario,
    LoadSnapshot, OpenLoop, load_scenario::Arrival,
};
use rpc_lab_server::config::Config;
use tonic::Code;

fn closed(clients: u32, duration_ms: u32) -> LoadScenario {
    LoadScenario {
        arrival: Some(Arrival::Closed(ClosedLoop {
            clients,
            think_ms: 0,
        })),
        duration_ms,
        seed: Some(1),
        ..Default::default()
    }
}

/// Every message of a run, the final one last.
async fn run(server: &TestServer, session: &str, scenario: LoadScenario) -> Vec<LoadSnapshot> {
    let mut lab = server.clients().await.lab;
    let mut stream = lab
        .run_load(request(scenario, &[("x-lab-session", session)]))
        .await
        .expect("RunLoad")
        .into_inner();
    let mut all = Vec::new();
    while let Some(snapshot) = stream.message().await.expect("a snapshot") {
        all.push(snapshot);
    }
    all
}

/// The invariants every message keeps.
fn adds_up(s: &LoadSnapshot) {
    assert_eq!(
        s.attempts_ended,
        s.attempts_by_code.values().sum::<u64>(),
        "attempts ended = the sum over codes: {s:?}"
    );
}

#[tokio::test]
async fn n_keyed_calls_under_lost_replies_execute_exactly_n_times() {
    let server = TestServer::start().await;
    let n = 300;
    let scenario = LoadScenario {
        operation: LoadOperation::Deposit as i32,
        max_calls: n,
        shared_client: true,
        // Half the replies are lost after the deposit ran: only keys keep
        // the retries from depositing again.
        faults: Some(LoadFaults {
            drop: 0.5,
            ..Default::default()
        }),
        policy: Some(LoadPolicy {
            max_attempts: 6,
            initial_backoff_ms: 1,
            max_backoff_ms: 5,
            backoff_multiplier: 2.0,
            idempotency_keys: true,
            ..Default::default()
        }),
        ..closed(8, 20_000)
    };
    let all = run(&server, "exact", scenario).await;
    let (summary, windows) = all.split_last().unwrap();
    assert!(summary.r#final && !summary.stopped);
    assert!(windows.iter().all(|w| !w.r#final));
    all.iter().for_each(adds_up);

    assert_eq!(summary.calls_started, n);
    assert_eq!(summary.calls_succeeded + summary.calls_failed, n);
    assert_eq!(summary.attempts_sent, summary.attempts_ended);
    assert_eq!(
        summary.calls_in_flight, 0,
        "a finished run waits for its calls"
    );
    assert_eq!(summary.retries, summary.attempts_sent - n);
    assert!(summary.retries > 0, "half the replies were lost");
    assert!(summary.attempts_replayed > 0);
    // The windows sum to the summary.
    let sum = |f: fn(&LoadSnapshot) -> u64| windows.iter().map(f).sum::<u64>();
    assert_eq!(sum(|w| w.calls_started), n);
    assert_eq!(sum(|w| w.attempts_sent), summary.attempts_sent);
    assert_eq!(sum(|w| w.server_executions), summary.server_executions);

    // The server's truth: n deposits of one cent, whatever the retries.
    let mut clients = server.clients().await;
    assert_eq!(summary.server_executions, n);
    assert_eq!(clients.executions("exact", "Account/Deposit").await, n);
    assert_eq!(clients.balance("exact", "load").await, n as i64);
    println!(
        "{n} calls: {} attempts {:?}, {} replays, {} executions",
        summary.attempts_sent,
        summary.attempts_by_code,
        summary.attempts_replayed,
        summary.server_executions
    );
}

#[tokio::test]
async fn an_open_loop_sends_on_schedule_and_snapshots_every_100_ms() {
    let server = TestServer::start().await;
    let scenario = LoadScenario {
        arrival: Some(Arrival::Open(OpenLoop {
            rate_per_second: 200.0,
            poisson: false,
        })),
        duration_ms: 1_000,
        ..closed(1, 1_000)
    };
    let all = run(&server, "open", scenario).await;
    let (summary, windows) = all.split_last().unwrap();
    all.iter().for_each(adds_up);
    // 1 000 ms in windows of 100 ms, plus perhaps a short last one.
    assert!(
        (9..=12).contains(&windows.len()),
        "{} windows",
        windows.len()
    );
    // Windows end on a grid of 100 ms from the run's start (a late tick
    // makes its window longer and the next one shorter, never drifts).
    for (k, w) in windows[..windows.len() - 1].iter().enumerate() {
        assert!(w.elapsed_ms >= 100 * (k as u32 + 1), "{k}: {w:?}");
    }
    // Evenly spaced from 0 to 995 ms: exactly 200 calls.
    assert_eq!(summary.calls_started, 200);
    assert_eq!(summary.calls_succeeded, 200);
    assert_eq!(summary.calls_not_sent, 0);
    assert_eq!(summary.attempts_by_code["OK"], 200);
    assert_eq!(
        server
            .clients()
            .await
            .executions("open", "Calculator/Add")
            .await,
        200
    );
    println!(
        "open loop 200/s: p99 latency {:.2} ms, p99 schedule lag {:.2} ms",
        summary.latency_p99_ms, summary.schedule_lag_p99_ms
    );
}

#[tokio::test]
async fn caps_and_concurrent_runs_are_refused_naming_the_flag() {
    let server = TestServer::start_with(Config {
        seed: Some(1),
        max_load_clients: 10,
        max_load_rate: 100.0,
        max_load_duration_ms: 5_000,
        max_load_runs: 1,
        ..Config::default()
    })
    .await;
    let lab = server.clients().await.lab;
    let refused = |scenario: LoadScenario, session: &'static str| {
        let mut lab = lab.clone();
        async move {
            lab.run_load(request(scenario, &[("x-lab-session", session)]))
                .await
                .expect_err("refused")
        }
    };
    for (scenario, flag) in [
        (closed(11, 1_000), "--max-load-clients 10"),
        (closed(1, 5_001), "--max-load-duration-ms 5000"),
        (
            LoadScenario {
                arrival: Some(Arrival::Open(OpenLoop {
                    rate_per_second: 101.0,
                    poisson: true,
                })),
                ..closed(1, 1_000)
            },
            "--max-load-rate 100",
        ),
    ] {
        let status = refused(scenario, "caps").await;
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert!(status.message().contains(flag), "{}", status.message());
    }

    // One run going on: a second in its session, or any in another (the
    // server allows one at once), is refused.
    let mut going = lab
        .clone()
        .run_load(request(closed(1, 5_000), &[("x-lab-session", "caps")]))
        .await
        .expect("the first run")
        .into_inner();
    going.message().await.expect("a first snapshot");
    let status = refused(closed(1, 1_000), "caps").await;
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status.message().contains("one run per session"),
        "{}",
        status.message()
    );
    let status = refused(closed(1, 1_000), "other").await;
    assert!(
        status.message().contains("--max-load-runs 1"),
        "{}",
        status.message()
    );

    // A bad policy is INVALID_ARGUMENT in the core's words.
    drop(going);
    let status = refused(
        LoadScenario {
            policy: Some(LoadPolicy::default()),
            ..closed(1, 1_000)
        },
        "policy",
    )
    .await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("policy.max_attempts is 0"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn cancelling_the_stream_stops_the_run() {
    let server = TestServer::start().await;
    let mut clients = server.clients().await;
    let mut stream = clients
        .lab
        .run_load(request(closed(20, 60_000), &[("x-lab-session", "stop")]))
        .await
        .expect("RunLoad")
        .into_inner();
    for _ in 0..3 {
        let snapshot = stream.message().await.unwrap().unwrap();
        assert!(!snapshot.r#final);
    }
    let cancelled = Instant::now();
    drop(stream);

    // The run has ended when its session may start another: its place is
    // given back only when its thread, and every call, is gone.
    let mut lab = clients.lab.clone();
    let next = loop {
        match lab
            .run_load(request(closed(1, 100), &[("x-lab-session", "stop")]))
            .await
        {
            Ok(stream) => break stream.into_inner(),
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                assert!(
                    cancelled.elapsed() < Duration::from_secs(2),
                    "the run still holds its place {:?} after the cancel",
                    cancelled.elapsed()
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    let stopped_within = cancelled.elapsed();
    drop(next);
    // ... and no call of it starts any more: executions stand still once
    // the short second run (100 ms, also cancelled) is gone too.
    let mut settled = clients.executions("stop", "Calculator/Add").await;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = clients.executions("stop", "Calculator/Add").await;
        if now == settled {
            break;
        }
        assert!(
            cancelled.elapsed() < Duration::from_secs(5),
            "executions keep growing"
        );
        settled = now;
    }
    println!("stopped within {stopped_within:?}; {settled} executions in all");
}

#[tokio::test]
async fn a_stopping_server_ends_its_runs_with_their_summary() {
    let server = TestServer::start().await;
    let mut lab = server.clients().await.lab;
    let mut stream = lab
        .run_load(request(closed(4, 60_000), &[("x-lab-session", "bye")]))
        .await
        .expect("RunLoad")
        .into_inner();
    stream.message().await.unwrap().expect("a first snapshot");
    let stopping = tokio::spawn(server.stop());
    let mut last = None;
    while let Some(snapshot) = stream.message().await.expect("a well-formed stream") {
        last = Some(snapshot);
    }
    let last = last.expect("a summary");
    assert!(last.r#final && last.stopped, "{last:?}");
    assert!(
        last.elapsed_ms < 10_000,
        "the run did not go on for its minute"
    );
    stopping.await.unwrap().expect("a clean stop");
}

#[tokio::test]
async fn an_open_loop_never_has_more_calls_in_flight_than_its_cap() {
    let server = TestServer::start_with(Config {
        seed: Some(1),
        max_load_clients: 2,
        ..Config::default()
    })
    .await;
    let scenario = LoadScenario {
        arrival: Some(Arrival::Open(OpenLoop {
            rate_per_second: 100.0,
            poisson: false,
        })),
        // Each call takes 200 ms: at 100 calls/s about 20 would be in flight.
        faults: Some(LoadFaults {
            delay_ms: 200,
            ..Default::default()
        }),
        ..closed(1, 300)
    };
    let all = run(&server, "cap", scenario).await;
    let (summary, windows) = all.split_last().unwrap();
    assert!(
        windows.iter().all(|w| w.calls_in_flight <= 2),
        "{windows:?}"
    );
    // Every scheduled call (0, 10, ..., 290 ms) was either sent or counted.
    assert_eq!(summary.calls_started + summary.calls_not_sent, 30);
    assert!(summary.calls_not_sent > 0);
    assert_eq!(
        server
            .clients()
            .await
            .executions("cap", "Calculator/Add")
            .await,
        summary.calls_started
    );
}

/// An attempt that outlives its timeout ends DEADLINE_EXCEEDED, as gRPC
/// names it, and is retried — not CANCELLED (tonic's name for its own timer,
/// which no policy retries), or a full queue could never start a retry storm.
#[tokio::test]
async fn an_attempt_past_its_timeout_is_deadline_exceeded_and_retried() {
    let server = TestServer::start().await;
    let scenario = LoadScenario {
        operation: LoadOperation::Add as i32,
        max_calls: 4,
        // One worker, 300 ms a call, and it finishes abandoned work: the
        // server never answers within an attempt's 40 ms, the client's
        // timer does.
        capacity: Some(Capacity {
            workers: 1,
            queue: 16,
            service_ms: 300,
            ..Default::default()
        }),
        policy: Some(LoadPolicy {
            max_attempts: 2,
            initial_backoff_ms: 1,
            max_backoff_ms: 1,
            backoff_multiplier: 1.0,
            attempt_timeout_ms: Some(40),
            ..Default::default()
        }),
        ..closed(4, 5_000)
    };
    let all = run(&server, "deadline-named", scenario).await;
    let summary = all.last().unwrap();
    adds_up(summary);
    assert_eq!(summary.calls_failed, 4, "{summary:?}");
    assert_eq!(
        summary.attempts_by_code.get("DEADLINE_EXCEEDED"),
        Some(&8),
        "two attempts a call, each past its timeout: {summary:?}"
    );
    assert_eq!(summary.retries, 4, "{summary:?}");
}

/// A schedule of faults: attempts sent inside a fault window carry its
/// faults, the others the run's own (none here). At 50 calls/s, a call every
/// 20 ms, the window 200–400 ms holds the ten calls sent at 200, 220 … 380
/// ms; a send would have to be 20 ms late to cross a border.
#[tokio::test]
async fn attempts_sent_inside_a_fault_window_carry_its_faults() {
    let server = TestServer::start_with(Config {
        seed: Some(1),
        ..Config::default()
    })
    .await;
    let scenario = LoadScenario {
        arrival: Some(Arrival::Open(OpenLoop {
            rate_per_second: 50.0,
            poisson: false,
        })),
        fault_windows: vec![LoadFaultWindow {
            start_ms: 200,
            end_ms: 400,
            faults: Some(LoadFaults {
                fail: 1.0,
                ..Default::default()
            }),
        }],
        ..closed(1, 600)
    };
    let all = run(&server, "fault-window", scenario).await;
    let (summary, windows) = all.split_last().unwrap();
    assert_eq!(summary.calls_started, 30, "{summary:?}");
    assert_eq!(summary.calls_failed, 10, "{summary:?}");
    assert_eq!(summary.attempts_by_code["UNAVAILABLE"], 10);
    assert_eq!(summary.attempts_by_code["OK"], 20);
    // Failures only while the window was open: none in the snapshots that
    // end before it opens or start after it has closed.
    for window in windows {
        let from = window.elapsed_ms - window.window_ms;
        if window.elapsed_ms <= 200 || from >= 400 {
            assert_eq!(window.calls_failed, 0, "{window:?}");
        }
    }
    // The server's own count agrees: twenty executions (a failed attempt
    // is refused before the operation runs).
    assert_eq!(
        server
            .clients()
            .await
            .executions("fault-window", "Calculator/Add")
            .await,
        20
    );
}

#[tokio::test]
async fn overlapping_fault_windows_are_refused() {
    let server = TestServer::start().await;
    let window = |start_ms, end_ms| LoadFaultWindow {
        start_ms,
        end_ms,
        faults: None,
    };
    let mut lab = server.clients().await.lab;
    let status = lab
        .run_load(request(
            LoadScenario {
                fault_windows: vec![window(300, 500), window(100, 350)],
                ..closed(1, 600)
            },
            &[("x-lab-session", "overlap")],
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        status.message(),
        "fault_windows overlap: one runs from 100 to 350 ms, another starts at 300 ms"
    );
}
