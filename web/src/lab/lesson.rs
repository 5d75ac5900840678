//! The lesson runner: every step of a lesson from a clean session reseeded
//! with the lesson's seed.
//!
//! A lesson is plain data ([`crate::lessons`]); this runs any of them the
//! same way. Each step resets the session (so the server's fault decisions
//! restart from the seed), makes the opening deposit, builds a caller from
//! the step's policy — a fresh breaker and budget per step — and runs its
//! batch. The controls show each step's settings while it runs, so that
//! afterwards the student can change one and run it again.

use std::rc::Rc;

use wasm_bindgen_futures::spawn_local;
use yew::Callback;

use super::batch::{self, Batch};
use super::bench;
use super::caller::{self, LogSink};
use super::runtime::Runtime;
use super::settings::Settings;
use super::state::{LabAction, LessonPhase};
use crate::lessons::{Lesson, Step};

impl Runtime {
    /// A lesson button: show the lesson's question, waiting for "Run".
    pub fn open_lesson(&self, lesson: Lesson) {
        if self.is_running() {
            return;
        }
        self.dispatch(LabAction::LessonOpened(lesson));
        self.redraw.now();
    }

    /// Runs every step of `lesson` with `seed`; `show_settings` puts each
    /// step's settings into the controls as it begins.
    pub fn run_lesson(
        self: &Rc<Self>,
        lesson: Lesson,
        seed: u64,
        show_settings: Callback<Settings>,
    ) {
        if self.is_running() {
            return;
        }
        self.forget_free_caller();
        self.stop.set(false);
        self.dispatch(LabAction::LessonStarted(lesson.clone()));
        self.clear_log();
        self.redraw.now();
        let this = self.clone();
        spawn_local(async move {
            let mut outcome = LessonPhase::Done;
            for (index, step) in lesson.steps.iter().enumerate() {
                if this.stop.get() {
                    outcome = LessonPhase::Stopped;
                    break;
                }
                let settings = Settings::of_step(step, seed);
                show_settings.emit(settings.clone());
                if let Err(problem) = this.run_step(index, step, &settings).await {
                    this.dispatch(LabAction::RunFailed(problem));
                    outcome = LessonPhase::Failed;
                    break;
                }
            }
            // Stop during the last step: the step ended early, so the
            // lesson did too.
            if this.stop.get() && outcome == LessonPhase::Done {
                outcome = LessonPhase::Stopped;
            }
            this.dispatch(LabAction::LessonEnded(outcome));
            this.dispatch(LabAction::RunEnded);
            this.redraw.now();
        });
    }

    /// One step: a clean session, the opening deposit, a fresh caller, the batch.
    async fn run_step(&self, index: usize, step: &Step, settings: &Settings) -> Result<(), String> {
        let failed = |s: tonic::Status| bench::failure("setting up the step", &s);
        self.bench
            .reset(Some(settings.seed))
            .await
            .map_err(failed)?;
        self.dispatch(LabAction::SessionReset);
        if step.opening_deposit_cents > 0 {
            self.bench
                .deposit(&step.form.account, step.opening_deposit_cents)
                .await
                .map_err(failed)?;
        }
        self.reseed_faults(settings.seed);
        let caller = caller::build(
            &step.policy,
            settings.seed,
            self.clock.clone(),
            LogSink::recording(&self.log, &self.redraw),
        )?;
        let batch = Batch {
            label: step.label.to_owned(),
            step: index,
            settings,
            caller: &caller,
        };
        batch::run(self, batch).await
    }
}
