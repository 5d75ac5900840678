//! Attaches the caller's lab session to the request.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use rpc_lab::headers::LAB_SESSION;

use crate::layers::Protocol;
use crate::session::{self, DEFAULT_SESSION};
use crate::state::LabState;

pub async fn attach(
    State(lab): State<Arc<LabState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let found = match request.headers().get(LAB_SESSION) {
        None => Ok(lab.sessions.get(DEFAULT_SESSION)),
        Some(value) => session::parse_name(value.as_bytes()).map(|name| lab.sessions.get(name)),
    };
    let (session, evicted) = match found {
        Ok(found) => found,
        Err(status) => return Protocol::of(request.uri().path()).reject(status),
    };
    if let Some(evicted) = evicted {
        lab.idempotency.forget_session(&evicted);
    }
    request.extensions_mut().insert(session);
    next.run(request).await
}
