//! The load engine's optimistic write (`LOAD_OPERATION_OPTIMISTIC_WRITE`)
//! over real sockets: N clients that each write one record once — Brooker's
//! jitter experiment — against the server's truth.

mod common;

use common::{TestServer, request};
use rpc_lab::jitter_experiment::{self, Strategy};
use rpc_lab::proto::calculator_v1::{
    GetValueRequest, LoadJitter, LoadPolicy, LoadScenario, LoadSnapshot,
};

/// The summary of a run in `session`.
async fn summary(server: &TestServer, session: &str, scenario: LoadScenario) -> LoadSnapshot {
    let mut lab = server.clients().await.lab;
    let mut stream = lab
        .run_load(request(scenario, &[("x-lab-session", session)]))
        .await
        .expect("RunLoad")
        .into_inner();
    let mut last = None;
    while let Some(snapshot) = stream.message().await.expect("a snapshot") {
        last = Some(snapshot);
    }
    let last = last.expect("a summary");
    assert!(last.r#final);
    last
}

/// The jitter experiment's run (`rpc_lab::jitter_experiment`), with short
/// backoffs and a 5 ms delay, so that it is quick and still conflicts.
fn writers(clients: u32, jitter: LoadJitter) -> LoadScenario {
    LoadScenario {
        policy: Some(LoadPolicy {
            max_attempts: 10_000,
            initial_backoff_ms: 2,
            max_backoff_ms: 100,
            backoff_multiplier: 2.0,
            jitter: jitter.into(),
            ..LoadPolicy::default()
        }),
        ..jitter_experiment::scenario(Strategy::Full, clients, 7, 5)
    }
}

/// 30 writers, each once: every conflict was retried until it landed, the
/// record counts exactly 30 writes, and the server executed exactly the
/// compare-and-sets the run counted — 30 that wrote, the rest ABORTED.
#[tokio::test]
async fn n_writers_each_write_once_and_every_conflict_is_counted() {
    let server = TestServer::start().await;
    let n = 30;
    for jitter in [LoadJitter::None, LoadJitter::Full, LoadJitter::Decorrelated] {
        let session = format!("writers-{}", jitter.as_str_name());
        let run = summary(&server, &session, writers(n, jitter)).await;
        let n = u64::from(n);
        assert_eq!(run.calls_started, n, "{session}: one call per client");
        assert_eq!(run.calls_succeeded, n, "{session}: {run:?}");
        assert_eq!(run.calls_failed, 0);
        let aborted = run.attempts_by_code.get("ABORTED").copied().unwrap_or(0);
        assert_eq!(run.attempts_by_code.get("OK"), Some(&n));
        assert_eq!(run.attempts_sent, n + aborted, "{session}: {run:?}");
        assert!(
            aborted > 0,
            "{session}: 30 writers 5 ms apart must conflict"
        );
        assert_eq!(run.retries, aborted, "each refusal was retried once");

        let mut clients = server.clients().await;
        let record = clients
            .store
            .get_versioned_value(request(
                GetValueRequest { key: "load".into() },
                &[("x-lab-session", &session)],
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            record.value, n as f64,
            "each write added one to what it read"
        );
        assert_eq!(
            clients.executions(&session, "Store/CompareAndSet").await,
            run.attempts_sent,
            "the server executed every attempt's write, once"
        );
        assert_eq!(
            run.server_executions, run.attempts_sent,
            "the run's own count of the server's executions agrees"
        );
    }
}
