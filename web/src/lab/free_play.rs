//! Free play: "Call once" and "Run many" with the student's own settings.
//!
//! Unlike a lesson, free play keeps its caller from one click to the next,
//! so the circuit breaker and the retry budget remember the calls before: a
//! student who opens the breaker with one run sees the next run rejected.
//! A new caller — fresh breaker, fresh budget, jitter and fault dice
//! restarted from the seed — is built only when the policy or the seed
//! changes, and after a lesson or a new session.

use std::rc::Rc;

use rpc_lab::resilience::ResilientCaller;
use wasm_bindgen_futures::spawn_local;

use super::batch::{self, Batch};
use super::caller::{self, KeptCaller, LogSink};
use super::runtime::Runtime;
use super::settings::Settings;
use super::state::LabAction;
use crate::lessons::RunSpec;

impl Runtime {
    /// Runs the settings' batch on the kept caller: all of it, or with
    /// `Some(n)` just `n` calls one after another ("Call once").
    pub fn run_free(self: &Rc<Self>, settings: Settings, count: Option<u32>) {
        if self.is_running() {
            return;
        }
        let mut current = settings;
        if let Some(count) = count {
            current.run = RunSpec {
                count,
                concurrency: 1,
                pace_ms: 0,
                ..current.run
            };
        }
        let caller = match self.free_caller(&current) {
            Ok(caller) => caller,
            Err(problem) => {
                self.dispatch(LabAction::Problem(problem));
                self.redraw.now();
                return;
            }
        };
        self.stop.set(false);
        let this = self.clone();
        spawn_local(async move {
            let step = this.state.borrow().next_step();
            let label = format!(
                "run {}: {} × {}",
                step + 1,
                current.operation,
                current.run.count
            );
            this.dispatch(LabAction::RunStarting);
            let batch = Batch {
                label,
                step,
                settings: &current,
                caller: &caller,
            };
            if let Err(problem) = batch::run(&this, batch).await {
                this.dispatch(LabAction::RunFailed(problem));
            }
            this.dispatch(LabAction::RunEnded);
            this.redraw.now();
        });
    }

    /// The kept caller if it was built from these settings' policy and
    /// seed; otherwise a new one, kept from now on.
    fn free_caller(&self, settings: &Settings) -> Result<Rc<ResilientCaller>, String> {
        let mut kept = self.free_caller.borrow_mut();
        if let Some(k) = kept
            .as_ref()
            .filter(|k| k.built_from(&settings.policy, settings.seed))
        {
            return Ok(k.caller.clone());
        }
        let caller = Rc::new(caller::build(
            &settings.policy,
            settings.seed,
            self.clock.clone(),
            LogSink::recording(&self.log, &self.redraw),
        )?);
        self.reseed_faults(settings.seed);
        *kept = Some(KeptCaller {
            policy: settings.policy.clone(),
            seed: settings.seed,
            caller: caller.clone(),
        });
        Ok(caller)
    }
}
