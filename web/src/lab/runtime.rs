//! The lab while it runs: one value shared by the page and by the async
//! tasks that run calls.
//!
//! A batch of calls runs as a browser task that outlives the click that
//! started it, and its events arrive while the page is between redraws. So
//! what the tasks change — the run log, the [`LabState`], the stop button's
//! flag, the fault dice — sits in `RefCell`s and `Cell`s behind one `Rc`:
//! single-threaded (wasm32 has one thread), never borrowed across an
//! `.await`. The page reads it when [`Redraw`] says so.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use rpc_lab::resilience::{Clock, SeededRng};
use wasm_bindgen_futures::spawn_local;
use yew::UseStateSetter;

use super::bench::{self, Bench};
use super::caller::KeptCaller;
use super::redraw::Redraw;
use super::state::{LabAction, LabState};
use crate::run_log::RunLog;

/// The bench and everything the running calls change.
pub struct Runtime {
    pub bench: Bench,
    pub clock: Rc<dyn Clock>,
    /// Every event of every call since the last clean slate: what the plots draw.
    pub log: Rc<RefCell<RunLog>>,
    pub state: RefCell<LabState>,
    pub redraw: Redraw,
    /// Set by Stop: the batch's workers start no further calls.
    pub(super) stop: Cell<bool>,
    /// The page's own fault dice — which attempts are delayed, and their
    /// delay's jitter; the server throws the others — reseeded with each
    /// run's seed.
    pub(super) fault_rng: RefCell<SeededRng>,
    /// Free play's caller, kept across clicks ([`super::free_play`]).
    pub(super) free_caller: RefCell<Option<KeptCaller>>,
}

impl Runtime {
    /// `page` redraws the whole lab (see [`Redraw`]).
    pub fn new(bench: Bench, clock: Rc<dyn Clock>, page: UseStateSetter<u64>) -> Self {
        Runtime {
            bench,
            log: Rc::new(RefCell::new(RunLog::new(clock.now()))),
            redraw: Redraw::new(clock.clone(), page),
            clock,
            state: RefCell::default(),
            stop: Cell::new(false),
            fault_rng: RefCell::new(bench::fault_rng(0)),
            free_caller: RefCell::default(),
        }
    }

    /// Changes the lab's state; the page shows it at its next redraw.
    pub fn dispatch(&self, action: LabAction) {
        self.state.borrow_mut().apply(action);
    }

    pub fn is_running(&self) -> bool {
        self.state.borrow().is_running()
    }

    /// Stop: the running batch starts no further calls, and a lesson no
    /// further steps; calls in flight finish.
    pub fn stop(&self) {
        self.stop.set(true);
        self.redraw.now();
    }

    /// A clean slate: the session forgotten by the server and reseeded with
    /// `seed`, the log cleared.
    pub fn new_session(self: &Rc<Self>, seed: u64) {
        if self.is_running() {
            return;
        }
        self.forget_free_caller();
        let this = self.clone();
        spawn_local(async move {
            let result = this.bench.reset(Some(seed)).await;
            this.clear_log();
            this.dispatch(LabAction::NewSession(
                result.map_err(|s| bench::failure("resetting the session", &s)),
            ));
            this.redraw.now();
        });
    }

    /// The next free run starts with a new caller: after a lesson or a new
    /// session, the kept breaker's memory is of calls that no longer count.
    pub(super) fn forget_free_caller(&self) {
        self.free_caller.borrow_mut().take();
    }

    pub(super) fn clear_log(&self) {
        *self.log.borrow_mut() = RunLog::new(self.clock.now());
    }

    /// The page's fault dice start again from `seed`.
    pub(super) fn reseed_faults(&self, seed: u64) {
        *self.fault_rng.borrow_mut() = bench::fault_rng(seed);
    }
}
