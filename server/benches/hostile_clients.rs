//! Hostile clients vs a normal one: how much does a crowd of connections
//! that do nothing, and clients that send their requests a byte at a time,
//! cost a normal client's calls?
//!
//! Run with `cargo bench -p rpc-lab-server --bench hostile_clients`.
//!
//! - The server runs on a single-threaded runtime pinned to one core, the
//!   normal client and the hostile ones on another (when the machine has
//!   two): the hostile connections compete for the server's one core.
//! - The normal client: one caller in a closed loop, `Calculator/Add` over
//!   native gRPC (HTTP/2) and `POST /api/v1/calculator/add` over REST
//!   (HTTP/1.1), each on its own kept-alive connection.
//! - Rounds alternate quiet and hostile ([`ROUNDS`] of each, [`ROUND`]
//!   long), so both see the same machine; the result is a ratio.
//! - Hostile: [`SILENT`] TCP connections that never send a byte, [`IDLE_H2`]
//!   HTTP/2 connections idle after one call (together the "500 idle
//!   connections"), and [`SLOWLORIS`] clients dripping header lines
//!   ([`DRIP`] apart) that never end their request, reconnecting whenever
//!   the server drops them. The server runs with its default limits.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rpc_lab::proto::{BinaryOperation, CalculatorClient};
use rpc_lab_server::config::Config;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tonic::transport::Endpoint;

const ROUND: Duration = Duration::from_secs(2);
const ROUNDS: usize = 3;
const WARMUP: Duration = Duration::from_millis(500);
const SILENT: usize = 250;
const IDLE_H2: usize = 250;
const SLOWLORIS: usize = 20;
const DRIP: Duration = Duration::from_millis(100);

fn main() {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let (server_core, load_core) = (cores.first().copied(), cores.get(1).copied());

    let (address_tx, address_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let pinned = server_core.is_some_and(core_affinity::set_for_current);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            address_tx
                .send((listener.local_addr().unwrap(), pinned))
                .unwrap();
            let config = Config {
                seed: Some(1),
                ..Config::default()
            };
            rpc_lab_server::serve(listener, config, std::future::pending())
                .await
                .unwrap();
        });
    });
    let (lab, server_pinned) = address_rx.recv().unwrap();
    let load_pinned = load_core.is_some_and(core_affinity::set_for_current);
    println!(
        "{} cores; server pinned: {server_pinned}; clients pinned: {load_pinned}",
        cores.len()
    );
    let limits = Config::default().connection_settings();
    println!(
        "server limits: header {:?}, body {:?}, idle {:?}, {} streams per HTTP/2 connection",
        limits.header_read_timeout,
        limits.body_read_timeout,
        limits.idle_timeout,
        limits.max_concurrent_streams
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let mut grpc = CalculatorClient::new(
            Endpoint::from_shared(format!("http://{lab}"))
                .unwrap()
                .connect()
                .await
                .unwrap(),
        );
        let rest = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let mut quiet = [new_histogram(), new_histogram()];
        let mut hostile = [new_histogram(), new_histogram()];
        let mut errors = [0u64; 2];
        let _ = closed_loop(&mut grpc, &rest, lab, WARMUP).await;
        for _ in 0..ROUNDS {
            let (g, r, e) = closed_loop(&mut grpc, &rest, lab, ROUND).await;
            quiet[0].add(&g).unwrap();
            quiet[1].add(&r).unwrap();
            errors[0] += e;

            let crowd = Crowd::gather(lab).await;
            let (g, r, e) = closed_loop(&mut grpc, &rest, lab, ROUND).await;
            hostile[0].add(&g).unwrap();
            hostile[1].add(&r).unwrap();
            errors[1] += e;
            crowd.disperse();
        }

        println!();
        println!(
            "== one normal caller, closed loop, {ROUNDS} rounds of {ROUND:?} each; hostile = \
             {SILENT} silent TCP + {IDLE_H2} idle HTTP/2 connections + {SLOWLORIS} slowloris =="
        );
        println!(
            "{:<22} {:>9} {:>9} {:>9} {:>9} {:>9} {:>13}",
            "transport", "calls", "p50 µs", "p99 µs", "p99.9 µs", "max µs", "p99 / quiet"
        );
        for (i, name) in ["gRPC, HTTP/2", "REST, HTTP/1.1"].iter().enumerate() {
            for (label, h) in [("quiet", &quiet[i]), ("hostile", &hostile[i])] {
                println!(
                    "{:<22} {:>9} {:>9} {:>9} {:>9} {:>9} {:>12.2}×",
                    format!("{name}, {label}"),
                    h.len(),
                    h.value_at_quantile(0.5),
                    h.value_at_quantile(0.99),
                    h.value_at_quantile(0.999),
                    h.max(),
                    h.value_at_quantile(0.99) as f64
                        / quiet[i].value_at_quantile(0.99).max(1) as f64,
                );
            }
        }
        println!("errors: quiet {}, hostile {}", errors[0], errors[1]);
    });
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new(3).unwrap()
}

/// One caller alternating a gRPC and a REST add for `length`.
async fn closed_loop(
    grpc: &mut CalculatorClient<tonic::transport::Channel>,
    rest: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    lab: SocketAddr,
    length: Duration,
) -> (Histogram<u64>, Histogram<u64>, u64) {
    let (mut g, mut r, mut errors) = (new_histogram(), new_histogram(), 0);
    let until = Instant::now() + length;
    while Instant::now() < until {
        let sent = Instant::now();
        let ok = grpc.add(BinaryOperation { a: 1.0, b: 2.0 }).await.is_ok();
        g.record(sent.elapsed().as_micros() as u64).unwrap();
        errors += u64::from(!ok);

        let sent = Instant::now();
        let request = http::Request::post(format!("http://{lab}/api/v1/calculator/add"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(br#"{"a": 1, "b": 2}"#)))
            .unwrap();
        let ok = match rest.request(request).await {
            Ok(reply) => reply.status() == 200 && reply.into_body().collect().await.is_ok(),
            Err(_) => false,
        };
        r.record(sent.elapsed().as_micros() as u64).unwrap();
        errors += u64::from(!ok);
    }
    (g, r, errors)
}

/// The hostile clients of one round.
struct Crowd {
    silent: Vec<TcpStream>,
    idle: Vec<tokio::task::JoinHandle<()>>,
    slowloris: Vec<tokio::task::JoinHandle<()>>,
}

impl Crowd {
    async fn gather(lab: SocketAddr) -> Crowd {
        let mut silent = Vec::new();
        for _ in 0..SILENT {
            silent.push(TcpStream::connect(lab).await.unwrap());
        }
        let mut idle = Vec::new();
        for _ in 0..IDLE_H2 {
            let tcp = TcpStream::connect(lab).await.unwrap();
            let (mut sender, connection) =
                hyper::client::conn::http2::handshake::<_, _, Full<Bytes>>(
                    TokioExecutor::new(),
                    TokioIo::new(tcp),
                )
                .await
                .unwrap();
            let driver = tokio::spawn(async move {
                let _ = connection.await;
            });
            // One call, so the connection is fully set up; then nothing.
            let request = http::Request::post("http://lab/api/v1/calculator/add")
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from_static(br#"{"a": 1, "b": 2}"#)))
                .unwrap();
            let reply = sender.send_request(request).await.unwrap();
            let _ = reply.into_body().collect().await;
            idle.push(tokio::spawn(async move {
                let _sender = sender;
                let _ = driver.await;
            }));
        }
        let slowloris = (0..SLOWLORIS)
            .map(|_| tokio::spawn(slowloris(lab)))
            .collect();
        Crowd {
            silent,
            idle,
            slowloris,
        }
    }

    /// Closes every hostile connection.
    fn disperse(self) {
        drop(self.silent);
        for task in self.idle.into_iter().chain(self.slowloris) {
            task.abort();
        }
    }
}

/// Sends a request head one header line at a time, forever, reconnecting
/// when the server drops it (after its header timeout).
async fn slowloris(lab: SocketAddr) {
    loop {
        let Ok(mut tcp) = TcpStream::connect(lab).await else {
            return;
        };
        if tcp
            .write_all(b"POST /api/v1/calculator/add HTTP/1.1\r\nhost: lab\r\n")
            .await
            .is_err()
        {
            continue;
        }
        for i in 0u64.. {
            tokio::time::sleep(DRIP).await;
            if tcp
                .write_all(format!("x-drip-{i}: still coming\r\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
        }
    }
}
