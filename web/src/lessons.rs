//! The guided lessons: one click sets up a scenario, runs it, and explains it.
//!
//! Each lesson answers one of the course's questions ("why is retrying a
//! withdrawal dangerous?", "when should a client stop retrying?") by running
//! the same calls in two or three *steps* that differ in one setting — keys
//! off, then on; no breaker, then a breaker — so the plots and the
//! client-vs-server table show the difference side by side. A lesson is plain
//! data: the runner ([`crate::lab`]) knows nothing about any lesson.
//!
//! Every step starts from a clean session reseeded with the lesson's seed, so
//! the same seed replays the same faults, jitter and outcome.

use crate::check::{BRIEF_OUTAGE_CALLS, Check};
use crate::faults::{FaultSettings, Outage};
use crate::operations::{LabOperation, OperationForm};
use crate::policy_form::PolicyForm;
use rpc_lab::resilience::Jitter;

/// How many calls a run makes, and how.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSpec {
    /// Logical calls.
    pub count: u32,
    /// How many are in flight at once (1: one after another).
    pub concurrency: u32,
    /// Call *i* starts no earlier than *i* × this after the run began (0: as
    /// soon as a slot is free).
    pub pace_ms: u32,
    /// Set and append send the call's number (1, 2, 3, …) as the value.
    pub count_up: bool,
    /// After this many calls have started the server is healthy again (the
    /// outage is over); `None`: the faults last the whole run.
    pub healthy_after: Option<u32>,
}

impl Default for RunSpec {
    fn default() -> Self {
        RunSpec {
            count: 20,
            concurrency: 1,
            pace_ms: 0,
            count_up: false,
            healthy_after: None,
        }
    }
}

/// One run inside a lesson.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Shown in the tables and on the timeline ("keys off").
    pub label: &'static str,
    pub operation: LabOperation,
    pub form: OperationForm,
    pub faults: FaultSettings,
    pub policy: PolicyForm,
    pub run: RunSpec,
    /// Money put into the form's account before the step, without faults.
    pub opening_deposit_cents: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Lesson {
    /// Stable, for `data-lesson` and `?lesson=`.
    pub id: &'static str,
    pub title: &'static str,
    /// Before: the question the lesson answers.
    pub question: &'static str,
    /// Answered before the run, judged after it ([`crate::check`]).
    pub check: Check,
    /// After: what the plots show, and why.
    pub conclusion: &'static str,
    pub seed: u64,
    pub steps: Vec<Step>,
}

fn step(label: &'static str, operation: LabOperation) -> Step {
    Step {
        label,
        operation,
        form: OperationForm {
            amount: "5".into(),
            ..OperationForm::default()
        },
        faults: FaultSettings::default(),
        policy: PolicyForm {
            initial_backoff_ms: 20,
            max_backoff_ms: 200,
            ..PolicyForm::default()
        },
        run: RunSpec {
            count: 10,
            ..RunSpec::default()
        },
        opening_deposit_cents: 0,
    }
}

/// Lost replies: the server did the work, the client never heard.
fn lost_replies(pct: u32) -> FaultSettings {
    FaultSettings {
        drop_pct: pct,
        ..FaultSettings::default()
    }
}

/// Every lesson, in teaching order.
pub fn all() -> Vec<Lesson> {
    vec![
        withdraw(),
        set_versus_increment(),
        delivery_semantics(),
        service_down(),
        how_long_to_wait(),
        when_to_stop(),
        one_slow_call(),
    ]
}

pub fn find(id: &str) -> Option<Lesson> {
    all().into_iter().find(|lesson| lesson.id == id)
}

fn withdraw() -> Lesson {
    let withdrawals = |label, keys| {
        let mut s = step(label, LabOperation::Withdraw);
        s.faults = lost_replies(30);
        s.policy.idempotency_keys = keys;
        s.policy.retry_unsafe = true;
        s.opening_deposit_cents = 10_000; // $100
        s
    };
    Lesson {
        id: "withdraw",
        title: "Why retrying a withdrawal is dangerous",
        question: "Alice has $100 and withdraws $5 ten times. The network loses 30 % of the \
                   replies — after the server has done the work. The client retries every \
                   failed call, withdrawals included. How much money does Alice have at the end?",
        check: Check {
            prompt: "Without keys, how much does Alice have at the end?",
            choices: &["exactly $50, as intended", "less than $50", "more than $50"],
        },
        conclusion: "Without keys the server ran Withdraw more often than Alice asked: every lost \
                     reply was retried and executed again, so the balance is off by $5 per \
                     duplicate (red in the table). With keys every retry carried the same \
                     idempotency key; the server recognised it and answered from its store \
                     without executing (the 'replayed' segments). Executions equal intentions.",
        seed: 7,
        steps: vec![
            withdrawals("retries, keys off", false),
            withdrawals("retries, keys on", true),
        ],
    }
}

fn set_versus_increment() -> Lesson {
    let counter = |label, operation| {
        let mut s = step(label, operation);
        s.faults = lost_replies(30);
        s.policy.idempotency_keys = false;
        s.policy.retry_unsafe = true;
        s.run.count_up = operation == LabOperation::SetValue;
        s
    };
    Lesson {
        id: "set-vs-increment",
        title: "An API that is safe to retry: set, not increment",
        question: "Count to ten on the server, with no idempotency keys and 30 % lost replies. \
                   One way sends 'increment the counter' ten times; the other sends 'set the \
                   counter to 1', 'to 2', … 'to 10'. Which ends at 10?",
        check: Check {
            prompt: "Which counter ends at exactly 10?",
            choices: &[
                "both",
                "only the increment counter",
                "only the set counter",
                "neither",
            ],
        },
        conclusion: "Both were executed more than ten times — every lost reply was retried. But a \
                     repeated 'set to 7' leaves 7, so the set counter ends at exactly 10, while \
                     each repeated increment added one more. An operation that states the result \
                     (set, delete, put) is idempotent and safe to retry without any key; one that \
                     states a change (increment, append, withdraw) needs a key.",
        seed: 11,
        steps: vec![
            counter("increment ×10", LabOperation::Increment),
            counter("set to 1…10", LabOperation::SetValue),
        ],
    }
}

fn delivery_semantics() -> Lesson {
    let semantics = |label, retries, keys| {
        let mut s = step(label, LabOperation::Withdraw);
        s.faults = FaultSettings {
            fail_pct: 10,
            drop_pct: 30,
            ..FaultSettings::default()
        };
        s.policy.retries = retries;
        s.policy.max_attempts = 6;
        s.policy.idempotency_keys = keys;
        s.policy.retry_unsafe = true;
        s.opening_deposit_cents = 10_000; // $100
        s
    };
    Lesson {
        id: "delivery",
        title: "At-most-once, at-least-once, exactly-once effect",
        question: "Ten $5 withdrawals through a network that refuses 10 % of requests and loses \
                   30 % of replies. Compare: never retry; retry without keys; retry with keys.",
        check: Check {
            prompt: "Which way leaves Alice's balance exactly where she meant it to be?",
            choices: &[
                "never retrying",
                "retrying without keys",
                "retrying with keys",
            ],
        },
        conclusion: "Never retrying is at-most-once: some withdrawals failed for the client, yet \
                     the lost-reply ones did happen — the client cannot tell which. Retrying \
                     without keys is at-least-once: nothing is lost, but some withdrawals ran \
                     twice. Retrying with keys gives an exactly-once effect: at-least-once \
                     delivery plus deduplication on the server, so each intended withdrawal \
                     happened once.",
        seed: 21,
        steps: vec![
            semantics("at-most-once: no retries", false, false),
            semantics("at-least-once: retries, no keys", true, false),
            semantics("exactly-once effect: retries + keys", true, true),
        ],
    }
}

fn service_down() -> Lesson {
    let payments = |label, breaker: bool| {
        let mut s = step(label, LabOperation::Deposit);
        s.faults = FaultSettings {
            outage: Outage::Hanging,
            ..FaultSettings::default()
        };
        s.policy.retries = false;
        s.policy.attempt_timeout_ms = 250;
        s.policy.deadline_ms = 250;
        s.policy.breaker = breaker;
        s.policy.breaker_window_calls = 6;
        s.policy.breaker_minimum_calls = 4;
        s.policy.breaker_open_ms = 800;
        s.policy.breaker_probes = 1;
        s.run = RunSpec {
            count: 50,
            pace_ms: 100,
            healthy_after: Some(20),
            ..RunSpec::default()
        };
        s
    };
    // When a breaker hurts: the outage is over before the breaker opens.
    let mut brief_outage = payments("breaker, 4-call outage", true);
    brief_outage.run.count = 24;
    brief_outage.run.healthy_after = Some(BRIEF_OUTAGE_CALLS);
    Lesson {
        id: "service-down",
        title: "Payment service down: waiting for timeouts vs failing fast",
        question: "The payment service hangs: it accepts requests and never answers. Each call \
                   waits 250 ms for its timeout (the seeds' 5 s × 1000 requests, scaled down to \
                   50 calls, one every 100 ms). After 20 calls the service recovers. How much time do callers \
                   waste, with and without a circuit breaker? And what does a breaker cost?",
        check: Check {
            prompt: "In the last step the service is down for the first four calls only. How \
                     many of the calls after them does the breaker refuse?",
            choices: &[
                "none: the service is back",
                "some: until its open time is over and a probe gets through",
                "all of them",
            ],
        },
        conclusion: "Without a breaker every call during the outage waited the full timeout — \
                     'time in failed calls' adds up to 20 × 250 ms. With a breaker, four timeouts \
                     were enough evidence: it opened and rejected the next calls in well under \
                     a millisecond, sending nothing. After 800 ms it let one probe through \
                     (half-open); the outage was not over, the probe timed out, and the breaker \
                     reopened for twice as long. Once the service was back the next probe \
                     succeeded and the breaker closed. That is the breaker's cost: it learns \
                     of the recovery only from a probe, so calls that would have succeeded \
                     were refused while it stayed open after the service was back (up to its \
                     open time, which grows after each failed probe) and until a probe got \
                     through. Here only about a dozen calls succeeded with the breaker, against \
                     30 without it — see 'OK' in the run summary. The last step shows that \
                     cost alone: the service was down for four calls only, but those four \
                     timeouts opened the breaker, and it refused the calls after them for \
                     its open time, though every one of them would have succeeded. A breaker \
                     trades a few refused calls after a short failure for a lot of waiting \
                     during a long one. At the seeds' own scale — 1000 calls, 5 s each — see \
                     the Scale view's lesson 'Payment service down: 1000 calls × 5 s'.",
        seed: 3,
        steps: vec![
            payments("no breaker", false),
            payments("circuit breaker", true),
            brief_outage,
        ],
    }
}

fn how_long_to_wait() -> Lesson {
    let sums = |label, timeout_ms| {
        let mut s = step(label, LabOperation::Add);
        s.faults = FaultSettings {
            delay_ms: 20,
            delay_jitter_ms: 280,
            ..FaultSettings::default()
        };
        s.policy.retries = false;
        s.policy.attempt_timeout_ms = timeout_ms;
        s.policy.deadline_ms = timeout_ms;
        s.run.count = 30;
        s.run.concurrency = 3;
        s
    };
    Lesson {
        id: "timeouts",
        title: "How long should a client wait?",
        question: "A healthy server answers in 20–300 ms. Set the timeout at 100 ms (it looks \
                   generous for a calculator) or at 400 ms. How many calls fail, and were any \
                   of them really failures?",
        check: Check {
            prompt: "At 100 ms, did the server run the calls the client gave up on?",
            choices: &["none of them", "some of them", "all of them"],
        },
        conclusion: "At 100 ms most calls timed out although the server would have answered a \
                     little later had the client waited: false timeouts, each a wasted request \
                     (and, retried, extra load). The client's deadline travelled with each \
                     request (grpc-timeout), so the server dropped most of them before doing \
                     the work — compare 'server executed' with the calls in the truth table. The latency histogram of the second step shows why: the timeout \
                     must sit above the tail of the real distribution (its p99), not at a \
                     guess. Measure first, then choose.",
        seed: 5,
        steps: vec![sums("timeout 100 ms", 100), sums("timeout 400 ms", 400)],
    }
}

fn when_to_stop() -> Lesson {
    let storm = |label, jitter, budget| {
        let mut s = step(label, LabOperation::Add);
        s.faults = FaultSettings {
            fail_pct: 60,
            ..FaultSettings::default()
        };
        s.policy.max_attempts = 5;
        s.policy.initial_backoff_ms = 50;
        s.policy.max_backoff_ms = 400;
        s.policy.jitter = jitter;
        s.policy.budget = budget;
        s.run.count = 24;
        s.run.concurrency = 8;
        s
    };
    Lesson {
        id: "retry-storm",
        title: "When to stop retrying: storms, jitter and a retry budget",
        question: "The server refuses 60 % of requests. Eight callers retry up to five times. \
                   Without jitter their retries may fall in lock-step; jitter spreads them \
                   out; with a retry budget they stop retrying while most calls fail. Which \
                   sends the fewest extra requests, and at what cost? (Here the failures are a \
                   fixed 60 % coin flip: the server is not overloaded, so retries cost it \
                   work but cannot make it fail more. For a server that really struggles, \
                   kept overloaded by its clients' retries after the trouble is gone, see the \
                   Scale view's lesson 'A metastable retry storm'.)",
        check: Check {
            prompt: "Which step sends the fewest attempts to the server?",
            choices: &["no jitter", "full jitter", "full jitter + budget"],
        },
        conclusion: "The eight callers start together, so their first attempts reach the server \
                     in one burst: the tall first bar of every strip above the timeline (pick \
                     'all steps' to see the strips one above the other). Without jitter a caller \
                     then waits exactly 50, 100, 200 or 400 ms: with instant replies its attempts \
                     would stay on a 50 ms grid (stripes). Here they drift off it within a few \
                     hundred milliseconds, because each attempt takes an uneven few tens of \
                     milliseconds in this browser — mostly its own work: the server decides in \
                     under a millisecond (see the server's view). So the 'no jitter' and 'full \
                     jitter' strips look alike, as do their attempt counts; full jitter's waits \
                     are half as long on average, so its step ends sooner. Lock-step retries need \
                     many callers failing at once, as after an outage; jitter is cheap insurance \
                     against them. What reduces the load is the budget (gRFC A6): each failure \
                     costs a token, each success earns a tenth, and below half the bucket the \
                     client fails fast instead of retrying — see the attempts per call and the \
                     budget plot. Whether retries can sink a server is a question of capacity, \
                     not of a coin flip: see the Scale view's metastable lesson.",
        seed: 13,
        steps: vec![
            storm("no jitter", Jitter::None, false),
            storm("full jitter", Jitter::Full, false),
            storm("full jitter + budget", Jitter::Full, true),
        ],
    }
}

fn one_slow_call() -> Lesson {
    let sums = |label, timeout_ms| {
        let mut s = step(label, LabOperation::Add);
        s.faults = FaultSettings {
            delay_ms: 2000,
            delay_pct: 10,
            ..FaultSettings::default()
        };
        s.policy.max_attempts = 3;
        s.policy.attempt_timeout_ms = timeout_ms;
        s.policy.deadline_ms = 0;
        s.run.count = 16;
        s.run.concurrency = 4;
        s
    };
    Lesson {
        id: "one-slow-call",
        title: "Timeouts without blocking other requests",
        question: "Four calls run at a time; one request in ten gets stuck for 2 s. Does the \
                   stuck call hold up the others? And what does a per-attempt timeout change?",
        check: Check {
            prompt: "With a 300 ms timeout per attempt, how long does the slowest call take?",
            choices: &[
                "about 2 s, as without a timeout",
                "a little over 300 ms: the timeout, then a quick retry",
                "under 100 ms",
            ],
        },
        conclusion: "The calls are asynchronous: while one row waits, the other rows keep \
                     starting and finishing — nothing is blocked, but without a timeout the \
                     stuck call itself takes 2 s. With a 300 ms per-attempt timeout the stuck \
                     attempt is abandoned and a retry answers at once: the slowest call drops \
                     from 2 s to about 300 ms. The abandoned attempt did not execute only \
                     because its deadline (sent as grpc-timeout) ran out during the injected \
                     delay, before the server started the work. A timeout is not a cancel: a \
                     request the server starts before the deadline runs to the end even if the \
                     client gives up meanwhile — the client then sees DEADLINE_EXCEEDED for work \
                     that was done.",
        seed: 17,
        steps: vec![sums("no timeout", 0), sums("300 ms per attempt", 300)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lesson_is_well_formed() {
        let lessons = all();
        assert!(lessons.len() >= 7);
        let mut ids: Vec<_> = lessons.iter().map(|l| l.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), lessons.len(), "ids are unique");
        for lesson in &lessons {
            assert!(lesson.steps.len() >= 2, "{} compares something", lesson.id);
            for step in &lesson.steps {
                assert!(
                    step.policy.problems().is_empty(),
                    "{} / {}: {:?}",
                    lesson.id,
                    step.label,
                    step.policy.problems()
                );
                assert!(step.form.call(step.operation).is_ok());
                assert!(step.run.count > 0 && step.run.concurrency > 0);
            }
            assert_eq!(find(lesson.id).as_ref(), Some(lesson));
        }
    }

    /// A student's report: lesson texts that were false or hid a cost. The
    /// timeout lesson said flatly the server does not execute an abandoned
    /// attempt (only true when the deadline passes before the work starts);
    /// the breaker lesson gave the benefit but not the refused calls after
    /// the recovery.
    #[test]
    fn conclusions_state_their_conditions_and_costs() {
        let slow = find("one-slow-call").unwrap().conclusion;
        assert!(!slow.contains("does not execute it"), "{slow}");
        assert!(
            slow.contains("before the server started the work"),
            "{slow}"
        );
        assert!(slow.contains("not a cancel"), "{slow}");
        let down = find("service-down").unwrap().conclusion;
        assert!(down.contains("cost"), "{down}");
        assert!(down.contains("refused while it stayed open after the service was back"));
        assert!(down.contains("30 without it"), "{down}");
    }

    #[test]
    fn withdrawing_needs_money_first() {
        for lesson in all() {
            for step in &lesson.steps {
                if step.operation == LabOperation::Withdraw {
                    let asked = i64::from(step.run.count) * 5_00;
                    assert!(step.opening_deposit_cents >= asked, "{}", lesson.id);
                }
            }
        }
    }
}
