//! The server's view and "use your own client": what the server did with
//! every request of this tab's session, whoever sent it, and the commands
//! that put a student's own client in the session.
//!
//! This component holds the tab's one `Lab/WatchRequests` stream (a browser
//! keeps about six HTTP/1.1 connections per host; a stream holds one while
//! it is open) and folds what it brings into a [`ServerLog`] — a pure
//! reducer, [`crate::server_view::log`]. The log lives outside Yew's state:
//! the backlog brings hundreds of records at once, and copying the log for
//! each would be wasted; the component redraws at most every
//! [`REDRAW_MS`]. When the stream ends it tries again, with backoff, for as
//! long as the page is open; dropping the component drops the stream, which
//! aborts its fetch.

use std::cell::RefCell;
use std::time::Duration;

use futures_util::future::abortable;
use rpc_lab::number_format::fixed;
use rpc_lab::proto::calculator_v1::{RequestRecord, WatchRequestsRequest};
use rpc_lab::status::code_name;
use tonic::Request;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::lab::redraw::moment_to_draw;
use crate::plot_scale::{counted, format_ms};
use crate::server_view::calls::{self, Call, Mark, short_agent, short_operation};
use crate::server_view::commands::{self, Target};
use crate::server_view::log::{Event, KEEP, Link, ServerLog};
use crate::{browser, session, wire};

/// The view redraws at most this often while records arrive.
const REDRAW_MS: u64 = 100;
/// Rows drawn (the newest calls); the table counts every record kept.
const ROWS: usize = 200;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub base_url: AttrValue,
    /// This tab's lab session: the one watched.
    pub session: AttrValue,
}

/// Watches the session for as long as the page is open.
async fn follow(base_url: String, session: String, apply: impl Fn(Event) -> u32) {
    let clock = browser::clock();
    loop {
        apply(Event::Connecting);
        let mut request = Request::new(WatchRequestsRequest {});
        session::tag(&mut request, &session);
        let client = tonic_web_wasm_client::Client::new(base_url.clone());
        let watch = "/calculator.v1.Lab/WatchRequests";
        let status = match wire::server_streaming(client, watch, request).await {
            Ok(response) => {
                apply(Event::Opened);
                let mut stream = response.into_inner();
                loop {
                    match stream.message().await {
                        Ok(Some(record)) => {
                            let now_ms = js_sys::Date::now();
                            apply(Event::Record { record, now_ms });
                        }
                        Ok(None) => break "the stream ended".into(),
                        Err(status) => {
                            break format!("{}: {}", code_name(status.code()), status.message());
                        }
                    }
                }
            }
            Err(status) => format!("{}: {}", code_name(status.code()), status.message()),
        };
        let random = js_sys::Math::random();
        let wait = apply(Event::Lost {
            reason: status,
            random,
        });
        clock.sleep(Duration::from_millis(wait.into())).await;
    }
}

/// One attempt's mark: colour, pattern and letter by what the server did.
fn mark(record: &RequestRecord) -> Html {
    let m = Mark::of(record.outcome());
    let code = if record.hung_up {
        "no reply (client gone)"
    } else {
        &record.code
    };
    let title = format!(
        "#{} {}: {} · {} · server {}",
        record.sequence,
        short_operation(&record.operation),
        m.meaning(),
        code,
        format_ms(record.server_micros as f64 / 1000.0)
    );
    html! { <span class={classes!("sv-mark", m.slug())} data-outcome={m.slug()} {title}>{ m.letter() }</span> }
}

fn row(call: &Call, clients: &[u64]) -> Html {
    let first = call.first();
    let own = call.bookkeeping();
    let who = format!(
        "{} · {}",
        calls::client_name(clients, first.connection_id),
        if own {
            "the page"
        } else {
            short_agent(&first.user_agent)
        }
    );
    let who_title = format!(
        "connection {} from {}; user agent: {}",
        first.connection_id, first.peer, first.user_agent
    );
    let (ran, replays, duplicates) = (call.executions(), call.replays(), call.duplicates());
    let possible = call.possible_duplicate();
    let key = match call.key {
        Some(key) => {
            html! { <span class="sv-key" title={key.to_owned()}>{ format!("key {}", key.get(..8).unwrap_or(key)) }</span> }
        }
        None => html! { <span class="sv-key none">{ "no key" }</span> },
    };
    html! {
        <li class={classes!((duplicates > 0 || possible).then_some("sv-risk"), own.then_some("sv-own-call"))} data-bookkeeping={own.then_some("true")}
            data-key={call.key.map(str::to_owned)} data-operation={short_operation(&first.operation).to_owned()}
            data-client={first.connection_id.to_string()} data-attempts={call.attempts.len().to_string()}
            data-executions={ran.to_string()} data-replays={replays.to_string()}
            data-duplicates={duplicates.to_string()} data-possible-duplicate={possible.to_string()}>
            <span class="sv-who" title={who_title}>{ who }</span>
            <span class="sv-op">{ short_operation(&first.operation) }</span>
            { key }
            <span class="sv-marks">{ for call.attempts.iter().map(|r| mark(r)) }</span>
            <span class="sv-note">{
                if own {
                    "the page's own, not yours".into()
                } else if call.reused() {
                    "key already used for another request: refused".into()
                } else if duplicates > 0 {
                    format!("ran {ran}× under one key")
                } else if possible {
                    "ran, reply lost: a retry runs it again".into()
                } else if call.key.is_some() && call.attempts.len() > 1 {
                    format!("{} attempts, ran {ran}, replayed {replays}", call.attempts.len())
                } else {
                    String::new()
                }
            }</span>
        </li>
    }
}

/// "Use your own client": the session's name and the commands.
fn own_client(target: &Target, session: &str) -> Html {
    let command = |id: &'static str, text: String| {
        html! { <pre class="sv-command" data-testid={id} data-command={text.clone()}>{ text }</pre> }
    };
    html! {
        <details class="sv-own" open=true>
            <summary>{ "Use your own client" }</summary>
            <p class="hint">
                { "Any client that sends the header " }<code>{ format!("x-lab-session: {session}") }</code>
                { " lands in this tab's session — the same accounts, keys and counters — and its requests appear above within a second. The lab server's address for native gRPC: " }
                <code>{ &target.address }</code>
                { if target.known { "." } else {
                    " — where ./lab run starts it. This page came from Trunk, which forwards its /rpc calls there, so the page cannot see the address itself; if you started the server elsewhere, use its address." } }
            </p>
            <p class="hint">{ "With grpcurl (one deposit, its reply lost half the time; then the server's view in your terminal):" }</p>
            { command("sv-grpcurl", commands::grpcurl_deposit(target, session)) }
            { command("sv-grpcurl-watch", commands::grpcurl_watch(target, session)) }
            <p class="hint">{ "The Python starter client, in starter/python (its README sets it up; solution.py takes the same arguments):" }</p>
            { command("sv-python", commands::python(target, session)) }
            if target.tls {
                <p class="hint">{ "(The starter client speaks plain gRPC only; this server is reached over TLS.)" }</p>
            }
        </details>
    }
}

#[component]
pub fn ServerView(props: &Props) -> Html {
    let log = use_mut_ref(ServerLog::default);
    let redraw = use_force_update();
    let pending = use_mut_ref(|| false);
    let target = use_memo((), |()| commands::target(&browser::server_choice()));

    {
        let (log, pending) = (log.clone(), pending.clone());
        use_effect_with(
            (props.base_url.clone(), props.session.clone()),
            move |(base_url, session)| {
                let clock = browser::clock();
                let apply = move |event: Event| {
                    let wait = log.borrow_mut().apply(event);
                    // Many records, one redraw.
                    if !pending.replace(true) {
                        let (pending, redraw, clock) =
                            (pending.clone(), redraw.clone(), clock.clone());
                        spawn_local(async move {
                            clock.sleep(Duration::from_millis(REDRAW_MS)).await;
                            // Not while the lab waits for a reply: it would
                            // wait for this drawing too.
                            moment_to_draw(clock.as_ref()).await;
                            *pending.borrow_mut() = false;
                            redraw.force_update();
                        });
                    }
                    wait
                };
                let (task, handle) =
                    abortable(follow(base_url.to_string(), session.to_string(), apply));
                spawn_local(async move {
                    let _ = task.await;
                });
                move || handle.abort()
            },
        );
    }

    let log: &RefCell<ServerLog> = &log;
    let log = log.borrow();
    let records: Vec<&RequestRecord> = log.records.iter().collect();
    let clients = calls::clients(&records);
    let calls = calls::calls(records.iter().copied());
    let (per_operation, all) = calls::tally(&calls);
    let own = calls::bookkeeping_requests(&calls);
    let status = match &log.link {
        Link::Connecting if log.opened == 0 => "Connecting to the server…".to_owned(),
        Link::Connecting => "Reconnecting…".to_owned(),
        Link::Watching => format!(
            "● Watching: {} requests of this session so far.",
            records.len()
        ),
        Link::Away { reason, retry_ms } => format!(
            "The server went away ({reason}) — reconnecting within {}.",
            format_ms(f64::from(*retry_ms))
        ),
    };
    let verdict = if all.duplicates > 0 {
        format!(
            "{} under one idempotency key: the server ran those calls more than once although their key said they were one.",
            counted(all.duplicates as usize, "extra execution")
        )
    } else if all.possible_duplicates > 0 {
        format!(
            "{} without an idempotency key ran an operation that is not idempotent and lost their reply: each one happened, but its client was told UNAVAILABLE. \
             Each one its client retried ran again: duplicates the server cannot tell from new calls, \
             since nothing links a retry to its first attempt, so the client's own count may be lower. An idempotency key links them.",
            counted(all.possible_duplicates as usize, "request")
        )
    } else if all.keyed_calls > 0 {
        // Replays answer retries and copies alike: call them requests.
        format!(
            "No duplicates: no key ran more than once; {} answered from the idempotency store.",
            counted(all.replays as usize, "request")
        )
    } else {
        "No duplicates to show.".to_owned()
    };
    let shown = calls.len().saturating_sub(ROWS);

    html! {
        <section class="card sv" aria-labelledby="sv-title" data-testid="server-view" data-link={log.link.slug()}
                 data-opened={log.opened.to_string()} data-records={records.len().to_string()} data-calls={calls.len().to_string()}
                 data-executions={all.executions.to_string()} data-replays={all.replays.to_string()}
                 data-duplicates={all.duplicates.to_string()} data-possible-duplicates={all.possible_duplicates.to_string()}
                 data-lag-ms={log.lag_ms.map(|ms| fixed(ms, 1))}>
            <h2 id="sv-title">{ "The server's view" }</h2>
            <p class="hint">{ format!(
                "Every request of this tab's session ({}) that reached the server — the page's own calls and any other client's — and what the server did with it. \
                 One row per logical call: the attempts with one idempotency key; a request without a key is a row of its own, since the server cannot tell a retry \
                 from a new call. Clients are told apart by connection (A, B, …; behind Trunk's proxy the page's calls come on the proxy's connections). \
                 The page keeps the newest {KEEP} requests, across resets of the session (a lesson resets it before each step): \
                 the server's own counters (Lab/GetStats, the lab's truth table) count only since the last reset.", props.session) }</p>
            <p class="sv-status" role="status">{ status }</p>
            if log.let_go + log.missed > 0 {
                <p class="hint">{ format!("Not shown: {} older requests this page let go, {} the server no longer held or this page missed.", log.let_go, log.missed) }</p>
            }
            <div class="sv-grid">
                <div>
                    <ul class="sv-legend">{ for Mark::ALL.iter().map(|m| html! {
                        <li><span class={classes!("sv-mark", m.slug())}>{ m.letter() }</span>{ m.meaning() }</li>
                    }) }</ul>
                    if shown > 0 {
                        <p class="hint">{ format!("The newest {ROWS} calls of {}:", calls.len()) }</p>
                    }
                    <ol class="sv-calls" data-testid="sv-calls">{ for calls[shown..].iter().map(|c| row(c, &clients)) }</ol>
                </div>
                <div>
                    <table class="sv-table" data-testid="sv-table">
                        <thead><tr>
                            <th>{ "operation" }</th><th title="requests that reached the server, each attempt counted">{ "requests" }</th><th title="executions of the operation">{ "ran" }</th><th title="answered from the idempotency store">{ "replays" }</th>
                            // Calls, not requests like the columns before it:
                            // "28 requests, 13 keyed" once read as 13 of 28.
                            <th title="logical calls with an idempotency key: a call and its retries share one key and count once here, each in requests">{ "calls with a key" }</th>
                            <th title="extra executions under one idempotency key">{ "ran again, one key" }</th>
                            <th title="requests without a key, of an operation that is not idempotent, that ran and lost their reply">{ "no key, ran, reply lost" }</th>
                        </tr></thead>
                        <tbody>{ for per_operation.iter().map(|(op, t)| html! {
                            <tr data-operation={op.to_string()} data-requests={t.requests.to_string()} data-executions={t.executions.to_string()}
                                data-replays={t.replays.to_string()} data-duplicates={t.duplicates.to_string()}
                                data-possible-duplicates={t.possible_duplicates.to_string()} data-keyed-calls={t.keyed_calls.to_string()}>
                                <th>{ *op }</th><td>{ t.requests }</td><td>{ t.executions }</td><td>{ t.replays }</td>
                                <td>{ t.keyed_calls }</td><td>{ t.duplicates }</td><td>{ t.possible_duplicates }</td>
                            </tr>
                        }) }</tbody>
                    </table>
                    if own > 0 {
                        <p class="hint" data-testid="sv-own" data-requests={own.to_string()}>{ format!(
                            "Not in this table: {own} requests that were the page's own — a lesson's set-up, and its reads of the truth before and after a run (the rows marked \"the page\"). The server ran them like any other.") }</p>
                    }
                    <p class="sv-verdict" data-testid="sv-verdict">{ verdict }</p>
                </div>
            </div>
            { own_client(&target, &props.session) }
        </section>
    }
}
