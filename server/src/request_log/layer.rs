//! Records every request to the lab's operations in its session's log.
//!
//! [`record`] stands just inside the session layer, outside everything that
//! can turn a request away, so it sees them all. It notes what the request
//! says about itself (transport, operation, key, connection, user agent,
//! deadline), puts the record in the making — a [`Pending`] — on the request
//! for the layers below to mark, and reads the reply when it comes back.
//!
//! The record is written when the last holder of its `Pending` lets go of
//! it, not when the reply passes by. Usually that is the same moment. But a
//! client can hang up while the server goes on: a keyed execution, or one
//! the capacity's `FINISH` policy runs for nobody, continues in a task of
//! its own, still holding the request — and its `Pending`. Writing the
//! record only when that work is over means it says what really happened
//! (executed, or not), instead of guessing at the moment the client left.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::header::{CONTENT_TYPE, USER_AGENT};
use http::{Extensions, HeaderName, HeaderValue};
use rpc_lab::headers::{
    FAULT_INJECTED, IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED, LAB_BOOKKEEPING, LAB_OVERLOAD,
};
use tonic::Code;

use super::outcome::{self, Marks, Reply};
use super::{Draft, InjectedFault, RequestLog, RequestOutcome, RequestTransport};
use crate::deadline::{self, GRPC_TIMEOUT};
use crate::layers::{Protocol, contract_operation, operation_name, session_of};
use crate::transport::connections::Connection;

static FAULT: HeaderName = HeaderName::from_static(FAULT_INJECTED);
static REPLAYED: HeaderName = HeaderName::from_static(IDEMPOTENT_REPLAYED);
static OVERLOAD: HeaderName = HeaderName::from_static(LAB_OVERLOAD);
static GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
// Read on every request: names checked once here, not parsed from text each
// time (a look-up by `&str` parses and hashes the name on every call).
static KEY: HeaderName = HeaderName::from_static(IDEMPOTENCY_KEY);
static TIMEOUT: HeaderName = HeaderName::from_static(GRPC_TIMEOUT);
static BOOKKEEPING: HeaderName = HeaderName::from_static(LAB_BOOKKEEPING);
/// What gRPC-Web clients in a browser send beside the browser's own `user-agent`.
static X_USER_AGENT: HeaderName = HeaderName::from_static("x-user-agent");

/// Marks a request that arrived as gRPC-Web. By the time the lab's layers
/// see it, `tonic_web` has made it an ordinary gRPC request; only a look at
/// it before that translation ([`note_grpc_web`], called by the connection
/// that received it) can tell.
#[derive(Clone, Copy, Debug)]
pub struct ViaGrpcWeb;

/// Marks gRPC-Web requests (`content-type: application/grpc-web…`, binary
/// or text). A plain function, not a middleware: another layer around every
/// route would cost each request more than the look itself.
pub fn note_grpc_web(mut request: Request) -> Request {
    let grpc_web = request
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc-web"));
    if grpc_web {
        request.extensions_mut().insert(ViaGrpcWeb);
    }
    request
}

/// The middleware: makes the request's [`Pending`] record, lets the request
/// through, and notes the reply.
pub async fn record(mut request: Request, next: Next) -> Response {
    let Some(protocol) = contract_operation(request.uri().path()) else {
        return next.run(request).await;
    };
    let log = session_of(&request).requests.clone();
    let pending = Arc::new(Pending::new(&request, protocol, log));
    request.extensions_mut().insert(pending.clone());
    let response = next.run(request).await;
    pending.replied(&response, protocol);
    // Usually the last holder: the record is written here, before the reply
    // leaves, so a client that asks right after its call finds it.
    drop(pending);
    response
}

/// The record of a request, in the making. Deeper layers find it on the
/// request ([`marks`]) and mark what only they know; dropped by its last
/// holder, it writes the record.
#[derive(Debug)]
pub struct Pending {
    log: Arc<RequestLog>,
    arrived: SystemTime,
    started: Instant,
    transport: RequestTransport,
    operation: String,
    // Header values share the request's bytes: nothing is copied until the
    // record is written.
    key: Option<HeaderValue>,
    user_agent: Option<HeaderValue>,
    timeout: Option<HeaderValue>,
    /// `x-lab-bookkeeping` was sent (and is not `0`).
    bookkeeping: bool,
    connection: Option<Arc<Connection>>,
    /// A `RequestOutcome` a layer decided; 0 (unspecified): none.
    decided: AtomicI32,
    executed: AtomicBool,
    delayed: AtomicBool,
    queued_micros: AtomicU64,
    reply: OnceLock<(Reply, Instant)>,
}

impl Pending {
    fn new(request: &Request, protocol: Protocol, log: Arc<RequestLog>) -> Self {
        let headers = request.headers();
        let transport = match protocol {
            Protocol::Rest => RequestTransport::Rest,
            Protocol::Grpc if request.extensions().get::<ViaGrpcWeb>().is_some() => {
                RequestTransport::GrpcWeb
            }
            Protocol::Grpc => RequestTransport::Grpc,
        };
        Pending {
            log,
            arrived: SystemTime::now(),
            started: Instant::now(),
            transport,
            operation: operation_name(request, protocol),
            key: headers.get(&KEY).cloned(),
            user_agent: headers
                .get(USER_AGENT)
                .or_else(|| headers.get(&X_USER_AGENT))
                .cloned(),
            timeout: headers.get(&TIMEOUT).cloned(),
            bookkeeping: headers.get(&BOOKKEEPING).is_some_and(|v| v != "0"),
            connection: request.extensions().get::<Arc<Connection>>().cloned(),
            decided: AtomicI32::new(RequestOutcome::Unspecified as i32),
            executed: AtomicBool::new(false),
            delayed: AtomicBool::new(false),
            queued_micros: AtomicU64::new(0),
            reply: OnceLock::new(),
        }
    }

    /// The handler ran (marked by the execution count).
    pub fn executed(&self) {
        self.executed.store(true, Ordering::Relaxed);
    }

    /// A layer decided the outcome itself (a reused key, a skip, a
    /// cancellation, a deadline during an injected delay).
    pub fn decide(&self, outcome: RequestOutcome) {
        self.decided.store(outcome as i32, Ordering::Relaxed);
    }

    /// The fault layer delayed the request.
    pub fn delayed(&self) {
        self.delayed.store(true, Ordering::Relaxed);
    }

    /// The request waited this long in its session's capacity queue.
    pub fn queued(&self, waited: Duration) {
        let micros = u64::try_from(waited.as_micros()).unwrap_or(u64::MAX);
        self.queued_micros.store(micros, Ordering::Relaxed);
    }

    /// Notes what the reply says (once; the first reply is the one sent).
    fn replied(&self, response: &Response, protocol: Protocol) {
        let headers = response.headers();
        let fault = match headers.get(&FAULT).map(HeaderValue::as_bytes) {
            Some(b"fail") => InjectedFault::Fail,
            Some(b"drop") => InjectedFault::Drop,
            Some(b"delay") => InjectedFault::Delay,
            _ => InjectedFault::None,
        };
        let code = match protocol {
            Protocol::Rest => None,
            // An error is "trailers-only": its status is in the headers. A
            // reply with a message carries its status in the trailers, after
            // the message; a unary handler that produced its message
            // succeeded, so that is OK.
            Protocol::Grpc => match headers.get(&GRPC_STATUS) {
                Some(status) => std::str::from_utf8(status.as_bytes())
                    .ok()
                    .and_then(|s| s.parse::<i32>().ok())
                    .map(Code::from_i32),
                None if response.status() == http::StatusCode::OK => Some(Code::Ok),
                None => None,
            },
        };
        let reply = Reply {
            fault,
            replayed: headers.get(&REPLAYED).is_some_and(|v| v == "true"),
            overloaded: headers.contains_key(&OVERLOAD),
            code,
            http_status: response.status().as_u16(),
        };
        let _ = self.reply.set((reply, Instant::now()));
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let reply = self.reply.get();
        let decided = RequestOutcome::try_from(self.decided.load(Ordering::Relaxed))
            .ok()
            .filter(|outcome| *outcome != RequestOutcome::Unspecified);
        let marks = Marks {
            decided,
            executed: self.executed.load(Ordering::Relaxed),
            delayed: self.delayed.load(Ordering::Relaxed),
        };
        let (outcome, fault) = outcome::decide(marks, reply.map(|(reply, _)| reply));
        let finished = reply.map_or_else(Instant::now, |(_, at)| *at);
        let arrived_unix_micros = self.arrived.duration_since(UNIX_EPOCH).map_or(0, |since| {
            u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
        });
        self.log.write(Draft {
            arrived_unix_micros,
            transport: self.transport,
            operation: &self.operation,
            idempotency_key: self.key.as_ref().map(HeaderValue::as_bytes),
            connection: self.connection.take(),
            user_agent: self.user_agent.as_ref().map(HeaderValue::as_bytes),
            timeout: self
                .timeout
                .as_ref()
                .and_then(|value| deadline::parse(value.as_bytes()).ok()),
            fault,
            outcome,
            hung_up: reply.is_none(),
            code: reply.and_then(|(reply, _)| reply.code),
            http_status: reply.map_or(0, |(reply, _)| reply.http_status),
            queued: Duration::from_micros(self.queued_micros.load(Ordering::Relaxed)),
            server_time: finished.saturating_duration_since(self.started),
            bookkeeping: self.bookkeeping,
        });
    }
}

/// The record in the making of a request, for a layer to mark.
pub fn marks(request: &Request) -> Option<&Arc<Pending>> {
    marks_in(request.extensions())
}

/// The same, from a request taken apart (`Request::into_parts`).
pub fn marks_in(extensions: &Extensions) -> Option<&Arc<Pending>> {
    extensions.get::<Arc<Pending>>()
}
