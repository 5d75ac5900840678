//! What every request can reach: sessions, the idempotency store, the fault
//! settings, the caps on a session's capacity, the load runs, the signal
//! that ends the request logs' watchers. Built once from the flags in
//! [`crate::config`].

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use crate::capacity::CapacityLimits;
use crate::fault::FaultSettings;
use crate::idempotency::IdempotencyStore;
use crate::load::Runs;
use crate::request_log;
use crate::session::Sessions;

#[derive(Debug)]
pub struct LabState {
    pub sessions: Sessions,
    pub idempotency: Arc<IdempotencyStore>,
    pub faults: FaultSettings,
    /// The most a session may ask for with `Lab/SetCapacity`.
    pub capacity_limits: CapacityLimits,
    /// The load runs going on, and the caps on them (`Lab/RunLoad`).
    pub load_runs: Runs,
    /// The address the server listens on, which the load engine's virtual
    /// clients call; set by `serve` once it knows its listener.
    pub own_address: OnceLock<SocketAddr>,
    /// Ends every `Lab/WatchRequests` stream when the server stops.
    pub stop_watching: request_log::watch::Stop,
}
