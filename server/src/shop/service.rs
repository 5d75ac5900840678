//! The two gRPC services of the shop: `shop.v1.Shop` (the front tier) and
//! `shop.v1.Payment` (its dependency).
//!
//! Both are thin. Payment's `Charge` checks its amount and answers: all its
//! slowness is its tier's capacity, applied by the capacity layer before the
//! handler runs. Shop's `Checkout` takes a place in the bulkhead, asks the
//! session's payment client to charge, and says how that went. It runs
//! inside the front tier's capacity, so the worker it was given stays taken
//! until payment has answered or the client has given up.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

use tonic::{Request, Response, Status};

use super::client::PaymentClients;
use super::proto::payment_server::{Payment, PaymentServer};
use super::proto::shop_server::{Shop, ShopServer};
use super::proto::{ChargeReply, ChargeRequest, CheckoutReply, CheckoutRequest};
use super::tier::CheckoutCounts;
use crate::session::Session;
use crate::state::LabState;

/// The front tier.
#[derive(Clone, Debug)]
pub struct ShopService {
    lab: Arc<LabState>,
    /// Started at the first checkout, once the server knows its own address.
    clients: Arc<OnceLock<PaymentClients>>,
}

impl ShopService {
    pub fn new(lab: Arc<LabState>) -> Self {
        ShopService {
            lab,
            clients: Arc::default(),
        }
    }

    pub fn into_server(self) -> ShopServer<Self> {
        ShopServer::new(self)
    }

    fn clients(&self) -> Result<&PaymentClients, Status> {
        if let Some(clients) = self.clients.get() {
            return Ok(clients);
        }
        let Some(&target) = self.lab.own_address.get() else {
            return Err(Status::unavailable(
                "the shop does not know this server's address, so it cannot call payment \
                 (the server was not started by rpc_lab_server::serve)",
            ));
        };
        let started = PaymentClients::start(target)?;
        // Two first checkouts at once: one thread wins, the other's ends
        // with its dropped sender.
        Ok(self.clients.get_or_init(|| started))
    }
}

#[tonic::async_trait]
impl Shop for ShopService {
    async fn checkout(
        &self,
        request: Request<CheckoutRequest>,
    ) -> Result<Response<CheckoutReply>, Status> {
        let session = session(&request)?;
        let amount_cents = request.get_ref().amount_cents;
        if amount_cents <= 0 {
            return Err(Status::invalid_argument(format!(
                "amount_cents must be more than 0, got {amount_cents}"
            )));
        }
        let clients = self.clients()?;
        let tier = session.payment.clone();
        let counts = &tier.counts;
        let cap = tier.client_version().settings.bulkhead;
        let Some(_waiting) = tier.bulkhead.try_enter(cap) else {
            CheckoutCounts::bump(&counts.bulkhead_full);
            return Err(Status::resource_exhausted(format!(
                "bulkhead full: {} checkouts are already waiting on payment, as many as this \
                 session's front tier lets wait (Lab/SetPaymentTier); payment was not called",
                cap.unwrap_or_default()
            )));
        };
        // Counts the checkout abandoned if this future is dropped before
        // payment answers: its shopper hung up and the front tier stopped it.
        let watch = Waiting(Some(&counts.abandoned));
        let charged = clients
            .charge(tier.clone(), session.name.clone(), amount_cents)
            .await;
        watch.answered();
        match charged? {
            Ok(payment_attempts) => {
                CheckoutCounts::bump(&counts.paid);
                Ok(Response::new(CheckoutReply { payment_attempts }))
            }
            Err(error) if error.rejected_by_breaker() => {
                CheckoutCounts::bump(&counts.rejected_by_breaker);
                Err(Status::unavailable(
                    "payment is failing: the front tier's circuit breaker is open, so this \
                     checkout failed at once without calling payment",
                ))
            }
            Err(error) => {
                CheckoutCounts::bump(&counts.payment_failed);
                // Not payment's own code: a DEADLINE_EXCEEDED passed on
                // would tell the shop's client that *its* deadline passed.
                Err(Status::unavailable(format!(
                    "payment failed after {} attempt(s) ({}): {}",
                    error.attempts,
                    error.gave_up.explain(),
                    error.status.message()
                )))
            }
        }
    }
}

/// A checkout waiting on payment. Dropped before [`Waiting::answered`] —
/// the shopper went and its request's future was dropped with the handler
/// in it — it counts the checkout abandoned, so every checkout that reached
/// its handler is counted once, however it ended.
struct Waiting<'a>(Option<&'a AtomicU64>);

impl Waiting<'_> {
    fn answered(mut self) {
        self.0 = None;
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Some(abandoned) = self.0 {
            CheckoutCounts::bump(abandoned);
        }
    }
}

/// The dependency.
#[derive(Clone, Copy, Debug, Default)]
pub struct PaymentService;

impl PaymentService {
    pub fn into_server(self) -> PaymentServer<Self> {
        PaymentServer::new(self)
    }
}

#[tonic::async_trait]
impl Payment for PaymentService {
    async fn charge(
        &self,
        request: Request<ChargeRequest>,
    ) -> Result<Response<ChargeReply>, Status> {
        let amount_cents = request.get_ref().amount_cents;
        if amount_cents <= 0 {
            return Err(Status::invalid_argument(format!(
                "amount_cents must be more than 0, got {amount_cents}"
            )));
        }
        Ok(Response::new(ChargeReply {}))
    }
}

/// The caller's lab session, attached by `session::layer`.
fn session<T>(request: &Request<T>) -> Result<Arc<Session>, Status> {
    request
        .extensions()
        .get::<Arc<Session>>()
        .cloned()
        .ok_or_else(|| Status::internal("no lab session attached to the request"))
}
