//! One button per calculator RPC.

use rpc_lab::calculator::ArithmeticOperation;
use yew::prelude::*;

/// The buttons: the one whose answer is awaited (`in_flight`) shows a
/// spinner, and all are disabled while one is, or while no call can be made
/// (`blocked`: e.g. an operand is not a number).
pub fn operation_buttons(
    in_flight: Option<ArithmeticOperation>,
    blocked: bool,
    on_call: &Callback<ArithmeticOperation>,
) -> Html {
    let disabled = in_flight.is_some() || blocked;
    html! {
        <div class="operations" role="group" aria-label="Operations">
            { for ArithmeticOperation::ALL.iter().map(|&operation| {
                let on_click = on_call.reform(move |_| operation);
                let busy = in_flight == Some(operation);
                html! {
                    <button
                        type="button"
                        data-operation={operation.rpc_name()}
                        class={classes!("operation", busy.then_some("busy"))}
                        title={format!("Send {} to the server", operation.path())}
                        {disabled}
                        onclick={on_click}
                    >
                        <span class="symbol" aria-hidden="true">{ operation.symbol() }</span>
                        <span class="name">{ operation.rpc_name() }</span>
                    </button>
                }
            }) }
        </div>
    }
}
