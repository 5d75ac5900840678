//! Buttons that choose which lesson step a plot shows: one per step, named
//! by its variant ("keys off", "full jitter"), and "all steps".
//!
//! The timeline and the latency histograms each have one, so a student can
//! look at one variant's attempts and another's latencies side by side.

use std::ops::Range;

use yew::prelude::*;

use crate::step_view::{Shown, step_name};

#[derive(PartialEq)]
pub struct StepPicker {
    /// The steps offered (see [`crate::step_view::picker_steps`]).
    pub steps: Range<usize>,
    pub labels: Vec<String>,
    /// The step shown now; `None` for all of them.
    pub shown: Option<usize>,
    /// What the buttons choose for, for screen readers.
    pub purpose: AttrValue,
    pub on_pick: Callback<Shown>,
}

impl StepPicker {
    /// The buttons, the shown step pressed.
    pub fn view(&self) -> Html {
        let option = |value: Shown, text: String, step: String| {
            let selected = match value {
                Shown::All => self.shown.is_none(),
                Shown::Step(s) => self.shown == Some(s),
                Shown::Latest => false,
            };
            let on_pick = self.on_pick.clone();
            html! {
                <button type="button" class="secondary step-choice" aria-pressed={selected.to_string()}
                    data-step={step} onclick={Callback::from(move |_: MouseEvent| on_pick.emit(value))}>
                    { text }
                </button>
            }
        };
        html! {
            <div class="step-picker" role="group" aria-label={self.purpose.clone()}>
                { for self.steps.clone().map(|s| option(Shown::Step(s), step_name(&self.labels, s), s.to_string())) }
                { option(Shown::All, "all steps".into(), "all".into()) }
            </div>
        }
    }
}
