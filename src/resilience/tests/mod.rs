//! The caller's rules, each shown on tokio's paused clock.
//!
//! A test scripts what the "server" does — each attempt pops the next
//! outcome and takes a set latency with `tokio::time::sleep` — and then
//! checks what the caller did: how many attempts, when, with which key and
//! timeout, and which events it reported. With `start_paused = true`,
//! tokio's clock jumps straight to the next timer whenever every task is
//! waiting, so a test of a 5-second deadline runs in microseconds and sees
//! exactly the same timestamps every time.
//!
//! These tests live inside the crate (not in `tests/`) because they use
//! `TokioClock`, which outside of unit tests needs the `tokio` feature; this
//! way plain `cargo test` runs them too.

mod breaker;
mod budget;
mod deadline;
mod hedging;
mod properties;
mod retry;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use futures_util::future::LocalBoxFuture;
use tonic::metadata::MetadataValue;
use tonic::{Code, Request, Response, Status};

use super::{
    Attempt, CallSpec, Event, EventKind, ResilientCallError, ResilientCaller, RetryPolicy,
    SeededKeys, SeededRng, TokioClock, VecSink,
};

pub(super) const MS: Duration = Duration::from_millis(1);

/// What one scripted attempt does: wait `latency`, then answer `outcome`.
#[derive(Debug)]
pub(super) struct Step {
    latency: Duration,
    outcome: Result<Vec<(&'static str, &'static str)>, Status>,
}

/// A success after `ms` milliseconds.
pub(super) fn ok(ms: u64) -> Step {
    ok_with(ms, &[])
}

/// A success carrying response headers (`idempotent-replayed`, …).
pub(super) fn ok_with(ms: u64, headers: &[(&'static str, &'static str)]) -> Step {
    Step {
        latency: Duration::from_millis(ms),
        outcome: Ok(headers.to_vec()),
    }
}

/// A failure with `code` after `ms` milliseconds.
pub(super) fn fail(code: Code, ms: u64) -> Step {
    fail_with(code, ms, &[])
}

/// A failure carrying metadata (`grpc-retry-pushback-ms`, `x-fault-injected`).
pub(super) fn fail_with(code: Code, ms: u64, headers: &[(&'static str, &'static str)]) -> Step {
    let mut status = Status::new(code, "scripted");
    for (name, value) in headers {
        status
            .metadata_mut()
            .insert(*name, MetadataValue::from_static(value));
    }
    Step {
        latency: Duration::from_millis(ms),
        outcome: Err(status),
    }
}

/// What the server saw of one attempt.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Seen {
    pub number: u32,
    pub hedge: bool,
    /// When the attempt started, on the caller's clock.
    pub at: Duration,
    /// The `idempotency-key` metadata of the prepared request.
    pub key: Option<String>,
    /// The `grpc-timeout` metadata of the prepared request.
    pub grpc_timeout: Option<String>,
    pub timeout: Option<Duration>,
}

/// A fake server: pops scripted steps and records every attempt.
#[derive(Default)]
pub(super) struct Script {
    steps: RefCell<VecDeque<Step>>,
    seen: RefCell<Vec<Seen>>,
    /// Attempts whose future was dropped before it finished.
    cancelled: RefCell<Vec<u32>>,
}

impl Script {
    pub fn new(steps: impl IntoIterator<Item = Step>) -> Rc<Self> {
        Rc::new(Script {
            steps: RefCell::new(steps.into_iter().collect()),
            ..Script::default()
        })
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.borrow().clone()
    }

    pub fn attempts(&self) -> usize {
        self.seen.borrow().len()
    }

    pub fn cancelled(&self) -> Vec<u32> {
        self.cancelled.borrow().clone()
    }

    /// Make one attempt the way a real closure would: prepare a request,
    /// then "send" it.
    pub fn attempt(
        self: &Rc<Self>,
        attempt: &Attempt,
        clock_origin: tokio::time::Instant,
    ) -> LocalBoxFuture<'static, Result<Response<u32>, Status>> {
        let mut request = Request::new(());
        attempt.prepare(&mut request);
        let text = |name| {
            request
                .metadata()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        self.seen.borrow_mut().push(Seen {
            number: attempt.number(),
            hedge: attempt.is_hedge(),
            at: clock_origin.elapsed(),
            key: text("idempotency-key"),
            grpc_timeout: text("grpc-timeout"),
            timeout: attempt.timeout(),
        });
        let step = self
            .steps
            .borrow_mut()
            .pop_front()
            .expect("the script has a step for every attempt");
        let number = attempt.number();
        let script = Rc::clone(self);
        Box::pin(async move {
            let guard = CancelGuard {
                script,
                number,
                finished: false,
            };
            tokio::time::sleep(step.latency).await;
            let mut guard = guard;
            guard.finished = true;
            match step.outcome {
                Ok(headers) => {
                    let mut response = Response::new(number);
                    for (name, value) in headers {
                        response
                            .metadata_mut()
                            .insert(name, MetadataValue::from_static(value));
                    }
                    Ok(response)
                }
                Err(status) => Err(status),
            }
        })
    }
}

/// Notes in the script when an attempt's future is dropped unfinished.
struct CancelGuard {
    script: Rc<Script>,
    number: u32,
    finished: bool,
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.script.cancelled.borrow_mut().push(self.number);
        }
    }
}

/// A caller on the paused tokio clock with a fixed seed (and, so that two
/// runs' event streams compare equal, seeded keys), and its events.
pub(super) struct Lab {
    pub caller: ResilientCaller,
    pub sink: Rc<VecSink>,
    origin: tokio::time::Instant,
}

impl Lab {
    pub fn new(policy: RetryPolicy) -> Self {
        let sink = Rc::new(VecSink::new());
        let clock = TokioClock::new();
        let caller = ResilientCaller::new(policy, Rc::new(clock), SeededRng::new(7), sink.clone())
            .expect("valid policy")
            .with_keys(SeededKeys::new(7));
        Lab {
            caller,
            sink,
            origin: tokio::time::Instant::now(),
        }
    }

    /// One logical call against `script`.
    pub async fn call(
        &self,
        script: &Rc<Script>,
        spec: CallSpec,
    ) -> Result<Response<u32>, ResilientCallError> {
        let origin = self.origin;
        self.caller
            .call(spec, |attempt| script.attempt(attempt, origin))
            .await
    }

    pub fn events(&self) -> Vec<Event> {
        self.sink.events()
    }

    /// The events of kind `matching`, as (time in ms, kind).
    pub fn find(&self, matching: fn(&EventKind) -> bool) -> Vec<(u128, EventKind)> {
        self.events()
            .into_iter()
            .filter(|e| matching(&e.kind))
            .map(|e| (e.at.as_millis(), e.kind))
            .collect()
    }

    /// The `CallEnded` event of the last call.
    pub fn call_ended(&self) -> EventKind {
        self.events()
            .into_iter()
            .rev()
            .find(|e| matches!(e.kind, EventKind::CallEnded { .. }))
            .expect("a CallEnded event")
            .kind
    }
}

/// A policy with no randomness and no timers unless a test adds them:
/// 100 ms, 200 ms, 400 ms… up to 1 s, at most 4 attempts.
pub(super) fn plain_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        initial_backoff: 100 * MS,
        multiplier: 2.0,
        max_backoff: 1000 * MS,
        jitter: super::Jitter::None,
        per_attempt_timeout: None,
        deadline: None,
        ..RetryPolicy::default()
    }
}

pub(super) const IDEMPOTENT: CallSpec = CallSpec::idempotent("GetBalance");

pub(super) const NOT_IDEMPOTENT: CallSpec = CallSpec::not_idempotent("Withdraw");
