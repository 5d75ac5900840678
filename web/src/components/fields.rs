//! Labelled form fields with a one-line explanation: the lab's controls.
//!
//! Every control on the lab page is one of three shapes — a number, a slider
//! with its value shown, an on/off switch — and each says in a sentence what
//! it does. Writing them once keeps the labels, ids and hints consistent, and
//! keeps the keyboard behaviour of native inputs (Tab, arrows, Space).

use rpc_lab::number_format::{parse, shortest};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::plot_scale::clamp;

fn read_number(event: &Event) -> Option<f64> {
    let input: HtmlInputElement = event.target_unchecked_into();
    parse(input.value().trim()).filter(|v| v.is_finite())
}

/// The frame every field shares: a label, the input (and what follows it),
/// and the hint the input is described by.
fn labelled(id: &str, label: &str, hint: &str, class: &'static str, input: Html) -> Html {
    html! {
        <div class={classes!("field", class)}>
            <label for={id.to_owned()}>{ label }</label>
            <span class="field-input">{ input }</span>
            <small id={format!("{id}-hint")} class="field-hint">{ hint }</small>
        </div>
    }
}

/// A number field. Out-of-range input is clamped to `min..=max` when the field
/// loses focus, so the settings never hold a value the control cannot show.
///
/// A plain struct drawn by [`NumberField::view`], not a component, like
/// [`Slider`]: it keeps no state, and every component type adds about 0.7 KB
/// gzipped to the page.
pub struct NumberField {
    /// Also the base of the element's id (`field-<id>`) for labels and tests.
    pub id: AttrValue,
    pub label: &'static str,
    pub hint: &'static str,
    pub value: f64,
    pub min: f64,
    pub max: f64,
    pub step: f64,
    /// Shown after the field ("ms", "%").
    pub unit: &'static str,
    pub disabled: bool,
    pub on_change: Callback<f64>,
}

impl Default for NumberField {
    fn default() -> Self {
        NumberField {
            id: AttrValue::default(),
            label: "",
            hint: "",
            value: 0.0,
            min: 0.0,
            max: 0.0,
            step: 1.0,
            unit: "",
            disabled: false,
            on_change: Callback::noop(),
        }
    }
}

impl NumberField {
    pub fn view(&self) -> Html {
        let id = format!("field-{}", self.id);
        let hint_id = format!("{id}-hint");
        let onchange = {
            let (on_change, min, max) = (self.on_change.clone(), self.min, self.max);
            Callback::from(move |event: Event| {
                if let Some(value) = read_number(&event) {
                    on_change.emit(clamp(value, min, max));
                }
            })
        };
        let input = html! {
            <>
                <input
                    id={id.clone()}
                    type="number"
                    min={shortest(self.min)}
                    max={shortest(self.max)}
                    step={shortest(self.step)}
                    value={shortest(self.value)}
                    disabled={self.disabled}
                    aria-describedby={hint_id}
                    {onchange}
                />
                if !self.unit.is_empty() { <span class="unit">{ self.unit }</span> }
            </>
        };
        labelled(&id, self.label, self.hint, "number", input)
    }
}

/// A range slider with its value written beside it.
///
/// A plain struct drawn by [`Slider::view`], not a component: it keeps no
/// state, and every component type adds about 1.6 KB to the page.
pub struct Slider {
    /// Also the base of the element's id (`field-<id>`) for labels and tests.
    pub id: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub value: f64,
    pub min: f64,
    pub max: f64,
    pub step: f64,
    /// Shown after the value ("ms", "%").
    pub unit: &'static str,
    pub disabled: bool,
    pub on_change: Callback<f64>,
}

impl Slider {
    pub fn view(&self) -> Html {
        let id = format!("field-{}", self.id);
        let hint_id = format!("{id}-hint");
        let oninput = {
            let on_change = self.on_change.clone();
            Callback::from(move |event: InputEvent| {
                if let Some(value) = read_number(&event) {
                    on_change.emit(value);
                }
            })
        };
        let shown = format!("{} {}", shortest(self.value), self.unit);
        let input = html! {
            <>
                <input
                    id={id.clone()}
                    type="range"
                    min={shortest(self.min)}
                    max={shortest(self.max)}
                    step={shortest(self.step)}
                    value={shortest(self.value)}
                    disabled={self.disabled}
                    aria-describedby={hint_id}
                    aria-valuetext={shown.clone()}
                    {oninput}
                />
                <output class="slider-value" for={id.clone()}>{ shown }</output>
            </>
        };
        labelled(&id, self.label, self.hint, "slider", input)
    }
}

/// An on/off switch (a checkbox, so Space toggles it). A plain struct drawn
/// by [`Toggle::view`], not a component (see [`NumberField`]).
#[derive(Default)]
pub struct Toggle {
    pub id: AttrValue,
    pub label: &'static str,
    pub hint: &'static str,
    pub checked: bool,
    pub disabled: bool,
    pub on_change: Callback<bool>,
}

impl Toggle {
    pub fn view(&self) -> Html {
        let id = format!("field-{}", self.id);
        let hint_id = format!("{id}-hint");
        let onchange = {
            let on_change = self.on_change.clone();
            Callback::from(move |event: Event| {
                on_change.emit(event.target_unchecked_into::<HtmlInputElement>().checked());
            })
        };
        html! {
            <div class="field toggle">
                <label for={id.clone()}>
                    <input
                        id={id}
                        type="checkbox"
                        checked={self.checked}
                        disabled={self.disabled}
                        aria-describedby={hint_id.clone()}
                        {onchange}
                    />
                    { " " }{ self.label }
                </label>
                <small id={hint_id} class="field-hint">{ self.hint }</small>
            </div>
        }
    }
}

/// An option of a [`SelectField`]: its value and what it says.
pub type Choice = (AttrValue, AttrValue);

#[derive(Properties, PartialEq)]
pub struct SelectProps {
    pub id: AttrValue,
    pub label: AttrValue,
    #[prop_or_default]
    pub hint: AttrValue,
    pub choices: Vec<Choice>,
    pub selected: AttrValue,
    #[prop_or_default]
    pub disabled: bool,
    pub on_change: Callback<String>,
}

/// A drop-down choice.
///
/// The choice shown is set as the element's `value` after every render, not
/// only by the options' `selected` attributes: once a student has picked an
/// option, the browser stops following `selected`, and a lesson that set up
/// another operation would have left the old one showing — while a run used
/// the new one.
#[component]
pub fn SelectField(props: &SelectProps) -> Html {
    let id = format!("field-{}", props.id);
    let hint_id = format!("{id}-hint");
    let select = use_node_ref();
    {
        let select = select.clone();
        use_effect_with(props.selected.clone(), move |selected| {
            if let Some(element) = select.cast::<web_sys::HtmlSelectElement>() {
                element.set_value(selected);
            }
        });
    }
    let onchange = {
        let on_change = props.on_change.clone();
        Callback::from(move |event: Event| {
            on_change.emit(
                event
                    .target_unchecked_into::<web_sys::HtmlSelectElement>()
                    .value(),
            );
        })
    };
    let input = html! {
        <select ref={select} id={id.clone()} disabled={props.disabled} aria-describedby={hint_id} {onchange}>
            { for props.choices.iter().map(|(value, text)| html! {
                <option value={value.clone()} selected={*value == props.selected}>{ text }</option>
            }) }
        </select>
    };
    labelled(&id, &props.label, &props.hint, "select", input)
}

/// A foldable group of controls (`<details>`): the controls column fits
/// beside the plots they change, and every group's heading still tells its
/// settings. Native `<details>` needs no script and works with the keyboard.
/// A plain struct drawn by [`ControlGroup::view`], not a component (see
/// [`NumberField`]).
#[derive(Default)]
pub struct ControlGroup {
    /// `data-group`, for tests and links.
    pub id: AttrValue,
    pub title: &'static str,
    /// The group's settings in a few words ("on · 4 attempts"), shown while
    /// it is folded, so a folded group still says what it is set to.
    pub state: String,
    /// Unfolded when first drawn; afterwards the student decides.
    pub open: bool,
    pub children: Html,
}

impl ControlGroup {
    pub fn view(self) -> Html {
        html! {
            <details class="control-group" data-group={self.id.clone()} open={self.open}>
                <summary>
                    <span class="group-title">{ self.title }</span>
                    <span class="group-state" data-testid={format!("state-{}", self.id)}>{ self.state }</span>
                </summary>
                <div class="group-body">{ self.children }</div>
            </details>
        }
    }
}
