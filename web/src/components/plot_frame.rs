//! The frame the step plots share: the time grid, the axes, their labels.
//!
//! The attempt timeline, the breaker plot and the budget plot each draw
//! time since the step began along the bottom, across the same width, so
//! that a moment can be read off one plot against another. Drawn here once,
//! their frames cannot drift apart, and the page carries this code once.

use rpc_lab::number_format::fixed;
use yew::prelude::*;

use crate::plot_scale::{Linear, format_ms, px};

/// A time tick at `ms` (placed by `x`): a grid line from `top` to `bottom`
/// and the time written under it.
pub fn time_tick(ms: f64, x: &Linear, top: f64, bottom: f64) -> Html {
    let at = px(x.at(ms));
    html! {
        <g class="tick" data-ms={fixed(ms, 3)}>
            <line class="grid" x1={at.clone()} x2={at.clone()} y1={px(top)} y2={px(bottom)} stroke="#e3e7f0" />
            <text x={at} y={px(bottom + 16.0)} text-anchor="middle">{ format_ms(ms) }</text>
        </g>
    }
}

/// The value axis on the left (`left`, from `top` to `bottom`) and the time
/// axis along the bottom (to `right`).
pub fn axes(left: f64, right: f64, top: f64, bottom: f64) -> Html {
    html! {
        <>
            <line class="axis" x1={px(left)} x2={px(right)} y1={px(bottom)} y2={px(bottom)} stroke="#5a6478" />
            <line class="axis" x1={px(left)} x2={px(left)} y1={px(top)} y2={px(bottom)} stroke="#5a6478" />
        </>
    }
}

/// The value axis's name, written upwards at `x` and centred on `middle`.
pub fn value_label(text: &'static str, x: u32, middle: f64) -> Html {
    html! {
        <text class="axis-label" x={x.to_string()} y={px(middle)} text-anchor="middle"
              transform={format!("rotate(-90 {x} {})", px(middle))}>{ text }</text>
    }
}

/// The time axis's name, centred on `middle` at height `y`.
pub fn time_label(middle: f64, y: f64) -> Html {
    html! {
        <text class="axis-label" x={px(middle)} y={px(y)}
              text-anchor="middle">{ "time since the step began" }</text>
    }
}
