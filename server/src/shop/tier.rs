//! One session's payment tier: the dependency's own capacity, how the front
//! tier calls it, and what became of the session's checkouts.
//!
//! Every session has one (created with the session, replaced with it by
//! `Lab/ResetSession`). Until `Lab/SetPaymentTier` (or a load scenario's
//! `payment_tier`) sets it, payment has no limit and the front tier's client
//! is the naive default ([`PaymentClientSettings::default`]).
//!
//! The client's settings carry a *generation*: the front tier's callers live
//! on their own thread ([`super::client`]), and a caller built from older
//! settings sees the generation change and is rebuilt — a new policy, and a
//! fresh breaker that has learnt nothing yet.

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use rpc_lab::proto::calculator_v1::PaymentBreakerState;
use rpc_lab::resilience::BreakerState;

use super::bulkhead::Bulkhead;
use super::{PaymentClientSettings, PaymentTierSettings};
use crate::capacity::CapacitySettings;
use crate::capacity::state::SessionCapacity;

/// Gives every tier a number no other tier of this process has, so the
/// client thread can tell a reset session's new tier from its old one.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The payment tier of one session.
#[derive(Debug)]
pub struct PaymentTier {
    id: u64,
    /// The payment service's capacity (none set: unlimited and instant).
    pub capacity: SessionCapacity,
    client: Mutex<ClientVersion>,
    /// Checkouts waiting on payment now, and the cap if the client has one.
    pub bulkhead: Bulkhead,
    pub counts: CheckoutCounts,
    /// The client's breaker, as the client thread last said it moved, in
    /// its wire form (a `PaymentBreakerState`), which is all a load run's
    /// snapshot reads; the breaker itself lives on that thread.
    breaker: AtomicI32,
}

/// The front tier's client settings, and how many times they were set.
#[derive(Clone, Debug, Default)]
pub struct ClientVersion {
    pub generation: u64,
    pub settings: PaymentClientSettings,
}

/// How the session's checkouts ended, from the front tier's side.
#[derive(Debug, Default)]
pub struct CheckoutCounts {
    /// Payment charged.
    pub paid: AtomicU64,
    /// The client sent attempts to payment and every one failed (timed out,
    /// refused…): the checkout held its worker all that time.
    pub payment_failed: AtomicU64,
    /// The breaker refused before any attempt was sent: failed fast.
    pub rejected_by_breaker: AtomicU64,
    /// The bulkhead was full: refused at once, payment not called.
    pub bulkhead_full: AtomicU64,
    /// The shopper went while the checkout waited on payment: the front
    /// tier dropped it there, and its call to payment with it.
    pub abandoned: AtomicU64,
}

/// [`CheckoutCounts`] at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckoutSnapshot {
    pub paid: u64,
    pub payment_failed: u64,
    pub rejected_by_breaker: u64,
    pub bulkhead_full: u64,
    pub abandoned: u64,
    /// Checkouts waiting on payment at that moment (a gauge).
    pub waiting_on_payment: u32,
}

impl CheckoutCounts {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl Default for PaymentTier {
    fn default() -> Self {
        PaymentTier {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            capacity: SessionCapacity::default(),
            client: Mutex::default(),
            bulkhead: Bulkhead::default(),
            counts: CheckoutCounts::default(),
            breaker: AtomicI32::new(PaymentBreakerState::Unspecified.into()),
        }
    }
}

impl PaymentTier {
    /// This tier's number, unique in the process.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Applies `settings`: the payment capacity (a capacity once set stays,
    /// so "none" becomes "no limit, still counted") and the front tier's
    /// client, whose next call is made by a caller rebuilt from them. Must
    /// run inside the Tokio runtime (a brownout's timer).
    pub fn set(&self, settings: PaymentTierSettings, now: Instant) {
        match settings.capacity {
            Some(capacity) => self.capacity.set(capacity, now),
            None if self.capacity.active().is_some() => {
                self.capacity.set(CapacitySettings::default(), now);
            }
            None => {}
        }
        let mut client = self.client();
        client.generation += 1;
        // The next caller starts with a fresh breaker, closed.
        let fresh = match settings.client.breaker {
            Some(_) => PaymentBreakerState::Closed,
            None => PaymentBreakerState::Unspecified,
        };
        self.breaker.store(fresh.into(), Ordering::Relaxed);
        client.settings = settings.client;
    }

    /// The client thread's word: the breaker of the caller built from the
    /// settings of `generation` is now in `state`. A caller of older settings
    /// (calls still in flight after a change) no longer speaks for the tier.
    pub fn breaker_moved(&self, generation: u64, state: BreakerState) {
        let client = self.client();
        if client.generation == generation {
            let wire = match state {
                BreakerState::Closed => PaymentBreakerState::Closed,
                BreakerState::Open | BreakerState::ForcedOpen => PaymentBreakerState::Open,
                BreakerState::HalfOpen => PaymentBreakerState::HalfOpen,
                // Judging nothing: as good as no breaker.
                BreakerState::Disabled => PaymentBreakerState::Unspecified,
            };
            self.breaker.store(wire.into(), Ordering::Relaxed);
        }
    }

    /// The front tier's breaker now (`Unspecified`: its client has none).
    pub fn breaker_state(&self) -> PaymentBreakerState {
        PaymentBreakerState::try_from(self.breaker.load(Ordering::Relaxed)).unwrap_or_default()
    }

    /// The front tier's client settings now.
    pub fn client_version(&self) -> ClientVersion {
        self.client().clone()
    }

    /// What the session has asked for, as it stands.
    pub fn settings(&self) -> PaymentTierSettings {
        PaymentTierSettings {
            capacity: self.capacity.active().map(|c| c.snapshot().0),
            client: self.client().settings.clone(),
        }
    }

    /// The checkouts' counts and the gauge, now.
    pub fn snapshot(&self) -> CheckoutSnapshot {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CheckoutSnapshot {
            paid: load(&self.counts.paid),
            payment_failed: load(&self.counts.payment_failed),
            rejected_by_breaker: load(&self.counts.rejected_by_breaker),
            bulkhead_full: load(&self.counts.bulkhead_full),
            abandoned: load(&self.counts.abandoned),
            waiting_on_payment: self.bulkhead.waiting(),
        }
    }

    /// The session is going (reset, evicted, the server stopping): requests
    /// waiting in payment's queue are let go, as in every other queue.
    pub fn close(&self) {
        self.capacity.close();
    }

    fn client(&self) -> MutexGuard<'_, ClientVersion> {
        self.client.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn setting_the_client_moves_its_generation_and_keeps_a_capacity() {
        let tier = PaymentTier::default();
        assert_ne!(tier.id(), PaymentTier::default().id(), "ids are unique");
        assert_eq!(tier.client_version().generation, 0);
        assert!(tier.capacity.active().is_none(), "unlimited until set");

        let capacity = CapacitySettings {
            workers: Some(2),
            service: Duration::from_millis(5),
            ..CapacitySettings::default()
        };
        let client = PaymentClientSettings {
            bulkhead: Some(3),
            ..PaymentClientSettings::default()
        };
        tier.set(
            PaymentTierSettings {
                capacity: Some(capacity.clone()),
                client: client.clone(),
            },
            crate::capacity::now(),
        );
        assert_eq!(tier.client_version().generation, 1);
        assert_eq!(tier.settings().capacity, Some(capacity));
        assert_eq!(tier.settings().client, client);

        assert_eq!(
            tier.breaker_state(),
            PaymentBreakerState::Unspecified,
            "a client without a breaker"
        );

        tier.set(PaymentTierSettings::default(), crate::capacity::now());
        assert_eq!(tier.client_version().generation, 2);
        assert_eq!(
            tier.settings().capacity,
            Some(CapacitySettings::default()),
            "no limit now, but still counted"
        );
    }

    #[tokio::test]
    async fn the_breaker_state_is_the_current_callers_alone() {
        let tier = PaymentTier::default();
        assert_eq!(tier.breaker_state(), PaymentBreakerState::Unspecified);
        let with_breaker = || PaymentTierSettings {
            capacity: None,
            client: PaymentClientSettings {
                breaker: Some(rpc_lab::resilience::BreakerConfig::default()),
                ..PaymentClientSettings::default()
            },
        };
        tier.set(with_breaker(), crate::capacity::now());
        assert_eq!(tier.breaker_state(), PaymentBreakerState::Closed, "fresh");
        tier.breaker_moved(1, BreakerState::Open);
        assert_eq!(tier.breaker_state(), PaymentBreakerState::Open);
        tier.breaker_moved(1, BreakerState::HalfOpen);
        assert_eq!(tier.breaker_state(), PaymentBreakerState::HalfOpen);
        tier.breaker_moved(1, BreakerState::ForcedOpen);
        assert_eq!(tier.breaker_state(), PaymentBreakerState::Open);
        // New settings: a new, closed breaker; the old caller's word is stale.
        tier.set(with_breaker(), crate::capacity::now());
        tier.breaker_moved(1, BreakerState::Open);
        assert_eq!(tier.breaker_state(), PaymentBreakerState::Closed);
        tier.breaker_moved(2, BreakerState::Open);
        assert_eq!(tier.breaker_state(), PaymentBreakerState::Open);
    }
}
