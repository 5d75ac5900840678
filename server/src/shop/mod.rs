//! # Two tiers in one server: a shop and its payment dependency
//!
//! A circuit breaker in a browser saves one student's time. Where breakers
//! earn their keep is *inside* a service, in its client of a dependency:
//! when the dependency hangs, every request that calls it holds one of the
//! service's workers while it waits, and soon no worker is left for the
//! requests that never needed the dependency at all. The failure has
//! *cascaded*. This module makes that happen for real, in the lab's own
//! server, so the lesson can show it and then stop it:
//!
//! - **the front tier**: `shop.v1.Shop/Checkout` ([`service::ShopService`]).
//!   It is an operation like `Calculator/Add`: the same layers, and the same
//!   session capacity (`Lab/SetCapacity`) — so a checkout and an `Add`
//!   compete for the same workers, though only the checkout calls payment;
//! - **the dependency**: `shop.v1.Payment/Charge` ([`service::PaymentService`]),
//!   behind a capacity of its own (the session's [`tier::PaymentTier`]), which
//!   a brownout can make hang (0 workers, or service × 1000);
//! - **the front tier's client of payment** ([`client::PaymentClients`]):
//!   the checkout handler calls Charge over real gRPC to the server's own
//!   port, through the very `ResilientCaller` the page and the load engine
//!   use — its attempt timeout, retries and, if the session asks, a circuit
//!   breaker shared by all the session's checkouts (as one service's client
//!   library shares one) — and, optionally, a [`bulkhead::Bulkhead`]: a cap
//!   on the checkouts that may wait on payment at once.
//!
//! The three steps of the lesson differ in one setting of that client:
//! without a breaker every worker ends up waiting on payment and `Add` times
//! out; with a breaker, checkouts fail fast once it has learnt, and `Add`
//! stays healthy; with a bulkhead, at most a few workers ever wait.
//!
//! | file | concept |
//! | --- | --- |
//! | this file | the settings of the payment tier and of the front's client of it |
//! | [`bulkhead`] | the cap on checkouts waiting on payment, and its gauge (pure) |
//! | [`tier`] | one session's payment tier: capacity, client settings, counters |
//! | [`client`] | the front tier's payment clients: one `ResilientCaller` per session, on a thread of their own |
//! | [`service`] | the two gRPC services |
//!
//! Where each tier's capacity applies: the capacity layer
//! (`crate::capacity::layer`) asks [`is_payment`] and takes the session's
//! payment capacity for `Payment/*`, the session's own for everything else.
//! A Checkout holds its front worker for its service time *and* for as long
//! as it waits on payment — that is the cascade.

pub mod bulkhead;
pub mod client;
pub mod service;
pub mod tier;

use rpc_lab::resilience::{BreakerConfig, RetryPolicy};

use crate::capacity::CapacitySettings;

/// Types generated from `proto/shop/v1/shop.proto` (by `server/build.rs`).
pub mod proto {
    tonic::include_proto!("shop.v1");

    /// The encoded descriptors of `shop.proto`, for gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/shop_descriptor.bin"));
}

/// The path prefix of the dependency's methods.
pub const PAYMENT_SERVICE: &str = "/shop.v1.Payment/";
/// The path prefix of the front tier's shop methods.
pub const SHOP_SERVICE: &str = "/shop.v1.Shop/";
/// The dependency's one method, as counted in `GetStats`' executions.
pub const CHARGE_METHOD: &str = "/shop.v1.Payment/Charge";
/// The front tier's checkout, as counted in `GetStats`' executions.
pub const CHECKOUT_METHOD: &str = "/shop.v1.Shop/Checkout";

/// Whether a request (by its path) is one for the payment tier, whose
/// capacity is its own rather than the session's.
pub fn is_payment(path: &str) -> bool {
    path.starts_with(PAYMENT_SERVICE)
}

/// How the front tier calls payment.
#[derive(Clone, Debug, PartialEq)]
pub struct PaymentClientSettings {
    /// Attempts, backoff, attempt timeout, deadline, keys, budget.
    pub policy: RetryPolicy,
    /// A breaker shared by all the session's checkouts; `None`: no breaker.
    pub breaker: Option<BreakerConfig>,
    /// At most this many checkouts wait on payment at once; `None`: no cap.
    pub bulkhead: Option<u32>,
}

impl Default for PaymentClientSettings {
    /// The naive client: one attempt, no timeout, no breaker, no bulkhead —
    /// it waits for as long as payment takes.
    fn default() -> Self {
        PaymentClientSettings {
            policy: RetryPolicy {
                per_attempt_timeout: None,
                deadline: None,
                idempotency_keys: false,
                ..RetryPolicy::no_retries()
            },
            breaker: None,
            bulkhead: None,
        }
    }
}

/// Everything a session sets about its payment tier at once.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PaymentTierSettings {
    /// The payment service's capacity; `None`: unlimited and instant.
    pub capacity: Option<CapacitySettings>,
    pub client: PaymentClientSettings,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_payment_paths_are_the_payment_tier() {
        assert!(is_payment(CHARGE_METHOD));
        assert!(!is_payment(CHECKOUT_METHOD));
        assert!(!is_payment("/calculator.v1.Calculator/Add"));
        assert!(!is_payment("/shop.v1.PaymentX/Charge"));
    }

    #[test]
    fn the_default_client_is_naive() {
        let client = PaymentClientSettings::default();
        assert_eq!(client.policy.max_attempts, 1);
        assert_eq!(client.policy.per_attempt_timeout, None);
        assert_eq!(client.policy.deadline, None);
        assert_eq!(client.policy.validate(), Ok(()));
        assert_eq!(client.breaker, None);
        assert_eq!(client.bulkhead, None);
    }
}
