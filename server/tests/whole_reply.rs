//! A unary gRPC-Web reply leaves the server in one piece, with its length,
//! so a proxy in front of the server (Trunk's, under `./lab run`) forwards
//! it in one write and Nagle's algorithm has no second write to hold back.
//! Error replies stay well-formed, and a streaming reply still streams.
//! (Why this matters: `server/src/transport/whole_reply.rs`.)

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use common::{
    TestServer, grpc_frame as frame, grpc_web_frames as frames, grpc_web_text_decode as decode_text,
};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{Method, Request, StatusCode};
use http_body::Body as _;
use http_body_util::{BodyExt, Full};
use prost::Message;
use rpc_lab::proto::{BinaryOperation, Number};
use rpc_lab_server::config::Config;
use rpc_lab_server::{Layers, app};
use tower::Service;

const ADD: &str = "/calculator.v1.Calculator/Add";
const DIVIDE: &str = "/calculator.v1.Calculator/Divide";
const BINARY: &str = "application/grpc-web+proto";
const TEXT: &str = "application/grpc-web-text+proto";

/// A gRPC-Web request for `path`, body encoded as `content_type` asks.
fn grpc_web_request(uri: String, content_type: &str, framed: Vec<u8>) -> Request<Full<Bytes>> {
    let body = if content_type == TEXT {
        BASE64.encode(&framed).into_bytes()
    } else {
        framed
    };
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(CONTENT_TYPE, content_type)
        .header("accept", content_type)
        .header("x-grpc-web", "1")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

/// Over a socket: the reply carries `content-length`, not chunked encoding,
/// and the body is exactly that long: the message frame and the status frame.
#[tokio::test]
async fn a_unary_reply_has_a_content_length_and_both_frames() {
    let server = TestServer::start().await;
    for content_type in [BINARY, TEXT] {
        let request = grpc_web_request(
            format!("{}{ADD}", server.url()),
            content_type,
            frame(&BinaryOperation { a: 40.0, b: 2.0 }),
        );
        let response = server.http1().request(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert!(
            !headers.contains_key(TRANSFER_ENCODING),
            "{content_type}: no chunked encoding, so no separate end-of-body mark"
        );
        let length: usize = headers[CONTENT_LENGTH].to_str().unwrap().parse().unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            body.len(),
            length,
            "{content_type}: the length is the body's"
        );
        let body = if content_type == TEXT {
            decode_text(&body)
        } else {
            body.to_vec()
        };
        let (messages, trailers) = frames(&body);
        assert_eq!(messages.len(), 1, "{content_type}");
        assert_eq!(Number::decode(messages[0].clone()).unwrap().value, 42.0);
        assert!(
            trailers.contains("grpc-status:0"),
            "{content_type}: the status rides in the same body: {trailers:?}"
        );
    }
}

/// What a proxy sees when it copies the body: the first piece it can read is
/// already the whole reply, and then the body ends. (Before this layer the
/// first piece was the message alone and the status frame came second.)
#[tokio::test]
async fn a_unary_reply_is_ready_in_one_piece() {
    let (app, _) = app(&Config::default(), Layers::All).await.unwrap();
    for content_type in [BINARY, TEXT] {
        let request = grpc_web_request(
            ADD.to_owned(),
            content_type,
            frame(&BinaryOperation { a: 1.0, b: 2.0 }),
        );
        // A router is always ready, so it can be called without `poll_ready`.
        let response = app
            .clone()
            .call(request.map(axum::body::Body::new))
            .await
            .unwrap();
        let mut body = response.into_body();
        let first = body
            .frame()
            .await
            .expect("a body")
            .unwrap()
            .into_data()
            .expect("data");
        let first = if content_type == TEXT {
            decode_text(&first)
        } else {
            first.to_vec()
        };
        let (messages, trailers) = frames(&first);
        assert_eq!(
            messages.len(),
            1,
            "{content_type}: the message is in the first piece"
        );
        assert!(
            trailers.contains("grpc-status:0"),
            "{content_type}: and so is the status: {trailers:?}"
        );
        assert!(
            body.frame().await.is_none(),
            "{content_type}: nothing follows"
        );
    }
}

/// An error is still a well-formed gRPC-Web reply: the status and message
/// are where a client looks for them, and the length matches the body.
#[tokio::test]
async fn an_error_reply_stays_well_formed() {
    let server = TestServer::start().await;
    // One refused by the handler, one refused by an injected fault before it.
    for (path, fault, code) in [
        (DIVIDE, None, "3"),
        (ADD, Some(("x-fault-fail", "1")), "14"),
    ] {
        let mut request = grpc_web_request(
            format!("{}{path}", server.url()),
            BINARY,
            frame(&BinaryOperation { a: 1.0, b: 0.0 }),
        );
        if let Some((name, value)) = fault {
            request.headers_mut().insert(name, value.parse().unwrap());
        }
        let response = server.http1().request(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers().clone();
        assert!(!headers.contains_key(TRANSFER_ENCODING), "{path}");
        let length: usize = headers[CONTENT_LENGTH].to_str().unwrap().parse().unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body.len(), length, "{path}");
        let (messages, trailers) = frames(&body);
        assert!(messages.is_empty(), "{path}: no message with an error");
        // "Trailers-only": the status in the headers and an empty body; or,
        // equally valid, a status frame in the body.
        let status = headers
            .get("grpc-status")
            .map(|v| v.to_str().unwrap().to_owned())
            .or_else(|| {
                trailers
                    .lines()
                    .find_map(|l| l.strip_prefix("grpc-status:"))
                    .map(|v| v.trim().to_owned())
            });
        assert_eq!(status.as_deref(), Some(code), "{path}");
        let has_message =
            headers.contains_key("grpc-message") || trailers.contains("grpc-message:");
        assert!(has_message, "{path}: the reason travels with the status");
    }
}

/// A server-streaming method is not gathered: `Health/Watch` sends the
/// current status at once and then waits for changes, so a layer that waited
/// for the end of its body would never answer.
#[tokio::test]
async fn a_streaming_reply_still_streams() {
    let (app, _) = app(&Config::default(), Layers::All).await.unwrap();
    let request = grpc_web_request(
        "/grpc.health.v1.Health/Watch".to_owned(),
        BINARY,
        // HealthCheckRequest { service: "" }: the server as a whole.
        vec![0, 0, 0, 0, 0],
    );
    let response = app
        .clone()
        .call(request.map(axum::body::Body::new))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(!response.headers().contains_key(CONTENT_LENGTH));
    let mut body = response.into_body();
    // Not a timing assertion: the first message is sent at once; the bound
    // only turns "would wait forever" into a failure.
    let first = tokio::time::timeout(Duration::from_secs(10), body.frame())
        .await
        .expect("the first message arrives while the stream stays open")
        .expect("a frame")
        .unwrap()
        .into_data()
        .expect("data");
    let (messages, trailers) = frames(&first);
    assert_eq!(messages.len(), 1);
    assert!(trailers.is_empty(), "the stream has not ended");
    assert!(!body.is_end_stream());
}
