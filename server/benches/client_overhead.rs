//! What the client's resilience wrapper costs on a real call.
//!
//! Run with `cargo bench -p rpc-lab-server --bench client_overhead`.
//!
//! The same unary `Calculator/Add`, one call at a time over one HTTP/2
//! connection to the real server on 127.0.0.1, sent
//! 1. bare: the generated client's method, nothing around it;
//! 2. bare with a 1 s timeout (tonic's client then runs a timer of its own);
//! 3. through `ResilientCaller` with the default policy (per-attempt timeout,
//!    overall deadline, events emitted to a sink that discards them), keys
//!    off — Add is idempotent by nature, so this is the wrapper alone;
//! 4. the same without timeout or deadline, to show what deadlines cost;
//! 5. the default policy with an idempotency key — which also makes the
//!    *server* do more (store the outcome), so it is for information only.
//!
//! Short rounds alternate so all variants see the same machine (this VM's
//! speed drifts by 10–20 % over seconds); the medians of the
//! rounds' mean latencies are compared. Target (issue 4): the wrapper at
//! most 5 % over the bare call. The breaker's own costs (closed check,
//! open rejection) are measured in `benches/resilience.rs` of the root crate.

mod common;

use std::rc::Rc;
use std::time::{Duration, Instant};

use rpc_lab::proto::{BinaryOperation, CalculatorClient};
use rpc_lab::resilience::{
    CallSpec, DiscardEvents, ResilientCaller, RetryPolicy, SeededRng, TokioClock,
};
use tonic::transport::{Channel, Endpoint};

const CALLS_PER_ROUND: usize = 250;
const ROUNDS: usize = 41;

fn main() {
    // The server gets a runtime (and thread) of its own; the client runs on
    // this thread, as the browser's single thread would run it.
    let address = common::spawn_server(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let channel = Endpoint::from_shared(format!("http://{address}")).unwrap().connect().await.unwrap();
        let keys_off = caller(false, true);
        let keys_on = caller(true, true);
        let no_timers = caller(false, false);
        // Warm up every path.
        bare(&channel, 500, None).await;
        bare(&channel, 500, Some(Duration::from_secs(1))).await;
        wrapped(&keys_off, &channel, 500).await;
        wrapped(&keys_on, &channel, 500).await;
        wrapped(&no_timers, &channel, 500).await;

        let mut results: [Vec<Duration>; 5] = Default::default();
        for _ in 0..ROUNDS {
            results[0].push(bare(&channel, CALLS_PER_ROUND, None).await);
            results[4].push(bare(&channel, CALLS_PER_ROUND, Some(Duration::from_secs(1))).await);
            results[1].push(wrapped(&keys_off, &channel, CALLS_PER_ROUND).await);
            results[2].push(wrapped(&keys_on, &channel, CALLS_PER_ROUND).await);
            results[3].push(wrapped(&no_timers, &channel, CALLS_PER_ROUND).await);
        }
        let [bare, wrapper, keyed, untimed, bare_timed] = results.map(|mut rounds| {
            rounds.sort();
            rounds[rounds.len() / 2]
        });
        println!();
        println!("== Calculator/Add, one call at a time, {ROUNDS} rounds of {CALLS_PER_ROUND} calls, median of round means ==");
        println!("{:<52} {:>10}", "", "µs / call");
        println!("{:<52} {:>10.1}", "bare generated client", micros(bare));
        println!("{:<52} {:>10.1}", "bare generated client with a 1 s timeout", micros(bare_timed));
        println!("{:<52} {:>10.1}", "ResilientCaller, default policy, keys off", micros(wrapper));
        println!("{:<52} {:>10.1}", "ResilientCaller, no timeout or deadline, keys off", micros(untimed));
        println!("{:<52} {:>10.1}", "ResilientCaller, default policy, keys on (+ server)", micros(keyed));
        println!();
        println!(
            "wrapper / bare: {:.3}× ({:+.1} % , target ≤ +5 %); keyed / bare: {:.3}×",
            micros(wrapper) / micros(bare),
            (micros(wrapper) / micros(bare) - 1.0) * 100.0,
            micros(keyed) / micros(bare)
        );
        println!(
            "without timeout or deadline: {:.3}× ({:+.1} %): the rest is the price of deadlines (a timer per attempt, \
             and tonic's own client timer that grpc-timeout switches on)",
            micros(untimed) / micros(bare),
            (micros(untimed) / micros(bare) - 1.0) * 100.0
        );
        println!(
            "default policy / bare with the same timeout: {:.3}× ({:+.1} %): the wrapper against doing the same by hand",
            micros(wrapper) / micros(bare_timed),
            (micros(wrapper) / micros(bare_timed) - 1.0) * 100.0
        );
    });
}

fn caller(keys: bool, timers: bool) -> ResilientCaller {
    let mut policy = RetryPolicy {
        idempotency_keys: keys,
        ..RetryPolicy::default()
    };
    if !timers {
        policy.per_attempt_timeout = None;
        policy.deadline = None;
    }
    ResilientCaller::new(
        policy,
        Rc::new(TokioClock::new()),
        SeededRng::new(1),
        Rc::new(DiscardEvents),
    )
    .unwrap()
}

fn micros(per_call: Duration) -> f64 {
    per_call.as_secs_f64() * 1e6
}

/// Mean time per call of `calls` bare calls.
/// (With a timeout, tonic's client runs a timer of its own.)
async fn bare(channel: &Channel, calls: usize, timeout: Option<Duration>) -> Duration {
    let mut client = CalculatorClient::new(channel.clone());
    let started = Instant::now();
    for i in 0..calls {
        let mut request = tonic::Request::new(BinaryOperation {
            a: i as f64,
            b: 1.0,
        });
        if let Some(timeout) = timeout {
            request.set_timeout(timeout);
        }
        let reply = client.add(request).await.unwrap();
        std::hint::black_box(reply);
    }
    started.elapsed() / calls as u32
}

/// Mean time per call of `calls` calls through the resilience wrapper.
async fn wrapped(caller: &ResilientCaller, channel: &Channel, calls: usize) -> Duration {
    let client = CalculatorClient::new(channel.clone());
    let started = Instant::now();
    for i in 0..calls {
        let message = BinaryOperation {
            a: i as f64,
            b: 1.0,
        };
        let reply = caller
            .call(CallSpec::idempotent("Add"), |attempt| {
                let mut request = tonic::Request::new(message);
                attempt.prepare(&mut request);
                let mut client = client.clone();
                async move { client.add(request).await }
            })
            .await
            .unwrap();
        std::hint::black_box(reply);
    }
    started.elapsed() / calls as u32
}
