//! The Scale view's controls, turned into the load engine's `LoadScenario`.
//!
//! The engine (`Lab/RunLoad`) runs thousands of virtual clients beside the
//! server; the page only describes what they should do. A form holds what a
//! person can type — a rate, milliseconds, on/off — and this module turns it
//! into the protobuf request, in one place, without I/O, so it is tested
//! natively. The client policy is the lab's own [`PolicyForm`], checked by
//! the resilience core first (a setting the core would refuse never leaves
//! the page); everything else the server checks, and its refusals are shown
//! in its own words.

use rpc_lab::load_policy::to_load_policy;
use rpc_lab::proto::calculator_v1::{
    AbandonedWork, BackgroundLoad, Brownout, Capacity, ClosedLoop, LoadOperation, LoadPolicy,
    LoadScenario, OpenLoop, PaymentTier, load_scenario,
};
use rpc_lab::resilience::ConfigError;

use crate::policy_form::PolicyForm;

/// Every setting of the Scale view except the client policy.
#[derive(Clone, Debug, PartialEq)]
pub struct ScaleForm {
    /// Closed loop (`clients` calling, thinking, calling again) instead of
    /// open loop (calls arriving at `rate` whatever happens to them).
    pub closed_loop: bool,
    /// Open loop: logical calls per second.
    pub rate: f64,
    /// Open loop: Poisson arrivals (random gaps) rather than evenly spaced.
    pub poisson: bool,
    pub clients: u32,
    pub think_ms: u32,
    pub duration_ms: u32,
    pub operation: LoadOperation,
    /// W: executions at once (0: no limit, and then no queue either).
    pub workers: u32,
    /// Q: requests that may wait for a worker.
    pub queue: u32,
    /// S: milliseconds one execution holds its worker.
    pub service_ms: u32,
    /// k: service time = S × (1 + k × executions already in flight).
    pub slowdown: f64,
    pub abandoned: AbandonedWork,
    /// A window of trouble: from `brownout_start_ms` to `brownout_end_ms`
    /// after the run starts, service times × `brownout_factor` and only
    /// `brownout_workers` workers.
    pub brownout: bool,
    pub brownout_start_ms: u32,
    pub brownout_end_ms: u32,
    /// 1: service times unchanged.
    pub brownout_factor: f64,
    /// As many as `workers` (or more): unchanged; 0: an outage.
    pub brownout_workers: u32,
    /// One caller (one breaker, one budget) for every virtual client, as one
    /// service's client library would be; off: one each.
    pub shared_client: bool,
    /// Seeds arrivals and jitter (a lesson's step); `None`: the server picks.
    pub seed: Option<u64>,
    /// The dependency behind Checkout, and calls beside the run's: set only
    /// by the cascade lesson (the controls show them, and can drop them).
    pub tiers: Option<Tiers>,
}

/// A second tier behind the server, for runs of `Checkout`, and other calls
/// beside them that share the front tier's workers but never touch it.
///
/// Lesson-only: Checkout is not in the operation list, since outside the
/// cascade lesson it would run against a payment tier the controls cannot
/// set (unlimited, a naive client) and show nothing a student could not
/// see with Add. The lesson's steps differ in `client.breaker` and
/// `bulkhead`.
#[derive(Clone, Debug, PartialEq)]
pub struct Tiers {
    /// Payment's own workers, all of them gone for the whole run (a
    /// brownout to 0): it hangs, and drops a request whose caller gave up.
    pub payment_workers: u32,
    /// How the server's front tier calls payment: its timeout, and its
    /// circuit breaker — in the server, not in the browser, and not in the
    /// engine's virtual clients.
    pub client: PolicyForm,
    /// At most this many checkouts may wait on payment at once.
    pub bulkhead: Option<u32>,
    /// `Add`s per second beside the checkouts (counted apart), each with one
    /// attempt of `background_timeout_ms`.
    pub background_rate: f64,
    pub background_timeout_ms: u32,
}

impl Default for ScaleForm {
    /// One click on Run shows an overload that outlives its cause: 300 calls
    /// a second against 8 workers of 20 ms (at most 400 a second) is 75 %
    /// busy, until a half-second brownout makes service 4× slower. The queue
    /// fills, attempts time out (250 ms, see [`policy_defaults`]) and are
    /// retried, and under FINISH the server still runs the work of clients
    /// that gave up — so the queue stays long after the brownout ends.
    /// (Measured with these settings: goodput 0 in the brownout, the queue
    /// 40–60 deep for the rest of the run, 1.07 attempts per call.)
    fn default() -> Self {
        ScaleForm {
            closed_loop: false,
            rate: 300.0,
            poisson: true,
            clients: 50,
            think_ms: 0,
            duration_ms: 3000,
            operation: LoadOperation::Add,
            workers: 8,
            queue: 64,
            service_ms: 20,
            slowdown: 0.0,
            abandoned: AbandonedWork::Finish,
            brownout: true,
            brownout_start_ms: 1000,
            brownout_end_ms: 1500,
            brownout_factor: 4.0,
            brownout_workers: 8,
            shared_client: true,
            seed: None,
            tiers: None,
        }
    }
}

/// The client policy the Scale view starts from: the lab's defaults (4
/// attempts, backoff from 100 ms, keys on), with timeouts short enough to
/// matter in a three-second run: 250 ms per attempt, 2 s per call.
pub fn policy_defaults() -> PolicyForm {
    PolicyForm {
        attempt_timeout_ms: 250,
        deadline_ms: 2000,
        ..PolicyForm::default()
    }
}

/// The operations a run can make: what the select says, and the full
/// method name the server counts their executions under
/// (`LabStats.executions`, as the engine's `Operation::method`).
pub const OPERATIONS: [(LoadOperation, &str, &str); 4] = [
    (
        LoadOperation::Add,
        "Add(1, 2): idempotent",
        "/calculator.v1.Calculator/Add",
    ),
    (
        LoadOperation::Deposit,
        "Deposit 1 cent: not idempotent",
        "/calculator.v1.Account/Deposit",
    ),
    (
        LoadOperation::Withdraw,
        "Withdraw 1 cent: not idempotent",
        "/calculator.v1.Account/Withdraw",
    ),
    (
        LoadOperation::Increment,
        "Increment a key: not idempotent",
        "/calculator.v1.Store/Increment",
    ),
];

/// Checkout, as the operation select shows it while the cascade lesson has
/// set it (it is not offered otherwise, see [`Tiers`]).
pub const CHECKOUT: (LoadOperation, &str, &str) = (
    LoadOperation::Checkout,
    "Checkout: waits on payment (the cascade lesson's)",
    "/shop.v1.Shop/Checkout",
);

/// The method whose executions a run of `operation` makes ("" for one the
/// page does not offer).
pub fn method(operation: LoadOperation) -> &'static str {
    OPERATIONS
        .iter()
        .chain([&CHECKOUT])
        .find(|(o, ..)| *o == operation)
        .map_or("", |(.., method)| method)
}

/// The operation's short name, as the summary says it ("Checkout", "Add").
pub fn name(operation: LoadOperation) -> &'static str {
    let method = method(operation);
    method.rsplit('/').next().unwrap_or(method)
}

/// The abandoned-work policies, with what the select says.
pub const ABANDONED: [(AbandonedWork, &str); 3] = [
    (AbandonedWork::Finish, "finish it anyway"),
    (
        AbandonedWork::SkipExpired,
        "skip it if its deadline passed in the queue",
    ),
    (
        AbandonedWork::CancelOnHangup,
        "cancel it when the client gives up",
    ),
];

/// The request for a run, or what the core refuses in the client policy.
///
/// The engine has no hedging and never retries an unsafe call without a
/// key, so the form's `hedging` and `retry_unsafe` are not sent (the Scale
/// view hides those controls).
pub fn scenario(form: &ScaleForm, policy: &PolicyForm) -> Result<LoadScenario, Vec<ConfigError>> {
    let arrival = if form.closed_loop {
        load_scenario::Arrival::Closed(ClosedLoop {
            clients: form.clients,
            think_ms: form.think_ms,
        })
    } else {
        load_scenario::Arrival::Open(OpenLoop {
            rate_per_second: form.rate,
            poisson: form.poisson,
        })
    };
    let (payment_tier, background) = match &form.tiers {
        None => (None, None),
        Some(t) => {
            let (tier, background) = tiers(t)?;
            (Some(Box::new(tier)), Some(Box::new(background)))
        }
    };
    Ok(LoadScenario {
        payment_tier,
        background,
        arrival: Some(arrival),
        duration_ms: form.duration_ms,
        operation: form.operation.into(),
        policy: Some(load_policy(policy)?),
        shared_client: form.shared_client,
        capacity: Some(capacity(form)),
        // Unset (the form's default): the server seeds arrivals and jitter
        // from its clock, so two presses of Run are two samples, not one
        // replayed. A lesson's step sets one.
        seed: form.seed,
        // No faults, no cap on the calls.
        ..Default::default()
    })
}

/// The payment tier and the background calls of `t`.
fn tiers(t: &Tiers) -> Result<(PaymentTier, BackgroundLoad), Vec<ConfigError>> {
    let one_attempt = PolicyForm {
        retries: false,
        attempt_timeout_ms: t.background_timeout_ms,
        deadline_ms: 0,
        idempotency_keys: false,
        ..PolicyForm::default()
    };
    let hangs = ScaleForm {
        workers: t.payment_workers,
        queue: 1000,
        service_ms: 0,
        abandoned: AbandonedWork::CancelOnHangup,
        brownout: true,
        brownout_start_ms: 0,
        brownout_end_ms: 600_000,
        brownout_factor: 1.0,
        brownout_workers: 0,
        ..ScaleForm::default()
    };
    Ok((
        PaymentTier {
            capacity: Some(capacity(&hangs)),
            client: Some(load_policy(&t.client)?),
            bulkhead: t.bulkhead,
        },
        BackgroundLoad {
            rate_per_second: t.background_rate,
            operation: LoadOperation::Add.into(),
            policy: Some(load_policy(&one_attempt)?),
            shared_client: false,
        },
    ))
}

/// The session's capacity for the run.
pub fn capacity(form: &ScaleForm) -> Capacity {
    let brownout = form.brownout.then(|| Brownout {
        start_ms: form.brownout_start_ms,
        end_ms: form.brownout_end_ms,
        service_time_factor: (form.brownout_factor != 1.0).then_some(form.brownout_factor),
        workers: (form.brownout_workers < form.workers).then_some(form.brownout_workers),
    });
    Capacity {
        workers: form.workers,
        queue: form.queue,
        service_ms: form.service_ms,
        slowdown: form.slowdown,
        abandoned_work: form.abandoned.into(),
        brownout,
        // No pushback.
        ..Default::default()
    }
}

/// The lab's policy form as the engine's `LoadPolicy`: the core's own
/// validated `RetryPolicy` and `BreakerConfig`, written by the crate's one
/// [`to_load_policy`] (the server says a stored policy back with the same
/// function), so the engine runs exactly the client the controls describe
/// (the breaker's settings the form does not show — slow calls, the growing
/// wait — are the core's defaults, as in the lab).
pub fn load_policy(form: &PolicyForm) -> Result<LoadPolicy, Vec<ConfigError>> {
    let problems = form.problems();
    if !problems.is_empty() {
        return Err(problems);
    }
    let (policy, breaker) = (form.policy()?, form.breaker()?);
    Ok(to_load_policy(&policy, breaker.as_ref()))
}

#[cfg(test)]
mod tests {
    use rpc_lab::resilience::{BreakerConfig, RetryPolicy};

    use super::*;
    use rpc_lab::proto::calculator_v1::{LoadBudget, LoadJitter};
    use rpc_lab::resilience::Jitter;

    #[test]
    fn the_policy_is_the_cores_field_for_field() {
        let form = PolicyForm {
            jitter: Jitter::Decorrelated,
            budget: true,
            budget_max_tokens: 20.0,
            budget_token_ratio: 0.2,
            breaker: true,
            breaker_window_calls: 12,
            breaker_minimum_calls: 6,
            breaker_threshold_pct: 40.0,
            breaker_open_ms: 700,
            breaker_probes: 2,
            ..policy_defaults()
        };
        let p = load_policy(&form).unwrap();
        let core = RetryPolicy::default();
        assert_eq!(p.max_attempts, core.max_attempts);
        assert_eq!(
            (p.initial_backoff_ms, p.max_backoff_ms, p.backoff_multiplier),
            (100, 2000, 2.0)
        );
        assert_eq!(p.jitter(), LoadJitter::Decorrelated);
        assert_eq!(
            (p.attempt_timeout_ms, p.deadline_ms),
            (Some(250), Some(2000))
        );
        assert!(p.idempotency_keys);
        assert_eq!(
            p.budget,
            Some(LoadBudget {
                max_tokens: 20.0,
                token_ratio: 0.2
            })
        );
        let b = p.breaker.unwrap();
        let defaults = BreakerConfig::default();
        assert_eq!((b.window_calls, b.minimum_calls), (12, 6));
        assert_eq!(
            (
                b.failure_rate_threshold,
                b.wait_in_open_ms,
                b.half_open_probes
            ),
            (40.0, 700, 2)
        );
        // What the form does not show is the core's default, not a zero the
        // server would refuse (or, worse, accept).
        assert_eq!(b.slow_call_ms, 2000);
        assert_eq!(
            b.slow_call_rate_threshold,
            defaults.slow_call_rate_threshold
        );
        assert_eq!((b.wait_multiplier, b.max_wait_in_open_ms), (2.0, 60_000));
    }

    #[test]
    fn off_means_unset_and_retries_off_means_one_attempt() {
        let form = PolicyForm {
            retries: false,
            attempt_timeout_ms: 0,
            deadline_ms: 0,
            ..policy_defaults()
        };
        let p = load_policy(&form).unwrap();
        assert_eq!(p.max_attempts, 1);
        assert_eq!((p.attempt_timeout_ms, p.deadline_ms), (None, None));
        assert_eq!((p.budget, p.breaker), (None, None));
        for jitter in Jitter::ALL {
            let form = PolicyForm {
                jitter,
                ..policy_defaults()
            };
            assert!(load_policy(&form).is_ok(), "{jitter:?}");
        }
    }

    #[test]
    fn a_policy_the_core_refuses_never_leaves_the_page() {
        let form = PolicyForm {
            max_attempts: 0,
            breaker: true,
            breaker_threshold_pct: 150.0,
            ..policy_defaults()
        };
        let fields: Vec<_> = load_policy(&form)
            .unwrap_err()
            .iter()
            .map(|e| e.field)
            .collect();
        assert!(
            fields.contains(&"max_attempts") && fields.contains(&"failure_rate_threshold"),
            "{fields:?}"
        );
        assert!(scenario(&ScaleForm::default(), &form).is_err());
    }

    #[test]
    fn the_default_run_is_an_open_loop_with_a_brownout() {
        let s = scenario(&ScaleForm::default(), &policy_defaults()).unwrap();
        assert_eq!(
            s.arrival,
            Some(load_scenario::Arrival::Open(OpenLoop {
                rate_per_second: 300.0,
                poisson: true
            }))
        );
        assert_eq!(
            (s.duration_ms, s.operation(), s.shared_client),
            (3000, LoadOperation::Add, true)
        );
        let c = s.capacity.unwrap();
        assert_eq!(
            (c.workers, c.queue, c.service_ms, c.slowdown),
            (8, 64, 20, 0.0)
        );
        assert_eq!(c.abandoned_work(), AbandonedWork::Finish);
        // Workers as many as W: unchanged, so not sent.
        assert_eq!(
            c.brownout,
            Some(Brownout {
                start_ms: 1000,
                end_ms: 1500,
                service_time_factor: Some(4.0),
                workers: None
            })
        );
        assert_eq!((s.seed, s.max_calls, s.faults), (None, 0, None));
    }

    #[test]
    fn closed_loop_and_a_brownout_of_workers_only() {
        let form = ScaleForm {
            closed_loop: true,
            clients: 40,
            think_ms: 5,
            brownout_factor: 1.0,
            brownout_workers: 0,
            abandoned: AbandonedWork::CancelOnHangup,
            shared_client: false,
            ..ScaleForm::default()
        };
        let s = scenario(&form, &policy_defaults()).unwrap();
        assert_eq!(
            s.arrival,
            Some(load_scenario::Arrival::Closed(ClosedLoop {
                clients: 40,
                think_ms: 5
            }))
        );
        assert!(!s.shared_client);
        let c = s.capacity.unwrap();
        assert_eq!(c.abandoned_work(), AbandonedWork::CancelOnHangup);
        let b = c.brownout.unwrap();
        assert_eq!((b.service_time_factor, b.workers), (None, Some(0)));
        let no_brownout = ScaleForm {
            brownout: false,
            ..form
        };
        assert_eq!(capacity(&no_brownout).brownout, None);
    }
}
