//! Client view vs server truth: what the student meant, what the client
//! believes, and what the server really did.
//!
//! A client only knows the replies it got. After ten withdrawals of $5 with
//! retries and lost replies it may believe "ten succeeded, $50 left" while the
//! server executed Withdraw thirteen times and holds $35. This module computes
//! the three views of a run's effect from plain numbers (the server's numbers
//! come from the `Lab` service), and says in words what the student should
//! notice — duplicates that hurt or do not, executions the client never heard
//! of — so the arithmetic and the wording are tested natively.

use rpc_lab::number_format::shortest;
use rpc_lab::proto::calculator_v1::LabStats;

use crate::operations::{Call, LabOperation, cents_to_dollars};
use crate::run_log::Tally;

/// One run's comparison: a row of the client-vs-server table.
#[derive(Clone, Debug, PartialEq)]
pub struct Truth {
    /// The step's label ("keys off"), or "run 1: …" for a free run.
    pub label: String,
    pub operation: LabOperation,
    /// Logical calls the student asked for.
    pub intended: u32,
    /// Calls whose final reply was OK.
    pub client_ok: u32,
    /// How many times the server's handler ran (from `LabStats.executions`).
    pub executed: u64,
    /// Requests answered from the idempotency store instead.
    pub replayed: u64,
    /// What the client saw of each attempt ([`Tally::answered`] and friends).
    pub seen: Seen,
    /// The server's other counters, for this run alone.
    pub counters: ServerCounters,
    /// The state the operation changes, if it changes one.
    pub effect: Option<Effect>,
}

/// What the client saw of a run's attempts: the part of [`Tally`] the truth
/// table sets against the server's executions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// Executions whose outcome reached the client ([`Tally::answered`]).
    pub answered: u64,
    /// Attempts that ended "executed, reply lost".
    pub lost_replies: u64,
    /// Attempts the client stopped waiting for.
    pub timeouts: u64,
    pub cancelled: u64,
}

impl From<&Tally> for Seen {
    fn from(tally: &Tally) -> Self {
        Seen {
            answered: tally.answered as u64,
            lost_replies: tally.dropped as u64,
            timeouts: tally.timeouts as u64,
            cancelled: tally.cancelled as u64,
        }
    }
}

/// The server's counters for one run: the difference of `LabStats` read
/// just before and just after it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerCounters {
    pub replays: u64,
    /// Keys stored during the run.
    pub keys_stored: u64,
    /// Requests refused because their key was already used for another request.
    pub key_reuse_rejected: u64,
    pub faults_fail: u64,
    pub faults_drop: u64,
    pub faults_delay: u64,
}

impl ServerCounters {
    pub fn between(before: &LabStats, after: &LabStats) -> Self {
        ServerCounters {
            replays: after.replays.saturating_sub(before.replays),
            keys_stored: after
                .idempotency_keys
                .saturating_sub(before.idempotency_keys),
            key_reuse_rejected: after
                .key_reuse_rejected
                .saturating_sub(before.key_reuse_rejected),
            faults_fail: after.faults_fail.saturating_sub(before.faults_fail),
            faults_drop: after.faults_drop.saturating_sub(before.faults_drop),
            faults_delay: after.faults_delay.saturating_sub(before.faults_delay),
        }
    }

    /// Two runs' counters together.
    pub fn plus(self, other: ServerCounters) -> ServerCounters {
        ServerCounters {
            replays: self.replays + other.replays,
            keys_stored: self.keys_stored + other.keys_stored,
            key_reuse_rejected: self.key_reuse_rejected + other.key_reuse_rejected,
            faults_fail: self.faults_fail + other.faults_fail,
            faults_drop: self.faults_drop + other.faults_drop,
            faults_delay: self.faults_delay + other.faults_delay,
        }
    }

    /// The counters in a sentence.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "{} from the idempotency store, {} stored; faults injected: {} fail, {} drop, {} delay",
            plural(self.replays, "replay", "replays"),
            plural(self.keys_stored, "key", "keys"),
            self.faults_fail,
            self.faults_drop,
            self.faults_delay
        );
        if self.key_reuse_rejected > 0 {
            text.push_str(&format!(
                "; {} refused because {} key was already used for another request",
                plural(self.key_reuse_rejected, "request", "requests"),
                if self.key_reuse_rejected == 1 {
                    "its"
                } else {
                    "their"
                }
            ));
        }
        text.push('.');
        text
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The changed state, three ways.
#[derive(Clone, Debug, PartialEq)]
pub struct Effect {
    /// What is measured ("balance of alice", "value of counter").
    pub what: String,
    pub money: bool,
    pub before: f64,
    /// If every intended call had happened exactly once.
    pub intended: f64,
    /// If exactly the calls the client saw succeed had happened.
    pub believed: f64,
    /// What the server holds.
    pub actual: f64,
}

impl Effect {
    /// How far the server's state is from the student's intention (calls
    /// that failed for good, and duplicates, both move it).
    pub fn off_by(&self) -> f64 {
        self.actual - self.intended
    }

    /// How far the server's state is from what the client believes: the
    /// dangerous difference, because the program acts on its belief.
    pub fn client_wrong_by(&self) -> f64 {
        self.actual - self.believed
    }

    pub fn format(&self, value: f64) -> String {
        if self.money {
            cents_to_dollars(value.round() as i64)
        } else {
            shortest(value)
        }
    }
}

impl Truth {
    /// Executions beyond the intended calls: duplicates.
    pub fn duplicates(&self) -> u64 {
        self.executed.saturating_sub(u64::from(self.intended))
    }

    /// Whether running the operation again changes nothing: duplicates of
    /// `SetValue` are wasted work, not a wrong state, and are not alarms.
    pub fn duplicates_harmless(&self) -> bool {
        self.operation.idempotent()
    }

    /// Intended calls the server never executed.
    pub fn never_ran(&self) -> u64 {
        u64::from(self.intended).saturating_sub(self.executed)
    }

    /// Executions whose answer never reached the client: the reply was lost,
    /// or the client had stopped waiting. The client counted them as failures
    /// (or retried them); the server did the work.
    pub fn unseen(&self) -> u64 {
        self.executed.saturating_sub(self.seen.answered)
    }

    /// [`unseen`](Self::unseen) split into (replies lost on the way back,
    /// executions that finished after the client stopped waiting).
    pub fn unseen_split(&self) -> (u64, u64) {
        let unseen = self.unseen();
        let lost = self.seen.lost_replies.min(unseen);
        (lost, unseen - lost)
    }

    /// The short notes under the "server executed" cell.
    pub fn executed_notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let duplicates = self.duplicates();
        if duplicates > 0 && self.duplicates_harmless() {
            notes.push(format!(
                "+{duplicates} repeated, harmless ({} is idempotent)",
                self.operation
            ));
        } else if duplicates > 0 {
            notes.push(format!(
                "+{}",
                plural(duplicates, "duplicate", "duplicates")
            ));
        } else if self.never_ran() > 0 && !self.operation.idempotent() {
            notes.push(format!("{} never ran", self.never_ran()));
        }
        if self.unseen() > 0 {
            notes.push(format!("{} ran unseen by the client", self.unseen()));
        }
        notes
    }

    /// What the student should notice in this row, in sentences with the
    /// run's own numbers: work the client never heard of, and duplicates
    /// that did no harm.
    pub fn findings(&self) -> Vec<String> {
        let mut findings = Vec::new();
        let operation = self.operation;
        let unseen = self.unseen();
        if unseen > 0 {
            let (lost, late) = self.unseen_split();
            let mut text = format!(
                "{}: the server ran {operation} {}, but only {} reached the client.",
                self.label,
                plural(self.executed, "time", "times"),
                plural(self.seen.answered, "answer", "answers")
            );
            if late > 0 {
                let why = match (self.seen.timeouts > 0, self.seen.cancelled > 0) {
                    (true, false) => "it had timed out",
                    (false, true) => "a hedged twin had answered first",
                    _ => "it had timed out or been cancelled",
                };
                text.push_str(&format!(
                    " {} after the client had stopped waiting ({why}): a timeout stops the \
                     waiting, not the work.",
                    if late == 1 {
                        "1 call ran".to_owned()
                    } else {
                        format!("{late} calls ran")
                    }
                ));
            }
            if lost > 0 {
                text.push_str(&format!(
                    " {} lost on the way back after the work was done.",
                    if lost == 1 {
                        "1 reply was".to_owned()
                    } else {
                        format!("{lost} replies were")
                    }
                ));
            }
            if !operation.idempotent() {
                text.push_str(
                    " Each of them changed the state while the client saw only an error.",
                );
            }
            findings.push(text);
        }
        let duplicates = self.duplicates();
        if duplicates > 0 && self.duplicates_harmless() {
            findings.push(format!(
                "{}: {operation} ran {} for {} intended; the {duplicates} extra {} no harm: \
                 {operation} is idempotent, so running it again leaves the same state.",
                self.label,
                plural(self.executed, "time", "times"),
                plural(u64::from(self.intended), "call", "calls"),
                if duplicates == 1 {
                    "run did"
                } else {
                    "runs did"
                },
            ));
        }
        findings
    }
}

/// The effect of `intended` calls of `call` (of which `client_ok` succeeded;
/// the highest successful call number is `last_ok`), given the state before
/// and after. `None` for operations that change nothing countable.
pub fn effect(
    call: &Call,
    count_up: bool,
    intended: u32,
    client_ok: u32,
    last_ok: Option<u64>,
    before: f64,
    actual: f64,
) -> Option<Effect> {
    let (n, ok) = (f64::from(intended), f64::from(client_ok));
    match call {
        Call::Account {
            operation,
            account,
            cents,
            ..
        } => {
            let sign = match operation {
                LabOperation::Deposit => 1.0,
                LabOperation::Withdraw => -1.0,
                _ => return None,
            };
            let amount = sign * *cents as f64;
            Some(Effect {
                what: format!("balance of {account}"),
                money: true,
                before,
                intended: before + n * amount,
                believed: before + ok * amount,
                actual,
            })
        }
        Call::Store {
            operation,
            key,
            value,
            ..
        } => {
            let (intended, believed) = match operation {
                LabOperation::Increment => (before + n * value, before + ok * value),
                LabOperation::SetValue if count_up => {
                    (n, last_ok.map_or(before, |number| number as f64))
                }
                LabOperation::SetValue => (*value, if client_ok > 0 { *value } else { before }),
                _ => return None,
            };
            Some(Effect {
                what: format!("value of {key}"),
                money: false,
                before,
                intended,
                believed,
                actual,
            })
        }
        Call::Arithmetic { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn withdraw() -> Call {
        Call::Account {
            operation: LabOperation::Withdraw,
            account: "alice".into(),
            cents: 500,
        }
    }

    #[test]
    fn duplicated_withdrawals_leave_less_money_than_intended() {
        // Ten $5 withdrawals from $100; the client saw 9 succeed; the server
        // ran 13 and holds $35.
        let effect = effect(&withdraw(), false, 10, 9, Some(10), 10_000.0, 3_500.0).unwrap();
        assert_eq!((effect.intended, effect.believed), (5_000.0, 5_500.0));
        assert_eq!(effect.off_by(), -1_500.0);
        assert_eq!(
            effect.client_wrong_by(),
            -2_000.0,
            "it believes $55, holds $35"
        );
        assert_eq!(effect.format(effect.actual), "$35.00");
        let truth = Truth {
            effect: Some(effect),
            ..truth(LabOperation::Withdraw, 10, 9, 13, 9)
        };
        assert_eq!(truth.duplicates(), 3);
        assert!(!truth.duplicates_harmless());
        assert_eq!(truth.executed_notes()[0], "+3 duplicates");
    }

    /// A row with `executed` executions of which `answered` reached the client.
    fn truth(
        operation: LabOperation,
        intended: u32,
        client_ok: u32,
        executed: u64,
        answered: u64,
    ) -> Truth {
        Truth {
            label: "step".into(),
            operation,
            intended,
            client_ok,
            executed,
            replayed: 0,
            seen: Seen {
                answered,
                ..Seen::default()
            },
            counters: ServerCounters::default(),
            effect: None,
        }
    }

    /// Issue 10: duplicates of an idempotent operation are wasted work, not
    /// an alarm, and the page says why.
    #[test]
    fn duplicated_sets_are_harmless_and_said_to_be() {
        // 30 % lost replies, retried: 12 executions, 10 answered, 2 lost.
        let mut set = truth(LabOperation::SetValue, 10, 10, 12, 10);
        set.seen.lost_replies = 2;
        assert!(set.duplicates_harmless());
        assert_eq!(
            set.executed_notes(),
            [
                "+2 repeated, harmless (SetValue is idempotent)",
                "2 ran unseen by the client"
            ]
        );
        let findings = set.findings();
        assert!(
            !findings[0].contains("changed the state"),
            "an idempotent repeat changes nothing: {}",
            findings[0]
        );
        assert_eq!(
            findings[1..],
            [
                "step: SetValue ran 12 times for 10 calls intended; the 2 extra runs did no harm: \
              SetValue is idempotent, so running it again leaves the same state."
            ]
        );
    }

    /// Issue 10: at a 100 ms timeout 6 calls succeeded but the server ran 7:
    /// one ran after the client gave up, and the page says so with the number.
    #[test]
    fn an_execution_after_a_timeout_is_reported_with_its_number() {
        let mut tight = truth(LabOperation::Add, 30, 6, 7, 6);
        tight.label = "timeout 100 ms".into();
        tight.seen.timeouts = 24;
        assert_eq!((tight.unseen(), tight.unseen_split()), (1, (0, 1)));
        assert_eq!(tight.executed_notes(), ["1 ran unseen by the client"]);
        let findings = tight.findings();
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0].starts_with(
                "timeout 100 ms: the server ran Add 7 times, but only 6 answers reached the client. \
                 1 call ran after the client had stopped waiting (it had timed out)"
            ),
            "{}",
            findings[0]
        );
        // Every call answered: nothing to report.
        assert_eq!(
            truth(LabOperation::Add, 30, 30, 30, 30).findings(),
            Vec::<String>::new()
        );
    }

    /// Lost replies of a withdrawal: the money moved, the client saw failures.
    #[test]
    fn lost_replies_are_executions_the_client_never_saw() {
        let mut at_most_once = truth(LabOperation::Withdraw, 10, 7, 9, 7);
        at_most_once.seen.lost_replies = 2;
        assert_eq!(at_most_once.unseen_split(), (2, 0));
        assert_eq!(
            at_most_once.executed_notes(),
            ["1 never ran", "2 ran unseen by the client"]
        );
        let finding = &at_most_once.findings()[0];
        assert!(
            finding.contains("2 replies were lost on the way back"),
            "{finding}"
        );
        assert!(finding.contains("changed the state while the client saw only an error"));
    }

    #[test]
    fn server_counters_are_the_difference_of_two_readings() {
        let before = LabStats {
            replays: 3,
            faults_drop: 5,
            idempotency_keys: 10,
            ..LabStats::default()
        };
        let after = LabStats {
            replays: 5,
            faults_drop: 7,
            faults_fail: 1,
            idempotency_keys: 20,
            key_reuse_rejected: 1,
            ..LabStats::default()
        };
        let counters = ServerCounters::between(&before, &after);
        assert_eq!(
            counters,
            ServerCounters {
                replays: 2,
                keys_stored: 10,
                key_reuse_rejected: 1,
                faults_fail: 1,
                faults_drop: 2,
                faults_delay: 0,
            }
        );
        assert_eq!(
            counters.describe(),
            "2 replays from the idempotency store, 10 keys stored; faults injected: 1 fail, \
             2 drop, 0 delay; 1 request refused because its key was already used for another request."
        );
    }

    #[test]
    fn a_counted_up_set_intends_its_last_number() {
        let set = Call::Store {
            operation: LabOperation::SetValue,
            key: "counter".into(),
            value: 1.0,
        };
        let e = effect(&set, true, 10, 9, Some(10), 0.0, 10.0).unwrap();
        assert_eq!((e.intended, e.believed, e.off_by()), (10.0, 10.0, 0.0));
        let increment = Call::Store {
            operation: LabOperation::Increment,
            key: "counter".into(),
            value: 1.0,
        };
        let e = effect(&increment, false, 10, 10, Some(10), 0.0, 13.0).unwrap();
        assert_eq!((e.intended, e.off_by()), (10.0, 3.0));
    }

    #[test]
    fn reads_and_arithmetic_have_no_effect() {
        let add = Call::Arithmetic {
            operation: LabOperation::Add,
            a: 1.0,
            b: 2.0,
        };
        assert_eq!(effect(&add, false, 3, 3, None, 0.0, 0.0), None);
        let read = Call::Account {
            operation: LabOperation::GetBalance,
            account: "a".into(),
            cents: 0,
        };
        assert_eq!(effect(&read, false, 3, 3, None, 0.0, 0.0), None);
    }
}
