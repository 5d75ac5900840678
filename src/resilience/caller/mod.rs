//! The resilient caller: one logical call, as many attempts as the policy
//! allows and the situation deserves.
//!
//! [`ResilientCaller::call`] wraps a closure that makes **one attempt** with
//! a generated tonic client. It does not know the transport: the same caller
//! wraps gRPC-Web over the browser's `fetch` and HTTP/2 natively.
//!
//! ```no_run
//! use rpc_lab::proto::{BinaryOperation, CalculatorClient};
//! use rpc_lab::resilience::{ResilientCallError, CallSpec, ResilientCaller};
//! use tonic::{body::Body, client::GrpcService, codegen::StdError};
//!
//! async fn divide<T>(
//!     caller: &ResilientCaller,
//!     client: &CalculatorClient<T>,
//!     a: f64,
//!     b: f64,
//! ) -> Result<f64, ResilientCallError>
//! where
//!     T: GrpcService<Body> + Clone,
//!     T::Error: Into<StdError>,
//!     T::ResponseBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
//!     <T::ResponseBody as http_body::Body>::Error: Into<StdError> + Send,
//! {
//!     let message = BinaryOperation { a, b };
//!     let reply = caller
//!         .call(CallSpec::idempotent("Divide"), |attempt| {
//!             let mut request = tonic::Request::new(message);
//!             attempt.prepare(&mut request); // idempotency-key + grpc-timeout
//!             let mut client = client.clone();
//!             async move { client.divide(request).await }
//!         })
//!         .await?;
//!     Ok(reply.into_inner().value)
//! }
//! ```
//!
//! Before each attempt it asks, in this order: is there time left (the
//! deadline)? may a retry spend the budget? will the breaker let it through?
//! After each failure it asks: is the code retryable? is it safe to repeat
//! (idempotent, or protected by a key)? what does the server's pushback say?
//! are attempts left? Then it waits the backoff — never past the deadline.
//! Every answer becomes an [`Event`](super::Event).
//!
//! ## Why a closure and not a tower `Layer`
//!
//! tower's `Retry` layer wraps a `Service` and must clone each *HTTP
//! request* to resend it, which means buffering bodies; and tower's own
//! timers use tokio, which does not run in the browser. Wrapping the
//! *typed* call instead keeps everything visible in one function, lets the
//! closure build a fresh request per attempt (so the key and the remaining
//! time go into each one), and needs nothing from the runtime but the
//! injected [`Clock`]. A production client would more likely configure
//! gRPC's built-in retry policy (gRFC A6) or a tower stack; the decisions
//! are the same.
//!
//! ## Sharing
//!
//! The breaker, the budget and the random source are shared by all calls of
//! one caller — that is their point. They sit in `RefCell`s: the browser has
//! one thread, and no borrow is ever held across an `.await`, so concurrent
//! calls on one thread interleave safely. (A multi-threaded server-side
//! client would use a `std::sync::Mutex` — still not tokio's, since nothing
//! awaits while holding it.) The futures returned are therefore not `Send`.
//!
//! ## How the files divide
//!
//! One type, [`ResilientCaller`], whose work is split by question:
//!
//! | file | what it holds |
//! | --- | --- |
//! | `attempt.rs` | [`CallSpec`] and [`Attempt`]: what the program says about a call, what the closure sees of an attempt |
//! | `timeout.rs` | the per-attempt timeout: racing an attempt against its timer |
//! | `admission.rs` | may this attempt start? the deadline, the budget, the breaker |
//! | `bookkeeping.rs` | recording each attempt's end in the events, the breaker and the budget |
//! | `sequential.rs` | the retry loop: one attempt after another, with backoff |
//! | `hedging.rs` | hedging: extra attempts side by side, the first answer wins |
//! | `mod.rs` (this file) | the caller itself, and [`ResilientCaller::call`], which picks the loop |

mod admission;
mod attempt;
mod bookkeeping;
mod hedging;
mod sequential;
mod timeout;

pub use attempt::{Attempt, CallSpec, bare_call};

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use tonic::{Code, Response, Status};

use super::breaker::{BreakerState, CircuitBreaker, Transition};
use super::budget::RetryBudget;
use super::clock::{Clock, RandomSource};
use super::config::ConfigError;
use super::events::{EventKind, EventSink};
use super::idempotency::{IdempotencyKey, KeySource, RandomKeys};
use super::outcome::ResilientCallError;
use super::policy::RetryPolicy;

/// The retry policy, breaker and budget around a transport, with a clock,
/// a random source and an event sink.
pub struct ResilientCaller {
    policy: RetryPolicy,
    clock: Rc<dyn Clock>,
    sink: Rc<dyn EventSink>,
    rng: RefCell<Box<dyn RandomSource>>,
    keys: RefCell<Box<dyn KeySource>>,
    breaker: Option<RefCell<CircuitBreaker>>,
    budget: Option<RefCell<RetryBudget>>,
    calls: Cell<u64>,
}

/// What the caller knows about one logical call in progress.
struct CallContext {
    id: u64,
    started: Duration,
    deadline_at: Option<Duration>,
    key: Option<IdempotencyKey>,
}

/// A call that got its answer, and how many attempts were sent for it.
struct Answered<T> {
    response: Response<T>,
    attempts: u32,
}

impl ResilientCaller {
    /// A caller with `policy`, or every problem with the policy.
    pub fn new(
        policy: RetryPolicy,
        clock: Rc<dyn Clock>,
        rng: impl RandomSource + 'static,
        sink: Rc<dyn EventSink>,
    ) -> Result<Self, Vec<ConfigError>> {
        policy.validate()?;
        Ok(ResilientCaller {
            budget: policy
                .budget
                .map(|config| RefCell::new(RetryBudget::new(config))),
            policy,
            clock,
            sink,
            rng: RefCell::new(Box::new(rng)),
            keys: RefCell::new(Box::new(RandomKeys::new())),
            breaker: None,
            calls: Cell::new(0),
        })
    }

    /// The same caller, drawing its idempotency keys from `keys` instead of
    /// fresh randomness ([`RandomKeys`]). Tests use a
    /// [`SeededKeys`](super::SeededKeys) to compare whole event streams;
    /// `rng`, the seed of jitter, never makes keys (see [`super::idempotency`]).
    pub fn with_keys(mut self, keys: impl KeySource + 'static) -> Self {
        self.keys = RefCell::new(Box::new(keys));
        self
    }

    /// The same caller, guarded by `breaker`.
    pub fn with_breaker(mut self, breaker: CircuitBreaker) -> Self {
        self.breaker = Some(RefCell::new(breaker));
        self
    }

    /// The policy every call follows.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// The breaker's state, if there is a breaker.
    pub fn breaker_state(&self) -> Option<BreakerState> {
        self.breaker.as_ref().map(|b| b.borrow().state())
    }

    /// The budget's tokens, if there is a budget.
    pub fn budget_tokens(&self) -> Option<f64> {
        self.budget.as_ref().map(|b| b.borrow().tokens())
    }

    /// The operator's switch: reject every call until [`reset_breaker`](Self::reset_breaker).
    pub fn force_open_breaker(&self) {
        self.operate_breaker(CircuitBreaker::force_open);
    }

    /// The operator's bypass: let every call through, judge nothing.
    pub fn disable_breaker(&self) {
        self.operate_breaker(CircuitBreaker::disable);
    }

    /// Back to closed with an empty window.
    pub fn reset_breaker(&self) {
        self.operate_breaker(CircuitBreaker::reset);
    }

    fn operate_breaker(&self, operation: fn(&mut CircuitBreaker) -> Option<Transition>) {
        let transition = self
            .breaker
            .as_ref()
            .and_then(|b| operation(&mut b.borrow_mut()));
        if let Some(transition) = transition {
            self.emit_transition(0, self.clock.now(), transition);
        }
    }

    /// Make one logical call: attempts, backoffs, hedges and all.
    ///
    /// `attempt` is called once per attempt and must build a fresh request
    /// (calling [`Attempt::prepare`] on it) and return the future of one RPC.
    /// Dropping the returned future cancels the call and every attempt in
    /// flight; no `CallEnded` event is emitted then (the caller that dropped
    /// it knows why).
    pub async fn call<T, F, Fut>(
        &self,
        spec: CallSpec,
        attempt: F,
    ) -> Result<Response<T>, ResilientCallError>
    where
        F: FnMut(&Attempt) -> Fut,
        Fut: Future<Output = Result<Response<T>, Status>>,
    {
        let context = self.start_call(spec);
        let result = match self.policy.hedging {
            // Hedged attempts may all execute: only for idempotent operations.
            Some(hedging) if spec.idempotent => self.hedged(&context, hedging, attempt).await,
            _ => self.sequential(&context, spec, attempt).await,
        };
        let (code, attempts, gave_up) = match &result {
            Ok(answered) => (Code::Ok, answered.attempts, None),
            Err(error) => (error.status.code(), error.attempts, Some(error.gave_up)),
        };
        let now = self.clock.now();
        self.emit_at(
            context.id,
            now,
            EventKind::CallEnded {
                code,
                attempts,
                elapsed: now.saturating_sub(context.started),
                gave_up,
            },
        );
        result.map(|answered| answered.response)
    }

    fn start_call(&self, spec: CallSpec) -> CallContext {
        let id = self.calls.get() + 1;
        self.calls.set(id);
        let started = self.clock.now();
        // One key per logical call, drawn once: every attempt sends the same
        // key, which is what lets the server recognise a retry. Drawn from
        // the key source, never from the seeded `rng`: a replayed seed must
        // not replay keys the server has already seen.
        let key = self
            .policy
            .idempotency_keys
            .then(|| self.keys.borrow_mut().next_key());
        self.emit_at(
            id,
            started,
            EventKind::CallStarted {
                operation: spec.operation,
                idempotent: spec.idempotent,
                key,
            },
        );
        CallContext {
            id,
            started,
            deadline_at: self.policy.deadline.map(|d| started + d),
            key,
        }
    }
}
