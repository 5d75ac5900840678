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

use rpc_lab::load_policy::to_load_policy;
use rpc_lab::proto::calculator_v1 as lab_proto;
use rpc_lab::resilience::{BreakerConfig, RetryPolicy};
use tonic::{Code, Status};

use crate::capacity::{CapacityLimits, CapacitySettings};
use crate::load::scenario::policy_from_proto;

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

impl PaymentTierSettings {
    /// The settings a `PaymentTier` message asks for (`Lab/SetPaymentTier`,
    /// or a load scenario's `payment_tier`), checked as `SetCapacity` checks
    /// a capacity and `RunLoad` a policy; a bad value is `INVALID_ARGUMENT`
    /// naming the field from `payment_tier.` on. `None`: no limit and the
    /// naive client.
    pub fn from_proto(
        tier: Option<&lab_proto::PaymentTier>,
        limits: &CapacityLimits,
    ) -> Result<PaymentTierSettings, Status> {
        let Some(tier) = tier else {
            return Ok(PaymentTierSettings::default());
        };
        let capacity = match &tier.capacity {
            Some(capacity) => Some(
                CapacitySettings::from_proto(Some(capacity), limits)
                    .map_err(|status| named_in_tier(&status))?,
            ),
            None => None,
        };
        let client = match &tier.client {
            Some(policy) => {
                let (policy, breaker) = policy_from_proto(Some(policy), "payment_tier.client")?;
                PaymentClientSettings {
                    policy,
                    breaker,
                    bulkhead: tier.bulkhead,
                }
            }
            None => PaymentClientSettings {
                bulkhead: tier.bulkhead,
                ..PaymentClientSettings::default()
            },
        };
        Ok(PaymentTierSettings { capacity, client })
    }

    /// What the server stored, as the wire says it.
    pub fn to_proto(&self) -> lab_proto::PaymentTier {
        lab_proto::PaymentTier {
            capacity: self.capacity.as_ref().map(|capacity| capacity.to_proto()),
            client: Some(to_load_policy(
                &self.client.policy,
                self.client.breaker.as_ref(),
            )),
            bulkhead: self.client.bulkhead,
        }
    }
}

/// A capacity's refusal ("capacity.workers …") told from the request's own
/// field on: `payment_tier.capacity.workers …`.
fn named_in_tier(status: &Status) -> Status {
    match status.code() {
        Code::InvalidArgument => {
            Status::invalid_argument(format!("payment_tier.{}", status.message()))
        }
        _ => status.clone(),
    }
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

    fn limits() -> CapacityLimits {
        CapacityLimits::default()
    }

    #[test]
    fn a_tier_from_the_wire_is_checked_and_said_back_as_stored() {
        let request = lab_proto::PaymentTier {
            capacity: Some(lab_proto::Capacity {
                workers: 2,
                queue: 10,
                service_ms: 5,
                ..Default::default()
            }),
            client: Some(lab_proto::LoadPolicy {
                max_attempts: 1,
                initial_backoff_ms: 10,
                max_backoff_ms: 100,
                backoff_multiplier: 2.0,
                attempt_timeout_ms: Some(500),
                breaker: Some(lab_proto::LoadBreaker {
                    window_calls: 10,
                    minimum_calls: 4,
                    failure_rate_threshold: 50.0,
                    slow_call_ms: 60_000,
                    slow_call_rate_threshold: 100.0,
                    wait_in_open_ms: 30_000,
                    wait_multiplier: 1.0,
                    max_wait_in_open_ms: 30_000,
                    half_open_probes: 1,
                }),
                ..Default::default()
            }),
            bulkhead: Some(3),
        };
        let settings = PaymentTierSettings::from_proto(Some(&request), &limits()).unwrap();
        assert_eq!(settings.capacity.as_ref().unwrap().workers, Some(2));
        assert_eq!(
            settings.client.policy.per_attempt_timeout,
            Some(std::time::Duration::from_millis(500))
        );
        assert_eq!(settings.client.bulkhead, Some(3));
        let breaker = settings.client.breaker.clone().expect("a breaker");
        assert_eq!(breaker.minimum_calls, 4);
        // Said back, and read again: the same settings.
        let said = settings.to_proto();
        assert_eq!(said.bulkhead, Some(3));
        assert_eq!(
            PaymentTierSettings::from_proto(Some(&said), &limits()).unwrap(),
            settings
        );
    }

    #[test]
    fn no_tier_and_no_client_are_the_naive_default() {
        assert_eq!(
            PaymentTierSettings::from_proto(None, &limits()).unwrap(),
            PaymentTierSettings::default()
        );
        let only_a_bulkhead = lab_proto::PaymentTier {
            bulkhead: Some(0),
            ..Default::default()
        };
        let settings = PaymentTierSettings::from_proto(Some(&only_a_bulkhead), &limits()).unwrap();
        assert_eq!(settings.capacity, None);
        assert_eq!(
            settings.client.policy,
            PaymentClientSettings::default().policy
        );
        assert_eq!(settings.client.bulkhead, Some(0));
        // The naive client said back reads as the naive client again.
        assert_eq!(
            PaymentTierSettings::from_proto(Some(&settings.to_proto()), &limits()).unwrap(),
            settings
        );
    }

    #[test]
    fn a_bad_value_names_its_field_from_payment_tier_on() {
        let too_many_workers = lab_proto::PaymentTier {
            capacity: Some(lab_proto::Capacity {
                workers: limits().max_workers + 1,
                ..Default::default()
            }),
            ..Default::default()
        };
        let no_attempts = lab_proto::PaymentTier {
            client: Some(lab_proto::LoadPolicy::default()),
            ..Default::default()
        };
        for (request, field) in [
            (too_many_workers, "payment_tier.capacity.workers"),
            (no_attempts, "payment_tier.client.max_attempts"),
        ] {
            let error = PaymentTierSettings::from_proto(Some(&request), &limits()).unwrap_err();
            assert_eq!(error.code(), Code::InvalidArgument);
            assert!(error.message().starts_with(field), "{}", error.message());
        }
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
