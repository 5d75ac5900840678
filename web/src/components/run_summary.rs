//! One line per run or lesson step: calls, outcomes, attempts, time.
//!
//! The numbers a lesson's conclusion talks about — attempts per call, calls
//! rejected by the breaker, time spent in calls that failed anyway — side by
//! side for the steps of a lesson.

use std::fmt::Write;

use rpc_lab::number_format::fixed;
use yew::prelude::*;

use crate::markup::{Esc, raw};
use crate::plot_scale::format_ms;
use crate::run_log::RunLog;

/// The table's head. Attempts timed out, not calls: a call can retry after
/// a timeout and still succeed (the timeouts lesson: 2 timed out, 0
/// failed). Concurrent calls overlap, so the failed calls' summed time can
/// exceed the wall time.
const HEAD: &str = concat!(
    r#"<thead><tr><th scope="col">run</th><th scope="col">calls</th><th scope="col">OK</th>"#,
    r#"<th scope="col">failed</th><th scope="col">attempts sent</th><th scope="col">per call</th>"#,
    r#"<th scope="col">rejected by breaker</th>"#,
    r#"<th scope="col" title="Attempts given up on at their timeout; the call may have retried and succeeded.">attempts timed out</th>"#,
    r#"<th scope="col" title="The failed calls' durations added up. Calls run concurrently, so this can be longer than the wall time.">time in failed calls (summed over calls)</th>"#,
    r#"<th scope="col">slowest call</th><th scope="col">wall time</th></tr></thead>"#,
);

/// The summary table of `log`, one row per step, named by `labels`.
///
/// Written as markup text ([`crate::markup`]): the table has no listeners,
/// and as `html!` its cells cost kilobytes of page.
pub fn run_summary(log: &RunLog, labels: &[String]) -> Html {
    if log.calls.is_empty() {
        return raw(r#"<p class="hint">No calls yet.</p>"#.to_owned());
    }
    let mut out = format!(r#"<table class="summary" data-plot="summary">{HEAD}<tbody>"#);
    for step in 0..labels.len().max(1) {
        let t = log.tally(step);
        let per_call = if t.calls > 0 {
            t.attempts as f64 / t.calls as f64
        } else {
            0.0
        };
        let label = Esc(labels.get(step).map_or("run", String::as_str));
        let _ = write!(
            out,
            r#"<tr data-step="{step}" data-label="{label}" data-calls="{calls}" data-ok="{ok}" data-failed="{failed}" data-attempts="{attempts}" data-rejected="{rejected}" data-timeouts="{timeouts}" data-failed-ms="{}" data-slowest-ms="{}" data-wall-ms="{}"><th scope="row">{label}</th><td>{calls}</td><td>{ok}</td><td>{failed}</td><td>{attempts}</td><td>{}</td><td>{rejected}</td><td>{timeouts}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            fixed(t.failed_ms, 1),
            fixed(t.slowest_ms, 1),
            fixed(t.wall_ms(), 1),
            fixed(per_call, 2),
            format_ms(t.failed_ms),
            format_ms(t.slowest_ms),
            format_ms(t.wall_ms()),
            calls = t.calls,
            ok = t.ok,
            failed = t.failed,
            attempts = t.attempts,
            rejected = t.rejected,
            timeouts = t.timeouts,
        );
    }
    out.push_str("</tbody></table>");
    raw(out)
}
