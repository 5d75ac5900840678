//! Counts every request that reaches a handler: what the server really did.
//!
//! This is the innermost layer, so replays (answered by the idempotency
//! layer) and injected failures (answered by the fault layer) never get here.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use super::{contract_operation, operation_name, session_of};

/// Marks a reply whose request reached a handler, so the layers above can
/// tell an execution from a refusal (the fault layer's *drop* must not claim
/// that a refused call ran).
#[derive(Clone, Copy, Debug)]
pub struct Executed;

pub async fn count(request: Request, next: Next) -> Response {
    let Some(protocol) = contract_operation(request.uri().path()) else {
        return next.run(request).await;
    };
    session_of(&request)
        .stats
        .executed(&operation_name(&request, protocol));
    let mut response = next.run(request).await;
    response.extensions_mut().insert(Executed);
    response
}
