//! "Idempotency key, by hand": one key, shown, and buttons that send it.
//!
//! The student holds the key the caller would otherwise pick and throw away,
//! and sends the operation's request with it once, again, as N copies at
//! the same moment, or with a changed amount — and reads, for every reply,
//! what the server did with it (executed, replayed, refused), in the
//! server's own words, how long the server keeps the key's outcome, and the
//! server's own count of executions (the session's, every client's). What a
//! reply means is decided in [`crate::key_by_hand`]; this file sends the
//! requests and draws.

use std::cell::RefCell;

use futures_util::future::join_all;
use rpc_lab::resilience::{Attempt, KeySource, RandomKeys, SeededRng};
use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::faults::FaultSettings;
use crate::key_by_hand::{
    Action, KeyByHand as State, MAX_COPIES, Marks, Msg, ReplySeen, Sent, ServerCounts, ServerDid,
    changed, describe, read_reply, requests, ttl_text,
};
use crate::lab::{self, Bench};
use crate::operations::{self, Call};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub bench: Bench,
    /// The request the operation's inputs describe, or what is wrong with them.
    pub call: Result<Call, String>,
    /// The fault sliders: by-hand requests meet the same server as the runs.
    pub faults: FaultSettings,
    pub seed: u64,
    /// A run is in progress: its counters must not be mixed with these.
    pub disabled: bool,
    /// How many times the page has reset the session (lesson steps, clean
    /// sessions): each reset makes the server forget every key and counter.
    #[prop_or_default]
    pub session_resets: u32,
    /// How many runs (free runs, lessons) have ended: after each the
    /// counters shown are read again, so they are never older than the last
    /// thing the page did.
    #[prop_or_default]
    pub runs_ended: u32,
}

/// Sends `calls` at the same moment, each with `key`, and reads the replies.
async fn send_all(
    bench: &Bench,
    key: rpc_lab::resilience::IdempotencyKey,
    calls: &[Call],
    faults: &FaultSettings,
    rng: &RefCell<SeededRng>,
) -> Vec<ReplySeen> {
    let attempt = Attempt::by_hand(key);
    join_all(calls.iter().map(|call| {
        let headers = faults.for_attempt(&mut *rng.borrow_mut());
        let transport = tonic_web_wasm_client::Client::new(bench.base_url.clone());
        async move {
            match operations::perform(call, &attempt, transport, &bench.session, &headers).await {
                Ok(reply) => {
                    let marks = Marks::from_metadata(reply.metadata());
                    read_reply(Ok(reply.into_inner()), marks)
                }
                Err(status) => {
                    let marks = Marks::from_metadata(status.metadata());
                    read_reply(Err((status.code(), status.message().to_owned())), marks)
                }
            }
        }
    }))
    .await
}

#[component]
pub fn KeyByHand(props: &Props) -> Html {
    let state = use_reducer(|| State::new(RandomKeys::new().next_key()));
    let copies = use_state(|| 5u32);
    let fault_rng = use_mut_ref(|| lab::fault_rng(props.seed));

    let press = |action: Action| {
        let (state, props_call) = (state.clone(), props.call.clone());
        let (bench, faults, rng) = (props.bench.clone(), props.faults.clone(), fault_rng.clone());
        Callback::from(move |_: MouseEvent| {
            let form = match &props_call {
                Ok(call) => call.clone(),
                Err(problem) => match &state.bound {
                    Some(bound) => bound.clone(),
                    None => return state.dispatch(Msg::Failed(problem.clone())),
                },
            };
            let calls = match requests(action, state.bound.as_ref(), &form) {
                Ok(calls) => calls,
                Err(problem) => return state.dispatch(Msg::Failed(problem)),
            };
            let (key, number) = (state.key, state.next_number());
            let binds = state.bound.clone().unwrap_or_else(|| calls[0].clone());
            state.dispatch(Msg::Started { binds });
            let (state, bench, faults, rng) =
                (state.clone(), bench.clone(), faults.clone(), rng.clone());
            spawn_local(async move {
                let operation = calls[0].operation();
                let before = bench.stats().await.ok();
                let replies = send_all(&bench, key, &calls, &faults, &rng).await;
                let after = bench.stats().await.ok();
                let counts = after
                    .as_ref()
                    .map(|s| ServerCounts::from_stats(s, operation));
                let server_executed = match (&before, &counts) {
                    (Some(before), Some(after)) => Some(
                        after.executions - ServerCounts::from_stats(before, operation).executions,
                    ),
                    _ => None,
                };
                state.dispatch(Msg::Finished {
                    sent: Sent {
                        number,
                        action,
                        key,
                        request: describe(&calls[0]),
                        replies,
                        server_executed,
                        forgotten: false,
                    },
                    server: counts.map(|c| (operation, c)),
                });
            });
        })
    };
    // The page reset the session or ended a run: what is shown may be stale.
    {
        let seen = use_mut_ref(|| (props.session_resets, props.runs_ended));
        let (state, bench) = (state.clone(), props.bench.clone());
        let operation = props
            .call
            .as_ref()
            .map(Call::operation)
            .ok()
            .or(state.server.map(|(operation, _)| operation));
        let idle = !props.disabled && !state.busy;
        use_effect_with(
            (props.session_resets, props.runs_ended),
            move |&(resets, runs)| {
                let (was_resets, was_runs) = *seen.borrow();
                if (resets, runs) != (was_resets, was_runs) {
                    *seen.borrow_mut() = (resets, runs);
                    if resets != was_resets {
                        state.dispatch(Msg::SessionReset);
                    }
                    // During a run the run's own reads bracket its calls;
                    // the next run end reads again.
                    if let (true, Some(operation)) = (idle, operation) {
                        spawn_local(async move {
                            let counts = bench.stats().await.ok().map(|stats| {
                                (operation, ServerCounts::from_stats(&stats, operation))
                            });
                            state.dispatch(Msg::Counted(counts));
                        });
                    }
                }
            },
        );
    }
    let new_key = {
        let state = state.clone();
        Callback::from(move |_: MouseEvent| {
            state.dispatch(Msg::NewKey(RandomKeys::new().next_key()))
        })
    };
    let on_copies = {
        let copies = copies.clone();
        Callback::from(move |event: Event| {
            let input: HtmlInputElement = event.target_unchecked_into();
            if let Ok(n) = input.value().trim().parse::<u32>() {
                copies.set(n.clamp(2, MAX_COPIES));
            }
        })
    };

    let blocked = props.disabled || state.busy;
    let unbound = state.bound.is_none();
    let key = state.key.to_string();
    let key_ttl = state
        .sent
        .iter()
        .find(|sent| sent.key == state.key && !sent.forgotten)
        .and_then(Sent::ttl_ms);
    let bound = match &state.bound {
        Some(call) => html! { <>
            { "Bound to " }<strong>{ describe(call) }</strong>
            { format!(". Changed, it would be {}.", describe(&changed(call))) }
        </> },
        // Not "not sent yet": after a lesson's clean session the server has
        // forgotten a key the list below shows as sent (a newcomer's report).
        None => html! { { "Not bound on the server: the next request sent with it binds it \
        (a new key, or one the server forgot when the session was reset)." } },
    };

    html! {
        <div class="key-by-hand" data-testid="key-by-hand" data-key={key.clone()} data-bound={(!unbound).to_string()}
            data-busy={state.busy.to_string()}>
            <h4>{ "Idempotency key, by hand" }</h4>
            <p class="field-hint">
                { "The caller sends a fresh key with every logical call, and the same key with each of its retries. \
                   Here you hold one key and choose what to send with it. The server's fault sliders apply." }
            </p>
            <div class="kbh-key">
                <span class="kbh-label">{ "Key for the next call" }</span>
                <code data-testid="kbh-key">{ key }</code>
                <span class="kbh-bound">{ bound }</span>
                if let Some(ms) = key_ttl {
                    <span class="kbh-ttl" data-ttl-ms={ms.to_string()}>
                        { format!("The server keeps its outcome {} more (as of the last reply); a retry after that executes again.", ttl_text(ms)) }
                    </span>
                }
            </div>
            <div class="kbh-buttons">
                <button type="button" class="secondary" data-testid="kbh-send" disabled={blocked} onclick={press(Action::Send)}>
                    { "Send with this key" }
                </button>
                <button type="button" class="secondary" data-testid="kbh-again" disabled={blocked || unbound} onclick={press(Action::Again)}
                    title={if unbound { "Send with this key first." } else { "" }}>
                    { "Send again with the same key" }
                </button>
                <span class="kbh-copies">
                    <button type="button" class="secondary" data-testid="kbh-copies" disabled={blocked} onclick={press(Action::Copies(*copies))}>
                        { format!("Send {} copies at once", *copies) }
                    </button>
                    <label for="kbh-copies-n" class="visually-hidden">{ "Copies" }</label>
                    <input id="kbh-copies-n" type="number" min="2" max={MAX_COPIES.to_string()} value={copies.to_string()}
                        disabled={blocked} onchange={on_copies} aria-label="How many copies" />
                </span>
                <button type="button" class="secondary" data-testid="kbh-changed" disabled={blocked || unbound} onclick={press(Action::Changed)}
                    title={if unbound { "Send with this key first." } else { "" }}>
                    { "Same key, changed amount" }
                </button>
                <button type="button" class="secondary" data-testid="kbh-new-key" disabled={blocked} onclick={new_key}>
                    { "New key" }
                </button>
            </div>
            if let Some(problem) = &state.problem {
                <p class="input-error" role="alert">{ problem }</p>
            }
            if let Some((operation, counts)) = &state.server {
                <p class="kbh-server" data-testid="kbh-server" data-operation={operation.slug()}
                    data-executions={counts.executions.to_string()} data-replays={counts.replays.to_string()}
                    data-key-reuse={counts.key_reuse_refused.to_string()}>
                    // Not live, and not only this panel's: say so, and
                    // whose each number is (replays and refusals are the
                    // server's for all operations together).
                    { "The server's counters since the session's last reset — every client, the page's own reads included; read after your last send, run or reset, not live: " }
                    <strong>{ format!("{operation} executed {}×", counts.executions) }</strong>
                    { format!("; all operations: {} replayed from the store, {} refused for key reuse.", counts.replays, counts.key_reuse_refused) }
                </p>
            }
            <ol class="kbh-results" aria-live="polite">
                { for state.sent.iter().map(sent_view) }
            </ol>
        </div>
    }
}

fn sent_view(sent: &Sent) -> Html {
    let counted = |did: ServerDid| sent.count(did).to_string();
    let mut summary = [
        (ServerDid::Executed, "executed"),
        (ServerDid::Replayed, "replayed"),
        (ServerDid::RefusedKeyReuse, "refused for key reuse"),
        (ServerDid::NotExecuted, "not executed"),
        (ServerDid::Unknown, "unknown"),
    ]
    .into_iter()
    .filter(|(did, _)| sent.count(*did) > 0)
    .map(|(did, words)| format!("{} {words}", sent.count(did)))
    .collect::<Vec<_>>()
    .join(", ");
    if let Some(n) = sent.server_executed {
        summary.push_str(&format!(
            " — the server counted {n} execution{}",
            if n == 1 { "" } else { "s" }
        ));
    }
    let key = sent.key.to_string();
    html! {
        <li class={classes!("kbh-sent", sent.forgotten.then_some("forgotten"))} data-forgotten={sent.forgotten.to_string()}
            data-number={sent.number.to_string()} data-action={sent.action.slug()} data-key={key.clone()}
            data-executed={counted(ServerDid::Executed)} data-replayed={counted(ServerDid::Replayed)}
            data-refused={counted(ServerDid::RefusedKeyReuse)} data-not-executed={counted(ServerDid::NotExecuted)}
            data-server-executed={sent.server_executed.map(|n| n.to_string())}
            data-ttl-ms={sent.ttl_ms().map(|ms| ms.to_string())}>
            <div class="kbh-head">
                <strong>{ format!("#{} {}", sent.number, sent.action.describe()) }</strong>
                { format!(": {}, key ", sent.request) }<code title={key.clone()}>{ format!("{}…", &key[..8]) }</code>
            </div>
            <div class="kbh-summary">{ summary }</div>
            if sent.forgotten {
                <div class="kbh-forgotten field-hint">
                    { "Before the session was reset: the server has forgotten this key and its outcome, \
                       so the same key would now execute again." }
                </div>
            }
            <ul class="kbh-replies">
                { for sent.replies.iter().map(|reply| reply_view(reply, sent.forgotten)) }
            </ul>
        </li>
    }
}

/// One reply; a `forgotten` one (sent before the session was reset) no
/// longer shows how long the server keeps the key: it keeps it no more.
fn reply_view(reply: &ReplySeen, forgotten: bool) -> Html {
    let lost = if reply.lost {
        " — then the reply was lost on the way back (x-fault-injected: drop)"
    } else {
        ""
    };
    html! {
        <li class={classes!("kbh-reply", reply.did.slug())} data-outcome={reply.did.slug()} data-code={reply.code_name()}
            data-lost={reply.lost.to_string()} data-ttl-ms={reply.ttl_ms.filter(|_| !forgotten).map(|ms| ms.to_string())}>
            <span class="kbh-did">{ reply.did.describe() }</span>
            { lost }
            if reply.code.is_none() {
                { format!(": {}", reply.text) }
            } else {
                { ": " }<code>{ reply.code_name() }</code>{ " " }
                <q class="kbh-message">{ if reply.text.is_empty() { "(no message)" } else { &reply.text } }</q>
            }
            if let (Some(ms), false) = (reply.ttl_ms, forgotten) {
                <span class="kbh-ttl">{ format!(" · kept {} more", ttl_text(ms)) }</span>
            }
        </li>
    }
}
