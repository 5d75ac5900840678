//! Unary gRPC-Web replies leave the server whole: one body, with a
//! `content-length`, so that every hop forwards them in one write.
//!
//! # Why: Nagle's algorithm meets delayed ACK
//!
//! A gRPC-Web reply body is two frames: the message, then the status
//! (`grpc-status`, which native gRPC sends as HTTP/2 trailers and gRPC-Web
//! as a last frame of the body). `tonic_web` produces them one after the
//! other, and hyper, not knowing the length, sends them with chunked
//! encoding. Our own socket has `TCP_NODELAY` (see `serve_app`), so that
//! alone costs nothing. But `./lab run` puts Trunk's proxy between the page
//! and the server, and a proxy that copies a streamed body copies it chunk
//! by chunk: it writes the headers and the message, then, a moment later,
//! the status frame (and the chunked encoding's `0\r\n\r\n` end mark).
//! Trunk's socket to the browser does not set `TCP_NODELAY`, so Nagle's
//! algorithm applies: a small segment may not leave while an earlier one is
//! unacknowledged. The browser, meanwhile, delays its ACK — up to 40 ms on
//! Linux — hoping to piggyback it on data of its own, which it has none of
//! until the reply is complete. Each side waits for the other, and a 1 ms
//! call takes 44 ms. A REST reply is one JSON body with a length, forwarded
//! in one write, so it never stalls; a lesson comparing the two would then
//! "show" gRPC-Web eight times slower than REST, which is false.
//!
//! The cure here is at the cause: a unary reply is complete the moment the
//! handler returns, so this layer gathers the body and sends it as one
//! buffer with its length. A proxy then reads, and writes, the reply in one
//! piece, and there is no second small write for Nagle to hold back. (A
//! production proxy such as Envoy sets `TCP_NODELAY` itself; a server cannot
//! count on every proxy doing so.)
//!
//! # Only unary methods
//!
//! A server-streaming method must not be gathered: its messages are meant
//! to arrive as they are produced, and the body may never end (`Health/Watch`
//! waits for changes forever). Which methods are unary is written in the
//! `.proto` files, so [`UnaryMethods`] reads it from their compiled
//! descriptors: a method is gathered only if it streams in neither
//! direction. A method the descriptors do not list (or a new streaming one)
//! passes through untouched, so the safe behaviour is the default.
//!
//! The layer stands *outside* `tonic_web::GrpcWebLayer`: only after that
//! translation is the status a frame of the body that can be sent along
//! with the message. It handles binary (`application/grpc-web+proto`) and
//! text (`application/grpc-web-text`, base64) replies alike; a reply whose
//! status travels in its headers (an error, "trailers-only") gets an empty
//! body with `content-length: 0`. REST replies and everything else never
//! reach this layer.

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderValue};
use http_body_util::BodyExt;
use prost_types::FileDescriptorSet;

/// The content types of every gRPC-Web reply, binary or text.
const GRPC_WEB: &str = "application/grpc-web";

/// The request paths (`/package.Service/Method`) of the unary methods.
#[derive(Clone, Debug, Default)]
pub struct UnaryMethods(Arc<HashSet<String>>);

impl UnaryMethods {
    /// The unary methods of the services this server offers over gRPC-Web:
    /// the lab's own (calculator, store, account, lab) and health.
    /// Reflection is all streaming and not included.
    pub fn of_the_lab() -> Result<UnaryMethods, prost::DecodeError> {
        UnaryMethods::from_descriptor_sets(&[
            rpc_lab::proto::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
        ])
    }

    /// The methods that stream in neither direction, from encoded
    /// `FileDescriptorSet`s (what `protoc --descriptor_set_out` writes).
    pub fn from_descriptor_sets(sets: &[&[u8]]) -> Result<UnaryMethods, prost::DecodeError> {
        let mut paths = HashSet::new();
        for set in sets {
            for file in <FileDescriptorSet as prost::Message>::decode(*set)?.file {
                let package = file.package();
                for service in &file.service {
                    // The HTTP path of a gRPC method: /package.Service/Method.
                    let service_name = match package {
                        "" => service.name().to_owned(),
                        package => format!("{package}.{}", service.name()),
                    };
                    for method in &service.method {
                        if !method.client_streaming() && !method.server_streaming() {
                            paths.insert(format!("/{service_name}/{}", method.name()));
                        }
                    }
                }
            }
        }
        Ok(UnaryMethods(Arc::new(paths)))
    }

    /// Whether `path` names a unary method.
    pub fn contains(&self, path: &str) -> bool {
        self.0.contains(path)
    }
}

/// Whether a reply's headers say it is gRPC-Web (binary or text).
fn is_grpc_web(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with(GRPC_WEB))
}

/// The middleware: gathers the gRPC-Web reply of a unary call and sends it
/// as one body with a `content-length`; any other reply passes unchanged.
pub async fn gather(State(unary): State<UnaryMethods>, request: Request, next: Next) -> Response {
    let unary_call = unary.contains(request.uri().path());
    let response = next.run(request).await;
    if !unary_call || !is_grpc_web(response.headers()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // Waiting for the end of the body costs nothing here: a unary handler
    // has already produced its one message and its status.
    let collected = match body.collect().await {
        Ok(collected) => collected,
        Err(error) => {
            // The reply broke while being produced. Pass the break on, as
            // streaming it would have: the client sees a failed call.
            tracing::warn!(%error, "a unary gRPC-Web reply failed while being gathered");
            let broken = futures_util::stream::once(async move { Err::<bytes::Bytes, _>(error) });
            return Response::from_parts(parts, Body::from_stream(broken));
        }
    };
    if collected.trailers().is_some() {
        // tonic-web puts the status into the body, so a gRPC-Web reply has
        // no HTTP trailers. Should one ever have them, keep them: send the
        // gathered body as it was, frames and trailers, without a length.
        return Response::from_parts(parts, Body::new(collected));
    }
    let bytes = collected.to_bytes();
    parts.headers.remove(TRANSFER_ENCODING);
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lab_methods_are_unary_and_watch_is_not() {
        let unary = UnaryMethods::of_the_lab().expect("the compiled descriptors decode");
        for path in [
            "/calculator.v1.Calculator/Add",
            "/calculator.v1.Calculator/Divide",
            "/calculator.v1.Store/Increment",
            "/calculator.v1.Account/Withdraw",
            "/grpc.health.v1.Health/Check",
        ] {
            assert!(unary.contains(path), "{path} is unary");
        }
        // Server streaming: a change of health is sent when it happens.
        assert!(!unary.contains("/grpc.health.v1.Health/Watch"));
        // Not a method at all, or not one of ours: left alone.
        assert!(!unary.contains("/calculator.v1.Calculator/Nope"));
        assert!(!unary.contains("/api/v1/calculator/add"));
        assert!(!unary.contains("calculator.v1.Calculator/Add"));
    }

    #[test]
    fn grpc_web_replies_are_recognised_by_content_type() {
        let with = |content_type: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            is_grpc_web(&headers)
        };
        assert!(with("application/grpc-web+proto"));
        assert!(with("application/grpc-web-text+proto"));
        assert!(with("application/grpc-web"));
        assert!(!with("application/grpc"));
        assert!(!with("application/json"));
        assert!(!is_grpc_web(&HeaderMap::new()));
    }
}
