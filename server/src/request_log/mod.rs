//! The server's own record of a session: every request that reached one of
//! the lab's operations, and what the server really did with it.
//!
//! The page knows what *its* client did. A student's own client — a Python
//! assignment, grpcurl, a script — is invisible to it, and `Lab/GetStats`
//! only counts. This log is the server's side of the story, request by
//! request: which attempt executed, which was a replay, which was a
//! duplicate that took the money twice. `Lab/WatchRequests` streams it, so
//! the client's view and the server's view of one run can be compared.
//!
//! - [`Record`]: one request as the server saw it — when it arrived, how
//!   (gRPC, gRPC-Web, REST), which operation, its idempotency key, its
//!   connection and user agent, its deadline, the fault injected, and the
//!   [`outcome`]: what the server did, with the status and the time it took.
//! - [`RequestLog`]: a session's last N records ([`ring`], numbered without
//!   gaps; `--request-log-capacity`, 10 000 by default) and the watchers
//!   following it. Older records are let go and counted.
//! - [`layer`]: how a record is made. The recording layer stands just inside
//!   the session layer, so it sees every request of the session's
//!   operations; the layers deeper in mark what only they know (executed,
//!   skipped, cancelled, a reused key). The record is written when the
//!   request is done with — answered, or abandoned by its client and
//!   finished by the server.
//! - [`watch`]: the stream a watcher reads: the backlog, then each record as
//!   it is written.
//!
//! **Memory.** A record costs 152 bytes of its own (128 for the [`Record`],
//! its `Arc`'s counts and the log's pointer to it), plus its idempotency key
//! (a UUID: 36 bytes; at most 255). Operation names and user agents are
//! shared between records ([`interner`]), so a log of the page's or a
//! student's calls is about 200 bytes a record: 2 MB at the default 10 000.
//! A client that sends a new user agent and an invented method name on every
//! request (each kept to 256 and 128 bytes) adds at most 420 bytes a record:
//! the worst case is about 840 bytes a record, 8.4 MB a log at the default.
//! The server holds at most `--max-sessions` logs. A log grows only as its
//! session's requests come, so an idle session costs next to nothing.
//!
//! **Cost.** On each request: one allocation for the record in the making,
//! one for the record, a lock held for a push (and a broadcast send while
//! someone watches). The README's "server layers" benchmark measures it.

pub mod interner;
pub mod layer;
pub mod outcome;
pub mod ring;
pub mod watch;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rpc_lab::proto::calculator_v1 as proto;
use rpc_lab::status::code_name;
use tokio::sync::broadcast;
use tonic::{Code, Status};

pub use proto::{InjectedFault, RequestOutcome, RequestTransport};

use crate::transport::connections::Connection;
use interner::Interner;
use ring::Ring;

/// A session's log holds this many records unless `--request-log-capacity`
/// says otherwise.
pub const DEFAULT_CAPACITY: usize = 10_000;
/// Records a watcher may fall behind by before it misses some (the live
/// broadcast's buffer, shared by a session's watchers; allocated only while
/// someone watches).
pub const WATCH_BUFFER: usize = 1_024;
/// Watchers of one session at once. The page opens one per tab; a student
/// adds grpcurl. Each costs a copy of the backlog's pointers (80 KB at the
/// default capacity) while it is sent.
pub const MAX_WATCHERS: usize = 16;
/// The longest operation name kept (an unknown gRPC method's path is the
/// client's to choose).
pub const MAX_OPERATION_BYTES: usize = 128;
/// The longest user agent kept.
pub const MAX_USER_AGENT_BYTES: usize = 256;
/// The longest idempotency key kept (the longest a valid one can be).
pub const MAX_KEY_BYTES: usize = crate::idempotency::layer::MAX_KEY_LEN;
/// Distinct operation names and user agents shared per log; beyond that,
/// each record keeps its own copy.
const INTERNED: usize = 64;

/// One request, as the server saw it (see `RequestRecord` in lab.proto).
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// 1, 2, 3, … in the order the session's records were written.
    pub sequence: u64,
    /// When it reached the lab's layers: microseconds since the Unix epoch.
    pub arrived_unix_micros: u64,
    pub transport: RequestTransport,
    pub operation: Arc<str>,
    pub idempotency_key: Option<Box<str>>,
    pub connection: Option<Arc<Connection>>,
    pub user_agent: Option<Arc<str>>,
    /// The client's `grpc-timeout`, as it sent it.
    pub timeout: Option<Duration>,
    pub fault: InjectedFault,
    pub outcome: RequestOutcome,
    /// The client hung up before a reply was ready: none was sent.
    pub hung_up: bool,
    /// The gRPC status answered (gRPC and gRPC-Web replies only).
    pub code: Option<Code>,
    /// The reply's HTTP status; 0 if none was sent.
    pub http_status: u16,
    /// Time spent in the session's capacity queue, in microseconds (kept
    /// as a number, not a `Duration`: 8 bytes instead of 16 in every record
    /// of every log).
    pub queued_micros: u64,
    /// From arrival to the reply ready (or, for a client that hung up, to
    /// the server being done with the request), in microseconds.
    pub server_micros: u64,
    /// Marked by its client as bookkeeping (`x-lab-bookkeeping`).
    pub bookkeeping: bool,
}

impl Record {
    /// The record on the wire, for a watcher that missed `missed_before`
    /// records just before it; `live`: sent as it happened.
    pub fn to_proto(&self, missed_before: u64, live: bool) -> proto::RequestRecord {
        proto::RequestRecord {
            sequence: self.sequence,
            missed_before,
            live,
            arrived_unix_micros: self.arrived_unix_micros,
            transport: self.transport.into(),
            operation: self.operation.to_string(),
            idempotency_key: self.idempotency_key.as_deref().map(str::to_owned),
            connection_id: self.connection.as_ref().map_or(0, |c| c.id),
            peer: self
                .connection
                .as_ref()
                .map(|c| c.peer.to_string())
                .unwrap_or_default(),
            user_agent: self.user_agent.as_deref().unwrap_or_default().to_owned(),
            timeout_micros: self.timeout.map(micros),
            fault: self.fault.into(),
            outcome: self.outcome.into(),
            hung_up: self.hung_up,
            code: self.code.map(code_name).unwrap_or_default().to_owned(),
            http_status: self.http_status.into(),
            queued_micros: self.queued_micros,
            server_micros: self.server_micros,
            bookkeeping: self.bookkeeping,
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// What the recording layer hands the log to write: a record without its
/// sequence number, its texts not yet shared.
#[derive(Debug)]
pub struct Draft<'a> {
    pub arrived_unix_micros: u64,
    pub transport: RequestTransport,
    pub operation: &'a str,
    pub idempotency_key: Option<&'a [u8]>,
    pub connection: Option<Arc<Connection>>,
    pub user_agent: Option<&'a [u8]>,
    pub timeout: Option<Duration>,
    pub fault: InjectedFault,
    pub outcome: RequestOutcome,
    pub hung_up: bool,
    pub code: Option<Code>,
    pub http_status: u16,
    pub queued: Duration,
    pub server_time: Duration,
    pub bookkeeping: bool,
}

/// What a log holds at one moment (for tests and the watch's backlog).
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Oldest first.
    pub records: Vec<Arc<Record>>,
    /// Records let go to stay within the bound.
    pub dropped: u64,
}

/// One session's record of its requests. Survives `Lab/ResetSession` (the
/// record of what reached the server is not the session's state), so a
/// watcher keeps watching across a reset; a session forgotten to make room
/// for another takes its log with it, and its watchers' streams end.
#[derive(Debug)]
pub struct RequestLog {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    ring: Ring<Arc<Record>>,
    operations: Interner,
    user_agents: Interner,
    /// The live feed, while anyone watches.
    watchers: Option<broadcast::Sender<Arc<Record>>>,
}

impl RequestLog {
    /// An empty log that keeps the last `capacity` records.
    pub fn new(capacity: usize) -> Self {
        RequestLog {
            inner: Mutex::new(Inner {
                ring: Ring::new(capacity),
                operations: Interner::new(INTERNED),
                user_agents: Interner::new(INTERNED),
                watchers: None,
            }),
        }
    }

    /// A poisoned lock still holds a consistent log (every change to it is
    /// one push), and records are written from `Drop`, where a panic would
    /// abort the server: so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Numbers the record, keeps it (letting the oldest go if full) and
    /// sends it to the watchers.
    pub fn write(&self, draft: Draft<'_>) {
        let mut inner = self.lock();
        let operation = inner
            .operations
            .get(&text(draft.operation.as_bytes(), MAX_OPERATION_BYTES));
        let user_agent = draft
            .user_agent
            .map(|agent| inner.user_agents.get(&text(agent, MAX_USER_AGENT_BYTES)));
        let record = inner.ring.push_with(|sequence| {
            Arc::new(Record {
                sequence,
                arrived_unix_micros: draft.arrived_unix_micros,
                transport: draft.transport,
                operation,
                idempotency_key: draft
                    .idempotency_key
                    .map(|key| text(key, MAX_KEY_BYTES).into()),
                connection: draft.connection,
                user_agent,
                timeout: draft.timeout,
                fault: draft.fault,
                outcome: draft.outcome,
                hung_up: draft.hung_up,
                code: draft.code,
                http_status: draft.http_status,
                queued_micros: micros(draft.queued),
                server_micros: micros(draft.server_time),
                bookkeeping: draft.bookkeeping,
            })
        });
        // Sent under the lock, so that a watcher's backlog (taken under the
        // same lock) and its live feed neither overlap nor leave a gap.
        if let Some(watchers) = &inner.watchers {
            if watchers.receiver_count() == 0 {
                // The last watcher left: free the feed's buffer.
                inner.watchers = None;
            } else {
                let _ = watchers.send(record);
            }
        }
    }

    /// The records held now, oldest first, and how many were let go.
    pub fn snapshot(&self) -> Snapshot {
        let inner = self.lock();
        Snapshot {
            records: inner.ring.iter().cloned().collect(),
            dropped: inner.ring.dropped(),
        }
    }

    /// Starts a watch: the backlog and the live feed from the record after
    /// it, taken together. At most [`MAX_WATCHERS`] at once.
    pub fn subscribe(&self) -> Result<(Snapshot, broadcast::Receiver<Arc<Record>>), Status> {
        let mut inner = self.lock();
        let feed = match &inner.watchers {
            Some(feed) if feed.receiver_count() >= MAX_WATCHERS => {
                return Err(Status::resource_exhausted(format!(
                    "this session already has {MAX_WATCHERS} watchers of its requests (the most at once); close one first"
                )));
            }
            Some(feed) => feed.subscribe(),
            None => {
                let (feed, receiver) = broadcast::channel(WATCH_BUFFER);
                inner.watchers = Some(feed);
                receiver
            }
        };
        let backlog = Snapshot {
            records: inner.ring.iter().cloned().collect(),
            dropped: inner.ring.dropped(),
        };
        Ok((backlog, feed))
    }

    /// Watchers following the log now.
    pub fn watchers(&self) -> usize {
        self.lock()
            .watchers
            .as_ref()
            .map_or(0, broadcast::Sender::receiver_count)
    }
}

/// At most `limit` bytes of what a client sent, as text (invalid UTF-8
/// replaced, never refused: the record is what arrived, good or bad).
fn text(bytes: &[u8], limit: usize) -> std::borrow::Cow<'_, str> {
    let bytes = &bytes[..bytes.len().min(limit)];
    // The common case first: `from_utf8` is much quicker than the lossy
    // conversion at saying "all valid", which almost every request is.
    match std::str::from_utf8(bytes) {
        Ok(text) => text.into(),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(operation: &str) -> Draft<'_> {
        Draft {
            arrived_unix_micros: 1,
            transport: RequestTransport::Grpc,
            operation,
            idempotency_key: Some(b"k-1"),
            connection: None,
            user_agent: Some(b"grpc-python/1.66"),
            timeout: None,
            fault: InjectedFault::None,
            outcome: RequestOutcome::Executed,
            hung_up: false,
            code: Some(Code::Ok),
            http_status: 200,
            queued: Duration::ZERO,
            server_time: Duration::from_micros(80),
            bookkeeping: false,
        }
    }

    #[test]
    fn records_are_numbered_kept_within_the_bound_and_share_their_texts() {
        let log = RequestLog::new(3);
        for _ in 0..5 {
            log.write(draft("/calculator.v1.Account/Deposit"));
        }
        let snapshot = log.snapshot();
        let numbers: Vec<u64> = snapshot.records.iter().map(|r| r.sequence).collect();
        assert_eq!(numbers, [3, 4, 5]);
        assert_eq!(snapshot.dropped, 2);
        let [a, b, ..] = &snapshot.records[..] else {
            unreachable!()
        };
        assert!(Arc::ptr_eq(&a.operation, &b.operation));
        assert!(Arc::ptr_eq(
            a.user_agent.as_ref().unwrap(),
            b.user_agent.as_ref().unwrap()
        ));
        assert_eq!(a.idempotency_key.as_deref(), Some("k-1"));
    }

    #[test]
    fn what_a_client_sent_is_kept_briefly_and_as_text() {
        let log = RequestLog::new(10);
        let long = "x".repeat(1_000);
        let mut bad = draft(&long);
        bad.user_agent = Some(b"caf\xc3");
        bad.idempotency_key = Some(&[b'k'; 400]);
        log.write(bad);
        let record = log.snapshot().records[0].clone();
        assert_eq!(record.operation.len(), MAX_OPERATION_BYTES);
        assert_eq!(record.idempotency_key.as_deref().unwrap().len(), 255);
        assert_eq!(record.user_agent.as_deref(), Some("caf\u{fffd}"));
    }

    #[tokio::test]
    async fn a_watcher_gets_the_backlog_then_what_follows_without_overlap() {
        let log = RequestLog::new(10);
        log.write(draft("/a"));
        let (backlog, mut feed) = log.subscribe().unwrap();
        log.write(draft("/b"));
        assert_eq!(backlog.records.len(), 1);
        assert_eq!(backlog.records[0].sequence, 1);
        assert_eq!(feed.recv().await.unwrap().sequence, 2);
        assert_eq!(log.watchers(), 1);
        drop(feed);
        assert_eq!(log.watchers(), 0);
        log.write(draft("/c"));
        assert!(
            log.lock().watchers.is_none(),
            "the feed goes with its last watcher"
        );
    }

    #[test]
    fn watchers_are_capped() {
        let log = RequestLog::new(10);
        let watchers: Vec<_> = (0..MAX_WATCHERS)
            .map(|_| log.subscribe().unwrap())
            .collect();
        let error = log.subscribe().unwrap_err();
        assert_eq!(error.code(), Code::ResourceExhausted);
        drop(watchers);
        assert!(log.subscribe().is_ok());
    }

    /// The memory bound in the module's documentation counts on this (on a
    /// 64-bit machine).
    #[test]
    fn a_record_is_as_small_as_the_bound_assumes() {
        assert!(std::mem::size_of::<Record>() <= 128);
    }

    #[test]
    fn a_record_reads_well_on_the_wire() {
        let log = RequestLog::new(10);
        let mut sent = draft("/calculator.v1.Calculator/Add");
        sent.connection = Some(Arc::new(Connection {
            id: 7,
            peer: "127.0.0.1:5000".parse().unwrap(),
        }));
        sent.timeout = Some(Duration::from_millis(250));
        log.write(sent);
        let wire = log.snapshot().records[0].to_proto(0, true);
        assert_eq!(wire.sequence, 1);
        assert_eq!(wire.code, "OK");
        assert_eq!(wire.connection_id, 7);
        assert_eq!(wire.peer, "127.0.0.1:5000");
        assert_eq!(wire.timeout_micros, Some(250_000));
        assert_eq!(wire.outcome(), RequestOutcome::Executed);
        assert_eq!(wire.transport(), RequestTransport::Grpc);
        assert!(wire.live);
    }
}
