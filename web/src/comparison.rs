//! The RPC-vs-REST lesson's measurement: the same `add(a, b)`, N times, over
//! gRPC-Web (the generated client) and over the REST twin (`fetch` and
//! JSON), timed in the browser.
//!
//! Request sizes are computed (the page builds the bodies); response sizes
//! come from the browser's Resource Timing API: `encodedBodySize` (the body
//! as it came over the wire) and `transferSize` (body plus response
//! headers). Request headers are not exposed to pages at all. A server on
//! another origin must send `timing-allow-origin` for the sizes to be
//! readable; the lab's server does.
//!
//! Which way the calls went matters as much as the protocol: through Trunk's
//! proxy on the page's own origin (the default) every call takes one more
//! hop, and a proxy can add delays of its own — the lab once showed
//! gRPC-Web at 48 ms against REST's 6 ms only because Trunk's proxy held
//! back the end of each gRPC-Web reply (see the server's `whole_reply`).
//! So each run records its [`Route`], and the page shows it.

use std::cell::{Cell, RefCell};

use prost::Message;
use rpc_lab::headers::LAB_SESSION;
use rpc_lab::number_format::shortest;
use rpc_lab::proto::{BinaryOperation, Number};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, PerformanceResourceTiming, Request, RequestInit, Response};

use crate::server_url::PageHost;
use crate::{browser, session, wire};

/// Which protocol a run used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    GrpcWeb,
    Rest,
}

impl Protocol {
    pub fn label(self) -> &'static str {
        match self {
            Protocol::GrpcWeb => "gRPC-Web",
            Protocol::Rest => "REST/JSON",
        }
    }

    /// The path that identifies this protocol's requests in Resource Timing.
    fn path(self) -> &'static str {
        match self {
            Protocol::GrpcWeb => "/calculator.v1.Calculator/Add",
            Protocol::Rest => "/api/v1/calculator/add",
        }
    }
}

/// The way a run's calls travelled from the page to the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Same origin, under `prefix`: through `trunk serve`'s proxy to the lab
    /// server, or straight to the lab server when it served the page itself.
    SameOrigin {
        origin: String,
        prefix: String,
        host: PageHost,
    },
    /// Cross-origin: straight to the server named by `?server=`.
    Direct { server: String },
}

impl Route {
    /// The route of calls to `base_url` from a page at `page_origin`
    /// (`location.origin`, as `http://127.0.0.1:8080`), served by `host`.
    pub fn of(base_url: &str, page_origin: &str, host: PageHost) -> Route {
        let origin = page_origin.trim_end_matches('/');
        match base_url.strip_prefix(origin) {
            // The prefix must end the origin: http://host:80 is not http://host:8080.
            Some(prefix)
                if !origin.is_empty() && (prefix.is_empty() || prefix.starts_with('/')) =>
            {
                Route::SameOrigin {
                    origin: origin.to_owned(),
                    prefix: prefix.to_owned(),
                    host,
                }
            }
            _ => Route::Direct {
                server: base_url.to_owned(),
            },
        }
    }

    /// `proxy`, `lab-server` or `direct`, for a `data-route` attribute.
    pub fn kind(&self) -> &'static str {
        match self {
            Route::SameOrigin {
                host: PageHost::Trunk,
                ..
            } => "proxy",
            Route::SameOrigin {
                host: PageHost::LabServer,
                ..
            } => "lab-server",
            Route::Direct { .. } => "direct",
        }
    }

    /// One sentence for the student.
    pub fn describe(&self) -> String {
        match self {
            Route::SameOrigin {
                origin,
                prefix,
                host: PageHost::Trunk,
            } => format!(
                "Both went through Trunk's proxy at {} on this page's origin ({origin}), \
                 which forwards them to the lab server: one extra hop for each protocol.",
                if prefix.is_empty() { "/" } else { prefix }
            ),
            Route::SameOrigin {
                origin,
                prefix,
                host: PageHost::LabServer,
            } => format!(
                "Both went to {} on this page's origin ({origin}): the lab server serves \
                 this page and answers the calls itself, with no proxy in between.",
                if prefix.is_empty() { "/" } else { prefix }
            ),
            Route::Direct { server } => format!(
                "Both went straight to {server} (cross-origin, chosen with ?server=): \
                 no proxy in between, and the server's CORS rules apply."
            ),
        }
    }
}

/// One finished run.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub protocol: Protocol,
    /// How the calls reached the server.
    pub route: Route,
    /// Latency of every call, in milliseconds.
    pub latencies: Vec<f64>,
    pub errors: usize,
    pub elapsed_ms: f64,
    /// Bytes of one request body, computed for `add(1, 2)`: a fixed
    /// reference, so the two protocols compare like with like.
    pub request_body_bytes: usize,
    /// The smallest and largest request body actually sent: the calls are
    /// `add(a, 2)` with `a` running 0, 1, … N−1, so they differ a little.
    pub request_body_range: (usize, usize),
    /// Mean response body and transfer size, when the browser reveals them.
    pub response_body_bytes: Option<f64>,
    pub response_transfer_bytes: Option<f64>,
}

/// Makes `calls` calls, `concurrency` at a time, in the lab session
/// `session`, reporting progress after each.
pub async fn run(
    protocol: Protocol,
    base_url: &str,
    session: &str,
    calls: usize,
    concurrency: usize,
    progress: impl Fn(usize),
) -> Run {
    let performance = web_sys::window().and_then(|w| w.performance());
    if let Some(performance) = &performance {
        performance.clear_resource_timings();
        performance.set_resource_timing_buffer_size(calls as u32 + 64);
    }
    let next = Cell::new(0usize);
    let latencies = RefCell::new(Vec::with_capacity(calls));
    let errors = Cell::new(0usize);
    let grpc = tonic_web_wasm_client::Client::new(base_url.to_owned());
    let rest_url = format!("{base_url}{}", Protocol::Rest.path());
    let page_origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    let started = browser::now_ms();

    let worker = || async {
        loop {
            let i = next.get();
            if i >= calls {
                break;
            }
            next.set(i + 1);
            let (a, b) = (i as f64, 2.0);
            let sent = browser::now_ms();
            let ok = match protocol {
                Protocol::GrpcWeb => {
                    let mut request = tonic::Request::new(BinaryOperation { a, b });
                    session::tag(&mut request, session);
                    let add = "/calculator.v1.Calculator/Add";
                    wire::unary(grpc.clone(), add, request)
                        .await
                        .is_ok_and(|r: tonic::Response<Number>| r.into_inner().value == a + b)
                }
                Protocol::Rest => rest_add(&rest_url, session, a, b)
                    .await
                    .is_ok_and(|value| value == a + b),
            };
            latencies.borrow_mut().push(browser::now_ms() - sent);
            errors.set(errors.get() + usize::from(!ok));
            progress(latencies.borrow().len());
        }
    };
    futures_util::future::join_all((0..concurrency.max(1)).map(|_| worker())).await;
    let elapsed_ms = browser::now_ms() - started;

    let (body, transfer) = performance
        .as_ref()
        .map_or((None, None), |p| response_sizes(p, protocol));
    Run {
        protocol,
        route: Route::of(base_url, &page_origin, browser::page_host()),
        latencies: latencies.into_inner(),
        errors: errors.get(),
        elapsed_ms,
        request_body_bytes: request_body_len(protocol, 1.0, 2.0),
        request_body_range: request_body_range(protocol, calls),
        response_body_bytes: body,
        response_transfer_bytes: transfer,
    }
}

/// The bytes of the request body of `add(a, b)`.
pub fn request_body_len(protocol: Protocol, a: f64, b: f64) -> usize {
    match protocol {
        // A gRPC-Web message: 1 flag byte, a 4-byte length, the protobuf.
        Protocol::GrpcWeb => 5 + BinaryOperation { a, b }.encoded_len(),
        Protocol::Rest => rest_body(a, b).len(),
    }
}

/// The smallest and largest request body of the `calls` calls a run sends,
/// `add(a, 2)` for `a` = 0 … calls−1.
pub fn request_body_range(protocol: Protocol, calls: usize) -> (usize, usize) {
    (0..calls.max(1))
        .map(|i| request_body_len(protocol, i as f64, 2.0))
        .fold((usize::MAX, 0), |(lo, hi), n| (lo.min(n), hi.max(n)))
}

fn rest_body(a: f64, b: f64) -> String {
    format!(r#"{{"a":{},"b":{}}}"#, shortest(a), shortest(b))
}

/// `POST {url}` with `{"a": a, "b": b}`; the `value` of the JSON reply.
async fn rest_add(url: &str, session: &str, a: f64, b: f64) -> Result<f64, JsValue> {
    let window = web_sys::window().ok_or("no window")?;
    let headers = Headers::new()?;
    headers.set("content-type", "application/json")?;
    headers.set(LAB_SESSION, session)?;
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(&JsValue::from_str(&rest_body(a, b)));
    let request = Request::new_with_str_and_init(url, &init)?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await?
        .dyn_into()?;
    let text = JsFuture::from(response.text()?).await?;
    if !response.ok() {
        return Err(text);
    }
    let json = js_sys::JSON::parse(&text.as_string().unwrap_or_default())?;
    js_sys::Reflect::get(&json, &JsValue::from_str("value"))?
        .as_f64()
        .ok_or_else(|| "no value".into())
}

/// Mean response body and transfer sizes of this protocol's requests, or
/// `None` where the browser hides them (zero: no `timing-allow-origin`).
fn response_sizes(
    performance: &web_sys::Performance,
    protocol: Protocol,
) -> (Option<f64>, Option<f64>) {
    let (mut body, mut transfer, mut n) = (0.0, 0.0, 0.0);
    for entry in performance.get_entries_by_type("resource").iter() {
        let Ok(entry) = entry.dyn_into::<PerformanceResourceTiming>() else {
            continue;
        };
        if entry.name().contains(protocol.path()) {
            body += entry.encoded_body_size();
            transfer += entry.transfer_size();
            n += 1.0;
        }
    }
    let mean = |total: f64| (n > 0.0 && total > 0.0).then(|| total / n);
    (mean(body), mean(transfer))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "http://127.0.0.1:8080";

    #[test]
    fn the_bodies_sent_are_measured_not_assumed() {
        // The reference call, add(1, 2).
        assert_eq!(request_body_len(Protocol::GrpcWeb, 1.0, 2.0), 23);
        assert_eq!(request_body_len(Protocol::Rest, 1.0, 2.0), 13);
        // add(0, 2): protobuf leaves a zero out (proto3 default), JSON writes it.
        assert_eq!(request_body_range(Protocol::GrpcWeb, 200), (14, 23));
        // {"a":0,"b":2} … {"a":199,"b":2}.
        assert_eq!(request_body_range(Protocol::Rest, 200), (13, 15));
    }

    #[test]
    fn the_default_server_is_reached_through_the_proxy() {
        let route = Route::of("http://127.0.0.1:8080/rpc", PAGE, PageHost::Trunk);
        assert_eq!(
            route,
            Route::SameOrigin {
                origin: PAGE.into(),
                prefix: "/rpc".into(),
                host: PageHost::Trunk,
            }
        );
        assert_eq!(route.kind(), "proxy");
        assert!(
            route
                .describe()
                .contains("Trunk's proxy at /rpc on this page's origin")
        );
    }

    #[test]
    fn another_prefix_on_the_same_origin_is_still_the_proxy() {
        let route = Route::of(
            "http://127.0.0.1:8080/e2e-rpc",
            "http://127.0.0.1:8080/",
            PageHost::Trunk,
        );
        assert_eq!(route.kind(), "proxy");
        assert!(route.describe().contains("at /e2e-rpc"));
    }

    /// Under `./lab class` there is no proxy: saying there was would be
    /// false, and the lesson compares protocols, not hops.
    #[test]
    fn a_page_the_lab_server_served_reaches_it_with_no_proxy() {
        let route = Route::of("http://127.0.0.1:8080/rpc", PAGE, PageHost::LabServer);
        assert_eq!(route.kind(), "lab-server");
        let text = route.describe();
        assert!(text.contains("answers the calls itself"), "{text}");
        assert!(!text.contains("proxy at"), "{text}");
    }

    #[test]
    fn another_origin_is_direct() {
        for server in [
            "http://127.0.0.1:50051",
            // Same host, another port: another origin.
            "http://127.0.0.1:80801/rpc",
            "https://127.0.0.1:8080/rpc",
        ] {
            let route = Route::of(server, PAGE, PageHost::LabServer);
            assert_eq!(
                route,
                Route::Direct {
                    server: server.into()
                },
                "{server}"
            );
            assert!(
                route
                    .describe()
                    .contains(&format!("straight to {server} (cross-origin"))
            );
        }
    }

    #[test]
    fn an_unknown_page_origin_makes_every_route_direct() {
        assert_eq!(Route::of("/rpc", "", PageHost::Trunk).kind(), "direct");
    }
}
