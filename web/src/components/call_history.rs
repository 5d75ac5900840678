//! The last few calls, so a student can compare them.

use rpc_lab::number_format::fixed;
use yew::prelude::*;

use crate::state::{CallRecord, Outcome, format_number};

/// The calls in `history`, newest first (nothing while there are none).
pub fn call_history(history: &[CallRecord]) -> Html {
    if history.is_empty() {
        return html! {};
    }
    html! {
        <section class="card" aria-label="Call history">
        <table class="history" data-testid="history">
            <caption>{ "Recent calls (newest first)" }</caption>
            <thead>
                <tr>
                    <th scope="col">{ "#" }</th>
                    <th scope="col">{ "Call" }</th>
                    <th scope="col">{ "Outcome" }</th>
                    <th scope="col" class="num">{ "Time (ms)" }</th>
                </tr>
            </thead>
            <tbody>
                { for history.iter().map(|record| {
                    let call = format!(
                        "{}({}, {})",
                        record.operation,
                        format_number(record.a),
                        format_number(record.b)
                    );
                    let (class, outcome) = match &record.outcome {
                        Outcome::Value(value) => ("ok", format!("= {}", format_number(*value))),
                        Outcome::Failed(error) => ("error", error.code_name().to_owned()),
                    };
                    html! {
                        <tr class={class}>
                            <td>{ record.number }</td>
                            <td><code>{ call }</code></td>
                            <td class="outcome">{ outcome }</td>
                            <td class="num">{ fixed(record.elapsed_ms, 1) }</td>
                        </tr>
                    }
                }) }
            </tbody>
        </table>
        </section>
    }
}
