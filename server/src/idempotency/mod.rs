//! The server's idempotency store: remember each keyed operation's outcome so
//! a retry gets the answer instead of a second execution.
//!
//! A client that retries after a lost reply cannot know whether the first try
//! ran. If it sends the same `idempotency-key` every time, the server can make
//! retries safe: the first request with a key executes and its outcome is
//! stored; a repeat (same key, same method, same body) gets the stored outcome
//! back without executing again. This module is that memory; the layer in
//! [`layer`] puts it in front of every handler.
//!
//! Rules, and why:
//! - **Scope**: a key belongs to a lab session, so two students' keys never
//!   collide.
//! - **Fingerprint**: each entry remembers the method and a hash of the
//!   request body. The same key with another method or body is a client bug
//!   (a key reused for a new operation) and is refused, not replayed — handing
//!   out the stored outcome would answer a question that was not asked.
//! - **In flight**: while the first request runs, a duplicate waits for its
//!   outcome ([`Begin::Wait`]) and never executes. If the first ends without a
//!   storable outcome, waiters are told to retry (`ABORTED`).
//! - **Time-to-live**: an outcome is kept for `ttl` after it completes. A
//!   retry later than that executes again. Clients must retry within the TTL.
//! - **Bounded memory**: at most `max_keys` entries and about `max_bytes` of
//!   them. When full, the *oldest completed* outcomes are forgotten first —
//!   they are the nearest to expiring anyway. That trades the guarantee for
//!   those keys (a very late retry would execute again) for memory that stays
//!   bounded whatever clients send. Entries in flight are never evicted; if
//!   every slot is in flight, a new keyed request is refused with
//!   `RESOURCE_EXHAUSTED` (retryable) rather than run unprotected.
//!
//! A production store would live in a database shared by all replicas and
//! write the outcome in the same transaction as the operation's effect.

pub mod layer;

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hashbrown::HashTable;
use http::HeaderMap;
use tokio::sync::watch;
use tonic::Code;

/// Memory an entry costs besides its key, body and header bytes: the table
/// slot, the expiry record, the `Arc`'d reply, two header maps' tables, the
/// hash table's spare capacity and the allocator's own overhead. Set from the
/// most a key was seen to cost: `server/tests/key_memory.rs` measures the
/// live heap a stored key holds through the real server (750 bytes for a
/// keyed `Deposit`) and fails if the store's count falls below it; the
/// benchmark (`cargo bench -p rpc-lab-server --bench throughput`) measures
/// resident memory, which adds the allocator's rounding and the table's spare
/// room (about 960 bytes a key over a million keys), and, when a million
/// distinct keys churn through a full store, the gaps that churn leaves in
/// the heap (about 1 200 bytes a key).
pub const ENTRY_OVERHEAD_BYTES: usize = 1_050;

/// The outcomes that are stored: success and the deterministic errors, which
/// would come out the same if executed again. Anything else (an internal
/// error, a resource limit, a failure before execution) is not, so a retry
/// with the key executes.
pub const STORED_CODES: [Code; 5] = [
    Code::Ok,
    Code::InvalidArgument,
    Code::FailedPrecondition,
    Code::OutOfRange,
    Code::NotFound,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdempotencyConfig {
    pub ttl: Duration,
    pub max_keys: usize,
    pub max_bytes: usize,
}

impl Default for IdempotencyConfig {
    fn default() -> Self {
        IdempotencyConfig {
            ttl: Duration::from_secs(600),
            max_keys: 100_000,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// A complete reply (gRPC or REST), as it went out the first time.
#[derive(Clone, Debug)]
pub struct StoredReply {
    pub status: http::StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub trailers: Option<HeaderMap>,
}

impl StoredReply {
    /// Approximate bytes held.
    pub fn size(&self) -> usize {
        let map = |m: &HeaderMap| {
            m.iter()
                .map(|(k, v)| k.as_str().len() + v.len() + 32)
                .sum::<usize>()
        };
        self.body.len() + map(&self.headers) + self.trailers.as_ref().map_or(0, map)
    }
}

/// What happened to the first request, as a waiting duplicate sees it.
#[derive(Clone, Debug)]
pub enum Pending {
    Running,
    Done(Arc<StoredReply>),
    /// The first request ended without a storable outcome.
    Abandoned,
}

/// The store's answer to "a request with this key arrived".
#[derive(Debug)]
pub enum Begin {
    /// First time: execute, then [`Ticket::complete`].
    Execute(Ticket),
    /// Seen and finished: send this reply again. It is kept until `expires`.
    Replay {
        reply: Arc<StoredReply>,
        expires: Instant,
    },
    /// Seen and still running: wait for its outcome.
    Wait(watch::Receiver<Pending>),
    /// The key was used for another method or body.
    Mismatch { method: Box<str> },
    /// Every slot holds a request in flight.
    Full,
}

#[derive(Debug)]
enum State {
    /// Running. The channel that tells duplicates the outcome is made only
    /// when a first duplicate arrives: most keys never see one, and a
    /// channel is an allocation and a notification per request for nothing.
    InFlight(Option<watch::Sender<Pending>>),
    Done {
        reply: Arc<StoredReply>,
        bytes: usize,
        /// When the outcome is forgotten: completion + TTL.
        expires: Instant,
    },
}

#[derive(Debug)]
struct Entry {
    /// Where the entry is filed: the hash of its session and key.
    hash: u64,
    /// Which entry this is, unique for the store's lifetime: what a
    /// [`Ticket`] and the expiry queue keep instead of a copy of the key.
    id: u64,
    session: Arc<str>,
    key: Box<str>,
    method: Box<str>,
    fingerprint: u64,
    state: State,
}

impl Entry {
    fn is(&self, session: &str, key: &str) -> bool {
        &*self.key == key && &*self.session == session
    }
}

/// The handle to one entry: its hash, to find its slot, and its id, to
/// recognise it there. Finding an entry by its handle compares no strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Handle {
    hash: u64,
    id: u64,
}

impl State {
    /// Tells the duplicates waiting on this request (if any) how it ended.
    fn tell_waiters(&self, outcome: Pending) {
        if let State::InFlight(Some(waiters)) = self {
            waiters.send_replace(outcome);
        }
    }
}

/// The store's memory, behind its lock.
///
/// The entries sit in a hash table that is handed each entry's hash rather
/// than computing it: a key is hashed once, when its request arrives (before
/// taking the lock), and everything after that — completing, expiring,
/// evicting, abandoning — finds the entry by its [`Handle`]. The key's text
/// is kept once, in its entry, and compared only when a request arrives.
#[derive(Debug, Default)]
struct Inner {
    entries: HashTable<Entry>,
    /// Completed entries in completion order, which is also expiry order
    /// because every entry lives for the same TTL.
    completed: VecDeque<(Handle, Instant)>,
    bytes: usize,
    next_id: u64,
    per_session: HashMap<Arc<str>, usize>,
}

#[derive(Debug)]
pub struct IdempotencyStore {
    inner: Mutex<Inner>,
    config: IdempotencyConfig,
    /// SipHash with a per-process random key, for keys and fingerprints:
    /// clients choose both, and must not be able to make them collide.
    hasher: RandomState,
}

/// The right to execute a keyed request and the duty to report its outcome.
/// Dropped without [`complete`](Ticket::complete) (the request was cancelled),
/// it releases the key and tells waiters to retry.
#[derive(Debug)]
pub struct Ticket {
    store: Arc<IdempotencyStore>,
    entry: Option<Handle>,
}

impl IdempotencyStore {
    pub fn new(config: IdempotencyConfig) -> Arc<Self> {
        Arc::new(IdempotencyStore {
            inner: Mutex::new(Inner::default()),
            config,
            hasher: Default::default(),
        })
    }

    pub fn config(&self) -> IdempotencyConfig {
        self.config
    }

    /// A 64-bit fingerprint of a request: method and body, with a per-process
    /// random key (SipHash), so clients cannot craft collisions.
    pub fn fingerprint(&self, method: &str, body: &[u8]) -> u64 {
        let mut hasher = self.hasher.build_hasher();
        hasher.write(method.as_bytes());
        hasher.write_u8(0);
        hasher.write(body);
        hasher.finish()
    }

    /// Where a session's key is filed.
    fn hash(&self, session: &str, key: &str) -> u64 {
        self.hasher.hash_one((session, key))
    }

    /// Registers the arrival of a request carrying `key`.
    pub fn begin(
        self: &Arc<Self>,
        session: &Arc<str>,
        key: &str,
        method: &str,
        fingerprint: u64,
        now: Instant,
    ) -> Begin {
        let hash = self.hash(session, key);
        let mut inner = self.inner.lock().unwrap();
        inner.expire(now);
        if let Some(entry) = inner.entries.find_mut(hash, |e| e.is(session, key)) {
            if &*entry.method != method || entry.fingerprint != fingerprint {
                return Begin::Mismatch {
                    method: entry.method.clone(),
                };
            }
            return match &mut entry.state {
                State::InFlight(waiters) => Begin::Wait(match waiters {
                    Some(sender) => sender.subscribe(),
                    None => {
                        let (sender, receiver) = watch::channel(Pending::Running);
                        *waiters = Some(sender);
                        receiver
                    }
                }),
                State::Done { reply, expires, .. } => Begin::Replay {
                    reply: reply.clone(),
                    expires: *expires,
                },
            };
        }
        while inner.entries.len() >= self.config.max_keys {
            if !inner.evict_oldest() {
                return Begin::Full;
            }
        }
        let handle = Handle {
            hash,
            id: inner.next_id,
        };
        inner.next_id += 1;
        *inner.per_session.entry(session.clone()).or_default() += 1;
        let entry = Entry {
            hash,
            id: handle.id,
            session: session.clone(),
            key: key.into(),
            method: method.into(),
            fingerprint,
            state: State::InFlight(None),
        };
        inner.entries.insert_unique(hash, entry, |e| e.hash);
        Begin::Execute(Ticket {
            store: self.clone(),
            entry: Some(handle),
        })
    }

    /// How much longer the outcome stored for `key` is kept: `None` if the
    /// key holds no outcome (never seen, still running, expired, or an
    /// outcome that was not stored). The layer sends it to the client, which
    /// must retry within this time for the retry to be a replay.
    ///
    /// [`begin`](Self::begin) (a replay) and [`Ticket::complete`] already
    /// answer this with their result; this look-up is for the other cases.
    pub fn time_left(&self, session: &str, key: &str, now: Instant) -> Option<Duration> {
        let hash = self.hash(session, key);
        let inner = self.inner.lock().unwrap();
        match &inner.entries.find(hash, |e| e.is(session, key))?.state {
            State::Done { expires, .. } => time_left(*expires, now),
            State::InFlight(_) => None,
        }
    }

    /// Entries held for `session` (completed or in flight).
    pub fn session_len(&self, session: &str) -> usize {
        self.inner
            .lock()
            .unwrap()
            .per_session
            .get(session)
            .copied()
            .unwrap_or(0)
    }

    /// Entries held on the whole server.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes accounted to completed entries.
    pub fn bytes(&self) -> usize {
        self.inner.lock().unwrap().bytes
    }

    /// Forgets every key of a session (when it is reset or evicted).
    pub fn forget_session(&self, session: &str) {
        let mut inner = self.inner.lock().unwrap();
        let Inner {
            entries,
            bytes,
            per_session,
            ..
        } = &mut *inner;
        entries.retain(|entry| {
            if &*entry.session != session {
                return true;
            }
            match &entry.state {
                State::Done { bytes: size, .. } => *bytes -= size,
                State::InFlight(_) => entry.state.tell_waiters(Pending::Abandoned),
            }
            false
        });
        per_session.remove(session);
    }
}

impl Inner {
    /// Drops completed entries whose time is up.
    fn expire(&mut self, now: Instant) {
        while let Some((_, expires)) = self.completed.front() {
            if *expires > now {
                break;
            }
            self.pop_oldest();
        }
    }

    /// Forgets the oldest completed entry; false if there is none.
    fn evict_oldest(&mut self) -> bool {
        while !self.completed.is_empty() {
            if self.pop_oldest() {
                return true;
            }
        }
        false
    }

    /// Pops the front of `completed`, removing its entry if it is still
    /// there (a reset may have removed it). True if removed.
    fn pop_oldest(&mut self) -> bool {
        let Some((handle, _)) = self.completed.pop_front() else {
            return false;
        };
        let Some(entry) = self.remove(handle) else {
            return false;
        };
        if let State::Done { bytes, .. } = entry.state {
            self.bytes -= bytes;
        }
        true
    }

    /// Takes an entry out of the store.
    fn remove(&mut self, handle: Handle) -> Option<Entry> {
        let found = self.entries.find_entry(handle.hash, |e| e.id == handle.id);
        let (entry, _) = found.ok()?.remove();
        self.release_session_slot(&entry.session);
        Some(entry)
    }

    fn release_session_slot(&mut self, session: &Arc<str>) {
        if let Some(count) = self.per_session.get_mut(session) {
            *count -= 1;
            if *count == 0 {
                self.per_session.remove(session);
            }
        }
    }
}

impl Ticket {
    /// Reports the outcome: `Some(reply)` is stored and replayed from now on;
    /// `None` (an outcome that must not be stored) frees the key so that a
    /// retry executes.
    ///
    /// Returns when the stored outcome expires, or `None` if nothing was
    /// stored (an unstorable outcome, a session reset meanwhile, or a reply
    /// too large for the store's memory bound).
    pub fn complete(mut self, reply: Option<Arc<StoredReply>>, now: Instant) -> Option<Instant> {
        let handle = self.entry.take()?;
        let store = self.store.clone();
        let mut inner = store.inner.lock().unwrap();
        let Some(reply) = reply else {
            inner.abandon(handle);
            return None;
        };
        let found = inner.entries.find_mut(handle.hash, |e| e.id == handle.id);
        let Some(entry) = found else {
            return None; // the session was reset meanwhile
        };
        let bytes = entry.key.len() + reply.size() + ENTRY_OVERHEAD_BYTES;
        let expires = now + store.config.ttl;
        let previous = std::mem::replace(
            &mut entry.state,
            State::Done {
                reply: reply.clone(),
                bytes,
                expires,
            },
        );
        previous.tell_waiters(Pending::Done(reply));
        inner.bytes += bytes;
        inner.completed.push_back((handle, expires));
        while inner.bytes > store.config.max_bytes && inner.evict_oldest() {}
        // Eviction goes oldest first, so this outcome is still stored unless
        // eviction had to take everything, this one last.
        let kept = inner
            .completed
            .back()
            .is_some_and(|(last, _)| *last == handle);
        kept.then_some(expires)
    }
}

/// The time from `now` until `expires`, if that is still ahead.
pub fn time_left(expires: Instant, now: Instant) -> Option<Duration> {
    (expires > now).then(|| expires - now)
}

impl Inner {
    /// Forgets a request that ended without a storable outcome.
    fn abandon(&mut self, handle: Handle) {
        if let Some(entry) = self.remove(handle) {
            entry.state.tell_waiters(Pending::Abandoned);
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(handle) = self.entry.take() {
            self.store.inner.lock().unwrap().abandon(handle);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WITHDRAW: &str = "/calculator.v1.Account/Withdraw";

    fn reply(body: &'static [u8]) -> Arc<StoredReply> {
        Arc::new(StoredReply {
            status: http::StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from_static(body),
            trailers: None,
        })
    }

    fn config(max_keys: usize) -> IdempotencyConfig {
        IdempotencyConfig {
            ttl: Duration::from_secs(60),
            max_keys,
            max_bytes: usize::MAX,
        }
    }

    fn execute(begin: Begin) -> Ticket {
        match begin {
            Begin::Execute(ticket) => ticket,
            other => panic!("expected Execute, got {other:?}"),
        }
    }

    #[test]
    fn first_executes_then_repeats_replay() {
        let store = IdempotencyStore::new(config(10));
        let s: Arc<str> = "s".into();
        let now = Instant::now();
        let fp = store.fingerprint(WITHDRAW, b"body");
        execute(store.begin(&s, "k", WITHDRAW, fp, now)).complete(Some(reply(b"ok")), now);
        for _ in 0..3 {
            match store.begin(&s, "k", WITHDRAW, fp, now) {
                Begin::Replay { reply, .. } => assert_eq!(reply.body, Bytes::from_static(b"ok")),
                other => panic!("expected a replay, got {other:?}"),
            }
        }
        assert_eq!(store.session_len("s"), 1);
    }

    #[test]
    fn reuse_with_another_method_or_body_is_refused() {
        let store = IdempotencyStore::new(config(10));
        let s: Arc<str> = "s".into();
        let now = Instant::now();
        let fp = store.fingerprint(WITHDRAW, b"100");
        execute(store.begin(&s, "k", WITHDRAW, fp, now)).complete(Some(reply(b"ok")), now);
        let other_body = store.fingerprint(WITHDRAW, b"200");
        assert!(matches!(
            store.begin(&s, "k", WITHDRAW, other_body, now),
            Begin::Mismatch { .. }
        ));
        let deposit = "/calculator.v1.Account/Deposit";
        assert!(matches!(
            store.begin(&s, "k", deposit, store.fingerprint(deposit, b"100"), now),
            Begin::Mismatch { .. }
        ));
    }

    #[test]
    fn keys_belong_to_their_session() {
        let store = IdempotencyStore::new(config(10));
        let now = Instant::now();
        let fp = store.fingerprint(WITHDRAW, b"x");
        execute(store.begin(&"a".into(), "k", WITHDRAW, fp, now)).complete(Some(reply(b"a")), now);
        assert!(matches!(
            store.begin(&"b".into(), "k", WITHDRAW, fp, now),
            Begin::Execute(_)
        ));
    }

    #[test]
    fn a_duplicate_in_flight_waits_for_the_first_outcome() {
        let store = IdempotencyStore::new(config(10));
        let s: Arc<str> = "s".into();
        let now = Instant::now();
        let ticket = execute(store.begin(&s, "k", WITHDRAW, 1, now));
        let Begin::Wait(waiter) = store.begin(&s, "k", WITHDRAW, 1, now) else {
            panic!("expected Wait")
        };
        assert!(matches!(*waiter.borrow(), Pending::Running));
        ticket.complete(Some(reply(b"first")), now);
        assert!(matches!(&*waiter.borrow(), Pending::Done(r) if r.body == "first"));
    }

    /// The channel is made when the first duplicate arrives; a second
    /// duplicate listens on the same one.
    #[test]
    fn every_duplicate_in_flight_hears_the_outcome() {
        let store = IdempotencyStore::new(config(10));
        let s: Arc<str> = "s".into();
        let now = Instant::now();
        let ticket = execute(store.begin(&s, "k", WITHDRAW, 1, now));
        let waiters: Vec<_> = (0..2)
            .map(|_| match store.begin(&s, "k", WITHDRAW, 1, now) {
                Begin::Wait(waiter) => waiter,
                other => panic!("expected Wait, got {other:?}"),
            })
            .collect();
        ticket.complete(Some(reply(b"first")), now);
        for waiter in waiters {
            assert!(matches!(&*waiter.borrow(), Pending::Done(r) if r.body == "first"));
        }
    }

    /// `complete` says until when the outcome is kept, so the layer can tell
    /// the client without asking again; and `None` when it is not kept.
    #[test]
    fn completing_says_until_when_the_outcome_is_kept() {
        let store = IdempotencyStore::new(config(10));
        let s: Arc<str> = "s".into();
        let now = Instant::now();
        let kept =
            execute(store.begin(&s, "k", WITHDRAW, 1, now)).complete(Some(reply(b"ok")), now);
        assert_eq!(kept, Some(now + Duration::from_secs(60)));
        let lost = execute(store.begin(&s, "lost", WITHDRAW, 1, now)).complete(None, now);
        assert_eq!(lost, None, "not storable");

        // A reply larger than the whole store is stored and at once evicted.
        let tiny = IdempotencyStore::new(IdempotencyConfig {
            max_bytes: ENTRY_OVERHEAD_BYTES,
            ..config(10)
        });
        let big =
            execute(tiny.begin(&s, "big", WITHDRAW, 1, now)).complete(Some(reply(b"ok")), now);
        assert_eq!((big, tiny.len()), (None, 0));
    }

    /// A reset session's key used again is a new entry. The expiry queue
    /// still holds the old entry's record, which must not take the new
    /// outcome with it when its time comes.
    #[test]
    fn an_old_expiry_record_leaves_a_new_outcome_for_the_same_key_alone() {
        let store = IdempotencyStore::new(config(10));
        let s: Arc<str> = "s".into();
        let t0 = Instant::now();
        execute(store.begin(&s, "k", WITHDRAW, 1, t0)).complete(Some(reply(b"old")), t0);
        store.forget_session("s");
        let t1 = t0 + Duration::from_secs(30);
        execute(store.begin(&s, "k", WITHDRAW, 1, t1)).complete(Some(reply(b"new")), t1);
        // The old record's time is up; the new outcome's is not.
        match store.begin(&s, "k", WITHDRAW, 1, t0 + Duration::from_secs(61)) {
            Begin::Replay { reply, expires } => {
                assert_eq!(reply.body, "new");
                assert_eq!(expires, t1 + Duration::from_secs(60));
            }
            other => panic!("expected a replay of the new outcome, got {other:?}"),
        }
        assert_eq!((store.len(), store.session_len("s")), (1, 1));
    }

    #[test]
    fn unstorable_outcomes_and_cancelled_requests_free_the_key() {
        let store = IdempotencyStore::new(config(10));
        let s: Arc<str> = "s".into();
        let now = Instant::now();
        let ticket = execute(store.begin(&s, "k", WITHDRAW, 1, now));
        let Begin::Wait(waiter) = store.begin(&s, "k", WITHDRAW, 1, now) else {
            panic!()
        };
        ticket.complete(None, now);
        assert!(matches!(*waiter.borrow(), Pending::Abandoned));
        // Cancelled: the ticket is dropped without a word.
        drop(execute(store.begin(&s, "k", WITHDRAW, 1, now)));
        assert!(matches!(
            store.begin(&s, "k", WITHDRAW, 1, now),
            Begin::Execute(_)
        ));
        assert_eq!(
            store.session_len("s"),
            0,
            "the dropped ticket released its slot"
        );
    }

    #[test]
    fn outcomes_expire_after_the_ttl() {
        let store = IdempotencyStore::new(config(10));
        let s: Arc<str> = "s".into();
        let t0 = Instant::now();
        execute(store.begin(&s, "k", WITHDRAW, 1, t0)).complete(Some(reply(b"ok")), t0);
        assert!(matches!(
            store.begin(&s, "k", WITHDRAW, 1, t0 + Duration::from_secs(59)),
            Begin::Replay { .. }
        ));
        assert!(matches!(
            store.begin(&s, "k", WITHDRAW, 1, t0 + Duration::from_secs(60)),
            Begin::Execute(_)
        ));
    }

    /// The time a client has left to retry: the whole TTL when the outcome
    /// is stored, counting down, and nothing for a key that holds no outcome.
    #[test]
    fn time_left_counts_down_from_the_ttl() {
        let store = IdempotencyStore::new(config(10));
        let s: Arc<str> = "s".into();
        let t0 = Instant::now();
        let ticket = execute(store.begin(&s, "k", WITHDRAW, 1, t0));
        assert_eq!(store.time_left("s", "k", t0), None, "still running");
        ticket.complete(Some(reply(b"ok")), t0);
        assert_eq!(store.time_left("s", "k", t0), Some(Duration::from_secs(60)));
        let later = t0 + Duration::from_secs(45);
        assert_eq!(
            store.time_left("s", "k", later),
            Some(Duration::from_secs(15))
        );
        assert_eq!(
            store.time_left("s", "k", t0 + Duration::from_secs(60)),
            None
        );
        assert_eq!(store.time_left("other", "k", t0), None, "another session");
        execute(store.begin(&s, "lost", WITHDRAW, 1, t0)).complete(None, t0);
        assert_eq!(store.time_left("s", "lost", t0), None, "not stored");
    }

    #[test]
    fn when_full_the_oldest_completed_outcome_goes_first() {
        let store = IdempotencyStore::new(config(2));
        let s: Arc<str> = "s".into();
        let now = Instant::now();
        execute(store.begin(&s, "old", WITHDRAW, 1, now)).complete(Some(reply(b"1")), now);
        execute(store.begin(&s, "new", WITHDRAW, 1, now)).complete(Some(reply(b"2")), now);
        execute(store.begin(&s, "third", WITHDRAW, 1, now)).complete(Some(reply(b"3")), now);
        assert_eq!(store.len(), 2);
        assert!(matches!(
            store.begin(&s, "new", WITHDRAW, 1, now),
            Begin::Replay { .. }
        ));
        assert!(
            matches!(store.begin(&s, "old", WITHDRAW, 1, now), Begin::Execute(_)),
            "evicted"
        );
    }

    #[test]
    fn requests_in_flight_are_never_evicted() {
        let store = IdempotencyStore::new(config(1));
        let s: Arc<str> = "s".into();
        let now = Instant::now();
        let _running = execute(store.begin(&s, "a", WITHDRAW, 1, now));
        assert!(matches!(
            store.begin(&s, "b", WITHDRAW, 1, now),
            Begin::Full
        ));
    }

    #[test]
    fn bytes_are_bounded() {
        let store = IdempotencyStore::new(IdempotencyConfig {
            ttl: Duration::from_secs(60),
            max_keys: 1_000,
            max_bytes: 3 * (ENTRY_OVERHEAD_BYTES + 100),
        });
        let s: Arc<str> = "s".into();
        let now = Instant::now();
        for i in 0..50 {
            let body = Bytes::from(vec![0u8; 90]);
            let r = Arc::new(StoredReply {
                status: http::StatusCode::OK,
                headers: HeaderMap::new(),
                body,
                trailers: None,
            });
            execute(store.begin(&s, &format!("k{i}"), WITHDRAW, 1, now)).complete(Some(r), now);
            assert!(store.bytes() <= store.config().max_bytes);
        }
        assert!(store.len() <= 3);
    }

    #[test]
    fn forgetting_a_session_removes_its_keys_only() {
        let store = IdempotencyStore::new(config(10));
        let now = Instant::now();
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        execute(store.begin(&a, "k", WITHDRAW, 1, now)).complete(Some(reply(b"a")), now);
        execute(store.begin(&b, "k", WITHDRAW, 1, now)).complete(Some(reply(b"b")), now);
        store.forget_session("a");
        assert_eq!((store.session_len("a"), store.session_len("b")), (0, 1));
        let b_bytes = "k".len() + reply(b"b").size() + ENTRY_OVERHEAD_BYTES;
        assert_eq!(store.bytes(), b_bytes, "a's bytes were released, b's kept");
        assert!(matches!(
            store.begin(&a, "k", WITHDRAW, 1, now),
            Begin::Execute(_)
        ));
    }
}
