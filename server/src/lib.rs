//! # The RPC Resilience Lab server
//!
//! One process, one port, several ways in:
//!
//! - native gRPC over HTTP/2 (what `grpcurl` and a Python `grpcio` client use),
//! - gRPC-Web over HTTP/1.1 (what the browser page uses; translated by
//!   `tonic_web::GrpcWebLayer`),
//! - `grpc.health.v1.Health` and server reflection, which tools expect.
//!
//! Modules, from the rules inward to the wiring (each concept one folder
//! holding its rule and, where it has one, its layer):
//! - [`rules`]: the rules of the three services as plain functions on plain
//!   data (`arithmetic`, `key_value`, `ledger`, `names`).
//! - [`services`]: the gRPC services that serve those rules, and the Lab
//!   service that reports what really happened; [`rest`]: their JSON twin.
//! - [`session`]: each browser tab's own store, accounts and counters, and
//!   the layer that finds a request's session.
//! - [`fault`]: the failures a request (or the teacher) asks for, and the
//!   layer that injects them.
//! - [`idempotency`]: the store that makes a keyed request run once, and its layer.
//! - [`capacity`]: a session's workers, queue and service time (none unless
//!   `Lab/SetCapacity` sets them), and the layers that make requests wait.
//! - [`request_log`]: the server's own record of each session's requests —
//!   what the server did with each — and `Lab/WatchRequests`, its stream.
//! - [`layers`]: the order in which those layers meet each request, and the
//!   last two: execution counts (the server's truth) and undecodable requests.
//! - [`deadline`]: the client's `grpc-timeout`; [`random`]: seeded
//!   randomness, so a lesson can be replayed; [`quote`]: how an error repeats
//!   what a client sent (briefly).
//! - [`shop`]: two tiers in one server — `Shop/Checkout` calls
//!   `Payment/Charge` through the client's resilience core — so a failure
//!   can cascade, and a breaker or a bulkhead can stop it.
//! - [`load`]: the load engine (`Lab/RunLoad`): virtual clients through the
//!   client's resilience core, against this server's own port.
//! - [`page`]: the lab's own page, compressed, on the same port (`--page`),
//!   for a class that opens the teacher's lab.
//! - [`transport`]: connections and their time limits, CORS, whole gRPC-Web
//!   replies, graceful stop.
//! - [`config`], [`state`]: flags, and what every request can reach.
//!
//! [`serve`] puts them together. It takes an already bound listener, so tests
//! can bind `127.0.0.1:0` and learn the port before the server starts.

pub mod capacity;
pub mod config;
pub mod deadline;
pub mod fault;
pub mod idempotency;
pub mod layers;
pub mod load;
pub mod page;
pub mod quote;
pub mod random;
pub mod request_log;
pub mod rest;
pub mod rules;
pub mod services;
pub mod session;
pub mod shop;
pub mod state;
pub mod transport;

use std::future::Future;
use std::sync::Arc;

use axum::middleware::{from_fn, from_fn_with_state};
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic_web::GrpcWebLayer;

use crate::config::Config;
use crate::idempotency::IdempotencyStore;
use crate::services::{
    account::AccountService, calculator::CalculatorService, lab::LabService, store::StoreService,
};
use crate::session::Sessions;
use crate::shop::service::{PaymentService, ShopService};
use crate::state::LabState;
use crate::transport::connections::{self, ConnectionSettings};

/// Anything that can stop the server from starting or running.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Which of the lab's layers stand in front of the handlers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layers {
    /// Everything: sessions, the request log, faults, idempotency, capacity,
    /// execution counts.
    All,
    /// Without the request log, fault, idempotency and capacity layers: the
    /// baseline the benchmark compares against (handlers still need their
    /// session).
    WithoutFaultsAndIdempotency,
}

/// Serves the lab on `listener` until `shutdown` resolves, then finishes the
/// calls in flight and returns.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let (app, lab) = app(&config, Layers::All).await?;
    // The load engine's virtual clients call this very port.
    let _ = lab.own_address.set(listener.local_addr()?);
    // Stopping lets requests waiting in a session's queue go at once: a
    // graceful stop waits for every accepted call, and a deep queue behind a
    // brownout could otherwise hold it for hours.
    let shutdown = async move {
        shutdown.await;
        lab.sessions.close_capacities();
        // Load runs end too, each with its summary, rather than run on.
        lab.load_runs.stop_all();
        // And the streams of the request logs, which would never end.
        lab.stop_watching.stop();
    };
    connections::serve(listener, app, config.connection_settings(), shutdown).await
}

/// Serves an app built by [`app`], with the default connection limits.
///
/// One port speaks HTTP/1.1 and HTTP/2 (cleartext, "prior knowledge"), which
/// is what gRPC-Web and native gRPC need (see [`connections`]). We serve
/// tonic's routes this way rather than through tonic's own server because
/// tonic's answers an expired `grpc-timeout` with CANCELLED, and the contract
/// (like other gRPC implementations) says DEADLINE_EXCEEDED; here the fault
/// layer owns the client's deadline.
pub async fn serve_app(
    listener: TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    connections::serve(listener, app, ConnectionSettings::default(), shutdown).await
}

/// The whole lab as one router, and the state behind it.
pub async fn app(config: &Config, stack: Layers) -> Result<(axum::Router, Arc<LabState>), Error> {
    let seed = config.seed.unwrap_or_else(random_seed);
    tracing::info!(
        seed,
        "fault decisions are seeded; start with --seed {seed} to replay them"
    );
    let lab = Arc::new(LabState {
        sessions: Sessions::new(config.session_settings(seed)),
        idempotency: IdempotencyStore::new(config.idempotency_config()),
        faults: config.fault_settings(),
        capacity_limits: config.capacity_limits(),
        load_runs: load::Runs::new(config.load_limits()),
        own_address: Default::default(),
        stop_watching: Default::default(),
    });

    // The health service starts with the overall service "" reported SERVING.
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<rpc_lab::proto::calculator_v1::calculator_server::CalculatorServer<CalculatorService>>().await;
    health_reporter
        .set_serving::<rpc_lab::proto::calculator_v1::store_server::StoreServer<StoreService>>()
        .await;
    health_reporter.set_serving::<rpc_lab::proto::calculator_v1::account_server::AccountServer<AccountService>>().await;

    // Both reflection versions: newer grpcurl asks for v1, older tools for v1alpha.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(rpc_lab::proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(shop::proto::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;

    let grpc = Routes::new(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(CalculatorService.into_server())
        .add_service(StoreService.into_server())
        .add_service(AccountService.into_server())
        .add_service(ShopService::new(lab.clone()).into_server())
        .add_service(PaymentService.into_server())
        .add_service(LabService::new(lab.clone()).into_server());

    // gRPC-Web translation wraps only the gRPC routes: tonic-web refuses any
    // other HTTP/1.1 request, the REST twin's included. CORS wraps everything.
    // Innermost, around tonic's handlers: an undecodable request is the
    // caller's error (`layers::undecodable`).
    let grpc_handlers = grpc
        .into_axum_router()
        .layer(from_fn(layers::undecodable::invalid_argument));
    let grpc_routes = with_lab_layers(grpc_handlers, &lab, stack)
        .layer(GrpcWebLayer::new())
        .layer(from_fn_with_state(
            transport::whole_reply::UnaryMethods::of_the_lab()?,
            transport::whole_reply::gather,
        ));
    let rest_routes = with_lab_layers(rest::router(), &lab, stack);
    let app = grpc_routes
        .merge(rest_routes)
        .layer(transport::cors::timing_allow_origin())
        .layer(transport::cors::layer());
    // The page goes in front of everything: it decides which requests are
    // its own, and hands every other one to the routes above unchanged.
    let app = match &config.page {
        Some(dir) => {
            let page =
                page::Page::load(dir).map_err(|error| format!("cannot serve the page: {error}"))?;
            tracing::info!(
                dir = %dir.display(),
                files = ?page.addresses().collect::<Vec<_>>(),
                "serving the lab's page at / (compressing it in the background)"
            );
            page::front(app, Arc::new(page).compress_in_background())
        }
        None => app,
    };
    Ok((app, lab))
}

/// Puts the lab's layers around `routes`. Each `.layer` goes around the ones
/// before it, so a request meets them bottom to top: session, the request
/// log, faults, the client watch, idempotency, capacity, then the execution
/// count next to the handler (see `layers`).
fn with_lab_layers(routes: axum::Router, lab: &Arc<LabState>, stack: Layers) -> axum::Router {
    let mut routes = routes.layer(from_fn(layers::executions::count));
    if stack == Layers::All {
        routes = routes
            .layer(from_fn(capacity::layer::limit))
            .layer(from_fn_with_state(lab.clone(), idempotency::layer::once))
            .layer(from_fn(capacity::layer::watch_client))
            .layer(from_fn_with_state(lab.clone(), fault::layer::inject))
            .layer(from_fn(request_log::layer::record));
    }
    routes.layer(from_fn_with_state(lab.clone(), session::layer::attach))
}

/// A seed from the clock, for runs that did not ask for one.
pub(crate) fn random_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
