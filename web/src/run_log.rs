//! What happened in a run, shaped for the plots.
//!
//! The resilience core reports every decision as an [`Event`]; this module
//! folds that stream into what the page draws: one row per logical call with
//! its attempts and backoff gaps ([`CallRow`]), the breaker's state over time
//! ([`BreakerSpan`]) with its rolling failure rate, the retry budget's tokens,
//! and the latencies of calls and attempts. It is a reducer over plain data —
//! no browser, no clock — so every rule here is tested natively.
//!
//! A lesson runs in *steps* (say, "without keys" then "with keys"); each step
//! has its own caller, whose calls are numbered from 1 again, so rows are
//! numbered by the log instead. Times are milliseconds since the run began.

use std::collections::HashMap;
use std::time::Duration;

use rpc_lab::resilience::{BreakerState, Event, EventKind, GaveUp};
use rpc_lab::status::code_name;
use tonic::Code;

/// How one attempt ended, as the timeline colours (and patterns) it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttemptOutcome {
    /// Sent, no answer yet.
    InFlight,
    /// Answered `OK` by an execution.
    Ok,
    /// Answered from the idempotency store: the server did not execute again.
    Replayed,
    /// The server refused before executing (`x-fault-injected: fail`).
    InjectedFail,
    /// The server executed, then "lost" the reply (`x-fault-injected: drop`).
    DroppedReply,
    /// The attempt ran out of time (`DEADLINE_EXCEEDED`).
    Timeout,
    /// Cancelled because a hedged twin answered first.
    Cancelled,
    /// Any other error: the request itself was wrong, or the server broke.
    Error,
    /// Never sent: the circuit breaker refused it.
    RejectedByBreaker,
}

impl AttemptOutcome {
    /// Every outcome, in legend order.
    pub const ALL: [AttemptOutcome; 9] = [
        AttemptOutcome::Ok,
        AttemptOutcome::Replayed,
        AttemptOutcome::InjectedFail,
        AttemptOutcome::DroppedReply,
        AttemptOutcome::Timeout,
        AttemptOutcome::Error,
        AttemptOutcome::Cancelled,
        AttemptOutcome::RejectedByBreaker,
        AttemptOutcome::InFlight,
    ];

    /// A stable name for `data-outcome`, CSS classes and the export.
    pub fn slug(self) -> &'static str {
        match self {
            AttemptOutcome::InFlight => "in-flight",
            AttemptOutcome::Ok => "ok",
            AttemptOutcome::Replayed => "replayed",
            AttemptOutcome::InjectedFail => "injected-fail",
            AttemptOutcome::DroppedReply => "dropped-reply",
            AttemptOutcome::Timeout => "timeout",
            AttemptOutcome::Cancelled => "cancelled",
            AttemptOutcome::Error => "error",
            AttemptOutcome::RejectedByBreaker => "rejected",
        }
    }

    /// What the legend says.
    pub fn label(self) -> &'static str {
        match self {
            AttemptOutcome::InFlight => "in flight",
            AttemptOutcome::Ok => "OK (executed)",
            AttemptOutcome::Replayed => "replayed from key",
            AttemptOutcome::InjectedFail => "failed before executing",
            AttemptOutcome::DroppedReply => "executed, reply lost",
            AttemptOutcome::Timeout => "timed out",
            AttemptOutcome::Cancelled => "cancelled (hedge lost)",
            AttemptOutcome::Error => "other error",
            AttemptOutcome::RejectedByBreaker => "rejected by breaker",
        }
    }

    /// Classifies an ended attempt from what its reply said.
    pub fn of(code: Code, fault_injected: Option<&str>, replayed: bool) -> AttemptOutcome {
        match (code, fault_injected) {
            _ if replayed => AttemptOutcome::Replayed,
            (Code::Ok, _) => AttemptOutcome::Ok,
            (_, Some("fail")) => AttemptOutcome::InjectedFail,
            (_, Some("drop")) => AttemptOutcome::DroppedReply,
            (Code::DeadlineExceeded, _) => AttemptOutcome::Timeout,
            (Code::Cancelled, _) => AttemptOutcome::Cancelled,
            _ => AttemptOutcome::Error,
        }
    }
}

/// One attempt on the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct AttemptSegment {
    /// 1 for the first attempt of its call.
    pub number: u32,
    pub hedge: bool,
    pub start_ms: f64,
    /// `None` while in flight; equal to `start_ms` for a rejection.
    pub end_ms: Option<f64>,
    pub outcome: AttemptOutcome,
}

/// A wait between two attempts.
#[derive(Clone, Debug, PartialEq)]
pub struct BackoffGap {
    pub start_ms: f64,
    pub end_ms: f64,
}

/// One logical call: a row of the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct CallRow {
    /// Numbered from 1 across the whole run.
    pub row: usize,
    /// The lesson step it belongs to (0 for a plain run).
    pub step: usize,
    pub operation: &'static str,
    /// The idempotency key every attempt sent, if keys were on.
    pub key: Option<String>,
    pub start_ms: f64,
    pub end_ms: Option<f64>,
    /// `None` while running; `Some(Code::Ok)` for a success.
    pub code: Option<Code>,
    pub gave_up: Option<GaveUp>,
    pub attempts: Vec<AttemptSegment>,
    pub backoffs: Vec<BackoffGap>,
}

impl CallRow {
    pub fn succeeded(&self) -> bool {
        self.code == Some(Code::Ok)
    }

    /// Attempts that reached the transport (rejections were never sent).
    pub fn attempts_sent(&self) -> usize {
        self.attempts
            .iter()
            .filter(|a| a.outcome != AttemptOutcome::RejectedByBreaker)
            .count()
    }

    pub fn elapsed_ms(&self) -> Option<f64> {
        self.end_ms.map(|end| end - self.start_ms)
    }
}

/// The breaker stayed in `state` from `start_ms` to `end_ms` (`None`: still).
#[derive(Clone, Debug, PartialEq)]
pub struct BreakerSpan {
    pub step: usize,
    pub state: BreakerState,
    pub start_ms: f64,
    pub end_ms: Option<f64>,
}

/// A value sampled at a time: a failure rate (%) or a token count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    pub at_ms: f64,
    pub value: f64,
}

/// An event as it is kept for the export: when, in which step and row.
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedEvent {
    pub at_ms: f64,
    pub step: usize,
    /// The row of the call it belongs to; 0 outside any call.
    pub row: usize,
    pub kind: EventKind,
}

/// Everything the plots draw, for one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunLog {
    /// The page clock's reading when the run began.
    origin: Duration,
    step: usize,
    /// (step, the caller's call number) → index in `calls`.
    rows: HashMap<(usize, u64), usize>,
    pub calls: Vec<CallRow>,
    pub breaker: Vec<BreakerSpan>,
    /// The closed breaker's failure rate (%) after each attempt it judged.
    pub failure_rate: Vec<Sample>,
    /// The retry budget's tokens after each change.
    pub tokens: Vec<Sample>,
    /// Every event, for the export.
    pub events: Vec<LoggedEvent>,
    /// The clock reading of the latest event, relative to the origin.
    pub last_ms: f64,
}

impl RunLog {
    /// An empty log whose times count from `origin` (the page clock's reading).
    pub fn new(origin: Duration) -> Self {
        RunLog {
            origin,
            ..RunLog::default()
        }
    }

    /// Milliseconds since the run began.
    pub fn ms(&self, at: Duration) -> f64 {
        at.saturating_sub(self.origin).as_secs_f64() * 1000.0
    }

    /// A new step begins at `at`; its caller's breaker (if it has one) is
    /// in state `breaker` (closed for a fresh caller).
    pub fn begin_step(&mut self, step: usize, at: Duration, breaker: Option<BreakerState>) {
        let now = self.ms(at);
        self.close_breaker_span(now);
        self.step = step;
        if let Some(state) = breaker {
            self.breaker.push(BreakerSpan {
                step,
                state,
                start_ms: now,
                end_ms: None,
            });
        }
        self.last_ms = self.last_ms.max(now);
    }

    /// The step is over: the breaker band stops here.
    pub fn end_step(&mut self, at: Duration) {
        let now = self.ms(at);
        self.close_breaker_span(now);
        self.last_ms = self.last_ms.max(now);
    }

    fn close_breaker_span(&mut self, now: f64) {
        if let Some(span) = self.breaker.last_mut()
            && span.end_ms.is_none()
        {
            span.end_ms = Some(now);
        }
    }

    /// Folds one event from the current step's caller into the log.
    pub fn record(&mut self, event: Event) {
        let at = self.ms(event.at);
        self.last_ms = self.last_ms.max(at);
        let step = self.step;
        if let EventKind::CallStarted { operation, key, .. } = &event.kind {
            let row = self.calls.len() + 1;
            self.rows.insert((step, event.call), row - 1);
            self.calls.push(CallRow {
                row,
                step,
                operation,
                key: key.map(|k| k.to_string()),
                start_ms: at,
                end_ms: None,
                code: None,
                gave_up: None,
                attempts: Vec::new(),
                backoffs: Vec::new(),
            });
        }
        let index = self.rows.get(&(step, event.call)).copied();
        self.events.push(LoggedEvent {
            at_ms: at,
            step,
            row: index.map_or(0, |i| i + 1),
            kind: event.kind.clone(),
        });
        match event.kind {
            EventKind::BreakerTransition { to, .. } => {
                self.close_breaker_span(at);
                self.breaker.push(BreakerSpan {
                    step,
                    state: to,
                    start_ms: at,
                    end_ms: None,
                });
            }
            EventKind::BreakerWindow { counts } => {
                if let Some(rate) = counts.failure_rate() {
                    self.failure_rate.push(Sample {
                        at_ms: at,
                        value: rate,
                    });
                }
            }
            EventKind::BudgetUpdated { tokens } | EventKind::BudgetRefused { tokens } => {
                self.tokens.push(Sample {
                    at_ms: at,
                    value: tokens,
                });
            }
            kind => {
                if let Some(call) = index.and_then(|i| self.calls.get_mut(i)) {
                    call_event(call, at, kind);
                }
            }
        }
    }

    /// Latencies of the finished calls of one step (or of all, for `None`)
    /// and of their finished attempts that were sent, in milliseconds — read
    /// off the same rows and segments the timeline draws.
    pub fn latencies(&self, step: Option<usize>) -> (Vec<f64>, Vec<f64>) {
        let calls = self
            .calls
            .iter()
            .filter(|c| step.is_none_or(|step| c.step == step));
        let call_latencies = calls.clone().filter_map(CallRow::elapsed_ms).collect();
        let attempt_latencies = calls
            .flat_map(|c| &c.attempts)
            .filter(|a| a.outcome != AttemptOutcome::RejectedByBreaker)
            .filter_map(|a| a.end_ms.map(|end| end - a.start_ms))
            .collect();
        (call_latencies, attempt_latencies)
    }

    /// How many steps the log has seen (at least 1).
    pub fn steps(&self) -> usize {
        self.calls.iter().map(|c| c.step + 1).max().unwrap_or(1)
    }

    /// The newest `limit` rows: what the timeline can show legibly.
    pub fn recent_calls(&self, limit: usize) -> &[CallRow] {
        &self.calls[self.calls.len().saturating_sub(limit)..]
    }

    /// Totals of one step, for the summary table.
    pub fn tally(&self, step: usize) -> Tally {
        let mut tally = Tally::default();
        for call in self.calls.iter().filter(|c| c.step == step) {
            tally.calls += 1;
            match call.code {
                Some(Code::Ok) => tally.ok += 1,
                Some(_) => {
                    tally.failed += 1;
                    tally.failed_ms += call.elapsed_ms().unwrap_or(0.0);
                }
                None => {}
            }
            tally.attempts += call.attempts_sent();
            if call.gave_up == Some(GaveUp::BreakerOpen) {
                tally.rejected += 1;
            }
            let mut executions_answered = 0;
            for attempt in &call.attempts {
                match attempt.outcome {
                    AttemptOutcome::Timeout => tally.timeouts += 1,
                    AttemptOutcome::Replayed => tally.replayed += 1,
                    AttemptOutcome::DroppedReply => tally.dropped += 1,
                    AttemptOutcome::Cancelled => tally.cancelled += 1,
                    // An answer that came from a handler (or, for an error,
                    // may have: counting too many here can only hide an
                    // unseen execution, never invent one).
                    AttemptOutcome::Ok | AttemptOutcome::Error => executions_answered += 1,
                    _ => {}
                }
            }
            // A call whose final answer came from the idempotency store got
            // the outcome of its one execution late, but it got it.
            let replay_answered = executions_answered == 0
                && call.code.is_some_and(is_stored_outcome)
                && call
                    .attempts
                    .iter()
                    .any(|a| a.outcome == AttemptOutcome::Replayed);
            tally.answered += executions_answered + usize::from(replay_answered);
            let elapsed = call.elapsed_ms().unwrap_or(0.0);
            tally.busy_ms += elapsed;
            tally.slowest_ms = tally.slowest_ms.max(elapsed);
            tally.first_ms = Some(
                tally
                    .first_ms
                    .map_or(call.start_ms, |f: f64| f.min(call.start_ms)),
            );
            if let Some(end) = call.end_ms {
                tally.last_ms = tally.last_ms.max(end);
            }
        }
        tally
    }
}

/// Applies an attempt-level event to its call.
fn call_event(call: &mut CallRow, at: f64, kind: EventKind) {
    match kind {
        EventKind::AttemptStarted { attempt, hedge, .. } => {
            call.attempts.push(AttemptSegment {
                number: attempt,
                hedge,
                start_ms: at,
                end_ms: None,
                outcome: AttemptOutcome::InFlight,
            });
        }
        EventKind::AttemptEnded {
            attempt,
            code,
            fault_injected,
            replayed,
            ..
        } => {
            if let Some(segment) = call
                .attempts
                .iter_mut()
                .rev()
                .find(|a| a.number == attempt && a.end_ms.is_none())
            {
                segment.end_ms = Some(at);
                segment.outcome = AttemptOutcome::of(code, fault_injected.as_deref(), replayed);
            }
        }
        EventKind::BackoffChosen { delay, .. } => {
            call.backoffs.push(BackoffGap {
                start_ms: at,
                end_ms: at + delay.as_secs_f64() * 1000.0,
            });
        }
        EventKind::RejectedByBreaker { attempt, .. } => {
            call.attempts.push(AttemptSegment {
                number: attempt,
                hedge: false,
                start_ms: at,
                end_ms: Some(at),
                outcome: AttemptOutcome::RejectedByBreaker,
            });
        }
        EventKind::CallEnded { code, gave_up, .. } => {
            call.end_ms = Some(at);
            call.code = Some(code);
            call.gave_up = gave_up;
        }
        _ => {}
    }
}

/// A step's totals: what the summary table and the lessons' conclusions read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    /// Logical calls started.
    pub calls: usize,
    pub ok: usize,
    pub failed: usize,
    /// Attempts that reached the network.
    pub attempts: usize,
    /// Calls that failed because the breaker was open (nothing sent).
    pub rejected: usize,
    /// Attempts that timed out — attempts, not calls: a call may retry
    /// after a timeout and succeed.
    pub timeouts: usize,
    pub replayed: usize,
    /// Attempts the server executed and then lost the reply of.
    pub dropped: usize,
    /// Hedged attempts cancelled because a twin answered first.
    pub cancelled: usize,
    /// Executions whose outcome reached the client: attempts answered by a
    /// handler (OK, or an error other than an injected fault or a timeout),
    /// and calls whose final answer was a replay of their execution's stored
    /// outcome. The server's executions minus these ran without the client
    /// ever learning how they ended.
    pub answered: usize,
    /// Time spent in calls that failed in the end: the seeds' "time wasted".
    pub failed_ms: f64,
    /// Sum of every call's duration.
    pub busy_ms: f64,
    /// The longest call's duration.
    pub slowest_ms: f64,
    pub first_ms: Option<f64>,
    pub last_ms: f64,
}

impl Tally {
    /// From the first call's start to the last call's end.
    pub fn wall_ms(&self) -> f64 {
        self.first_ms
            .map_or(0.0, |first| (self.last_ms - first).max(0.0))
    }
}

/// The codes the idempotency store keeps and replays: a call ending with
/// one of them after a replay learned its execution's outcome.
fn is_stored_outcome(code: Code) -> bool {
    matches!(
        code,
        Code::Ok
            | Code::InvalidArgument
            | Code::NotFound
            | Code::FailedPrecondition
            | Code::OutOfRange
    )
}

/// The code's name, or "running" for a call not yet finished.
pub fn code_label(code: Option<Code>) -> &'static str {
    code.map_or("running", code_name)
}

#[cfg(test)]
mod tests {
    use rpc_lab::resilience::Counts;

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn event(at_ms: u64, call: u64, kind: EventKind) -> Event {
        Event {
            at: MS * at_ms as u32 + Duration::from_secs(100),
            call,
            kind,
        }
    }

    fn started(at: u64, call: u64) -> Event {
        event(
            at,
            call,
            EventKind::CallStarted {
                operation: "withdraw",
                idempotent: false,
                key: None,
            },
        )
    }

    fn attempt(at: u64, call: u64, attempt: u32) -> Event {
        event(
            at,
            call,
            EventKind::AttemptStarted {
                attempt,
                hedge: false,
                timeout: None,
            },
        )
    }

    fn ended(at: u64, call: u64, attempt: u32, code: Code, fault: Option<&str>) -> Event {
        event(
            at,
            call,
            EventKind::AttemptEnded {
                attempt,
                code,
                latency: MS * 10,
                fault_injected: fault.map(str::to_owned),
                replayed: false,
            },
        )
    }

    fn call_ended(at: u64, call: u64, code: Code) -> Event {
        event(
            at,
            call,
            EventKind::CallEnded {
                code,
                attempts: 2,
                elapsed: MS * (at as u32),
                gave_up: None,
            },
        )
    }

    fn log() -> RunLog {
        RunLog::new(Duration::from_secs(100))
    }

    #[test]
    fn a_retried_call_is_one_row_with_two_attempts_and_a_gap() {
        let mut log = log();
        for e in [
            started(0, 1),
            attempt(0, 1, 1),
            ended(10, 1, 1, Code::Unavailable, Some("drop")),
            event(
                10,
                1,
                EventKind::BackoffChosen {
                    next_attempt: 2,
                    delay: MS * 50,
                    source: rpc_lab::resilience::DelaySource::Backoff,
                },
            ),
            attempt(60, 1, 2),
            ended(70, 1, 2, Code::Ok, None),
            call_ended(70, 1, Code::Ok),
        ] {
            log.record(e);
        }
        assert_eq!(log.calls.len(), 1);
        let row = &log.calls[0];
        let outcomes: Vec<_> = row.attempts.iter().map(|a| a.outcome).collect();
        assert_eq!(outcomes, [AttemptOutcome::DroppedReply, AttemptOutcome::Ok]);
        assert_eq!(
            row.backoffs,
            [BackoffGap {
                start_ms: 10.0,
                end_ms: 60.0
            }]
        );
        assert_eq!((row.elapsed_ms(), row.succeeded()), (Some(70.0), true));
        assert_eq!(log.latencies(None), (vec![70.0], vec![10.0, 10.0]));
        assert_eq!(log.latencies(Some(0)), (vec![70.0], vec![10.0, 10.0]));
        assert_eq!(log.latencies(Some(1)), (vec![], vec![]));
        assert_eq!(log.steps(), 1);
        assert_eq!(log.events.len(), 7);
    }

    #[test]
    fn steps_number_rows_across_callers_that_restart_at_one() {
        let mut log = log();
        log.begin_step(0, Duration::from_secs(100), None);
        log.record(started(0, 1));
        log.record(call_ended(5, 1, Code::Ok));
        log.begin_step(1, Duration::from_secs(100) + MS * 10, None);
        log.record(started(10, 1));
        log.record(call_ended(20, 1, Code::Unavailable));
        let rows: Vec<_> = log.calls.iter().map(|c| (c.row, c.step, c.code)).collect();
        assert_eq!(
            rows,
            [(1, 0, Some(Code::Ok)), (2, 1, Some(Code::Unavailable))]
        );
        assert_eq!((log.tally(0).ok, log.tally(1).failed), (1, 1));
        assert_eq!(log.tally(1).failed_ms, 10.0);
    }

    #[test]
    fn the_breaker_band_follows_transitions_and_steps() {
        let mut log = log();
        log.begin_step(0, Duration::from_secs(100), Some(BreakerState::Closed));
        for (at, rate) in [(1, 0.0), (2, 50.0)] {
            log.record(event(
                at,
                1,
                EventKind::BreakerWindow {
                    counts: Counts {
                        calls: 2,
                        failures: (rate / 50.0) as u32,
                        slow: 0,
                    },
                },
            ));
        }
        log.record(event(
            2,
            1,
            EventKind::BreakerTransition {
                from: BreakerState::Closed,
                to: BreakerState::Open,
            },
        ));
        log.record(started(3, 2));
        log.record(event(
            3,
            2,
            EventKind::RejectedByBreaker {
                attempt: 1,
                state: BreakerState::Open,
            },
        ));
        log.end_step(Duration::from_secs(100) + MS * 9);
        let band: Vec<_> = log
            .breaker
            .iter()
            .map(|s| (s.state, s.start_ms, s.end_ms))
            .collect();
        assert_eq!(
            band,
            [
                (BreakerState::Closed, 0.0, Some(2.0)),
                (BreakerState::Open, 2.0, Some(9.0))
            ]
        );
        let rates: Vec<f64> = log.failure_rate.iter().map(|s| s.value).collect();
        assert_eq!(rates, [0.0, 50.0]);
        let rejected = &log.calls[0].attempts[0];
        assert_eq!(rejected.outcome, AttemptOutcome::RejectedByBreaker);
        assert_eq!(log.calls[0].attempts_sent(), 0);
    }

    #[test]
    fn outcomes_are_classified_from_the_reply() {
        use AttemptOutcome as O;
        assert_eq!(O::of(Code::Ok, None, true), O::Replayed);
        assert_eq!(O::of(Code::Unavailable, None, true), O::Replayed);
        assert_eq!(O::of(Code::Ok, Some("delay"), false), O::Ok);
        assert_eq!(
            O::of(Code::Unavailable, Some("fail"), false),
            O::InjectedFail
        );
        assert_eq!(
            O::of(Code::Unavailable, Some("drop"), false),
            O::DroppedReply
        );
        assert_eq!(
            O::of(Code::DeadlineExceeded, Some("delay"), false),
            O::Timeout
        );
        assert_eq!(O::of(Code::Cancelled, None, false), O::Cancelled);
        assert_eq!(O::of(Code::FailedPrecondition, None, false), O::Error);
        let slugs: std::collections::HashSet<_> = O::ALL.iter().map(|o| o.slug()).collect();
        assert_eq!(slugs.len(), O::ALL.len(), "slugs are distinct");
    }

    /// Issue 10: what the client saw of each attempt, counted per step, so
    /// the truth table can tell executions the client never heard of.
    #[test]
    fn a_tally_counts_answers_lost_replies_and_replays() {
        let mut log = log();
        let replayed_drop = event(
            40,
            2,
            EventKind::AttemptEnded {
                attempt: 2,
                code: Code::Unavailable,
                latency: MS * 10,
                fault_injected: Some("drop".into()),
                replayed: true,
            },
        );
        let replayed_ok = event(
            100,
            4,
            EventKind::AttemptEnded {
                attempt: 2,
                code: Code::Ok,
                latency: MS * 10,
                fault_injected: None,
                replayed: true,
            },
        );
        for e in [
            started(0, 1),
            attempt(0, 1, 1),
            ended(10, 1, 1, Code::Ok, None),
            call_ended(10, 1, Code::Ok),
            started(20, 2),
            attempt(20, 2, 1),
            ended(30, 2, 1, Code::Unavailable, Some("drop")),
            attempt(30, 2, 2),
            replayed_drop,
            attempt(40, 2, 3),
            ended(50, 2, 3, Code::DeadlineExceeded, None),
            call_ended(50, 2, Code::DeadlineExceeded),
            started(60, 3),
            attempt(60, 3, 1),
            ended(70, 3, 1, Code::FailedPrecondition, None),
            call_ended(70, 3, Code::FailedPrecondition),
            // Executed, reply lost; the retry is answered from the store.
            started(80, 4),
            attempt(80, 4, 1),
            ended(90, 4, 1, Code::Unavailable, Some("drop")),
            attempt(90, 4, 2),
            replayed_ok,
            call_ended(100, 4, Code::Ok),
        ] {
            log.record(e);
        }
        let t = log.tally(0);
        assert_eq!((t.calls, t.ok, t.failed, t.attempts), (4, 2, 2, 7));
        assert_eq!(
            (t.dropped, t.replayed, t.timeouts),
            (2, 2, 1),
            "the replayed drop is a replay, not an execution whose reply was lost"
        );
        // Calls 1 and 3 were answered by their execution, call 4 by the
        // replay of its execution; call 2's one execution was never answered.
        assert_eq!(t.answered, 3);
    }

    #[test]
    fn budget_tokens_are_sampled() {
        let mut log = log();
        log.record(event(1, 1, EventKind::BudgetUpdated { tokens: 9.0 }));
        log.record(event(2, 1, EventKind::BudgetRefused { tokens: 4.5 }));
        let tokens: Vec<_> = log.tokens.iter().map(|s| (s.at_ms, s.value)).collect();
        assert_eq!(tokens, [(1.0, 9.0), (2.0, 4.5)]);
    }
}
