//! The gRPC services: thin adapters from requests to the rules in
//! `arithmetic`, `key_value` and `ledger`, plus the Lab service's view of
//! the server's truth.
//!
//! Handlers hold no logic of their own. Idempotency and faults are layers
//! (`crate::layers`), so no handler repeats them.

pub mod account;
pub mod calculator;
pub mod lab;
pub mod store;

use std::sync::Arc;

use tonic::{Request, Status};

use crate::session::Session;

/// The caller's lab session, attached by `session::layer`.
fn session<T>(request: &Request<T>) -> Result<Arc<Session>, Status> {
    request
        .extensions()
        .get::<Arc<Session>>()
        .cloned()
        .ok_or_else(|| Status::internal("no lab session attached to the request"))
}
