//! The frame the step plots share: the time grid, the axes, their labels.
//!
//! The attempt timeline, the breaker plot and the budget plot each draw
//! time since the step began along the bottom, across the same width, so
//! that a moment can be read off one plot against another. Drawn here once,
//! their frames cannot drift apart, and the page carries this code once.
//!
//! Each part is written as markup text ([`crate::markup`]) into the plot's
//! own; the `Html` forms are for plots still built with `html!`.

use std::fmt::Write;

use rpc_lab::number_format::fixed;
use yew::prelude::*;

use crate::markup::raw;
use crate::plot_scale::{Linear, format_ms, px};

/// A time tick at `ms` (placed by `x`): a grid line from `top` to `bottom`
/// and the time written under it.
pub fn write_time_tick(out: &mut String, ms: f64, x: &Linear, top: f64, bottom: f64) {
    let at = px(x.at(ms));
    let _ = write!(
        out,
        "<g class=\"tick\" data-ms=\"{}\"><line class=\"grid\" x1=\"{at}\" x2=\"{at}\" y1=\"{}\" y2=\"{}\" stroke=\"#e3e7f0\"/>\
         <text x=\"{at}\" y=\"{}\" text-anchor=\"middle\">{}</text></g>",
        fixed(ms, 3),
        px(top),
        px(bottom),
        px(bottom + 16.0),
        format_ms(ms)
    );
}

/// The value axis on the left (`left`, from `top` to `bottom`) and the time
/// axis along the bottom (to `right`).
pub fn write_axes(out: &mut String, left: f64, right: f64, top: f64, bottom: f64) {
    let (left, right, top, bottom) = (px(left), px(right), px(top), px(bottom));
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{left}\" x2=\"{right}\" y1=\"{bottom}\" y2=\"{bottom}\" stroke=\"#5a6478\"/>\
         <line class=\"axis\" x1=\"{left}\" x2=\"{left}\" y1=\"{top}\" y2=\"{bottom}\" stroke=\"#5a6478\"/>"
    );
}

/// The value axis's name, written upwards at `x` and centred on `middle`.
pub fn write_value_label(out: &mut String, text: &str, x: u32, middle: f64) {
    let middle = px(middle);
    let _ = write!(
        out,
        "<text class=\"axis-label\" x=\"{x}\" y=\"{middle}\" text-anchor=\"middle\" \
         transform=\"rotate(-90 {x} {middle})\">{text}</text>"
    );
}

/// The time axis's name, centred on `middle` at height `y`.
pub fn write_time_label(out: &mut String, middle: f64, y: f64) {
    let _ = write!(
        out,
        "<text class=\"axis-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">time since the step began</text>",
        px(middle),
        px(y)
    );
}

/// [`write_time_tick`], as nodes.
pub fn time_tick(ms: f64, x: &Linear, top: f64, bottom: f64) -> Html {
    let mut out = String::new();
    write_time_tick(&mut out, ms, x, top, bottom);
    raw(out)
}

/// [`write_axes`], as nodes.
pub fn axes(left: f64, right: f64, top: f64, bottom: f64) -> Html {
    let mut out = String::new();
    write_axes(&mut out, left, right, top, bottom);
    raw(out)
}

/// [`write_value_label`], as nodes.
pub fn value_label(text: &'static str, x: u32, middle: f64) -> Html {
    let mut out = String::new();
    write_value_label(&mut out, text, x, middle);
    raw(out)
}

/// [`write_time_label`], as nodes.
pub fn time_label(middle: f64, y: f64) -> Html {
    let mut out = String::new();
    write_time_label(&mut out, middle, y);
    raw(out)
}
