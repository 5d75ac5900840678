//! A latency histogram as SVG, with its p50, p90 and p99 marked.
//!
//! Bars carry `data-*` attributes (bin, count) so browser tests read what is
//! drawn. The fill is a colour *and* a pattern (solid or hatched), so the two
//! series still differ for a student who cannot tell the colours apart.

use yew::prelude::*;

use crate::latency::{Bins, Summary};

const WIDTH: f64 = 520.0;
const HEIGHT: f64 = 230.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 40.0;

/// How a series is filled.
#[derive(Clone, Copy, PartialEq)]
pub enum Fill {
    Solid,
    Hatched,
}

#[derive(Properties, PartialEq)]
pub struct Props {
    /// The series' name, e.g. "gRPC-Web"; also `data-protocol`.
    pub title: AttrValue,
    pub bins: Bins,
    pub counts: Vec<usize>,
    pub summary: Summary,
    /// The tallest bar of all series plotted side by side, so heights compare.
    pub y_max: usize,
    pub fill: Fill,
}

#[component]
pub fn LatencyHistogram(props: &Props) -> Html {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let bar_w = plot_w / props.bins.count as f64;
    let y_max = props.y_max.max(1) as f64;
    let x_of = |ms: f64| LEFT + (ms / props.bins.upper()).min(1.0) * plot_w;
    let (color, pattern_id) = match props.fill {
        Fill::Solid => ("#2f5bd3", None),
        Fill::Hatched => (
            "#c2571a",
            Some(format!(
                "hatch-{}",
                props.title.replace(|c: char| !c.is_alphanumeric(), "")
            )),
        ),
    };
    let fill = pattern_id
        .as_ref()
        .map_or(color.to_owned(), |id| format!("url(#{id})"));

    let bars = props.counts.iter().enumerate().map(|(bin, &count)| {
        let h = count as f64 / y_max * plot_h;
        html! {
            <rect
                class="bar" data-bin={bin.to_string()} data-count={count.to_string()}
                x={format!("{:.1}", LEFT + bin as f64 * bar_w + 0.5)} y={format!("{:.1}", TOP + plot_h - h)}
                width={format!("{:.1}", (bar_w - 1.0).max(0.5))} height={format!("{h:.1}")}
                fill={fill.clone()} stroke={color}
            />
        }
    });
    let markers = [
        ("p50", props.summary.p50),
        ("p90", props.summary.p90),
        ("p99", props.summary.p99),
    ];
    let marker_lines = markers.iter().enumerate().map(|(i, (name, ms))| {
        let x = x_of(*ms);
        html! {
            <g class="percentile" data-percentile={*name} data-ms={format!("{ms:.3}")}>
                <line x1={format!("{x:.1}")} x2={format!("{x:.1}")} y1={TOP.to_string()} y2={(TOP + plot_h).to_string()}
                      stroke="#1d2330" stroke-dasharray="4 3" />
                <text x={format!("{:.1}", x + 3.0)} y={format!("{:.1}", TOP + 12.0 + i as f64 * 13.0)} class="marker-label">
                    { format!("{name} {ms:.2} ms") }
                </text>
            </g>
        }
    });
    let ticks = [0.0, 0.5, 1.0].map(|f| {
        let ms = props.bins.upper() * f;
        let x = LEFT + f * plot_w;
        let label = if f == 1.0 { format!("≥{ms:.1}") } else { format!("{ms:.1}") };
        let anchor = if f == 1.0 { "end" } else { "middle" };
        html! { <text x={format!("{x:.1}")} y={(TOP + plot_h + 16.0).to_string()} text-anchor={anchor} class="tick">{ label }</text> }
    });

    html! {
        <figure class="histogram" data-testid="histogram" data-protocol={props.title.clone()}
                data-count={props.summary.count.to_string()} data-p50={format!("{:.3}", props.summary.p50)}
                data-p99={format!("{:.3}", props.summary.p99)}>
            <svg viewBox={format!("0 0 {WIDTH} {HEIGHT}")} role="img"
                 aria-label={format!("{}: latency histogram of {} calls, p50 {:.2} ms, p99 {:.2} ms",
                     props.title, props.summary.count, props.summary.p50, props.summary.p99)}>
                if let Some(id) = &pattern_id {
                    <defs>
                        <pattern id={id.clone()} width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
                            <rect width="6" height="6" fill="#fbe3d3" />
                            <line x1="0" y1="0" x2="0" y2="6" stroke={color} stroke-width="3" />
                        </pattern>
                    </defs>
                }
                <text x={LEFT.to_string()} y="16" class="plot-title">{ format!("{} — {} calls", props.title, props.summary.count) }</text>
                <line x1={LEFT.to_string()} x2={(LEFT + plot_w).to_string()} y1={(TOP + plot_h).to_string()} y2={(TOP + plot_h).to_string()} stroke="#5a6478" />
                <line x1={LEFT.to_string()} x2={LEFT.to_string()} y1={TOP.to_string()} y2={(TOP + plot_h).to_string()} stroke="#5a6478" />
                <text x={(LEFT - 6.0).to_string()} y={(TOP + 4.0).to_string()} text-anchor="end" class="tick">{ y_max.to_string() }</text>
                <text x={(LEFT - 6.0).to_string()} y={(TOP + plot_h).to_string()} text-anchor="end" class="tick">{ "0" }</text>
                <text x="12" y={(TOP + plot_h / 2.0).to_string()} class="axis-label"
                      transform={format!("rotate(-90 12 {})", TOP + plot_h / 2.0)} text-anchor="middle">{ "calls" }</text>
                { for bars }
                { for marker_lines }
                { for ticks }
                <text x={(LEFT + plot_w / 2.0).to_string()} y={(HEIGHT - 6.0).to_string()} text-anchor="middle" class="axis-label">
                    { "latency (ms)" }
                </text>
            </svg>
        </figure>
    }
}
