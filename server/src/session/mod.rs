//! Lab sessions: each student (each browser tab) gets its own world.
//!
//! A session is named by the request header `x-lab-session` and holds that
//! student's key-value store, accounts, counters and random stream. Without
//! the header, requests share the session `default` (what a grpcurl or
//! Python client gets unless it sets the header).
//!
//! The number of sessions is bounded (`--max-sessions`); when a new one is
//! needed and the table is full, the session used least recently is dropped.
//! A teaching server forgets an idle student's data rather than run out of
//! memory.

pub mod layer;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rpc_lab::headers::LAB_SESSION;
use tonic::Status;

use crate::capacity::state::SessionCapacity;
use crate::random::{self, SeededRng};
use crate::request_log::RequestLog;
use crate::rules::key_value::{KeyValueStore, StoreLimits};
use crate::rules::ledger::Ledger;
use crate::shop::tier::PaymentTier;

/// The session of requests that name none.
pub const DEFAULT_SESSION: &str = "default";
/// The longest session name.
pub const MAX_SESSION_NAME: usize = 64;

/// Checks a session name: 1 to 64 characters of `A-Z a-z 0-9 . _ -`.
pub fn parse_name(raw: &[u8]) -> Result<&str, Status> {
    let valid = !raw.is_empty()
        && raw.len() <= MAX_SESSION_NAME
        && raw
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b));
    match std::str::from_utf8(raw) {
        Ok(name) if valid => Ok(name),
        _ => Err(Status::invalid_argument(format!(
            "{LAB_SESSION} must be 1 to {MAX_SESSION_NAME} characters of A-Z, a-z, 0-9, '.', '_' or '-'"
        ))),
    }
}

/// What a session's counters say (a snapshot).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatsSnapshot {
    pub executions: HashMap<String, u64>,
    pub replays: u64,
    pub key_reuse_rejected: u64,
    pub faults_fail: u64,
    pub faults_drop: u64,
    pub faults_delay: u64,
}

/// The server's truth about one session: what really ran.
#[derive(Debug, Default)]
pub struct Stats {
    executions: Mutex<HashMap<String, u64>>,
    pub replays: AtomicU64,
    pub key_reuse_rejected: AtomicU64,
    pub faults_fail: AtomicU64,
    pub faults_drop: AtomicU64,
    pub faults_delay: AtomicU64,
}

impl Stats {
    /// Counts one execution of `method` (a full path like `/calculator.v1.Account/Withdraw`).
    pub fn executed(&self, method: &str) {
        let mut executions = self.executions.lock().unwrap();
        match executions.get_mut(method) {
            Some(count) => *count += 1,
            None => {
                executions.insert(method.to_owned(), 1);
            }
        }
    }

    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            executions: self.executions.lock().unwrap().clone(),
            replays: self.replays.load(Ordering::Relaxed),
            key_reuse_rejected: self.key_reuse_rejected.load(Ordering::Relaxed),
            faults_fail: self.faults_fail.load(Ordering::Relaxed),
            faults_drop: self.faults_drop.load(Ordering::Relaxed),
            faults_delay: self.faults_delay.load(Ordering::Relaxed),
        }
    }
}

/// The state the services change.
#[derive(Debug)]
pub struct SessionData {
    pub store: KeyValueStore,
    pub ledger: Ledger,
}

/// One student's world.
#[derive(Debug)]
pub struct Session {
    pub name: Arc<str>,
    /// A std Mutex, not a Tokio one: nothing awaits while it is held, and each
    /// operation is a few map lookups. Holding it for the whole operation is
    /// what makes each operation all-or-nothing.
    pub data: Mutex<SessionData>,
    pub stats: Stats,
    pub rng: Mutex<SeededRng>,
    /// How much work the server does for this session at once (none set:
    /// no limit). Set with `Lab/SetCapacity`.
    pub capacity: SessionCapacity,
    /// The payment tier behind `shop.v1.Shop/Checkout`: its own capacity
    /// and the front tier's client of it (`crate::shop`).
    pub payment: Arc<PaymentTier>,
    /// The server's record of the session's requests (`Lab/WatchRequests`).
    /// Kept across `Lab/ResetSession`: it records what reached the server,
    /// not the session's state.
    pub requests: Arc<RequestLog>,
    last_used: AtomicU64,
}

/// Limits and seed that every new session starts with.
#[derive(Clone, Copy, Debug)]
pub struct SessionSettings {
    pub max_sessions: usize,
    pub store: StoreLimits,
    pub seed: u64,
    /// Records each session's request log keeps (`--request-log-capacity`).
    pub request_log_capacity: usize,
}

impl Session {
    /// A fresh session; `requests`: the log of the session it replaces, if
    /// any (a reset), else a new one.
    fn new(
        name: &str,
        settings: &SessionSettings,
        seed: Option<u64>,
        requests: Option<Arc<RequestLog>>,
    ) -> Self {
        Session {
            name: Arc::from(name),
            data: Mutex::new(SessionData {
                store: KeyValueStore::new(settings.store),
                ledger: Ledger::new(settings.store.max_keys),
            }),
            stats: Stats::default(),
            rng: Mutex::new(match seed {
                Some(seed) => SeededRng::new(seed),
                None => random::for_session(settings.seed, name),
            }),
            capacity: SessionCapacity::default(),
            payment: Arc::default(),
            requests: requests
                .unwrap_or_else(|| Arc::new(RequestLog::new(settings.request_log_capacity))),
            last_used: AtomicU64::new(0),
        }
    }
}

/// All sessions of the server.
#[derive(Debug)]
pub struct Sessions {
    table: Mutex<HashMap<Arc<str>, Arc<Session>>>,
    clock: AtomicU64,
    settings: SessionSettings,
}

impl Sessions {
    pub fn new(settings: SessionSettings) -> Self {
        Sessions {
            table: Mutex::new(HashMap::new()),
            clock: AtomicU64::new(0),
            settings,
        }
    }

    /// The session called `name`, created if new. Returns the sessions that
    /// had to be evicted to make room (so their idempotency keys can go too).
    pub fn get(&self, name: &str) -> (Arc<Session>, Option<Arc<str>>) {
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut table = self.table.lock().unwrap();
        if let Some(session) = table.get(name) {
            session.last_used.store(tick, Ordering::Relaxed);
            return (session.clone(), None);
        }
        let mut evicted = None;
        if table.len() >= self.settings.max_sessions.max(1) {
            // O(n) scan: sessions are few (hundreds) and new ones are rare.
            let oldest = table
                .iter()
                .min_by_key(|(_, s)| s.last_used.load(Ordering::Relaxed))
                .map(|(name, _)| name.clone());
            if let Some(oldest) = oldest {
                if let Some(forgotten) = table.remove(&oldest) {
                    // No queue outlives its session.
                    forgotten.capacity.close();
                    forgotten.payment.close();
                }
                tracing::info!(session = %oldest, "session table full: forgot the least recently used session");
                evicted = Some(oldest);
            }
        }
        let session = Arc::new(Session::new(name, &self.settings, None, None));
        session.last_used.store(tick, Ordering::Relaxed);
        table.insert(session.name.clone(), session.clone());
        (session, evicted)
    }

    /// Replaces the session with a fresh one (new data, counters and random
    /// stream: from `seed` if given, else from the server's seed and the
    /// name). Requests already holding the old one finish on it. The request
    /// log carries over, so its watchers see what comes after the reset.
    pub fn reset(&self, name: &str, seed: Option<u64>) -> Arc<Session> {
        let mut table = self.table.lock().unwrap();
        let requests = table.get(name).map(|old| old.requests.clone());
        let session = Arc::new(Session::new(name, &self.settings, seed, requests));
        let replaced = table.insert(session.name.clone(), session.clone());
        drop(table);
        if let Some(replaced) = replaced {
            // Its waiting requests are let go rather than left queued.
            replaced.capacity.close();
            replaced.payment.close();
        }
        session
    }

    /// Lets every request waiting in a session's queue go (the server is
    /// stopping): see [`SessionCapacity::close`].
    pub fn close_capacities(&self) {
        for session in self.table.lock().unwrap().values() {
            session.capacity.close();
            session.payment.close();
        }
    }

    pub fn len(&self) -> usize {
        self.table.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::RandomSource;

    fn sessions(max_sessions: usize) -> Sessions {
        Sessions::new(SessionSettings {
            max_sessions,
            store: StoreLimits::default(),
            seed: 1,
            request_log_capacity: 10,
        })
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(parse_name(b"tab-1.a_b").unwrap(), "tab-1.a_b");
        for bad in [&b""[..], b"has space", b"\xff", &[b'a'; 65]] {
            let error = parse_name(bad).unwrap_err();
            assert_eq!(error.code(), tonic::Code::InvalidArgument);
            assert!(error.message().contains("x-lab-session"));
        }
    }

    #[test]
    fn each_name_has_its_own_world() {
        let all = sessions(10);
        let (a, _) = all.get("a");
        let (b, _) = all.get("b");
        a.data.lock().unwrap().ledger.deposit("acct", 5).unwrap();
        assert_eq!(b.data.lock().unwrap().ledger.balance("acct").unwrap(), 0);
        assert!(
            Arc::ptr_eq(&a, &all.get("a").0),
            "the same name is the same session"
        );
    }

    #[test]
    fn the_least_recently_used_session_makes_room() {
        let all = sessions(2);
        all.get("a");
        all.get("b");
        all.get("a"); // a is now more recent than b
        let (_, evicted) = all.get("c");
        assert_eq!(evicted.as_deref(), Some("b"));
        assert_eq!(all.len(), 2);
    }

    #[test]
    fn reset_starts_over_with_the_same_random_stream() {
        let all = sessions(10);
        let (s, _) = all.get("a");
        let first = s.rng.lock().unwrap().next_u64();
        s.stats.executed("/m");
        let fresh = all.reset("a", None);
        assert_eq!(fresh.rng.lock().unwrap().next_u64(), first);
        assert!(fresh.stats.snapshot().executions.is_empty());
        assert!(
            Arc::ptr_eq(&fresh.requests, &s.requests),
            "the record of what reached the server survives a reset"
        );
    }
}
