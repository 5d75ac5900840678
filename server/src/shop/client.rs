//! The front tier's client of payment: where the breaker that stops a
//! cascade sits.
//!
//! Each session's checkouts share one `ResilientCaller` — one policy, one
//! circuit breaker, one retry budget — as the handlers of one real service
//! share one client library for their dependency. A breaker per checkout
//! would learn nothing (each sees one call); a breaker in the *browser*
//! would protect the student's tab but not the front tier's workers, which
//! are what the cascade uses up. So it sits here, inside the server,
//! between the front tier and payment.
//!
//! The resilience core is single-threaded on purpose (it runs in the
//! browser; see `rpc_lab::resilience::caller`), so its callers cannot move
//! between the server's worker threads. They live on a thread of their own,
//! started at the first checkout: a single-threaded Tokio runtime with a
//! `LocalSet`, like a load run's ([`crate::load::runner`]). A checkout
//! handler sends it a [`Job`] and awaits the answer on a one-shot channel.
//! The thread ends when the last sender does (the server's router dropped).
//!
//! Each charge is a real gRPC call to the server's own port, carrying the
//! checkout's `x-lab-session`, so it meets every layer — the payment tier's
//! capacity, its execution count, the idempotency store if the policy sends
//! keys. A deadline tonic's own client enforces comes back as CANCELLED
//! "Timeout expired"; [`named_by_grpc`] names it DEADLINE_EXCEEDED, so the
//! policy retries it and the breaker counts it, as gRPC means it to.
//! (The front tier does not pass the checkout's own deadline on to payment:
//! its client's policy alone decides how long it waits — which is how the
//! naive client of the lesson's first step waits for ever.)

use std::cell::Cell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::{Arc, Weak};

use rpc_lab::headers;
use rpc_lab::resilience::{
    CallSpec, CircuitBreaker, Clock, Event, EventKind, EventSink, ResilientCallError,
    ResilientCaller, SeededRng, TokioClock,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::LocalSet;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

use super::proto::ChargeRequest;
use super::proto::payment_client::PaymentClient;
use super::tier::PaymentTier;
use crate::load::client_deadline::named_by_grpc;

/// HTTP/2 connections from the front tier to payment. The server lets one
/// connection carry 100 calls at once (`--max-concurrent-streams`); a
/// hanging payment can have hundreds of checkouts waiting on it.
const CONNECTIONS: usize = 16;

/// Checkouts queued for the client thread before a handler waits to hand
/// one over.
const JOBS: usize = 1024;

/// One checkout's charge, handed to the client thread.
struct Job {
    tier: Arc<PaymentTier>,
    session: Arc<str>,
    amount_cents: i64,
    reply: oneshot::Sender<Charged>,
}

/// How a charge ended: the attempts sent, or the caller's error.
pub type Charged = Result<u32, ResilientCallError>;

/// The front tier's payment clients, one per session, on one thread.
#[derive(Debug)]
pub struct PaymentClients {
    jobs: mpsc::Sender<Job>,
}

impl PaymentClients {
    /// Starts the client thread, calling payment at `target`.
    pub fn start(target: SocketAddr) -> Result<Self, Status> {
        let (jobs, queue) = mpsc::channel(JOBS);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Status::internal(format!("cannot start the payment client: {e}")))?;
        std::thread::Builder::new()
            .name("payment-client".into())
            .spawn(move || LocalSet::new().block_on(&runtime, serve(queue, target)))
            .map_err(|e| Status::internal(format!("cannot start the payment client: {e}")))?;
        Ok(PaymentClients { jobs })
    }

    /// Charges `amount_cents` through the session's client. If the returned
    /// future is dropped (the checkout abandoned), the charge stops too.
    pub async fn charge(
        &self,
        tier: Arc<PaymentTier>,
        session: Arc<str>,
        amount_cents: i64,
    ) -> Result<Charged, Status> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            tier,
            session,
            amount_cents,
            reply,
        };
        let gone = || Status::internal("the payment client has stopped");
        self.jobs.send(job).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())
    }
}

/// A session's caller, and the settings it was built from.
struct Entry {
    /// Weak: a forgotten session's tier is not kept alive by its caller.
    tier: Weak<PaymentTier>,
    generation: u64,
    caller: Rc<ResilientCaller>,
}

/// The client thread: one task per charge, all on this thread.
async fn serve(mut jobs: mpsc::Receiver<Job>, target: SocketAddr) {
    let endpoint = Endpoint::from_shared(format!("http://{target}"))
        .expect("a socket address is a valid URI")
        .tcp_nodelay(true);
    let channels: Vec<Channel> = (0..CONNECTIONS).map(|_| endpoint.connect_lazy()).collect();
    let mut callers: HashMap<u64, Entry> = HashMap::new();
    let mut next = 0;
    while let Some(job) = jobs.recv().await {
        let caller = caller_for(&mut callers, &job.tier);
        let channel = channels[next % channels.len()].clone();
        next += 1;
        tokio::task::spawn_local(charge(caller, channel, job));
    }
}

/// The session's caller, built anew when its settings changed.
fn caller_for(callers: &mut HashMap<u64, Entry>, tier: &Arc<PaymentTier>) -> Rc<ResilientCaller> {
    let version = tier.client_version();
    match callers.get(&tier.id()) {
        Some(entry) if entry.generation == version.generation => return entry.caller.clone(),
        _ => {}
    }
    // A session new to this thread, or new settings: a moment to forget
    // the callers of sessions that are gone.
    callers.retain(|_, entry| entry.tier.strong_count() > 0);
    let settings = version.settings;
    let clock: Rc<dyn Clock> = Rc::new(TokioClock::new());
    let rng = SeededRng::new(tier.id() ^ version.generation.rotate_left(32));
    // The breaker's moves go to the tier, where a load run's snapshot (on
    // another thread) reads them: the one event this caller reports.
    let (watched, generation) = (Arc::downgrade(tier), version.generation);
    let events: Rc<dyn EventSink> = Rc::new(move |event: Event| {
        if let (EventKind::BreakerTransition { to, .. }, Some(tier)) =
            (event.kind, watched.upgrade())
        {
            tier.breaker_moved(generation, to);
        }
    });
    // The settings were validated when they were set; were they not, the
    // checkout still makes one plain attempt.
    let caller = ResilientCaller::new(settings.policy, clock.clone(), rng, events.clone())
        .unwrap_or_else(|_| {
            ResilientCaller::new(
                super::PaymentClientSettings::default().policy,
                clock,
                SeededRng::new(0),
                events,
            )
            .expect("no retries is a valid policy")
        });
    let caller = match settings.breaker.map(CircuitBreaker::new) {
        Some(Ok(breaker)) => caller.with_breaker(breaker),
        _ => caller,
    };
    let caller = Rc::new(caller);
    callers.insert(
        tier.id(),
        Entry {
            tier: Arc::downgrade(tier),
            generation: version.generation,
            caller: caller.clone(),
        },
    );
    caller
}

/// One charge through the session's caller, answered on the job's channel.
async fn charge(caller: Rc<ResilientCaller>, channel: Channel, job: Job) {
    let Job {
        session,
        amount_cents,
        mut reply,
        ..
    } = job;
    let client = PaymentClient::new(channel);
    let attempts = Cell::new(0u32);
    let call = caller.call(CallSpec::not_idempotent("Charge"), |attempt| {
        attempts.set(attempts.get() + 1);
        let mut request = Request::new(ChargeRequest { amount_cents });
        attempt.prepare(&mut request);
        if let Ok(session) = MetadataValue::try_from(&*session) {
            request.metadata_mut().insert(headers::LAB_SESSION, session);
        }
        let mut client = client.clone();
        async move { client.charge(request).await.map_err(named_by_grpc) }
    });
    tokio::select! {
        result = call => {
            let _ = reply.send(result.map(|_| attempts.get()));
        }
        // The checkout was abandoned (its client hung up, under
        // CANCEL_ON_HANGUP): nobody waits for this charge any more.
        () = reply.closed() => {}
    }
}
