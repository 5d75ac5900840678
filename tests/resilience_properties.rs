//! Invariants of the pure resilience parts, checked with random inputs.
//!
//! Property tests state a rule ("the backoff never exceeds the cap") and let
//! proptest hunt for a counterexample among thousands of random cases,
//! shrinking any it finds to the smallest one. The breaker's opening rule is
//! checked against a reference model: the rule written the most obvious way,
//! with a `VecDeque`, next to the real ring buffer.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::VecDeque;
use std::time::Duration;

use proptest::prelude::*;
use rpc_lab::resilience::backoff::{Backoff, Jitter, exponential};
use rpc_lab::resilience::{
    BreakerConfig, BreakerState, CircuitBreaker, Permit, SeededRng, SlidingWindow,
};
use tonic::Code;

const MS: Duration = Duration::from_millis(1);

proptest! {
    /// Each strategy's delay stays within its formula's bounds, never above the cap.
    #[test]
    fn backoff_stays_within_its_formula_and_under_the_cap(
        base_ms in 1u32..1000,
        cap_factor in 1u32..100,
        multiplier in 1.0f64..5.0,
        jitter in prop::sample::select(Jitter::ALL.to_vec()),
        seed in any::<u64>(),
        retries in 1usize..40,
    ) {
        let base = base_ms * MS;
        let cap = base * cap_factor;
        let mut backoff = Backoff::new(base, multiplier, cap, jitter);
        let mut rng = SeededRng::new(seed);
        let mut previous = base;
        for retry in 0..retries {
            let delay = backoff.next_delay(&mut rng);
            let ceiling = exponential(base, multiplier, cap, retry as u32);
            prop_assert!(delay <= cap, "{delay:?} > cap {cap:?}");
            match jitter {
                Jitter::None => prop_assert_eq!(delay, ceiling),
                Jitter::Full => prop_assert!(delay <= ceiling),
                Jitter::Equal => prop_assert!(delay >= ceiling / 2 && delay <= ceiling),
                Jitter::Decorrelated => {
                    prop_assert!(delay >= base.min(cap));
                    prop_assert!(delay <= (previous * 3).min(cap));
                }
            }
            previous = delay;
        }
    }

    /// Whatever the sequence of acquisitions, outcomes, cancellations and
    /// waits, the breaker never has more probes in flight than configured.
    #[test]
    fn never_more_half_open_probes_than_configured(
        probes in 1u32..5,
        actions in prop::collection::vec((0u8..4, 0u32..400), 1..200),
    ) {
        let mut breaker = CircuitBreaker::new(BreakerConfig {
            window: SlidingWindow::Count { calls: 4 },
            minimum_calls: 2,
            wait_in_open: 100 * MS,
            half_open_probes: probes,
            ..BreakerConfig::default()
        }).unwrap();
        let mut now = Duration::ZERO;
        let mut held: Vec<Permit> = Vec::new();
        for (action, ms) in actions {
            now += ms * MS / 4;
            match action {
                0 | 1 => {
                    if let Ok(permit) = breaker.try_acquire(now) {
                        held.push(permit);
                    }
                }
                2 if !held.is_empty() => {
                    let code = if ms % 3 == 0 { Code::Ok } else { Code::Unavailable };
                    let permit = held.remove(ms as usize % held.len());
                    breaker.record(permit, code, MS, now);
                }
                3 if !held.is_empty() => {
                    breaker.release(held.remove(ms as usize % held.len()));
                }
                _ => {}
            }
            prop_assert!(breaker.probes_in_flight() <= probes);
            if breaker.state() == BreakerState::HalfOpen {
                prop_assert!(held.len() as u32 >= breaker.probes_in_flight());
            }
        }
    }

    /// In the closed state the breaker opens on exactly the call where, with at
    /// least `minimum_calls` in the window, the failure rate reaches the threshold.
    #[test]
    fn the_breaker_opens_exactly_when_the_reference_model_says(
        window in 1u32..30,
        minimum_fraction in 0.0f64..=1.0,
        threshold in 1u32..=100,
        failures in prop::collection::vec(any::<bool>(), 1..200),
    ) {
        let minimum = 1 + ((window - 1) as f64 * minimum_fraction) as u32;
        let mut breaker = CircuitBreaker::new(BreakerConfig {
            window: SlidingWindow::Count { calls: window },
            minimum_calls: minimum,
            failure_rate_threshold: f64::from(threshold),
            ..BreakerConfig::default()
        }).unwrap();
        let mut model: VecDeque<bool> = VecDeque::new();
        for failed in failures {
            model.push_back(failed);
            if model.len() > window as usize {
                model.pop_front();
            }
            let count = model.len() as u32;
            let failed_count = model.iter().filter(|f| **f).count() as u32;
            let should_open = count >= minimum && failed_count * 100 >= threshold * count;

            let permit = breaker.try_acquire(Duration::ZERO).unwrap();
            let code = if failed { Code::Unavailable } else { Code::Ok };
            let transition = breaker.record(permit, code, MS, Duration::ZERO);
            prop_assert_eq!(transition.is_some(), should_open);
            if should_open {
                prop_assert_eq!(breaker.state(), BreakerState::Open);
                break;
            }
        }
    }
}
