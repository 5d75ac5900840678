//! The lab serves its own page (`--page DIR`).
//!
//! Picture a class: thirty laptops on one Wi-Fi, each opening the teacher's
//! lab. `trunk serve` is a developer's tool — it sends the 0.9 MB WebAssembly
//! module uncompressed, every time, and it is one more program to install
//! and keep running. With `--page DIR` (a `trunk build --release` output) the
//! lab server itself serves the page, on the port that answers the calls:
//!
//! - **one address**: students open `http://TEACHER:8080/` and the page calls
//!   the server on that same origin — no proxy, no CORS, nothing else to run;
//! - **compressed once, for everyone**: every file is read at start-up and
//!   kept in memory as it is, gzipped and brotli-compressed ([`files`]); each
//!   browser gets the best form it accepts ([`encoding`]). The whole page
//!   goes from 1.0 MB to 0.37 MB gzipped (0.30 MB with brotli): thirty
//!   students download 11 MB over the Wi-Fi instead of 30 MB. (Over plain
//!   http to a LAN address, Chrome accepts gzip but not brotli.) On DevTools'
//!   "Slow 4G" profile that is 3.5 s to a working page instead of 7.0 s
//!   (`e2e/bench/page-load.mjs`);
//! - **cached right**: Trunk's files carry a content hash in their name and
//!   are cached for a year; `index.html` is checked on every load, so a new
//!   build reaches the class at the next reload.
//!
//! Who answers what ([`front`]), in this order:
//!
//! 1. `/rpc/...`: the page calls its own origin under [`RPC_PREFIX`], which
//!    `trunk serve`'s proxy strips (`Trunk.toml`); here the server strips it
//!    and routes the rest as any call. So one page build works both ways.
//! 2. gRPC (any `application/grpc*` request) and the REST twin (under
//!    `/api/v1`): the lab's routes, exactly as without `--page`. The page can
//!    never shadow them.
//! 3. The page's files (`/` is `index.html`): `GET` and `HEAD`; any other
//!    method is `405 Method Not Allowed`.
//! 4. Any other `GET` or `HEAD`: `404 Not Found`. There is no fallback to
//!    `index.html`: the page has one address, and a mistyped one should say so.
//! 5. Anything else: the lab's routes, as without `--page`.
//!
//! A production site would put a CDN or nginx in front; for a lab on one
//! laptop, one process that does it all is the simpler thing to run.

pub mod encoding;
pub mod files;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use http::header::{
    ACCEPT_ENCODING, ALLOW, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, VARY,
    X_CONTENT_TYPE_OPTIONS,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use tower::ServiceExt;

pub use files::{Page, PageFile};

/// The path under which the page calls the server on its own origin. Must be
/// the page's `PROXY_PREFIX` (`web/src/server_url.rs`) and the `[[proxy]]`
/// rewrite in `Trunk.toml`; the browser test of `--page` checks they agree.
pub const RPC_PREFIX: &str = "/rpc";

/// On every file of the page: tells the page that the lab server served it
/// and answers its calls itself, with no proxy in between, so the page can
/// say so truthfully. The page reads it from its navigation's timing entry;
/// the name must be `LAB_SERVER_TIMING` in `web/src/server_url.rs`.
pub const SERVER_TIMING: &str = "rpc-lab;desc=\"served by the lab server\"";

/// The lab's routes (`api`) with the page in front of them, as described in
/// the module documentation.
pub fn front(api: Router, page: Arc<Page>) -> Router {
    Router::new()
        .fallback(answer)
        .with_state(Front { api, page })
}

#[derive(Clone)]
struct Front {
    api: Router,
    page: Arc<Page>,
}

/// Who answers a request.
#[derive(Debug, PartialEq)]
enum Route {
    /// The lab's routes, with this URI (the `/rpc` prefix stripped, if any).
    Api(Option<Uri>),
    /// The page's file at this address.
    File(String),
    /// A `GET` or `HEAD` of an address the page does not have.
    NotFound,
}

async fn answer(State(front): State<Front>, mut request: Request) -> Response {
    match route(&request, &front.page) {
        Route::Api(uri) => {
            if let Some(uri) = uri {
                *request.uri_mut() = uri;
            }
            let Ok(response) = front.api.oneshot(request).await;
            response
        }
        Route::File(path) => match front.page.get(&path) {
            Some(file) => serve(file, request.method(), request.headers()),
            None => not_found(),
        },
        Route::NotFound => not_found(),
    }
}

/// The decision, apart from the answering (see the module documentation).
fn route(request: &Request, page: &Page) -> Route {
    let path = request.uri().path();
    // `/rpc` and `/rpc/...`, but not `/rpcx`.
    let under_rpc = path
        .strip_prefix(RPC_PREFIX)
        .filter(|rest| rest.is_empty() || rest.starts_with('/'));
    if let Some(rest) = under_rpc {
        return Route::Api(Some(without_prefix(request.uri(), rest)));
    }
    let grpc = request
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/grpc"));
    let rest_twin = path == crate::rest::PREFIX
        || path
            .strip_prefix(crate::rest::PREFIX)
            .is_some_and(|rest| rest.starts_with('/'));
    if grpc || rest_twin {
        return Route::Api(None);
    }
    let reading = request.method() == Method::GET || request.method() == Method::HEAD;
    if page.get(path).is_some() {
        Route::File(path.to_owned())
    } else if reading {
        Route::NotFound
    } else {
        Route::Api(None)
    }
}

/// `uri` with its path replaced by `path` (what followed the prefix), the
/// query kept.
fn without_prefix(uri: &Uri, path: &str) -> Uri {
    let path = if path.is_empty() { "/" } else { path };
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    // A suffix of a valid path, with a valid query, is a valid path and query.
    parts.path_and_query = path_and_query.parse().ok();
    Uri::from_parts(parts).unwrap_or_else(|_| uri.clone())
}

/// One of the page's files, in the best form the client accepts.
fn serve(file: &PageFile, method: &Method, headers: &HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut response = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "the page is only read: use GET or HEAD\n",
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    // A client may send the header more than once; the values add up.
    let accepted: Vec<&str> = headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    let accept = (!accepted.is_empty()).then(|| accepted.join(","));
    let encoding = encoding::choose(accept.as_deref(), &file.available());
    // `choose` picks only a form that is ready; identity always is.
    let bytes = file.bytes(encoding).unwrap_or(file.identity()).clone();

    let mut response = Response::new(if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(bytes.clone())
    });
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(file.content_type));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(file.cache_control));
    // The same address has several forms: a cache must key on the header.
    headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert("server-timing", HeaderValue::from_static(SERVER_TIMING));
    if let Some(coding) = encoding.content_coding() {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    response
}

fn not_found() -> Response {
    plain(
        StatusCode::NOT_FOUND,
        "no such file in the lab's page; the lab is at /\n",
    )
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rpc_prefix_is_stripped_and_the_query_kept() {
        let uri: Uri = "/rpc/calculator.v1.Calculator/Add?x=1".parse().unwrap();
        let rest = uri.path().strip_prefix(RPC_PREFIX).unwrap();
        assert_eq!(
            without_prefix(&uri, rest),
            "/calculator.v1.Calculator/Add?x=1"
        );
        let uri: Uri = "http://lab:8080/rpc".parse().unwrap();
        assert_eq!(without_prefix(&uri, ""), "http://lab:8080/");
    }
}
