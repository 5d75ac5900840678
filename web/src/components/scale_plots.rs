//! The Scale view's four live plots, one drawing function for all of them.
//!
//! Every plot of a load run has the same shape: time since the run started
//! along the bottom (the same axis in all four, so a moment lines up down the
//! page), a few lines of values per 100 ms window, maybe a level drawn
//! across (the capacity, a timeout), maybe the brownout window shaded, maybe
//! the breakers' states as a band along the top, maybe a second scale on the
//! right (budget tokens). [`Chart`] describes one; [`Chart::view`] draws it
//! as SVG. One function instead of four components keeps the page small
//! (each component type costs about 1.6 KB of WebAssembly), and the drawing
//! is written as markup text ([`crate::markup`]), not `html!`, for the same
//! reason: it has no listeners, and each `html!` element is code of its own.
//!
//! Every point carries `data-series`, `data-at-ms` and `data-value`, every
//! level `data-level` and its steps, so a browser test reads what is drawn.

use std::fmt::Write;

use rpc_lab::number_format::shortest;
use yew::prelude::*;

use crate::markup::{Esc, raw};
use crate::plot_scale::{
    CountAxis, Linear, MAX_POINTS, TimeAxis, downsample, format_ms, format_number, px,
};
use crate::run_log::Sample;

// Narrower than the lab's 840-unit plots: the Scale view's column is about
// 560 CSS pixels wide at 1280 and at 1920 (the page's width is capped), so
// 600 units keep a 12-unit label at about 11 pixels, with no sideways scroll.
const WIDTH: f64 = 600.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 58.0;
const BAND_H: f64 = 12.0;
const CHART_H: f64 = 120.0;
const BOTTOM: f64 = 22.0;

/// The Okabe–Ito colours the other plots use, distinguishable with any
/// colour vision.
pub const BLUE: &str = "#0072B2";
pub const ORANGE: &str = "#E69F00";
pub const GREEN: &str = "#009E73";
pub const VERMILION: &str = "#D55E00";
pub const PURPLE: &str = "#CC79A7";
pub const GREY: &str = "#5a6478";
/// The cascade lesson's background calls, apart from the run's own.
pub const BLACK: &str = "#000000";

/// A line of values over time.
pub struct Line {
    /// `data-series`, and what the legend says.
    pub name: &'static str,
    pub color: &'static str,
    pub points: Vec<Sample>,
    /// Drawn against the right-hand scale.
    pub right: bool,
}

/// A level drawn across the plot, in steps: (from ms, to ms, value).
pub struct Level {
    /// `data-level`.
    pub name: &'static str,
    /// What it is, written at its start ("capacity W ÷ S").
    pub label: String,
    pub steps: Vec<(f64, f64, f64)>,
}

pub struct Chart<'a> {
    /// `data-plot`: prefixed `scale-`, as the lab above has plots of its
    /// own (`latency`) and a test must find exactly one.
    pub name: &'static str,
    /// What the plot shows, above it.
    pub title: &'static str,
    pub axis: &'a TimeAxis,
    pub lines: Vec<Line>,
    pub levels: Vec<Level>,
    /// The brownout window, shaded.
    pub shade: Option<(f64, f64)>,
    /// Breakers' states along the top: (from, to, [closed, half-open, open]).
    pub band: Vec<(f64, f64, [u32; 3])>,
    /// The right-hand scale's top and unit, for lines with `right`.
    pub right: Option<(f64, &'static str)>,
}

/// The band's states, in the order of a window's counts, and their colours.
const STATES: [(&str, &str); 3] = [
    ("closed", GREEN),
    ("half-open", ORANGE),
    ("open", VERMILION),
];

impl Chart<'_> {
    pub fn view(&self) -> Html {
        let top = if self.band.is_empty() {
            6.0
        } else {
            BAND_H + 8.0
        };
        let bottom = top + CHART_H;
        let height = bottom + BOTTOM;
        let x = self.axis.scale(LEFT, WIDTH - RIGHT);
        // The left scale covers every left line and every level.
        let highest = self
            .lines
            .iter()
            .filter(|l| !l.right)
            .flat_map(|l| l.points.iter().map(|p| p.value))
            .chain(self.levels.iter().flat_map(|l| l.steps.iter().map(|s| s.2)))
            .fold(0.0, f64::max);
        let counts = CountAxis::covering((highest * 1.05).ceil() as usize, 4);
        let y = Linear::new((0.0, counts.top as f64), (bottom, top));
        let right = self
            .right
            .map(|(max, _)| Linear::new((0.0, max.max(1e-9)), (bottom, top)));

        let mut out = format!(
            r#"<figure class="plot scale-plot" data-plot="{}"><figcaption>{title}</figcaption><svg viewBox="0 0 {} {}" role="img" aria-label="{title}">"#,
            self.name,
            shortest(WIDTH),
            shortest(height),
            title = self.title,
        );
        if let Some((from, to)) = self.shade {
            let (a, b) = (x.at(from), x.at(to));
            let _ = write!(
                out,
                r#"<rect class="shade" data-shade-from-ms="{}" data-shade-to-ms="{}" x="{}" y="{}" width="{}" height="{}" fill="{PURPLE}" fill-opacity="0.15"><title>the brownout: {} to {}</title></rect>"#,
                format_number(from),
                format_number(to),
                px(a),
                px(top),
                px(b - a),
                px(CHART_H),
                format_ms(from),
                format_ms(to),
            );
        }
        for ms in self.axis.ticks() {
            let at = px(x.at(ms));
            let _ = write!(
                out,
                r##"<g class="tick"><line x1="{at}" x2="{at}" y1="{}" y2="{}" stroke="#e3e7f0"/><text x="{at}" y="{}" text-anchor="middle">{}</text></g>"##,
                px(top),
                px(bottom),
                px(bottom + 15.0),
                format_ms(ms),
            );
        }
        for n in counts.ticks() {
            let _ = write!(
                out,
                r#"<text class="tick" x="{}" y="{}" text-anchor="end">{n}</text>"#,
                px(LEFT - 6.0),
                px(y.at(n as f64) + 4.0),
            );
        }
        if let Some(((max, unit), scale)) = self.right.zip(right) {
            for value in [0.0, max / 2.0, max] {
                let _ = write!(
                    out,
                    r#"<text class="tick" x="{}" y="{}">{} {unit}</text>"#,
                    px(WIDTH - RIGHT + 6.0),
                    px(scale.at(value) + 4.0),
                    format_number(value),
                );
            }
        }
        for (from, to, states) in &self.band {
            // One column per span, split by the share of breakers in each state.
            let total: u32 = states.iter().sum();
            let mut at = top - BAND_H - 4.0;
            for ((state, color), n) in STATES.iter().zip(states) {
                if *n == 0 {
                    continue;
                }
                let h = BAND_H * f64::from(*n) / f64::from(total);
                let _ = write!(
                    out,
                    r#"<rect class="band" data-state="{state}" data-breakers="{n}" data-from-ms="{}" data-to-ms="{}" x="{}" y="{}" width="{}" height="{}" fill="{color}"/>"#,
                    format_number(*from),
                    format_number(*to),
                    px(x.at(*from)),
                    px(at),
                    px(x.at(*to) - x.at(*from)),
                    px(h),
                );
                at += h;
            }
        }
        for level in &self.levels {
            let mut d = String::new();
            for (from, to, value) in &level.steps {
                let v = px(y.at(*value));
                let _ = write!(
                    d,
                    "{}{} {v}H{}",
                    if d.is_empty() { "M" } else { "L" },
                    px(x.at(*from)),
                    px(x.at(*to))
                );
            }
            let steps: Vec<String> = level.steps.iter().map(|s| format_number(s.2)).collect();
            let _ = write!(
                out,
                r#"<g class="level" data-level="{}" data-steps="{}"><path d="{d}" fill="none" stroke="{GREY}" stroke-width="1.5" stroke-dasharray="6 4"/></g>"#,
                level.name,
                steps.join(" "),
            );
        }
        for line in &self.lines {
            let scale = if line.right { right.unwrap_or(y) } else { y };
            let points = downsample(&line.points, MAX_POINTS);
            let mut d = String::new();
            for (i, p) in points.iter().enumerate() {
                let _ = write!(
                    d,
                    "{}{} {}",
                    if i == 0 { "M" } else { "L" },
                    px(x.at(p.at_ms)),
                    px(scale.at(p.value))
                );
            }
            let (name, color) = (line.name, line.color);
            let _ = write!(
                out,
                r#"<g class="series" data-series="{name}" data-points="{}"><path d="{d}" fill="none" stroke="{color}" stroke-width="2"/>"#,
                points.len(),
            );
            for p in points.iter() {
                let _ = write!(
                    out,
                    r#"<circle data-series="{name}" data-at-ms="{}" data-value="{}" cx="{}" cy="{}" r="2" fill="{color}"/>"#,
                    format_number(p.at_ms),
                    format_number(p.value),
                    px(x.at(p.at_ms)),
                    px(scale.at(p.value)),
                );
            }
            out.push_str("</g>");
        }
        // The levels' labels last, over the lines: their halo keeps them
        // readable where a line crosses them.
        for level in &self.levels {
            let first = level.steps.first().map_or(0.0, |s| s.2);
            let _ = write!(
                out,
                r#"<text class="threshold-label" data-label-of="{}" x="{}" y="{}">{}</text>"#,
                level.name,
                px(LEFT + 4.0),
                px(y.at(first) - 4.0),
                Esc(&level.label),
            );
        }
        let _ = write!(
            out,
            r#"<line class="axis" x1="{}" x2="{}" y1="{b}" y2="{b}" stroke="{GREY}"/></svg><p class="scale-legend">"#,
            px(LEFT),
            px(WIDTH - RIGHT),
            b = px(bottom),
        );
        let legend = self
            .lines
            .iter()
            .filter(|l| !l.points.is_empty())
            .map(|l| (l.name, l.color, ""))
            .chain(self.levels.iter().map(|l| (l.name, GREY, "dashed")))
            .chain(self.shade.map(|_| ("brownout", PURPLE, "shaded")))
            .chain(
                if self.band.is_empty() {
                    None
                } else {
                    Some(STATES)
                }
                .into_iter()
                .flatten()
                .map(|(s, c)| (s, c, "band")),
            );
        for (name, color, how) in legend {
            let _ = write!(
                out,
                r#"<span class="{how}"><i style="background:{color}"></i>{name}</span>"#
            );
        }
        out.push_str("</p></figure>");
        raw(out)
    }
}
