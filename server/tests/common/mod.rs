//! A real server on a real socket, and real clients for it.
//!
//! Every integration test starts its own server on `127.0.0.1:0` (a free port
//! chosen by the OS), so tests run in parallel without clashing, and stops it
//! when the [`TestServer`] is dropped.

#![allow(dead_code)] // each test file uses a different part of this module

use std::net::SocketAddr;

use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;
use rpc_lab::proto::CalculatorClient;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::body::Body;
use tonic::transport::{Channel, Endpoint};
use tonic_web::{GrpcWebCall, GrpcWebClientLayer, GrpcWebClientService};

/// A running server; dropping it shuts the server down.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), rpc_lab_server::Error>>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(rpc_lab_server::serve(listener, async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A native gRPC channel: HTTP/2 without TLS, as grpcurl or grpcio use.
    pub async fn channel(&self) -> Channel {
        Endpoint::from_shared(self.url())
            .unwrap()
            .connect()
            .await
            .expect("connect over HTTP/2")
    }

    /// A calculator client speaking native gRPC.
    pub async fn grpc_calculator(&self) -> CalculatorClient<Channel> {
        CalculatorClient::new(self.channel().await)
    }

    /// A calculator client speaking gRPC-Web over HTTP/1.1, as a browser does.
    pub fn grpc_web_calculator(
        &self,
    ) -> CalculatorClient<GrpcWebClientService<Client<HttpConnector, GrpcWebCall<Body>>>> {
        let http1 = Client::builder(TokioExecutor::new()).build_http();
        let service = tower::ServiceBuilder::new()
            .layer(GrpcWebClientLayer::new())
            .service(http1);
        CalculatorClient::with_origin(service, self.url().parse().unwrap())
    }

    /// A plain HTTP/1.1 client, for requests that are not well-formed gRPC.
    pub fn http1(&self) -> Client<HttpConnector, http_body_util::Full<bytes::Bytes>> {
        Client::builder(TokioExecutor::new()).build_http()
    }

    /// Stops the server and waits until it has finished, reporting its result.
    pub async fn stop(mut self) -> Result<(), rpc_lab_server::Error> {
        let _ = self.stop.take().unwrap().send(());
        self.task
            .take()
            .unwrap()
            .await
            .expect("server task panicked")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
