//! What every request can reach: sessions, the idempotency store, the fault
//! settings, the caps on a session's capacity. Built once from the flags in
//! [`crate::config`].

use std::sync::Arc;

use crate::capacity::CapacityLimits;
use crate::fault::FaultSettings;
use crate::idempotency::IdempotencyStore;
use crate::session::Sessions;

#[derive(Debug)]
pub struct LabState {
    pub sessions: Sessions,
    pub idempotency: Arc<IdempotencyStore>,
    pub faults: FaultSettings,
    /// The most a session may ask for with `Lab/SetCapacity`.
    pub capacity_limits: CapacityLimits,
}
