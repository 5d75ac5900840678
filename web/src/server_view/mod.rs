//! The server's view: what the server did with every request of this tab's
//! session, whoever sent it — the page, a student's Python client, grpcurl.
//!
//! The page knows only what its own client did. `Lab/WatchRequests` streams
//! the server's record of the session (the backlog, then each request as it
//! completes), so a student can run *their* client in the tab's session and
//! see, attempt by attempt, which ran, which were answered from the
//! idempotency store, and which ran although their reply was lost.
//!
//! - [`log`]: the page's bounded copy of that record and the stream's state,
//!   changed only by [`log::Event`]s (pure, tested natively).
//! - [`calls`]: the records grouped into logical calls by idempotency key,
//!   and the executions, replays and duplicates they add up to (pure).
//! - [`commands`]: the commands that put a student's own client in this
//!   tab's session (pure).
//!
//! The component that holds the stream is `components::server_view`.

pub mod calls;
pub mod commands;
pub mod log;
