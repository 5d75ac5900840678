//! # The RPC Resilience Lab server
//!
//! One process, one port, several ways in:
//!
//! - native gRPC over HTTP/2 (what `grpcurl` and a Python `grpcio` client use),
//! - gRPC-Web over HTTP/1.1 (what the browser page uses; translated by
//!   `tonic_web::GrpcWebLayer`),
//! - `grpc.health.v1.Health` and server reflection, which tools expect.
//!
//! Modules:
//! - [`config`]: the command-line flags (and so `--help`).
//! - [`arithmetic`]: the calculator's rules as plain functions.
//! - [`calculator`]: the gRPC service that serves those rules.
//! - [`cors`]: which browser pages may call, and what they may read.
//! - [`shutdown`]: Ctrl-C / SIGTERM handling.
//!
//! [`serve`] puts them together. It takes an already bound listener, so tests
//! can bind `127.0.0.1:0` and learn the port before the server starts.

pub mod arithmetic;
pub mod calculator;
pub mod config;
pub mod cors;
pub mod shutdown;

use std::future::Future;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::Server;
use tonic_web::GrpcWebLayer;

use crate::calculator::CalculatorService;

/// Anything that can stop the server from starting or running.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Serves the lab on `listener` until `shutdown` resolves, then finishes the
/// calls in flight and returns.
pub async fn serve(
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let calculator = CalculatorService.into_server();

    // The health service starts with the overall service "" reported SERVING.
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<rpc_lab::proto::calculator_v1::calculator_server::CalculatorServer<CalculatorService>>().await;

    // Both reflection versions: newer grpcurl asks for v1, older tools for v1alpha.
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(rpc_lab::proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(rpc_lab::proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    Server::builder()
        // HTTP/1.1 as well as HTTP/2, for gRPC-Web from browsers.
        .accept_http1(true)
        // Outermost first: CORS answers preflights before anything else runs,
        // then gRPC-Web requests are translated to plain gRPC for the services.
        .layer(cors::layer())
        .layer(GrpcWebLayer::new())
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(calculator)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await?;
    Ok(())
}
