//! Two latency histograms side by side: logical calls and single attempts.
//!
//! The two answer different questions. An *attempt* is one request on the
//! wire: how fast the server and network are. A *logical call* is what the
//! program waited for: every attempt it needed, plus the backoff between
//! them. Retries rescue calls that would have failed, and the price shows
//! up here, in the calls' tail (p99). Both histograms share their bins and
//! their bar scale ([`Bins::shared`]), so equal bars mean equal things.

use rpc_lab::number_format::fixed;
use yew::prelude::*;

use super::latency_histogram::{Fill, LatencyHistogram};
use super::step_picker::StepPicker;
use crate::latency::{Bins, attempt_timeouts, summarize};
use crate::run_log::RunLog;
use crate::step_view::{Pick, picker_steps};

const BINS: usize = 24;

/// The histograms of `log`, with a step picker named by `labels` in a
/// multi-step lesson.
///
/// `pick` is the step the student picked; the newest step is shown by
/// default (`Shown::Latest`), and again after every new step. The pick is
/// kept by the live part that draws this ([`super::LivePlots`]), so the
/// panel needs no component of its own.
pub fn latency_panel(log: &RunLog, labels: &[String], pick: &UseStateHandle<Pick>) -> Html {
    let steps = log.steps();
    let step = match pick.shown(steps).resolve(steps) {
        // A plain run's one step is the whole log.
        Some(_) if steps == 1 => None,
        step => step,
    };
    let (calls, attempts) = log.latencies(step);
    let attempts = &attempts;
    // The timeout the attempts were given: where the attempts' histogram
    // is cut off, and what a timeout should clear (the tail, p99).
    let timeouts = attempt_timeouts(log, step);
    // A lesson's steps differ in one setting; mixing their latencies would
    // blur exactly the difference the lesson is about.
    let picker = (steps > 1).then(|| {
        let pick = pick.clone();
        html! {
            { StepPicker {
                steps: picker_steps(steps),
                labels: labels.to_vec(),
                shown: step,
                purpose: "which calls the histograms show".into(),
                on_pick: Callback::from(move |shown| pick.set(pick.choose(shown, steps))),
            }.view() }
        }
    });

    let body = if calls.is_empty() && attempts.is_empty() {
        html! { <p class="plot-empty">{ "No finished calls yet: latencies appear as calls end." }</p> }
    } else {
        let bins = Bins::shared_reaching(
            &[&calls, attempts],
            BINS,
            timeouts.iter().copied().reduce(f64::max),
        );
        let (call_counts, attempt_counts) = (bins.histogram(&calls), bins.histogram(attempts));
        let y_max = call_counts
            .iter()
            .chain(&attempt_counts)
            .copied()
            .max()
            .unwrap_or(0);
        html! {
            <div class="histograms">
                { LatencyHistogram {
                    title: "logical calls".into(),
                    noun: "logical calls".into(),
                    bins: bins.clone(),
                    counts: call_counts,
                    summary: summarize(&calls),
                    y_max,
                    fill: Fill::Solid,
                    timeouts: Vec::new(),
                }.view() }
                { LatencyHistogram {
                    title: "attempts".into(),
                    noun: "attempts sent".into(),
                    bins,
                    counts: attempt_counts,
                    summary: summarize(attempts),
                    y_max,
                    fill: Fill::Hatched,
                    timeouts: timeouts.clone(),
                }.view() }
            </div>
        }
    };

    html! {
        <div class="latency-panel" data-plot="latency"
                 data-step={step.map_or("all".into(), |s| s.to_string())}
                 data-calls={calls.len().to_string()} data-attempts={attempts.len().to_string()}
                 data-timeouts={timeouts.iter().map(|t| fixed(*t, 3)).collect::<Vec<_>>().join(" ")}>
            { for picker }
            <p class="hint">
                { "A logical call includes every attempt it needed and the backoff waits between them, \
                   so with retries it takes longer than any one of its attempts. The solid line on the \
                   attempts is the timeout each attempt was given (grpc-timeout): an attempt still \
                   unanswered then is given up. An attempt's time is this page's, from handing the \
                   request to the browser to reading its reply: with a local server, mostly the \
                   browser's own work. The server's time for each request is in the server's view \
                   below (hover a request)." }
            </p>
            { body }
        </div>
    }
}
