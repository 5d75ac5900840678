//! Attempts sent to the server per short interval: one small bar chart per
//! step shown, on the same time axis as the timeline below it.
//!
//! This is the server's side of a retry storm. Without jitter, callers that
//! failed together retry together, and the bars stand in tall, separate
//! stripes; with jitter the same retries spread into a low, even band. The
//! strips of several steps share their bins and their height scale, so a
//! taller bar means more requests at once, whatever the step.
//!
//! Each bar carries `data-count` and `data-start-ms`, each strip
//! `data-concentration` (see [`crate::attempt_rate::concentration`]).

use rpc_lab::number_format::{fixed, shortest};
use yew::prelude::*;

use crate::attempt_rate::RateBins;
use crate::plot_scale::{CountAxis, Linear, TimeAxis, counted, format_ms, format_number, px};

/// The same frame as the timeline, so the bars stand above the attempts
/// they count.
pub const WIDTH: f64 = 840.0;
pub const LEFT: f64 = 66.0;
pub const RIGHT: f64 = 56.0;
const TITLE_H: f64 = 22.0;
const STRIP_H: f64 = 54.0;
const STRIP_GAP: f64 = 22.0;
const BOTTOM: f64 = 24.0;

/// One step's counts.
#[derive(Clone, Debug, PartialEq)]
pub struct RateStrip {
    pub step: usize,
    pub name: String,
    pub counts: Vec<usize>,
    pub concentration: f64,
}

#[derive(PartialEq)]
pub struct AttemptRatePlot {
    pub strips: Vec<RateStrip>,
    pub bins: RateBins,
    /// The timeline's axis: time since each step began.
    pub axis: TimeAxis,
}

fn strip(strip: &RateStrip, top: f64, bins: RateBins, x: &Linear, y_axis: CountAxis) -> Html {
    let bottom = top + STRIP_H;
    let y = Linear::new((0.0, y_axis.top as f64), (bottom, top));
    let peak = strip.counts.iter().copied().max().unwrap_or(0);
    let total: usize = strip.counts.iter().sum();
    let bars = strip.counts.iter().enumerate().map(|(bin, &count)| {
        let start = bin as f64 * bins.width_ms;
        let (x0, x1) = (x.at(start), x.at(start + bins.width_ms));
        let h = bottom - y.at(count as f64);
        html! {
            <rect class="rate-bar" data-bin={bin.to_string()} data-count={count.to_string()}
                  data-start-ms={fixed(start, 3)}
                  x={px(x0 + 0.5)} y={px(bottom - h)} width={px((x1 - x0 - 1.0).max(1.0))} height={px(h)}
                  fill="#0072B2" stroke="none">
                <title>{ format!("{} sent from {} to {}", counted(count, "attempt"), format_ms(start), format_ms(start + bins.width_ms)) }</title>
            </rect>
        }
    });
    let ticks = y_axis.ticks().map(|count| {
        let at = px(y.at(count as f64));
        html! {
            <g class="y-tick" data-count={count.to_string()}>
                <line class="grid" x1={px(LEFT)} x2={px(WIDTH - RIGHT)} y1={at.clone()} y2={at.clone()} stroke="#e3e7f0" />
                <text class="tick" x={px(LEFT - 6.0)} y={px(y.at(count as f64) + 4.0)} text-anchor="end">{ count.to_string() }</text>
            </g>
        }
    });
    html! {
        <g class="rate-strip" data-step={strip.step.to_string()} data-step-label={strip.name.clone()}
           data-attempts={total.to_string()} data-peak={peak.to_string()}
           data-concentration={fixed(strip.concentration, 4)}>
            <text class="strip-label" x={px(LEFT)} y={px(top - 6.0)}>
                { format!("{} — {}, at most {peak} per {}", strip.name, counted(total, "attempt"), format_ms(bins.width_ms)) }
            </text>
            { for ticks }
            { for bars }
            <line class="axis" x1={px(LEFT)} x2={px(WIDTH - RIGHT)} y1={px(bottom)} y2={px(bottom)} stroke="#5a6478" />
        </g>
    }
}

impl AttemptRatePlot {
    /// One strip per step on the timeline's time axis.
    pub fn view(&self) -> Html {
        let x = self.axis.scale(LEFT, WIDTH - RIGHT);
        let peak = self
            .strips
            .iter()
            .flat_map(|s| s.counts.iter().copied())
            .max()
            .unwrap_or(0);
        let y_axis = CountAxis::covering(peak, 2);
        let n = self.strips.len().max(1) as f64;
        let height = TITLE_H + n * (STRIP_H + STRIP_GAP) + BOTTOM;
        let last_bottom = TITLE_H + n * (STRIP_H + STRIP_GAP);
        let time_ticks = self.axis.ticks().map(|ms| {
        let at = px(x.at(ms));
        html! {
            <text class="tick" x={at} y={px(last_bottom + 14.0)} text-anchor="middle">{ format_ms(ms) }</text>
        }
    });
        let per = format_ms(self.bins.width_ms);
        html! {
            <figure class="plot rate-plot">
                <svg viewBox={format!("0 0 {} {}", shortest(WIDTH), px(height))} role="img" data-plot="attempt-rate"
                     data-bin-ms={format_number(self.bins.width_ms)} data-strips={self.strips.len().to_string()}
                     aria-label={format!("Attempts sent to the server per {per}, for each step shown")}>
                    <text class="plot-title" x={px(LEFT)} y="14">
                        { format!("Attempts sent to the server per {per} — what the server sees (same time axis as the timeline)") }
                    </text>
                    { for self.strips.iter().enumerate().map(|(i, s)| {
                        strip(s, TITLE_H + STRIP_GAP - 4.0 + i as f64 * (STRIP_H + STRIP_GAP), self.bins, &x, y_axis)
                    }) }
                    { for time_ticks }
                </svg>
            </figure>
        }
    }
}
