//! # The jitter experiment, for real
//!
//! Marc Brooker's "Exponential Backoff And Jitter" (AWS Architecture Blog,
//! 2015) simulated N clients that each want to write one record once with
//! optimistic concurrency: read the version, write if it is unchanged, back
//! off and retry on a conflict. This runs the same experiment against the
//! real lab server, over real gRPC, through the resilience core's own
//! `RetryPolicy` and jitter — as `Lab/RunLoad` runs with
//! `LOAD_OPERATION_OPTIMISTIC_WRITE`, a closed loop of N clients and
//! `max_calls = N`, so each client writes exactly once — and prints, per
//! strategy and N, the total write attempts (the blog's "calls") and the
//! time until the last client succeeded.
//!
//! ```sh
//! cargo run --release -p rpc-lab-server --example jitter -- --clients 10,50,100 --seeds 1,2,3
//! ```
//!
//! By default it starts its own server in this process (on its own
//! threads); `--server http://HOST:PORT` uses a running one instead — start
//! that with `--idle-timeout-ms 3600000`, or a run longer than a minute
//! loses its stream (see `start_server`).
//!
//! ## How the blog's model maps onto the lab
//!
//! - **Network delay.** The blog's simulator (aws-samples/
//!   aws-arch-backoff-simulator) delays every *message* by |N(10 ms, 2 ms)|:
//!   a read or a write is a request and a reply, 20 ms, and between the
//!   server reading the version and the same client's write reaching the
//!   server lie a reply and a request: 20 ms in which another write makes
//!   this one a conflict. The server's `x-fault-delay-ms` waits *before*
//!   executing each request (holding no worker, as a wire would), so
//!   `--delay-ms 20` (the default) gives the same 20 ms window and the same
//!   40 ms for an uncontended write. It is a fixed delay: the blog's 2 ms
//!   spread comes here from the real scheduler instead. Capacity's
//!   `service_ms` would be the wrong model — it is the server's own work,
//!   holding a worker.
//! - **Backoff.** The blog's simulator counts its first retry as n = 1, so
//!   its exponential family sleeps base·2^n = 10, 20, 40 … ms with base
//!   5 ms, capped at 2 000 ms; the core counts from its initial backoff, so
//!   the lab passes 10 ms. Decorrelated jitter starts from the base itself —
//!   `min(cap, rand(base, previous·3))`, previous = base at first — so it
//!   gets 5 ms. "None" is the blog's immediate retry; the core refuses a
//!   0 ms backoff, so it is 1 ms, fixed (under the 20 ms a read takes).
//! - **Calls.** The blog counts writes (a conflict is a failed write); the
//!   engine's `attempts_sent` counts the same (each attempt is one read and
//!   one write; reads are not counted).
//! - **Time.** The blog's time is when the last write's reply arrived; here
//!   it is the run's elapsed time at its summary, the moment the last
//!   client's call ended (plus at most a millisecond of bookkeeping).
//!
//! The strategies' policies and a run's scenario are
//! `rpc_lab::jitter_experiment`'s, the very runs the page's Scale view makes.
//!
//! Every run is checked against the server's truth: N calls succeeded, the
//! record's value is N (each write added one to what it read), and the
//! server executed exactly `attempts_sent` compare-and-sets.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use clap::Parser;
use rpc_lab::jitter_experiment::{self, Strategy};
use rpc_lab::proto::calculator_v1::{
    GetStatsRequest, GetValueRequest, LoadSnapshot, ResetSessionRequest,
};
use rpc_lab::proto::{LabClient, StoreClient};
use rpc_lab_server::config::Config;
use tonic::transport::{Channel, Endpoint};

#[derive(Parser)]
#[command(about = "Brooker's jitter experiment against the real lab server")]
struct Args {
    /// Numbers of clients, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10,20,50,100")]
    clients: Vec<u32>,
    /// Seeds (the jitter's random streams), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    seeds: Vec<u64>,
    /// Strategies, comma-separated: none, exponential, full, equal, decorrelated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "none,exponential,full,equal,decorrelated"
    )]
    strategies: Vec<String>,
    /// The server's delay before executing each request (x-fault-delay-ms).
    #[arg(long, default_value_t = jitter_experiment::DELAY_MS)]
    delay_ms: u32,
    /// A running lab server; default: start one in this process.
    #[arg(long)]
    server: Option<String>,
}

/// A strategy named on the command line.
fn strategy(name: &str) -> Result<Strategy, String> {
    Strategy::from_slug(name).ok_or_else(|| format!("no strategy {name:?}"))
}

/// What one run measured.
#[derive(Clone, Copy)]
struct Measured {
    calls: u64,
    millis: u32,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    for name in &args.strategies {
        strategy(name)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let url = match &args.server {
            Some(url) => url.clone(),
            None => format!("http://{}", start_server().await?),
        };
        let channel = Endpoint::from_shared(url)?.connect().await?;
        let mut results: BTreeMap<(u32, String), Vec<Measured>> = BTreeMap::new();
        println!("strategy      clients seed  calls  time_ms  calls/client");
        for &clients in &args.clients {
            for strategy in &args.strategies {
                for &seed in &args.seeds {
                    let measured =
                        run(&channel, strategy, clients, seed, args.delay_ms).await?;
                    println!(
                        "{strategy:<13} {clients:>7} {seed:>4} {:>6} {:>8} {:>13.1}",
                        measured.calls,
                        measured.millis,
                        measured.calls as f64 / f64::from(clients)
                    );
                    results
                        .entry((clients, strategy.clone()))
                        .or_default()
                        .push(measured);
                }
            }
        }
        println!(
            "\nover seeds {:?}, delay {} ms — calls: min–max (median); time to completion in ms: min–max (median)",
            args.seeds, args.delay_ms
        );
        println!("| N | strategy | calls | time (ms) |\n| ---: | --- | ---: | ---: |");
        for ((clients, strategy), runs) in &results {
            let calls: Vec<f64> = runs.iter().map(|m| m.calls as f64).collect();
            let times: Vec<f64> = runs.iter().map(|m| f64::from(m.millis)).collect();
            println!(
                "| {clients} | {strategy} | {} | {} |",
                range(&calls),
                range(&times)
            );
        }
        Ok(())
    })
}

/// One run in a fresh session, checked against the server's truth.
async fn run(
    channel: &Channel,
    strategy: &str,
    clients: u32,
    seed: u64,
    delay_ms: u32,
) -> Result<Measured, Box<dyn std::error::Error>> {
    let session = format!("jitter-{strategy}-{clients}-{seed}");
    let mut lab = LabClient::new(channel.clone());
    lab.reset_session(in_session(ResetSessionRequest::default(), &session))
        .await?;
    let scenario = jitter_experiment::scenario(self::strategy(strategy)?, clients, seed, delay_ms);
    let mut stream = lab
        .run_load(in_session(scenario, &session))
        .await?
        .into_inner();
    let mut summary: Option<LoadSnapshot> = None;
    while let Some(snapshot) = stream.message().await? {
        if snapshot.r#final {
            summary = Some(snapshot);
        }
    }
    let summary = summary.ok_or("the run sent no summary")?;

    // The server's truth, against what the run says.
    let n = u64::from(clients);
    if summary.calls_succeeded != n || summary.calls_failed != 0 {
        return Err(format!(
            "{session}: {} of {n} calls succeeded, {} failed",
            summary.calls_succeeded, summary.calls_failed
        )
        .into());
    }
    let record = StoreClient::new(channel.clone())
        .get_versioned_value(in_session(GetValueRequest { key: "load".into() }, &session))
        .await?
        .into_inner();
    let stats = lab
        .get_stats(in_session(GetStatsRequest {}, &session))
        .await?
        .into_inner();
    let executed = stats
        .executions
        .get("/calculator.v1.Store/CompareAndSet")
        .copied()
        .unwrap_or(0);
    if record.value != n as f64 || executed != summary.attempts_sent {
        return Err(format!(
            "{session}: the record is {} (expected {n}); the server executed {executed} \
             compare-and-sets, the run counted {} attempts",
            record.value, summary.attempts_sent
        )
        .into());
    }
    Ok(Measured {
        calls: summary.attempts_sent,
        millis: summary.elapsed_ms,
    })
}

fn in_session<T>(message: T, session: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "x-lab-session",
        session.parse().expect("a valid session name"),
    );
    request
}

/// The lab server in this process, on a free port (already bound, so a
/// first connection waits in the backlog until it serves); it runs until
/// the example ends.
async fn start_server() -> Result<SocketAddr, Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let config = Config {
        seed: Some(1),
        // A RunLoad stream counts as in flight only until its reply's
        // headers are out (transport/connections.rs), so with the default
        // 60 s idle timeout the server closes the connection under a run
        // that lasts longer — and exponential backoff without jitter takes
        // minutes at 50 clients and more. An hour keeps the stream open.
        idle_timeout_ms: 3_600_000,
        ..Config::default()
    };
    tokio::spawn(rpc_lab_server::serve(
        listener,
        config,
        std::future::pending(),
    ));
    Ok(address)
}

/// "min–max (median)".
fn range(values: &[f64]) -> String {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
    let median = if sorted.len() % 2 == 1 {
        sorted[sorted.len() / 2]
    } else {
        (sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2]) / 2.0
    };
    format!("{min:.0}–{max:.0} ({median:.0})")
}
