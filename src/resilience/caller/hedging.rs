//! Hedging: when an attempt is slow, send another one alongside it.
//!
//! Retrying waits for a failure; hedging does not. When no attempt has
//! answered for the hedging delay, the caller starts another one *next to*
//! it, up to `max_attempts`, and the first success wins: the other attempts
//! are cancelled (their futures dropped, their breaker permits given back).
//! A failure with a retryable code starts the next hedge at once, and a
//! fatal code ends the call (gRFC A6 hedging). It trades load for latency —
//! a slow tail is cut by whichever copy answers first — and since every
//! hedged attempt may execute, the caller hedges only idempotent operations.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::{Either, LocalBoxFuture, select};
use futures_util::stream::FuturesUnordered;
use tonic::{Code, Response, Status};

use super::admission::Admitted;
use super::attempt::Attempt;
use super::timeout::{AttemptTimer, race};
use super::{Answered, CallContext, ResilientCaller};
use crate::resilience::breaker::Permit;
use crate::resilience::events::{DelaySource, EventKind};
use crate::resilience::outcome::{GaveUp, ResilientCallError};
use crate::resilience::policy::HedgingConfig;
use crate::resilience::pushback::Pushback;

/// An attempt in flight while hedging.
struct Running {
    number: u32,
    permit: Option<Permit>,
    started: Duration,
}

impl ResilientCaller {
    /// Hedging: a new attempt whenever the others have been quiet for the
    /// hedging delay (or one failed with a retryable code), up to
    /// `max_attempts`; the first success wins and the rest are cancelled.
    pub(super) async fn hedged<T, F, Fut>(
        &self,
        context: &CallContext,
        hedging: HedgingConfig,
        mut attempt_fn: F,
    ) -> Result<Answered<T>, ResilientCallError>
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
                    Ok(Admitted {
                        permit,
                        timeout,
                        started,
                    }) => {
                        launched += 1;
                        let attempt = Attempt {
                            number: launched,
                            hedge: launched > 1,
                            key: context.key,
                            timeout,
                        };
                        self.emit_attempt_started(context, &attempt, started);
                        let timer = AttemptTimer::start(&*self.clock, timeout);
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
                    return Ok(Answered {
                        response,
                        attempts: launched,
                    });
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
}

/// A timer that may not exist: waits for it, or forever.
async fn fire(timer: &mut Option<LocalBoxFuture<'static, ()>>) {
    match timer {
        Some(timer) => timer.await,
        None => std::future::pending().await,
    }
}
