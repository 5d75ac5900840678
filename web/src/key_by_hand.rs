//! An idempotency key, sent by hand: what the server does with a key.
//!
//! The lab's caller sends keys for the student, one per logical call, and the
//! plots show the result. This is the same mechanism taken apart: one key,
//! shown, and buttons that send it — once, again, several copies at the same
//! moment, or with a changed amount. Each reply is read for what the *server*
//! says it did:
//!
//! - **executed**: the handler ran (a reply without `idempotent-replayed`);
//! - **replayed**: the stored outcome came back (`idempotent-replayed: true`),
//!   nothing ran;
//! - **refused**: the key was already bound to another request
//!   (`FAILED_PRECONDITION`, in the server's own words), nothing ran;
//!
//! and how long the server still keeps the key's outcome
//! (`idempotency-key-expires-in-ms`): a retry after that executes again.
//!
//! This module is the pure half — which requests an action sends, how a
//! reply is read, the state the reducer keeps — tested natively. The
//! component (`components/key_by_hand.rs`) sends the requests.

use std::rc::Rc;

use rpc_lab::headers::{
    FAULT_INJECTED, IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_EXPIRES_IN_MS, IDEMPOTENT_REPLAYED,
};
use rpc_lab::number_format::shortest;
use rpc_lab::proto::calculator_v1::LabStats;
use rpc_lab::resilience::IdempotencyKey;
use rpc_lab::status::code_name;
use tonic::Code;
use tonic::metadata::MetadataMap;
use yew::Reducible;

use crate::operations::{Call, LabOperation, cents_to_dollars};

/// The most copies sent at once: enough to see the store make them wait,
/// few enough to stay inside a browser's connection limits.
pub const MAX_COPIES: u32 = 20;
/// Results kept on screen, newest first.
const KEPT: usize = 6;

/// What a button asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The request in the form, with this key.
    Send,
    /// The request the key was first sent with, again.
    Again,
    /// That request, this many times at the same moment.
    Copies(u32),
    /// That request with the amount changed, under the same key.
    Changed,
}

impl Action {
    /// `data-action`.
    pub fn slug(self) -> &'static str {
        match self {
            Action::Send => "send",
            Action::Again => "again",
            Action::Copies(_) => "copies",
            Action::Changed => "changed",
        }
    }

    pub fn describe(self) -> String {
        match self {
            Action::Send => "Sent with this key".into(),
            Action::Again => "Sent again with the same key".into(),
            Action::Copies(n) => format!("{n} copies at once"),
            Action::Changed => "Same key, changed amount".into(),
        }
    }
}

/// The requests `action` sends: `bound` is the request the key was first
/// sent with, `form` the one the inputs describe now. A key belongs to one
/// request, so after the first send only `Changed` sends anything else.
pub fn requests(action: Action, bound: Option<&Call>, form: &Call) -> Result<Vec<Call>, String> {
    let first = bound.unwrap_or(form);
    match action {
        Action::Send => Ok(vec![first.clone()]),
        Action::Copies(n) => Ok(vec![first.clone(); n.clamp(1, MAX_COPIES) as usize]),
        Action::Again | Action::Changed => {
            let Some(bound) = bound else {
                return Err(
                    "send with this key first: the key is not bound to any request yet".into(),
                );
            };
            Ok(vec![if action == Action::Changed {
                changed(bound)
            } else {
                bound.clone()
            }])
        }
    }
}

/// The same operation with a different amount (an account: $1.00 more; the
/// store: value + 1; the calculator: b + 1) — so its body differs and the
/// server's fingerprint of it does too.
pub fn changed(call: &Call) -> Call {
    match call.clone() {
        Call::Account {
            operation,
            account,
            cents,
        } => Call::Account {
            operation,
            account,
            cents: cents + 100,
        },
        Call::Store {
            operation,
            key,
            value,
        } => Call::Store {
            operation,
            key,
            value: value + 1.0,
        },
        Call::Arithmetic { operation, a, b } => Call::Arithmetic {
            operation,
            a,
            b: b + 1.0,
        },
    }
}

/// A request in words: "Withdraw $10.00 from alice".
pub fn describe(call: &Call) -> String {
    use LabOperation::*;
    match call {
        Call::Account {
            operation,
            account,
            cents,
        } => match operation {
            Deposit => format!("Deposit {} to {account}", cents_to_dollars(*cents)),
            Withdraw => format!("Withdraw {} from {account}", cents_to_dollars(*cents)),
            _ => format!("GetBalance of {account}"),
        },
        Call::Store {
            operation,
            key,
            value,
        } => match operation {
            GetValue | DeleteValue => format!("{operation} {key:?}"),
            _ => format!("{operation} {key:?} {}", shortest(*value)),
        },
        Call::Arithmetic { operation, a, b } => {
            format!("{operation}({}, {})", shortest(*a), shortest(*b))
        }
    }
}

/// What the server did with one request, as its reply says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerDid {
    /// The handler ran (its answer may be an error, such as too little money).
    Executed,
    /// The stored outcome was sent again; nothing ran.
    Replayed,
    /// The key was bound to another request; nothing ran.
    RefusedKeyReuse,
    /// Refused before running: an injected failure, or a copy whose first
    /// request did not complete (`ABORTED`).
    NotExecuted,
    /// The reply does not say (the server unreachable, an internal error).
    Unknown,
}

impl ServerDid {
    /// `data-outcome`.
    pub fn slug(self) -> &'static str {
        match self {
            ServerDid::Executed => "executed",
            ServerDid::Replayed => "replayed",
            ServerDid::RefusedKeyReuse => "key-reused",
            ServerDid::NotExecuted => "not-executed",
            ServerDid::Unknown => "unknown",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            ServerDid::Executed => "executed",
            ServerDid::Replayed => "replayed from the store, not executed",
            ServerDid::RefusedKeyReuse => "refused: key reused for another request",
            ServerDid::NotExecuted => "not executed",
            ServerDid::Unknown => "unknown whether it ran",
        }
    }
}

/// One reply, read.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplySeen {
    pub did: ServerDid,
    /// The server executed or replayed, then dropped the reply (`x-fault-injected: drop`).
    pub lost: bool,
    /// `None` for OK.
    pub code: Option<Code>,
    /// The answer ("balance $110.00") or the server's message.
    pub text: String,
    /// How long the server still keeps the key's outcome, in milliseconds.
    pub ttl_ms: Option<u64>,
}

/// The response headers this module reads, from a reply's metadata.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Marks {
    pub replayed: bool,
    pub fault: Option<String>,
    pub ttl_ms: Option<u64>,
}

impl Marks {
    pub fn from_metadata(metadata: &MetadataMap) -> Self {
        let text = |name| metadata.get(name).and_then(|v| v.to_str().ok());
        Marks {
            replayed: text(IDEMPOTENT_REPLAYED) == Some("true"),
            fault: text(FAULT_INJECTED).map(str::to_owned),
            ttl_ms: text(IDEMPOTENCY_KEY_EXPIRES_IN_MS).and_then(|ms| ms.parse().ok()),
        }
    }
}

/// Reads a reply: `Ok(answer)` or `Err((code, message))`, with its headers.
///
/// The order matters. A replay says so whatever its status. An injected
/// fault says what it did. A refusal for key reuse is the one
/// `FAILED_PRECONDITION` whose message names the key (the contract's other
/// `FAILED_PRECONDITION`, too little money, is an execution). Any other
/// answer from the handler is an execution — for an error that is certain
/// only when the server stored it, which the time-to-live header shows.
pub fn read_reply(result: Result<String, (Code, String)>, marks: Marks) -> ReplySeen {
    let lost = marks.fault.as_deref() == Some("drop");
    let (code, text) = match result {
        Ok(answer) => (None, answer),
        Err((code, message)) => (Some(code), message),
    };
    let did = if marks.replayed {
        ServerDid::Replayed
    } else if lost {
        ServerDid::Executed
    } else if marks.fault.as_deref() == Some("fail") || code == Some(Code::Aborted) {
        ServerDid::NotExecuted
    } else if code == Some(Code::FailedPrecondition) && text.contains(IDEMPOTENCY_KEY) {
        ServerDid::RefusedKeyReuse
    } else if code.is_none() || marks.ttl_ms.is_some() {
        ServerDid::Executed
    } else {
        ServerDid::Unknown
    };
    ReplySeen {
        did,
        lost,
        code,
        text,
        ttl_ms: marks.ttl_ms,
    }
}

impl ReplySeen {
    /// "OK" or the code's name.
    pub fn code_name(&self) -> &'static str {
        self.code.map_or("OK", code_name)
    }
}

/// The server's counters (`Lab/GetStats`) since the session's last reset,
/// as one read saw them. They count every client's requests in the session,
/// the page's own reads of the truth included (GetStats does not count those
/// apart; only the request log marks them), and they have different scopes:
/// `executions` is the operation's own, while the server keeps `replays` and
/// `key_reuse_refused` for all operations together — so the page names the
/// scope of each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerCounts {
    /// This operation's executions.
    pub executions: u64,
    /// Replays from the idempotency store, of every operation.
    pub replays: u64,
    /// Requests refused for reusing a key, of every operation.
    pub key_reuse_refused: u64,
}

impl ServerCounts {
    pub fn from_stats(stats: &LabStats, operation: LabOperation) -> Self {
        ServerCounts {
            executions: stats
                .executions
                .get(&operation.method())
                .copied()
                .unwrap_or(0),
            replays: stats.replays,
            key_reuse_refused: stats.key_reuse_rejected,
        }
    }
}

/// One button press and what came of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Sent {
    pub number: u32,
    pub action: Action,
    pub key: IdempotencyKey,
    pub request: String,
    pub replies: Vec<ReplySeen>,
    /// The operation's executions the server counted during the action:
    /// its own count, beside the replies' story.
    pub server_executed: Option<u64>,
    /// Sent before the session was reset: the server has forgotten the key
    /// and its outcome, so the time-to-live the replies gave no longer holds.
    pub forgotten: bool,
}

impl Sent {
    pub fn count(&self, did: ServerDid) -> usize {
        self.replies.iter().filter(|r| r.did == did).count()
    }

    /// The least time left among the replies: the newest word on the key;
    /// none once the session was reset and the server forgot the key.
    pub fn ttl_ms(&self) -> Option<u64> {
        if self.forgotten {
            return None;
        }
        self.replies.iter().filter_map(|r| r.ttl_ms).min()
    }
}

/// The group's state.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyByHand {
    /// The key the next button sends.
    pub key: IdempotencyKey,
    /// The request the key was first sent with.
    pub bound: Option<Call>,
    pub busy: bool,
    /// Newest first.
    pub sent: Vec<Sent>,
    pub server: Option<(LabOperation, ServerCounts)>,
    pub problem: Option<String>,
    next_number: u32,
}

/// What happens to the group.
#[derive(Clone, Debug)]
pub enum Msg {
    /// A button was pressed and its requests are going out; the first sent
    /// binds the key.
    Started { binds: Call },
    Finished {
        sent: Sent,
        server: Option<(LabOperation, ServerCounts)>,
    },
    /// Nothing could be sent, or the counters could not be read.
    Failed(String),
    /// A fresh key; the old one stays on the server until its TTL ends.
    NewKey(IdempotencyKey),
    /// The page reset the session (a lesson step, or a clean session): the
    /// server forgot every key and its counters restarted from zero.
    SessionReset,
    /// The server's counters, read again because the page did something
    /// (a run ended, the session was reset).
    Counted(Option<(LabOperation, ServerCounts)>),
}

impl KeyByHand {
    pub fn new(key: IdempotencyKey) -> Self {
        KeyByHand {
            key,
            bound: None,
            busy: false,
            sent: Vec::new(),
            server: None,
            problem: None,
            next_number: 1,
        }
    }

    /// The number the next result gets.
    pub fn next_number(&self) -> u32 {
        self.next_number
    }

    pub fn apply(&mut self, msg: Msg) {
        match msg {
            Msg::Started { binds } => {
                self.busy = true;
                self.problem = None;
                self.bound.get_or_insert(binds);
            }
            Msg::Finished { sent, server } => {
                self.busy = false;
                self.next_number = self.next_number.max(sent.number + 1);
                self.sent.insert(0, sent);
                self.sent.truncate(KEPT);
                if server.is_some() {
                    self.server = server;
                }
            }
            Msg::Failed(problem) => {
                self.busy = false;
                self.problem = Some(problem);
            }
            Msg::NewKey(key) => {
                self.key = key;
                self.bound = None;
                self.problem = None;
            }
            Msg::SessionReset => {
                // The key is free again on the server: the next request sent
                // with it binds it anew, as for a key never sent.
                self.bound = None;
                self.problem = None;
                for sent in &mut self.sent {
                    sent.forgotten = true;
                }
                // The old counters describe a session that is gone; none is
                // better than a wrong one until they are read again.
                self.server = None;
            }
            Msg::Counted(server) => {
                if server.is_some() {
                    self.server = server;
                }
            }
        }
    }
}

impl Reducible for KeyByHand {
    type Action = Msg;

    fn reduce(self: Rc<Self>, msg: Msg) -> Rc<Self> {
        let mut next = (*self).clone();
        next.apply(msg);
        Rc::new(next)
    }
}

/// Milliseconds as a student reads a time-to-live, rounded down so it never
/// claims more time than is left: "599.9 s", "9.0 s".
pub fn ttl_text(ms: u64) -> String {
    format!("{}.{} s", ms / 1000, ms % 1000 / 100)
}

#[cfg(test)]
mod tests {
    use rpc_lab::resilience::{KeySource, SeededKeys};

    use super::*;

    fn withdraw(cents: i64) -> Call {
        Call::Account {
            operation: LabOperation::Withdraw,
            account: "alice".into(),
            cents,
        }
    }

    fn marks(replayed: bool, fault: Option<&str>, ttl_ms: Option<u64>) -> Marks {
        Marks {
            replayed,
            fault: fault.map(str::to_owned),
            ttl_ms,
        }
    }

    #[test]
    fn a_key_stays_with_the_request_it_was_first_sent_with() {
        let first = withdraw(1_000);
        let form_now = withdraw(2_500);
        assert_eq!(
            requests(Action::Send, None, &first),
            Ok(vec![first.clone()])
        );
        // The form changed after the first send: "again" still sends the first request.
        assert_eq!(
            requests(Action::Again, Some(&first), &form_now),
            Ok(vec![first.clone()])
        );
        assert_eq!(
            requests(Action::Copies(5), Some(&first), &form_now),
            Ok(vec![first.clone(); 5])
        );
        assert_eq!(
            requests(Action::Changed, Some(&first), &form_now),
            Ok(vec![withdraw(1_100)])
        );
        assert!(requests(Action::Again, None, &first).is_err());
        assert!(requests(Action::Changed, None, &first).is_err());
        assert_eq!(
            requests(Action::Copies(500), None, &first).unwrap().len(),
            MAX_COPIES as usize
        );
    }

    #[test]
    fn a_changed_request_differs_in_its_body_only() {
        for call in [
            withdraw(500),
            Call::Store {
                operation: LabOperation::Increment,
                key: "k".into(),
                value: 1.0,
            },
            Call::Arithmetic {
                operation: LabOperation::Add,
                a: 1.0,
                b: 2.0,
            },
        ] {
            let other = changed(&call);
            assert_ne!(other, call);
            assert_eq!(other.operation(), call.operation());
        }
        assert_eq!(describe(&withdraw(1_000)), "Withdraw $10.00 from alice");
    }

    #[test]
    fn replies_say_what_the_server_did() {
        let ok = || Ok("balance $110.00".to_owned());
        let executed = read_reply(ok(), marks(false, None, Some(600_000)));
        assert_eq!((executed.did, executed.lost), (ServerDid::Executed, false));
        assert_eq!(executed.ttl_ms, Some(600_000));
        assert_eq!(
            read_reply(ok(), marks(true, None, Some(599_000))).did,
            ServerDid::Replayed
        );
        let refused = read_reply(
            Err((
                Code::FailedPrecondition,
                "idempotency-key \"k\" was already used with a different request body; use a new key for a new operation".into(),
            )),
            marks(false, None, Some(598_000)),
        );
        assert_eq!(refused.did, ServerDid::RefusedKeyReuse);
        assert_eq!(refused.code_name(), "FAILED_PRECONDITION");
        // Too little money: the handler ran and refused, and the outcome is stored.
        assert_eq!(
            read_reply(
                Err((Code::FailedPrecondition, "insufficient funds".into())),
                marks(false, None, Some(600_000))
            )
            .did,
            ServerDid::Executed
        );
        let lost = read_reply(
            Err((Code::Unavailable, "reply lost".into())),
            marks(false, Some("drop"), None),
        );
        assert_eq!((lost.did, lost.lost), (ServerDid::Executed, true));
        let lost_replay = read_reply(
            Err((Code::Unavailable, "reply lost".into())),
            marks(true, Some("drop"), None),
        );
        assert_eq!(
            (lost_replay.did, lost_replay.lost),
            (ServerDid::Replayed, true)
        );
        assert_eq!(
            read_reply(
                Err((Code::Unavailable, "refused".into())),
                marks(false, Some("fail"), None)
            )
            .did,
            ServerDid::NotExecuted
        );
        assert_eq!(
            read_reply(
                Err((Code::Unknown, "network".into())),
                marks(false, None, None)
            )
            .did,
            ServerDid::Unknown
        );
    }

    #[test]
    fn headers_are_read_off_the_metadata() {
        let mut metadata = MetadataMap::new();
        metadata.insert("idempotent-replayed", "true".parse().unwrap());
        metadata.insert("idempotency-key-expires-in-ms", "599123".parse().unwrap());
        assert_eq!(
            Marks::from_metadata(&metadata),
            marks(true, None, Some(599_123))
        );
        assert_eq!(Marks::from_metadata(&MetadataMap::new()), Marks::default());
    }

    #[test]
    fn the_reducer_binds_the_key_once_and_keeps_the_newest_results() {
        let mut keys = SeededKeys::new(1);
        let mut state = KeyByHand::new(keys.next_key());
        state.apply(Msg::Started {
            binds: withdraw(1_000),
        });
        assert!(state.busy);
        state.apply(Msg::Started {
            binds: withdraw(9_999),
        });
        assert_eq!(
            state.bound,
            Some(withdraw(1_000)),
            "the first request binds"
        );
        for number in 1..=8 {
            state.apply(Msg::Finished {
                sent: Sent {
                    number,
                    action: Action::Again,
                    key: state.key,
                    request: describe(&withdraw(1_000)),
                    replies: vec![],
                    server_executed: Some(0),
                    forgotten: false,
                },
                server: None,
            });
        }
        assert!(!state.busy);
        assert_eq!(state.sent.len(), KEPT);
        assert_eq!(state.sent[0].number, 8, "newest first");
        assert_eq!(state.next_number(), 9);
        let old = state.key;
        state.apply(Msg::NewKey(keys.next_key()));
        assert_ne!(state.key, old);
        assert_eq!(state.bound, None);
    }

    #[test]
    fn a_time_to_live_never_reads_longer_than_it_is() {
        assert_eq!(ttl_text(600_000), "600.0 s");
        assert_eq!(ttl_text(599_999), "599.9 s");
        assert_eq!(ttl_text(42), "0.0 s");
    }

    #[test]
    fn the_counts_and_the_ttl_of_a_burst() {
        let reply = |did, ttl_ms| ReplySeen {
            did,
            lost: false,
            code: None,
            text: String::new(),
            ttl_ms,
        };
        let sent = Sent {
            number: 1,
            action: Action::Copies(3),
            key: SeededKeys::new(2).next_key(),
            request: String::new(),
            replies: vec![
                reply(ServerDid::Executed, Some(600_000)),
                reply(ServerDid::Replayed, Some(599_998)),
                reply(ServerDid::Replayed, None),
            ],
            server_executed: Some(1),
            forgotten: false,
        };
        assert_eq!(sent.count(ServerDid::Executed), 1);
        assert_eq!(sent.count(ServerDid::Replayed), 2);
        assert_eq!(sent.ttl_ms(), Some(599_998));
    }

    /// A student's report: "GetBalance executed 9×; 3 replies from the
    /// store" — the 3 were Withdraw replays. Executions are the operation's
    /// own; replays and refusals are the session's, whatever the operation,
    /// so the page must not print them as the operation's.
    #[test]
    fn executions_are_per_operation_replays_and_refusals_are_not() {
        let stats = LabStats {
            executions: [(LabOperation::Withdraw.method(), 25)].into(),
            replays: 3,
            key_reuse_rejected: 1,
            ..Default::default()
        };
        let withdraw = ServerCounts::from_stats(&stats, LabOperation::Withdraw);
        let balance = ServerCounts::from_stats(&stats, LabOperation::GetBalance);
        assert_eq!((withdraw.executions, balance.executions), (25, 0));
        assert_eq!((withdraw.replays, balance.replays), (3, 3));
        assert_eq!(withdraw.key_reuse_refused, balance.key_reuse_refused);
    }

    /// A student's report: after a lesson (which resets the session) the
    /// group still said "Withdraw executed 12×" while the server said 2, and
    /// showed "kept 582.3 s more" for a key the server had forgotten. A reset
    /// marks the history as forgotten, frees the key, and drops the counters
    /// until they are read again.
    #[test]
    fn a_session_reset_forgets_keys_and_counters() {
        let mut state = KeyByHand::new(SeededKeys::new(3).next_key());
        state.apply(Msg::Started {
            binds: withdraw(1_000),
        });
        let reply = ReplySeen {
            did: ServerDid::RefusedKeyReuse,
            lost: false,
            code: Some(Code::FailedPrecondition),
            text: String::new(),
            ttl_ms: Some(582_300),
        };
        let counts = ServerCounts {
            executions: 12,
            replays: 8,
            key_reuse_refused: 1,
        };
        state.apply(Msg::Finished {
            sent: Sent {
                number: 1,
                action: Action::Changed,
                key: state.key,
                request: describe(&withdraw(1_100)),
                replies: vec![reply],
                server_executed: Some(0),
                forgotten: false,
            },
            server: Some((LabOperation::Withdraw, counts)),
        });
        assert_eq!(state.sent[0].ttl_ms(), Some(582_300));

        state.apply(Msg::SessionReset);
        assert_eq!(state.bound, None, "the server no longer binds the key");
        assert!(state.sent.iter().all(|s| s.forgotten));
        assert_eq!(state.sent[0].ttl_ms(), None, "no time left is claimed");
        assert_eq!(state.server, None, "old counters are not shown");
        assert_eq!(state.next_number(), 2, "numbering goes on");

        let fresh = ServerCounts {
            executions: 2,
            replays: 2,
            key_reuse_refused: 0,
        };
        state.apply(Msg::Counted(Some((LabOperation::Withdraw, fresh))));
        assert_eq!(state.server, Some((LabOperation::Withdraw, fresh)));
        // A failed read keeps what is shown rather than blanking it.
        state.apply(Msg::Counted(None));
        assert_eq!(state.server, Some((LabOperation::Withdraw, fresh)));
    }
}
