//! The lab's live part: progress, the five plots, the truth table and the
//! run summary — everything that changes while calls run.
//!
//! It redraws on its own, at most every
//! [`REDRAW_MS`](crate::lab::redraw::REDRAW_MS) while calls run and only
//! between attempts (see [`Redraw`](crate::lab::redraw::Redraw)), without redrawing the controls
//! beside it, and measures how long each redraw takes: the numbers the
//! browser tests read from `data-testid="render-stats"`.

use std::rc::Rc;

use rpc_lab::number_format::fixed;
use yew::prelude::*;

use super::{attempt_timeline, breaker_plot, budget_plot, latency_panel, run_summary, truth_panel};
use crate::browser;
use crate::export;
use crate::lab::{LabAction, LastCall, Progress, Runtime};
use crate::step_view::{Pick, Shown};

/// Timeline rows drawn: the newest calls.
const TIMELINE_ROWS: usize = 75;

/// The lab's runtime as a prop: the same lab is always equal to itself, so
/// the controls' redraws never redraw the plots.
#[derive(Clone)]
pub struct RuntimeRef(pub Rc<Runtime>);

impl PartialEq for RuntimeRef {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

#[derive(Properties, PartialEq)]
pub struct Props {
    pub runtime: RuntimeRef,
    /// The breaker's threshold line, when the policy has a breaker.
    pub threshold: Option<f64>,
    /// The budget's full line, when the policy has a budget.
    pub max_tokens: Option<f64>,
}

#[component]
pub fn LivePlots(props: &Props) -> Html {
    let render_started = browser::now_ms();
    let runtime = props.runtime.0.clone();
    let update = use_force_update();
    // The step each picker shows, kept here so the plots themselves need no
    // state: every step on the timeline, the newest in the histograms, until
    // the student picks another.
    let timeline_pick = use_state(|| Pick::new(Shown::All));
    let latency_pick = use_state(|| Pick::new(Shown::Latest));
    runtime
        .redraw
        .register_live(Callback::from(move |()| update.force_update()));
    // How long this redraw took, measured once the DOM is updated.
    {
        let runtime = runtime.clone();
        use_effect(move || {
            let ms = browser::now_ms() - render_started;
            runtime.dispatch(LabAction::Redrawn { ms });
            runtime.redraw.drew();
        });
    }
    let export = |csv: bool| {
        let runtime = runtime.clone();
        Callback::from(move |_: MouseEvent| {
            let log = runtime.log.borrow();
            let labels = runtime.state.borrow().step_labels.clone();
            let result = if csv {
                browser::download(
                    "rpc-lab-run.csv",
                    "text/csv",
                    &export::to_csv(&log, &labels),
                )
            } else {
                browser::download(
                    "rpc-lab-run.json",
                    "application/json",
                    &export::to_json(&log, &labels),
                )
            };
            if let Err(problem) = result {
                runtime.dispatch(LabAction::Problem(problem));
            }
        })
    };

    let (threshold, max_tokens) = (props.threshold, props.max_tokens);
    let state = runtime.state.borrow();
    let log = runtime.log.borrow();
    let render = state.render;
    let average = render.mean_ms();
    let calls_drawn = log.calls.len();
    // Redraws that ended with attempts in flight (they could wait no longer,
    // or an attempt started while the drawing paused): those attempts took
    // longer on this page than on the wire.
    let busy = runtime.redraw.during_attempts();
    html! {
                <div class="lab-plots">
                    <div class="run-status" aria-live="polite">
                        if let Some(Progress { label, done, total }) = &state.running {
                            <div class="progress" data-testid="progress" data-done={done.to_string()} data-total={total.to_string()}>
                                <progress max={total.to_string()} value={done.to_string()} aria-label="calls finished"></progress>
                                <span>{ format!("{label}: {done} of {total} calls finished") }</span>
                            </div>
                        }
                        if let Some(LastCall { text, ok }) = &state.last {
                            <p class={classes!("last-call", if *ok { "ok" } else { "failed" })} data-testid="last-call">{ text }</p>
                        }
                    </div>
                    if let Some(error) = &state.error {
                        <p class="input-error" role="alert" data-testid="lab-error">{ error }</p>
                    }
                    <section class="card plot-card" aria-labelledby="timeline-title">
                        <h3 id="timeline-title">{ "1. Attempt timeline" }</h3>
                        <p class="hint">{ "One row per logical call; each box is one attempt, coloured by how it ended; dashed lines are backoff waits." }</p>
                        { attempt_timeline(&log, TIMELINE_ROWS, &state.step_labels, &timeline_pick) }
                    </section>
                    <section class="card plot-card" aria-labelledby="truth-title">
                        <h3 id="truth-title">{ "2. Client view vs server truth" }</h3>
                        { truth_panel(&state.truths) }
                    </section>
                    <section class="card plot-card" aria-labelledby="breaker-title">
                        <h3 id="breaker-title">{ "3. Circuit breaker" }</h3>
                        { breaker_plot(&log, threshold, &state.step_labels) }
                    </section>
                    <section class="card plot-card" aria-labelledby="latency-title">
                        <h3 id="latency-title">{ "4. Latency: what the program waited vs. what each attempt took" }</h3>
                        { latency_panel(&log, &state.step_labels, &latency_pick) }
                    </section>
                    <section class="card plot-card" aria-labelledby="budget-title">
                        <h3 id="budget-title">{ "5. Retry budget" }</h3>
                        { budget_plot(&log, max_tokens) }
                    </section>
                    <section class="card plot-card" aria-labelledby="summary-title">
                        <h3 id="summary-title">{ "Run summary" }</h3>
                        { run_summary(&log, &state.step_labels) }
                        <div class="export">
                            <button type="button" class="secondary" onclick={export(true)} disabled={calls_drawn == 0}>{ "Export events (CSV)" }</button>
                            <button type="button" class="secondary" onclick={export(false)} disabled={calls_drawn == 0}>{ "Export events (JSON)" }</button>
                        </div>
                    </section>
                    <p class="render-stats" data-testid="render-stats"
                        data-redraws={render.count.to_string()}
                        data-last-ms={fixed(render.last_ms, 2)}
                        data-max-ms={fixed(render.max_ms, 2)}
                        data-mean-ms={fixed(average, 2)} data-during-attempts={busy.to_string()}>
                        { format!("Page: {} redraws, last {} ms, mean {} ms, longest {} ms ({} calls drawn), \
                            only between attempts{}.",
                            render.count, fixed(render.last_ms, 1), fixed(average, 1), fixed(render.max_ms, 1), calls_drawn,
                            if busy > 0 { format!(" but {busy}, which ended with attempts in flight") } else { String::new() }) }
                    </p>
                </div>
    }
}
