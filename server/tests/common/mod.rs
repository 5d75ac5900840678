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
use rpc_lab_server::config::Config;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::body::Body;
use tonic::transport::{Channel, Endpoint};
use tonic_web::{GrpcWebCall, GrpcWebClientLayer, GrpcWebClientService};

/// The gRPC-Web client transport used by the tests.
pub type GrpcWeb = GrpcWebClientService<Client<HttpConnector, GrpcWebCall<Body>>>;

/// A running server; dropping it shuts the server down.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), rpc_lab_server::Error>>>,
}

impl TestServer {
    /// A server with the default flags and a fixed seed.
    pub async fn start() -> TestServer {
        Self::start_with(Config {
            seed: Some(1),
            ..Config::default()
        })
        .await
    }

    /// A server with the given flags.
    pub async fn start_with(config: Config) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(rpc_lab_server::serve(listener, config, async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// A server for an app built by `rpc_lab_server::app` (the caller keeps
    /// the app, and so the lab's state, to serve it again later).
    pub async fn serve_router(app: axum::Router) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(rpc_lab_server::serve_app(listener, app, async {
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

    /// A gRPC-Web transport over HTTP/1.1, as a browser uses. Unlike tonic's
    /// HTTP/2 channel, it keeps no timer of its own for `grpc-timeout`, so a
    /// test sees the server's own answer to a deadline.
    pub fn grpc_web(&self) -> GrpcWeb {
        let http1 = Client::builder(TokioExecutor::new()).build_http();
        tower::ServiceBuilder::new()
            .layer(GrpcWebClientLayer::new())
            .service(http1)
    }

    /// A calculator client speaking gRPC-Web.
    pub fn grpc_web_calculator(&self) -> CalculatorClient<GrpcWeb> {
        CalculatorClient::with_origin(self.grpc_web(), self.url().parse().unwrap())
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

/// A request carrying `message` and the given metadata (headers), for the
/// lab's headers: `idempotency-key`, `x-fault-*`, `x-lab-session`.
pub fn request<T>(message: T, headers: &[(&'static str, &str)]) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    for (name, value) in headers {
        request
            .metadata_mut()
            .insert(*name, value.parse().expect("a valid header value"));
    }
    request
}

/// A metadata value as text, if present.
pub fn header(metadata: &tonic::metadata::MetadataMap, name: &str) -> Option<String> {
    metadata.get(name).map(|v| v.to_str().unwrap().to_owned())
}

/// The clients of one server, all on one HTTP/2 connection (cheap to clone).
#[derive(Clone)]
pub struct Clients {
    pub store: rpc_lab::proto::StoreClient<Channel>,
    pub account: rpc_lab::proto::AccountClient<Channel>,
    pub lab: rpc_lab::proto::LabClient<Channel>,
}

impl TestServer {
    pub async fn clients(&self) -> Clients {
        let channel = self.channel().await;
        Clients {
            store: rpc_lab::proto::StoreClient::new(channel.clone()),
            account: rpc_lab::proto::AccountClient::new(channel.clone()),
            lab: rpc_lab::proto::LabClient::new(channel),
        }
    }
}

impl Clients {
    /// The server's truth for `session`.
    pub async fn stats(&mut self, session: &str) -> rpc_lab::proto::calculator_v1::LabStats {
        self.lab
            .get_stats(request(
                rpc_lab::proto::calculator_v1::GetStatsRequest {},
                &[("x-lab-session", session)],
            ))
            .await
            .expect("GetStats")
            .into_inner()
    }

    /// How many times `method` (e.g. "Account/Withdraw") executed in `session`.
    pub async fn executions(&mut self, session: &str, method: &str) -> u64 {
        let stats = self.stats(session).await;
        stats
            .executions
            .get(&format!("/calculator.v1.{method}"))
            .copied()
            .unwrap_or(0)
    }

    /// The balance of `account` in `session`.
    pub async fn balance(&mut self, session: &str, account: &str) -> i64 {
        self.account
            .get_balance(request(
                rpc_lab::proto::calculator_v1::GetBalanceRequest {
                    account: account.into(),
                },
                &[("x-lab-session", session)],
            ))
            .await
            .expect("GetBalance")
            .into_inner()
            .balance_cents
    }
}

/// A REST reply: status, headers and the parsed JSON body (`null` if empty).
pub struct RestReply {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub json: serde_json::Value,
}

impl TestServer {
    /// Sends a REST request; `body` is sent as `application/json` unless
    /// `headers` names another content type.
    pub async fn rest(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> RestReply {
        use http_body_util::BodyExt;
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url()));
        if body.is_some()
            && !headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        {
            request = request.header("content-type", "application/json");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(http_body_util::Full::new(bytes::Bytes::from(
                body.unwrap_or_default().to_owned(),
            )))
            .unwrap();
        let response = self
            .http1()
            .request(request)
            .await
            .expect("the server answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
        };
        RestReply {
            status,
            headers,
            json,
        }
    }
}

/// A REST reply's headers, so the checks below read the same for a REST
/// reply as for a gRPC reply's metadata (which is `AsRef<HeaderMap>` too).
impl AsRef<http::HeaderMap> for RestReply {
    fn as_ref(&self) -> &http::HeaderMap {
        &self.headers
    }
}

/// Asserts that a reply (gRPC metadata or a REST reply) is the replay of a
/// stored outcome: it carries `idempotent-replayed: true`.
#[track_caller]
pub fn assert_replayed(reply: &impl AsRef<http::HeaderMap>) {
    assert_eq!(
        header_text(reply.as_ref(), "idempotent-replayed"),
        Some("true"),
        "a replay of the stored outcome"
    );
}

/// Asserts that a reply (gRPC metadata or a REST reply) was shaped by the
/// injected `fault`: it carries `x-fault-injected: <fault>`.
#[track_caller]
pub fn assert_fault_injected(reply: &impl AsRef<http::HeaderMap>, fault: &str) {
    assert_eq!(
        header_text(reply.as_ref(), "x-fault-injected"),
        Some(fault),
        "the reply names the fault that shaped it"
    );
}

/// A header's value as text, if present and text.
fn header_text<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// A reply read whole at the HTTP level: what any client, however raw, gets.
#[derive(Debug)]
pub struct RawReply {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: bytes::Bytes,
    pub trailers: Option<http::HeaderMap>,
}

impl RawReply {
    /// Reads a response to the end, trailers included.
    pub async fn read(
        response: http::Response<hyper::body::Incoming>,
    ) -> Result<RawReply, hyper::Error> {
        use http_body_util::BodyExt;
        let (parts, body) = response.into_parts();
        let collected = body.collect().await?;
        let trailers = collected.trailers().cloned();
        Ok(RawReply {
            status: parts.status,
            headers: parts.headers,
            body: collected.to_bytes(),
            trailers,
        })
    }

    /// `grpc-status` of a native gRPC reply: in the headers of a
    /// trailers-only reply, else in the trailers.
    pub fn grpc_status(&self) -> Option<&http::HeaderValue> {
        self.headers
            .get("grpc-status")
            .or_else(|| self.trailers.as_ref()?.get("grpc-status"))
    }
}

/// A raw HTTP/2 connection, for requests tonic's client would refuse to build.
pub type RawH2 = hyper::client::conn::http2::SendRequest<http_body_util::Full<bytes::Bytes>>;

impl TestServer {
    /// Opens a raw HTTP/2 connection (prior knowledge, as gRPC uses). The
    /// connection's driver runs in the returned task, which ends when the
    /// server closes the connection.
    pub async fn raw_h2(&self) -> (RawH2, JoinHandle<Result<(), hyper::Error>>) {
        raw_h2(self.addr).await
    }
}

/// [`TestServer::raw_h2`] for a server started some other way.
pub async fn raw_h2(addr: SocketAddr) -> (RawH2, JoinHandle<Result<(), hyper::Error>>) {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    tcp.set_nodelay(true).unwrap();
    let (sender, connection) = hyper::client::conn::http2::handshake(
        TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .expect("HTTP/2 handshake");
    (sender, tokio::spawn(connection))
}

/// Sends one request on a raw HTTP/2 connection and reads the whole reply.
pub async fn send_raw(
    sender: &mut RawH2,
    request: http::Request<http_body_util::Full<bytes::Bytes>>,
) -> Result<RawReply, hyper::Error> {
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    RawReply::read(response).await
}

/// A gRPC message frame: flag byte (0 = uncompressed), big-endian length, message.
pub fn grpc_frame(message: &impl prost::Message) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut framed = vec![0u8];
    framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
    framed.extend_from_slice(&body);
    framed
}

/// A native gRPC request (HTTP/2) to `path` with a raw body and headers.
pub fn grpc_request(
    path: &str,
    headers: &[(&str, http::HeaderValue)],
    body: Vec<u8>,
) -> http::Request<http_body_util::Full<bytes::Bytes>> {
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!("http://lab{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (name, value) in headers {
        request = request.header(*name, value.clone());
    }
    request
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .unwrap()
}

/// Splits a gRPC-Web body into its messages and its trailer block.
pub fn grpc_web_frames(mut body: &[u8]) -> (Vec<bytes::Bytes>, String) {
    let (mut messages, mut trailers) = (Vec::new(), String::new());
    while body.len() >= 5 {
        let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
        let payload = &body[5..5 + len];
        if body[0] & 0x80 != 0 {
            trailers.push_str(std::str::from_utf8(payload).unwrap());
        } else {
            messages.push(bytes::Bytes::copy_from_slice(payload));
        }
        body = &body[5..][len..];
    }
    assert!(
        body.is_empty(),
        "a gRPC-Web body must be whole frames, {} bytes left over",
        body.len()
    );
    (messages, trailers)
}

/// Decodes a grpc-web-text reply: base64 groups, each padded on its own (the
/// grpc-web spec allows it), so four characters — one group — at a time.
pub fn grpc_web_text_decode(body: &[u8]) -> Vec<u8> {
    use base64::Engine;
    body.chunks(4)
        .flat_map(|group| {
            base64::engine::general_purpose::STANDARD
                .decode(group)
                .expect("a grpc-web-text reply is base64")
        })
        .collect()
}
