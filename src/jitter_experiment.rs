//! Marc Brooker's jitter experiment ("Exponential Backoff And Jitter", AWS
//! Architecture Blog, 2015) as load runs: the five ways of backing off as the
//! policies the load engine runs, and one run's scenario.
//!
//! N clients each write one record once with optimistic concurrency: read
//! the version, write if it is unchanged (`Store/CompareAndSet`), back off
//! and retry on `ABORTED`. Each (strategy, N) is one `Lab/RunLoad` with
//! `LOAD_OPERATION_OPTIMISTIC_WRITE`, a closed loop of N clients and
//! `max_calls = N`. Two programs run it — the page's Scale view
//! (`web/src/scale/jitter.rs`) and the command line
//! (`server/examples/jitter.rs`, whose `//!` explains how the blog's model
//! maps onto the lab) — and `docs/analysis.md` §4 compares their numbers
//! with the blog's. One definition here, so the two cannot drift apart.

use crate::proto::calculator_v1::{
    ClosedLoop, LoadFaults, LoadJitter, LoadOperation, LoadPolicy, LoadScenario,
    load_scenario::Arrival,
};

/// The server's delay before executing each request (`x-fault-delay-ms`):
/// the blog's ~10 ms per message, a reply and a request between a client's
/// read and its write.
pub const DELAY_MS: u32 = 20;
/// The blog's backoff base and cap.
pub const BASE_MS: u32 = 5;
pub const CAP_MS: u32 = 2_000;

/// A way of backing off after a conflict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Immediate retry (the core's shortest backoff, 1 ms).
    None,
    /// Exponential backoff without jitter.
    Exponential,
    Full,
    Equal,
    Decorrelated,
}

impl Strategy {
    /// In the order of the legend and the table.
    pub const ALL: [Strategy; 5] = [
        Strategy::None,
        Strategy::Exponential,
        Strategy::Full,
        Strategy::Equal,
        Strategy::Decorrelated,
    ];

    /// The strategy a slug names ("none", "full"...), as the command line
    /// takes it.
    pub fn from_slug(slug: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|s| s.slug() == slug)
    }

    /// Its name on the command line and in `data-strategy`.
    pub fn slug(self) -> &'static str {
        match self {
            Strategy::None => "none",
            Strategy::Exponential => "exponential",
            Strategy::Full => "full",
            Strategy::Equal => "equal",
            Strategy::Decorrelated => "decorrelated",
        }
    }

    /// Its name in the page's legend and table.
    pub fn label(self) -> &'static str {
        match self {
            Strategy::None => "immediate retry",
            Strategy::Exponential => "exponential, no jitter",
            Strategy::Full => "full jitter",
            Strategy::Equal => "equal jitter",
            Strategy::Decorrelated => "decorrelated jitter",
        }
    }

    /// The client's policy. The blog's simulator counts its first retry as
    /// n = 1, so its exponential family sleeps base·2ⁿ = 10, 20, 40 … ms;
    /// the core counts from its initial backoff, so that is 10 ms. Decorrelated jitter,
    /// `min(cap, rand(base, previous·3))`, starts from the base itself.
    /// The core refuses a 0 ms backoff, so "immediate" is 1 ms, fixed.
    pub fn policy(self) -> LoadPolicy {
        let (jitter, initial, max, multiplier) = match self {
            Strategy::None => (LoadJitter::None, 1, 1, 1.0),
            Strategy::Exponential => (LoadJitter::None, 2 * BASE_MS, CAP_MS, 2.0),
            Strategy::Full => (LoadJitter::Full, 2 * BASE_MS, CAP_MS, 2.0),
            Strategy::Equal => (LoadJitter::Equal, 2 * BASE_MS, CAP_MS, 2.0),
            Strategy::Decorrelated => (LoadJitter::Decorrelated, BASE_MS, CAP_MS, 2.0),
        };
        LoadPolicy {
            // Retry until the write lands, as the blog's clients do.
            max_attempts: 1_000_000,
            initial_backoff_ms: initial,
            max_backoff_ms: max,
            backoff_multiplier: multiplier,
            jitter: jitter.into(),
            ..LoadPolicy::default()
        }
    }
}

/// One run: `clients` clients, each writing once, backing off by
/// `strategy`, over `delay_ms` before each request ([`DELAY_MS`] in the page).
pub fn scenario(strategy: Strategy, clients: u32, seed: u64, delay_ms: u32) -> LoadScenario {
    LoadScenario {
        arrival: Some(Arrival::Closed(ClosedLoop {
            clients,
            think_ms: 0,
        })),
        // Every client starts its one call at once; the run then waits for
        // every call, however long it takes.
        duration_ms: 1_000,
        operation: LoadOperation::OptimisticWrite.into(),
        policy: Some(strategy.policy()),
        faults: Some(LoadFaults {
            delay_ms,
            ..LoadFaults::default()
        }),
        seed: Some(seed),
        max_calls: clients.into(),
        ..LoadScenario::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The policies `docs/analysis.md` §4 measured: base 5 ms and cap 2 s,
    /// the blog's exponential family from 10 ms, decorrelated from 5 ms,
    /// "none" 1 ms.
    #[test]
    fn the_policies_are_the_examples() {
        let none = Strategy::None.policy();
        assert_eq!(
            (
                none.initial_backoff_ms,
                none.max_backoff_ms,
                none.backoff_multiplier
            ),
            (1, 1, 1.0)
        );
        assert_eq!(none.jitter(), LoadJitter::None);
        for (s, jitter, initial) in [
            (Strategy::Exponential, LoadJitter::None, 10),
            (Strategy::Full, LoadJitter::Full, 10),
            (Strategy::Equal, LoadJitter::Equal, 10),
            (Strategy::Decorrelated, LoadJitter::Decorrelated, 5),
        ] {
            let policy = s.policy();
            assert_eq!(policy.jitter(), jitter, "{}", s.slug());
            assert_eq!(policy.initial_backoff_ms, initial, "{}", s.slug());
            assert_eq!(
                (policy.max_backoff_ms, policy.backoff_multiplier),
                (2_000, 2.0)
            );
        }
        for s in Strategy::ALL {
            let policy = s.policy();
            assert_eq!(policy.max_attempts, 1_000_000);
            assert!(policy.attempt_timeout_ms.is_none() && policy.deadline_ms.is_none());
            assert!(policy.budget.is_none() && policy.breaker.is_none());
        }
    }

    /// N clients each write once (max_calls = N) over a 20 ms delay, seeded.
    #[test]
    fn a_run_is_n_clients_writing_once() {
        let s = scenario(Strategy::Full, 50, 7, DELAY_MS);
        assert_eq!(
            s.arrival,
            Some(Arrival::Closed(ClosedLoop {
                clients: 50,
                think_ms: 0
            }))
        );
        assert_eq!(s.max_calls, 50);
        assert_eq!(s.operation(), LoadOperation::OptimisticWrite);
        assert_eq!(s.faults.unwrap().delay_ms, 20);
        assert_eq!(s.seed, Some(7));
        assert_eq!(s.policy, Some(Strategy::Full.policy()));
        assert!(s.capacity.is_none(), "an unlimited server, as the blog's");
    }

    #[test]
    fn a_strategy_is_named_by_its_slug() {
        for s in Strategy::ALL {
            assert_eq!(Strategy::from_slug(s.slug()), Some(s));
        }
        assert_eq!(Strategy::from_slug("fixed"), None);
    }
}
