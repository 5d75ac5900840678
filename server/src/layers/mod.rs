//! The layers every contract request passes through, outermost first:
//!
//! 1. [`session`]: finds the caller's lab session (`x-lab-session`).
//! 2. [`fault`]: injects the failures the lab asks for (fail, delay, drop).
//! 3. [`idempotency`]: executes a keyed request once and replays its outcome.
//! 4. [`executions`]: counts what really reaches a handler — the server's truth.
//!
//! The order is the lesson. A *fail* happens before the idempotency layer, so
//! nothing is executed or stored and a retry executes. A *drop* happens after
//! it, so the operation ran and its outcome was stored, and a retry with the
//! same key is answered from the store without running again.
//!
//! Each layer is an `axum::middleware::from_fn` function: it gets the request
//! and `next` (the rest of the stack), and decides whether and how to call it.
//! Only the contract's services (Calculator, Store, Account) are shaped;
//! health, reflection and the Lab service pass through untouched.

pub mod executions;
pub mod fault;
pub mod idempotency;
pub mod session;

use std::sync::Arc;

use axum::extract::Request;
use axum::response::Response;
use tonic::Status;

use crate::session::Session;

/// The services whose requests take faults and idempotency keys.
const CONTRACT_SERVICES: [&str; 3] = [
    "/calculator.v1.Calculator/",
    "/calculator.v1.Store/",
    "/calculator.v1.Account/",
];

/// Whether `path` is a method of the contract's services.
pub fn is_contract_method(path: &str) -> bool {
    CONTRACT_SERVICES
        .iter()
        .any(|service| path.starts_with(service))
}

/// A gRPC error reply (trailers-only: the status travels in the headers).
pub fn grpc_error(status: Status) -> Response {
    status.into_http()
}

/// The session the [`session`] layer attached to the request.
pub fn session_of(request: &Request) -> Arc<Session> {
    request
        .extensions()
        .get::<Arc<Session>>()
        .cloned()
        .expect("the session layer runs before every other layer")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_contract_services_are_shaped() {
        assert!(is_contract_method("/calculator.v1.Account/Withdraw"));
        assert!(is_contract_method("/calculator.v1.Calculator/Add"));
        assert!(!is_contract_method("/calculator.v1.Lab/GetStats"));
        assert!(!is_contract_method("/grpc.health.v1.Health/Check"));
        assert!(!is_contract_method("/calculator.v1.Accounting/X"));
    }
}
