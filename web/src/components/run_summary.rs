//! One line per run or lesson step: calls, outcomes, attempts, time.
//!
//! The numbers a lesson's conclusion talks about — attempts per call, calls
//! rejected by the breaker, time spent in calls that failed anyway — side by
//! side for the steps of a lesson.

use rpc_lab::number_format::fixed;
use yew::prelude::*;

use crate::plot_scale::format_ms;
use crate::run_log::RunLog;

/// The summary table of `log`, one row per step, named by `labels`.
pub fn run_summary(log: &RunLog, labels: &[String]) -> Html {
    if log.calls.is_empty() {
        return html! { <p class="hint">{ "No calls yet." }</p> };
    }
    let steps = labels.len().max(1);
    html! {
        <table class="summary" data-plot="summary">
            <thead>
                <tr>
                    <th scope="col">{ "run" }</th>
                    <th scope="col">{ "calls" }</th>
                    <th scope="col">{ "OK" }</th>
                    <th scope="col">{ "failed" }</th>
                    <th scope="col">{ "attempts sent" }</th>
                    <th scope="col">{ "per call" }</th>
                    <th scope="col">{ "rejected by breaker" }</th>
                    // Attempts, not calls: a call can retry after a timeout and
                    // still succeed (the timeouts lesson: 2 timed out, 0 failed).
                    <th scope="col" title="Attempts given up on at their timeout; the call may have retried and succeeded.">
                        { "attempts timed out" }
                    </th>
                    // Concurrent calls overlap, so this sum can exceed the wall time.
                    <th scope="col" title="The failed calls' durations added up. Calls run concurrently, so this can be longer than the wall time.">
                        { "time in failed calls (summed over calls)" }
                    </th>
                    <th scope="col">{ "slowest call" }</th>
                    <th scope="col">{ "wall time" }</th>
                </tr>
            </thead>
            <tbody>
                { for (0..steps).map(|step| {
                    let t = log.tally(step);
                    let slowest = t.slowest_ms;
                    let per_call = if t.calls > 0 { t.attempts as f64 / t.calls as f64 } else { 0.0 };
                    let label = labels.get(step).cloned().unwrap_or_else(|| "run".into());
                    html! {
                        <tr data-step={step.to_string()} data-label={label.clone()}
                            data-calls={t.calls.to_string()} data-ok={t.ok.to_string()}
                            data-failed={t.failed.to_string()} data-attempts={t.attempts.to_string()}
                            data-rejected={t.rejected.to_string()} data-timeouts={t.timeouts.to_string()}
                            data-failed-ms={fixed(t.failed_ms, 1)}
                            data-slowest-ms={fixed(slowest, 1)}
                            data-wall-ms={fixed(t.wall_ms(), 1)}>
                            <th scope="row">{ label }</th>
                            <td>{ t.calls }</td>
                            <td>{ t.ok }</td>
                            <td>{ t.failed }</td>
                            <td>{ t.attempts }</td>
                            <td>{ fixed(per_call, 2) }</td>
                            <td>{ t.rejected }</td>
                            <td>{ t.timeouts }</td>
                            <td>{ format_ms(t.failed_ms) }</td>
                            <td>{ format_ms(slowest) }</td>
                            <td>{ format_ms(t.wall_ms()) }</td>
                        </tr>
                    }
                }) }
            </tbody>
        </table>
    }
}
