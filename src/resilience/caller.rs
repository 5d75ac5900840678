//! The resilient caller: one logical call, as many attempts as the policy
//! allows and the situation deserves.
//!
//! [`ResilientCaller::call`] wraps a closure that makes **one attempt** with
//! a generated tonic client. It does not know the transport: the same caller
//! wraps gRPC-Web over the browser's `fetch` and HTTP/2 natively.
//!
//! ```no_run
//! use rpc_lab::proto::{BinaryOperation, CalculatorClient};
//! use rpc_lab::resilience::{CallError, CallSpec, ResilientCaller};
//! use tonic::{body::Body, client::GrpcService, codegen::StdError};
//!
//! async fn divide<T>(
//!     caller: &ResilientCaller,
//!     client: &CalculatorClient<T>,
//!     a: f64,
//!     b: f64,
//! ) -> Result<f64, CallError>
//! where
//!     T: GrpcService<Body> + Clone,
//!     T::Error: Into<StdError>,
//!     T::ResponseBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
//!     <T::ResponseBody as http_body::Body>::Error: Into<StdError> + Send,
//! {
//!     let message = BinaryOperation { a, b };
//!     let reply = caller
//!         .call(CallSpec::new("Divide", true), |attempt| {
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
//! Every answer becomes an [`Event`].
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

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::{Either, LocalBoxFuture, select};
use futures_util::stream::FuturesUnordered;
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Code, Request, Response, Status};

use super::backoff::Backoff;
use super::breaker::{BreakerState, CircuitBreaker, Permit, Transition};
use super::budget::RetryBudget;
use super::clock::{Clock, RandomSource};
use super::config::{ConfigError, millis};
use super::events::{DelaySource, Event, EventKind, EventSink};
use super::idempotency::{IdempotencyKey, KeySource, RandomKeys};
use super::outcome::{CallError, GaveUp};
use super::policy::{HedgingConfig, RetryPolicy};
use super::pushback::Pushback;
use crate::headers;

/// What the caller needs to know about the operation it is calling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallSpec {
    /// The RPC's name, for events (`"Withdraw"`).
    pub operation: &'static str,
    /// Whether running it twice has the same effect as running it once.
    /// Only the programmer knows this; the caller trusts the declaration.
    pub idempotent: bool,
}

impl CallSpec {
    pub fn new(operation: &'static str, idempotent: bool) -> Self {
        CallSpec {
            operation,
            idempotent,
        }
    }
}

/// One attempt, as the attempt closure sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempt {
    number: u32,
    hedge: bool,
    key: Option<IdempotencyKey>,
    timeout: Option<Duration>,
}

impl Attempt {
    /// An attempt with no key and no timeout: what a call without the
    /// caller is. For comparisons and benchmarks.
    pub fn bare() -> Self {
        Attempt {
            number: 1,
            hedge: false,
            key: None,
            timeout: None,
        }
    }

    /// One attempt with `key` and no timeout: a request a student sends by
    /// hand, the same key as often as they like, outside any retry loop.
    pub fn by_hand(key: IdempotencyKey) -> Self {
        Attempt {
            key: Some(key),
            ..Attempt::bare()
        }
    }

    /// 1 for the first attempt of a call.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// Whether hedging started it.
    pub fn is_hedge(&self) -> bool {
        self.hedge
    }

    /// The call's idempotency key, if keys are on.
    pub fn key(&self) -> Option<IdempotencyKey> {
        self.key
    }

    /// The time this attempt has: `min(per-attempt timeout, time left
    /// before the deadline)`.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Put the attempt into a request: the `idempotency-key` metadata and the
    /// timeout, which tonic sends as `grpc-timeout` so that the server can
    /// stop working on an answer nobody will wait for.
    pub fn prepare<M>(&self, request: &mut Request<M>) {
        if let Some(key) = self.key {
            let value = MetadataValue::try_from(key.as_str())
                .expect("hex digits and dashes are valid metadata");
            request
                .metadata_mut()
                .insert(headers::IDEMPOTENCY_KEY, value);
        }
        if let Some(timeout) = self.timeout {
            request.set_timeout(timeout);
        }
    }
}

/// Make one attempt with no policy at all: the baseline the caller is
/// compared with.
pub async fn bare_call<T, F, Fut>(mut attempt: F) -> Result<Response<T>, Status>
where
    F: FnMut(&Attempt) -> Fut,
    Fut: Future<Output = Result<Response<T>, Status>>,
{
    attempt(&Attempt::bare()).await
}

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

/// What happens after a failed attempt.
enum Next {
    RetryAfter(Duration),
    Stop(GaveUp),
}

/// An attempt in flight while hedging.
struct Running {
    number: u32,
    permit: Option<Permit>,
    started: Duration,
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
    ) -> Result<Response<T>, CallError>
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
            Ok((_, attempts)) => (Code::Ok, *attempts, None),
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
        result.map(|(response, _)| response)
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

    /// Attempts one after another, with backoff between them.
    async fn sequential<T, F, Fut>(
        &self,
        context: &CallContext,
        spec: CallSpec,
        mut attempt_fn: F,
    ) -> Result<(Response<T>, u32), CallError>
    where
        F: FnMut(&Attempt) -> Fut,
        Fut: Future<Output = Result<Response<T>, Status>>,
    {
        let mut backoff = self.policy.backoff();
        let mut last_status = None;
        for number in 1.. {
            // The budget was already consulted before the backoff sleep, so
            // admission here checks only the deadline and the breaker.
            let (permit, timeout, started) = match self.admit(context, number, false) {
                Ok(admitted) => admitted,
                Err(gave_up) => return Err(self.failure(last_status, number - 1, gave_up)),
            };
            let attempt = Attempt {
                number,
                hedge: false,
                key: context.key,
                timeout,
            };
            self.emit_attempt_started(context, &attempt, started);
            let timer = timeout.map(|limit| (limit, self.clock.sleep(limit)));
            let outcome = race(attempt_fn(&attempt), timer).await;
            self.attempt_ended(context, number, started, &outcome, permit);
            let status = match outcome {
                Ok(response) => return Ok((response, number)),
                Err(status) => status,
            };
            match self.after_failure(context, spec, number, &status, &mut backoff) {
                Next::RetryAfter(delay) => self.clock.sleep(delay).await,
                Next::Stop(gave_up) => return Err(self.failure(Some(status), number, gave_up)),
            }
            last_status = Some(status);
        }
        unreachable!("the loop returns once max_attempts is reached")
    }

    /// Hedging: a new attempt whenever the others have been quiet for the
    /// hedging delay (or one failed with a retryable code), up to
    /// `max_attempts`; the first success wins and the rest are cancelled.
    async fn hedged<T, F, Fut>(
        &self,
        context: &CallContext,
        hedging: HedgingConfig,
        mut attempt_fn: F,
    ) -> Result<(Response<T>, u32), CallError>
    where
        F: FnMut(&Attempt) -> Fut,
        Fut: Future<Output = Result<Response<T>, Status>>,
    {
        let mut in_flight = FuturesUnordered::new();
        let mut running: Vec<Running> = Vec::new();
        let mut hedge_timer: Option<LocalBoxFuture<'static, ()>> = None;
        let mut launched = 0;
        let mut launch_now = true; // the first attempt starts at once
        let mut stopped: Option<GaveUp> = None;
        let mut last_status: Option<Status> = None;

        loop {
            if launch_now && stopped.is_none() && launched < self.policy.max_attempts {
                launch_now = false;
                // Every attempt after the first spends budget (gRFC A6).
                match self.admit(context, launched + 1, launched > 0) {
                    Ok((permit, timeout, started)) => {
                        launched += 1;
                        let attempt = Attempt {
                            number: launched,
                            hedge: launched > 1,
                            key: context.key,
                            timeout,
                        };
                        self.emit_attempt_started(context, &attempt, started);
                        let timer = timeout.map(|limit| (limit, self.clock.sleep(limit)));
                        let future = attempt_fn(&attempt);
                        let number = launched;
                        in_flight.push(async move { (number, race(future, timer).await) });
                        running.push(Running {
                            number,
                            permit,
                            started,
                        });
                        hedge_timer = (launched < self.policy.max_attempts)
                            .then(|| self.timer_before_deadline(context, hedging.delay))
                            .flatten();
                    }
                    Err(gave_up) => {
                        stopped = Some(gave_up);
                        hedge_timer = None;
                    }
                }
            }

            if in_flight.is_empty() {
                // Nothing running: either wait for a pushback delay, or stop.
                match hedge_timer.take() {
                    Some(timer) if stopped.is_none() => {
                        timer.await;
                        launch_now = true;
                        continue;
                    }
                    _ => {
                        let gave_up = stopped.unwrap_or(GaveUp::AttemptsExhausted);
                        return Err(self.failure(last_status, launched, gave_up));
                    }
                }
            }

            let woke = {
                let timer = pin!(fire(&mut hedge_timer));
                match select(in_flight.next(), timer).await {
                    Either::Left((finished, _)) => finished,
                    Either::Right(((), _)) => None,
                }
            };
            let Some((number, outcome)) = woke else {
                // The hedging delay passed with no answer: hedge.
                hedge_timer = None;
                launch_now = true;
                continue;
            };

            let index = running
                .iter()
                .position(|r| r.number == number)
                .expect("every attempt in flight is in `running`");
            let finished = running.swap_remove(index);
            self.attempt_ended(context, number, finished.started, &outcome, finished.permit);
            let status = match outcome {
                Ok(response) => {
                    self.cancel(context, running);
                    return Ok((response, launched));
                }
                Err(status) => status,
            };
            if !self.policy.retryable_codes.contains(status.code()) {
                // A fatal code commits the call: the others cannot do better.
                self.cancel(context, running);
                return Err(self.failure(Some(status), launched, GaveUp::NotRetryable));
            }
            match self.read_pushback(context, number, &status) {
                Some(Pushback::DoNotRetry) => {
                    stopped = Some(GaveUp::PushbackSaidStop);
                    hedge_timer = None;
                }
                Some(Pushback::RetryAfter(delay)) if launched < self.policy.max_attempts => {
                    // The server's delay replaces the hedging delay.
                    hedge_timer = self.timer_before_deadline(context, delay);
                    if hedge_timer.is_some() {
                        self.emit(
                            context.id,
                            EventKind::BackoffChosen {
                                next_attempt: launched + 1,
                                delay,
                                source: DelaySource::Pushback,
                            },
                        );
                    } else {
                        self.emit_deadline_hit(context);
                        stopped = Some(GaveUp::DeadlineExceeded);
                    }
                }
                // A6: a non-fatal failure sends the next hedge at once.
                _ => launch_now = true,
            }
            last_status = Some(status);
        }
    }

    /// A timer for `delay`, unless it would fire at or after the deadline.
    fn timer_before_deadline(
        &self,
        context: &CallContext,
        delay: Duration,
    ) -> Option<LocalBoxFuture<'static, ()>> {
        let fires_at = self.clock.now() + delay;
        let in_time = context
            .deadline_at
            .is_none_or(|deadline| fires_at < deadline);
        in_time.then(|| self.clock.sleep(delay))
    }

    /// Hedged attempts that lost the race: their futures are dropped (which
    /// cancels the RPCs), their breaker permits given back unjudged.
    fn cancel(&self, context: &CallContext, losers: Vec<Running>) {
        for loser in losers {
            if let (Some(breaker), Some(permit)) = (&self.breaker, loser.permit) {
                breaker.borrow_mut().release(permit);
            }
            self.emit(
                context.id,
                EventKind::AttemptEnded {
                    attempt: loser.number,
                    code: Code::Cancelled,
                    latency: self.clock.now().saturating_sub(loser.started),
                    fault_injected: None,
                    replayed: false,
                },
            );
        }
    }

    /// May attempt `number` start now? Checks the deadline (and computes the
    /// attempt's timeout), the budget (for hedges) and the breaker.
    fn admit(
        &self,
        context: &CallContext,
        number: u32,
        spend_budget: bool,
    ) -> Result<(Option<Permit>, Option<Duration>, Duration), GaveUp> {
        let now = self.clock.now();
        let remaining = match context.deadline_at {
            Some(deadline) if now >= deadline => {
                self.emit_deadline_hit(context);
                return Err(GaveUp::DeadlineExceeded);
            }
            Some(deadline) => Some(deadline - now),
            None => None,
        };
        if spend_budget && !self.budget_allows_retry(context) {
            return Err(GaveUp::BudgetExhausted);
        }
        let permit = match &self.breaker {
            None => None,
            Some(breaker) => {
                let decision = breaker.borrow_mut().try_acquire(now);
                match decision {
                    Ok(permit) => {
                        if let Some(transition) = permit.transition() {
                            self.emit_transition(context.id, now, transition);
                        }
                        Some(permit)
                    }
                    Err(rejected) => {
                        self.emit_at(
                            context.id,
                            now,
                            EventKind::RejectedByBreaker {
                                attempt: number,
                                state: rejected.state,
                            },
                        );
                        return Err(GaveUp::BreakerOpen);
                    }
                }
            }
        };
        let timeout = match (self.policy.per_attempt_timeout, remaining) {
            (Some(limit), Some(remaining)) => Some(limit.min(remaining)),
            (limit, remaining) => limit.or(remaining),
        };
        Ok((permit, timeout, now))
    }

    /// The retry rules, in order, after attempt `number` failed with `status`.
    fn after_failure(
        &self,
        context: &CallContext,
        spec: CallSpec,
        number: u32,
        status: &Status,
        backoff: &mut Backoff,
    ) -> Next {
        // A retryable code, and the idempotency rule: without a key, the
        // server cannot tell a retry from a new request, so a non-idempotent
        // operation could run twice. (The attempt may have executed:
        // UNAVAILABLE can mean "the reply was lost", DEADLINE_EXCEEDED "too
        // slow, but done".)
        if let Err(reason) =
            self.policy
                .may_retry(status.code(), spec.idempotent, context.key.is_some())
        {
            return Next::Stop(reason);
        }
        let pushback = self.read_pushback(context, number, status);
        if pushback == Some(Pushback::DoNotRetry) {
            return Next::Stop(GaveUp::PushbackSaidStop);
        }
        if number >= self.policy.max_attempts {
            return Next::Stop(GaveUp::AttemptsExhausted);
        }
        let now = self.clock.now();
        if context.deadline_at.is_some_and(|deadline| now >= deadline) {
            self.emit_deadline_hit(context);
            return Next::Stop(GaveUp::DeadlineExceeded);
        }
        // Consulted before sleeping: a refused retry should not wait first.
        if !self.budget_allows_retry(context) {
            return Next::Stop(GaveUp::BudgetExhausted);
        }
        let (delay, source) = match pushback {
            Some(Pushback::RetryAfter(delay)) => {
                // A6: the server's delay replaces the schedule, which starts over.
                backoff.reset();
                (delay, DelaySource::Pushback)
            }
            _ => (
                backoff.next_delay(&mut **self.rng.borrow_mut()),
                DelaySource::Backoff,
            ),
        };
        if context
            .deadline_at
            .is_some_and(|deadline| now + delay >= deadline)
        {
            // Sleeping would end at or past the deadline: no attempt could
            // follow it, so stop now instead of waiting for nothing.
            self.emit_deadline_hit(context);
            return Next::Stop(GaveUp::DeadlineExceeded);
        }
        self.emit(
            context.id,
            EventKind::BackoffChosen {
                next_attempt: number + 1,
                delay,
                source,
            },
        );
        Next::RetryAfter(delay)
    }

    fn budget_allows_retry(&self, context: &CallContext) -> bool {
        let Some(budget) = &self.budget else {
            return true;
        };
        let budget = budget.borrow();
        if budget.retry_allowed() {
            return true;
        }
        let tokens = budget.tokens();
        drop(budget);
        self.emit(context.id, EventKind::BudgetRefused { tokens });
        false
    }

    /// Record an attempt's outcome everywhere it matters: the event stream,
    /// the breaker and the budget.
    fn attempt_ended<T>(
        &self,
        context: &CallContext,
        number: u32,
        started: Duration,
        outcome: &Result<Response<T>, Status>,
        permit: Option<Permit>,
    ) {
        let now = self.clock.now();
        let latency = now.saturating_sub(started);
        let (code, metadata) = match outcome {
            Ok(response) => (Code::Ok, response.metadata()),
            Err(status) => (status.code(), status.metadata()),
        };
        self.emit_at(
            context.id,
            now,
            EventKind::AttemptEnded {
                attempt: number,
                code,
                latency,
                fault_injected: text(metadata, headers::FAULT_INJECTED).map(str::to_owned),
                replayed: text(metadata, headers::IDEMPOTENT_REPLAYED) == Some("true"),
            },
        );
        if let (Some(breaker), Some(permit)) = (&self.breaker, permit) {
            let (judged, counts, transition) = {
                let mut breaker = breaker.borrow_mut();
                let judged = breaker.state() == BreakerState::Closed;
                let transition = breaker.record(permit, code, latency, now);
                (judged, breaker.window_counts(), transition)
            };
            // The window an attempt in the closed state was judged by: the
            // rolling failure rate a plot draws against the threshold.
            if judged {
                self.emit_at(context.id, now, EventKind::BreakerWindow { counts });
            }
            if let Some(transition) = transition {
                self.emit_transition(context.id, now, transition);
            }
        }
        if let Some(budget) = &self.budget {
            // A6: a failure is a retryable code or a pushback; client errors
            // such as INVALID_ARGUMENT neither spend nor earn tokens.
            let tokens = {
                let mut budget = budget.borrow_mut();
                if code == Code::Ok {
                    budget.record_success();
                } else if self.policy.retryable_codes.contains(code)
                    || (!metadata.is_empty() && metadata.contains_key(headers::RETRY_PUSHBACK_MS))
                {
                    budget.record_failure();
                } else {
                    return;
                }
                budget.tokens()
            };
            self.emit_at(context.id, now, EventKind::BudgetUpdated { tokens });
        }
    }

    /// The server's pushback on a failed attempt, reported as an event.
    fn read_pushback(
        &self,
        context: &CallContext,
        number: u32,
        status: &Status,
    ) -> Option<Pushback> {
        let pushback = Pushback::from_metadata(status.metadata())?;
        self.emit(
            context.id,
            EventKind::PushbackReceived {
                attempt: number,
                pushback,
            },
        );
        Some(pushback)
    }

    fn failure(&self, last: Option<Status>, attempts: u32, gave_up: GaveUp) -> CallError {
        let status = last.unwrap_or_else(|| {
            let state = self.breaker_state().unwrap_or(BreakerState::Open);
            Status::unavailable(format!(
                "the circuit breaker is {state}: the call failed at once and no request was sent"
            ))
        });
        CallError {
            status,
            attempts,
            gave_up,
        }
    }

    fn emit_attempt_started(&self, context: &CallContext, attempt: &Attempt, at: Duration) {
        self.emit_at(
            context.id,
            at,
            EventKind::AttemptStarted {
                attempt: attempt.number,
                hedge: attempt.hedge,
                timeout: attempt.timeout,
            },
        );
    }

    fn emit_deadline_hit(&self, context: &CallContext) {
        if let Some(deadline) = self.policy.deadline {
            self.emit(context.id, EventKind::DeadlineHit { deadline });
        }
    }

    fn emit_transition(&self, call: u64, at: Duration, transition: Transition) {
        self.emit_at(
            call,
            at,
            EventKind::BreakerTransition {
                from: transition.from,
                to: transition.to,
            },
        );
    }

    fn emit(&self, call: u64, kind: EventKind) {
        self.emit_at(call, self.clock.now(), kind);
    }

    /// Emit with a time already read: reading the clock costs tens of
    /// nanoseconds (and is a JavaScript call in the browser), and the events
    /// of one decision should carry the same timestamp anyway.
    fn emit_at(&self, call: u64, at: Duration, kind: EventKind) {
        self.sink.emit(Event { at, call, kind });
    }
}

/// Run `attempt`, or give up on it when `timer` fires first. Dropping the
/// loser cancels it: a dropped tonic future closes its HTTP/2 stream (or
/// aborts the browser's `fetch`), and a dropped timer is cleared.
async fn race<T, Fut>(
    attempt: Fut,
    timer: Option<(Duration, LocalBoxFuture<'static, ()>)>,
) -> Result<Response<T>, Status>
where
    Fut: Future<Output = Result<Response<T>, Status>>,
{
    let Some((limit, timer)) = timer else {
        return attempt.await;
    };
    match select(pin!(attempt), timer).await {
        Either::Left((outcome, _timer)) => outcome,
        Either::Right(((), _attempt)) => Err(Status::deadline_exceeded(format!(
            "no answer within {} (the client's timeout for this attempt)",
            millis(limit)
        ))),
    }
}

/// A timer that may not exist: waits for it, or forever.
async fn fire(timer: &mut Option<LocalBoxFuture<'static, ()>>) {
    match timer {
        Some(timer) => timer.await,
        None => std::future::pending().await,
    }
}

fn text<'m>(metadata: &'m MetadataMap, name: &str) -> Option<&'m str> {
    if metadata.is_empty() {
        // Most replies carry no metadata; skip parsing the header name.
        return None;
    }
    metadata.get(name).and_then(|value| value.to_str().ok())
}
