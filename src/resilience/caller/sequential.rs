//! The retry loop: one attempt after another, with backoff between them.
//!
//! This is the classic pattern. After a failure the caller applies the
//! retry rules in order — is the code retryable? is the operation safe to
//! repeat (idempotent, or protected by a key)? did the server push back?
//! are attempts left? is there time before the deadline? does the budget
//! allow a retry? — and then waits the backoff (or the server's pushback)
//! before trying again. The first "no" ends the call, with its reason.

use std::future::Future;
use std::time::Duration;

use tonic::{Response, Status};

use super::admission::Admitted;
use super::attempt::{Attempt, CallSpec};
use super::timeout::{AttemptTimer, race};
use super::{Answered, CallContext, ResilientCaller};
use crate::resilience::backoff::Backoff;
use crate::resilience::events::{DelaySource, EventKind};
use crate::resilience::outcome::{GaveUp, ResilientCallError};
use crate::resilience::pushback::Pushback;

/// What happens after a failed attempt.
enum Next {
    RetryAfter(Duration),
    Stop(GaveUp),
}

impl ResilientCaller {
    /// Attempts one after another, with backoff between them.
    pub(super) async fn sequential<T, F, Fut>(
        &self,
        context: &CallContext,
        spec: CallSpec,
        mut attempt_fn: F,
    ) -> Result<Answered<T>, ResilientCallError>
    where
        F: FnMut(&Attempt) -> Fut,
        Fut: Future<Output = Result<Response<T>, Status>>,
    {
        let mut backoff = self.policy.backoff();
        let mut last_status = None;
        for number in 1.. {
            // The budget was already consulted before the backoff sleep, so
            // admission here checks only the deadline and the breaker.
            let Admitted {
                permit,
                timeout,
                started,
            } = match self.admit(context, number, false) {
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
            let timer = AttemptTimer::start(&*self.clock, timeout);
            let outcome = race(attempt_fn(&attempt), timer).await;
            self.attempt_ended(context, number, started, &outcome, permit);
            let status = match outcome {
                Ok(response) => {
                    return Ok(Answered {
                        response,
                        attempts: number,
                    });
                }
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
}
