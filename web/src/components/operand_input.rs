//! A labelled number field.

use web_sys::HtmlInputElement;
use yew::prelude::*;

/// A text field rather than `type="number"`: the browser's number field
/// silently drops input it cannot parse (and `NaN`), hiding exactly the values
/// whose handling the lab wants to show. `name` (`a` or `b`) is also the
/// field's label.
pub fn operand_input(name: &'static str, value: &str, on_change: Callback<String>) -> Html {
    let id = format!("operand-{name}");
    let on_input = {
        Callback::from(move |event: InputEvent| {
            on_change.emit(event.target_unchecked_into::<HtmlInputElement>().value());
        })
    };
    html! {
        <div class="operand">
            <label for={id.clone()}>{ name }</label>
            <input
                id={id}
                type="text"
                inputmode="decimal"
                autocomplete="off"
                spellcheck="false"
                value={value.to_owned()}
                oninput={on_input}
            />
        </div>
    }
}
