//! Puts the idempotency store of [`crate::idempotency`] in front of every
//! contract handler: one execution per key, then replays.

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use std::convert::Infallible;

use http::{HeaderMap, HeaderName, HeaderValue};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use rpc_lab::headers::{IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_EXPIRES_IN_MS, IDEMPOTENT_REPLAYED};
use tonic::{Code, Status};

use crate::deadline::{self, GRPC_TIMEOUT};
use crate::idempotency::{Begin, Pending, STORED_CODES, StoredReply, time_left};
use crate::layers::{Protocol, contract_operation, session_of};
use crate::request_log::{self, RequestOutcome};
use crate::rest;
use crate::session::Stats;
use crate::state::LabState;

/// The longest key, in characters.
pub const MAX_KEY_LEN: usize = 255;
/// The largest request body read (tonic's default message limit).
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// How long a duplicate waits for the first request when it sent no deadline.
const MAX_WAIT: Duration = Duration::from_secs(30);
/// Header names this layer reads or writes on every keyed call, checked once
/// here rather than parsed from text each time.
static REPLAYED: HeaderName = HeaderName::from_static(IDEMPOTENT_REPLAYED);
static EXPIRES_IN_MS: HeaderName = HeaderName::from_static(IDEMPOTENCY_KEY_EXPIRES_IN_MS);
static GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");

pub async fn once(State(lab): State<Arc<LabState>>, request: Request, next: Next) -> Response {
    let Some(protocol) = contract_operation(request.uri().path()) else {
        return next.run(request).await;
    };
    // A clone of the header shares its bytes: the key outlives the request
    // (it is named in error messages) without a copy of its own.
    let key_header = match request.headers().get(IDEMPOTENCY_KEY) {
        None => return next.run(request).await, // no key: at-least-once, on purpose
        Some(value) => value.clone(),
    };
    let key = match parse_key(&key_header) {
        Ok(key) => key,
        Err(status) => return protocol.reject(status),
    };
    let session = session_of(&request);
    // What the key is bound to: the gRPC method, or the HTTP method and path.
    let operation = match protocol {
        Protocol::Grpc => request.uri().path().to_owned(),
        Protocol::Rest => format!("{} {}", request.method(), request.uri().path()),
    };
    let wait_limit = match request
        .headers()
        .get(GRPC_TIMEOUT)
        .map(|v| deadline::parse(v.as_bytes()))
    {
        Some(Ok(timeout)) => timeout.min(MAX_WAIT),
        _ => MAX_WAIT,
    };

    // The fingerprint needs the whole body; unary requests are small.
    let (parts, body) = request.into_parts();
    let body = match read_whole(body, MAX_BODY_BYTES).await {
        Ok((body, _)) => body,
        Err(_) => {
            return protocol.reject(Status::resource_exhausted(format!(
                "the request body is unreadable or larger than {MAX_BODY_BYTES} bytes"
            )));
        }
    };
    let fingerprint = lab.idempotency.fingerprint(&operation, &body);

    // How long the store keeps the key's outcome: an execution and a replay
    // learn it from the store as they go; the rarer answers look it up.
    let look_up = || {
        lab.idempotency
            .time_left(&session.name, key, Instant::now())
    };
    let (reply, left) = match lab.idempotency.begin(
        &session.name,
        key,
        &operation,
        fingerprint,
        Instant::now(),
    ) {
        Begin::Execute(ticket) => {
            let request = Request::from_parts(parts, Body::from(body));
            let execution = async move {
                let response = next.run(request).await;
                let (response, reply) = buffer(response, protocol).await;
                let storable = is_storable(&reply, protocol);
                let kept_until = ticket.complete(storable.then_some(reply), Instant::now());
                (response, kept_until)
            };
            match run_to_completion(execution).await {
                Ok((response, kept_until)) => (
                    response,
                    kept_until.and_then(|expires| time_left(expires, Instant::now())),
                ),
                Err(_) => (
                    protocol.reject(Status::internal("the handler failed unexpectedly")),
                    look_up(),
                ),
            }
        }
        Begin::Replay { reply, expires } => {
            Stats::bump(&session.stats.replays);
            (respond(&reply, true), time_left(expires, Instant::now()))
        }
        Begin::Wait(mut first) => {
            let outcome = tokio::time::timeout(
                wait_limit,
                first.wait_for(|p| !matches!(p, Pending::Running)),
            )
            .await;
            let reply = match outcome.ok().and_then(Result::ok).map(|pending| pending.clone()) {
                Some(Pending::Done(reply)) => {
                    Stats::bump(&session.stats.replays);
                    respond(&reply, true)
                }
                _ => protocol.reject(Status::aborted(format!(
                    "another request with idempotency-key {key:?} was in progress and did not complete; retry"
                ))),
            };
            (reply, look_up())
        }
        Begin::Mismatch { method } => {
            Stats::bump(&session.stats.key_reuse_rejected);
            if let Some(record) = request_log::layer::marks_in(&parts.extensions) {
                record.decide(RequestOutcome::KeyReused);
            }
            let what = if *method == *operation {
                "with a different request body".to_owned()
            } else {
                format!("for {method}")
            };
            let reply = protocol.reject(Status::failed_precondition(format!(
                "idempotency-key {key:?} was already used {what}; use a new key for a new operation"
            )));
            (reply, look_up())
        }
        Begin::Full => (
            protocol.reject(Status::resource_exhausted(
                "the idempotency store is full of requests in progress; retry shortly",
            )),
            look_up(),
        ),
    };
    with_time_left(reply, left)
}

/// Tells the client how long the server keeps this key's outcome
/// ([`IDEMPOTENCY_KEY_EXPIRES_IN_MS`]), when it keeps one: after an execution
/// whose outcome was stored, a replay, or a refused reuse of the key. The time
/// is rounded down to the millisecond, so it never promises more than is left.
fn with_time_left(mut reply: Response, left: Option<Duration>) -> Response {
    if let Some(left) = left {
        let ms = u64::try_from(left.as_millis()).unwrap_or(u64::MAX);
        reply
            .headers_mut()
            .insert(EXPIRES_IN_MS.clone(), HeaderValue::from(ms));
    }
    reply
}

/// Runs a keyed execution so that nothing can stop it half-way.
///
/// If the client hangs up, hyper drops the request's future. Dropped between
/// "state changed" and "outcome stored", an execution would leave a key with
/// no outcome, and the client's retry would execute a second time — the very
/// thing this layer prevents. So the execution must finish whatever happens
/// to the request.
///
/// Most executions finish in their first poll (the handlers work under a
/// lock and do not wait), so the first poll happens right here, with no
/// task to spawn. Only one that has to wait is moved into a task of its own,
/// which finishes it even if the request is dropped. A task for every call
/// cost a keyed call about a fifth of the server's throughput
/// (`cargo bench -p rpc-lab-server --bench throughput`).
async fn run_to_completion<T: Send + 'static>(
    execution: impl Future<Output = T> + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    let mut execution = Box::pin(execution);
    match std::future::poll_fn(|cx| Poll::Ready(execution.as_mut().poll(cx))).await {
        Poll::Ready(done) => Ok(done),
        Poll::Pending => tokio::spawn(execution).await,
    }
}

/// The contract: 1 to 255 printable ASCII characters.
pub fn parse_key(value: &HeaderValue) -> Result<&str, Status> {
    let bytes = value.as_bytes();
    if bytes.is_empty()
        || bytes.len() > MAX_KEY_LEN
        || !bytes.iter().all(|b| (0x20..=0x7e).contains(b))
    {
        return Err(Status::invalid_argument(format!(
            "{IDEMPOTENCY_KEY} must be 1 to {MAX_KEY_LEN} printable ASCII characters (a UUID is a good choice)"
        )));
    }
    Ok(value.to_str().expect("printable ASCII"))
}

/// Whether a reply is an outcome the store keeps ([`STORED_CODES`]): for gRPC
/// by its status code, for REST by the HTTP status those codes map to.
fn is_storable(reply: &StoredReply, protocol: Protocol) -> bool {
    match protocol {
        Protocol::Grpc => grpc_code(reply).is_some_and(|code| STORED_CODES.contains(&code)),
        Protocol::Rest => STORED_CODES
            .iter()
            .any(|&code| rest::reply::http_status(code) == reply.status),
    }
}

/// The reply's gRPC status, from its trailers or (trailers-only) its headers.
fn grpc_code(reply: &StoredReply) -> Option<Code> {
    let value = reply
        .trailers
        .as_ref()
        .and_then(|t| t.get(&GRPC_STATUS))
        .or_else(|| reply.headers.get(&GRPC_STATUS))?;
    let number: i32 = value.to_str().ok()?.parse().ok()?;
    Some(Code::from_i32(number))
}

/// Reads a whole reply into memory: the copy the store keeps, and the reply
/// to send now. That one is the handler's own — its headers and extensions
/// (such as the execution mark) go out as they came — with its body in the
/// frames a replay would send.
///
/// The store keeps copies, not the handler's originals: a cloned header map
/// holds just its entries, where the handler's has room to grow, and the
/// handler's body is a slice of a larger buffer (see below). Together that
/// halves the memory a stored key holds (`server/tests/key_memory.rs`).
async fn buffer(response: Response, protocol: Protocol) -> (Response, Arc<StoredReply>) {
    let (parts, body) = response.into_parts();
    match read_whole(body, usize::MAX).await {
        Ok((data, trailers)) => {
            let reply = Arc::new(StoredReply {
                status: parts.status,
                headers: parts.headers.clone(),
                // A copy of exactly the reply's size. tonic encodes each reply
                // into a fresh 8 KiB buffer and hands out a slice of it; keeping
                // the slice would keep all 8 KiB alive for as long as the
                // outcome is stored — for a 20-byte reply, 400 times what the
                // store counts against its memory bound.
                body: Bytes::copy_from_slice(&data),
                trailers: trailers.clone(),
            });
            (Response::from_parts(parts, frames(data, trailers)), reply)
        }
        Err(error) => {
            let failed = protocol.reject(Status::internal(format!(
                "the reply could not be read: {error}"
            )));
            let reply = Arc::new(StoredReply {
                status: failed.status(),
                headers: failed.headers().clone(),
                body: Default::default(),
                trailers: None,
            });
            (respond(&reply, false), reply)
        }
    }
}

/// Reads a whole body: its data, and its trailers if it has any. Fails if
/// the body does, or if it holds more than `limit` bytes.
///
/// A unary message almost always arrives in one frame, which is then kept as
/// it is; only a message in several frames is copied into one buffer.
async fn read_whole(
    mut body: Body,
    limit: usize,
) -> Result<(Bytes, Option<HeaderMap>), axum::Error> {
    let (mut first, mut joined) = (Bytes::new(), BytesMut::new());
    let mut trailers = None;
    while let Some(frame) = body.frame().await {
        match frame?.into_data() {
            Ok(chunk) if first.len() + joined.len() + chunk.len() > limit => {
                return Err(axum::Error::new(format!("more than {limit} bytes")));
            }
            Ok(chunk) if first.is_empty() && joined.is_empty() => first = chunk,
            Ok(chunk) => {
                if joined.is_empty() {
                    joined.extend_from_slice(&std::mem::take(&mut first));
                }
                joined.extend_from_slice(&chunk);
            }
            Err(frame) => trailers = frame.into_trailers().ok().or(trailers),
        }
    }
    let data = if joined.is_empty() {
        first
    } else {
        joined.freeze()
    };
    Ok((data, trailers))
}

/// Sends a reply (again), marking replays.
///
/// The reply goes out in the shape it first had, frame for frame, because
/// gRPC clients are strict about that shape:
/// - a **trailers-only** reply (an error: `grpc-status` in the headers, no
///   body) must end with its headers. An empty data frame after them puts a
///   DATA frame with END_STREAM where grpcio expects nothing, and grpcio then
///   reports `UNKNOWN: Stream removed` instead of the status;
/// - a reply with a message is its data, then its trailers. The body has no
///   exact length on purpose: given one, hyper writes a `content-length`, and
///   over HTTP/1.1 the trailer frame that gRPC-Web appends after the data
///   would be cut off — the browser would see a reply with no `grpc-status`.
fn respond(reply: &StoredReply, replayed: bool) -> Response {
    let mut response = Response::new(frames(reply.body.clone(), reply.trailers.clone()));
    *response.status_mut() = reply.status;
    *response.headers_mut() = reply.headers.clone();
    if replayed {
        response
            .headers_mut()
            .insert(REPLAYED.clone(), HeaderValue::from_static("true"));
    }
    response
}

/// A reply's body from its data and trailers, in the shape [`respond`]
/// describes.
fn frames(data: Bytes, trailers: Option<HeaderMap>) -> Body {
    if data.is_empty() && trailers.is_none() {
        return Body::empty();
    }
    let data = (!data.is_empty()).then(|| Frame::data(data));
    let trailers = trailers.map(Frame::trailers);
    let frames = data.into_iter().chain(trailers).map(Ok::<_, Infallible>);
    Body::new(StreamBody::new(futures_util::stream::iter(frames)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_execution_that_finishes_at_once_runs_in_place() {
        assert_eq!(run_to_completion(async { 42 }).await.unwrap(), 42);
    }

    /// The guarantee: once started, an execution finishes even if the
    /// request waiting for it is dropped (the client hung up).
    #[tokio::test]
    async fn an_execution_that_must_wait_finishes_even_if_its_request_is_dropped() {
        let (finished, finished_rx) = tokio::sync::oneshot::channel();
        let mut request = Box::pin(run_to_completion(async move {
            tokio::task::yield_now().await; // Pending once: the state is half-changed here
            finished.send(()).unwrap();
        }));
        // Poll the request once, as hyper would, then drop it mid-way.
        let first = std::future::poll_fn(|cx| Poll::Ready(request.as_mut().poll(cx))).await;
        assert!(first.is_pending(), "the execution had to wait");
        drop(request);
        tokio::time::timeout(Duration::from_secs(5), finished_rx)
            .await
            .expect("the execution went on without its request")
            .unwrap();
    }

    fn body_of(frames: Vec<Frame<Bytes>>) -> Body {
        let frames = frames.into_iter().map(Ok::<_, Infallible>);
        Body::new(StreamBody::new(futures_util::stream::iter(frames)))
    }

    /// One frame is the message itself, not a copy; several are joined in
    /// order; trailers come back beside the data; too much is refused.
    #[tokio::test]
    async fn a_body_is_read_whole() {
        let message = Bytes::from_static(b"one frame");
        let (data, trailers) = read_whole(body_of(vec![Frame::data(message.clone())]), 100)
            .await
            .unwrap();
        assert_eq!(data.as_ptr(), message.as_ptr(), "kept as it came");
        assert!(trailers.is_none());

        let mut status = HeaderMap::new();
        status.insert(&GRPC_STATUS, HeaderValue::from_static("0"));
        let frames = vec![
            Frame::data(Bytes::from_static(b"ab")),
            Frame::data(Bytes::from_static(b"")),
            Frame::data(Bytes::from_static(b"cd")),
            Frame::trailers(status.clone()),
        ];
        let (data, trailers) = read_whole(body_of(frames), 4).await.unwrap();
        assert_eq!((&data[..], trailers), (&b"abcd"[..], Some(status)));

        let frames = vec![
            Frame::data(Bytes::from_static(b"abc")),
            Frame::data(Bytes::from_static(b"def")),
        ];
        assert!(read_whole(body_of(frames), 5).await.is_err(), "6 bytes > 5");
    }

    #[test]
    fn keys_are_one_to_255_printable_ascii_characters() {
        for good in [
            "k",
            "3f2b9c1e-0d6a-4b8e-9a41-7e5c2d1f0a9b",
            "with space ~!",
            &"x".repeat(255),
        ] {
            assert!(
                parse_key(&HeaderValue::from_str(good).unwrap()).is_ok(),
                "{good:?}"
            );
        }
        for bad in [&b""[..], &[b'x'; 256], b"tab\there", b"caf\xc3\xa9"] {
            let error = parse_key(&HeaderValue::from_bytes(bad).unwrap()).unwrap_err();
            assert_eq!(error.code(), Code::InvalidArgument);
            assert!(error.message().contains("idempotency-key"));
        }
    }

    fn reply(status: u16, grpc_status: Option<&'static str>) -> StoredReply {
        let mut trailers = http::HeaderMap::new();
        if let Some(code) = grpc_status {
            trailers.insert("grpc-status", HeaderValue::from_static(code));
        }
        StoredReply {
            status: http::StatusCode::from_u16(status).unwrap(),
            headers: Default::default(),
            body: Default::default(),
            trailers: Some(trailers),
        }
    }

    #[test]
    fn only_deterministic_outcomes_are_stored() {
        // gRPC: by status code (OK, INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, OUT_OF_RANGE).
        for code in ["0", "3", "5", "9", "11"] {
            assert!(
                is_storable(&reply(200, Some(code)), Protocol::Grpc),
                "grpc-status {code}"
            );
        }
        // CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE.
        for code in ["1", "2", "4", "8", "10", "13", "14"] {
            assert!(
                !is_storable(&reply(200, Some(code)), Protocol::Grpc),
                "grpc-status {code}"
            );
        }
        assert!(
            !is_storable(&reply(200, None), Protocol::Grpc),
            "no status, no storing"
        );
        // REST: by the HTTP statuses those codes map to.
        for status in [200, 400, 404, 412] {
            assert!(
                is_storable(&reply(status, None), Protocol::Rest),
                "HTTP {status}"
            );
        }
        for status in [409, 429, 500, 503, 504] {
            assert!(
                !is_storable(&reply(status, None), Protocol::Rest),
                "HTTP {status}"
            );
        }
    }
}
