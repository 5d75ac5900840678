//! The page: the bare calculator (its state in [`crate::state`], its one
//! call here), then the resilience lab, the RPC-vs-REST lesson and the Scale
//! view, which make their own calls (through [`crate::lab`],
//! [`crate::comparison`] and the server's load engine).

use rpc_lab::calculator::ArithmeticOperation;
use rpc_lab::proto::{BinaryOperation, Number};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::components::{
    ResilienceLab, RpcVsRest, ScaleView, ServerView, call_history, call_result, operand_input,
    operation_buttons, server_banner, status_table,
};
use crate::state::{Action, CalculatorState, CallRecord, Outcome};
use crate::{browser, session, wire};

#[component]
pub fn App() -> Html {
    let server = use_memo((), |()| browser::server_choice());
    // This tab's lab session: every call of the page carries it, so the
    // server keeps this tab's values, accounts and counters apart.
    let session = use_memo((), |()| session::tab_name());
    let state = use_reducer(CalculatorState::new);
    let next_number = use_mut_ref(|| 0u64);

    // Clicking an operation: check the operands, then send one gRPC-Web request
    // and time it. This is the whole of the calculator's I/O.
    let on_call = {
        let state = state.clone();
        let base_url = server.base_url.clone();
        let session = (*session).clone();
        Callback::from(move |operation: ArithmeticOperation| {
            let Ok((a, b)) = state.operands() else {
                return; // the buttons are disabled and the reason is shown
            };
            let number = {
                let mut next = next_number.borrow_mut();
                *next += 1;
                *next
            };
            state.dispatch(Action::Started { number, operation });
            let dispatcher = state.dispatcher();
            let (base_url, session) = (base_url.clone(), session.clone());
            spawn_local(async move {
                let transport = tonic_web_wasm_client::Client::new(base_url);
                let mut request = tonic::Request::new(BinaryOperation { a, b });
                session::tag(&mut request, &session);
                let started = browser::now_ms();
                let reply = wire::unary::<_, Number>(transport, &operation.path(), request).await;
                let outcome = match reply {
                    Ok(number) => Outcome::Value(number.into_inner().value),
                    Err(status) => Outcome::Failed(status.into()),
                };
                let elapsed_ms = browser::now_ms() - started;
                dispatcher.dispatch(Action::Finished(CallRecord {
                    number,
                    operation,
                    a,
                    b,
                    outcome,
                    elapsed_ms,
                }));
            });
        })
    };

    let edit_a = Callback::from(state.dispatcher()).reform(Action::EditA);
    let edit_b = Callback::from(state.dispatcher()).reform(Action::EditB);
    let blocked = state.operands().err().map(AttrValue::from);
    let in_flight = state.in_flight.map(|(_, operation)| operation);

    html! {
        <>
            <header class="page-header">
                <h1>{ "RPC Resilience Lab" }</h1>
                <p class="tagline">
                    { "Call a real gRPC server from your browser and watch what happens when calls fail." }
                </p>
            </header>
            <main>
                { server_banner(&server) }
                <section class="card" aria-labelledby="calculator-title">
                    <h2 id="calculator-title">{ "Calculator" }</h2>
                    <p class="hint">
                        { "Each button is one remote procedure call: the page encodes a and b with Protocol Buffers, \
                           sends them over gRPC-Web to " }
                        <code>{ "calculator.v1.Calculator" }</code>
                        { ", and shows the reply. Try dividing by zero, typing NaN or inf, or multiplying 1e308 by 10." }
                    </p>
                    <div class="operands">
                        { operand_input("a", &state.a, edit_a) }
                        { operand_input("b", &state.b, edit_b) }
                    </div>
                    if let Some(reason) = &blocked {
                        <p class="input-error" role="alert" data-testid="input-error">{ reason }</p>
                    }
                    { operation_buttons(in_flight, blocked.is_some(), &on_call) }
                    { call_result(state.latest(), in_flight) }
                </section>
                { call_history(&state.history) }
                { status_table() }
                <ResilienceLab base_url={server.base_url.clone()} session={(*session).clone()} />
                <ServerView base_url={server.base_url.clone()} session={(*session).clone()} />
                <RpcVsRest base_url={server.base_url.clone()} session={(*session).clone()} />
                <ScaleView base_url={server.base_url.clone()} session={(*session).clone()} />
            </main>
        </>
    }
}
