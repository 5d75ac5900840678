//! One button per calculator RPC.

use rpc_lab::calculator::ArithmeticOperation;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    /// The operation whose answer is awaited; its button shows a spinner.
    pub in_flight: Option<ArithmeticOperation>,
    /// Why no call can be made right now (e.g. an operand is not a number).
    pub blocked: Option<AttrValue>,
    pub on_call: Callback<ArithmeticOperation>,
}

#[component]
pub fn OperationButtons(props: &Props) -> Html {
    let disabled = props.in_flight.is_some() || props.blocked.is_some();
    html! {
        <div class="operations" role="group" aria-label="Operations">
            { for ArithmeticOperation::ALL.iter().map(|&operation| {
                let on_click = props.on_call.reform(move |_| operation);
                let busy = props.in_flight == Some(operation);
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
