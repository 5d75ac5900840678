//! The answer to the latest call: a number, or an error explained.

use rpc_lab::calculator::ArithmeticOperation;
use rpc_lab::number_format::{fixed, shortest};
use yew::prelude::*;

use crate::state::{CallRecord, Outcome, format_number};

/// The call awaited, or else the latest call's answer.
pub fn call_result(latest: Option<&CallRecord>, in_flight: Option<ArithmeticOperation>) -> Html {
    if let Some(operation) = in_flight {
        return html! {
            <div class="result pending" data-testid="result" data-outcome="pending" aria-live="polite">
                { format!("Waiting for the server to answer {operation}…") }
            </div>
        };
    }
    let Some(record) = latest else {
        return html! {
            <div class="result empty" data-testid="result" data-outcome="none" aria-live="polite">
                { "Pick an operation: the answer (or the error) and the call's duration appear here." }
            </div>
        };
    };
    let expression = format!(
        "{} {} {}",
        format_number(record.a),
        record.operation.symbol(),
        format_number(record.b)
    );
    let timing = html! {
        <p class="timing" data-elapsed-ms={fixed(record.elapsed_ms, 3)}>
            { format!("{} took {} ms, from sending the request to reading the reply.", record.operation.path(), fixed(record.elapsed_ms, 1)) }
        </p>
    };
    match &record.outcome {
        Outcome::Value(value) => html! {
            <div class="result ok" data-testid="result" data-outcome="ok" data-call-number={record.number.to_string()} data-value={shortest(*value)} aria-live="polite">
                <p class="answer">
                    <span class="expression">{ expression }</span>
                    { " = " }
                    <strong class="value">{ format_number(*value) }</strong>
                </p>
                { timing }
            </div>
        },
        Outcome::Failed(error) => html! {
            <div class="result error" data-testid="result" data-outcome="error" data-call-number={record.number.to_string()} data-code={error.code_name()} role="alert">
                <p class="answer">
                    <span class="expression">{ expression }</span>
                    { " failed with " }
                    <strong class="code">{ error.code_name() }</strong>
                </p>
                <p class="message">
                    <span class="label">{ "Message: " }</span>
                    <q>{ if error.message.is_empty() { "(no message)" } else { &error.message } }</q>
                </p>
                <p class="explanation">
                    <span class="label">{ "What it means: " }</span>
                    { error.explanation() }
                </p>
                { timing }
            </div>
        },
    }
}
