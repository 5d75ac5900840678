//! Two latency histograms side by side: logical calls and single attempts.
//!
//! The two answer different questions. An *attempt* is one request on the
//! wire: how fast the server and network are. A *logical call* is what the
//! program waited for: every attempt it needed, plus the backoff between
//! them. Retries rescue calls that would have failed, and the price shows
//! up here, in the calls' tail (p99). Both histograms share their bins and
//! their bar scale ([`Bins::shared`]), so equal bars mean equal things.

use yew::prelude::*;

use super::latency_histogram::{Fill, LatencyHistogram};
use crate::latency::{Bins, summarize};
use crate::run_log::LogView;

const BINS: usize = 24;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub log: LogView,
    /// The steps' names, for the step picker of a multi-step lesson.
    #[prop_or_default]
    pub labels: Vec<String>,
}

/// Which calls the histograms show.
#[derive(Clone, Copy, PartialEq)]
enum Shown {
    /// The newest step: in a lesson, the variant just run.
    Latest,
    All,
    Step(usize),
}

#[component]
pub fn LatencyPanel(props: &Props) -> Html {
    let shown = use_state(|| Shown::Latest);
    let log = props.log.log.borrow();
    let steps = log.steps();
    let step = match *shown {
        Shown::All => None,
        Shown::Step(step) if step < steps => Some(step),
        _ if steps > 1 => Some(steps - 1),
        _ => None,
    };
    let (calls, attempts) = log.latencies(step);
    let attempts = &attempts;
    // A lesson's steps differ in one setting; mixing their latencies would
    // blur exactly the difference the lesson is about.
    let picker = (steps > 1).then(|| {
        let option = |value: Shown, text: String| {
            let shown = shown.clone();
            let selected = match value {
                Shown::All => step.is_none(),
                Shown::Step(s) => step == Some(s),
                Shown::Latest => false,
            };
            html! {
                <button type="button" class="secondary step-choice" aria-pressed={selected.to_string()}
                    onclick={Callback::from(move |_: MouseEvent| shown.set(value))}>{ text }</button>
            }
        };
        html! {
            <div class="step-picker" role="group" aria-label="which calls the histograms show">
                // The newest six: free play adds a step per run.
                { for (steps.saturating_sub(6)..steps).map(|s| option(
                    Shown::Step(s),
                    props.labels.get(s).cloned().unwrap_or_else(|| format!("step {}", s + 1)),
                )) }
                { option(Shown::All, "all steps".into()) }
            </div>
        }
    });

    let body = if calls.is_empty() && attempts.is_empty() {
        html! { <p class="plot-empty">{ "No finished calls yet: latencies appear as calls end." }</p> }
    } else {
        let bins = Bins::shared(&[&calls, attempts], BINS);
        let (call_counts, attempt_counts) = (bins.histogram(&calls), bins.histogram(attempts));
        let y_max = call_counts
            .iter()
            .chain(&attempt_counts)
            .copied()
            .max()
            .unwrap_or(0);
        html! {
            <div class="histograms">
                <LatencyHistogram title="logical calls" bins={bins.clone()} counts={call_counts}
                                  summary={summarize(&calls)} {y_max} fill={Fill::Solid} />
                <LatencyHistogram title="attempts" {bins} counts={attempt_counts}
                                  summary={summarize(attempts)} {y_max} fill={Fill::Hatched} />
            </div>
        }
    };

    html! {
        <div class="latency-panel" data-plot="latency"
                 data-step={step.map_or("all".into(), |s| s.to_string())}
                 data-calls={calls.len().to_string()} data-attempts={attempts.len().to_string()}>
            { for picker }
            <p class="hint">
                { "A logical call includes every attempt it needed and the backoff waits between them, \
                   so with retries it takes longer than any one of its attempts." }
            </p>
            { body }
        </div>
    }
}
