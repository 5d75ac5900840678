//! The caller the lab's calls go through: the resilience core's
//! [`ResilientCaller`], built from the policy form, with its events going
//! into the run log that the plots draw.

use std::cell::RefCell;
use std::rc::Rc;

use rpc_lab::resilience::{
    CircuitBreaker, Clock, ConfigError, Event, EventKind, EventSink, ResilientCaller, SeededRng,
};

use super::redraw::{self, Redraw};
use crate::policy_form::PolicyForm;
use crate::run_log::RunLog;

/// A caller for `policy` with `seed` for its jitter, reporting into `sink`;
/// or, in the core's own words, what is wrong with the policy.
pub fn build(
    policy: &PolicyForm,
    seed: u64,
    clock: Rc<dyn Clock>,
    sink: Rc<dyn EventSink>,
) -> Result<ResilientCaller, String> {
    let words = |problems: Vec<ConfigError>| {
        problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let retry = policy.policy().map_err(words)?;
    let caller = ResilientCaller::new(retry, clock, SeededRng::new(seed), sink).map_err(words)?;
    Ok(match policy.breaker().map_err(words)? {
        Some(config) => caller.with_breaker(CircuitBreaker::new(config).map_err(words)?),
        None => caller,
    })
}

/// The caller's events go into the run log; the page redraws soon after.
pub struct LogSink {
    log: Rc<RefCell<RunLog>>,
    redraw: Redraw,
}

impl LogSink {
    /// A sink that records into `log`.
    pub fn recording(log: &Rc<RefCell<RunLog>>, redraw: &Redraw) -> Rc<dyn EventSink> {
        Rc::new(LogSink {
            log: log.clone(),
            redraw: redraw.clone(),
        })
    }
}

impl EventSink for LogSink {
    fn emit(&self, event: Event) {
        // The page draws only while no attempt is in flight (see `redraw`).
        match event.kind {
            EventKind::AttemptStarted { .. } => redraw::attempt_sent(),
            EventKind::AttemptEnded { .. } => redraw::attempt_ended(),
            _ => {}
        }
        self.log.borrow_mut().record(event);
        // Recording is cheap; drawing is not. One redraw serves many events.
        self.redraw.request();
    }
}

/// A caller kept for later calls, with the policy and seed it was built
/// from: free play reuses it while neither changes, so its breaker and
/// budget remember the runs before.
pub struct KeptCaller {
    pub policy: PolicyForm,
    pub seed: u64,
    pub caller: Rc<ResilientCaller>,
}

impl KeptCaller {
    pub fn built_from(&self, policy: &PolicyForm, seed: u64) -> bool {
        self.policy == *policy && self.seed == seed
    }
}
