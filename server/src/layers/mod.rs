//! The layers every contract request passes through, outermost first:
//!
//! 1. [`crate::session::layer`]: finds the caller's lab session (`x-lab-session`).
//! 2. [`crate::request_log::layer`]: records the request in its session's
//!    log; the layers below mark on the record what only they know.
//! 3. [`crate::fault::layer`]: injects the failures the lab asks for (fail, delay, drop).
//! 4. [`crate::capacity::layer::watch_client`]: notes when the client hangs up
//!    (only in a session with a capacity).
//! 5. [`crate::idempotency::layer`]: executes a keyed request once and replays its outcome.
//! 6. [`crate::capacity::layer::limit`]: the session's workers and queue
//!    (`Lab/SetCapacity`): wait, hold a worker for the service time, or be
//!    refused `RESOURCE_EXHAUSTED`.
//! 7. [`executions`]: counts what really reaches a handler — the server's truth.
//! 8. [`undecodable`] (gRPC only): a request that does not decode is
//!    `INVALID_ARGUMENT`, not tonic's `INTERNAL`.
//!
//! The order is the lesson. A *fail* happens before the idempotency layer, so
//! nothing is executed or stored and a retry executes. A *drop* happens after
//! it, so the operation ran and its outcome was stored, and a retry with the
//! same key is answered from the store without running again. The capacity
//! sits inside the idempotency layer, so a replay needs no worker and a
//! request refused for overload is not stored (its retry executes); and
//! outside the execution count, so what it refuses, skips or cancels never
//! counts as an execution.
//!
//! Each layer is an `axum::middleware::from_fn` function: it gets the request
//! and `next` (the rest of the stack), and decides whether and how to call it.
//! The same layers serve both protocols — the contract's gRPC services
//! (Calculator, Store, Account) and their REST twin under `/api/v1` — and
//! answer each in its own language: a gRPC status, or a JSON error. Health,
//! reflection and the Lab service pass through untouched.

pub mod executions;
pub mod undecodable;

use std::sync::Arc;

use axum::extract::{MatchedPath, Request};
use axum::response::Response;
use tonic::Status;

use crate::rest;
use crate::session::Session;

/// The gRPC services whose requests take faults and idempotency keys
/// (with the two tiers of `crate::shop`, which are operations like these).
const CONTRACT_SERVICES: [&str; 5] = [
    "/calculator.v1.Calculator/",
    "/calculator.v1.Store/",
    "/calculator.v1.Account/",
    crate::shop::SHOP_SERVICE,
    crate::shop::PAYMENT_SERVICE,
];

/// How a request is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// gRPC (and gRPC-Web, translated before these layers): a status in
    /// `grpc-status`.
    Grpc,
    /// The REST/JSON twin: an HTTP status and a JSON error body.
    Rest,
}

impl Protocol {
    /// The protocol a path belongs to.
    pub fn of(path: &str) -> Protocol {
        if path.starts_with(rest::PREFIX) {
            Protocol::Rest
        } else {
            Protocol::Grpc
        }
    }

    /// An error reply in this protocol.
    pub fn reject(self, status: Status) -> Response {
        match self {
            Protocol::Grpc => status.into_http(),
            Protocol::Rest => rest::reply::error(&status),
        }
    }
}

/// The protocol of a request to one of the contract's operations, or `None`
/// for anything else (health, reflection, the Lab service).
pub fn contract_operation(path: &str) -> Option<Protocol> {
    if CONTRACT_SERVICES
        .iter()
        .any(|service| path.starts_with(service))
    {
        Some(Protocol::Grpc)
    } else if path.starts_with(&format!("{}/", rest::PREFIX)) {
        Some(Protocol::Rest)
    } else {
        None
    }
}

/// The operation a request asks for, as counted and fingerprinted: the gRPC
/// method path, or for REST the HTTP method and route
/// (`POST /api/v1/accounts/{account}/withdraw`).
pub fn operation_name(request: &Request, protocol: Protocol) -> String {
    match protocol {
        Protocol::Grpc => request.uri().path().to_owned(),
        Protocol::Rest => {
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map_or_else(|| request.uri().path(), MatchedPath::as_str);
            format!("{} {route}", request.method())
        }
    }
}

/// The session the [`crate::session::layer`] attached to the request.
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
    fn only_the_contract_operations_are_shaped() {
        assert_eq!(
            contract_operation("/calculator.v1.Account/Withdraw"),
            Some(Protocol::Grpc)
        );
        assert_eq!(
            contract_operation("/calculator.v1.Calculator/Add"),
            Some(Protocol::Grpc)
        );
        assert_eq!(
            contract_operation("/api/v1/accounts/a/withdraw"),
            Some(Protocol::Rest)
        );
        assert_eq!(contract_operation("/calculator.v1.Lab/GetStats"), None);
        assert_eq!(contract_operation("/grpc.health.v1.Health/Check"), None);
        assert_eq!(contract_operation("/calculator.v1.Accounting/X"), None);
        assert_eq!(contract_operation("/api/v10/x"), None);
    }
}
