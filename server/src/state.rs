//! What every request can reach: sessions, the idempotency store, the fault
//! settings. Built once from the flags in [`crate::config`].

use std::sync::Arc;

use crate::fault::FaultSettings;
use crate::idempotency::IdempotencyStore;
use crate::session::Sessions;

#[derive(Debug)]
pub struct LabState {
    pub sessions: Sessions,
    pub idempotency: Arc<IdempotencyStore>,
    pub faults: FaultSettings,
}
