//! A load scenario, checked: what a `Lab/RunLoad` request asks for, turned
//! into the resilience core's own types, within the server's caps.
//!
//! Two kinds of "no": a request that makes no sense is `INVALID_ARGUMENT`
//! (a policy the core rejects is told in the core's words, the very
//! sentences the page shows); a request that makes sense but asks more of a
//! shared server than its flags allow is `RESOURCE_EXHAUSTED`, naming the
//! flag, so a teacher knows what to raise.

use std::time::Duration;

use rpc_lab::proto::calculator_v1::{
    BackgroundLoad, LoadBreaker, LoadFaultWindow, LoadFaults, LoadJitter, LoadOperation,
    LoadPolicy, LoadScenario, load_scenario,
};
use rpc_lab::resilience::{
    BreakerConfig, BudgetConfig, CallSpec, ConfigError, Jitter, RetryPolicy, SlidingWindow,
};
use tonic::Status;

use super::schedule::Arrivals;
use crate::capacity::{CapacityLimits, CapacitySettings};
use crate::shop::PaymentTierSettings;

/// The server's caps on one run, and on runs at once (flags in `config`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoadLimits {
    /// Closed-loop clients; also open-loop calls in flight at once.
    pub max_clients: u32,
    /// Open-loop calls per second.
    pub max_rate: f64,
    pub max_duration: Duration,
    /// Runs on the whole server at once.
    pub max_runs: usize,
}

impl Default for LoadLimits {
    fn default() -> Self {
        LoadLimits {
            max_clients: 2_000,
            max_rate: 5_000.0,
            max_duration: Duration::from_secs(120),
            max_runs: 4,
        }
    }
}

/// How calls arrive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arrival {
    /// On a schedule from the run's start; at most `in_flight` at once.
    Open {
        rate: f64,
        arrivals: Arrivals,
        in_flight: u32,
    },
    /// `clients` loops of call, think, call.
    Closed { clients: u32, think: Duration },
}

/// The operation every virtual call makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Add,
    Deposit,
    Withdraw,
    Increment,
    /// Read key "load"'s version, then `CompareAndSet` it: Brooker's
    /// optimistic-concurrency client ("Exponential Backoff And Jitter").
    OptimisticWrite,
    /// `Shop/Checkout`: the front tier's call that waits on payment.
    Checkout,
}

impl Operation {
    /// What the caller is told about it: `Add` may simply be repeated, and
    /// so may an optimistic write, whose every attempt is *conditional*: its
    /// compare-and-set can only land on the version that attempt read, so
    /// an attempt refused with ABORTED changed nothing, and retrying it can
    /// never overwrite a write the client did not see. (What the declaration
    /// does not cover: a CAS that landed but whose reply was lost, under
    /// `faults.drop` — the retry reads again and writes a second time, on
    /// top of its own first write; the run's `server_executions` show it.)
    pub fn spec(self) -> CallSpec {
        match self {
            Operation::Add => CallSpec::idempotent("Add"),
            Operation::OptimisticWrite => CallSpec::idempotent("OptimisticWrite"),
            Operation::Deposit => CallSpec::not_idempotent("Deposit"),
            Operation::Withdraw => CallSpec::not_idempotent("Withdraw"),
            Operation::Increment => CallSpec::not_idempotent("Increment"),
            Operation::Checkout => CallSpec::not_idempotent("Checkout"),
        }
    }

    /// The full method name the server counts its executions under.
    pub fn method(self) -> &'static str {
        match self {
            Operation::Add => "/calculator.v1.Calculator/Add",
            Operation::Deposit => "/calculator.v1.Account/Deposit",
            Operation::Withdraw => "/calculator.v1.Account/Withdraw",
            Operation::Increment => "/calculator.v1.Store/Increment",
            // The writes attempted; each attempt's read is not counted here.
            Operation::OptimisticWrite => "/calculator.v1.Store/CompareAndSet",
            Operation::Checkout => crate::shop::CHECKOUT_METHOD,
        }
    }

    /// The operation a request names in its field `name`.
    fn from_proto(operation: i32, name: &str) -> Result<Operation, Status> {
        match LoadOperation::try_from(operation) {
            Ok(LoadOperation::Add) => Ok(Operation::Add),
            Ok(LoadOperation::Deposit) => Ok(Operation::Deposit),
            Ok(LoadOperation::Withdraw) => Ok(Operation::Withdraw),
            Ok(LoadOperation::Increment) => Ok(Operation::Increment),
            Ok(LoadOperation::OptimisticWrite) => Ok(Operation::OptimisticWrite),
            Ok(LoadOperation::Checkout) => Ok(Operation::Checkout),
            Err(_) => Err(invalid(format!(
                "{name} {operation} is not a LoadOperation"
            ))),
        }
    }
}

/// Calls beside the run's operation, in open loop at a rate of their own,
/// with a client of their own, counted apart: the `Add`s of the cascade
/// lesson, which share the front tier's workers with the checkouts.
#[derive(Clone, Debug, PartialEq)]
pub struct Background {
    pub rate: f64,
    pub operation: Operation,
    pub policy: RetryPolicy,
    pub breaker: Option<BreakerConfig>,
    pub shared_client: bool,
    /// At most this many background calls in flight at once.
    pub in_flight: u32,
}

/// Fault headers for every attempt.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Faults {
    pub fail: f64,
    pub drop: f64,
    pub delay_ms: u32,
}

impl Faults {
    /// `faults` checked; `field` names it in an error.
    fn from_proto(faults: &LoadFaults, field: &str) -> Result<Faults, Status> {
        for (name, p) in [("fail", faults.fail), ("drop", faults.drop)] {
            if !(0.0..=1.0).contains(&p) {
                return Err(invalid(format!(
                    "{field}.{name} is {p}: a probability is between 0 and 1"
                )));
            }
        }
        Ok(Faults {
            fail: faults.fail,
            drop: faults.drop,
            delay_ms: faults.delay_ms,
        })
    }
}

/// Other faults for a while: from `start` to `end` after the run starts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaultWindow {
    pub start: Duration,
    pub end: Duration,
    pub faults: Faults,
}

impl FaultWindow {
    /// The windows of a request, checked and in time order: each ends after
    /// it starts and by the longest run, and none overlaps another.
    fn all_from_proto(
        windows: &[LoadFaultWindow],
        limits: &LoadLimits,
    ) -> Result<Vec<FaultWindow>, Status> {
        let mut checked = Vec::with_capacity(windows.len());
        for (i, window) in windows.iter().enumerate() {
            let field = format!("fault_windows[{i}]");
            if window.end_ms <= window.start_ms {
                return Err(invalid(format!(
                    "{field}.end_ms must be after start_ms ({}), got {}",
                    window.start_ms, window.end_ms
                )));
            }
            if ms(window.end_ms) > limits.max_duration {
                return Err(invalid(format!(
                    "{field}.end_ms {} is after the longest run this server allows \
                     (--max-load-duration-ms {})",
                    window.end_ms,
                    limits.max_duration.as_millis()
                )));
            }
            let faults = Faults::from_proto(
                &window.faults.unwrap_or_default(),
                &format!("{field}.faults"),
            )?;
            checked.push(FaultWindow {
                start: ms(window.start_ms),
                end: ms(window.end_ms),
                faults,
            });
        }
        checked.sort_by_key(|window| window.start);
        if let Some(pair) = checked.windows(2).find(|pair| pair[1].start < pair[0].end) {
            return Err(invalid(format!(
                "fault_windows overlap: one runs from {} to {} ms, another starts at {} ms",
                pair[0].start.as_millis(),
                pair[0].end.as_millis(),
                pair[1].start.as_millis()
            )));
        }
        Ok(checked)
    }
}

/// A scenario the engine can run.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub arrival: Arrival,
    pub duration: Duration,
    pub operation: Operation,
    pub policy: RetryPolicy,
    pub breaker: Option<BreakerConfig>,
    pub shared_client: bool,
    pub capacity: Option<CapacitySettings>,
    /// The faults of every attempt, but for those sent inside a window.
    pub faults: Faults,
    /// In time order, not overlapping.
    pub fault_windows: Vec<FaultWindow>,
    pub seed: u64,
    /// At most this many logical calls (none: as many as the time allows).
    pub max_calls: Option<u64>,
    /// Set on the session when the run starts, after `capacity`.
    pub payment_tier: Option<PaymentTierSettings>,
    pub background: Option<Background>,
}

impl Scenario {
    /// The faults of an attempt sent `elapsed` after the run started.
    pub fn faults_at(&self, elapsed: Duration) -> Faults {
        self.fault_windows
            .iter()
            .find(|window| window.start <= elapsed && elapsed < window.end)
            .map_or(self.faults, |window| window.faults)
    }

    /// Checks `request` against the server's caps; `clock_seed` seeds a run
    /// that names no seed.
    pub fn from_proto(
        request: &LoadScenario,
        limits: &LoadLimits,
        capacity_limits: &CapacityLimits,
        clock_seed: u64,
    ) -> Result<Scenario, Status> {
        let arrival = match &request.arrival {
            None => return Err(invalid("arrival is unset: give open or closed")),
            Some(load_scenario::Arrival::Open(open)) => {
                if !(open.rate_per_second.is_finite() && open.rate_per_second > 0.0) {
                    return Err(invalid(format!(
                        "open.rate_per_second is {}: it must be more than 0",
                        open.rate_per_second
                    )));
                }
                if open.rate_per_second > limits.max_rate {
                    return Err(Status::resource_exhausted(format!(
                        "open.rate_per_second {} is more than this server allows \
                         (--max-load-rate {})",
                        open.rate_per_second, limits.max_rate
                    )));
                }
                Arrival::Open {
                    rate: open.rate_per_second,
                    arrivals: if open.poisson {
                        Arrivals::Poisson
                    } else {
                        Arrivals::Constant
                    },
                    in_flight: limits.max_clients,
                }
            }
            Some(load_scenario::Arrival::Closed(closed)) => {
                if closed.clients == 0 {
                    return Err(invalid("closed.clients is 0: a run needs at least one"));
                }
                if closed.clients > limits.max_clients {
                    return Err(Status::resource_exhausted(format!(
                        "closed.clients {} is more than this server allows \
                         (--max-load-clients {})",
                        closed.clients, limits.max_clients
                    )));
                }
                Arrival::Closed {
                    clients: closed.clients,
                    think: ms(closed.think_ms),
                }
            }
        };
        if request.duration_ms == 0 {
            return Err(invalid("duration_ms is 0: a run needs some time"));
        }
        let duration = ms(request.duration_ms);
        if duration > limits.max_duration {
            return Err(Status::resource_exhausted(format!(
                "duration_ms {} is more than this server allows (--max-load-duration-ms {})",
                request.duration_ms,
                limits.max_duration.as_millis()
            )));
        }
        let operation = Operation::from_proto(request.operation, "operation")?;
        let (policy, breaker) = policy_from_proto(request.policy.as_ref(), "policy")?;
        let capacity = match &request.capacity {
            Some(capacity) => Some(CapacitySettings::from_proto(
                Some(capacity),
                capacity_limits,
            )?),
            None => None,
        };
        let faults = Faults::from_proto(&request.faults.unwrap_or_default(), "faults")?;
        let fault_windows = FaultWindow::all_from_proto(&request.fault_windows, limits)?;
        let payment_tier = match request.payment_tier.as_deref() {
            Some(tier) => Some(PaymentTierSettings::from_proto(
                Some(tier),
                capacity_limits,
            )?),
            None => None,
        };
        let background = match &request.background {
            Some(background) => Some(Background::from_proto(background, limits)?),
            None => None,
        };
        Ok(Scenario {
            arrival,
            duration,
            operation,
            policy,
            breaker,
            shared_client: request.shared_client,
            capacity,
            faults,
            fault_windows,
            seed: request.seed.unwrap_or(clock_seed),
            max_calls: (request.max_calls > 0).then_some(request.max_calls),
            payment_tier,
            background,
        })
    }
}

impl Background {
    fn from_proto(request: &BackgroundLoad, limits: &LoadLimits) -> Result<Background, Status> {
        let rate = request.rate_per_second;
        if !(rate.is_finite() && rate > 0.0) {
            return Err(invalid(format!(
                "background.rate_per_second is {rate}: it must be more than 0"
            )));
        }
        if rate > limits.max_rate {
            return Err(Status::resource_exhausted(format!(
                "background.rate_per_second {rate} is more than this server allows \
                 (--max-load-rate {})",
                limits.max_rate
            )));
        }
        let operation = Operation::from_proto(request.operation, "background.operation")?;
        let (policy, breaker) = policy_from_proto(request.policy.as_ref(), "background.policy")?;
        Ok(Background {
            rate,
            operation,
            policy,
            breaker,
            shared_client: request.shared_client,
            in_flight: limits.max_clients,
        })
    }
}

/// The core's `RetryPolicy` and `BreakerConfig` from the request, validated
/// by the core; a problem is told as the field `name.…` (`policy`,
/// `background.policy`, `payment_tier.client`). Unset: one attempt and
/// nothing else.
pub fn policy_from_proto(
    policy: Option<&LoadPolicy>,
    name: &str,
) -> Result<(RetryPolicy, Option<BreakerConfig>), Status> {
    let Some(p) = policy else {
        return Ok((RetryPolicy::no_retries(), None));
    };
    let retry = RetryPolicy {
        max_attempts: p.max_attempts,
        initial_backoff: ms(p.initial_backoff_ms),
        multiplier: p.backoff_multiplier,
        max_backoff: ms(p.max_backoff_ms),
        jitter: match LoadJitter::try_from(p.jitter) {
            Ok(LoadJitter::Full) => Jitter::Full,
            Ok(LoadJitter::None) => Jitter::None,
            Ok(LoadJitter::Equal) => Jitter::Equal,
            Ok(LoadJitter::Decorrelated) => Jitter::Decorrelated,
            Err(_) => {
                return Err(invalid(format!(
                    "{name}.jitter {} is not a LoadJitter",
                    p.jitter
                )));
            }
        },
        retryable_codes: RetryPolicy::DEFAULT_RETRYABLE,
        per_attempt_timeout: p.attempt_timeout_ms.map(ms),
        deadline: p.deadline_ms.map(ms),
        budget: p.budget.map(|b| BudgetConfig {
            max_tokens: b.max_tokens,
            token_ratio: b.token_ratio,
        }),
        hedging: None,
        idempotency_keys: p.idempotency_keys,
    };
    retry
        .validate()
        .map_err(|problems| core_words(name, &problems))?;
    let breaker = p.breaker.as_ref().map(breaker_from_proto);
    if let Some(breaker) = &breaker {
        breaker
            .validate()
            .map_err(|problems| core_words(&format!("{name}.breaker"), &problems))?;
    }
    Ok((retry, breaker))
}

fn breaker_from_proto(b: &LoadBreaker) -> BreakerConfig {
    BreakerConfig {
        window: SlidingWindow::Count {
            calls: b.window_calls,
        },
        minimum_calls: b.minimum_calls,
        failure_rate_threshold: b.failure_rate_threshold,
        slow_call_duration: ms(b.slow_call_ms),
        slow_call_rate_threshold: b.slow_call_rate_threshold,
        wait_in_open: ms(b.wait_in_open_ms),
        wait_multiplier: b.wait_multiplier,
        max_wait_in_open: ms(b.max_wait_in_open_ms),
        half_open_probes: b.half_open_probes,
        failure_codes: BreakerConfig::DEFAULT_FAILURE_CODES,
    }
}

/// Every problem the core found, in its words, behind the message's prefix.
fn core_words(prefix: &str, problems: &[ConfigError]) -> Status {
    let words: Vec<String> = problems.iter().map(|p| format!("{prefix}.{p}")).collect();
    invalid(words.join("; "))
}

fn invalid(message: impl Into<String>) -> Status {
    Status::invalid_argument(message.into())
}

fn ms(millis: u32) -> Duration {
    Duration::from_millis(millis.into())
}

#[cfg(test)]
mod tests {
    use rpc_lab::proto::calculator_v1::{ClosedLoop, OpenLoop};
    use tonic::Code;

    use super::*;
    use rpc_lab::proto::calculator_v1::LoadBudget;

    fn closed(clients: u32) -> LoadScenario {
        LoadScenario {
            arrival: Some(load_scenario::Arrival::Closed(ClosedLoop {
                clients,
                think_ms: 0,
            })),
            duration_ms: 1000,
            ..Default::default()
        }
    }

    fn check(request: &LoadScenario) -> Result<Scenario, Status> {
        Scenario::from_proto(
            request,
            &LoadLimits::default(),
            &CapacityLimits::default(),
            9,
        )
    }

    #[test]
    fn a_plain_scenario_is_one_attempt_per_call() {
        let scenario = check(&closed(3)).unwrap();
        assert_eq!(scenario.policy, RetryPolicy::no_retries());
        assert_eq!(scenario.breaker, None);
        assert_eq!(scenario.seed, 9);
        assert_eq!(scenario.max_calls, None);
    }

    #[test]
    fn caps_are_refused_naming_their_flag() {
        let cases = [
            (closed(2_001), "--max-load-clients 2000"),
            (
                LoadScenario {
                    duration_ms: 120_001,
                    ..closed(1)
                },
                "--max-load-duration-ms 120000",
            ),
            (
                LoadScenario {
                    arrival: Some(load_scenario::Arrival::Open(OpenLoop {
                        rate_per_second: 5_000.5,
                        poisson: false,
                    })),
                    ..closed(1)
                },
                "--max-load-rate 5000",
            ),
        ];
        for (request, flag) in cases {
            let error = check(&request).unwrap_err();
            assert_eq!(error.code(), Code::ResourceExhausted);
            assert!(error.message().contains(flag), "{}", error.message());
        }
    }

    #[test]
    fn a_bad_policy_is_told_in_the_cores_words() {
        let request = LoadScenario {
            policy: Some(LoadPolicy {
                max_attempts: 3,
                initial_backoff_ms: 100,
                max_backoff_ms: 10,
                backoff_multiplier: 2.0,
                budget: Some(LoadBudget {
                    max_tokens: 10.0,
                    token_ratio: 0.1,
                }),
                ..Default::default()
            }),
            ..closed(1)
        };
        let error = check(&request).unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument);
        assert!(
            error.message().starts_with("policy.max_backoff"),
            "{}",
            error.message()
        );
    }

    #[test]
    fn nonsense_is_invalid() {
        for request in [
            LoadScenario {
                arrival: None,
                ..closed(1)
            },
            closed(0),
            LoadScenario {
                duration_ms: 0,
                ..closed(1)
            },
            LoadScenario {
                operation: 99,
                ..closed(1)
            },
        ] {
            assert_eq!(check(&request).unwrap_err().code(), Code::InvalidArgument);
        }
    }
}
