//! The lab serving its own page (`--page DIR`), over real sockets: each
//! browser gets the best compressed form it accepts, with the headers a
//! browser needs; only the page's files are ever served; and every call the
//! lab answered before still reaches it, directly or under the page's `/rpc`.
//!
//! The page here is a few fixture files in a temporary directory, not a real
//! Trunk build (the browser test `e2e/tests/page.test.mjs` uses that).

mod common;

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use common::{TestServer, grpc_frame, grpc_request, grpc_web_frames, raw_h2, send_raw};
use http_body_util::{BodyExt, Full};
use rpc_lab::proto::calculator_v1::{BinaryOperation, Number};
use rpc_lab_server::config::Config;
use rpc_lab_server::page::{self, Page};
use rpc_lab_server::{Layers, app};

/// A page directory that is removed when dropped, with a file beside it
/// (outside the page) that no request may reach.
struct Fixture {
    root: PathBuf,
}

const INDEX: &str = "index.html";
const WASM: &str = "rpc-lab-web-0123456789abcdef_bg.wasm";
const JS: &str = "rpc-lab-web-0123456789abcdef.js";
const CSS: &str = "style-fedcba9876543210.css";

impl Fixture {
    fn new() -> Fixture {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let root = std::env::temp_dir().join(format!(
            "rpc-lab-page-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let page = root.join("page");
        std::fs::create_dir_all(page.join("assets")).unwrap();
        let write = |name: &str, bytes: Vec<u8>| std::fs::write(page.join(name), bytes).unwrap();
        write(
            INDEX,
            format!(
                "<!doctype html><title>lab</title>{}",
                "<p>a page that compresses well</p>\n".repeat(100)
            )
            .into_bytes(),
        );
        // Bytes that look like a module: a header, then repetitive code.
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend((0..20_000u32).map(|i| (i % 251) as u8 ^ (i / 997) as u8));
        write(WASM, wasm);
        write(
            JS,
            "export function init() { return 1; }\n"
                .repeat(50)
                .into_bytes(),
        );
        write(CSS, "body { margin: 0 }\n".repeat(50).into_bytes());
        write(".hidden", b"not part of the page".to_vec());
        std::fs::write(page.join("assets").join("secret.txt"), b"not served").unwrap();
        std::fs::write(root.join("outside.txt"), b"outside the page").unwrap();
        Fixture { root }
    }

    fn page_dir(&self) -> PathBuf {
        self.root.join("page")
    }

    fn file(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.page_dir().join(name)).unwrap()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The lab with the fixture page in front, compressed before it starts, so
/// every form is ready from the first request.
async fn serve_compressed(fixture: &Fixture) -> TestServer {
    let config = Config {
        seed: Some(1),
        ..Config::default()
    };
    let (api, _) = app(&config, Layers::All).await.unwrap();
    let page = Page::load(&fixture.page_dir()).unwrap();
    page.compress();
    TestServer::serve_router(page::front(api, Arc::new(page))).await
}

/// A whole HTTP/1.1 reply.
struct Reply {
    status: http::StatusCode,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// The body decoded as its `Content-Encoding` says.
    fn decoded(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self.header("content-encoding") {
            None => out.extend_from_slice(&self.body),
            Some("gzip") => {
                flate2::read::GzDecoder::new(&self.body[..])
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Some("br") => {
                brotli::Decompressor::new(&self.body[..], 4096)
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Some(other) => panic!("unexpected content-encoding {other}"),
        }
        out
    }
}

async fn send(
    server: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", server.url()));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::copy_from_slice(body)))
        .unwrap();
    let response = server.http1().request(request).await.expect("a reply");
    let (parts, body) = response.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

async fn get(server: &TestServer, path: &str, accept_encoding: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = accept_encoding
        .map(|value| ("accept-encoding", value))
        .into_iter()
        .collect();
    send(server, "GET", path, &headers, b"").await
}

/// Each browser gets the best form it accepts, and every form decodes back
/// to the file on disk.
#[tokio::test]
async fn encoding_follows_accept_encoding() {
    let fixture = Fixture::new();
    let server = serve_compressed(&fixture).await;
    for (accept, expected) in [
        (Some("gzip, deflate, br, zstd"), Some("br")), // Chromium, trustworthy origin
        (Some("gzip, deflate"), Some("gzip")),         // Chromium over plain http to a LAN address
        (Some("br;q=0, gzip"), Some("gzip")),
        (Some("br;q=0.5, gzip;q=0.9"), Some("gzip")),
        (Some("gzip;q=0, br;q=0"), None),
        (Some("identity"), None),
        (None, None),
    ] {
        for name in [INDEX, WASM, JS, CSS] {
            let reply = get(&server, &format!("/{name}"), accept).await;
            assert_eq!(reply.status, 200, "{name}");
            assert_eq!(
                reply.header("content-encoding"),
                expected,
                "{name} with accept-encoding {accept:?}"
            );
            assert_eq!(reply.decoded(), fixture.file(name), "{name} {accept:?}");
            assert_eq!(
                reply.header("content-length"),
                Some(reply.body.len().to_string().as_str()),
                "{name}"
            );
            assert_eq!(reply.header("vary"), Some("accept-encoding"));
        }
    }
    // Compressed forms really are smaller, brotli smallest.
    let identity = get(&server, &format!("/{WASM}"), None).await.body.len();
    let gzip = get(&server, &format!("/{WASM}"), Some("gzip"))
        .await
        .body
        .len();
    let brotli = get(&server, &format!("/{WASM}"), Some("br"))
        .await
        .body
        .len();
    assert!(
        brotli < gzip && gzip < identity,
        "{brotli} {gzip} {identity}"
    );
}

/// The headers a browser needs: the WebAssembly type (for streaming
/// compilation), text types, and caching by whether the name is hashed.
#[tokio::test]
async fn content_types_and_caching() {
    let fixture = Fixture::new();
    let server = serve_compressed(&fixture).await;
    let immutable = "public, max-age=31536000, immutable";
    for (path, content_type, cache) in [
        ("/", "text/html; charset=utf-8", "no-cache"),
        ("/index.html", "text/html; charset=utf-8", "no-cache"),
        (&format!("/{WASM}") as &str, "application/wasm", immutable),
        (
            &format!("/{JS}"),
            "text/javascript; charset=utf-8",
            immutable,
        ),
        (&format!("/{CSS}"), "text/css; charset=utf-8", immutable),
    ] {
        let reply = get(&server, path, Some("gzip, br")).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.header("content-type"), Some(content_type), "{path}");
        assert_eq!(reply.header("cache-control"), Some(cache), "{path}");
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        // How the page knows no proxy stands between it and the lab server.
        assert_eq!(
            reply.header("server-timing"),
            Some("rpc-lab;desc=\"served by the lab server\""),
            "{path}"
        );
    }
    assert_eq!(get(&server, "/", None).await.body, fixture.file(INDEX));
}

/// HEAD says what GET would send, without the body.
#[tokio::test]
async fn head_matches_get() {
    let fixture = Fixture::new();
    let server = serve_compressed(&fixture).await;
    let path = format!("/{WASM}");
    let full = send(&server, "GET", &path, &[("accept-encoding", "br")], b"").await;
    let head = send(&server, "HEAD", &path, &[("accept-encoding", "br")], b"").await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    for name in [
        "content-type",
        "content-encoding",
        "content-length",
        "cache-control",
    ] {
        assert_eq!(head.header(name), full.header(name), "{name}");
    }
    assert_eq!(
        head.header("content-length"),
        Some(full.body.len().to_string().as_str())
    );
}

/// Only the files in the page's directory at start-up: no fallback to the
/// index, nothing in a subdirectory or hidden, nothing outside it however the
/// path is spelled.
#[tokio::test]
async fn only_the_pages_files_are_served() {
    let fixture = Fixture::new();
    let server = serve_compressed(&fixture).await;
    for path in [
        "/nothing",
        "/nothing.html",
        "/index.htm",
        "/index.html/",
        "//index.html",
        "/.hidden",
        "/assets/secret.txt",
        "/assets%2fsecret.txt",
        "/../outside.txt",
        "/%2e%2e/outside.txt",
        "/%2E%2E%2Foutside.txt",
        "/..%2foutside.txt",
        "/..%5coutside.txt",
        "/page/../outside.txt",
        "/%00",
        "/%ff",
    ] {
        for method in ["GET", "HEAD"] {
            let reply = send(&server, method, path, &[], b"").await;
            assert_eq!(reply.status, 404, "{method} {path}");
            assert_ne!(reply.body.as_ref(), fixture.file(INDEX), "{path}");
        }
    }
    // A file added after start-up is not served either.
    std::fs::write(fixture.page_dir().join("late.js"), b"late").unwrap();
    assert_eq!(get(&server, "/late.js", None).await.status, 404);
}

/// The page is only read: other methods on its files are refused.
#[tokio::test]
async fn the_page_is_read_only() {
    let fixture = Fixture::new();
    let server = serve_compressed(&fixture).await;
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        for path in ["/", "/index.html"] {
            let reply = send(&server, method, path, &[], b"x").await;
            assert_eq!(reply.status, 405, "{method} {path}");
            assert_eq!(reply.header("allow"), Some("GET, HEAD"));
        }
    }
}

/// gRPC (HTTP/2), gRPC-Web and REST answer exactly as without a page.
#[tokio::test]
async fn every_api_still_answers_beside_the_page() {
    let fixture = Fixture::new();
    let server = serve_compressed(&fixture).await;
    let add = BinaryOperation { a: 1.0, b: 2.0 };

    let reply = server
        .grpc_web_calculator()
        .add(add)
        .await
        .expect("gRPC-Web Add");
    assert_eq!(reply.into_inner().value, 3.0);
    let reply = server
        .grpc_calculator()
        .await
        .add(add)
        .await
        .expect("gRPC Add");
    assert_eq!(reply.into_inner().value, 3.0);
    let rest = server
        .rest(
            "POST",
            "/api/v1/calculator/add",
            &[],
            Some(r#"{"a": 1, "b": 2}"#),
        )
        .await;
    assert_eq!(rest.status, 200);
    assert_eq!(rest.json["value"], 3.0);

    // The REST twin's own 404 (JSON), not the page's; gRPC's own UNIMPLEMENTED.
    let rest = server.rest("GET", "/api/v1/nothing", &[], None).await;
    assert_eq!(rest.status, 404);
    assert_eq!(rest.json["code"], "NOT_FOUND");
    let (mut h2, _connection) = raw_h2(server.addr).await;
    let unknown = send_raw(
        &mut h2,
        grpc_request("/calculator.v1.Calculator/Power", &[], grpc_frame(&add)),
    )
    .await
    .unwrap();
    assert_eq!(unknown.grpc_status().unwrap(), "12");
    // A gRPC-Web request to a page address is still gRPC's to answer.
    let reply = send(
        &server,
        "POST",
        "/index.html",
        &[("content-type", "application/grpc-web+proto")],
        &grpc_frame(&add),
    )
    .await;
    assert_ne!(reply.status, 405, "the page never takes a gRPC request");
}

/// The page calls its own origin under `/rpc` (as through `trunk serve`'s
/// proxy): the server strips the prefix and answers, and counts the call.
#[tokio::test]
async fn calls_under_rpc_reach_the_lab() {
    let fixture = Fixture::new();
    let server = serve_compressed(&fixture).await;
    let session = "page-rpc-prefix";

    // gRPC-Web, as the page sends it.
    let reply = send(
        &server,
        "POST",
        "/rpc/calculator.v1.Calculator/Add",
        &[
            ("content-type", "application/grpc-web+proto"),
            ("x-grpc-web", "1"),
            ("x-lab-session", session),
        ],
        &grpc_frame(&BinaryOperation { a: 2.0, b: 3.0 }),
    )
    .await;
    assert_eq!(reply.status, 200);
    let (messages, trailers) = grpc_web_frames(&reply.body);
    assert!(trailers.contains("grpc-status:0"), "{trailers}");
    let result: Number = prost::Message::decode(messages[0].clone()).unwrap();
    assert_eq!(result.value, 5.0);

    // REST, as the RPC-vs-REST lesson sends it.
    let rest = server
        .rest(
            "POST",
            "/rpc/api/v1/calculator/add?x=1",
            &[("x-lab-session", session)],
            Some(r#"{"a": 2, "b": 3}"#),
        )
        .await;
    assert_eq!(rest.status, 200);
    assert_eq!(rest.json["value"], 5.0);

    // Native gRPC over HTTP/2 too: the prefix is a path, not a protocol.
    let (mut h2, _connection) = raw_h2(server.addr).await;
    let reply = send_raw(
        &mut h2,
        grpc_request(
            "/rpc/calculator.v1.Calculator/Add",
            &[("x-lab-session", http::HeaderValue::from_static(session))],
            grpc_frame(&BinaryOperation { a: 2.0, b: 3.0 }),
        ),
    )
    .await
    .unwrap();
    assert_eq!(reply.grpc_status().unwrap(), "0");

    // The server's truth: each call executed once, counted under its real
    // name (two gRPC, one REST route), none under /rpc.
    let stats = server.clients().await.stats(session).await;
    assert_eq!(
        stats.executions.get("/calculator.v1.Calculator/Add"),
        Some(&2),
        "{:?}",
        stats.executions
    );
    assert_eq!(
        stats.executions.get("POST /api/v1/calculator/{operation}"),
        Some(&1),
        "{:?}",
        stats.executions
    );
    assert_eq!(stats.executions.len(), 2, "{:?}", stats.executions);

    // Only the prefix as a whole path segment is stripped; the page's files
    // are not reachable under it.
    assert_eq!(get(&server, "/rpcx/index.html", None).await.status, 404);
    assert_ne!(get(&server, "/rpc/index.html", None).await.status, 200);
}

/// `--page` through the flags: the server answers at once, then compresses in
/// the background; until then a file goes out as it is, never wrong.
#[tokio::test]
async fn the_flag_serves_the_page_and_compresses_it_in_the_background() {
    let fixture = Fixture::new();
    let server = TestServer::start_with(Config {
        seed: Some(1),
        page: Some(fixture.page_dir()),
        ..Config::default()
    })
    .await;
    let path = format!("/{WASM}");
    let first = get(&server, &path, Some("br, gzip")).await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.decoded(),
        fixture.file(WASM),
        "whatever form is ready"
    );
    // Wait for the compressor thread by asking, as a browser would: it is
    // done when brotli comes back. (A deadline, not a sleep, decides failure.)
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let reply = get(&server, &path, Some("br, gzip")).await;
        assert_eq!(reply.decoded(), fixture.file(WASM));
        if reply.header("content-encoding") == Some("br") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the page was not compressed within 120 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let reply = server
        .grpc_web_calculator()
        .add(BinaryOperation { a: 1.0, b: 2.0 })
        .await
        .expect("gRPC-Web beside the page");
    assert_eq!(reply.into_inner().value, 3.0);
}

/// A page directory that is missing, or not a build, stops the server from
/// starting, with a message that says what to do.
#[tokio::test]
async fn a_bad_page_directory_is_a_clear_error() {
    let fixture = Fixture::new();
    let missing = fixture.root.join("no-such-dir");
    let no_index = fixture.page_dir().join("assets");
    for (dir, words) in [
        (missing.as_path(), "cannot read the page directory"),
        (no_index.as_path(), "trunk build --release --offline --dist"),
    ] {
        let config = Config {
            page: Some(dir.to_owned()),
            ..Config::default()
        };
        let Err(error) = app(&config, Layers::All).await else {
            panic!("the server started with --page {}", dir.display());
        };
        let message = error.to_string();
        assert!(message.contains(words), "{message}");
        assert!(message.contains(&dir.display().to_string()), "{message}");
    }
}
