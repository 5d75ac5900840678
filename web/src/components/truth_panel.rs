//! Client view vs server truth: intended, believed, executed.
//!
//! For each run: the calls the student asked for, the calls the client saw
//! succeed, and the executions the server counted; then the state they changed
//! three ways (intended, what the client believes, what the server holds).
//! Duplicates and a state that is off are highlighted — by colour and by a
//! written "+3 duplicates", so they do not depend on colour alone.

use rpc_lab::proto::calculator_v1::LabStats;
use yew::prelude::*;

use crate::truth::Truth;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub truths: Vec<Truth>,
    /// The session's counters after the latest run.
    pub stats: Option<LabStats>,
}

#[component]
pub fn TruthPanel(props: &Props) -> Html {
    if props.truths.is_empty() {
        return html! {
            <p class="hint">{ "Run some calls: this table will compare what you asked for with what the server executed." }</p>
        };
    }
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
                    { for props.truths.iter().map(row) }
                </tbody>
            </table>
            if let Some(stats) = &props.stats {
                <p class="hint server-counters" data-testid="server-counters"
                    data-replays={stats.replays.to_string()}
                    data-faults-fail={stats.faults_fail.to_string()}
                    data-faults-drop={stats.faults_drop.to_string()}
                    data-faults-delay={stats.faults_delay.to_string()}>
                    { format!(
                        "Server counters for this session: {} replays from the idempotency store, {} keys stored; faults injected: {} fail, {} drop, {} delay.",
                        stats.replays, stats.idempotency_keys, stats.faults_fail, stats.faults_drop, stats.faults_delay
                    ) }
                </p>
            }
        </>
    }
}

fn row(truth: &Truth) -> Html {
    let duplicates = truth.duplicates();
    let missing = u64::from(truth.intended).saturating_sub(truth.executed);
    let executed_note = if duplicates > 0 {
        format!(
            "+{duplicates} duplicate{}",
            if duplicates == 1 { "" } else { "s" }
        )
    } else if missing > 0 && truth.operation.idempotent() {
        String::new()
    } else if missing > 0 {
        format!("{missing} never ran")
    } else {
        String::new()
    };
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
            data-off-by={off.to_string()}
            data-client-off-by={wrong.to_string()}>
            <th scope="row">{ &truth.label }</th>
            <td>{ truth.intended }</td>
            <td>{ truth.client_ok }</td>
            <td class={classes!(if duplicates > 0 { Some("bad") } else { None })}>
                { truth.executed }<small class="cell-note">{ executed_note }</small>
            </td>
            <td>{ truth.replayed }</td>
            <td>{ what }</td>
            <td>{ intended }</td>
            <td>{ believed }</td>
            <td class={classes!(if wrong != 0.0 { Some("bad") } else { None })}><span class="amount">{ actual }</span><small class="cell-note">{ off_note }</small></td>
        </tr>
    }
}
