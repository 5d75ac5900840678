//! The names of the wire contract's headers (gRPC metadata, and the same HTTP
//! headers on the REST twin), in one place for the server, the page and the
//! client core. What each one means: README, "The wire contract".
//!
//! Every user names a header by the constant here, never by an alias of its
//! own: one name per fact, so a reader who finds `IDEMPOTENCY_KEY` in the
//! server and in the client knows at once it is the same header.

/// Request: one key per logical operation, the same on every attempt.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Response: `true` when the reply is a stored outcome, not a new execution.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";
/// Response, on a keyed reply whose outcome the server keeps: milliseconds
/// until it is forgotten (the full TTL when just stored, less on a replay).
/// A retry after that executes again. A lab extension of the contract.
pub const IDEMPOTENCY_KEY_EXPIRES_IN_MS: &str = "idempotency-key-expires-in-ms";
/// Request: probability of failing before executing.
pub const FAULT_FAIL: &str = "x-fault-fail";
/// Request: probability of executing and then losing the reply.
pub const FAULT_DROP: &str = "x-fault-drop";
/// Request: milliseconds to wait before executing.
pub const FAULT_DELAY_MS: &str = "x-fault-delay-ms";
/// Response: which fault shaped the reply (`fail`, `drop`, `delay`).
pub const FAULT_INJECTED: &str = "x-fault-injected";
/// Request: the lab session (one per browser tab).
pub const LAB_SESSION: &str = "x-lab-session";
/// Response: the server's retry pushback in milliseconds (gRFC A6).
pub const RETRY_PUSHBACK_MS: &str = "grpc-retry-pushback-ms";
/// Response, on a request refused `RESOURCE_EXHAUSTED` by its session's
/// capacity (`Lab/SetCapacity`): the limit hit, `queue-full` or
/// `workers-busy`. A lab extension of the contract.
pub const LAB_OVERLOAD: &str = "x-lab-overload";
/// Request: the client's own bookkeeping, not a call of the experiment — the
/// page's set-up of a lesson (a first deposit) and its reads of the truth
/// after a run (a balance). Any value but `0`. The server handles such a
/// request like any other; its record (`Lab/WatchRequests`) says
/// `bookkeeping`, so the server's view can show it as the page's own
/// instead of as a call the student made. A lab extension of the contract.
pub const LAB_BOOKKEEPING: &str = "x-lab-bookkeeping";
