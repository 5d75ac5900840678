//! The client-policy controls: retries, timeouts, keys, budget, hedging, breaker.
//!
//! Every parameter of the resilience core is here, grouped by the question it
//! answers, each with a sentence on what it does. The groups fold, and a
//! folded group's heading still says what it is set to ("off", "opens at
//! 50 % of 10 attempts"), so the column fits beside the plots. A setting the
//! core would refuse is listed under the controls in the core's own words.

use rpc_lab::resilience::{ConfigError, Jitter};
use yew::prelude::*;

use super::fields::{ControlGroup, NumberField, SelectField, Toggle};
use crate::plot_scale::{format_ms, format_number};
use crate::policy_form::{PolicyForm, jitter_from_name, jitter_name};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub policy: PolicyForm,
    pub problems: Vec<ConfigError>,
    #[prop_or_default]
    pub disabled: bool,
    pub on_change: Callback<PolicyForm>,
    pub on_reset: Callback<()>,
    /// Put before every control's id, so a second set of these controls on
    /// the page (the Scale view's) has ids and labels of its own.
    #[prop_or_default]
    pub id_prefix: AttrValue,
    /// For the load engine (`Lab/RunLoad`), which has no hedging and never
    /// retries an unsafe call without a key: those controls are left out
    /// rather than shown doing nothing.
    #[prop_or_default]
    pub for_load_engine: bool,
}

/// `on` or `off`, in words.
fn on_off(on: bool, yes: &str, no: &str) -> String {
    if on { yes } else { no }.to_owned()
}

/// "4 attempts, 100 ms → 2 s ×2, full jitter", or "off".
fn retries_state(p: &PolicyForm) -> String {
    if !p.retries {
        return "off: one attempt".to_owned();
    }
    format!(
        "{} attempts, {} → {} ×{}, {} jitter",
        p.max_attempts,
        format_ms(f64::from(p.initial_backoff_ms)),
        format_ms(f64::from(p.max_backoff_ms)),
        format_number(p.multiplier),
        jitter_name(p.jitter)
    )
}

/// "1 s per attempt, 5 s deadline"; 0 means none.
fn timeouts_state(p: &PolicyForm) -> String {
    let part = |ms: u32, what: &str| match ms {
        0 => format!("no {what}"),
        ms => format!("{} {what}", format_ms(f64::from(ms))),
    };
    format!(
        "{}, {}",
        part(p.attempt_timeout_ms, "per attempt"),
        part(p.deadline_ms, "deadline")
    )
}

fn hedging_state(p: &PolicyForm) -> String {
    match (p.hedging, p.retries) {
        (false, _) => "off".to_owned(),
        (true, false) => "on, but retries are off".to_owned(),
        (true, true) => format!("after {}", format_ms(f64::from(p.hedging_delay_ms))),
    }
}

fn budget_state(p: &PolicyForm) -> String {
    if !p.budget {
        return "off".to_owned();
    }
    format!(
        "{} tokens, +{} per success",
        format_number(p.budget_max_tokens),
        format_number(p.budget_token_ratio)
    )
}

fn breaker_state(p: &PolicyForm) -> String {
    if !p.breaker {
        return "off".to_owned();
    }
    format!(
        // The breaker judges attempts (every attempt's outcome goes into its
        // window), so that is the unit here and in the fields below.
        // The minimum matters as much as the window: with 20 in the window
        // and a minimum of 10, it can open after 10 (a newcomer's report).
        "opens at {} % of {} attempts (after at least {}), for {}",
        format_number(p.breaker_threshold_pct),
        p.breaker_window_calls,
        p.breaker_minimum_calls,
        format_ms(f64::from(p.breaker_open_ms))
    )
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
    let id = |name: &str| AttrValue::from(format!("{}{name}", props.id_prefix));
    let engine = props.for_load_engine;
    let retries_off = disabled || !p.retries;
    let on_reset = props.on_reset.reform(|_: MouseEvent| ());
    html! {
        <fieldset class="lab-fieldset policy" data-testid={id("policy-controls")}>
            <legend>{ "Client policy" }</legend>
            { ControlGroup {
                id: id("retries"),
                title: "Retries",
                state: retries_state(p),
                open: true,
                children: html! { <>
                { Toggle {
                    id: id("retries"),
                    label: "Retry failed calls",
                    checked: p.retries,
                    disabled,
                    hint: "Retry UNAVAILABLE, DEADLINE_EXCEEDED and ABORTED; non-idempotent calls only with a key.",
                    on_change: toggle(|p, on| p.retries = on),
                }.view() }
                if !engine {
                    { Toggle {
                        id: id("retry-unsafe"),
                        label: "Retry unsafe calls without a key too",
                        checked: p.retry_unsafe,
                        disabled: retries_off,
                        hint: "The naive client: treat withdraw, increment, append and deposit as safe to repeat.",
                        on_change: toggle(|p, on| p.retry_unsafe = on),
                    }.view() }
                }
                { NumberField {
                    id: id("attempts"),
                    label: "Attempts",
                    min: 1.0,
                    max: 10.0,
                    value: f64::from(p.max_attempts),
                    disabled: retries_off,
                    hint: "In total, the first one included.",
                    on_change: number(|p, v| p.max_attempts = v as u32),
                    ..Default::default()
                }.view() }
                { NumberField {
                    id: id("backoff"),
                    label: "First backoff",
                    unit: "ms",
                    min: 0.0,
                    max: 10000.0,
                    step: 10.0,
                    value: f64::from(p.initial_backoff_ms),
                    disabled: retries_off,
                    hint: "The wait before the first retry, before jitter.",
                    on_change: number(|p, v| p.initial_backoff_ms = v as u32),
                }.view() }
                { NumberField {
                    id: id("multiplier"),
                    label: "Multiplier",
                    min: 1.0,
                    max: 10.0,
                    step: 0.1,
                    value: p.multiplier,
                    disabled: retries_off,
                    hint: "Each wait is this many times the last.",
                    on_change: number(|p, v| p.multiplier = v),
                    ..Default::default()
                }.view() }
                { NumberField {
                    id: id("max-backoff"),
                    label: "Longest backoff",
                    unit: "ms",
                    min: 0.0,
                    max: 60000.0,
                    step: 10.0,
                    value: f64::from(p.max_backoff_ms),
                    disabled: retries_off,
                    hint: "Waits never grow beyond this.",
                    on_change: number(|p, v| p.max_backoff_ms = v as u32),
                }.view() }
                <SelectField id={id("jitter")} label="Jitter" selected={jitter_name(p.jitter)} choices={jitter_choices}
                    disabled={retries_off}
                    hint="Randomness in each wait, so callers that failed together do not retry together."
                    on_change={on_jitter} />
                        </> },
            }.view() }
            { ControlGroup {
                id: id("timeouts"),
                title: "Timeouts",
                state: timeouts_state(p),
                open: true,
                children: html! { <>
                { NumberField {
                    id: id("attempt-timeout"),
                    label: "Per attempt",
                    unit: "ms",
                    min: 0.0,
                    max: 60000.0,
                    step: 10.0,
                    value: f64::from(p.attempt_timeout_ms),
                    disabled,
                    hint: "Give up on one attempt after this long (0: never). Sent as grpc-timeout.",
                    on_change: number(|p, v| p.attempt_timeout_ms = v as u32),
                }.view() }
                { NumberField {
                    id: id("deadline"),
                    label: "Deadline",
                    unit: "ms",
                    min: 0.0,
                    max: 120000.0,
                    step: 10.0,
                    value: f64::from(p.deadline_ms),
                    disabled,
                    hint: "The whole call, every attempt and wait included (0: none).",
                    on_change: number(|p, v| p.deadline_ms = v as u32),
                }.view() }
                        </> },
            }.view() }
            { ControlGroup {
                id: id("keys"),
                title: "Idempotency",
                state: on_off(p.idempotency_keys, "keys on", "keys off"),
                open: true,
                children: html! { <>
                { Toggle {
                    id: id("keys"),
                    label: "Send idempotency keys",
                    checked: p.idempotency_keys,
                    disabled,
                    hint: "One key per logical call, the same on every retry: the server runs it once and replays the outcome.",
                    on_change: toggle(|p, on| p.idempotency_keys = on),
                }.view() }
                        </> },
            }.view() }
            if !engine {
                { ControlGroup {
                    id: id("hedging"),
                    title: "Hedging",
                    state: hedging_state(p),
                    children: html! { <>
                    { Toggle {
                        id: id("hedging"),
                        label: "Hedge slow idempotent calls",
                        checked: p.hedging,
                        disabled: retries_off,
                        hint: "Send another attempt alongside a slow one; the first answer wins.",
                        on_change: toggle(|p, on| p.hedging = on),
                    }.view() }
                    { NumberField {
                        id: id("hedging-delay"),
                        label: "Hedge after",
                        unit: "ms",
                        min: 1.0,
                        max: 10000.0,
                        step: 10.0,
                        value: f64::from(p.hedging_delay_ms),
                        disabled: retries_off || !p.hedging,
                        hint: "Start the next attempt when none has answered for this long.",
                        on_change: number(|p, v| p.hedging_delay_ms = v as u32),
                    }.view() }
                                </> },
                    ..Default::default()
                }.view() }
            }
            { ControlGroup {
                id: id("budget"),
                title: "Retry budget",
                state: budget_state(p),
                children: html! { <>
                { Toggle {
                    id: id("budget"),
                    label: "Limit retries with a budget",
                    checked: p.budget,
                    disabled,
                    hint: "gRFC A6: a failure costs a token, a success earns some back; below half, no retries.",
                    on_change: toggle(|p, on| p.budget = on),
                }.view() }
                { NumberField {
                    id: id("budget-tokens"),
                    label: "Tokens",
                    min: 1.0,
                    max: 1000.0,
                    value: p.budget_max_tokens,
                    disabled: disabled || !p.budget,
                    hint: "The bucket's size and starting level.",
                    on_change: number(|p, v| p.budget_max_tokens = v),
                    ..Default::default()
                }.view() }
                { NumberField {
                    id: id("budget-ratio"),
                    label: "Earned per success",
                    min: 0.01,
                    max: 1.0,
                    step: 0.01,
                    value: p.budget_token_ratio,
                    disabled: disabled || !p.budget,
                    hint: "Tokens a successful attempt gives back.",
                    on_change: number(|p, v| p.budget_token_ratio = v),
                    ..Default::default()
                }.view() }
                        </> },
                ..Default::default()
            }.view() }
            { ControlGroup {
                id: id("breaker"),
                title: "Circuit breaker",
                state: breaker_state(p),
                children: html! { <>
                { Toggle {
                    id: id("breaker"),
                    label: "Circuit breaker",
                    checked: p.breaker,
                    disabled,
                    hint: "Stop calling a server that keeps failing; fail fast; probe now and then.",
                    on_change: toggle(|p, on| p.breaker = on),
                }.view() }
                { NumberField {
                    id: id("breaker-threshold"),
                    label: "Open at failure rate",
                    unit: "%",
                    min: 1.0,
                    max: 100.0,
                    value: p.breaker_threshold_pct,
                    disabled: disabled || !p.breaker,
                    hint: "Of the attempts in the window.",
                    on_change: number(|p, v| p.breaker_threshold_pct = v),
                    ..Default::default()
                }.view() }
                { NumberField {
                    id: id("breaker-window"),
                    label: "Window",
                    unit: "attempts",
                    min: 1.0,
                    max: 1000.0,
                    value: f64::from(p.breaker_window_calls),
                    disabled: disabled || !p.breaker,
                    hint: "The rate is over the last this-many attempts.",
                    on_change: number(|p, v| p.breaker_window_calls = v as u32),
                    ..Default::default()
                }.view() }
                { NumberField {
                    id: id("breaker-minimum"),
                    label: "Minimum attempts",
                    min: 1.0,
                    max: 1000.0,
                    value: f64::from(p.breaker_minimum_calls),
                    disabled: disabled || !p.breaker,
                    hint: "No judgement on fewer attempts than this.",
                    on_change: number(|p, v| p.breaker_minimum_calls = v as u32),
                    ..Default::default()
                }.view() }
                { NumberField {
                    id: id("breaker-open"),
                    label: "Open for",
                    unit: "ms",
                    min: 10.0,
                    max: 60000.0,
                    step: 10.0,
                    value: f64::from(p.breaker_open_ms),
                    disabled: disabled || !p.breaker,
                    hint: "Then half-open: let probes through (doubles after each failed probe).",
                    on_change: number(|p, v| p.breaker_open_ms = v as u32),
                }.view() }
                { NumberField {
                    id: id("breaker-probes"),
                    label: "Probes",
                    min: 1.0,
                    max: 100.0,
                    value: f64::from(p.breaker_probes),
                    disabled: disabled || !p.breaker,
                    hint: "Calls let through while half-open; they close the breaker unless they fail as often as the threshold.",
                    on_change: number(|p, v| p.breaker_probes = v as u32),
                    ..Default::default()
                }.view() }
                        </> },
                ..Default::default()
            }.view() }
            if !props.problems.is_empty() {
                <ul class="input-error" role="alert" data-testid={id("policy-problems")}>
                    { for props.problems.iter().map(|p| html! { <li><code>{ p.field }</code>{ ": " }{ &p.problem }</li> }) }
                </ul>
            }
            <button type="button" class="secondary" onclick={on_reset} {disabled}>{ "Reset to defaults" }</button>
        </fieldset>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folded_group_still_says_what_it_is_set_to() {
        let p = PolicyForm::default();
        assert_eq!(
            retries_state(&p),
            "4 attempts, 100 ms → 2 s ×2, full jitter"
        );
        assert_eq!(timeouts_state(&p), "1 s per attempt, 5 s deadline");
        assert_eq!(breaker_state(&p), "off");
        let changed = PolicyForm {
            retries: false,
            attempt_timeout_ms: 0,
            breaker: true,
            breaker_threshold_pct: 50.0,
            breaker_window_calls: 6,
            breaker_minimum_calls: 4,
            breaker_open_ms: 800,
            budget: true,
            budget_max_tokens: 10.0,
            budget_token_ratio: 0.1,
            ..p
        };
        assert_eq!(retries_state(&changed), "off: one attempt");
        assert_eq!(timeouts_state(&changed), "no per attempt, 5 s deadline");
        assert_eq!(
            breaker_state(&changed),
            "opens at 50 % of 6 attempts (after at least 4), for 800 ms"
        );
        assert_eq!(budget_state(&changed), "10 tokens, +0.1 per success");
    }
}
