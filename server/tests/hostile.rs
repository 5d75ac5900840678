//! Clients that hold connections without using them: silent connections,
//! idle ones, and "slowloris" clients that send a request a byte at a time.
//! Each must be disconnected when its time limit runs out, and none may stop
//! a normal client from being served meanwhile.
//!
//! The servers here have limits of a few hundred milliseconds so the tests
//! are quick. Only lower bounds on time are asserted ("not closed before the
//! limit"), which a slow machine cannot break; the upper bounds are hang
//! guards, far above the limits.

mod common;

use std::time::{Duration, Instant};

use common::{TestServer, grpc_frame, grpc_request, send_raw};
use http::HeaderValue;
use rpc_lab::calculator::{ArithmeticOperation, calculate};
use rpc_lab::proto::{BinaryOperation, Number};
use rpc_lab_server::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Far longer than any limit here: reaching it means the server never acted.
const HANG_GUARD: Duration = Duration::from_secs(20);

fn config(header_ms: u64, body_ms: u64, idle_ms: u64) -> Config {
    Config {
        seed: Some(1),
        header_read_timeout_ms: header_ms,
        body_read_timeout_ms: body_ms,
        idle_timeout_ms: idle_ms,
        ..Config::default()
    }
}

/// Waits until the server closes `tcp`, reading (and discarding) whatever it
/// sends first; returns how long that took.
async fn until_closed(tcp: &mut TcpStream, since: Instant) -> Duration {
    let mut buffer = [0u8; 4096];
    tokio::time::timeout(HANG_GUARD, async {
        loop {
            match tcp.read(&mut buffer).await {
                Ok(0) | Err(_) => return since.elapsed(),
                Ok(_) => continue,
            }
        }
    })
    .await
    .expect("the server never closed the connection")
}

/// A normal client's calls, while the hostile ones wait: every one answered.
async fn normal_calls(server: &TestServer, calls: usize) {
    let mut client = server.grpc_calculator().await;
    for i in 0..calls {
        let answer = calculate(&mut client, ArithmeticOperation::Add, i as f64, 1.0).await;
        assert_eq!(answer, Ok(i as f64 + 1.0), "call {i}");
    }
}

/// Connections that never send a byte, and an HTTP/2 connection left idle
/// after a call, are closed once idle for the idle timeout — not before.
#[tokio::test]
async fn idle_connections_are_closed_after_the_idle_timeout() {
    let idle = Duration::from_millis(400);
    let server = TestServer::start_with(config(10_000, 10_000, idle.as_millis() as u64)).await;

    let start = Instant::now();
    let mut silent = Vec::new();
    for _ in 0..50 {
        silent.push(TcpStream::connect(server.addr).await.unwrap());
    }
    let (mut h2, h2_connection) = server.raw_h2().await;
    let add = grpc_frame(&BinaryOperation { a: 1.0, b: 2.0 });
    let reply = send_raw(
        &mut h2,
        grpc_request("/calculator.v1.Calculator/Add", &[], add.clone()),
    )
    .await
    .unwrap();
    assert_eq!(reply.grpc_status().unwrap(), "0");
    let h2_idle_since = Instant::now();

    // Meanwhile, a normal client is served.
    normal_calls(&server, 20).await;

    for tcp in &mut silent {
        let open_for = until_closed(tcp, start).await;
        assert!(
            open_for >= idle,
            "closed after {open_for:?}, before the idle timeout"
        );
    }
    // The idle HTTP/2 connection is told GOAWAY and closed: its driver ends.
    tokio::time::timeout(HANG_GUARD, h2_connection)
        .await
        .expect("the idle HTTP/2 connection was never closed")
        .unwrap()
        .expect("closed cleanly, with GOAWAY");
    assert!(h2_idle_since.elapsed() >= idle);

    // And new clients are still welcome.
    normal_calls(&server, 3).await;
}

/// A call in flight keeps its connection open however long it takes: a call
/// longer than the idle timeout is answered, and so is the next one sent on
/// the same connection while another call is still running.
#[tokio::test]
async fn a_busy_connection_is_not_idle() {
    let server = TestServer::start_with(config(10_000, 10_000, 300)).await;
    let (mut h2, _connection) = server.raw_h2().await;
    let add = grpc_frame(&BinaryOperation { a: 1.0, b: 2.0 });
    let delayed = |ms: &'static str| {
        grpc_request(
            "/calculator.v1.Calculator/Add",
            &[("x-fault-delay-ms", HeaderValue::from_static(ms))],
            add.clone(),
        )
    };
    let delayed_long = delayed("1800");
    let mut second = h2.clone();
    let long = tokio::spawn(async move { send_raw(&mut second, delayed_long).await });
    let short = send_raw(&mut h2, delayed("900")).await;
    // The short call ended 900 ms after the long one started; the next call
    // goes out at once, while the long one keeps the connection busy.
    let next = send_raw(
        &mut h2,
        grpc_request("/calculator.v1.Calculator/Add", &[], add.clone()),
    )
    .await;
    let long = long.await.unwrap();
    for reply in [short.unwrap(), next.unwrap(), long.unwrap()] {
        assert_eq!(reply.grpc_status().unwrap(), "0", "{reply:?}");
    }
}

/// Slowloris: a request whose headers trickle in and never end is dropped
/// after the header timeout, while a normal client's calls go through.
#[tokio::test]
async fn a_request_whose_headers_never_end_is_dropped_after_the_header_timeout() {
    let header = Duration::from_millis(300);
    let server = TestServer::start_with(config(header.as_millis() as u64, 10_000, 60_000)).await;

    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    let start = Instant::now();
    slow.write_all(b"POST /api/v1/calculator/add HTTP/1.1\r\nhost: lab\r\n")
        .await
        .unwrap();
    let (mut reader, mut writer) = slow.into_split();
    let drip = tokio::spawn(async move {
        // One more header line every 50 ms, for as long as the server listens.
        for i in 0u64.. {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if writer
                .write_all(format!("x-drip-{i}: still coming\r\n").as_bytes())
                .await
                .is_err()
            {
                return i;
            }
        }
        unreachable!()
    });

    normal_calls(&server, 20).await;

    let mut buffer = Vec::new();
    let closed = tokio::time::timeout(HANG_GUARD, reader.read_to_end(&mut buffer)).await;
    let open_for = start.elapsed();
    assert!(
        closed.is_ok(),
        "the slow request was never dropped (still open after {HANG_GUARD:?})"
    );
    assert!(
        open_for >= header,
        "dropped after {open_for:?}, before the header timeout"
    );
    assert!(
        !String::from_utf8_lossy(&buffer).starts_with("HTTP/1.1 200"),
        "a request without its headers is not answered with success"
    );
    drip.abort();
    normal_calls(&server, 3).await;
}

/// Slowloris on the body: the headers are complete, the body drips. Once
/// the handler starts reading it, the body must arrive within the body
/// timeout; the call fails without executing and the connection is closed.
#[tokio::test]
async fn a_body_that_drips_is_refused_after_the_body_timeout() {
    let body_limit = Duration::from_millis(300);
    let server =
        TestServer::start_with(config(10_000, body_limit.as_millis() as u64, 60_000)).await;
    let session = "slow-body";

    let body = br#"{"amount_cents": 100}"#;
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    let start = Instant::now();
    slow.write_all(
        format!(
            "POST /api/v1/accounts/a/deposit HTTP/1.1\r\nhost: lab\r\nx-lab-session: {session}\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let (mut reader, mut writer) = slow.into_split();
    let drip = tokio::spawn(async move {
        // One byte every 100 ms: the body would take 2 s, the limit is 300 ms.
        for byte in body {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
        }
    });

    normal_calls(&server, 20).await;

    let mut reply = Vec::new();
    tokio::time::timeout(HANG_GUARD, reader.read_to_end(&mut reply))
        .await
        .expect("the slow body was never cut off")
        .ok();
    let open_for = start.elapsed();
    let reply = String::from_utf8_lossy(&reply);
    assert!(open_for >= body_limit, "cut off after {open_for:?}");
    assert!(
        reply.starts_with("HTTP/1.1 408") && reply.contains("did not arrive within"),
        "a body that never arrived is a timeout (not a deposit, not 'too large'): {reply}"
    );
    drip.abort();

    // Nothing was deposited.
    let balance = server
        .rest(
            "GET",
            "/api/v1/accounts/a",
            &[("x-lab-session", session)],
            None,
        )
        .await;
    assert_eq!(balance.json["balance_cents"], 0, "{:?}", balance.json);
}

/// The HTTP/2 stream limit is announced in the server's SETTINGS, and calls
/// beyond it wait their turn rather than fail.
#[tokio::test]
async fn http2_streams_per_connection_are_capped() {
    let server = TestServer::start_with(Config {
        max_concurrent_streams: 2,
        ..config(10_000, 10_000, 60_000)
    })
    .await;
    let mut client = server.grpc_calculator().await;
    // One call first, so the client has the server's SETTINGS. Streams opened
    // before they arrive may exceed the limit and are refused (REFUSED_STREAM:
    // not executed, safe to retry), as HTTP/2 specifies.
    let answer = calculate(&mut client, ArithmeticOperation::Add, 1.0, 2.0).await;
    assert_eq!(answer, Ok(3.0));
    // Six calls of 200 ms on one connection, at most two at a time: three
    // waves, so at least 600 ms in all (a lower bound: never flaky).
    let start = Instant::now();
    let calls = (0..6).map(|i| {
        let mut client = client.clone();
        async move {
            client
                .add(common::request(
                    BinaryOperation {
                        a: i as f64,
                        b: 1.0,
                    },
                    &[("x-fault-delay-ms", "200")],
                ))
                .await
                .map(|reply| reply.into_inner())
        }
    });
    let replies = futures_util::future::join_all(calls).await;
    for (i, reply) in replies.into_iter().enumerate() {
        assert_eq!(
            reply.unwrap(),
            Number {
                value: i as f64 + 1.0
            }
        );
    }
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(600),
        "six 200 ms calls took only {took:?}: more than two ran at once"
    );
}
