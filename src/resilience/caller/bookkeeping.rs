//! Bookkeeping: every attempt's end is recorded everywhere it matters.
//!
//! When an attempt ends, three things must learn of it at the same instant:
//! the event stream (the page's plots and the tests read only that), the
//! circuit breaker (its window of recent outcomes) and the retry budget (its
//! tokens). Keeping the three in one place is what keeps them in step; the
//! loops in `sequential` and `hedging` only decide what to do next.

use std::time::Duration;

use tonic::metadata::MetadataMap;
use tonic::{Code, Response, Status};

use super::attempt::Attempt;
use super::{CallContext, ResilientCaller};
use crate::headers;
use crate::resilience::breaker::{BreakerState, Permit, Transition};
use crate::resilience::events::{Event, EventKind};
use crate::resilience::outcome::{GaveUp, ResilientCallError};
use crate::resilience::pushback::Pushback;

impl ResilientCaller {
    /// Record an attempt's outcome everywhere it matters: the event stream,
    /// the breaker and the budget.
    pub(super) fn attempt_ended<T>(
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
    pub(super) fn read_pushback(
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

    pub(super) fn failure(
        &self,
        last: Option<Status>,
        attempts: u32,
        gave_up: GaveUp,
    ) -> ResilientCallError {
        let status = last.unwrap_or_else(|| {
            let state = self.breaker_state().unwrap_or(BreakerState::Open);
            Status::unavailable(format!(
                "the circuit breaker is {state}: the call failed at once and no request was sent"
            ))
        });
        ResilientCallError {
            status,
            attempts,
            gave_up,
        }
    }

    pub(super) fn emit_attempt_started(
        &self,
        context: &CallContext,
        attempt: &Attempt,
        at: Duration,
    ) {
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

    pub(super) fn emit_deadline_hit(&self, context: &CallContext) {
        if let Some(deadline) = self.policy.deadline {
            self.emit(context.id, EventKind::DeadlineHit { deadline });
        }
    }

    pub(super) fn emit_transition(&self, call: u64, at: Duration, transition: Transition) {
        self.emit_at(
            call,
            at,
            EventKind::BreakerTransition {
                from: transition.from,
                to: transition.to,
            },
        );
    }

    pub(super) fn emit(&self, call: u64, kind: EventKind) {
        self.emit_at(call, self.clock.now(), kind);
    }

    /// Emit with a time already read: reading the clock costs tens of
    /// nanoseconds (and is a JavaScript call in the browser), and the events
    /// of one decision should carry the same timestamp anyway.
    pub(super) fn emit_at(&self, call: u64, at: Duration, kind: EventKind) {
        self.sink.emit(Event { at, call, kind });
    }
}

fn text<'m>(metadata: &'m MetadataMap, name: &str) -> Option<&'m str> {
    if metadata.is_empty() {
        // Most replies carry no metadata; skip parsing the header name.
        return None;
    }
    metadata.get(name).and_then(|value| value.to_str().ok())
}
