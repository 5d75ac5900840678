//! # The load engine: many virtual clients, in the caller's own session
//!
//! One student's clicks cannot overload a server; a lesson on retry storms
//! and metastable failures needs thousands of calls a second. `Lab/RunLoad`
//! starts a run inside the server: virtual clients call the server's own
//! port over real gRPC, each call through the very `ResilientCaller` the
//! page uses (so the same retries, budget and breaker), and every 100 ms the
//! run streams what happened. Because the calls arrive like any client's,
//! every layer (faults, idempotency, capacity, execution counts) sees them,
//! and the session's `GetStats` tells the truth about them too.
//!
//! | file | concept |
//! | --- | --- |
//! | [`scenario`] | the request, checked; the server's caps on a run |
//! | [`schedule`] | open-loop send times, fixed from the run's start (pure, seeded) |
//! | [`pacer`] | wakes the run at each send time, finer than tokio's 1 ms timer |
//! | [`histogram`] | percentiles in bounded memory |
//! | [`aggregate`] | the counters of each 100 ms window and of the run (pure) |
//! | [`client_deadline`] | tonic's own expired deadline, named DEADLINE_EXCEEDED |
//! | [`runner`] | the virtual clients, the ticks, the stream and its cancellation |
//! | this file | which runs are going on: one per session, a few per server |

pub mod aggregate;
pub mod client_deadline;
pub mod histogram;
pub mod pacer;
pub mod runner;
pub mod scenario;
pub mod schedule;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tonic::Status;

pub use scenario::LoadLimits;

/// The runs going on now, by session.
#[derive(Debug)]
pub struct Runs {
    limits: LoadLimits,
    active: Arc<Mutex<HashSet<Arc<str>>>>,
    /// Set when the server stops: a graceful stop waits for every response
    /// stream, and a run could otherwise hold it for its whole duration.
    stopping: tokio::sync::watch::Sender<bool>,
}

/// A session's place among the runs; dropping it ends the run's claim.
#[derive(Debug)]
pub struct RunSlot {
    session: Arc<str>,
    active: Arc<Mutex<HashSet<Arc<str>>>>,
    /// Changes to true when the server stops.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

impl Runs {
    pub fn new(limits: LoadLimits) -> Self {
        Runs {
            limits,
            active: Arc::default(),
            stopping: tokio::sync::watch::Sender::new(false),
        }
    }

    /// The server is stopping: every run ends now, with its summary.
    pub fn stop_all(&self) {
        self.stopping.send_replace(true);
    }

    pub fn limits(&self) -> &LoadLimits {
        &self.limits
    }

    /// Claims a run for `session`, or says why not: a run already going on
    /// in the session (two would measure each other), or too many on the
    /// server (a class shares it).
    pub fn begin(&self, session: &Arc<str>) -> Result<RunSlot, Status> {
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        if active.contains(session) {
            return Err(Status::resource_exhausted(format!(
                "a load run is already going on in session {session:?}: \
                 stop it first (one run per session at a time)"
            )));
        }
        if active.len() >= self.limits.max_runs {
            return Err(Status::resource_exhausted(format!(
                "{} load runs are going on already, as many as this server allows \
                 (--max-load-runs {})",
                active.len(),
                self.limits.max_runs
            )));
        }
        active.insert(session.clone());
        Ok(RunSlot {
            session: session.clone(),
            active: self.active.clone(),
            stopping: self.stopping.subscribe(),
        })
    }
}

impl Drop for RunSlot {
    fn drop(&mut self) {
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        active.remove(&self.session);
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

    #[test]
    fn one_run_per_session_and_a_cap_on_the_server() {
        let runs = Runs::new(LoadLimits {
            max_runs: 2,
            ..LoadLimits::default()
        });
        let (a, b, c): (Arc<str>, Arc<str>, Arc<str>) = ("a".into(), "b".into(), "c".into());
        let slot_a = runs.begin(&a).unwrap();
        let again = runs.begin(&a).unwrap_err();
        assert_eq!(again.code(), Code::ResourceExhausted);
        assert!(again.message().contains("one run per session"));
        let _slot_b = runs.begin(&b).unwrap();
        let full = runs.begin(&c).unwrap_err();
        assert!(
            full.message().contains("--max-load-runs 2"),
            "{}",
            full.message()
        );
        drop(slot_a);
        runs.begin(&c).expect("a finished run frees its place");
    }
}
