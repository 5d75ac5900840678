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

use rpc_lab::number_format::shortest;
use yew::prelude::*;

use crate::truth::{ServerCounters, Truth};

/// The table of `truths`, one row per run, and what the server counted.
pub fn truth_panel(truths: &[Truth]) -> Html {
    if truths.is_empty() {
        return html! {
            <p class="hint">{ "Run some calls: this table will compare what you asked for with what the server executed." }</p>
        };
    }
    let findings: Vec<(usize, String)> = truths
        .iter()
        .enumerate()
        .flat_map(|(step, truth)| truth.findings().into_iter().map(move |f| (step, f)))
        .collect();
    // The whole table's counters: the sum of its runs.
    let total = truths
        .iter()
        .fold(ServerCounters::default(), |sum, t| sum.plus(t.counters));
    html! {
        <>
            <table class="truth" data-plot="truth">
                <thead>
                    <tr>
                        <th scope="col">{ "run" }</th>
                        <th scope="col">{ "intended calls" }</th>
                        <th scope="col">{ "client saw OK" }</th>
                        <th scope="col">{ "server executed" }</th>
                        <th scope="col">{ "replayed" }</th>
                        <th scope="col">{ "state" }</th>
                        <th scope="col">{ "intended" }</th>
                        <th scope="col">{ "client believes" }</th>
                        <th scope="col">{ "server holds" }</th>
                    </tr>
                </thead>
                <tbody>
                    { for truths.iter().map(row) }
                </tbody>
            </table>
            if !findings.is_empty() {
                <ul class="findings" data-testid="findings">
                    { for findings.into_iter().map(|(step, text)| html! {
                        <li data-step={step.to_string()}>{ text }</li>
                    }) }
                </ul>
            }
            <div class="hint server-counters" data-testid="server-counters"
                data-replays={total.replays.to_string()}
                data-faults-fail={total.faults_fail.to_string()}
                data-faults-drop={total.faults_drop.to_string()}
                data-faults-delay={total.faults_delay.to_string()}
                data-key-reuse-rejected={total.key_reuse_rejected.to_string()}>
                <p>{ "What else the server counted, run by run (each run's own numbers):" }</p>
                <ul>
                    { for truths.iter().enumerate().map(|(step, truth)| {
                        let c = &truth.counters;
                        html! {
                            <li data-step={step.to_string()} data-label={truth.label.clone()}
                                data-replays={c.replays.to_string()}
                                data-keys-stored={c.keys_stored.to_string()}
                                data-key-reuse-rejected={c.key_reuse_rejected.to_string()}
                                data-faults-fail={c.faults_fail.to_string()}
                                data-faults-drop={c.faults_drop.to_string()}
                                data-faults-delay={c.faults_delay.to_string()}>
                                <strong>{ &truth.label }</strong>{ ": " }{ c.describe() }
                            </li>
                        }
                    }) }
                </ul>
            </div>
        </>
    }
}

fn row(truth: &Truth) -> Html {
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
        Some(e) if wrong != 0.0 => {
            html! { <>{ "the client is off by " }<span class="amount">{ e.format(wrong) }</span></> }
        }
        Some(e) if off != 0.0 => {
            html! { <><span class="amount">{ e.format(off) }</span>{ " from the intention" }</> }
        }
        _ => Html::default(),
    };
    html! {
        <tr data-label={truth.label.clone()}
            data-operation={truth.operation.slug()}
            data-intended={truth.intended.to_string()}
            data-client-ok={truth.client_ok.to_string()}
            data-executed={truth.executed.to_string()}
            data-replayed={truth.replayed.to_string()}
            data-duplicates={duplicates.to_string()}
            data-duplicates-harmless={(duplicates > 0 && truth.duplicates_harmless()).to_string()}
            data-unseen={truth.unseen().to_string()}
            data-answered={truth.seen.answered.to_string()}
            data-off-by={shortest(off)}
            data-client-off-by={shortest(wrong)}>
            <th scope="row">{ &truth.label }</th>
            <td>{ truth.intended }</td>
            <td>{ truth.client_ok }</td>
            <td class={classes!(if harmful { Some("bad") } else if duplicates > 0 { Some("harmless") } else { None })}>
                { truth.executed }
                { for truth.executed_notes().into_iter().map(|note| html! { <small class="cell-note">{ note }</small> }) }
            </td>
            <td>{ truth.replayed }</td>
            <td>{ what }</td>
            <td>{ intended }</td>
            <td>{ believed }</td>
            <td class={classes!(if wrong != 0.0 { Some("bad") } else { None })}><span class="amount">{ actual }</span><small class="cell-note">{ off_note }</small></td>
        </tr>
    }
}
