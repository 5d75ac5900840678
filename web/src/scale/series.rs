//! A load run as the Scale view draws it: the engine's snapshots, folded into
//! plot series and a summary.
//!
//! `Lab/RunLoad` streams a `LoadSnapshot` every 100 ms, then a final one that
//! sums the run. [`ScaleRun`] is the reducer that keeps them: each action
//! (a run started, a snapshot arrived, the student stopped it, the server
//! refused it...) makes the next state, and the plots read series from it.
//! Pure data and arithmetic, tested natively; the component only dispatches.
//!
//! Every number the page shows comes from here and is the server's own: the
//! summary takes the final message as it is (or, for a run stopped before
//! its final message, the sum of the windows received, and says so), and
//! derived numbers — attempts per call, useful work — are one division each,
//! written out beside the inputs.

use std::rc::Rc;

use rpc_lab::proto::calculator_v1::{Capacity, LoadScenario, LoadSnapshot, PaymentBreakerState};
use yew::Reducible;

use super::lessons::{self, StepNumbers};
use super::scenario::name;
use crate::run_log::Sample;

/// What the run is doing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Phase {
    /// No run yet.
    #[default]
    Idle,
    /// Run was pressed; no snapshot yet.
    Starting,
    Running,
    /// The final message arrived.
    Done,
    /// The student pressed Stop: the stream was dropped, the server stopped the run.
    Stopped,
    /// The server refused the run, or the stream broke (see `error`).
    Failed,
}

impl Phase {
    /// The phase as `data-phase` says it.
    pub fn slug(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Starting => "starting",
            Phase::Running => "running",
            Phase::Done => "done",
            Phase::Stopped => "stopped",
            Phase::Failed => "failed",
        }
    }

    pub fn busy(self) -> bool {
        matches!(self, Phase::Starting | Phase::Running)
    }
}

/// One 100 ms window, as the plots need it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Window {
    /// The window's end, in ms since the run started.
    pub at_ms: f64,
    pub offered: f64,
    pub goodput: f64,
    /// `None` when no call ended in the window (no latency to show, not 0).
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub queue: f64,
    pub executing: f64,
    pub retries: f64,
    /// Breakers in each state at the window's end.
    pub breakers: [u32; 3],
    /// The server's payment breaker (the front tier's client of payment)
    /// in the same shape: one breaker, in one of the states; all 0 when
    /// that client has none.
    pub payment_breaker: [u32; 3],
    pub tokens: Option<f64>,
    /// The background calls' goodput and p99 (`None`: the run has no
    /// background; the p99 also when none of its calls ended).
    pub bg_goodput: Option<f64>,
    pub bg_p99: Option<f64>,
    /// Checkouts waiting on payment, each holding a front worker.
    pub waiting: f64,
}

impl Window {
    fn from(s: &LoadSnapshot) -> Window {
        let ended = s.calls_succeeded + s.calls_failed > 0;
        Window {
            at_ms: f64::from(s.elapsed_ms),
            offered: s.offered_attempts_per_second,
            goodput: s.goodput_per_second,
            p50: ended.then_some(s.latency_p50_ms),
            p99: ended.then_some(s.latency_p99_ms),
            queue: s.queue_depth as f64,
            executing: s.executions_in_flight as f64,
            retries: s.retries_per_second,
            breakers: [s.breakers_closed, s.breakers_half_open, s.breakers_open],
            payment_breaker: match s.payment_breaker() {
                PaymentBreakerState::Unspecified => [0, 0, 0],
                PaymentBreakerState::Closed => [1, 0, 0],
                PaymentBreakerState::HalfOpen => [0, 1, 0],
                PaymentBreakerState::Open => [0, 0, 1],
            },
            tokens: s.budget_tokens,
            bg_goodput: s.background.map(|b| b.goodput_per_second),
            bg_p99: s
                .background
                .filter(|b| b.calls_succeeded + b.calls_failed > 0)
                .map(|b| b.latency_p99_ms),
            waiting: f64::from(s.waiting_on_payment),
        }
    }
}

/// Counts of the whole run (from the final message) or of the windows
/// received so far (a stopped run).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    pub elapsed_ms: f64,
    pub calls: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub attempts: u64,
    pub retries: u64,
    pub breaker_rejections: u64,
    pub not_sent: u64,
    /// Executions of the run's operation the server counted during the run.
    pub executions: u64,
    pub wasted_ms: f64,
    /// The background calls, counted apart (`None`: the run has none).
    pub background: Option<BackgroundTotals>,
}

/// The background calls of a run (the `Add`s beside the cascade lesson's
/// checkouts): a second operation, whose numbers must never be mixed into
/// the run's own.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BackgroundTotals {
    pub calls: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub not_sent: u64,
    /// Over the whole run (final message only: windows' p99s do not add up).
    pub p99_ms: Option<f64>,
}

impl Totals {
    fn add(&mut self, s: &LoadSnapshot) {
        self.elapsed_ms = f64::from(s.elapsed_ms);
        self.calls += s.calls_started;
        self.succeeded += s.calls_succeeded;
        self.failed += s.calls_failed;
        self.attempts += s.attempts_sent;
        self.retries += s.retries;
        self.breaker_rejections += s.breaker_rejections;
        self.not_sent += s.calls_not_sent;
        self.executions += s.server_executions;
        self.wasted_ms += s.wasted_client_ms;
        if let Some(b) = &s.background {
            let t = self.background.get_or_insert_default();
            t.calls += b.calls_started;
            t.succeeded += b.calls_succeeded;
            t.failed += b.calls_failed;
            t.not_sent += b.calls_not_sent;
            t.p99_ms = s.r#final.then_some(b.latency_p99_ms);
        }
    }

    fn of(s: &LoadSnapshot) -> Totals {
        let mut t = Totals::default();
        t.add(s);
        t
    }
}

/// The server's counters for the run's session once its work has drained
/// (`Lab/GetStats`; the session is reset before each run, so they are the
/// run's). Under FINISH the server goes on executing work for clients that
/// gave up after the last call ended: these include it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerCounts {
    /// Executions of the run's operation.
    pub executions: u64,
    /// Executions of the background calls' operation.
    pub background_executions: u64,
    /// Of all executions, for a client that had already gone.
    pub abandoned: u64,
    pub skipped: u64,
    /// Stopped before they ran, and while they ran (their client gone).
    pub cancelled: u64,
    pub interrupted: u64,
    pub refused: u64,
    /// Checkouts the front tier's payment client gave up on after its
    /// attempts, refused at its breaker, refused at its bulkhead, and whose
    /// shopper left while they waited on payment.
    pub payment_failed: u64,
    pub breaker_refused: u64,
    pub bulkhead_full: u64,
    pub checkouts_abandoned: u64,
}

/// A run's numbers for the summary.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// From the final message; false: the windows received before Stop.
    pub whole_run: bool,
    pub totals: Totals,
    /// Successful calls per second of the run.
    pub goodput: f64,
    /// Attempts per logical call.
    pub amplification: Option<f64>,
    /// Executions the useful-work share is over: the server's count once
    /// drained if known, else its count during the run.
    pub executions: u64,
    /// Successful calls ÷ executions.
    pub useful: Option<f64>,
}

/// The Scale view's state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScaleRun {
    /// Which press of Run this is (snapshots of an older run are ignored).
    pub run: u32,
    pub phase: Phase,
    /// The server's refusal or the stream's failure, in its own words.
    pub error: Option<String>,
    pub duration_ms: u32,
    pub capacity: Option<Capacity>,
    pub attempt_timeout_ms: Option<u32>,
    pub deadline_ms: Option<u32>,
    pub budget_tokens: Option<f64>,
    /// The run's operation and its background calls', by name ("Checkout",
    /// "Add"; `None`: no background calls).
    pub operation: &'static str,
    pub background: Option<&'static str>,
    /// The run has a payment tier; its background calls' timeout.
    pub payment: bool,
    pub background_timeout_ms: Option<u32>,
    pub windows: Vec<Window>,
    /// The sum of the windows received.
    pub received: Totals,
    pub last: Option<LoadSnapshot>,
    /// When the first and the latest message arrived, in ms after Run was
    /// pressed (page clock): a stream buffered on its way arrives all at once.
    pub first_arrival_ms: Option<f64>,
    pub last_arrival_ms: Option<f64>,
    pub server: Option<ServerCounts>,
    /// The lesson step this run is (its numbers go into the lesson's
    /// `steps` when it ends).
    pub step: Option<usize>,
    /// Which lesson's step (indices into [`lessons::all`] and its steps),
    /// kept apart from `lesson.open`, so the plots still say which run they
    /// show after another lesson was opened.
    pub shows: Option<(usize, usize)>,
    /// Kept from run to run.
    pub lesson: LessonState,
}

/// The Scale view's lesson, its answer and its steps' numbers, and whether
/// runs are going: kept across runs, so one reducer holds the view.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LessonState {
    /// The open lesson (its index in [`lessons::all`]).
    pub open: Option<usize>,
    /// The student's answer to its check, given before the run.
    pub answer: Option<usize>,
    pub steps: Vec<Option<StepNumbers>>,
    /// Each step's last run, whole, so its plots and summary can be shown
    /// again without running it again (which would give other numbers).
    pub runs: Vec<Option<Rc<ScaleRun>>>,
    /// The step whose run the plots show; `None`: the latest run.
    pub shown: Option<usize>,
    /// Runs are going: a lesson's steps or one Run, each with the wait for
    /// the server to drain after it.
    pub busy: bool,
}

pub enum ScaleAction {
    Start {
        run: u32,
        scenario: LoadScenario,
        /// The lesson step it is, if any.
        step: Option<usize>,
    },
    Snapshot {
        run: u32,
        snapshot: LoadSnapshot,
        arrived_ms: f64,
    },
    /// The stream ended (or broke) without a final message, or the server refused.
    Failed {
        run: u32,
        message: String,
    },
    Stop {
        run: u32,
    },
    Server {
        run: u32,
        counts: ServerCounts,
    },
    /// Lesson `i` was opened: forget the last one's answer and numbers.
    Lesson(usize),
    Answer(usize),
    /// Runs began or ended.
    Busy(bool),
    /// Show this lesson step's kept run in the plots (`None`: the latest).
    Show(Option<usize>),
}

impl ScaleRun {
    /// The next state after `action`.
    pub fn apply(&mut self, action: ScaleAction) {
        let current = |run: u32, this: &ScaleRun| run == this.run;
        match action {
            ScaleAction::Start {
                run,
                scenario,
                step,
            } => {
                let policy = scenario.policy.unwrap_or_default();
                let operation = name(scenario.operation());
                let background = scenario.background.as_ref().map(|b| name(b.operation()));
                let shows = step.and_then(|i| Some((self.lesson.open?, i)));
                let lesson = LessonState {
                    shown: None,
                    ..std::mem::take(&mut self.lesson)
                };
                *self = ScaleRun {
                    step,
                    shows,
                    lesson,
                    run,
                    phase: Phase::Starting,
                    duration_ms: scenario.duration_ms,
                    capacity: scenario.capacity,
                    attempt_timeout_ms: policy.attempt_timeout_ms,
                    deadline_ms: policy.deadline_ms,
                    budget_tokens: policy.budget.map(|b| b.max_tokens),
                    operation,
                    background,
                    payment: scenario.payment_tier.is_some(),
                    background_timeout_ms: scenario
                        .background
                        .and_then(|b| b.policy?.attempt_timeout_ms),
                    ..ScaleRun::default()
                };
            }
            ScaleAction::Snapshot {
                run,
                snapshot,
                arrived_ms,
            } if current(run, self) && self.phase.busy() => {
                self.first_arrival_ms.get_or_insert(arrived_ms);
                self.last_arrival_ms = Some(arrived_ms);
                if snapshot.r#final {
                    self.phase = if snapshot.stopped {
                        Phase::Stopped
                    } else {
                        Phase::Done
                    };
                    self.last = Some(snapshot);
                    self.keep();
                } else {
                    self.phase = Phase::Running;
                    self.received.add(&snapshot);
                    self.windows.push(Window::from(&snapshot));
                }
            }
            ScaleAction::Failed { run, message } if current(run, self) && self.phase.busy() => {
                self.phase = Phase::Failed;
                self.error = Some(message);
            }
            ScaleAction::Stop { run } if current(run, self) => {
                if self.phase.busy() {
                    self.phase = Phase::Stopped;
                }
                self.lesson.busy = false;
            }
            ScaleAction::Server { run, counts } if current(run, self) => {
                self.server = Some(counts);
                self.keep();
            }
            ScaleAction::Lesson(i) => {
                let steps = lessons::all().get(i).map_or(0, |l| l.steps.len());
                self.lesson = LessonState {
                    open: Some(i),
                    steps: vec![None; steps],
                    runs: vec![None; steps],
                    ..LessonState::default()
                };
            }
            ScaleAction::Answer(choice) => self.lesson.answer = Some(choice),
            ScaleAction::Busy(busy) => self.lesson.busy = busy,
            ScaleAction::Show(step) => {
                let kept = |i: usize| self.lesson.runs.get(i).is_some_and(Option::is_some);
                if step.is_none_or(kept) {
                    self.lesson.shown = step;
                }
            }
            _ => {} // a late message of an older run, or of one already over
        }
    }

    /// A lesson step's run ended (or its server counts came): its numbers
    /// go into the step table.
    fn keep(&mut self) {
        let numbers = lessons::numbers(self);
        if let Some(slot) = self.step.and_then(|i| self.lesson.steps.get_mut(i)) {
            *slot = numbers;
        }
        if let Some(i) = self.step.filter(|&i| i < self.lesson.runs.len()) {
            // The run without the lesson's state (which holds the kept runs).
            let lesson = std::mem::take(&mut self.lesson);
            let run = Rc::new(self.clone());
            self.lesson = lesson;
            self.lesson.runs[i] = Some(run);
        }
    }

    /// The run the plots and the summary show: a kept lesson step's, if the
    /// student picked one, else this one.
    pub fn on_view(&self) -> &ScaleRun {
        self.lesson
            .shown
            .and_then(|i| self.lesson.runs.get(i)?.as_deref())
            .unwrap_or(self)
    }

    /// The run's numbers: the final message's, else the windows' received so far.
    pub fn summary(&self) -> Option<Summary> {
        let (whole_run, totals) = match &self.last {
            Some(last) => (true, Totals::of(last)),
            None if !self.windows.is_empty() => (false, self.received.clone()),
            None => return None,
        };
        let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
        let seconds = totals.elapsed_ms / 1000.0;
        let executions = self
            .server
            .map_or(totals.executions, |s| s.executions.max(totals.executions));
        Some(Summary {
            whole_run,
            goodput: if seconds > 0.0 {
                totals.succeeded as f64 / seconds
            } else {
                0.0
            },
            amplification: ratio(totals.attempts, totals.calls),
            executions,
            useful: ratio(totals.succeeded, executions),
            totals,
        })
    }

    /// One value per window, where the window has one.
    pub fn series(&self, value: impl Fn(&Window) -> Option<f64>) -> Vec<Sample> {
        self.windows
            .iter()
            .filter_map(|w| {
                value(w).map(|value| Sample {
                    at_ms: w.at_ms,
                    value,
                })
            })
            .collect()
    }

    /// Where the time axis ends: the run's duration, or later if the run
    /// went on waiting for calls in flight.
    pub fn end_ms(&self) -> f64 {
        let last = self.windows.last().map_or(0.0, |w| w.at_ms);
        f64::from(self.duration_ms).max(last)
    }

    /// How far the run has got, 0 to 1, for the progress bar.
    pub fn progress(&self) -> f64 {
        match self.phase {
            Phase::Done => 1.0,
            _ if self.duration_ms == 0 => 0.0,
            _ => (self.received.elapsed_ms / f64::from(self.duration_ms)).min(1.0),
        }
    }

    /// Spans of windows whose breakers were in the same states: (from, to,
    /// [closed, half-open, open]). Empty when the run had no breaker.
    pub fn breaker_spans(&self, breakers: fn(&Window) -> [u32; 3]) -> Vec<(f64, f64, [u32; 3])> {
        let mut spans: Vec<(f64, f64, [u32; 3])> = Vec::new();
        let mut from = 0.0;
        for w in &self.windows {
            let states = breakers(w);
            match spans.last_mut() {
                Some(last) if last.2 == states => last.1 = w.at_ms,
                _ => spans.push((from, w.at_ms, states)),
            }
            from = w.at_ms;
        }
        spans.retain(|s| s.2 != [0, 0, 0]);
        spans
    }
}

impl Reducible for ScaleRun {
    type Action = ScaleAction;

    fn reduce(self: Rc<Self>, action: ScaleAction) -> Rc<Self> {
        let mut next = Rc::unwrap_or_clone(self);
        next.apply(action);
        Rc::new(next)
    }
}

/// What the server can finish per second, as steps over the run: (from, to,
/// executions per second). W workers each holding an execution for S ms
/// finish W ÷ S × 1000 a second; with slowdown k, once all W are busy each
/// new execution starts beside W − 1 others and takes S × (1 + k(W − 1)).
/// The brownout changes S (× factor) or W for its window. No line when
/// there is no limit (W = 0) or no service time (S = 0: as fast as the
/// machine, which is not a number the lab sets).
pub fn capacity_steps(c: &Capacity, end_ms: f64) -> Vec<(f64, f64, f64)> {
    let rate = |workers: u32, service_ms: f64| {
        if workers == 0 {
            return 0.0;
        }
        let w = f64::from(workers);
        w * 1000.0 / (service_ms * (1.0 + c.slowdown * (w - 1.0)))
    };
    if c.workers == 0 || c.service_ms == 0 {
        return Vec::new();
    }
    let normal = rate(c.workers, f64::from(c.service_ms));
    let Some(b) = c.brownout.filter(|b| f64::from(b.start_ms) < end_ms) else {
        return vec![(0.0, end_ms, normal)];
    };
    let during = rate(
        b.workers.unwrap_or(c.workers),
        f64::from(c.service_ms) * b.service_time_factor.unwrap_or(1.0),
    );
    let (start, stop) = (f64::from(b.start_ms), f64::from(b.end_ms).min(end_ms));
    let mut steps = vec![(0.0, start, normal), (start, stop, during)];
    if stop < end_ms {
        steps.push((stop, end_ms, normal));
    }
    steps.retain(|s| s.1 > s.0);
    steps
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use rpc_lab::proto::calculator_v1::{Brownout, LoadBudget, LoadPolicy};

    use super::*;

    fn window(elapsed_ms: u32, started: u64, ok: u64, failed: u64) -> LoadSnapshot {
        LoadSnapshot {
            elapsed_ms,
            window_ms: 100,
            calls_started: started,
            calls_succeeded: ok,
            calls_failed: failed,
            goodput_per_second: ok as f64 * 10.0,
            attempts_sent: started + failed,
            offered_attempts_per_second: (started + failed) as f64 * 10.0,
            attempts_ended: ok + failed,
            attempts_by_code: HashMap::from([("OK".into(), ok)]),
            retries: failed,
            server_executions: ok + failed,
            wasted_client_ms: failed as f64 * 250.0,
            latency_p50_ms: 20.0,
            latency_p99_ms: 40.0,
            queue_depth: 3,
            executions_in_flight: 8,
            ..LoadSnapshot::default()
        }
    }

    fn started(run: u32) -> ScaleRun {
        let mut state = ScaleRun::default();
        state.apply(ScaleAction::Start {
            step: None,
            run,
            scenario: LoadScenario {
                duration_ms: 300,
                policy: Some(LoadPolicy {
                    attempt_timeout_ms: Some(250),
                    budget: Some(LoadBudget {
                        max_tokens: 10.0,
                        token_ratio: 0.1,
                    }),
                    ..LoadPolicy::default()
                }),
                ..LoadScenario::default()
            },
        });
        state
    }

    fn snapshot(run: u32, snapshot: LoadSnapshot, arrived_ms: f64) -> ScaleAction {
        ScaleAction::Snapshot {
            run,
            snapshot,
            arrived_ms,
        }
    }

    #[test]
    fn windows_become_series_and_the_final_message_the_summary() {
        let mut s = started(1);
        assert_eq!(
            (s.phase, s.attempt_timeout_ms, s.budget_tokens),
            (Phase::Starting, Some(250), Some(10.0))
        );
        s.apply(snapshot(1, window(100, 30, 20, 2), 120.0));
        s.apply(snapshot(1, window(200, 30, 0, 0), 220.0));
        s.apply(snapshot(1, window(300, 30, 28, 4), 320.0));
        assert_eq!(s.phase, Phase::Running);
        assert_eq!(s.progress(), 1.0);
        // A window in which no call ended has no latency, rather than 0 ms.
        let p50 = s.series(|w| w.p50);
        assert_eq!(
            p50.iter().map(|p| p.at_ms).collect::<Vec<_>>(),
            [100.0, 300.0]
        );
        assert_eq!(s.series(|w| Some(w.goodput)).len(), 3);
        // Stopped before its final message: the windows' sum, said to be so.
        let partial = s.summary().unwrap();
        assert!(!partial.whole_run);
        assert_eq!(
            (
                partial.totals.calls,
                partial.totals.succeeded,
                partial.totals.failed
            ),
            (90, 48, 6)
        );

        let last = LoadSnapshot {
            r#final: true,
            elapsed_ms: 400,
            window_ms: 400,
            calls_started: 90,
            calls_succeeded: 80,
            calls_failed: 10,
            attempts_sent: 120,
            server_executions: 100,
            wasted_client_ms: 2500.0,
            goodput_per_second: 200.0,
            ..LoadSnapshot::default()
        };
        s.apply(snapshot(1, last, 430.0));
        assert_eq!(s.phase, Phase::Done);
        assert_eq!(
            (s.first_arrival_ms, s.last_arrival_ms),
            (Some(120.0), Some(430.0))
        );
        assert_eq!(s.windows.len(), 3, "the final message is not a window");
        assert_eq!(s.end_ms(), 300.0);
        let sum = s.summary().unwrap();
        assert!(sum.whole_run);
        // The same goodput the server computed: 80 calls in 0.4 s.
        assert_eq!(sum.goodput, 200.0);
        assert_eq!(sum.amplification, Some(120.0 / 90.0));
        assert_eq!(sum.useful, Some(0.8));
        assert_eq!(sum.totals.wasted_ms, 2500.0);
        // Work the server finished after the run (for clients long gone)
        // counts against useful work too.
        let counts = ServerCounts {
            executions: 125,
            abandoned: 30,
            ..ServerCounts::default()
        };
        s.apply(ScaleAction::Server { run: 1, counts });
        let sum = s.summary().unwrap();
        assert_eq!((sum.executions, sum.useful), (125, Some(80.0 / 125.0)));
    }

    #[test]
    fn an_older_runs_messages_and_messages_after_the_end_are_ignored() {
        let mut s = started(2);
        s.apply(snapshot(1, window(100, 5, 5, 0), 1.0));
        s.apply(ScaleAction::Failed {
            run: 1,
            message: "old".into(),
        });
        assert_eq!(
            (s.phase, s.windows.len(), s.error.as_deref()),
            (Phase::Starting, 0, None)
        );
        s.apply(snapshot(2, window(100, 5, 5, 0), 110.0));
        s.apply(ScaleAction::Stop { run: 2 });
        assert_eq!(s.phase, Phase::Stopped);
        // A window already on its way when Stop was pressed changes nothing.
        s.apply(snapshot(2, window(200, 5, 5, 0), 210.0));
        assert_eq!(s.windows.len(), 1);
        assert!(s.summary().is_some_and(|sum| !sum.whole_run));
        assert_eq!(ScaleRun::default().summary(), None);
    }

    #[test]
    fn the_background_calls_and_the_checkouts_waiting_on_payment_are_series_of_their_own() {
        use rpc_lab::proto::calculator_v1::{
            BackgroundLoad, LoadOperation, OperationCounts, PaymentTier,
        };
        let mut s = ScaleRun::default();
        s.apply(ScaleAction::Start {
            run: 1,
            step: None,
            scenario: LoadScenario {
                duration_ms: 300,
                operation: LoadOperation::Checkout as i32,
                payment_tier: Some(Box::new(PaymentTier::default())),
                background: Some(Box::new(BackgroundLoad {
                    policy: Some(LoadPolicy {
                        attempt_timeout_ms: Some(300),
                        ..LoadPolicy::default()
                    }),
                    ..BackgroundLoad::default()
                })),
                ..LoadScenario::default()
            },
        });
        assert_eq!((s.payment, s.background_timeout_ms), (true, Some(300)));
        for (at, ok, failed, waiting) in [(100, 5, 0, 1), (200, 0, 0, 4), (300, 0, 5, 4)] {
            let w = LoadSnapshot {
                background: Some(OperationCounts {
                    calls_succeeded: ok,
                    calls_failed: failed,
                    goodput_per_second: ok as f64 * 10.0,
                    latency_p99_ms: if ok > 0 { 12.0 } else { 300.0 },
                    ..OperationCounts::default()
                }),
                waiting_on_payment: waiting,
                ..window(at, 2, 0, 2)
            };
            s.apply(snapshot(1, w, 0.0));
        }
        let values = |v: fn(&Window) -> Option<f64>| {
            s.series(v)
                .iter()
                .map(|p| (p.at_ms, p.value))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            values(|w| w.bg_goodput),
            [(100.0, 50.0), (200.0, 0.0), (300.0, 0.0)]
        );
        // No Add ended in the second window: no p99 there, rather than 0.
        assert_eq!(values(|w| w.bg_p99), [(100.0, 12.0), (300.0, 300.0)]);
        assert_eq!(
            values(|w| Some(w.waiting)),
            [(100.0, 1.0), (200.0, 4.0), (300.0, 4.0)]
        );
        // Its counts are kept apart from the run's own, never mixed in.
        assert_eq!((s.operation, s.background), ("Checkout", Some("Add")));
        let t = s.summary().unwrap().totals;
        assert_eq!((t.calls, t.succeeded, t.failed), (6, 0, 6));
        let b = t.background.unwrap();
        assert_eq!((b.succeeded, b.failed, b.p99_ms), (5, 5, None));
        let last = LoadSnapshot {
            r#final: true,
            background: Some(OperationCounts {
                calls_started: 12,
                calls_succeeded: 5,
                calls_failed: 5,
                calls_not_sent: 2,
                latency_p99_ms: 300.0,
                ..OperationCounts::default()
            }),
            ..window(300, 6, 0, 6)
        };
        s.apply(snapshot(1, last, 0.0));
        let b = s.summary().unwrap().totals.background.unwrap();
        assert_eq!(
            (b.calls, b.succeeded, b.failed, b.not_sent, b.p99_ms),
            (12, 5, 5, 2, Some(300.0))
        );
        // A run without a background has no background series at all.
        let plain = started(2);
        assert!(!plain.payment && plain.background_timeout_ms.is_none());
        assert!(plain.background.is_none());
        assert_eq!(Window::from(&window(100, 1, 1, 0)).bg_goodput, None);
    }

    #[test]
    fn a_refusal_is_kept_in_the_servers_words() {
        let mut s = started(3);
        let words = "RESOURCE_EXHAUSTED: open.rate_per_second 6000 is more than this server allows (--max-load-rate 5000)";
        s.apply(ScaleAction::Failed {
            run: 3,
            message: words.into(),
        });
        assert_eq!((s.phase, s.error.as_deref()), (Phase::Failed, Some(words)));
        assert!(!s.phase.busy());
    }

    #[test]
    fn breaker_states_merge_into_spans() {
        let mut s = started(1);
        for (at, states) in [
            (100, [1, 0, 0]),
            (200, [0, 0, 1]),
            (300, [0, 0, 1]),
            (400, [0, 1, 0]),
        ] {
            let mut w = window(at, 1, 1, 0);
            [w.breakers_closed, w.breakers_half_open, w.breakers_open] = states;
            s.apply(snapshot(1, w, 0.0));
        }
        assert_eq!(
            s.breaker_spans(|w| w.breakers),
            [
                (0.0, 100.0, [1, 0, 0]),
                (100.0, 300.0, [0, 0, 1]),
                (300.0, 400.0, [0, 1, 0])
            ]
        );
        let mut none = started(1);
        none.apply(snapshot(1, window(100, 1, 1, 0), 0.0));
        assert!(
            none.breaker_spans(|w| w.breakers).is_empty(),
            "no breaker, no band"
        );
        assert!(none.breaker_spans(|w| w.payment_breaker).is_empty());
    }

    /// The server's payment breaker is one breaker: a span per state it
    /// was in, from the windows' `payment_breaker`.
    #[test]
    fn the_servers_payment_breaker_is_a_band_of_its_own() {
        let mut s = started(1);
        for (at, state) in [
            (100, PaymentBreakerState::Closed),
            (200, PaymentBreakerState::Closed),
            (300, PaymentBreakerState::Open),
            (400, PaymentBreakerState::HalfOpen),
        ] {
            let w = LoadSnapshot {
                payment_breaker: state.into(),
                ..window(at, 1, 1, 0)
            };
            s.apply(snapshot(1, w, 0.0));
        }
        assert_eq!(
            s.breaker_spans(|w| w.payment_breaker),
            [
                (0.0, 200.0, [1, 0, 0]),
                (200.0, 300.0, [0, 0, 1]),
                (300.0, 400.0, [0, 1, 0])
            ]
        );
        assert!(
            s.breaker_spans(|w| w.breakers).is_empty(),
            "the clients had none"
        );
    }

    #[test]
    fn capacity_is_workers_over_service_time_with_the_brownout_as_a_step() {
        // (A function: Capacity need not be Copy.)
        let c = || Capacity {
            workers: 8,
            service_ms: 20,
            brownout: Some(Brownout {
                start_ms: 1000,
                end_ms: 1500,
                service_time_factor: Some(4.0),
                workers: None,
            }),
            ..Capacity::default()
        };
        assert_eq!(
            capacity_steps(&c(), 3000.0),
            [
                (0.0, 1000.0, 400.0),
                (1000.0, 1500.0, 100.0),
                (1500.0, 3000.0, 400.0)
            ]
        );
        // An outage: no workers in the window.
        let outage = Capacity {
            brownout: Some(Brownout {
                workers: Some(0),
                service_time_factor: None,
                ..c().brownout.unwrap()
            }),
            ..c()
        };
        assert_eq!(capacity_steps(&outage, 1200.0)[1], (1000.0, 1200.0, 0.0));
        // k = 0.5 with all 8 busy: each takes 20 × (1 + 0.5 × 7) = 90 ms.
        let slow = Capacity {
            slowdown: 0.5,
            brownout: None,
            ..c()
        };
        assert_eq!(capacity_steps(&slow, 100.0), [(0.0, 100.0, 8000.0 / 90.0)]);
        let unlimited = Capacity { workers: 0, ..c() };
        assert!(capacity_steps(&unlimited, 100.0).is_empty());
    }

    #[test]
    fn a_lesson_steps_numbers_outlive_the_next_run() {
        let mut state = ScaleRun::default();
        state.apply(ScaleAction::Lesson(1));
        state.apply(ScaleAction::Answer(2));
        state.apply(ScaleAction::Busy(true));
        assert_eq!(
            state.lesson.steps,
            vec![None; 5],
            "the storm has five steps"
        );
        for (run, step) in [(1, 0), (2, 1)] {
            state.apply(ScaleAction::Start {
                run,
                scenario: LoadScenario {
                    duration_ms: 300,
                    ..LoadScenario::default()
                },
                step: Some(step),
            });
            for at in [100, 200, 300] {
                let snapshot = window(at, 10, 10 - step as u64 * 10, step as u64 * 10);
                state.apply(ScaleAction::Snapshot {
                    run,
                    snapshot,
                    arrived_ms: 0.0,
                });
            }
            let last = LoadSnapshot {
                r#final: true,
                ..window(300, 30, 30, 0)
            };
            state.apply(ScaleAction::Snapshot {
                run,
                snapshot: last,
                arrived_ms: 0.0,
            });
        }
        let goodput: Vec<_> = state
            .lesson
            .steps
            .iter()
            .map(|s| s.as_ref().map(|n| n.goodput_last))
            .collect();
        assert_eq!(goodput, [Some(100.0), Some(0.0), None, None, None]);
        assert_eq!((state.lesson.answer, state.lesson.busy), (Some(2), true));
        assert_eq!(
            state.shows,
            Some((1, 1)),
            "the plots show the storm's step 2"
        );
        // Each step's run is kept whole: the plots can show step 1 again,
        // its own windows, without running it again.
        assert_eq!(state.on_view().windows.len(), 3);
        state.apply(ScaleAction::Show(Some(0)));
        let first = state.on_view();
        assert_eq!((first.run, first.shows), (1, Some((1, 0))));
        assert_eq!(first.windows[0].goodput, 100.0, "step 1's windows");
        assert_eq!(first.summary().unwrap().totals.succeeded, 30);
        state.apply(ScaleAction::Show(Some(3)));
        assert_eq!(state.on_view().run, 1, "step 4 never ran: no change");
        state.apply(ScaleAction::Show(None));
        assert_eq!(state.on_view().run, 2, "back to the latest");
        state.apply(ScaleAction::Show(Some(0)));
        // Stop ends the sequence; opening a lesson again forgets it all but
        // the plots, which still say whose run they show.
        state.apply(ScaleAction::Stop { run: 2 });
        assert!(!state.lesson.busy);
        state.apply(ScaleAction::Lesson(2));
        assert_eq!(
            (state.lesson.answer, state.lesson.steps[0].clone()),
            (None, None)
        );
        assert_eq!((state.shows, state.windows.len()), (Some((1, 1)), 3));
        // A run of the controls' settings is no lesson's step, and the
        // plots follow it.
        state.apply(ScaleAction::Start {
            run: 3,
            scenario: LoadScenario::default(),
            step: None,
        });
        assert_eq!(state.shows, None);
        assert_eq!(state.on_view().run, 3);
    }
}
