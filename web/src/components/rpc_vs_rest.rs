//! The "RPC vs REST" lesson: the same call over gRPC-Web and over REST, side
//! by side, and a table of the trade-offs to reason about.
//!
//! The measuring is in [`crate::comparison`]; this component only holds the
//! controls' values and shows the results.

use rpc_lab::number_format::fixed;
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::latency_histogram::{Fill, LatencyHistogram};
use crate::comparison::{self, Protocol, Route, Run};
use crate::latency::{Bins, summarize};

const BINS: usize = 24;

#[derive(Properties, PartialEq)]
pub struct Props {
    /// The server's base URL (the same one the calculator uses).
    pub base_url: AttrValue,
    /// This tab's lab session.
    pub session: AttrValue,
}

#[derive(Clone, PartialEq)]
enum Phase {
    Idle,
    Running {
        protocol: Protocol,
        done: usize,
        total: usize,
    },
    Done,
}

#[component]
pub fn RpcVsRest(props: &Props) -> Html {
    let calls = use_state(|| "200".to_owned());
    let concurrency = use_state(|| 1usize);
    let phase = use_state(|| Phase::Idle);
    let results = use_state(|| None::<(Run, Run)>);

    let parsed_calls = calls
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=5000).contains(n));
    let on_run = {
        let (phase, results, base_url, session, concurrency) = (
            phase.clone(),
            results.clone(),
            props.base_url.to_string(),
            props.session.to_string(),
            *concurrency,
        );
        Callback::from(move |_| {
            let Some(total) = parsed_calls else { return };
            let (phase, results, base_url, session) = (
                phase.clone(),
                results.clone(),
                base_url.clone(),
                session.clone(),
            );
            spawn_local(async move {
                let mut runs = Vec::new();
                // One protocol after the other, so they do not compete.
                for protocol in [Protocol::GrpcWeb, Protocol::Rest] {
                    phase.set(Phase::Running {
                        protocol,
                        done: 0,
                        total,
                    });
                    let progress_phase = phase.clone();
                    let run = comparison::run(
                        protocol,
                        &base_url,
                        &session,
                        total,
                        concurrency,
                        move |done| {
                            if done % 10 == 0 || done == total {
                                progress_phase.set(Phase::Running {
                                    protocol,
                                    done,
                                    total,
                                });
                            }
                        },
                    )
                    .await;
                    runs.push(run);
                }
                let rest = runs.pop().expect("two runs");
                let grpc = runs.pop().expect("two runs");
                results.set(Some((grpc, rest)));
                phase.set(Phase::Done);
            });
        })
    };
    let on_calls = {
        let calls = calls.clone();
        Callback::from(move |e: InputEvent| {
            calls.set(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let on_mode = {
        let concurrency = concurrency.clone();
        Callback::from(move |e: Event| {
            concurrency.set(
                e.target_unchecked_into::<HtmlSelectElement>()
                    .value()
                    .parse()
                    .unwrap_or(1),
            )
        })
    };
    let running = matches!(*phase, Phase::Running { .. });

    html! {
        <section class="card" aria-labelledby="rpc-vs-rest-title" data-testid="rpc-vs-rest">
            <h2 id="rpc-vs-rest-title">{ "RPC vs REST" }</h2>
            <p class="hint">
                { "The question: is a remote procedure call over gRPC-Web faster or smaller than the same call as REST/JSON? \
                   The button sends add(a, 2) N times over each — the generated gRPC client first, then fetch with JSON to " }
                <code>{ "POST /api/v1/calculator/add" }</code>
                { " — to the same server, and plots how long each call took." }
            </p>
            <div class="controls">
                <label for="comparison-calls">{ "Calls per protocol" }</label>
                <input id="comparison-calls" type="number" min="1" max="5000" value={(*calls).clone()} oninput={on_calls} />
                <label for="comparison-mode">{ "Sent" }</label>
                <select id="comparison-mode" onchange={on_mode}>
                    <option value="1" selected={*concurrency == 1}>{ "one at a time" }</option>
                    <option value="8" selected={*concurrency == 8}>{ "8 at a time (concurrently)" }</option>
                </select>
                <button type="button" class="primary" data-testid="run-comparison" disabled={running || parsed_calls.is_none()} onclick={on_run}>
                    { "Run the comparison" }
                </button>
            </div>
            if parsed_calls.is_none() {
                <p class="input-error" role="alert">{ "Calls per protocol must be a whole number from 1 to 5000." }</p>
            }
            if let Phase::Running { protocol, done, total } = &*phase {
                <p class="progress" aria-live="polite" data-testid="comparison-progress">
                    <progress max={total.to_string()} value={done.to_string()}></progress>
                    { format!(" {}: {done} of {total} calls", protocol.label()) }
                </p>
            }
            if let Some((grpc, rest)) = &*results {
                { results_view(grpc, rest) }
            }
            { trade_offs() }
        </section>
    }
}

fn results_view(grpc: &Run, rest: &Run) -> Html {
    let bins = Bins::shared(&[&grpc.latencies, &rest.latencies], BINS);
    let (grpc_counts, rest_counts) = (
        bins.histogram(&grpc.latencies),
        bins.histogram(&rest.latencies),
    );
    let y_max = grpc_counts
        .iter()
        .chain(&rest_counts)
        .copied()
        .max()
        .unwrap_or(1);
    let (grpc_summary, rest_summary) = (summarize(&grpc.latencies), summarize(&rest.latencies));
    let bytes =
        |value: Option<f64>| value.map_or("hidden by the browser".to_owned(), |b| fixed(b, 0));
    let row = |run: &Run, summary: &crate::latency::Summary| {
        html! {
            <tr data-protocol={run.protocol.label()}>
                <th scope="row">{ run.protocol.label() }</th>
                <td class="num">{ summary.count }</td>
                <td class="num" data-field="errors">{ run.errors }</td>
                <td class="num">{ fixed(summary.p50, 2) }</td>
                <td class="num">{ fixed(summary.p90, 2) }</td>
                <td class="num">{ fixed(summary.p99, 2) }</td>
                <td class="num">{ fixed(summary.count as f64 / (run.elapsed_ms / 1000.0), 0) }</td>
                <td class="num" data-field="request-bytes"
                    data-sent-min={run.request_body_range.0.to_string()} data-sent-max={run.request_body_range.1.to_string()}
                    title={format!("The calls sent, add(a, 2) for a = 0, 1, …, had bodies of {}–{} B", run.request_body_range.0, run.request_body_range.1)}>
                    { run.request_body_bytes }
                </td>
                <td class="num" data-field="response-bytes">{ bytes(run.response_body_bytes) }</td>
                <td class="num" data-field="transfer-bytes">{ bytes(run.response_transfer_bytes) }</td>
            </tr>
        }
    };
    // Both runs used the same base URL, so one route covers them.
    let route = &grpc.route;
    let route_target = match route {
        Route::SameOrigin { origin, prefix, .. } => format!("{origin}{prefix}"),
        Route::Direct { server } => server.clone(),
    };
    html! {
        <div class="comparison-results" data-testid="comparison-results" data-route={route.kind()}>
            <p class="route" data-testid="comparison-route" data-route={route.kind()} data-target={route_target}>
                <strong>{ "The path: " }</strong>{ route.describe() }
            </p>
            <div class="histograms">
                { LatencyHistogram {
                    title: "gRPC-Web".into(),
                    noun: AttrValue::default(),
                    bins: bins.clone(),
                    counts: grpc_counts,
                    summary: grpc_summary.clone(),
                    y_max,
                    fill: Fill::Solid,
                    timeouts: Vec::new(),
                }.view() }
                { LatencyHistogram {
                    title: "REST/JSON".into(),
                    noun: AttrValue::default(),
                    bins,
                    counts: rest_counts,
                    summary: rest_summary.clone(),
                    y_max,
                    fill: Fill::Hatched,
                    timeouts: Vec::new(),
                }.view() }
            </div>
            <table class="numbers">
                <thead>
                    <tr>
                        <th scope="col">{ "" }</th>
                        <th scope="col" class="num">{ "calls" }</th>
                        <th scope="col" class="num">{ "errors" }</th>
                        <th scope="col" class="num">{ "p50 ms" }</th>
                        <th scope="col" class="num">{ "p90 ms" }</th>
                        <th scope="col" class="num">{ "p99 ms" }</th>
                        <th scope="col" class="num">{ "calls/s" }</th>
                        <th scope="col" class="num">{ "request body B of add(1, 2)" }</th>
                        <th scope="col" class="num">{ "response body B" }</th>
                        <th scope="col" class="num">{ "response with headers B" }</th>
                    </tr>
                </thead>
                <tbody>
                    { row(grpc, &grpc_summary) }
                    { row(rest, &rest_summary) }
                </tbody>
            </table>
            <p class="hint" data-testid="sent-bodies">
                { format!(
                    "The request body column is computed for one reference call, add(1, 2). The calls sent were \
                     add(a, 2) with a = 0, 1, … {}: their bodies were {}–{} B over gRPC-Web and {}–{} B as JSON \
                     (protobuf does not send a = 0 at all: zero is its default).",
                    grpc.latencies.len().saturating_sub(1),
                    grpc.request_body_range.0, grpc.request_body_range.1,
                    rest.request_body_range.0, rest.request_body_range.1,
                ) }
            </p>
            <p class="hint">
                { "What to look for: both bodies are tiny. For add(1, 2) the JSON text ({\"a\":1,\"b\":2}, 13 bytes) is even \
                   shorter than protobuf's two 8-byte doubles plus gRPC-Web's 5-byte frame header (23 bytes); protobuf wins on \
                   larger, richer messages. Either way about 300 bytes of response headers dwarf the body — and browsers never \
                   show a page its request headers. The native benchmark (README) adds gRPC over HTTP/2, whose compressed \
                   headers make it about a quarter of REST's bytes on the wire; a page cannot speak that protocol." }
            </p>
        </div>
    }
}

fn trade_offs() -> Html {
    let rows = [
        (
            "Contract and code generation",
            "The .proto is the contract; clients and servers are generated for every language.",
            "A convention or an OpenAPI document; clients often written by hand.",
        ),
        (
            "Payload",
            "Compact binary protobuf; not readable by eye.",
            "JSON text: readable; larger for most real messages (not for add(1, 2): run the comparison and see).",
        ),
        (
            "Streaming",
            "Client, server and two-way streams (gRPC-Web: server streaming only).",
            "Request/response; streaming needs SSE or WebSockets.",
        ),
        (
            "In the browser",
            "Needs gRPC-Web: server support (here tonic-web) or a proxy, HTTP/1.1, and CORS that exposes grpc-status.",
            "Native: fetch, every tool, every proxy.",
        ),
        (
            "HTTP semantics and caching",
            "Every call is a POST: nothing says which calls are safe to repeat, nothing is cacheable.",
            "GET, PUT and DELETE are idempotent by definition; GET responses can be cached.",
        ),
        (
            "Errors",
            "17 status codes with fixed meanings (UNAVAILABLE: a retry may help).",
            "HTTP statuses, mapped loosely (this lab maps gRPC codes onto them).",
        ),
        (
            "Tooling and readability",
            "grpcurl, reflection, health checks; binary on the wire.",
            "curl and the browser's network tab show everything.",
        ),
    ];
    html! {
        <table class="trade-offs" data-testid="trade-offs">
            <caption>{ "Trade-offs to reason with" }</caption>
            <thead>
                <tr><th scope="col">{ "" }</th><th scope="col">{ "gRPC / gRPC-Web" }</th><th scope="col">{ "REST/JSON" }</th></tr>
            </thead>
            <tbody>
                { for rows.iter().map(|(topic, rpc, rest)| html! {
                    <tr><th scope="row">{ *topic }</th><td>{ *rpc }</td><td>{ *rest }</td></tr>
                }) }
            </tbody>
        </table>
    }
}
