//! RPC vs REST, measured on the wire: the same `add(1, 2)` over native gRPC
//! (HTTP/2), binary gRPC-Web (HTTP/1.1) and the REST/JSON twin (HTTP/1.1),
//! against a raw TCP round trip measured in the same run, so results read as
//! ratios rather than as absolute numbers from an unknown machine.
//!
//! Run with `cargo bench -p rpc-lab-server --bench rpc_vs_rest`.
//!
//! - The server runs on a single-threaded runtime pinned to one core, the
//!   load generator on another (when the machine has two); the output says
//!   whether pinning worked.
//! - Closed loop: each of `c` callers sends its next request when the last
//!   answer arrives, for 3 s, at c = 1 and c = 32. gRPC multiplexes all
//!   callers on one HTTP/2 connection; HTTP/1.1 needs a connection per
//!   caller in flight (the client's pool opens them).
//! - Bytes per request count everything both ways on the TCP connections
//!   (headers, framing, HTTP/2 control frames, connection set-up), divided
//!   by the requests sent.
//!
//! - Fixed rate (open loop): requests are *scheduled* at a constant rate
//!   ([`FIXED_RATE`] per second) whether or not earlier ones have answered,
//!   and latency is measured from each request's scheduled time. A closed
//!   loop hides stalls: while the server stalls, its callers send nothing,
//!   so the slow period contributes one slow sample instead of the many
//!   users who would have waited ("coordinated omission"). Both figures are
//!   printed, corrected and uncorrected, to show the difference.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rpc_lab::proto::{BinaryOperation, CalculatorClient};
use rpc_lab_server::config::Config;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tonic::transport::Endpoint;
use tonic_web::GrpcWebClientLayer;

const DURATION: Duration = Duration::from_secs(3);
/// The open-loop rate: below every transport's capacity on this machine.
const FIXED_RATE: u32 = 4_000;
/// Most requests in flight in the open loop; beyond it the generator waits
/// (and the wait counts in the corrected latency).
const MAX_IN_FLIGHT: usize = 512;
const WARMUP: Duration = Duration::from_millis(500);
const ECHO_BYTES: usize = 64;

fn main() {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let (server_core, load_core) = (cores.first().copied(), cores.get(1).copied());

    // The lab server and a TCP echo server, on one thread pinned to one core.
    let (addresses_tx, addresses_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let pinned = server_core.is_some_and(core_affinity::set_for_current);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let lab = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
            addresses_tx
                .send((
                    lab.local_addr().unwrap(),
                    echo.local_addr().unwrap(),
                    pinned,
                ))
                .unwrap();
            tokio::spawn(echo_server(echo));
            let config = Config {
                seed: Some(1),
                ..Config::default()
            };
            rpc_lab_server::serve(lab, config, std::future::pending())
                .await
                .unwrap();
        });
    });
    let (lab, echo, server_pinned) = addresses_rx.recv().unwrap();
    let load_pinned = load_core.is_some_and(core_affinity::set_for_current);
    println!(
        "{} cores; server pinned to core {}: {server_pinned}; load generator pinned to core {}: {load_pinned}",
        cores.len(),
        server_core.map_or("-".into(), |c| c.id.to_string()),
        load_core.map_or("-".into(), |c| c.id.to_string()),
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        for concurrency in [1, 32] {
            println!();
            println!("== closed loop, {concurrency} concurrent caller(s), {DURATION:?} each ==");
            println!(
                "{:<26} {:>9} {:>8} {:>8} {:>8} {:>9} {:>7} {:>10} {:>12}",
                "transport",
                "req/s",
                "p50 µs",
                "p90 µs",
                "p99 µs",
                "p99.9 µs",
                "errors",
                "bytes/req",
                "p50 / TCP"
            );
            let baseline = measure(concurrency, Transport::Tcp, lab, echo).await;
            baseline.print("TCP round trip (baseline)", &baseline);
            for (name, transport) in [
                ("gRPC, HTTP/2", Transport::Grpc),
                ("gRPC-Web, HTTP/1.1", Transport::GrpcWeb),
                ("REST/JSON, HTTP/1.1", Transport::Rest),
            ] {
                measure(concurrency, transport, lab, echo)
                    .await
                    .print(name, &baseline);
            }
        }

        println!();
        println!("== fixed rate: {FIXED_RATE} requests/s for {DURATION:?}, latency from the scheduled send time ==");
        println!(
            "{:<26} {:>9} {:>8} {:>8} {:>8} {:>9} {:>7} {:>22}",
            "transport", "req/s", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "errors", "p99 uncorrected µs"
        );
        for (name, transport) in [
            ("gRPC, HTTP/2", Transport::Grpc),
            ("gRPC-Web, HTTP/1.1", Transport::GrpcWeb),
            ("REST/JSON, HTTP/1.1", Transport::Rest),
        ] {
            let caller = Caller::new(transport, lab, echo, Arc::new(AtomicU64::new(0))).await;
            let _ = fixed_rate(&caller, WARMUP).await;
            let run = fixed_rate(&caller, DURATION).await;
            println!(
                "{:<26} {:>9.0} {:>8} {:>8} {:>8} {:>9} {:>7} {:>22}",
                name,
                run.corrected.len() as f64 / run.elapsed.as_secs_f64(),
                run.corrected.value_at_quantile(0.5),
                run.corrected.value_at_quantile(0.9),
                run.corrected.value_at_quantile(0.99),
                run.corrected.value_at_quantile(0.999),
                run.errors,
                run.uncorrected.value_at_quantile(0.99),
            );
        }
    });
}

struct OpenLoop {
    /// Latency from the scheduled send time: what a user arriving then saw.
    corrected: Histogram<u64>,
    /// Latency from the actual send time: what a closed-loop tool reports.
    uncorrected: Histogram<u64>,
    errors: u64,
    elapsed: Duration,
}

/// Sends at a fixed rate for `length`, never waiting for answers except when
/// [`MAX_IN_FLIGHT`] are outstanding.
async fn fixed_rate(caller: &Caller, length: Duration) -> OpenLoop {
    use futures_util::stream::FuturesUnordered;
    use futures_util::{FutureExt, StreamExt};

    let interval = Duration::from_secs(1) / FIXED_RATE;
    let started = Instant::now();
    let total = (length.as_secs_f64() * f64::from(FIXED_RATE)) as u32;
    let mut corrected = Histogram::<u64>::new(3).unwrap();
    let mut uncorrected = Histogram::<u64>::new(3).unwrap();
    let mut errors = 0;
    let mut in_flight = FuturesUnordered::new();
    let mut record = |(scheduled, sent, ok): (Instant, Instant, bool)| {
        corrected
            .record(scheduled.elapsed().as_micros() as u64)
            .unwrap();
        uncorrected
            .record(sent.elapsed().as_micros() as u64)
            .unwrap();
        errors += u64::from(!ok);
    };
    for i in 0..total {
        let scheduled = started + interval * i;
        // Until it is time for the next request, collect answers. tokio's
        // timers tick in whole milliseconds, far coarser than the 250 µs
        // between requests: sleeping to each send time would send bursts
        // and charge the generator's lateness to the server. So sleep only
        // until shortly before, then spin (yielding, so the connections'
        // tasks run) on this dedicated, pinned core.
        loop {
            while let Some(Some(done)) = in_flight.next().now_or_never() {
                record(done);
            }
            let now = Instant::now();
            if now >= scheduled && in_flight.len() < MAX_IN_FLIGHT {
                break;
            }
            if scheduled.saturating_duration_since(now) > Duration::from_millis(2) {
                let wake = tokio::time::sleep_until((scheduled - Duration::from_millis(1)).into());
                tokio::select! {
                    Some(done) = in_flight.next(), if !in_flight.is_empty() => record(done),
                    () = wake => {}
                }
            } else {
                tokio::task::yield_now().await;
            }
        }
        in_flight.push(async move {
            let sent = Instant::now();
            let ok = caller.call(i as usize % 32, None).await;
            (scheduled, sent, ok)
        });
    }
    while let Some(done) = in_flight.next().await {
        record(done);
    }
    OpenLoop {
        corrected,
        uncorrected,
        errors,
        elapsed: started.elapsed(),
    }
}

#[derive(Clone, Copy)]
enum Transport {
    Tcp,
    Grpc,
    GrpcWeb,
    Rest,
}

struct Measured {
    latency: Histogram<u64>,
    requests: u64,
    errors: u64,
    elapsed: Duration,
    bytes: u64,
}

impl Measured {
    fn print(&self, name: &str, baseline: &Measured) {
        let p50 = self.latency.value_at_quantile(0.5);
        println!(
            "{:<26} {:>9.0} {:>8} {:>8} {:>8} {:>9} {:>7} {:>10.0} {:>11.1}×",
            name,
            self.requests as f64 / self.elapsed.as_secs_f64(),
            p50,
            self.latency.value_at_quantile(0.9),
            self.latency.value_at_quantile(0.99),
            self.latency.value_at_quantile(0.999),
            self.errors,
            self.bytes as f64 / self.requests.max(1) as f64,
            p50 as f64 / baseline.latency.value_at_quantile(0.5).max(1) as f64,
        );
    }
}

/// Runs `concurrency` callers of one transport: a warm-up, then a measured run.
async fn measure(
    concurrency: usize,
    transport: Transport,
    lab: SocketAddr,
    echo: SocketAddr,
) -> Measured {
    let bytes = Arc::new(AtomicU64::new(0));
    let caller = Caller::new(transport, lab, echo, bytes.clone()).await;
    let _ = run(&caller, concurrency, WARMUP).await;
    bytes.store(0, Ordering::Relaxed);
    let started = Instant::now();
    let (latency, requests, errors) = run(&caller, concurrency, DURATION).await;
    Measured {
        latency,
        requests,
        errors,
        elapsed: started.elapsed(),
        bytes: bytes.load(Ordering::Relaxed),
    }
}

async fn run(caller: &Caller, concurrency: usize, length: Duration) -> (Histogram<u64>, u64, u64) {
    let until = Instant::now() + length;
    let workers = (0..concurrency).map(|worker| async move {
        let mut latency = Histogram::<u64>::new(3).unwrap();
        let mut errors = 0;
        let mut tcp = match caller {
            Caller::Tcp { echo, bytes } => Some(connect(*echo, bytes.clone()).await.unwrap()),
            _ => None,
        };
        while Instant::now() < until {
            let sent = Instant::now();
            let ok = caller.call(worker, tcp.as_mut()).await;
            latency.record(sent.elapsed().as_micros() as u64).unwrap();
            errors += u64::from(!ok);
        }
        (latency, errors)
    });
    let mut total = Histogram::<u64>::new(3).unwrap();
    let mut errors = 0;
    for (latency, worker_errors) in futures_util::future::join_all(workers).await {
        total.add(&latency).unwrap();
        errors += worker_errors;
    }
    let requests = total.len();
    (total, requests, errors)
}

type Http1 = Client<CountingConnector, Full<Bytes>>;
type GrpcWebTransport = tonic_web::GrpcWebClientService<
    Client<CountingConnector, tonic_web::GrpcWebCall<tonic::body::Body>>,
>;

enum Caller {
    Tcp {
        echo: SocketAddr,
        bytes: Arc<AtomicU64>,
    },
    Grpc(CalculatorClient<tonic::transport::Channel>),
    GrpcWeb(CalculatorClient<GrpcWebTransport>),
    Rest {
        client: Http1,
        url: String,
    },
}

impl Caller {
    async fn new(
        transport: Transport,
        lab: SocketAddr,
        echo: SocketAddr,
        bytes: Arc<AtomicU64>,
    ) -> Caller {
        let connector = CountingConnector {
            address: lab,
            bytes: bytes.clone(),
        };
        match transport {
            Transport::Tcp => Caller::Tcp { echo, bytes },
            Transport::Grpc => {
                let channel = Endpoint::from_shared(format!("http://{lab}"))
                    .unwrap()
                    .connect_with_connector(connector)
                    .await
                    .unwrap();
                Caller::Grpc(CalculatorClient::new(channel))
            }
            Transport::GrpcWeb => {
                let http1 = Client::builder(TokioExecutor::new()).build(connector);
                let service = tower::ServiceBuilder::new()
                    .layer(GrpcWebClientLayer::new())
                    .service(http1);
                Caller::GrpcWeb(CalculatorClient::with_origin(
                    service,
                    format!("http://{lab}").parse().unwrap(),
                ))
            }
            Transport::Rest => Caller::Rest {
                client: Client::builder(TokioExecutor::new()).build(connector),
                url: format!("http://{lab}/api/v1/calculator/add"),
            },
        }
    }

    /// One request; true if it got the right answer.
    async fn call(&self, worker: usize, tcp: Option<&mut CountingStream>) -> bool {
        let operands = BinaryOperation {
            a: worker as f64,
            b: 2.0,
        };
        match self {
            Caller::Tcp { .. } => {
                let stream = tcp.expect("a TCP caller has a stream");
                let mut buffer = [7u8; ECHO_BYTES];
                stream.write_all(&buffer).await.is_ok()
                    && stream.read_exact(&mut buffer).await.is_ok()
            }
            Caller::Grpc(client) => {
                let reply = client.clone().add(operands).await;
                reply.is_ok_and(|r| r.into_inner().value == worker as f64 + 2.0)
            }
            Caller::GrpcWeb(client) => {
                let reply = client.clone().add(operands).await;
                reply.is_ok_and(|r| r.into_inner().value == worker as f64 + 2.0)
            }
            Caller::Rest { client, url } => {
                let body = format!(r#"{{"a":{},"b":2}}"#, worker);
                let request = http::Request::post(url.as_str())
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(body)))
                    .unwrap();
                match client.request(request).await {
                    Ok(response) => {
                        let ok = response.status() == 200;
                        ok && response.into_body().collect().await.is_ok()
                    }
                    Err(_) => false,
                }
            }
        }
    }
}

/// Echoes fixed-size messages back: the baseline's server.
async fn echo_server(listener: TcpListener) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let mut buffer = [0u8; ECHO_BYTES];
            while stream.read_exact(&mut buffer).await.is_ok() {
                if stream.write_all(&buffer).await.is_err() {
                    break;
                }
            }
        });
    }
}

async fn connect(address: SocketAddr, bytes: Arc<AtomicU64>) -> io::Result<CountingStream> {
    let inner = TcpStream::connect(address).await?;
    inner.set_nodelay(true)?;
    Ok(CountingStream { inner, bytes })
}

/// A TCP stream that counts every byte read and written.
struct CountingStream {
    inner: TcpStream,
    bytes: Arc<AtomicU64>,
}

impl AsyncRead for CountingStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.bytes
            .fetch_add((buf.filled().len() - before) as u64, Ordering::Relaxed);
        poll
    }
}

impl AsyncWrite for CountingStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(written)) = &poll {
            self.bytes.fetch_add(*written as u64, Ordering::Relaxed);
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Connection for CountingStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

/// Connects every client to the lab server through a [`CountingStream`].
#[derive(Clone)]
struct CountingConnector {
    address: SocketAddr,
    bytes: Arc<AtomicU64>,
}

impl tower::Service<http::Uri> for CountingConnector {
    type Response = TokioIo<CountingStream>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Uri) -> Self::Future {
        let (address, bytes) = (self.address, self.bytes.clone());
        Box::pin(async move { connect(address, bytes).await.map(TokioIo::new) })
    }
}
