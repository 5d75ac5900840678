//! Counts every request that reaches a handler: what the server really did.
//!
//! This is the innermost layer, so replays (answered by the idempotency
//! layer) and injected failures (answered by the fault layer) never get here.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use super::{contract_operation, operation_name, session_of};

pub async fn count(request: Request, next: Next) -> Response {
    if let Some(protocol) = contract_operation(request.uri().path()) {
        session_of(&request)
            .stats
            .executed(&operation_name(&request, protocol));
    }
    next.run(request).await
}
