//! Puts a session's capacity in front of the handlers: a request waits its
//! turn in the queue, holds a worker for its service time, then runs.
//!
//! Two layers, because noticing that a client has gone and limiting work
//! happen at different depths of the stack (`crate::layers`):
//!
//! - [`watch_client`] sits *outside* the idempotency layer. A client that
//!   hangs up makes hyper drop its request's future; this layer's future is
//!   dropped with it, and that is what [`ClientWatch`] reports. (Deeper
//!   down, a keyed request's future lives on in a task of its own — the
//!   idempotency layer finishes what it starts — and would never notice.)
//! - [`limit`] sits *inside* the idempotency layer, just outside the
//!   execution count: a replay from the idempotency store needs no worker,
//!   and what it refuses or cancels never counts as an execution.
//!
//! For each request [`limit`] makes a [`Slot`], which knows where the
//! request stands — waiting, holding a worker, done — and, whatever ends it
//! (its reply, its client leaving, a panic), gives its place or worker back
//! exactly once. Under `FINISH` and `SKIP_EXPIRED` the request is served in
//! a task of its own, so nothing the client does can stop it; under
//! `CANCEL_ON_HANGUP` it is served in the request's own future, which
//! stops when the client goes, and also stops on its own when the client
//! leaves without dropping it (a keyed request) or its deadline passes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderName, HeaderValue};
use rpc_lab::headers::RETRY_PUSHBACK_MS;
use tokio::sync::{oneshot, watch};
use tonic::Status;

use super::queue::{Arrival, Grant, Ticket};
use super::state::Capacity;
use super::{AbandonedWork, OVERLOAD, Overload, now};
use crate::deadline::{self, GRPC_TIMEOUT};
use crate::layers::{Protocol, contract_operation};
use crate::request_log::layer::Pending;
use crate::request_log::{self, RequestOutcome};
use crate::session::Session;

/// Whether the client of a request is still there. Put on the request by
/// [`watch_client`]; its sender lives as long as that layer's future.
#[derive(Clone, Debug)]
pub struct ClientWatch(watch::Receiver<()>);

impl ClientWatch {
    fn hung_up(&self) -> bool {
        self.0.has_changed().is_err()
    }

    async fn hang_up(&mut self) {
        // Nothing is ever sent: `changed` ends only when the sender is dropped.
        while self.0.changed().await.is_ok() {}
    }
}

/// Notes when a request's client goes away (only for sessions with a
/// capacity: the others need not pay for it).
pub async fn watch_client(mut request: Request, next: Next) -> Response {
    if contract_operation(request.uri().path()).is_none() || capacity_of(&request).is_none() {
        return next.run(request).await;
    }
    let (_present, watch) = watch::channel(());
    request.extensions_mut().insert(ClientWatch(watch));
    next.run(request).await
    // `_present` is dropped here, or earlier with this future: the client has gone.
}

/// Admits, queues or refuses a request by its session's capacity, then
/// serves it under the capacity's abandoned-work policy.
pub async fn limit(request: Request, next: Next) -> Response {
    let Some(protocol) = contract_operation(request.uri().path()) else {
        return next.run(request).await;
    };
    let Some(capacity) = capacity_of(&request).cloned() else {
        return next.run(request).await;
    };
    let arrived = now();
    let deadline = match request
        .headers()
        .get(GRPC_TIMEOUT)
        .map(|v| deadline::parse(v.as_bytes()))
    {
        None => None,
        Some(Ok(timeout)) => arrived.checked_add(timeout),
        Some(Err(status)) => return protocol.reject(status),
    };
    let (waiter, grant) = oneshot::channel();
    let admission = capacity.arrive(arrived, deadline, waiter);
    let stage = match admission.arrival {
        Arrival::Refused(overload) => return refuse(protocol, &overload, admission.pushback),
        Arrival::Start(service) => Stage::Working(service),
        Arrival::Queued(ticket) => Stage::Waiting(ticket, grant),
    };
    let served = Served {
        slot: Slot {
            capacity,
            stage,
            record: request_log::layer::marks(&request).cloned(),
        },
        client: request.extensions().get::<ClientWatch>().cloned(),
        arrived,
        deadline,
        protocol,
    };
    match admission.abandoned_work {
        AbandonedWork::CancelOnHangup => served.follow_the_client(request, next).await,
        AbandonedWork::Finish | AbandonedWork::SkipExpired => {
            // A task of its own: hyper dropping the request's future (the
            // client hung up) no longer stops the work.
            match tokio::spawn(served.whatever_happens(request, next)).await {
                Ok(reply) => reply,
                Err(_) => protocol.reject(Status::internal("the execution failed unexpectedly")),
            }
        }
    }
}

/// The capacity of the request's session, if it has one: the payment tier's
/// for `shop.v1.Payment` (`crate::shop`), the session's own for everything
/// else. Borrowed, not cloned: a session without a capacity costs these
/// layers a look, nothing more.
fn capacity_of(request: &Request) -> Option<&Arc<Capacity>> {
    let session = request.extensions().get::<Arc<Session>>()?;
    if crate::shop::is_payment(request.uri().path()) {
        session.payment.capacity.active()
    } else {
        session.capacity.active()
    }
}

/// `RESOURCE_EXHAUSTED`, naming the limit, with the pushback if any.
fn refuse(protocol: Protocol, overload: &Overload, pushback: Option<Duration>) -> Response {
    let mut reply = protocol.reject(Status::resource_exhausted(overload.message()));
    let headers = reply.headers_mut();
    headers.insert(
        HeaderName::from_static(OVERLOAD),
        HeaderValue::from_static(overload.limit.name()),
    );
    if let Some(pushback) = pushback {
        let ms = u64::try_from(pushback.as_millis()).unwrap_or(u64::MAX);
        headers.insert(
            HeaderName::from_static(RETRY_PUSHBACK_MS),
            HeaderValue::from(ms),
        );
        if protocol == Protocol::Rest {
            // HTTP's own way to say it, in whole seconds (rounded up).
            headers.insert(
                http::header::RETRY_AFTER,
                HeaderValue::from(pushback.as_secs() + u64::from(pushback.subsec_nanos() > 0)),
            );
        }
    }
    reply
}

/// Where a request stands.
enum Stage {
    /// In the queue, its grant to come down the channel.
    Waiting(Ticket, oneshot::Receiver<Grant>),
    /// Holding a worker, for this service time and then its operation.
    Working(Duration),
    /// Holding a worker, its operation running. Most operations finish in
    /// the poll that starts them; a checkout awaits payment, and its client
    /// can go meanwhile.
    Running,
    /// Its operation ran, or it was skipped: the books are settled.
    Done,
}

/// A request's place in its session's capacity. Dropped before it is
/// settled — its client hung up, or a panic — it gives back what it holds.
struct Slot {
    capacity: Arc<Capacity>,
    stage: Stage,
    /// The request's record in the making (`crate::request_log`).
    record: Option<Arc<Pending>>,
}

impl Slot {
    /// What the request's record says happened here.
    fn mark(&self, outcome: RequestOutcome) {
        if let Some(record) = &self.record {
            record.decide(outcome);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Waiting(ticket, mut grant) => {
                self.capacity.leave(ticket, &mut grant, now());
                self.mark(RequestOutcome::Cancelled);
            }
            Stage::Working(_) => {
                self.capacity.cancel(now());
                self.mark(RequestOutcome::Cancelled);
            }
            // The client went while the handler awaited something (under
            // CANCEL_ON_HANGUP; the other policies run it in a task of its
            // own): it ran part-way and will never answer.
            Stage::Running => {
                self.capacity.interrupt(now());
                self.mark(RequestOutcome::Interrupted);
            }
            Stage::Done => {}
        }
    }
}

/// Why a request stopped before its operation ran.
enum Gone {
    HungUp,
    DeadlinePassed,
}

/// A request admitted by its session's capacity, and how to serve it.
struct Served {
    slot: Slot,
    client: Option<ClientWatch>,
    arrived: Instant,
    deadline: Option<Instant>,
    protocol: Protocol,
}

impl Served {
    /// `FINISH` and `SKIP_EXPIRED`: waits for a worker (or a skip), spends
    /// the service time, runs the operation — whatever the client does.
    async fn whatever_happens(mut self, request: Request, next: Next) -> Response {
        if let Stage::Waiting(_, grant) = &mut self.slot.stage {
            match grant.await {
                Ok(Grant::Start(service)) => {
                    self.slot.stage = Stage::Working(service);
                    self.waited();
                }
                Ok(Grant::Skip) => {
                    self.slot.stage = Stage::Done;
                    self.waited();
                    self.slot.mark(RequestOutcome::Skipped);
                    return self.protocol.reject(self.skipped());
                }
                Err(_) => return self.lost(),
            }
        }
        if let Stage::Working(service) = self.slot.stage {
            tokio::time::sleep(service).await;
        }
        self.run(request, next).await
    }

    /// `CANCEL_ON_HANGUP`: the same steps, each abandoned as soon as the
    /// client hangs up or its deadline passes. Returning early drops the
    /// slot, which counts the request cancelled.
    async fn follow_the_client(mut self, request: Request, next: Next) -> Response {
        let mut client = self.client.clone();
        if let Stage::Waiting(_, grant) = &mut self.slot.stage {
            let granted = tokio::select! {
                granted = grant => granted,
                gone = leaves(&mut client, self.deadline) => {
                    return self.cancelled(gone, "while it waited in the queue");
                }
            };
            match granted {
                Ok(Grant::Start(service)) => {
                    self.slot.stage = Stage::Working(service);
                    self.waited();
                }
                // Only SKIP_EXPIRED skips, and it was not this request's policy.
                Ok(Grant::Skip) | Err(_) => return self.lost(),
            }
        }
        if let Stage::Working(service) = self.slot.stage {
            tokio::select! {
                () = tokio::time::sleep(service) => {}
                gone = leaves(&mut client, self.deadline) => {
                    return self.cancelled(gone, "during its service time");
                }
            }
        }
        // The last moment to notice: after this the operation runs, in one step.
        if let Some(gone) = self.gone(now()) {
            return self.cancelled(gone, "just before it ran");
        }
        self.run(request, next).await
    }

    /// Runs the operation and settles the books.
    async fn run(mut self, request: Request, next: Next) -> Response {
        self.slot.stage = Stage::Running;
        let reply = next.run(request).await;
        let finished = now();
        self.slot.stage = Stage::Done;
        self.slot
            .capacity
            .finish(finished, self.gone(finished).is_some());
        reply
    }

    /// Notes on the request's record how long it waited for a worker.
    fn waited(&self) {
        if let Some(record) = &self.slot.record {
            record.queued(now().saturating_duration_since(self.arrived));
        }
    }

    /// Whether the client has gone by `at`.
    fn gone(&self, at: Instant) -> Option<Gone> {
        if self.client.as_ref().is_some_and(ClientWatch::hung_up) {
            Some(Gone::HungUp)
        } else if self.deadline.is_some_and(|d| d <= at) {
            Some(Gone::DeadlinePassed)
        } else {
            None
        }
    }

    fn skipped(&self) -> Status {
        Status::deadline_exceeded(format!(
            "the client's deadline passed while the request waited {} ms in the queue; the server skipped it without executing (abandoned work: SKIP_EXPIRED)",
            now().saturating_duration_since(self.arrived).as_millis()
        ))
    }

    fn cancelled(self, gone: Gone, when: &str) -> Response {
        let status = match gone {
            Gone::HungUp => Status::cancelled(format!(
                "the client hung up {when}; the server stopped it without executing (abandoned work: CANCEL_ON_HANGUP)"
            )),
            Gone::DeadlinePassed => Status::deadline_exceeded(format!(
                "the client's deadline passed {when}; the server stopped it without executing (abandoned work: CANCEL_ON_HANGUP)"
            )),
        };
        self.protocol.reject(status)
        // `self.slot` is dropped here: counted cancelled, its place or worker given back.
    }

    /// A grant that cannot happen: the queue let go of a request without
    /// telling it, or skipped one that did not ask to be.
    fn lost(self) -> Response {
        self.protocol.reject(Status::internal(
            "the request lost its place in the queue; it was not executed",
        ))
    }
}

/// Resolves when the client hangs up or its deadline passes.
async fn leaves(client: &mut Option<ClientWatch>, deadline: Option<Instant>) -> Gone {
    let hang_up = async {
        match client {
            Some(client) => client.hang_up().await,
            None => std::future::pending().await,
        }
    };
    let expire = async {
        match deadline {
            Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = hang_up => Gone::HungUp,
        () = expire => Gone::DeadlinePassed,
    }
}
