//! Client view vs server truth: intended, believed, executed.
//!
//! For each run: the calls the student asked for, the calls the client saw
//! succeed, and the executions the server counted; then the state they changed
//! three ways (intended, what the client believes, what the server holds).
//! Duplicates and a state that is off are highlighted — by colour and by a
//! written "+3 duplicates", so they do not depend on colour alone; duplicates
//! of an idempotent operation are written out but not alarmed about. Under
//! the table, in sentences with each run's own numbers, what the client never
//! saw, and the server's other counters for each run.

use std::fmt::Write;

use rpc_lab::number_format::shortest;
use yew::prelude::*;

use crate::markup::{Esc, raw};
use crate::truth::{ServerCounters, Truth};

/// The table of `truths`, one row per run, and what the server counted.
///
/// Written as markup text ([`crate::markup`]): the table has no listeners,
/// and as `html!` its cells cost kilobytes of page. The runs' labels and
/// every sentence go through [`Esc`].
pub fn truth_panel(truths: &[Truth]) -> Html {
    if truths.is_empty() {
        return raw(r#"<p class="hint">Run some calls: this table will compare what you asked for with what the server executed.</p>"#.to_owned());
    }
    // The whole table's counters: the sum of its runs.
    let total = truths
        .iter()
        .fold(ServerCounters::default(), |sum, t| sum.plus(t.counters));
    let mut out = String::from(concat!(
        r#"<table class="truth" data-plot="truth"><thead><tr><th scope="col">run</th>"#,
        r#"<th scope="col">intended calls</th><th scope="col">client saw OK</th>"#,
        r#"<th scope="col">server executed</th><th scope="col">replayed</th><th scope="col">state</th>"#,
        r#"<th scope="col">intended</th><th scope="col">client believes</th>"#,
        r#"<th scope="col">server holds</th></tr></thead><tbody>"#,
    ));
    for truth in truths {
        row(&mut out, truth);
    }
    out.push_str("</tbody></table>");
    let mut findings = truths
        .iter()
        .enumerate()
        .flat_map(|(step, truth)| truth.findings().into_iter().map(move |f| (step, f)))
        .peekable();
    if findings.peek().is_some() {
        out.push_str(r#"<ul class="findings" data-testid="findings">"#);
        for (step, text) in findings {
            let _ = write!(out, r#"<li data-step="{step}">{}</li>"#, Esc(&text));
        }
        out.push_str("</ul>");
    }
    let _ = write!(
        out,
        r#"<div class="hint server-counters" data-testid="server-counters" data-replays="{}" data-faults-fail="{}" data-faults-drop="{}" data-faults-delay="{}" data-key-reuse-rejected="{}"><p>What else the server counted, run by run (each run's own numbers):</p><ul>"#,
        total.replays,
        total.faults_fail,
        total.faults_drop,
        total.faults_delay,
        total.key_reuse_rejected,
    );
    for (step, truth) in truths.iter().enumerate() {
        let c = &truth.counters;
        let label = Esc(&truth.label);
        let _ = write!(
            out,
            r#"<li data-step="{step}" data-label="{label}" data-replays="{}" data-keys-stored="{}" data-key-reuse-rejected="{}" data-faults-fail="{}" data-faults-drop="{}" data-faults-delay="{}"><strong>{label}</strong>: {}</li>"#,
            c.replays,
            c.keys_stored,
            c.key_reuse_rejected,
            c.faults_fail,
            c.faults_drop,
            c.faults_delay,
            Esc(&c.describe()),
        );
    }
    out.push_str("</ul></div>");
    raw(out)
}

/// One run's row.
fn row(out: &mut String, truth: &Truth) {
    let duplicates = truth.duplicates();
    let harmful = duplicates > 0 && !truth.duplicates_harmless();
    let (what, intended, believed, actual, off) = match &truth.effect {
        Some(e) => (
            e.what.clone(),
            e.format(e.intended),
            e.format(e.believed),
            e.format(e.actual),
            e.off_by(),
        ),
        None => ("—".into(), "—".into(), "—".into(), "—".into(), 0.0),
    };
    // Red only where the client is wrong about the state; a state short of
    // the intention because calls failed (and the client knows it) is not.
    let wrong = truth.effect.as_ref().map_or(0.0, |e| e.client_wrong_by());
    let off_note = match &truth.effect {
        Some(e) if wrong != 0.0 => format!(
            r#"the client is off by <span class="amount">{}</span>"#,
            Esc(&e.format(wrong))
        ),
        Some(e) if off != 0.0 => format!(
            r#"<span class="amount">{}</span> from the intention"#,
            Esc(&e.format(off))
        ),
        _ => String::new(),
    };
    let executed_class = if harmful {
        r#" class="bad""#
    } else if duplicates > 0 {
        r#" class="harmless""#
    } else {
        ""
    };
    let label = Esc(&truth.label);
    let _ = write!(
        out,
        r#"<tr data-label="{label}" data-operation="{}" data-intended="{}" data-client-ok="{}" data-executed="{}" data-replayed="{}" data-duplicates="{duplicates}" data-duplicates-harmless="{}" data-unseen="{}" data-answered="{}" data-off-by="{}" data-client-off-by="{}"><th scope="row">{label}</th><td>{}</td><td>{}</td><td{executed_class}>{}"#,
        truth.operation.slug(),
        truth.intended,
        truth.client_ok,
        truth.executed,
        truth.replayed,
        duplicates > 0 && truth.duplicates_harmless(),
        truth.unseen(),
        truth.seen.answered,
        shortest(off),
        shortest(wrong),
        truth.intended,
        truth.client_ok,
        truth.executed,
    );
    for note in truth.executed_notes() {
        let _ = write!(out, r#"<small class="cell-note">{}</small>"#, Esc(&note));
    }
    let _ = write!(
        out,
        r#"</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td{}><span class="amount">{}</span><small class="cell-note">{off_note}</small></td></tr>"#,
        truth.replayed,
        Esc(&what),
        Esc(&intended),
        Esc(&believed),
        if wrong != 0.0 { r#" class="bad""# } else { "" },
        Esc(&actual),
    );
}
