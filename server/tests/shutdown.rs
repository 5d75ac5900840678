//! Stopping under load loses nothing: every call answered OK before the
//! server stopped is in its final state, and a keyed call that was in flight
//! either finished (and was stored under its key) or never executed — so a
//! client that retries its unanswered keys ends with each one executed once.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use common::{Clients, TestServer, request};
use http_body_util::{BodyExt, Full};
use rpc_lab::proto::AccountClient;
use rpc_lab::proto::calculator_v1::AmountRequest;
use rpc_lab_server::config::Config;
use rpc_lab_server::transport::connections;
use rpc_lab_server::{Layers, app};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};
use tonic::transport::Endpoint;

const SESSION: &str = "shutdown";
const ACCOUNT: &str = "a";
/// Calls answered OK before the test stops the server.
const ACKED_BEFORE_STOP: usize = 150;

/// What one caller saw of one keyed deposit.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Seen {
    Ok,
    /// No answer, or an error: the client cannot know whether it executed.
    Unknown,
}

/// How the callers reach the server.
#[derive(Clone, Copy, Debug)]
enum Transport {
    Grpc,
    Rest,
}

/// Shared between the callers and the test.
struct Load {
    acked: AtomicUsize,
    enough: Notify,
    stopping: AtomicBool,
}

/// A client for keyed one-cent deposits, over either transport.
struct Depositor {
    url: String,
    grpc: AccountClient<tonic::transport::Channel>,
    http1: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Full<Bytes>,
    >,
}

impl Depositor {
    fn new(addr: std::net::SocketAddr) -> Depositor {
        let url = format!("http://{addr}");
        Depositor {
            grpc: AccountClient::new(Endpoint::from_shared(url.clone()).unwrap().connect_lazy()),
            http1:
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http(),
            url,
        }
    }

    /// Deposits one cent under `key`; `Ok(replayed)` once the whole reply
    /// has arrived, `Err` for an error or no reply.
    async fn deposit(
        &mut self,
        transport: Transport,
        key: &str,
        delay_ms: &str,
    ) -> Result<bool, String> {
        let replayed = |headers: &http::HeaderMap| headers.contains_key("idempotent-replayed");
        match transport {
            Transport::Grpc => self
                .grpc
                .deposit(request(
                    AmountRequest {
                        account: ACCOUNT.into(),
                        amount_cents: 1,
                    },
                    &[
                        ("x-lab-session", SESSION),
                        ("idempotency-key", key),
                        ("x-fault-delay-ms", delay_ms),
                    ],
                ))
                .await
                .map(|reply| replayed(&reply.metadata().clone().into_headers()))
                .map_err(|status| format!("{status:?}")),
            Transport::Rest => {
                let request =
                    http::Request::post(format!("{}/api/v1/accounts/{ACCOUNT}/deposit", self.url))
                        .header("content-type", "application/json")
                        .header("x-lab-session", SESSION)
                        .header("idempotency-key", key)
                        .header("x-fault-delay-ms", delay_ms)
                        .body(Full::new(Bytes::from_static(br#"{"amount_cents": 1}"#)))
                        .unwrap();
                let reply = self
                    .http1
                    .request(request)
                    .await
                    .map_err(|e| e.to_string())?;
                let (parts, body) = reply.into_parts();
                body.collect().await.map_err(|e| e.to_string())?;
                if parts.status != http::StatusCode::OK {
                    return Err(format!("HTTP {}", parts.status));
                }
                Ok(replayed(&parts.headers))
            }
        }
    }
}

/// One caller: keyed one-cent deposits, one after another on its own
/// connection, each with a small injected delay so that calls are in flight
/// when the stop comes, until a call fails. Returns what it saw per key.
async fn caller(
    load: Arc<Load>,
    addr: std::net::SocketAddr,
    name: String,
    transport: Transport,
) -> Vec<(String, (Transport, Seen))> {
    let mut depositor = Depositor::new(addr);
    let mut seen = Vec::new();
    for n in 0.. {
        let key = format!("{name}-{n}");
        let delay = (n % 4 * 5).to_string(); // 0, 5, 10, 15 ms
        match depositor.deposit(transport, &key, &delay).await {
            Ok(_) => {
                seen.push((key, (transport, Seen::Ok)));
                if load.acked.fetch_add(1, Ordering::SeqCst) + 1 == ACKED_BEFORE_STOP {
                    load.enough.notify_one();
                }
            }
            Err(error) => {
                assert!(
                    load.stopping.load(Ordering::SeqCst),
                    "{key} failed before the server was asked to stop: {error}"
                );
                seen.push((key, (transport, Seen::Unknown)));
                return seen;
            }
        }
    }
    unreachable!()
}

/// A load of keyed calls over native gRPC and REST, a stop in the middle of
/// it, then the same state served again to check every key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_under_load_loses_no_acknowledged_call() {
    let config = Config {
        seed: Some(1),
        ..Config::default()
    };
    // The app keeps the lab's state, so it can be served again after the stop.
    let (router, _lab) = app(&config, Layers::All).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(connections::serve(
        listener,
        router.clone(),
        config.connection_settings(),
        async {
            let _ = stopped.await;
        },
    ));

    let load = Arc::new(Load {
        acked: AtomicUsize::new(0),
        enough: Notify::new(),
        stopping: AtomicBool::new(false),
    });
    let callers: Vec<_> = (0..8)
        .map(|i| {
            let transport = if i % 2 == 0 {
                Transport::Grpc
            } else {
                Transport::Rest
            };
            tokio::spawn(caller(
                load.clone(),
                addr,
                format!("{transport:?}-{i}"),
                transport,
            ))
        })
        .collect();

    load.enough.notified().await;
    load.stopping.store(true, Ordering::SeqCst);
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .expect("the server finished its calls and stopped")
        .unwrap()
        .unwrap();

    let mut seen = BTreeMap::new();
    for caller in callers {
        seen.extend(caller.await.expect("a caller panicked"));
    }
    let acked = seen.values().filter(|(_, s)| *s == Seen::Ok).count();
    let unknown = seen.len() - acked;

    // The same state, served again: what did the stop leave behind? Each
    // key is retried as its client would, over the same transport.
    let server = TestServer::serve_router(router).await;
    let mut depositor = Depositor::new(server.addr);
    let mut replayed_unknown = 0;
    for (key, (transport, was)) in &seen {
        let replayed = depositor
            .deposit(*transport, key, "0")
            .await
            .unwrap_or_else(|error| panic!("retry of {key}: {error}"));
        match was {
            // Acknowledged, so executed and stored: a retry is a replay.
            Seen::Ok => assert!(replayed, "{key} was answered OK but is not stored"),
            // In flight at the stop: stored if it executed, else runs now.
            Seen::Unknown => replayed_unknown += usize::from(replayed),
        }
    }
    let mut clients = server.clients().await;
    // Each key executed exactly once: none lost, none twice.
    let keys = seen.len() as i64;
    assert_eq!(clients.balance(SESSION, ACCOUNT).await, keys);
    // Executions as the server counts them, gRPC and REST twin together.
    let executions: u64 = clients
        .stats(SESSION)
        .await
        .executions
        .iter()
        .filter(|(method, _)| method.to_lowercase().ends_with("/deposit"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(executions, keys as u64);
    eprintln!(
        "shutdown: {acked} calls answered before the stop completed; of the 8 left unanswered, \
         {replayed_unknown} had executed (and were stored), {} had not",
        unknown - replayed_unknown
    );
}

/// SIGTERM, as `kill` or systemd send it, stops the real binary gracefully:
/// a call in flight (held in an injected delay) is still answered, and the
/// process exits with success.
#[cfg(unix)]
#[tokio::test]
async fn sigterm_lets_the_call_in_flight_finish() {
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_rpc-lab-server"))
        .args(["--listen", "127.0.0.1:0", "--seed", "1"])
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the server binary");
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).await.unwrap();
    let url = line
        .trim()
        .strip_prefix("rpc-lab-server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();

    let channel = Endpoint::from_shared(url).unwrap().connect().await.unwrap();
    let mut clients = Clients {
        store: rpc_lab::proto::StoreClient::new(channel.clone()),
        account: AccountClient::new(channel.clone()),
        lab: rpc_lab::proto::LabClient::new(channel.clone()),
    };
    let mut account = clients.account.clone();
    let in_flight = tokio::spawn(async move {
        account
            .deposit(request(
                AmountRequest {
                    account: ACCOUNT.into(),
                    amount_cents: 7,
                },
                &[("x-lab-session", SESSION), ("x-fault-delay-ms", "1000")],
            ))
            .await
    });
    // The server counts an injected delay when it begins: from then on the
    // call is in the server's hands.
    while clients.stats(SESSION).await.faults_delay == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let pid = server.id().unwrap().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(kill.success());

    let reply = in_flight
        .await
        .unwrap()
        .expect("the call in flight is answered");
    assert_eq!(reply.into_inner().balance_cents, 7);
    let status = tokio::time::timeout(Duration::from_secs(20), server.wait())
        .await
        .expect("the server exits after SIGTERM")
        .unwrap();
    assert!(status.success(), "exit status {status}");
    let mut log = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .await
        .unwrap();
    assert!(log.contains("SIGTERM received"), "{log}");
}
