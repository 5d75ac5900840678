//! The server's records grouped into logical calls, and what they add up to.
//!
//! A *logical call* is what a client meant to do once; its *attempts* are
//! the requests it sent for it. The server can only group attempts by their
//! idempotency key: every request with the same key is one call. A request
//! without a key is its own call as far as anyone but its client can tell —
//! a retry looks exactly like a new call.
//!
//! So the counts say only what the server can prove:
//! - **duplicates**: extra executions of one key (the idempotency store
//!   should make these impossible; a reset session or a full store can let
//!   one through);
//! - **possible duplicates**: requests *without* a key, of an operation that
//!   is not idempotent, that ran and lost their reply. Each one happened,
//!   but its client was told `UNAVAILABLE`; a client that retried it ran it
//!   again. The naive starter client always retries, so for it every one of
//!   these is a withdrawal taken twice — but the server cannot know that, and
//!   a client that does not retry (the solution without keys) has lost
//!   replies and no duplicates.

use rpc_lab::proto::calculator_v1::{RequestOutcome, RequestRecord};

use crate::operations::LabOperation;

/// What the server did with one attempt, as the page draws it: six kinds,
/// each with its own colour, pattern and letter (never colour alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Executed, and the reply (success or error) was sent.
    Ran,
    /// Executed, then the reply was replaced by `UNAVAILABLE` (a drop).
    RanLost,
    /// Answered from the idempotency store: not executed.
    Replayed,
    /// Answered from the store, and that reply lost too.
    ReplayedLost,
    /// Not executed: a failure injected before executing, a deadline that
    /// ran out first, skipped or cancelled in the queue, the client gone.
    NotRun,
    /// Refused: a reused key, overload, or a malformed request.
    Refused,
}

impl Mark {
    pub const ALL: [Mark; 6] = [
        Mark::Ran,
        Mark::RanLost,
        Mark::Replayed,
        Mark::ReplayedLost,
        Mark::NotRun,
        Mark::Refused,
    ];

    pub fn of(outcome: RequestOutcome) -> Mark {
        use RequestOutcome as O;
        match outcome {
            O::Executed => Mark::Ran,
            O::ExecutedReplyLost => Mark::RanLost,
            O::Replayed => Mark::Replayed,
            O::ReplayedReplyLost => Mark::ReplayedLost,
            O::KeyReused | O::Overloaded | O::Refused => Mark::Refused,
            _ => Mark::NotRun,
        }
    }

    /// Did the operation run?
    pub fn ran(self) -> bool {
        matches!(self, Mark::Ran | Mark::RanLost)
    }

    pub fn slug(self) -> &'static str {
        [
            "ran",
            "ran-lost",
            "replayed",
            "replayed-lost",
            "not-run",
            "refused",
        ][self as usize]
    }

    /// The letter drawn in the mark.
    pub fn letter(self) -> &'static str {
        ["E", "L", "R", "R", "×", "!"][self as usize]
    }

    /// The legend's words.
    pub fn meaning(self) -> &'static str {
        [
            "executed, reply sent",
            "executed, reply lost",
            "replayed from the idempotency store (not executed)",
            "replayed, reply lost",
            "not executed (failed before, deadline, skipped, cancelled, client gone)",
            "refused (key reused, overloaded, malformed)",
        ][self as usize]
    }
}

/// The non-idempotent operations, as the server names them: each execution
/// adds to the last (gRPC methods and their REST twins).
const NOT_IDEMPOTENT_REST: [&str; 4] = [
    "POST /api/v1/store/values/{key}/increment",
    "POST /api/v1/store/lists/{key}",
    "POST /api/v1/accounts/{account}/deposit",
    "POST /api/v1/accounts/{account}/withdraw",
];

/// Does running `operation` (a record's) twice do more than running it once?
pub fn not_idempotent(operation: &str) -> bool {
    NOT_IDEMPOTENT_REST.contains(&operation)
        || LabOperation::ALL
            .iter()
            .any(|op| !op.idempotent() && op.method() == operation)
}

/// An operation's short name: `Withdraw` for `/calculator.v1.Account/Withdraw`,
/// the route for REST.
pub fn short_operation(operation: &str) -> &str {
    match operation.strip_prefix("/calculator.v1.") {
        Some(method) => method.rsplit('/').next().unwrap_or(method),
        None => operation,
    }
}

/// A user agent's short form: the browser's name, or the first product
/// (`grpc-python`, `grpcurl`, `tonic`), without its version.
pub fn short_agent(agent: &str) -> &str {
    if agent.starts_with("Mozilla/") {
        return ["Firefox", "Edg", "Chrome", "Safari"]
            .into_iter()
            .find(|name| agent.contains(&format!("{name}/")))
            .unwrap_or("a browser");
    }
    match agent.split([' ', '/']).next() {
        Some("") | None => "no user agent",
        Some(product) => product,
    }
}

/// One logical call: its attempts, in the order the server completed them.
#[derive(Debug)]
pub struct Call<'a> {
    /// The idempotency key; `None`: a keyless request, alone in its call.
    pub key: Option<&'a str>,
    pub attempts: Vec<&'a RequestRecord>,
}

impl Call<'_> {
    pub fn first(&self) -> &RequestRecord {
        self.attempts[0]
    }

    pub fn executions(&self) -> u64 {
        self.count(Mark::ran)
    }

    pub fn replays(&self) -> u64 {
        self.count(|m| matches!(m, Mark::Replayed | Mark::ReplayedLost))
    }

    fn count(&self, what: impl Fn(Mark) -> bool) -> u64 {
        self.attempts
            .iter()
            .filter(|r| what(Mark::of(r.outcome())))
            .count() as u64
    }

    /// Executions beyond the first under one key: proven duplicates.
    pub fn duplicates(&self) -> u64 {
        match self.key {
            Some(_) => self.executions().saturating_sub(1),
            None => 0,
        }
    }

    /// Refused because its key was already used for another request.
    pub fn reused(&self) -> bool {
        self.first().outcome() == RequestOutcome::KeyReused
    }

    /// The page's own set-up or read of the truth (its client said so with
    /// `x-lab-bookkeeping`), not a call of the experiment.
    pub fn bookkeeping(&self) -> bool {
        self.first().bookkeeping
    }

    /// A keyless request of a non-idempotent operation that ran and lost its
    /// reply: a duplicate if its client retried it.
    pub fn possible_duplicate(&self) -> bool {
        self.key.is_none()
            && Mark::of(self.first().outcome()) == Mark::RanLost
            && not_idempotent(&self.first().operation)
    }
}

/// The records as logical calls, in the order each call's first attempt
/// was completed.
pub fn calls<'a>(records: impl IntoIterator<Item = &'a RequestRecord>) -> Vec<Call<'a>> {
    // A search rather than a map: a few hundred calls at most, and the page
    // downloads no hash map's code for it.
    let mut calls: Vec<Call<'a>> = Vec::new();
    for record in records {
        let key = record.idempotency_key.as_deref();
        // A request refused because its key was already used for another
        // request is not an attempt of that call: it is another call that
        // reused the key. It gets a row of its own.
        let reused = record.outcome() == RequestOutcome::KeyReused;
        let earlier = key.filter(|_| !reused).and_then(|k| {
            calls
                .iter_mut()
                .rev()
                .find(|c| c.key == Some(k) && !c.reused())
        });
        match earlier {
            Some(call) => call.attempts.push(record),
            None => calls.push(Call {
                key,
                attempts: vec![record],
            }),
        }
    }
    calls
}

/// What one operation's calls add up to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Requests (attempts) that reached the server.
    pub requests: u64,
    /// Of those, executed.
    pub executions: u64,
    /// Answered from the idempotency store.
    pub replays: u64,
    /// Logical calls with a key.
    pub keyed_calls: u64,
    /// Extra executions under one key.
    pub duplicates: u64,
    /// Requests without a key.
    pub keyless: u64,
    /// Keyless requests of a non-idempotent operation that ran and lost
    /// their reply.
    pub possible_duplicates: u64,
}

impl Tally {
    fn add(&mut self, call: &Call) {
        self.requests += call.attempts.len() as u64;
        self.executions += call.executions();
        self.replays += call.replays();
        self.duplicates += call.duplicates();
        if call.key.is_some() {
            self.keyed_calls += 1;
        } else {
            self.keyless += 1;
        }
        self.possible_duplicates += u64::from(call.possible_duplicate());
    }
}

/// The tally per operation (in the order first seen), and for all of them:
/// of the experiment's calls, without the page's own bookkeeping (which
/// [`bookkeeping_requests`] counts).
pub fn tally<'a>(calls: &[Call<'a>]) -> (Vec<(&'a str, Tally)>, Tally) {
    let mut rows: Vec<(&'a str, Tally)> = Vec::new();
    let mut all = Tally::default();
    for call in calls.iter().filter(|call| !call.bookkeeping()) {
        let operation = short_operation(&call.attempts[0].operation);
        let at = match rows.iter().position(|(op, _)| *op == operation) {
            Some(at) => at,
            None => {
                rows.push((operation, Tally::default()));
                rows.len() - 1
            }
        };
        rows[at].1.add(call);
        all.add(call);
    }
    (rows, all)
}

/// Requests that were the page's own bookkeeping: not in [`tally`].
pub fn bookkeeping_requests(calls: &[Call]) -> u64 {
    calls
        .iter()
        .filter(|call| call.bookkeeping())
        .map(|call| call.attempts.len() as u64)
        .sum()
}

/// The clients by connection (a client is a TCP connection to the server:
/// grpcurl opens one per command; behind a proxy the page's calls come on
/// the proxy's): their connection numbers in the order first seen.
pub fn clients(records: &[&RequestRecord]) -> Vec<u64> {
    let mut seen = Vec::new();
    for record in records {
        if !seen.contains(&record.connection_id) {
            seen.push(record.connection_id);
        }
    }
    seen
}

/// A client's name: `A`, `B`, … by the order first seen, then `#27`, ….
pub fn client_name(clients: &[u64], connection: u64) -> String {
    match clients.iter().position(|&c| c == connection) {
        Some(n @ 0..26) => char::from(b'A' + n as u8).to_string(),
        Some(n) => format!("#{}", n + 1),
        None => "?".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WITHDRAW: &str = "/calculator.v1.Account/Withdraw";

    fn request(key: Option<&str>, outcome: RequestOutcome) -> RequestRecord {
        let mut record = RequestRecord {
            operation: WITHDRAW.into(),
            idempotency_key: key.map(str::to_owned),
            connection_id: 3,
            ..Default::default()
        };
        record.set_outcome(outcome);
        record
    }

    use RequestOutcome as O;

    #[test]
    fn keyed_attempts_are_one_call_and_a_keyless_request_its_own() {
        let records = [
            request(Some("k1"), O::ExecutedReplyLost),
            request(None, O::ExecutedReplyLost),
            request(Some("k1"), O::Replayed),
            request(None, O::Executed),
            request(Some("k2"), O::FailedBeforeExecuting),
        ];
        let calls = calls(&records);
        assert_eq!(calls.len(), 4);
        assert_eq!(calls[0].key, Some("k1"));
        assert_eq!(calls[0].attempts.len(), 2);
        assert_eq!((calls[0].executions(), calls[0].replays()), (1, 1));
        assert_eq!(calls[0].duplicates(), 0);
        assert!(!calls[0].possible_duplicate(), "a key protects it");
        assert!(calls[1].possible_duplicate());
        assert!(!calls[2].possible_duplicate(), "its reply arrived");
        assert_eq!(calls[3].executions(), 0);
    }

    #[test]
    fn the_naive_clients_lost_replies_are_possible_duplicates_not_proven_ones() {
        // No keys, drops on: executed, reply lost; the retry executed again.
        let records = [
            request(None, O::ExecutedReplyLost),
            request(None, O::Executed),
            request(None, O::Executed),
        ];
        let (rows, all) = tally(&calls(&records));
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, "Withdraw");
        assert_eq!(all.executions, 3);
        assert_eq!(
            all.duplicates, 0,
            "the server cannot prove a keyless duplicate"
        );
        assert_eq!(all.possible_duplicates, 1);
        assert_eq!(all.keyless, 3);
    }

    #[test]
    fn the_pages_own_reads_are_listed_but_not_tallied_with_the_experiment() {
        let mut read = request(None, O::Executed);
        read.operation = "/calculator.v1.Account/GetBalance".into();
        read.bookkeeping = true;
        let records = [request(None, O::Executed), read.clone(), read];
        let calls = calls(&records);
        assert_eq!(calls.len(), 3, "every request is still a row");
        let (rows, all) = tally(&calls);
        assert_eq!(
            rows.len(),
            1,
            "GetBalance has no row: only the page read it"
        );
        assert_eq!((all.requests, all.executions), (1, 1));
        assert_eq!(bookkeeping_requests(&calls), 2);
    }

    #[test]
    fn a_request_refused_for_reusing_a_key_is_another_call_not_an_attempt() {
        let records = [
            request(Some("k"), O::Executed),
            request(Some("k"), O::KeyReused),
            request(Some("k"), O::Replayed),
        ];
        let calls = calls(&records);
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].attempts.len(), 2, "the first call and its retry");
        assert_eq!(calls[0].replays(), 1);
        assert!(calls[1].reused() && !calls[0].reused());
        assert_eq!(calls[1].attempts.len(), 1);
    }

    #[test]
    fn two_executions_under_one_key_are_a_duplicate() {
        let records = [
            request(Some("k"), O::Executed),
            request(Some("k"), O::Executed),
            request(Some("k"), O::ReplayedReplyLost),
        ];
        let (_, all) = tally(&calls(&records));
        assert_eq!((all.duplicates, all.replays, all.keyed_calls), (1, 1, 1));
    }

    #[test]
    fn only_non_idempotent_operations_risk_duplicates() {
        let mut set = request(None, O::ExecutedReplyLost);
        set.operation = "/calculator.v1.Store/SetValue".into();
        assert!(!calls([&set])[0].possible_duplicate());
        assert!(not_idempotent("POST /api/v1/accounts/{account}/withdraw"));
        assert!(not_idempotent("/calculator.v1.Store/Increment"));
        assert!(!not_idempotent("/calculator.v1.Calculator/Add"));
    }

    #[test]
    fn every_outcome_has_a_mark_and_only_executions_ran() {
        for value in 0..=12 {
            let outcome = O::try_from(value).unwrap();
            let mark = Mark::of(outcome);
            assert_eq!(
                mark.ran(),
                matches!(outcome, O::Executed | O::ExecutedReplyLost),
                "{outcome:?}"
            );
        }
        let letters: Vec<_> = Mark::ALL.iter().map(|m| (m.slug(), m.letter())).collect();
        assert_eq!(letters.len(), 6);
    }

    #[test]
    fn names_are_short() {
        assert_eq!(short_operation(WITHDRAW), "Withdraw");
        assert_eq!(
            short_operation("GET /api/v1/accounts/{account}"),
            "GET /api/v1/accounts/{account}"
        );
        assert_eq!(
            short_agent("grpc-python/1.66.0 grpc-c/44.0.0 (linux; chttp2)"),
            "grpc-python"
        );
        assert_eq!(short_agent("grpcurl/v1.9.1 grpc-go/1.61.0"), "grpcurl");
        assert_eq!(
            short_agent(
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/139.0.0.0 Safari/537.36"
            ),
            "Chrome"
        );
        assert_eq!(short_agent(""), "no user agent");
    }

    #[test]
    fn clients_are_lettered_in_the_order_they_appear() {
        let mut a = request(None, O::Executed);
        let mut b = a.clone();
        a.connection_id = 9;
        b.connection_id = 4;
        let seen = clients(&[&a, &b, &a]);
        assert_eq!(seen, [9, 4]);
        assert_eq!(
            (client_name(&seen, 9), client_name(&seen, 4)),
            ("A".into(), "B".into())
        );
        assert_eq!(client_name(&(1..=30).collect::<Vec<_>>(), 27), "#27");
    }
}
