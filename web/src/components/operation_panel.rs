//! The operation, its inputs, and the buttons that run it.
//!
//! Picks one of the twelve operations, shows only the inputs it needs, and
//! sets up a run: how many calls, how many at once, how fast, and the seed
//! that makes a run repeatable.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::fields::{NumberField, SelectField, Toggle};
use super::key_by_hand::KeyByHand;
use crate::lab::{Bench, Settings};
use crate::operations::{LabOperation, OperationForm, Service};

/// The operation panel's inputs, drawn by [`OperationPanel::view`].
pub struct OperationPanel {
    pub settings: Settings,
    /// Where the by-hand requests go: this tab's server and session.
    pub bench: Bench,
    pub problem: Option<AttrValue>,
    pub running: bool,
    pub on_change: Callback<Settings>,
    pub on_call: Callback<MouseEvent>,
    pub on_run: Callback<MouseEvent>,
    pub on_stop: Callback<MouseEvent>,
    pub on_new_session: Callback<MouseEvent>,
    /// Session resets and runs ended so far: the by-hand group re-reads the
    /// server when either changes.
    pub session_resets: u32,
    pub runs_ended: u32,
}

impl OperationPanel {
    /// The operation, its inputs, and the run buttons.
    pub fn view(&self) -> Html {
        let s = &self.settings;
        let text = |field: &'static str,
                    label: &'static str,
                    value: &str,
                    apply: fn(&mut OperationForm, String)| {
            let (settings, on_change) = (s.clone(), self.on_change.clone());
            let oninput = Callback::from(move |event: InputEvent| {
                let mut next = settings.clone();
                apply(
                    &mut next.form,
                    event.target_unchecked_into::<HtmlInputElement>().value(),
                );
                on_change.emit(next);
            });
            let id = format!("input-{field}");
            html! {
                <div class="field">
                    <label for={id.clone()}>{ label }</label>
                    <input id={id} type="text" autocomplete="off" spellcheck="false" value={value.to_owned()} {oninput} />
                </div>
            }
        };
        let number = |apply: fn(&mut Settings, f64)| {
            let (settings, on_change) = (s.clone(), self.on_change.clone());
            Callback::from(move |value: f64| {
                let mut next = settings.clone();
                apply(&mut next, value);
                on_change.emit(next);
            })
        };
        let on_operation = {
            let (settings, on_change) = (s.clone(), self.on_change.clone());
            Callback::from(move |slug: String| {
                if let Some(operation) = LabOperation::from_slug(&slug) {
                    on_change.emit(Settings {
                        operation,
                        ..settings.clone()
                    });
                }
            })
        };
        let on_count_up = {
            let (settings, on_change) = (s.clone(), self.on_change.clone());
            Callback::from(move |on: bool| {
                let mut next = settings.clone();
                next.run.count_up = on;
                on_change.emit(next);
            })
        };
        let choices = LabOperation::ALL
            .iter()
            .map(|op| {
                (
                    AttrValue::from(op.slug()),
                    AttrValue::from(format!("{op}: {}", op.describe())),
                )
            })
            .collect::<Vec<_>>();
        let inputs = match s.operation.service() {
            Service::Calculator => html! { <>
                { text("a", "a", &s.form.a, |f, v| f.a = v) }
                { text("b", "b", &s.form.b, |f, v| f.b = v) }
            </> },
            Service::Store => html! { <>
                { text("key", "key", &s.form.key, |f, v| f.key = v) }
                if !matches!(s.operation, LabOperation::GetValue | LabOperation::DeleteValue) {
                    { text("value", "value", &s.form.value, |f, v| f.value = v) }
                }
            </> },
            Service::Account => html! { <>
                { text("account", "account", &s.form.account, |f, v| f.account = v) }
                if s.operation != LabOperation::GetBalance {
                    { text("amount", "amount ($)", &s.form.amount, |f, v| f.amount = v) }
                }
            </> },
        };
        let blocked = self.running || self.problem.is_some();
        let on_seed = {
            let (settings, on_change) = (s.clone(), self.on_change.clone());
            Callback::from(move |event: Event| {
                let text = event.target_unchecked_into::<HtmlInputElement>().value();
                if let Ok(seed) = text.trim().parse::<u64>() {
                    on_change.emit(Settings {
                        seed,
                        ..settings.clone()
                    });
                }
            })
        };
        html! {
            <fieldset class="lab-fieldset" data-testid="operation-panel">
                <legend>{ "Operation" }</legend>
                <SelectField id="operation" label="Call" selected={s.operation.slug()} choices={choices}
                    disabled={self.running}
                    hint={if s.operation.idempotent() {
                        "Idempotent: running it twice leaves the same state as once."
                    } else {
                        "Not idempotent: each execution changes the state again."
                    }}
                    on_change={on_operation} />
                <div class="operation-inputs">{ inputs }</div>
                if let Some(problem) = &self.problem {
                    <p class="input-error" role="alert">{ problem }</p>
                }
                <div class="run-buttons">
                    <button type="button" class="primary" data-testid="call-once" disabled={blocked} onclick={self.on_call.clone()}>
                        { "Call once" }
                    </button>
                </div>
                <h4>{ "Run many" }</h4>
                <div class="run-many">
                    { NumberField {
                        id: "count".into(),
                        label: "Calls",
                        min: 1.0,
                        max: 5000.0,
                        value: f64::from(s.run.count),
                        disabled: self.running,
                        hint: "Logical calls in the run.",
                        on_change: number(|s, v| s.run.count = v as u32),
                        ..Default::default()
                    }.view() }
                    { NumberField {
                        id: "concurrency".into(),
                        label: "At once",
                        min: 1.0,
                        max: 64.0,
                        value: f64::from(s.run.concurrency),
                        disabled: self.running,
                        hint: "1: one after another.",
                        on_change: number(|s, v| s.run.concurrency = v as u32),
                        ..Default::default()
                    }.view() }
                    { NumberField {
                        id: "pace".into(),
                        label: "Pace",
                        unit: "ms",
                        min: 0.0,
                        max: 10000.0,
                        step: 10.0,
                        value: f64::from(s.run.pace_ms),
                        disabled: self.running,
                        hint: "Call i starts at i × this (0: as fast as possible).",
                        on_change: number(|s, v| s.run.pace_ms = v as u32),
                    }.view() }
                    { Toggle {
                        id: "count-up".into(),
                        label: "Send the call's number as the value",
                        checked: s.run.count_up,
                        disabled: self.running,
                        hint: "Set/append: 1, 2, 3, … instead of the same value.",
                        on_change: on_count_up,
                    }.view() }
                </div>
                <div class="run-buttons">
                    <button type="button" class="primary" data-testid="run-many" disabled={blocked} onclick={self.on_run.clone()}>
                        { format!("Run {} calls", s.run.count) }
                    </button>
                    <button type="button" class="secondary" data-testid="stop" disabled={!self.running} onclick={self.on_stop.clone()}>
                        { "Stop" }
                    </button>
                </div>
                <div class="field seed">
                    <label for="field-seed">{ "Seed" }</label>
                    <input id="field-seed" type="number" min="0" value={s.seed.to_string()} disabled={self.running}
                        aria-describedby="field-seed-hint" onchange={on_seed} />
                    <small id="field-seed-hint" class="field-hint">
                        { "The same seed and the same steps replay the same faults, jitter and outcome (one call at a time; \
                           with several at once the arrival order varies). Start a clean session to replay from it." }
                    </small>
                </div>
                <button type="button" class="secondary" data-testid="new-session" disabled={self.running} onclick={self.on_new_session.clone()}>
                    { "Clean session from this seed" }
                </button>
                <KeyByHand bench={self.bench.clone()} call={s.form.call(s.operation)} faults={s.faults.clone()}
                    seed={s.seed} disabled={self.running} session_resets={self.session_resets}
                    runs_ended={self.runs_ended} />
            </fieldset>
        }
    }
}
