//! A labelled number field.

use web_sys::HtmlInputElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    /// The operand's name (`a` or `b`); also the field's label.
    pub name: AttrValue,
    pub value: AttrValue,
    pub on_change: Callback<String>,
}

/// A text field rather than `type="number"`: the browser's number field
/// silently drops input it cannot parse (and `NaN`), hiding exactly the values
/// whose handling the lab wants to show.
#[component]
pub fn OperandInput(props: &Props) -> Html {
    let id = format!("operand-{}", props.name);
    let on_input = {
        let on_change = props.on_change.clone();
        Callback::from(move |event: InputEvent| {
            on_change.emit(event.target_unchecked_into::<HtmlInputElement>().value());
        })
    };
    html! {
        <div class="operand">
            <label for={id.clone()}>{ &props.name }</label>
            <input
                id={id}
                type="text"
                inputmode="decimal"
                autocomplete="off"
                spellcheck="false"
                value={props.value.clone()}
                oninput={on_input}
            />
        </div>
    }
}
