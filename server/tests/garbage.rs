//! Garbage at the real server, over real sockets: the contract promises that
//! a malformed frame or body gets a well-formed error reply, and that the
//! server never falls over.
//!
//! Each test throws random inputs of one kind (proptest strategies) at a
//! running server and checks, for every one:
//! - a well-formed reply: gRPC has a `grpc-status` (in the headers of a
//!   trailers-only reply, or in the trailers) holding a valid code, and an
//!   ASCII `grpc-message`; REST has a JSON `{"code", "message"}` body whose
//!   code is a gRPC code name and whose HTTP status that code maps to;
//! - no state changed by a refused request: most inputs are withdrawals of
//!   one cent from a funded account, and the balance afterwards must be what
//!   the reply says happened (one cent less for a success or an executed
//!   `drop`, unchanged otherwise);
//! - the server still answers a normal call afterwards.
//!
//! Raw HTTP/2 requests use hyper's client directly, which sends bodies and
//! header values that tonic's client would refuse to build.
//!
//! `GARBAGE_CASES=N` sets the number of inputs per test (default
//! [`DEFAULT_CASES`], to keep the suite quick); each test prints how many it
//! tried (`cargo test --test garbage -- --nocapture`).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use common::{Clients, RawReply, TestServer, grpc_frame, grpc_request, request, send_raw};
use http::{HeaderValue, Method, StatusCode};
use http_body_util::Full;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use rpc_lab::proto::calculator_v1::{AmountRequest, Balance};
use rpc_lab_server::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;

/// Inputs per test in `cargo test`; `GARBAGE_CASES` overrides it.
const DEFAULT_CASES: u32 = 64;

/// The session and account whose balance garbage must not move.
const SESSION: &str = "garbage";
const VICTIM: &str = "victim";
const FUNDS: i64 = 1_000_000;

const WITHDRAW: &str = "/calculator.v1.Account/Withdraw";

/// Every header of the contract, and the client's deadline.
const CONTRACT_HEADERS: [&str; 6] = [
    "x-lab-session",
    "idempotency-key",
    "x-fault-fail",
    "x-fault-drop",
    "x-fault-delay-ms",
    "grpc-timeout",
];

fn cases() -> u32 {
    std::env::var("GARBAGE_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

/// The world one test throws garbage at.
struct Target {
    server: TestServer,
    clients: Clients,
    tried: AtomicUsize,
    /// Last, so it outlives the server and clients when dropped.
    runtime: Runtime,
}

impl Target {
    fn start() -> Target {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let (server, clients) = runtime.block_on(async {
            // Injected delays kept short: random headers ask for any delay.
            let server = TestServer::start_with(Config {
                seed: Some(1),
                max_fault_delay_ms: 20,
                ..Config::default()
            })
            .await;
            let mut clients = server.clients().await;
            clients
                .account
                .deposit(request(
                    AmountRequest {
                        account: VICTIM.into(),
                        amount_cents: FUNDS,
                    },
                    &[("x-lab-session", SESSION)],
                ))
                .await
                .unwrap();
            (server, clients)
        });
        Target {
            server,
            clients,
            tried: AtomicUsize::new(0),
            runtime,
        }
    }

    /// Runs `check` on `cases()` inputs from `strategy`, then checks the
    /// server still serves, and reports how many inputs were tried.
    fn run<S, F>(&self, what: &str, strategy: S, check: F)
    where
        S: Strategy,
        S::Value: std::fmt::Debug,
        F: AsyncFn(&Target, S::Value) -> Result<(), TestCaseError>,
    {
        let mut runner = TestRunner::new(ProptestConfig {
            cases: cases(),
            // Shrinking re-sends inputs; keep a failure's report quick.
            max_shrink_iters: 200,
            ..ProptestConfig::default()
        });
        let result = runner.run(&strategy, |input| {
            self.tried.fetch_add(1, Ordering::Relaxed);
            self.runtime.block_on(check(self, input))
        });
        let tried = self.tried.load(Ordering::Relaxed);
        eprintln!("garbage: {what}: {tried} inputs tried");
        result.unwrap();
        self.runtime.block_on(self.still_serves());
    }

    /// The victim's balance, read over native gRPC.
    async fn balance(&self) -> i64 {
        self.clients.clone().balance(SESSION, VICTIM).await
    }

    /// A normal call is still answered.
    async fn still_serves(&self) {
        let mut client = self.server.grpc_calculator().await;
        let answer = rpc_lab::calculator::calculate(
            &mut client,
            rpc_lab::calculator::ArithmeticOperation::Add,
            1.0,
            2.0,
        )
        .await;
        assert_eq!(answer, Ok(3.0), "the server stopped serving");
    }
}

// ---------------------------------------------------------------------------
// What a reply may look like.

/// The outcome of a withdrawal attempt, as its reply tells it.
#[derive(Debug, PartialEq)]
enum Told {
    /// Executed now (a success, or a `drop` fault that executed first).
    Executed,
    /// Answered from the idempotency store, or refused: nothing executed now.
    NothingNew,
}

impl Told {
    fn from(ok: bool, headers: &http::HeaderMap) -> Told {
        let replayed = headers
            .get("idempotent-replayed")
            .is_some_and(|v| v == "true");
        let dropped = headers.get("x-fault-injected").is_some_and(|v| v == "drop");
        if (ok || dropped) && !replayed {
            Told::Executed
        } else {
            Told::NothingNew
        }
    }
}

/// Checks that the victim's balance moved exactly as the reply said.
async fn balance_agrees(
    target: &Target,
    before: i64,
    told: Told,
    cents: i64,
) -> Result<(), TestCaseError> {
    let after = target.balance().await;
    let expected = match told {
        Told::Executed => before - cents,
        Told::NothingNew => before,
    };
    prop_assert_eq!(after, expected, "the reply said {:?}", told);
    Ok(())
}

/// Checks a `grpc-status` and `grpc-message` pair; returns whether it is OK.
fn grpc_status_ok(
    status: Option<&[u8]>,
    message: Option<&[u8]>,
    context: &str,
) -> Result<bool, TestCaseError> {
    let Some(status) = status else {
        return Err(TestCaseError::fail(format!("no grpc-status: {context}")));
    };
    let code: Option<u8> = std::str::from_utf8(status)
        .ok()
        .and_then(|s| s.parse().ok());
    prop_assert!(
        code.is_some_and(|c| c <= 16),
        "grpc-status {:?} is not a gRPC code: {}",
        String::from_utf8_lossy(status),
        context
    );
    if let Some(message) = message {
        // Percent-encoded on the wire: visible ASCII only.
        prop_assert!(
            message.iter().all(|b| (0x20..0x7f).contains(b)),
            "grpc-message is not percent-encoded ASCII: {:?}",
            String::from_utf8_lossy(message)
        );
    }
    Ok(code == Some(0))
}

/// A native gRPC reply is well formed; returns whether it is a success.
fn native_reply_ok(reply: &RawReply) -> Result<bool, TestCaseError> {
    prop_assert_eq!(reply.status, StatusCode::OK, "{:?}", reply);
    let in_headers = reply.headers.contains_key("grpc-status");
    let fields = if in_headers {
        &reply.headers
    } else {
        reply.trailers.as_ref().unwrap_or(&reply.headers)
    };
    grpc_status_ok(
        fields.get("grpc-status").map(|v| v.as_bytes()),
        fields.get("grpc-message").map(|v| v.as_bytes()),
        &format!("{reply:?}"),
    )
}

/// A gRPC-Web reply (binary or text) is well formed: whole frames, and a
/// status in the headers or the trailer frame. Returns whether it is OK.
fn web_reply_ok(reply: &RawReply, text: bool) -> Result<bool, TestCaseError> {
    prop_assert_eq!(reply.status, StatusCode::OK, "{:?}", reply);
    if reply.headers.contains_key("grpc-status") {
        return grpc_status_ok(
            reply.headers.get("grpc-status").map(|v| v.as_bytes()),
            reply.headers.get("grpc-message").map(|v| v.as_bytes()),
            &format!("{reply:?}"),
        );
    }
    let body: Vec<u8> = if text {
        // Base64 groups, each group possibly padded on its own.
        let mut decoded = Vec::new();
        for group in reply.body.chunks(4) {
            match BASE64.decode(group) {
                Ok(bytes) => decoded.extend(bytes),
                Err(error) => {
                    return Err(TestCaseError::fail(format!(
                        "a grpc-web-text reply that is not base64 ({error}): {reply:?}"
                    )));
                }
            }
        }
        decoded
    } else {
        reply.body.to_vec()
    };
    let mut rest = &body[..];
    let mut trailer = None;
    while !rest.is_empty() {
        prop_assert!(rest.len() >= 5, "half a frame header: {:?}", reply);
        let length = u32::from_be_bytes(rest[1..5].try_into().unwrap()) as usize;
        prop_assert!(rest.len() >= 5 + length, "a frame cut short: {:?}", reply);
        if rest[0] & 0x80 != 0 {
            trailer = Some(rest[5..5 + length].to_vec());
        }
        rest = &rest[5 + length..];
    }
    let Some(trailer) = trailer else {
        return Err(TestCaseError::fail(format!(
            "no status anywhere: {reply:?}"
        )));
    };
    let field = |name: &str| {
        trailer.split(|&b| b == b'\n').find_map(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let (key, value) = line.split_at(line.iter().position(|&b| b == b':')?);
            key.eq_ignore_ascii_case(name.as_bytes())
                .then(|| value[1..].trim_ascii().to_vec())
        })
    };
    grpc_status_ok(
        field("grpc-status").as_deref(),
        field("grpc-message").as_deref(),
        &format!("{reply:?}"),
    )
}

/// A REST reply is a success or a well-formed JSON error.
fn rest_reply_ok(reply: &RawReply) -> Result<bool, TestCaseError> {
    if reply.status == StatusCode::OK {
        let json: Result<serde_json::Value, _> = serde_json::from_slice(&reply.body);
        prop_assert!(json.is_ok(), "a 200 that is not JSON: {:?}", reply);
        return Ok(true);
    }
    let json: serde_json::Value = match serde_json::from_slice(&reply.body) {
        Ok(json) => json,
        Err(error) => {
            return Err(TestCaseError::fail(format!(
                "an error that is not JSON ({error}): {reply:?}"
            )));
        }
    };
    let code = json["code"].as_str().unwrap_or_default();
    let known = (0..=16)
        .map(tonic::Code::from_i32)
        .find(|c| rpc_lab::status::code_name(*c) == code);
    prop_assert!(
        known.is_some(),
        "code {:?} is not a gRPC code: {:?}",
        code,
        reply
    );
    prop_assert!(json["message"].is_string(), "no message: {:?}", reply);
    let mapped = rpc_lab_server::rest::reply::http_status(known.unwrap());
    // Body errors say INVALID_ARGUMENT with the more precise 413 or 415;
    // a method the resource does not have is 405.
    let refined = matches!(reply.status.as_u16(), 405 | 413 | 415);
    prop_assert!(
        reply.status == mapped || refined,
        "HTTP {} for {}: {:?}",
        reply.status,
        code,
        reply
    );
    Ok(false)
}

// ---------------------------------------------------------------------------
// Garbage.

/// A one-cent withdrawal from the victim, as a protobuf message.
fn withdraw_message() -> Vec<u8> {
    prost::Message::encode_to_vec(&AmountRequest {
        account: VICTIM.into(),
        amount_cents: 1,
    })
}

/// gRPC message framing gone wrong, around a real withdrawal or random bytes.
#[derive(Clone, Debug)]
enum Framing {
    /// The length prefix says `declared`, the message is another length.
    LyingLength { declared: u32, payload: Vec<u8> },
    /// A valid frame, cut after `keep` bytes.
    Truncated { keep: usize },
    /// A valid frame followed by stray bytes.
    Trailing(Vec<u8>),
    /// Two messages where a unary call takes one.
    TwoMessages,
    /// A flag byte other than "uncompressed data".
    Flag(u8),
    /// Bytes with no framing at all.
    Random(Vec<u8>),
    /// No body.
    Empty,
}

fn framing() -> impl Strategy<Value = Framing> {
    let payload = prop_oneof![
        Just(withdraw_message()),
        prop::collection::vec(any::<u8>(), 0..64)
    ];
    let declared = prop_oneof![any::<u32>(), Just(u32::MAX), Just(0u32), 0..64u32];
    prop_oneof![
        (declared, payload)
            .prop_map(|(declared, payload)| Framing::LyingLength { declared, payload }),
        (0..withdraw_message().len() + 5).prop_map(|keep| Framing::Truncated { keep }),
        prop::collection::vec(any::<u8>(), 1..16).prop_map(Framing::Trailing),
        Just(Framing::TwoMessages),
        (1..=255u8).prop_map(Framing::Flag),
        prop::collection::vec(any::<u8>(), 0..128).prop_map(Framing::Random),
        Just(Framing::Empty),
    ]
}

impl Framing {
    fn bytes(&self) -> Vec<u8> {
        let valid = || {
            grpc_frame(&AmountRequest {
                account: VICTIM.into(),
                amount_cents: 1,
            })
        };
        match self {
            Framing::LyingLength { declared, payload } => {
                let mut bytes = vec![0];
                // A length that happens to be true is not a lie.
                let declared = if *declared as usize == payload.len() {
                    declared.wrapping_add(1)
                } else {
                    *declared
                };
                bytes.extend_from_slice(&declared.to_be_bytes());
                bytes.extend_from_slice(payload);
                bytes
            }
            Framing::Truncated { keep } => valid()[..*keep].to_vec(),
            Framing::Trailing(extra) => [valid(), extra.clone()].concat(),
            Framing::TwoMessages => [valid(), valid()].concat(),
            Framing::Flag(flag) => {
                let mut bytes = valid();
                bytes[0] = *flag;
                bytes
            }
            Framing::Random(bytes) => bytes.clone(),
            Framing::Empty => Vec::new(),
        }
    }
}

/// Framing garbage as native gRPC over HTTP/2: a well-formed error, and the
/// balance moves only if the reply says a withdrawal happened.
#[test]
fn malformed_grpc_frames_over_http2() {
    let target = Target::start();
    target.run(
        "gRPC frames over HTTP/2",
        framing(),
        async |target, framing| {
            let before = target.balance().await;
            let (mut h2, _connection) = target.server.raw_h2().await;
            let session = [("x-lab-session", HeaderValue::from_static(SESSION))];
            let reply = send_raw(&mut h2, grpc_request(WITHDRAW, &session, framing.bytes()))
                .await
                .map_err(|e| TestCaseError::fail(format!("no reply ({e}) to {framing:?}")))?;
            let ok = native_reply_ok(&reply)?;
            balance_agrees(target, before, Told::from(ok, &reply.headers), 1).await
        },
    );
}

/// Sends one HTTP/1.1 request and reads the whole reply; a missing or
/// broken reply fails the case.
async fn send_http1(
    target: &Target,
    request: http::Request<Full<Bytes>>,
) -> Result<RawReply, TestCaseError> {
    let response = target
        .server
        .http1()
        .request(request)
        .await
        .map_err(|e| TestCaseError::fail(format!("no reply: {e}")))?;
    RawReply::read(response)
        .await
        .map_err(|e| TestCaseError::fail(format!("reply cut short: {e}")))
}

/// Sends a gRPC-Web request over HTTP/1.1 and reads the whole reply.
async fn grpc_web(
    target: &Target,
    content_type: &str,
    headers: &[(&str, &[u8])],
    body: Vec<u8>,
) -> Result<RawReply, TestCaseError> {
    let mut request = http::Request::builder()
        .method(Method::POST)
        .uri(format!("{}{WITHDRAW}", target.server.url()))
        .header("content-type", content_type)
        .header("accept", content_type)
        .header("x-grpc-web", "1");
    for (name, value) in headers {
        request = request.header(*name, HeaderValue::from_bytes(value).unwrap());
    }
    send_http1(target, request.body(Full::new(Bytes::from(body))).unwrap()).await
}

/// Framing garbage as binary gRPC-Web over HTTP/1.1.
#[test]
fn malformed_grpc_web_binary_bodies() {
    let target = Target::start();
    target.run(
        "gRPC-Web binary bodies",
        framing(),
        async |target, framing| {
            let before = target.balance().await;
            let session: &[(&str, &[u8])] = &[("x-lab-session", SESSION.as_bytes())];
            let reply = grpc_web(
                target,
                "application/grpc-web+proto",
                session,
                framing.bytes(),
            )
            .await?;
            let ok = web_reply_ok(&reply, false)?;
            balance_agrees(target, before, Told::from(ok, &reply.headers), 1).await
        },
    );
}

/// grpc-web-text bodies: base64 of framing garbage, or text that is not
/// base64 at all (or base64 cut in the middle of a group).
#[test]
fn malformed_grpc_web_text_bodies() {
    let text = prop_oneof![
        framing().prop_map(|framing| BASE64.encode(framing.bytes()).into_bytes()),
        "[ -~]{0,80}".prop_map(String::into_bytes),
        (framing(), 1..3usize).prop_map(|(framing, cut)| {
            let mut text = BASE64.encode(framing.bytes()).into_bytes();
            text.truncate(text.len().saturating_sub(cut));
            text
        }),
        prop::collection::vec(any::<u8>(), 0..64),
    ];
    let target = Target::start();
    target.run("gRPC-Web text bodies", text, async |target, text| {
        let before = target.balance().await;
        let session: &[(&str, &[u8])] = &[("x-lab-session", SESSION.as_bytes())];
        let reply = grpc_web(target, "application/grpc-web-text", session, text).await?;
        let ok = web_reply_ok(&reply, true)?;
        balance_agrees(target, before, Told::from(ok, &reply.headers), 1).await
    });
}

/// JSON that is wrong in every way a REST body can be.
fn json_garbage() -> impl Strategy<Value = Vec<u8>> {
    let nested = (1..20_000usize, any::<bool>()).prop_map(|(depth, arrays)| {
        let (open, close) = if arrays { ("[", "]") } else { ("{\"a\":", "}") };
        let value = format!("{}1{}", open.repeat(depth), close.repeat(depth));
        format!("{{\"amount_cents\": {value}}}").into_bytes()
    });
    let number = prop_oneof![
        "-?[0-9]{1,400}".prop_map(|digits| digits),
        Just("1e999999".to_owned()),
        Just("-1e-999999".to_owned()),
        Just("9223372036854775808".to_owned()),
        Just("-9223372036854775809".to_owned()),
        Just("1.5".to_owned()),
        Just("-0".to_owned()),
        Just("NaN".to_owned()),
        Just("Infinity".to_owned()),
        Just("0x10".to_owned()),
    ]
    .prop_map(|number| format!("{{\"amount_cents\": {number}}}").into_bytes());
    let wrong_type = prop_oneof![
        Just("\"1\""),
        Just("true"),
        Just("null"),
        Just("[1]"),
        Just("{}"),
    ]
    .prop_map(|value| format!("{{\"amount_cents\": {value}}}").into_bytes());
    let bad_utf8 =
        (prop::collection::vec(0x80..=0xffu8, 1..8), any::<bool>()).prop_map(|(bytes, in_key)| {
            let mut body = b"{\"amount_cents\": 1, \"".to_vec();
            if in_key {
                body.extend(&bytes);
                body.extend(b"\": 1}");
            } else {
                body.extend(b"note\": \"");
                body.extend(&bytes);
                body.extend(b"\"}");
            }
            body
        });
    let shapes = prop_oneof![
        Just(b"{\"amount_cents\": 1, \"amount_cents\": 2}".to_vec()),
        Just(b"{\"amount_cents\": 1".to_vec()),
        Just(b"{\"amount_cents\": 1}}".to_vec()),
        Just(b"[{\"amount_cents\": 1}]".to_vec()),
        Just(b"".to_vec()),
        Just(b"{\"amount_cents\": 1} {\"amount_cents\": 1}".to_vec()),
        "\\PC{0,40}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..128),
    ];
    prop_oneof![nested, number, wrong_type, bad_utf8, shapes]
}

/// A REST request (HTTP/1.1) with raw headers and body.
async fn rest(
    target: &Target,
    method: Method,
    path: &str,
    headers: &[(&str, HeaderValue)],
    body: Vec<u8>,
) -> Result<RawReply, TestCaseError> {
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", target.server.url()));
    for (name, value) in headers {
        request = request.header(*name, value.clone());
    }
    send_http1(target, request.body(Full::new(Bytes::from(body))).unwrap()).await
}

/// REST bodies: deep nesting, huge numbers, wrong types, invalid UTF-8 and
/// plain noise, sent to a withdrawal, a deposit, the calculator and a counter.
#[test]
fn malformed_rest_bodies() {
    let endpoint = prop_oneof![
        Just("/api/v1/accounts/victim/withdraw"),
        Just("/api/v1/accounts/victim/deposit"),
        Just("/api/v1/calculator/add"),
        Just("/api/v1/store/values/k/increment"),
    ];
    let content_type = prop_oneof![
        3 => Just(b"application/json".to_vec()),
        1 => Just(b"application/json; charset=latin1".to_vec()),
        1 => prop::collection::vec(0x20..0x7fu8, 0..40),
    ];
    let target = Target::start();
    target.run(
        "REST bodies",
        (endpoint, content_type, json_garbage()),
        async |target, (endpoint, content_type, body)| {
            let before = target.balance().await;
            let headers = [
                ("x-lab-session", HeaderValue::from_static(SESSION)),
                (
                    "content-type",
                    HeaderValue::from_bytes(&content_type).unwrap(),
                ),
            ];
            let reply = rest(target, Method::POST, endpoint, &headers, body.clone()).await?;
            let ok = rest_reply_ok(&reply)?;
            // Only the withdrawal and the deposit touch the victim, and a
            // success moves it by the amount the body gave, which must then
            // be a valid JSON integer.
            let sign = if endpoint.ends_with("withdraw") {
                1
            } else if endpoint.ends_with("deposit") {
                -1
            } else {
                0
            };
            let mut cents = 0;
            if ok && sign != 0 {
                // Parsed as the server parses it (see `invalid_utf8_in_an_ignored_field`).
                #[derive(serde::Deserialize)]
                struct Amount {
                    amount_cents: i64,
                }
                let amount = serde_json::from_slice::<Amount>(&body)
                    .ok()
                    .map(|a| a.amount_cents);
                prop_assert!(
                    amount.is_some_and(|a| a > 0),
                    "a success for a body without a valid amount: {:?}",
                    String::from_utf8_lossy(&body)
                );
                cents = sign * amount.unwrap();
            }
            balance_agrees(target, before, Told::from(ok, &reply.headers), cents).await
        },
    );
}

/// A header value: random bytes a header may carry (no CR, LF or NUL),
/// plausible-looking values, or very long ones.
fn header_value() -> impl Strategy<Value = Vec<u8>> {
    let allowed = prop_oneof![Just(b'\t'), 0x20..0x7fu8, 0x80..=0xffu8];
    prop_oneof![
        3 => prop::collection::vec(allowed, 0..48),
        3 => prop_oneof![
            Just("0"), Just("1"), Just("0.5"), Just("-1"), Just("2"), Just("NaN"),
            Just("inf"), Just("1e400"), Just("99999999999999999999"), Just("10"),
            Just("5m"), Just("1n"), Just("99999999H"), Just("100000000m"), Just("S"),
            Just(" 1 "), Just("1.0e-3"), Just("+1"), Just("0x1"), Just("a-key"),
            Just("garbage"), Just(""),
        ]
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => (0x21..0x7fu8, 200..2_000usize).prop_map(|(byte, length)| vec![byte; length]),
        // Alone more than the 16 KiB header list HTTP/2 allows (SETTINGS).
        1 => (0x21..0x7fu8, 17_000..20_000usize).prop_map(|(byte, length)| vec![byte; length]),
    ]
}

/// The header list size the server advertises for HTTP/2 (hyper's default).
const MAX_HEADER_LIST: usize = 16 * 1024;

/// Whether headers exceed [`MAX_HEADER_LIST`] (RFC 9113 counts 32 bytes
/// per field on top of name and value; 200 more for the request's own).
fn over_header_limit(headers: &[(&str, HeaderValue)]) -> bool {
    let size: usize = headers.iter().map(|(n, v)| n.len() + v.len() + 32).sum();
    size + 200 > MAX_HEADER_LIST
}

/// Whether the call with these headers may have executed, given its reply:
/// only in the victim's session, and only with a valid idempotency key (a
/// malformed key is refused before executing — even when a `drop` fault then
/// says otherwise; see `a_lost_reply_to_a_refused_call_does_not_claim_it_executed`).
///
/// HTTP/1.1 drops whitespace around a header value (RFC 9110, 5.5); HTTP/2
/// carries it, so `http1` says which the server saw.
fn told(ok: bool, reply: &http::HeaderMap, headers: &[(&str, HeaderValue)], http1: bool) -> Told {
    let key_refused = headers
        .iter()
        .find(|(name, _)| *name == "idempotency-key")
        .is_some_and(|(_, key)| {
            let seen = if http1 {
                HeaderValue::from_bytes(key.as_bytes().trim_ascii()).unwrap()
            } else {
                key.clone()
            };
            rpc_lab_server::idempotency::layer::parse_key(&seen).is_err()
        });
    if !names_the_victims_session(headers) || key_refused {
        Told::NothingNew
    } else {
        Told::from(ok, reply)
    }
}

/// Header bytes, shown short in a failure report (some are 9 000 bytes).
#[derive(Clone)]
struct Value(Vec<u8>);

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = String::from_utf8_lossy(&self.0[..self.0.len().min(40)]).into_owned();
        if self.0.len() > 40 {
            write!(f, "{shown:?}… ({} bytes)", self.0.len())
        } else {
            write!(f, "{shown:?}")
        }
    }
}

/// The contract's headers, each possibly repeated, with garbage values.
fn contract_headers() -> impl Strategy<Value = Vec<(&'static str, Value)>> {
    prop::collection::vec(
        (
            prop::sample::select(CONTRACT_HEADERS.to_vec()),
            header_value().prop_map(Value),
        ),
        1..5,
    )
}

fn header_values(headers: &[(&'static str, Value)]) -> Vec<(&'static str, HeaderValue)> {
    headers
        .iter()
        .map(|(name, value)| (*name, HeaderValue::from_bytes(&value.0).unwrap()))
        .collect()
}

/// Whether a request with these headers is in the victim's session: the
/// server reads the first `x-lab-session`.
fn names_the_victims_session(headers: &[(&str, HeaderValue)]) -> bool {
    headers
        .iter()
        .find(|(name, _)| *name == "x-lab-session")
        .is_some_and(|(_, value)| value == SESSION)
}

/// Sends a one-cent withdrawal from the victim over native gRPC with these
/// headers. `None` when HTTP/2 itself refused headers over the limit the
/// server advertised (hyper answers 431, or ends the connection when the
/// header block is too large to even decode): an HTTP-level refusal that
/// clients report as an error, and nothing executes.
async fn withdraw_over_http2(
    target: &Target,
    headers: &[(&str, HeaderValue)],
) -> Result<Option<RawReply>, TestCaseError> {
    let (mut h2, _connection) = target.server.raw_h2().await;
    let message = grpc_frame(&AmountRequest {
        account: VICTIM.into(),
        amount_cents: 1,
    });
    let reply = send_raw(&mut h2, grpc_request(WITHDRAW, headers, message)).await;
    let oversized = over_header_limit(headers);
    match reply {
        Ok(reply) if reply.status == StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            prop_assert!(oversized, "431 for headers within the limit");
            Ok(None)
        }
        Ok(reply) => Ok(Some(reply)),
        Err(_) if oversized => Ok(None),
        Err(error) => Err(TestCaseError::fail(format!("no reply: {error:?}"))),
    }
}

/// Garbage in every contract header, over native gRPC: a withdrawal of one
/// cent from the victim's session (unless a garbage `x-lab-session` comes
/// first and names another) gets a well-formed reply, and the balance moves
/// only as the reply says.
#[test]
fn garbage_contract_headers_over_grpc() {
    let target = Target::start();
    target.run(
        "contract headers over gRPC",
        contract_headers(),
        async |target, headers| {
            let before = target.balance().await;
            let mut values = header_values(&headers);
            // The victim's session last: a garbage one before it is the one read.
            values.push(("x-lab-session", HeaderValue::from_static(SESSION)));
            let Some(reply) = withdraw_over_http2(target, &values).await? else {
                return balance_agrees(target, before, Told::NothingNew, 1).await;
            };
            let ok = native_reply_ok(&reply)?;
            if ok {
                let body = reply.body.get(5..).unwrap_or_default();
                let balance: Balance = prost::Message::decode(body)
                    .map_err(|e| TestCaseError::fail(format!("an OK without a Balance: {e}")))?;
                prop_assert_eq!(balance.account, VICTIM);
            }
            balance_agrees(target, before, told(ok, &reply.headers, &values, false), 1).await
        },
    );
}

/// The same over REST (HTTP/1.1).
#[test]
fn garbage_contract_headers_over_rest() {
    let target = Target::start();
    target.run(
        "contract headers over REST",
        contract_headers(),
        async |target, headers| {
            let before = target.balance().await;
            let mut values = header_values(&headers);
            values.push(("x-lab-session", HeaderValue::from_static(SESSION)));
            values.push(("content-type", HeaderValue::from_static("application/json")));
            let reply = rest(
                target,
                Method::POST,
                "/api/v1/accounts/victim/withdraw",
                &values,
                br#"{"amount_cents": 1}"#.to_vec(),
            )
            .await?;
            let ok = rest_reply_ok(&reply)?;
            balance_agrees(target, before, told(ok, &reply.headers, &values, true), 1).await
        },
    );
}

/// Session names: anything that is not 1 to 64 of `A-Z a-z 0-9 . _ -` is
/// refused; a valid one is a session of its own, never the victim's.
#[test]
fn garbage_session_names() {
    let name = prop_oneof![
        "[A-Za-z0-9._-]{0,80}".prop_map(String::into_bytes),
        header_value(),
    ]
    .prop_map(Value);
    let target = Target::start();
    target.run("session names", name, async |target, Value(name)| {
        let before = target.balance().await;
        let valid = rpc_lab_server::session::parse_name(&name).is_ok();
        let headers = [("x-lab-session", HeaderValue::from_bytes(&name).unwrap())];
        let Some(reply) = withdraw_over_http2(target, &headers).await? else {
            return balance_agrees(target, before, Told::NothingNew, 1).await;
        };
        native_reply_ok(&reply)?;
        let status = reply.grpc_status().unwrap().to_str().unwrap().to_owned();
        if name == SESSION.as_bytes() {
            prop_assert_eq!(status, "0");
            return balance_agrees(target, before, Told::Executed, 1).await;
        }
        // A valid name is another session, where the victim has no money;
        // an invalid one is refused as INVALID_ARGUMENT.
        let expected = if valid { "9" } else { "3" };
        prop_assert_eq!(status, expected);
        balance_agrees(target, before, Told::NothingNew, 1).await
    });
}

/// Bytes at the port that are not HTTP at all, HTTP/2 frames with random
/// types, flags, stream ids and payloads after a valid preface, and an
/// HTTP/1.1 request line followed by random header bytes. The connection
/// may be answered or closed; the server must survive every one.
#[test]
fn raw_bytes_at_the_port() {
    let h2_frames = prop::collection::vec(
        (
            0..12u8,
            any::<u8>(),
            prop_oneof![Just(0u32), Just(1u32), Just(3u32), any::<u32>()],
            prop::collection::vec(any::<u8>(), 0..48),
            prop_oneof![4 => Just(None), 1 => any::<u32>().prop_map(Some)],
        ),
        1..6,
    )
    .prop_map(|frames| {
        let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        bytes.extend([0, 0, 0, 4, 0, 0, 0, 0, 0]); // an empty SETTINGS frame
        for (kind, flags, stream, payload, lying_length) in frames {
            let length = lying_length.unwrap_or(payload.len() as u32) & 0x00ff_ffff;
            bytes.extend(&length.to_be_bytes()[1..]);
            bytes.extend([kind, flags]);
            bytes.extend(stream.to_be_bytes());
            bytes.extend(payload);
        }
        bytes
    });
    let h1_head = prop::collection::vec(any::<u8>(), 0..200).prop_map(|noise| {
        let mut bytes = b"POST /calculator.v1.Account/Withdraw HTTP/1.1\r\n".to_vec();
        bytes.extend(noise);
        bytes.extend(b"\r\n\r\n");
        bytes
    });
    let bytes = prop_oneof![
        prop::collection::vec(any::<u8>(), 1..256),
        h2_frames,
        h1_head,
    ];
    let target = Target::start();
    target.run("raw bytes at the port", bytes, async |target, bytes| {
        let before = target.balance().await;
        let mut tcp = tokio::net::TcpStream::connect(target.server.addr)
            .await
            .unwrap();
        // The server may close before reading everything; that is its right.
        let _ = tcp.write_all(&bytes).await;
        let _ = tcp.shutdown().await;
        let mut reply = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut reply)).await;
        prop_assert!(
            read.is_ok(),
            "the connection was left hanging after the client finished"
        );
        target.still_serves().await;
        balance_agrees(target, before, Told::NothingNew, 1).await
    });
}

// ---------------------------------------------------------------------------
// Found by the tests above, and fixed.

/// A `drop` fault on a call that the idempotency layer refused (a malformed
/// key) says "the server executed the call, then the reply was lost", but
/// nothing executed: a client counting executions from the reply is misled.
#[tokio::test]
async fn a_lost_reply_to_a_refused_call_does_not_claim_it_executed() {
    let server = TestServer::start().await;
    let mut clients = server.clients().await;
    let reply = clients
        .account
        .deposit(request(
            AmountRequest {
                account: VICTIM.into(),
                amount_cents: 5,
            },
            &[
                ("x-lab-session", SESSION),
                ("idempotency-key", ""),
                ("x-fault-drop", "1"),
            ],
        ))
        .await;
    assert_eq!(
        clients.balance(SESSION, VICTIM).await,
        0,
        "refused: nothing deposited"
    );
    let status = reply.unwrap_err();
    assert!(
        !status.message().contains("executed the call"),
        "{:?}: {}",
        status.code(),
        status.message()
    );
}

/// An error that quotes a malformed header quotes all of it: a 6 000-byte
/// `x-fault-fail` comes back inside `grpc-message`, percent-encoded to more
/// than the 16 KiB header list an HTTP/2 client accepts, so the client gets
/// a protocol error instead of INVALID_ARGUMENT.
#[tokio::test]
async fn an_error_quotes_at_most_a_little_of_a_malformed_header() {
    let server = TestServer::start().await;
    let (mut h2, _connection) = server.raw_h2().await;
    let huge = HeaderValue::from_bytes(&[b'{'; 6_000]).unwrap();
    for header in ["x-fault-fail", "x-fault-drop", "x-fault-delay-ms"] {
        let reply = send_raw(
            &mut h2,
            grpc_request(
                WITHDRAW,
                &[(header, huge.clone())],
                grpc_frame(&AmountRequest {
                    account: VICTIM.into(),
                    amount_cents: 1,
                }),
            ),
        )
        .await
        .unwrap_or_else(|e| panic!("{header}: the reply cannot be read: {e:?}"));
        assert_eq!(reply.grpc_status().unwrap(), "3", "{header}");
    }
}

/// JSON must be UTF-8 (RFC 8259), and the REST twin refuses invalid UTF-8
/// in the fields it reads — but serde_json does not check strings it skips,
/// so `{"amount_cents": 1, "note": "\x80"}` is accepted and executed.
#[tokio::test]
async fn invalid_utf8_in_an_ignored_field_is_refused() {
    let server = TestServer::start().await;
    let body = b"{\"amount_cents\": 1, \"note\": \"\x80\"}".to_vec();
    let request = http::Request::post(format!("{}/api/v1/accounts/a/deposit", server.url()))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let reply = RawReply::read(server.http1().request(request).await.unwrap())
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
}
