//! Admission: may this attempt start now?
//!
//! Before every attempt the caller asks three things, in this order: is
//! there time left before the deadline (and how much of it may this attempt
//! have)? may a retry or hedge spend the retry budget? will the circuit
//! breaker let it through? A "no" to any of them ends the call with the
//! matching [`GaveUp`] reason, and nothing is sent.

use std::time::Duration;

use super::{CallContext, ResilientCaller};
use crate::resilience::breaker::Permit;
use crate::resilience::events::EventKind;
use crate::resilience::outcome::GaveUp;

/// An attempt that may start: the breaker's permit (if there is a breaker),
/// the time it has, and when it was admitted.
pub(super) struct Admitted {
    pub(super) permit: Option<Permit>,
    pub(super) timeout: Option<Duration>,
    pub(super) started: Duration,
}

impl ResilientCaller {
    /// May attempt `number` start now? Checks the deadline (and computes the
    /// attempt's timeout), the budget (for hedges) and the breaker.
    pub(super) fn admit(
        &self,
        context: &CallContext,
        number: u32,
        spend_budget: bool,
    ) -> Result<Admitted, GaveUp> {
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
        Ok(Admitted {
            permit,
            timeout,
            started: now,
        })
    }

    /// Whether the retry budget lets a retry or a hedge start now (always,
    /// without a budget). A refusal is reported as an event.
    pub(super) fn budget_allows_retry(&self, context: &CallContext) -> bool {
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
}
