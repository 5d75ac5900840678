//! A latency histogram as SVG, with its p50, p90 and p99 marked, and the
//! timeout the attempts were given when there was one.
//!
//! Bars carry `data-*` attributes (bin, count) so browser tests read what is
//! drawn. The fill is a colour *and* a pattern (solid or hatched), so the two
//! series still differ for a student who cannot tell the colours apart.
//!
//! The marks' labels sit in a band above the bars, placed by
//! [`place_marker_labels`] so that percentiles a fraction of a millisecond apart
//! climb into rows instead of printing over each other, and no dashed line
//! runs through another mark's label. The count axis has
//! whole-number ticks ([`CountAxis`]), so a bar's height can be read off it.

use rpc_lab::number_format::{fixed, shortest};
use yew::prelude::*;

use crate::latency::{Bins, Summary, nice_ceiling};
use crate::plot_scale::{
    CountAxis, Linear, format_ms, format_number, place_marker_labels, px, text_width,
};

const WIDTH: f64 = 520.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 18.0;
/// The title's line.
const TITLE_H: f64 = 24.0;
/// One row of mark labels; the band has room for [`LABEL_ROWS`] of them (three
/// percentiles and a timeout) before it grows, so histograms side by side match.
const LABEL_ROW_H: f64 = 13.0;
const LABEL_ROWS: usize = 4;
const PLOT_H: f64 = 150.0;
const BOTTOM: f64 = 40.0;
const LABEL_PX: f64 = 11.0;
/// The timeout's colour: the Okabe–Ito vermilion, solid where the
/// percentiles are dashed.
const TIMEOUT: &str = "#D55E00";

/// How a series is filled.
#[derive(Clone, Copy, PartialEq)]
pub enum Fill {
    Solid,
    Hatched,
}

#[derive(PartialEq)]
pub struct LatencyHistogram {
    /// The series' name, e.g. "gRPC-Web"; also `data-protocol`.
    pub title: AttrValue,
    pub bins: Bins,
    pub counts: Vec<usize>,
    pub summary: Summary,
    /// The tallest bar of all series plotted side by side, so heights compare.
    pub y_max: usize,
    pub fill: Fill,
    /// What is counted, in the plural ("attempts sent"); the heading then
    /// reads "34 attempts sent". Empty: "*title* — 34 calls".
    pub noun: AttrValue,
    /// Per-attempt timeouts to draw as solid lines, in ms.
    pub timeouts: Vec<f64>,
}

/// A mark over the bars: a percentile or a timeout.
struct Mark {
    /// `data-percentile`, or "timeout".
    kind: &'static str,
    ms: f64,
    text: String,
}

impl LatencyHistogram {
    /// The histogram with its percentile and timeout marks.
    pub fn view(&self) -> Html {
        let plot_w = WIDTH - LEFT - RIGHT;
        let right = LEFT + plot_w;
        let upper = self.bins.upper();
        let x = Linear::new((0.0, upper), (LEFT, right));
        let (color, pattern_id) = match self.fill {
            Fill::Solid => ("#2f5bd3", None),
            Fill::Hatched => (
                "#c2571a",
                // The titles are ASCII; `is_alphanumeric` would bring
                // Unicode's tables into the page (2 KB gzipped).
                Some(format!(
                    "hatch-{}",
                    self.title.replace(|c: char| !c.is_ascii_alphanumeric(), "")
                )),
            ),
        };
        let fill = pattern_id
            .as_ref()
            .map_or(color.to_owned(), |id| format!("url(#{id})"));

        let mut marks: Vec<Mark> = [
            ("p50", self.summary.p50),
            ("p90", self.summary.p90),
            ("p99", self.summary.p99),
        ]
        .into_iter()
        .map(|(kind, ms)| Mark {
            kind,
            ms,
            text: format!("{kind} {}", format_ms(ms)),
        })
        .collect();
        for &ms in &self.timeouts {
            let off_scale = ms > upper;
            marks.push(Mark {
                kind: "timeout",
                ms,
                text: if off_scale {
                    format!("timeout {} →", format_ms(ms))
                } else {
                    format!("timeout {}", format_ms(ms))
                },
            });
        }
        // A label starts just right of its line (or ends just left of it).
        let anchors: Vec<f64> = marks.iter().map(|m| x.at(m.ms)).collect();
        let widths: Vec<f64> = marks
            .iter()
            .map(|m| text_width(&m.text, LABEL_PX) + 3.0)
            .collect();
        let spots = place_marker_labels(&anchors, &widths, LEFT, right, 6.0);
        let rows = spots.iter().map(|s| s.row + 1).max().unwrap_or(0);
        let band = rows.max(LABEL_ROWS) as f64 * LABEL_ROW_H;
        let top = TITLE_H + band;
        let bottom = top + PLOT_H;
        let height = bottom + BOTTOM;

        let y_axis = CountAxis::covering(self.y_max, 4);
        let y = Linear::new((0.0, y_axis.top as f64), (bottom, top));
        let bar_w = plot_w / self.bins.count as f64;
        let bars = self.counts.iter().enumerate().map(|(bin, &count)| {
            let h = bottom - y.at(count as f64);
            html! {
                <rect
                    class="bar" data-bin={bin.to_string()} data-count={count.to_string()}
                    x={px(LEFT + bin as f64 * bar_w + 0.5)} y={px(bottom - h)}
                    width={px((bar_w - 1.0).max(0.5))} height={px(h)}
                    fill={fill.clone()} stroke={color}
                />
            }
        });
        let y_ticks = y_axis.ticks().map(|count| {
        let at = y.at(count as f64);
        html! {
            <g class="y-tick" data-count={count.to_string()}>
                <line x1={px(LEFT)} x2={px(right)} y1={px(at)} y2={px(at)} stroke="#e3e7f0" />
                <text x={px(LEFT - 6.0)} y={px(at + 4.0)} text-anchor="end" class="tick">{ count.to_string() }</text>
            </g>
        }
    });
        let marks_drawn = marks.iter().zip(&spots).map(|(mark, spot)| {
        let label_y = top - 3.0 - spot.row as f64 * LABEL_ROW_H;
        let (label_x, anchor) = if spot.end_anchored {
            (spot.x - 3.0, "end")
        } else {
            (spot.x + 3.0, "start")
        };
        let line_x = px(spot.x);
        let text = html! {
            <text x={px(label_x)} y={px(label_y)} text-anchor={anchor} class="marker-label"
                  data-label-row={spot.row.to_string()}>{ mark.text.clone() }</text>
        };
        if mark.kind == "timeout" {
            let on_scale = mark.ms <= upper;
            html! {
                <g class="timeout-line" data-ms={fixed(mark.ms, 3)} data-on-scale={on_scale.to_string()}>
                    if on_scale {
                        <line x1={line_x.clone()} x2={line_x} y1={px(label_y + 2.0)} y2={px(bottom)}
                              stroke={TIMEOUT} stroke-width="2" />
                    }
                    { text }
                    <title>{ if on_scale {
                        format!("every attempt was given {} (grpc-timeout), then given up", format_ms(mark.ms))
                    } else {
                        format!("the attempts were given {}: far beyond every latency drawn here", format_ms(mark.ms))
                    } }</title>
                </g>
            }
        } else {
            html! {
                <g class="percentile" data-percentile={mark.kind} data-ms={fixed(mark.ms, 3)}>
                    <line x1={line_x.clone()} x2={line_x} y1={px(label_y + 2.0)} y2={px(bottom)}
                          stroke="#1d2330" stroke-dasharray="4 3" />
                    { text }
                </g>
            }
        }
    });
        // About five round ticks; the last bin also holds everything slower.
        let step = nice_ceiling(upper / 5.0);
        let x_ticks = (0..)
        .map(|k| f64::from(k) * step)
        .take_while(|&ms| ms <= upper * (1.0 + 1e-9))
        .map(|ms| {
            let last = (ms - upper).abs() < upper * 1e-9;
            let label = if last {
                format!("≥{}", format_number(ms))
            } else {
                format_number(ms)
            };
            let anchor = if last { "end" } else { "middle" };
            html! {
                <text x={px(x.at(ms))} y={px(bottom + 16.0)} text-anchor={anchor} class="tick x-tick"
                      data-ms={fixed(ms, 3)}>{ label }</text>
            }
        });
        let count = self.summary.count;
        let heading = if self.noun.is_empty() {
            format!("{} — {count} calls", self.title)
        } else {
            format!("{count} {}", self.noun)
        };
        let counted = if self.noun.contains("attempt") {
            "attempts"
        } else {
            "calls"
        };

        html! {
            <figure class="histogram" data-testid="histogram" data-protocol={self.title.clone()}
                    data-count={count.to_string()} data-p50={fixed(self.summary.p50, 3)}
                    data-p99={fixed(self.summary.p99, 3)} data-y-top={y_axis.top.to_string()}>
                <svg viewBox={format!("0 0 {} {}", shortest(WIDTH), px(height))} role="img"
                     aria-label={format!("{heading}: latency histogram, p50 {}, p99 {}",
                         format_ms(self.summary.p50), format_ms(self.summary.p99))}>
                    if let Some(id) = &pattern_id {
                        <defs>
                            <pattern id={id.clone()} width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
                                <rect width="6" height="6" fill="#fbe3d3" />
                                <line x1="0" y1="0" x2="0" y2="6" stroke={color} stroke-width="3" />
                            </pattern>
                        </defs>
                    }
                    <text x={px(LEFT)} y="16" class="plot-title">{ heading }</text>
                    { for y_ticks }
                    { for bars }
                    <line x1={px(LEFT)} x2={px(right)} y1={px(bottom)} y2={px(bottom)} stroke="#5a6478" />
                    <line x1={px(LEFT)} x2={px(LEFT)} y1={px(top)} y2={px(bottom)} stroke="#5a6478" />
                    <text x="12" y={px((top + bottom) / 2.0)} class="axis-label"
                          transform={format!("rotate(-90 12 {})", px((top + bottom) / 2.0))} text-anchor="middle">{ counted }</text>
                    { for marks_drawn }
                    { for x_ticks }
                    <text x={px(LEFT + plot_w / 2.0)} y={px(height - 6.0)} text-anchor="middle" class="axis-label">
                        { "latency (ms)" }
                    </text>
                </svg>
            </figure>
        }
    }
}
