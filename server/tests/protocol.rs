//! What other tools and browsers rely on, tested at the HTTP level: CORS,
//! gRPC-Web's text mode, health, reflection, and malformed requests.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use common::{TestServer, grpc_frame as frame, grpc_web_frames, grpc_web_text_decode};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use prost::Message;
use rpc_lab::proto::{BinaryOperation, Number};
use rpc_lab_server::transport::cors::{EXPOSED_HEADERS, REQUEST_HEADERS};

const PAGE_ORIGIN: &str = "http://localhost:8080";

/// The response as gRPC-Web delivers it: status, headers, and the frames of the body.
struct WebReply {
    status: StatusCode,
    headers: HeaderMap,
    messages: Vec<Bytes>,
    trailers: String,
}

impl WebReply {
    /// `grpc-status` from the headers (trailers-only reply) or the trailer frame.
    fn grpc_status(&self) -> Option<String> {
        self.status_field("grpc-status")
    }

    fn grpc_message(&self) -> String {
        percent_decode(&self.status_field("grpc-message").unwrap_or_default())
    }

    /// A status field from the headers (a trailers-only reply) or the trailer frame.
    fn status_field(&self, name: &str) -> Option<String> {
        if let Some(value) = self.headers.get(name) {
            return Some(value.to_str().unwrap().to_owned());
        }
        self.trailers
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .map(|value| value.trim().to_owned())
    }
}

/// grpc-message is percent-encoded on the wire.
fn percent_decode(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

/// Sends one raw gRPC-Web POST from the page's origin.
async fn post(server: &TestServer, path: &str, content_type: &str, body: Vec<u8>) -> WebReply {
    post_with(server, path, content_type, body, &[]).await
}

/// [`post`], with extra request headers.
async fn post_with(
    server: &TestServer,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
    extra: &[(&str, &str)],
) -> WebReply {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(format!("{}{path}", server.url()))
        .header("origin", PAGE_ORIGIN)
        .header("content-type", content_type)
        // A grpc-web-text client asks for a text reply; tonic-web answers in kind.
        .header("accept", content_type)
        .header("x-grpc-web", "1");
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(Bytes::from(body))).unwrap();
    let response = server
        .http1()
        .request(request)
        .await
        .expect("the server answers");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body = if content_type.starts_with("application/grpc-web-text") {
        Bytes::from(grpc_web_text_decode(&body))
    } else {
        body
    };
    let (messages, trailers) = grpc_web_frames(&body);
    WebReply {
        status,
        headers,
        messages,
        trailers,
    }
}

fn header_list(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|value| value.to_str().unwrap().split(','))
        .map(|item| item.trim().to_ascii_lowercase())
        .collect()
}

/// A browser's preflight for a gRPC-Web call with every contract header is allowed.
#[tokio::test]
async fn cors_preflight_allows_the_page_and_every_contract_header() {
    let server = TestServer::start().await;
    let request = Request::builder()
        .method(Method::OPTIONS)
        .uri(format!("{}/calculator.v1.Calculator/Add", server.url()))
        .header("origin", PAGE_ORIGIN)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", REQUEST_HEADERS.join(","))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = server.http1().request(request).await.unwrap();
    assert!(
        response.status().is_success(),
        "preflight got {}",
        response.status()
    );
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], PAGE_ORIGIN);
    assert!(header_list(headers, "access-control-allow-methods").contains(&"post".to_owned()));
    let allowed = header_list(headers, "access-control-allow-headers");
    for header in REQUEST_HEADERS {
        assert!(
            allowed.contains(&header.to_string()),
            "preflight does not allow {header}: {allowed:?}"
        );
    }
    // The ones a stock gRPC-Web client sends are in the list, whatever the lab adds.
    for header in ["content-type", "x-grpc-web", "x-user-agent", "grpc-timeout"] {
        assert!(allowed.contains(&header.to_owned()));
    }
    assert!(headers.contains_key("access-control-max-age"));
}

/// A successful call from another origin: the browser may read the status headers.
#[tokio::test]
async fn grpc_web_reply_exposes_status_headers_to_the_page() {
    let server = TestServer::start().await;
    let reply = post(
        &server,
        "/calculator.v1.Calculator/Add",
        "application/grpc-web+proto",
        frame(&BinaryOperation { a: 2.0, b: 40.0 }),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["access-control-allow-origin"], PAGE_ORIGIN);
    let exposed = header_list(&reply.headers, "access-control-expose-headers");
    for header in EXPOSED_HEADERS {
        assert!(
            exposed.contains(&header.to_string()),
            "{header} is not exposed: {exposed:?}"
        );
    }
    assert_eq!(reply.messages.len(), 1);
    assert_eq!(
        Number::decode(reply.messages[0].clone()).unwrap().value,
        42.0
    );
    assert_eq!(reply.grpc_status().as_deref(), Some("0"));
}

/// An error from another origin arrives as a readable status and message, not as
/// a "malformed response".
#[tokio::test]
async fn grpc_web_error_is_readable_from_another_origin() {
    let server = TestServer::start().await;
    let reply = post(
        &server,
        "/calculator.v1.Calculator/Divide",
        "application/grpc-web+proto",
        frame(&BinaryOperation { a: 1.0, b: 0.0 }),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "gRPC errors travel in grpc-status, not HTTP status"
    );
    assert_eq!(
        reply.grpc_status().as_deref(),
        Some("3"),
        "INVALID_ARGUMENT is 3"
    );
    assert!(
        reply.grpc_message().contains("division by zero"),
        "{}",
        reply.grpc_message()
    );
    assert!(
        header_list(&reply.headers, "access-control-expose-headers")
            .contains(&"grpc-message".to_owned())
    );
    assert!(reply.messages.is_empty());
}

/// gRPC-Web's text mode (base64 bodies), used by some browser clients.
#[tokio::test]
async fn grpc_web_text_mode_works() {
    let server = TestServer::start().await;
    let body = BASE64
        .encode(frame(&BinaryOperation { a: 6.0, b: 7.0 }))
        .into_bytes();
    let reply = post(
        &server,
        "/calculator.v1.Calculator/Multiply",
        "application/grpc-web-text+proto",
        body,
    )
    .await;
    assert_eq!(reply.grpc_status().as_deref(), Some("0"));
    assert_eq!(
        Number::decode(reply.messages[0].clone()).unwrap().value,
        42.0
    );
}

/// Garbage gets a well-formed gRPC error, and the server keeps serving.
#[tokio::test]
async fn malformed_frames_get_an_error_and_the_server_survives() {
    let server = TestServer::start().await;
    let garbage: [(&str, Vec<u8>); 4] = [
        (
            "protobuf that does not decode",
            vec![0, 0, 0, 0, 3, 0xff, 0xff, 0xff],
        ),
        ("a frame longer than the body", vec![0, 0, 0, 1, 0, 1, 2]),
        ("half a frame header", vec![0, 0]),
        ("a compressed flag with no compression agreed", {
            let mut f = frame(&BinaryOperation { a: 1.0, b: 2.0 });
            f[0] = 1;
            f
        }),
    ];
    for (what, body) in garbage {
        let reply = post(
            &server,
            "/calculator.v1.Calculator/Add",
            "application/grpc-web+proto",
            body,
        )
        .await;
        let status = reply
            .grpc_status()
            .unwrap_or_else(|| panic!("{what}: no grpc-status in the reply"));
        assert_ne!(status, "0", "{what} must not succeed");
    }
    // Still serving.
    let mut client = server.grpc_calculator().await;
    let answer = rpc_lab::calculator::calculate(
        &mut client,
        rpc_lab::calculator::ArithmeticOperation::Add,
        1.0,
        2.0,
    )
    .await;
    assert_eq!(answer, Ok(3.0));
}

/// A keyed request whose outcome is an error — first call and replay — is a
/// well-formed error in every protocol. Over HTTP/2 that means trailers-only:
/// the status in the headers and no DATA frame at all; grpcio reads a DATA
/// frame there as a broken stream (`UNKNOWN: Stream removed`).
#[tokio::test]
async fn a_keyed_error_is_well_formed_first_and_replayed() {
    let server = TestServer::start().await;
    let divide = "/calculator.v1.Calculator/Divide";
    let by_zero = frame(&BinaryOperation { a: 1.0, b: 0.0 });

    // Native gRPC over HTTP/2, read frame by frame.
    let h2 = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<Bytes>>();
    for replay in [false, true] {
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}{divide}", server.url()))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .header("idempotency-key", "h2-divide")
            .body(Full::new(Bytes::from(by_zero.clone())))
            .unwrap();
        let response = h2.request(request).await.unwrap();
        let (parts, mut body) = response.into_parts();
        assert_eq!(
            parts.headers["grpc-status"], "3",
            "INVALID_ARGUMENT in the headers"
        );
        assert_eq!(
            parts.headers.contains_key("idempotent-replayed"),
            replay,
            "replay {replay}"
        );
        while let Some(frame) = body.frame().await {
            let frame = frame.unwrap();
            assert!(
                frame.data_ref().is_none_or(|data| data.is_empty()),
                "a trailers-only reply carries no message"
            );
        }
    }

    // gRPC-Web, binary and text.
    for (content_type, body) in [
        ("application/grpc-web+proto", by_zero.clone()),
        (
            "application/grpc-web-text+proto",
            BASE64.encode(&by_zero).into_bytes(),
        ),
    ] {
        let key = [("idempotency-key", content_type)];
        for replay in [false, true] {
            let reply = post_with(&server, divide, content_type, body.clone(), &key).await;
            assert_eq!(reply.grpc_status().as_deref(), Some("3"), "{content_type}");
            assert!(reply.grpc_message().contains("division by zero"));
            assert!(reply.messages.is_empty());
            assert_eq!(
                reply.headers.contains_key("idempotent-replayed"),
                replay,
                "{content_type}, replay {replay}"
            );
        }
    }
}

/// A request that does not decode is the caller's error, INVALID_ARGUMENT,
/// as the contract says — not tonic's INTERNAL.
#[tokio::test]
async fn an_undecodable_request_is_invalid_argument() {
    let server = TestServer::start().await;
    // SetValueRequest { key: bytes ff fe (not UTF-8), value: 1 }.
    let invalid_utf8 = [0x0a, 0x02, 0xff, 0xfe, 0x11, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f];
    let mut framed = vec![0u8];
    framed.extend_from_slice(&(invalid_utf8.len() as u32).to_be_bytes());
    framed.extend_from_slice(&invalid_utf8);
    for key in [None, Some("utf8")] {
        let extra: Vec<(&str, &str)> = key.map(|k| ("idempotency-key", k)).into_iter().collect();
        let reply = post_with(
            &server,
            "/calculator.v1.Store/SetValue",
            "application/grpc-web+proto",
            framed.clone(),
            &extra,
        )
        .await;
        assert_eq!(reply.grpc_status().as_deref(), Some("3"), "key {key:?}");
        assert!(
            reply
                .grpc_message()
                .contains("not a valid protobuf message"),
            "{}",
            reply.grpc_message()
        );
    }
}

/// An unknown method is UNIMPLEMENTED (12), as gRPC specifies.
#[tokio::test]
async fn unknown_method_is_unimplemented() {
    let server = TestServer::start().await;
    let session = [("x-lab-session", "unknown-methods")];
    for method in ["Power", "Power2", "Root"] {
        let reply = post_with(
            &server,
            &format!("/calculator.v1.Calculator/{method}"),
            "application/grpc-web+proto",
            frame(&BinaryOperation { a: 1.0, b: 2.0 }),
            &session,
        )
        .await;
        assert_eq!(reply.grpc_status().as_deref(), Some("12"));
    }
    // Nothing ran, so nothing is counted (and invented names cannot grow the
    // session's table of counts). The same for REST paths and verbs that
    // name no operation.
    for (verb, path) in [
        ("GET", "/api/v1/nothing/here"),
        ("DELETE", "/api/v1/accounts/a/deposit"),
    ] {
        let reply = server.rest(verb, path, &session, None).await;
        assert!(reply.status == 404 || reply.status == 405, "{verb} {path}");
    }
    let stats = server.clients().await.stats("unknown-methods").await;
    assert!(stats.executions.is_empty(), "{:?}", stats.executions);
}

/// The standard health service reports the server, and the calculator, as SERVING.
#[tokio::test]
async fn health_reports_serving() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

    let server = TestServer::start().await;
    let mut health = HealthClient::new(server.channel().await);
    for service in ["", "calculator.v1.Calculator"] {
        let reply = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap_or_else(|status| panic!("health of {service:?}: {status}"));
        assert_eq!(
            reply.into_inner().status(),
            ServingStatus::Serving,
            "service {service:?}"
        );
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "no.Such".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
}

/// Server reflection lists the lab's services, as grpcurl's `list` needs.
#[tokio::test]
async fn reflection_lists_the_services() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let server = TestServer::start().await;
    let mut reflection = ServerReflectionClient::new(server.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut replies = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let reply = replies.message().await.unwrap().expect("one reply");
    let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
        panic!("expected a service list, got {:?}", reply.message_response);
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    for expected in ["calculator.v1.Calculator", "grpc.health.v1.Health"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
}
