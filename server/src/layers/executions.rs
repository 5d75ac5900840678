//! Counts every request that reaches a handler: what the server really did.
//!
//! This is the innermost layer, so replays (answered by the idempotency
//! layer) and injected failures (answered by the fault layer) never get here.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use super::{is_contract_method, session_of};

pub async fn count(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if is_contract_method(path) {
        session_of(&request).stats.executed(path);
    }
    next.run(request).await
}
