//! The bench: the lab's requests to the server — its runs, its set-up, and
//! its reads of the server's truth.
//!
//! A [`Bench`] knows the server's address and this tab's session. It runs a
//! batch of logical calls through a [`ResilientCaller`] (one after another or
//! several at once, paced, stoppable), and asks the server's `Lab` service for
//! the truth before and after, so the page can set what the client believed
//! against what the server did.
//!
//! Nothing here draws anything: progress is reported through callbacks and
//! the caller's events go to the sink the page gave it. (The by-hand key
//! group sends its own requests, through the same
//! [`operations::perform`], with this bench's address and session.)

use std::cell::{Cell, RefCell};
use std::time::Duration;

use futures_util::future::join_all;
use rpc_lab::proto::Number;
use rpc_lab::proto::calculator_v1::{
    AmountRequest, Balance, GetBalanceRequest, GetStatsRequest, GetValueRequest, LabStats,
    ResetSessionReply, ResetSessionRequest,
};
use rpc_lab::resilience::{CallSpec, Clock, ResilientCallError, ResilientCaller, SeededRng};
use rpc_lab::{headers, status};
use tonic::metadata::MetadataValue;
use tonic::{Code, Request, Status};

use crate::faults::FaultSettings;
use crate::lessons::RunSpec;
use crate::operations::{self, Call, LabOperation, Reply};
use crate::{session, wire};

/// The server and the session every request of this tab goes to.
#[derive(Clone, Debug, PartialEq)]
pub struct Bench {
    pub base_url: String,
    pub session: String,
}

/// How one logical call of a batch ended.
#[derive(Clone, Debug)]
pub struct Finished {
    /// 1 for the batch's first call.
    pub number: u64,
    pub result: Result<Reply, ResilientCallError>,
}

impl Bench {
    fn transport(&self) -> tonic_web_wasm_client::Client {
        tonic_web_wasm_client::Client::new(self.base_url.clone())
    }

    /// Calls `path` in this tab's session, marked as the page's own
    /// bookkeeping (a set-up, a read of the truth): the server's view shows
    /// it as the page's, not as one of the student's calls.
    async fn call<M: prost::Message, Reply: prost::Message + Default>(
        &self,
        path: &str,
        message: M,
    ) -> Result<Reply, Status> {
        let mut request = Request::new(message);
        session::tag(&mut request, &self.session);
        request
            .metadata_mut()
            .insert(headers::LAB_BOOKKEEPING, MetadataValue::from_static("1"));
        Ok(wire::unary(self.transport(), path, request)
            .await?
            .into_inner())
    }

    /// Forgets the session's state and counters; with a seed, the server's
    /// fault decisions restart from it.
    pub async fn reset(&self, seed: Option<u64>) -> Result<(), Status> {
        let path = "/calculator.v1.Lab/ResetSession";
        let _: ResetSessionReply = self.call(path, ResetSessionRequest { seed }).await?;
        Ok(())
    }

    /// The server's counters for this session.
    pub async fn stats(&self) -> Result<LabStats, Status> {
        self.call("/calculator.v1.Lab/GetStats", GetStatsRequest {})
            .await
    }

    /// Puts money in an account, without faults or retries (a lesson's set-up).
    pub async fn deposit(&self, account: &str, cents: i64) -> Result<(), Status> {
        let amount = AmountRequest {
            account: account.into(),
            amount_cents: cents,
        };
        let _: Balance = self.call("/calculator.v1.Account/Deposit", amount).await?;
        Ok(())
    }

    /// The state `call` changes, as the server holds it: a balance in cents or
    /// a stored value (a key never set reads as 0). `None` — and no request —
    /// for operations that change nothing countable: reading a balance to
    /// show the effect of `GetBalance` would itself be a `GetBalance`, counted
    /// by the server as one more execution of the student's operation.
    pub async fn state_of(&self, call: &Call) -> Result<Option<f64>, Status> {
        if !changes_state(call.operation()) {
            return Ok(None);
        }
        match call {
            Call::Account { account, .. } => {
                let account = account.clone();
                let path = "/calculator.v1.Account/GetBalance";
                let balance: Balance = self.call(path, GetBalanceRequest { account }).await?;
                Ok(Some(balance.balance_cents as f64))
            }
            Call::Store {
                operation: LabOperation::Increment | LabOperation::SetValue,
                key,
                ..
            } => {
                let path = "/calculator.v1.Store/GetValue";
                let reply: Result<Number, _> =
                    self.call(path, GetValueRequest { key: key.clone() }).await;
                match reply {
                    Ok(number) => Ok(Some(number.value)),
                    Err(status) if status.code() == Code::NotFound => Ok(Some(0.0)),
                    Err(status) => Err(status),
                }
            }
            _ => Ok(None),
        }
    }

    /// Makes `spec.count` logical calls of `call` through `caller`.
    ///
    /// `retry_unsafe` declares every operation idempotent to the caller — the
    /// naive client that retries withdrawals too.
    ///
    /// `spec.concurrency` workers take the next call number until the batch
    /// is done or `stop` is set; call *i* starts no earlier than *i* ×
    /// `spec.pace_ms` after the batch began. Each attempt gets its fault
    /// headers from `faults` (healthy after `spec.healthy_after` calls), drawn
    /// from `fault_rng`. `finished` hears about every call as it ends.
    #[allow(clippy::too_many_arguments)]
    pub async fn run(
        &self,
        caller: &ResilientCaller,
        clock: &dyn Clock,
        call: &Call,
        spec: &RunSpec,
        faults: &FaultSettings,
        retry_unsafe: bool,
        fault_rng: &RefCell<SeededRng>,
        stop: &Cell<bool>,
        finished: &dyn Fn(Finished),
    ) {
        let started = clock.now();
        let next = Cell::new(0u64);
        let healthy = FaultSettings::default();
        let worker = || async {
            loop {
                let number = next.get() + 1;
                if stop.get() || number > u64::from(spec.count) {
                    break;
                }
                next.set(number);
                let start_at =
                    started + Duration::from_millis(u64::from(spec.pace_ms)) * (number - 1) as u32;
                let now = clock.now();
                if start_at > now {
                    clock.sleep(start_at - now).await;
                    if stop.get() {
                        break;
                    }
                }
                let faults = match spec.healthy_after {
                    Some(after) if number > u64::from(after) => &healthy,
                    _ => faults,
                };
                let this_call = if spec.count_up {
                    call.numbered(number)
                } else {
                    call.clone()
                };
                let operation = this_call.operation();
                let result = caller
                    .call(
                        CallSpec {
                            operation: operation.slug(),
                            idempotent: operation.idempotent() || retry_unsafe,
                        },
                        |attempt| {
                            let headers = faults.for_attempt(&mut *fault_rng.borrow_mut());
                            let transport = self.transport();
                            let this_call = this_call.clone();
                            let attempt = *attempt;
                            async move {
                                operations::perform(
                                    &this_call,
                                    &attempt,
                                    transport,
                                    &self.session,
                                    &headers,
                                )
                                .await
                            }
                        },
                    )
                    .await
                    .map(|reply| reply.into_inner());
                finished(Finished { number, result });
            }
        };
        join_all((0..spec.concurrency.max(1)).map(|_| worker())).await;
    }
}

/// Whether an operation changes a state the truth table can read back
/// (a balance, a stored number); exactly those [`crate::truth::effect`]
/// reports on.
pub fn changes_state(operation: LabOperation) -> bool {
    matches!(
        operation,
        LabOperation::Deposit
            | LabOperation::Withdraw
            | LabOperation::Increment
            | LabOperation::SetValue
    )
}

/// A request of the bench itself failed: what it was doing, the status, and
/// what the status means for the student (often: is the server running?).
pub fn failure(what: &str, status: &Status) -> String {
    let message = status.message().trim().trim_end_matches('.');
    format!(
        "{what} failed with {}{}. {}",
        status::code_name(status.code()),
        if message.is_empty() {
            String::new()
        } else {
            format!(": “{message}”")
        },
        status::explain(status.code())
    )
}

/// A failed logical call in words: which call, the code, the server's own
/// message, why the caller stopped, and what the code means for the caller.
pub fn describe_failure(
    label: &str,
    number: u64,
    operation: LabOperation,
    error: &ResilientCallError,
) -> String {
    let message = error.status.message().trim();
    let message = if message.is_empty() {
        String::new()
    } else {
        format!(": “{}”", message.trim_end_matches('.'))
    };
    let attempts = error.attempts;
    format!(
        "{label}, call {number}: {operation} failed with {}{message}. The client gave up after \
         {attempts} attempt{}: {}. {}",
        status::code_name(error.status.code()),
        if attempts == 1 { "" } else { "s" },
        error.gave_up.explain(),
        status::explain_attempts(error.status.code(), error.attempts),
    )
}

/// A random source for the page's own fault choices, derived from the seed
/// but independent of the caller's jitter stream.
pub fn fault_rng(seed: u64) -> SeededRng {
    SeededRng::new(seed ^ 0x5eed_fa17_0000_0001)
}

#[cfg(test)]
mod tests {
    use rpc_lab::resilience::GaveUp;

    use super::*;
    use crate::operations::OperationForm;
    use crate::truth;

    /// Issue 10: the banner shows the server's own message, and each part is
    /// a sentence (it read "…that retrying can fix The system…").
    #[test]
    fn a_failure_quotes_the_server_and_ends_its_sentences() {
        let error = ResilientCallError {
            status: Status::failed_precondition("insufficient funds: balance $5.00, asked $10.00"),
            attempts: 1,
            gave_up: GaveUp::NotRetryable,
        };
        let text = describe_failure("run 2: Withdraw × 1", 1, LabOperation::Withdraw, &error);
        assert!(
            text.starts_with(
                "run 2: Withdraw × 1, call 1: Withdraw failed with FAILED_PRECONDITION: \
                 “insufficient funds: balance $5.00, asked $10.00”. The client gave up after \
                 1 attempt: the error is not one that retrying can fix. The system"
            ),
            "{text}"
        );
        assert!(text.ends_with('.'));
        let silent = ResilientCallError {
            status: Status::unavailable(""),
            attempts: 3,
            gave_up: GaveUp::AttemptsExhausted,
        };
        let text = describe_failure("run", 4, LabOperation::Add, &silent);
        assert!(
            text.contains("failed with UNAVAILABLE. The client gave up after 3 attempts: every"),
            "{text}"
        );
    }

    /// A student's report: a breaker rejection said "no request was sent",
    /// then "the operation may already have run once" — the generic advice for
    /// UNAVAILABLE. With nothing sent, nothing ran, and the page says so.
    #[test]
    fn a_breaker_rejection_never_suggests_the_call_may_have_run() {
        let rejected = ResilientCallError {
            status: Status::unavailable(
                "the circuit breaker is open: the call failed at once and no request was sent",
            ),
            attempts: 0,
            gave_up: GaveUp::BreakerOpen,
        };
        assert!(rejected.rejected_by_breaker());
        let text = describe_failure("circuit breaker", 25, LabOperation::Deposit, &rejected);
        assert!(!text.contains("may already have run"), "{text}");
        assert!(text.contains("the server did nothing"), "{text}");
        // A lost reply, retried until the breaker opened: attempts went out,
        // so the warning that the operation may have run is still true.
        let after_attempts = ResilientCallError {
            status: Status::unavailable("reply lost"),
            attempts: 2,
            gave_up: GaveUp::BreakerOpen,
        };
        let text = describe_failure("run", 3, LabOperation::Withdraw, &after_attempts);
        assert!(text.contains("may already have run"), "{text}");
    }

    /// Issue 10: a `GetBalance` run showed "+1 duplicate" because the page's
    /// own balance read counted as an execution. Operations whose effect is
    /// not tracked are never read back; those whose effect is, are.
    #[test]
    fn only_operations_with_an_effect_have_their_state_read_back() {
        let form = OperationForm::default();
        for operation in LabOperation::ALL {
            let call = form.call(operation).expect("the default form is valid");
            let tracked = truth::effect(&call, false, 1, 1, Some(1), 0.0, 0.0).is_some();
            assert_eq!(changes_state(operation), tracked, "{operation}");
        }
        assert!(!changes_state(LabOperation::GetBalance));
    }
}
