//! The client-policy controls: retries, timeouts, keys, budget, hedging, breaker.
//!
//! Every parameter of the resilience core is here, grouped by the question it
//! answers, each with a sentence on what it does. A setting the core would
//! refuse is listed under the controls in the core's own words.

use rpc_lab::resilience::{ConfigError, Jitter};
use yew::prelude::*;

use super::fields::{NumberField, SelectField, Toggle};
use crate::policy_form::{PolicyForm, jitter_from_name, jitter_name};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub policy: PolicyForm,
    pub problems: Vec<ConfigError>,
    #[prop_or_default]
    pub disabled: bool,
    pub on_change: Callback<PolicyForm>,
    pub on_reset: Callback<()>,
}

#[component]
pub fn PolicyControls(props: &Props) -> Html {
    let p = &props.policy;
    let disabled = props.disabled;
    let number = |update: fn(&mut PolicyForm, f64)| {
        let (policy, on_change) = (p.clone(), props.on_change.clone());
        Callback::from(move |value: f64| {
            let mut next = policy.clone();
            update(&mut next, value);
            on_change.emit(next);
        })
    };
    let toggle = |update: fn(&mut PolicyForm, bool)| {
        let (policy, on_change) = (p.clone(), props.on_change.clone());
        Callback::from(move |on: bool| {
            let mut next = policy.clone();
            update(&mut next, on);
            on_change.emit(next);
        })
    };
    let on_jitter = {
        let (policy, on_change) = (p.clone(), props.on_change.clone());
        Callback::from(move |name: String| {
            if let Some(jitter) = jitter_from_name(&name) {
                on_change.emit(PolicyForm {
                    jitter,
                    ..policy.clone()
                });
            }
        })
    };
    let jitter_choices = Jitter::ALL
        .iter()
        .map(|&j| {
            (
                AttrValue::from(jitter_name(j)),
                AttrValue::from(format!("{} jitter", jitter_name(j))),
            )
        })
        .collect::<Vec<_>>();
    let retries_off = disabled || !p.retries;
    let on_reset = props.on_reset.reform(|_: MouseEvent| ());
    html! {
        <fieldset class="lab-fieldset policy" data-testid="policy-controls">
            <legend>{ "Client policy" }</legend>
            <div class="control-group">
                <h4>{ "Retries" }</h4>
                <Toggle id="retries" label="Retry failed calls" checked={p.retries} {disabled}
                    hint="Retry UNAVAILABLE, DEADLINE_EXCEEDED and ABORTED; non-idempotent calls only with a key."
                    on_change={toggle(|p, on| p.retries = on)} />
                <Toggle id="retry-unsafe" label="Retry unsafe calls without a key too" checked={p.retry_unsafe}
                    disabled={retries_off}
                    hint="The naive client: treat withdraw, increment, append and deposit as safe to repeat."
                    on_change={toggle(|p, on| p.retry_unsafe = on)} />
                <NumberField id="attempts" label="Attempts" min={1.0} max={10.0} value={f64::from(p.max_attempts)}
                    disabled={retries_off} hint="In total, the first one included."
                    on_change={number(|p, v| p.max_attempts = v as u32)} />
                <NumberField id="backoff" label="First backoff" unit="ms" min={0.0} max={10000.0} step={10.0}
                    value={f64::from(p.initial_backoff_ms)} disabled={retries_off}
                    hint="The wait before the first retry, before jitter."
                    on_change={number(|p, v| p.initial_backoff_ms = v as u32)} />
                <NumberField id="multiplier" label="Multiplier" min={1.0} max={10.0} step={0.1}
                    value={p.multiplier} disabled={retries_off} hint="Each wait is this many times the last."
                    on_change={number(|p, v| p.multiplier = v)} />
                <NumberField id="max-backoff" label="Longest backoff" unit="ms" min={0.0} max={60000.0} step={10.0}
                    value={f64::from(p.max_backoff_ms)} disabled={retries_off} hint="Waits never grow beyond this."
                    on_change={number(|p, v| p.max_backoff_ms = v as u32)} />
                <SelectField id="jitter" label="Jitter" selected={jitter_name(p.jitter)} choices={jitter_choices}
                    disabled={retries_off}
                    hint="Randomness in each wait, so callers that failed together do not retry together."
                    on_change={on_jitter} />
            </div>
            <div class="control-group">
                <h4>{ "Timeouts" }</h4>
                <NumberField id="attempt-timeout" label="Per attempt" unit="ms" min={0.0} max={60000.0} step={10.0}
                    value={f64::from(p.attempt_timeout_ms)} {disabled}
                    hint="Give up on one attempt after this long (0: never). Sent as grpc-timeout."
                    on_change={number(|p, v| p.attempt_timeout_ms = v as u32)} />
                <NumberField id="deadline" label="Deadline" unit="ms" min={0.0} max={120000.0} step={10.0}
                    value={f64::from(p.deadline_ms)} {disabled}
                    hint="The whole call, every attempt and wait included (0: none)."
                    on_change={number(|p, v| p.deadline_ms = v as u32)} />
                <h4>{ "Idempotency" }</h4>
                <Toggle id="keys" label="Send idempotency keys" checked={p.idempotency_keys} {disabled}
                    hint="One key per logical call, the same on every retry: the server runs it once and replays the outcome."
                    on_change={toggle(|p, on| p.idempotency_keys = on)} />
                <h4>{ "Hedging" }</h4>
                <Toggle id="hedging" label="Hedge slow idempotent calls" checked={p.hedging} disabled={retries_off}
                    hint="Send another attempt alongside a slow one; the first answer wins."
                    on_change={toggle(|p, on| p.hedging = on)} />
                <NumberField id="hedging-delay" label="Hedge after" unit="ms" min={1.0} max={10000.0} step={10.0}
                    value={f64::from(p.hedging_delay_ms)} disabled={retries_off || !p.hedging}
                    hint="Start the next attempt when none has answered for this long."
                    on_change={number(|p, v| p.hedging_delay_ms = v as u32)} />
            </div>
            <div class="control-group">
                <h4>{ "Retry budget" }</h4>
                <Toggle id="budget" label="Limit retries with a budget" checked={p.budget} {disabled}
                    hint="gRFC A6: a failure costs a token, a success earns some back; below half, no retries."
                    on_change={toggle(|p, on| p.budget = on)} />
                <NumberField id="budget-tokens" label="Tokens" min={1.0} max={1000.0}
                    value={p.budget_max_tokens} disabled={disabled || !p.budget} hint="The bucket's size and starting level."
                    on_change={number(|p, v| p.budget_max_tokens = v)} />
                <NumberField id="budget-ratio" label="Earned per success" min={0.01} max={1.0} step={0.01}
                    value={p.budget_token_ratio} disabled={disabled || !p.budget} hint="Tokens a successful attempt gives back."
                    on_change={number(|p, v| p.budget_token_ratio = v)} />
            </div>
            <div class="control-group">
                <h4>{ "Circuit breaker" }</h4>
                <Toggle id="breaker" label="Circuit breaker" checked={p.breaker} {disabled}
                    hint="Stop calling a server that keeps failing; fail fast; probe now and then."
                    on_change={toggle(|p, on| p.breaker = on)} />
                <NumberField id="breaker-threshold" label="Open at failure rate" unit="%" min={1.0} max={100.0}
                    value={p.breaker_threshold_pct} disabled={disabled || !p.breaker}
                    hint="Of the calls in the window."
                    on_change={number(|p, v| p.breaker_threshold_pct = v)} />
                <NumberField id="breaker-window" label="Window" unit="calls" min={1.0} max={1000.0}
                    value={f64::from(p.breaker_window_calls)} disabled={disabled || !p.breaker}
                    hint="The rate is over the last this-many attempts."
                    on_change={number(|p, v| p.breaker_window_calls = v as u32)} />
                <NumberField id="breaker-minimum" label="Minimum calls" min={1.0} max={1000.0}
                    value={f64::from(p.breaker_minimum_calls)} disabled={disabled || !p.breaker}
                    hint="No judgement on fewer calls than this."
                    on_change={number(|p, v| p.breaker_minimum_calls = v as u32)} />
                <NumberField id="breaker-open" label="Open for" unit="ms" min={10.0} max={60000.0} step={10.0}
                    value={f64::from(p.breaker_open_ms)} disabled={disabled || !p.breaker}
                    hint="Then half-open: let probes through (doubles after each failed probe)."
                    on_change={number(|p, v| p.breaker_open_ms = v as u32)} />
                <NumberField id="breaker-probes" label="Probes" min={1.0} max={100.0}
                    value={f64::from(p.breaker_probes)} disabled={disabled || !p.breaker}
                    hint="Calls let through while half-open; they close the breaker unless they fail as often as the threshold."
                    on_change={number(|p, v| p.breaker_probes = v as u32)} />
            </div>
            if !props.problems.is_empty() {
                <ul class="input-error" role="alert" data-testid="policy-problems">
                    { for props.problems.iter().map(|p| html! { <li><code>{ p.field }</code>{ ": " }{ &p.problem }</li> }) }
                </ul>
            }
            <button type="button" class="secondary" onclick={on_reset} {disabled}>{ "Reset to defaults" }</button>
        </fieldset>
    }
}
