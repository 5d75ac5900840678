//! What the lab has found out while calls run, and every way it can change.
//!
//! The calculator's state ([`crate::state`]) lives in a Yew reducer: each
//! action makes a new value and the page redraws. That suits one call at a
//! time, not the lab's thousand calls a run, each with several events. Here
//! the async tasks that run the calls [`LabState::apply`] their actions to
//! one `RefCell<LabState>` as they happen, and the page reads it when it
//! next redraws — at most every [`super::redraw::REDRAW_MS`], however many
//! actions arrived in between. The rules are the same kind as the
//! calculator's: a plain function on plain data, tested natively.
//!
//! The attempts themselves are not here: the caller's events go to the
//! [`RunLog`], a pure type of its own that the plots read. This is what
//! sits around them: which batch is running and how far it got, each step's
//! label and the server's truth about it, the last call in words, the
//! lesson shown, the error, and how long redraws take.

use crate::check::{self, StepResult, Verdict};
use crate::lessons::Lesson;
use crate::run_log::RunLog;
use crate::truth::Truth;

/// Where the lesson shown is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LessonPhase {
    /// Opened: the question is shown and waits for an answer and "Run".
    Ready,
    Running,
    /// Every step ran: the conclusion applies.
    Done,
    /// The student pressed Stop.
    Stopped,
    /// A step could not run (the error is shown beside the plots).
    Failed,
}

impl LessonPhase {
    /// The phase as the page's `data-phase` says it.
    pub fn slug(self) -> &'static str {
        match self {
            LessonPhase::Ready => "ready",
            LessonPhase::Running => "running",
            LessonPhase::Done => "done",
            LessonPhase::Stopped => "stopped",
            LessonPhase::Failed => "failed",
        }
    }
}

/// The batch running now.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// "keys off", "run 3: Deposit × 20".
    pub label: String,
    /// Logical calls finished so far.
    pub done: u32,
    /// Logical calls in the batch.
    pub total: u32,
}

/// The latest finished call, in words.
#[derive(Clone, Debug, PartialEq)]
pub struct LastCall {
    pub text: String,
    pub ok: bool,
}

/// How long the live part's redraws take, measured after each one.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RenderStats {
    pub count: u32,
    pub last_ms: f64,
    pub max_ms: f64,
    pub total_ms: f64,
}

impl RenderStats {
    pub fn mean_ms(&self) -> f64 {
        if self.count > 0 {
            self.total_ms / f64::from(self.count)
        } else {
            0.0
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabState {
    pub running: Option<Progress>,
    /// Each step's label, by step number: a lesson's variants, then free runs.
    pub step_labels: Vec<String>,
    /// The server's truth about each batch that finished, in order.
    pub truths: Vec<Truth>,
    pub last: Option<LastCall>,
    pub error: Option<String>,
    /// The lesson shown, and where it is.
    pub lesson: Option<(Lesson, LessonPhase)>,
    /// Kept when the runs are cleared: they measure the page, not a run.
    pub render: RenderStats,
    /// Times the server forgot this session, and runs ended, so far: the
    /// by-hand group reads these to know that what it shows may be stale.
    /// Kept when the runs are cleared.
    pub session_resets: u32,
    pub runs_ended: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LabAction {
    /// A free run is about to start: the last run's error no longer applies.
    RunStarting,
    /// A batch sends its first call: its step number, label, and size.
    StepBegan {
        step: usize,
        label: String,
        calls: u32,
    },
    /// One logical call of the running batch ended.
    CallFinished(LastCall),
    /// The server's truth about the batch was read: the batch is over.
    StepMeasured(Truth),
    /// A run could not go on: its error is shown, and nothing runs any more.
    RunFailed(String),
    /// A problem that stops nothing running: a policy the core refuses, an
    /// export the browser refused.
    Problem(String),
    /// A run — free or a lesson — ended, however it ended.
    RunEnded,
    /// A lesson button: the lesson's question is shown.
    LessonOpened(Lesson),
    /// The lesson runs from a clean slate: earlier runs are cleared.
    LessonStarted(Lesson),
    /// The lesson's steps are over: done, stopped or failed.
    LessonEnded(LessonPhase),
    /// The server forgot the session before a lesson's step.
    SessionReset,
    /// "New session": the runs are cleared; `Ok` if the server forgot the
    /// session too, or why it could not.
    NewSession(Result<(), String>),
    /// The live part was redrawn; it took this long.
    Redrawn { ms: f64 },
}

impl LabState {
    pub fn apply(&mut self, action: LabAction) {
        match action {
            LabAction::RunStarting => self.error = None,
            LabAction::StepBegan { step, label, calls } => {
                if self.step_labels.len() <= step {
                    self.step_labels.resize(step + 1, String::new());
                }
                self.step_labels[step] = label.clone();
                self.running = Some(Progress {
                    label,
                    done: 0,
                    total: calls,
                });
            }
            LabAction::CallFinished(last) => {
                if let Some(progress) = &mut self.running {
                    progress.done += 1;
                }
                self.last = Some(last);
            }
            LabAction::StepMeasured(truth) => {
                self.truths.push(truth);
                self.running = None;
            }
            LabAction::RunFailed(problem) => {
                self.error = Some(problem);
                self.running = None;
            }
            LabAction::Problem(problem) => self.error = Some(problem),
            LabAction::RunEnded => self.runs_ended += 1,
            LabAction::LessonOpened(lesson) => self.lesson = Some((lesson, LessonPhase::Ready)),
            LabAction::LessonStarted(lesson) => {
                *self = LabState {
                    lesson: Some((lesson, LessonPhase::Running)),
                    ..self.cleared()
                }
            }
            LabAction::LessonEnded(phase) => {
                if let Some((_, shown)) = &mut self.lesson {
                    *shown = phase;
                }
            }
            LabAction::SessionReset => self.session_resets += 1,
            LabAction::NewSession(reset) => {
                let reset_counted = u32::from(reset.is_ok());
                *self = LabState {
                    error: reset.err(),
                    session_resets: self.session_resets + reset_counted,
                    ..self.cleared()
                }
            }
            LabAction::Redrawn { ms } => {
                let r = &mut self.render;
                r.count += 1;
                r.last_ms = ms;
                r.max_ms = r.max_ms.max(ms);
                r.total_ms += ms;
            }
        }
    }

    /// No runs, no lesson, no error; the page's own measures kept.
    fn cleared(&self) -> LabState {
        LabState {
            render: self.render,
            session_resets: self.session_resets,
            runs_ended: self.runs_ended,
            ..LabState::default()
        }
    }

    /// A batch is running: the controls wait.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// The step number a new free run gets: after every step so far.
    pub fn next_step(&self) -> usize {
        self.step_labels.len()
    }

    /// A lesson is shown and none of it is running: whatever it left in
    /// the controls is the student's to see to.
    pub fn lesson_at_rest(&self) -> bool {
        matches!(&self.lesson, Some((_, phase)) if *phase != LessonPhase::Running)
    }

    /// The lesson's check, judged by the numbers the tables show — the
    /// log's tallies and the server's truths — once every step has run.
    pub fn verdict(&self, log: &RunLog) -> Option<Verdict> {
        let Some((lesson, LessonPhase::Done)) = &self.lesson else {
            return None;
        };
        let steps: Vec<StepResult> = (0..lesson.steps.len())
            .map(|step| StepResult {
                tally: log.tally(step),
                truth: self.truths.get(step).cloned(),
            })
            .collect();
        check::judge(lesson.id, &steps)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::lessons;
    use crate::operations::LabOperation;
    use crate::truth::{Effect, Seen, ServerCounters};

    fn began(step: usize, label: &str, calls: u32) -> LabAction {
        LabAction::StepBegan {
            step,
            label: label.into(),
            calls,
        }
    }

    fn finished(text: &str, ok: bool) -> LabAction {
        LabAction::CallFinished(LastCall {
            text: text.into(),
            ok,
        })
    }

    /// A withdrawal step's truth: `executed` runs of `intended` calls,
    /// leaving `actual` cents of the `intended_cents` meant.
    fn truth(label: &str, executed: u64, intended_cents: f64, actual_cents: f64) -> Truth {
        Truth {
            label: label.into(),
            operation: LabOperation::Withdraw,
            intended: 10,
            client_ok: 10,
            executed,
            replayed: 0,
            seen: Seen::default(),
            counters: ServerCounters::default(),
            effect: Some(Effect {
                what: "balance of alice".into(),
                money: true,
                before: 10_000.0,
                intended: intended_cents,
                believed: intended_cents,
                actual: actual_cents,
            }),
        }
    }

    fn withdraw_lesson() -> Lesson {
        lessons::find("withdraw").expect("the withdrawal lesson exists")
    }

    /// What the progress bar and the last-call line show, from the batch's
    /// first call to the server's truth about it.
    #[test]
    fn a_batch_counts_its_calls_and_ends_with_the_servers_truth() {
        let mut state = LabState::default();
        state.apply(began(0, "run 1: Withdraw × 3", 3));
        assert!(state.is_running());
        assert_eq!(state.step_labels, ["run 1: Withdraw × 3"]);
        state.apply(finished("call 1 ok", true));
        state.apply(finished("call 2 failed", false));
        let progress = state.running.as_ref().expect("still running");
        assert_eq!((progress.done, progress.total), (2, 3));
        assert_eq!(state.last.as_ref().map(|l| l.ok), Some(false));
        state.apply(finished("call 3 ok", true));
        state.apply(LabAction::StepMeasured(truth("run 1", 3, 9_985.0, 9_985.0)));
        assert!(!state.is_running());
        assert_eq!(state.truths.len(), 1);
        // The last call stays in words after the batch: the student reads it.
        assert_eq!(
            state.last.as_ref().map(|l| l.text.as_str()),
            Some("call 3 ok")
        );
    }

    /// A free run after a lesson gets the next step number, so its calls
    /// never land in a lesson step's block of the timeline.
    #[test]
    fn free_runs_number_their_steps_after_every_step_so_far() {
        let mut state = LabState::default();
        assert_eq!(state.next_step(), 0);
        state.apply(began(0, "keys off", 10));
        state.apply(LabAction::StepMeasured(truth(
            "keys off", 12, 5_000.0, 4_000.0,
        )));
        state.apply(began(1, "keys on", 10));
        state.apply(LabAction::StepMeasured(truth(
            "keys on", 10, 5_000.0, 5_000.0,
        )));
        assert_eq!(state.next_step(), 2);
        state.apply(began(2, "run 3: Withdraw × 20", 20));
        assert_eq!(
            state.step_labels,
            ["keys off", "keys on", "run 3: Withdraw × 20"]
        );
    }

    #[test]
    fn a_failed_run_shows_why_and_releases_the_controls() {
        let mut state = LabState::default();
        state.apply(began(0, "run 1", 20));
        state.apply(LabAction::RunFailed(
            "reading the server's counters failed".into(),
        ));
        assert!(!state.is_running());
        assert_eq!(
            state.error.as_deref(),
            Some("reading the server's counters failed")
        );
        state.apply(LabAction::RunStarting);
        assert_eq!(state.error, None);
    }

    /// An export the browser refused is said, but the run goes on.
    #[test]
    fn a_problem_beside_a_run_does_not_stop_it() {
        let mut state = LabState::default();
        state.apply(began(0, "run 1", 20));
        state.apply(LabAction::Problem(
            "the browser refused the download".into(),
        ));
        assert!(state.is_running());
        assert!(state.error.is_some());
    }

    #[test]
    fn a_lesson_opens_ready_runs_from_a_clean_slate_and_ends_in_its_phase() {
        let mut state = LabState::default();
        state.apply(began(0, "run 1", 1));
        state.apply(LabAction::StepMeasured(truth("run 1", 1, 9_995.0, 9_995.0)));
        state.apply(LabAction::RunEnded);
        state.apply(LabAction::Redrawn { ms: 3.0 });
        state.apply(LabAction::Problem("old".into()));

        state.apply(LabAction::LessonOpened(withdraw_lesson()));
        assert_eq!(
            state.lesson.as_ref().map(|(_, p)| *p),
            Some(LessonPhase::Ready)
        );
        assert!(state.lesson_at_rest());
        // Opening shows the question only: the earlier run is still there.
        assert_eq!(state.truths.len(), 1);

        state.apply(LabAction::LessonStarted(withdraw_lesson()));
        assert_eq!(
            state.lesson.as_ref().map(|(_, p)| *p),
            Some(LessonPhase::Running)
        );
        assert!(!state.lesson_at_rest());
        assert!(state.truths.is_empty() && state.step_labels.is_empty());
        assert_eq!((state.error.clone(), state.last.clone()), (None, None));
        // What measures the page, not a run, is kept.
        assert_eq!(state.render.count, 1);
        assert_eq!(state.runs_ended, 1);

        state.apply(LabAction::LessonEnded(LessonPhase::Stopped));
        assert_eq!(
            state.lesson.as_ref().map(|(_, p)| *p),
            Some(LessonPhase::Stopped)
        );
        assert!(state.lesson_at_rest());
    }

    #[test]
    fn a_lesson_phase_without_a_lesson_changes_nothing() {
        let mut state = LabState::default();
        state.apply(LabAction::LessonEnded(LessonPhase::Done));
        assert_eq!(state, LabState::default());
    }

    /// "New session" clears the runs and the lesson; the by-hand group
    /// learns of the reset only if the server really forgot the session.
    #[test]
    fn a_new_session_clears_the_runs_and_counts_only_a_real_reset() {
        let mut state = LabState::default();
        state.apply(LabAction::LessonStarted(withdraw_lesson()));
        state.apply(LabAction::SessionReset);
        state.apply(began(0, "keys off", 10));
        state.apply(LabAction::StepMeasured(truth(
            "keys off", 12, 5_000.0, 4_000.0,
        )));
        state.apply(LabAction::LessonEnded(LessonPhase::Done));
        state.apply(LabAction::RunEnded);

        state.apply(LabAction::NewSession(Ok(())));
        assert_eq!(state.lesson, None);
        assert!(state.truths.is_empty());
        assert_eq!((state.session_resets, state.runs_ended), (2, 1));

        state.apply(LabAction::NewSession(Err(
            "resetting the session failed".into()
        )));
        assert_eq!(state.session_resets, 2);
        assert_eq!(state.error.as_deref(), Some("resetting the session failed"));
    }

    #[test]
    fn redraw_times_add_up_to_a_mean_and_a_longest() {
        let mut state = LabState::default();
        assert_eq!(state.render.mean_ms(), 0.0);
        for ms in [2.0, 6.0, 1.0] {
            state.apply(LabAction::Redrawn { ms });
        }
        let r = state.render;
        assert_eq!((r.count, r.last_ms, r.max_ms), (3, 1.0, 6.0));
        assert_eq!(r.mean_ms(), 3.0);
    }

    /// The check is judged only once every step ran, and by the truths the
    /// table shows: here keys off left Alice $40 of the $50 meant.
    #[test]
    fn the_verdict_comes_when_the_lesson_is_done_and_reads_its_numbers() {
        let log = RunLog::new(Duration::ZERO);
        let mut state = LabState::default();
        assert_eq!(state.verdict(&log), None);
        state.apply(LabAction::LessonStarted(withdraw_lesson()));
        state.apply(began(0, "keys off", 10));
        state.apply(LabAction::StepMeasured(truth(
            "keys off", 12, 5_000.0, 4_000.0,
        )));
        assert_eq!(state.verdict(&log), None, "still running");
        state.apply(LabAction::LessonEnded(LessonPhase::Stopped));
        assert_eq!(state.verdict(&log), None, "stopped before the end");
        state.apply(LabAction::LessonEnded(LessonPhase::Done));
        let verdict = state.verdict(&log).expect("a done lesson is judged");
        let less = withdraw_lesson().check.choices[verdict.right[0]];
        assert!(less.contains("less"), "{less}");
        assert!(
            verdict.because.contains("ran Withdraw 12 times"),
            "{}",
            verdict.because
        );
    }
}
