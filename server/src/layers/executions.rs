//! Counts every request that reaches a handler: what the server really did.
//!
//! This is the innermost layer, so replays (answered by the idempotency
//! layer) and injected failures (answered by the fault layer) never get here.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use super::{contract_operation, operation_name, session_of};
use crate::request_log;

/// Marks a reply whose request reached a handler, so the layers above can
/// tell an execution from a refusal (the fault layer's *drop* must not claim
/// that a refused call ran).
#[derive(Clone, Copy, Debug)]
pub struct Executed;

/// Marks a reply to a request that named no operation: a REST path or HTTP
/// verb the twin does not serve. (An unknown gRPC method is recognised by
/// tonic's `UNIMPLEMENTED`.) Nothing ran, so nothing is counted — and a
/// client inventing method names cannot grow a session's table of counts.
#[derive(Clone, Copy, Debug)]
pub struct NoSuchOperation;

/// Counts the request once its handler has answered. Counting after, not
/// before, lets the answer say whether an operation really ran; nothing can
/// cancel the count in between, because the handler's work and the count
/// happen in the same poll.
pub async fn count(request: Request, next: Next) -> Response {
    let Some(protocol) = contract_operation(request.uri().path()) else {
        return next.run(request).await;
    };
    let session = session_of(&request);
    let operation = operation_name(&request, protocol);
    let record = request_log::layer::marks(&request).cloned();
    let mut response = next.run(request).await;
    if names_no_operation(&response) {
        return response;
    }
    session.stats.executed(&operation);
    if let Some(record) = record {
        record.executed();
    }
    response.extensions_mut().insert(Executed);
    response
}

fn names_no_operation(response: &Response) -> bool {
    response.extensions().get::<NoSuchOperation>().is_some()
        || response
            .headers()
            .get("grpc-status")
            .is_some_and(|status| status == "12")
}
