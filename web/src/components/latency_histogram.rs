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

use std::fmt::Write;

use rpc_lab::number_format::{fixed, shortest};
use yew::prelude::*;

use crate::latency::{Bins, Summary, nice_ceiling};
use crate::markup::{Esc, raw};
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
    ///
    /// Written as markup text ([`crate::markup`]): it has no listeners, and
    /// as `html!` its elements cost kilobytes of page. The title and noun
    /// are the page's own, but are escaped all the same.
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

        let mut out = String::new();
        let _ = write!(
            out,
            r#"<figure class="histogram" data-testid="histogram" data-protocol="{}" data-count="{count}" data-p50="{}" data-p99="{}" data-y-top="{}"><svg viewBox="0 0 {} {}" role="img" aria-label="{}: latency histogram, p50 {}, p99 {}">"#,
            Esc(&self.title),
            fixed(self.summary.p50, 3),
            fixed(self.summary.p99, 3),
            y_axis.top,
            shortest(WIDTH),
            px(height),
            Esc(&heading),
            format_ms(self.summary.p50),
            format_ms(self.summary.p99),
        );
        if let Some(id) = &pattern_id {
            let _ = write!(
                out,
                r##"<defs><pattern id="{id}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fbe3d3"/><line x1="0" y1="0" x2="0" y2="6" stroke="{color}" stroke-width="3"/></pattern></defs>"##
            );
        }
        let _ = write!(
            out,
            r#"<text x="{}" y="16" class="plot-title">{}</text>"#,
            px(LEFT),
            Esc(&heading)
        );
        for count in y_axis.ticks() {
            let at = y.at(count as f64);
            let _ = write!(
                out,
                r##"<g class="y-tick" data-count="{count}"><line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#e3e7f0"/><text x="{}" y="{}" text-anchor="end" class="tick">{count}</text></g>"##,
                px(LEFT),
                px(right),
                px(at),
                px(at),
                px(LEFT - 6.0),
                px(at + 4.0)
            );
        }
        let bar_w = plot_w / self.bins.count as f64;
        for (bin, &count) in self.counts.iter().enumerate() {
            let h = bottom - y.at(count as f64);
            let _ = write!(
                out,
                r#"<rect class="bar" data-bin="{bin}" data-count="{count}" x="{}" y="{}" width="{}" height="{}" fill="{fill}" stroke="{color}"/>"#,
                px(LEFT + bin as f64 * bar_w + 0.5),
                px(bottom - h),
                px((bar_w - 1.0).max(0.5)),
                px(h)
            );
        }
        let middle = px((top + bottom) / 2.0);
        let _ = write!(
            out,
            r##"<line x1="{left}" x2="{}" y1="{bottom}" y2="{bottom}" stroke="#5a6478"/><line x1="{left}" x2="{left}" y1="{}" y2="{bottom}" stroke="#5a6478"/><text x="12" y="{middle}" class="axis-label" transform="rotate(-90 12 {middle})" text-anchor="middle">{counted}</text>"##,
            px(right),
            px(top),
            left = px(LEFT),
            bottom = px(bottom),
        );
        for (mark, spot) in marks.iter().zip(&spots) {
            let label_y = top - 3.0 - spot.row as f64 * LABEL_ROW_H;
            let (label_x, anchor) = if spot.end_anchored {
                (spot.x - 3.0, "end")
            } else {
                (spot.x + 3.0, "start")
            };
            // The mark's line, from under its label down to the axis.
            let line = |style: &str| {
                format!(
                    r#"<line x1="{x}" x2="{x}" y1="{}" y2="{}" {style}/>"#,
                    px(label_y + 2.0),
                    px(bottom),
                    x = px(spot.x),
                )
            };
            let text = format!(
                r#"<text x="{}" y="{}" text-anchor="{anchor}" class="marker-label" data-label-row="{}">{}</text>"#,
                px(label_x),
                px(label_y),
                spot.row,
                mark.text
            );
            let ms = fixed(mark.ms, 3);
            if mark.kind == "timeout" {
                let on_scale = mark.ms <= upper;
                let _ = write!(
                    out,
                    r#"<g class="timeout-line" data-ms="{ms}" data-on-scale="{on_scale}">"#
                );
                if on_scale {
                    out.push_str(&line(&format!(r#"stroke="{TIMEOUT}" stroke-width="2""#)));
                }
                let given = format_ms(mark.ms);
                let said = if on_scale {
                    format!("every attempt was given {given} (grpc-timeout), then given up")
                } else {
                    format!("the attempts were given {given}: far beyond every latency drawn here")
                };
                let _ = write!(out, "{text}<title>{said}</title></g>");
            } else {
                let _ = write!(
                    out,
                    r#"<g class="percentile" data-percentile="{}" data-ms="{ms}">{}{text}</g>"#,
                    mark.kind,
                    line(r##"stroke="#1d2330" stroke-dasharray="4 3""##)
                );
            }
        }
        // About five round ticks; the last bin also holds everything slower.
        let step = nice_ceiling(upper / 5.0);
        for ms in (0..)
            .map(|k| f64::from(k) * step)
            .take_while(|&ms| ms <= upper * (1.0 + 1e-9))
        {
            let last = (ms - upper).abs() < upper * 1e-9;
            let _ = write!(
                out,
                r#"<text x="{}" y="{}" text-anchor="{}" class="tick x-tick" data-ms="{}">{}{}</text>"#,
                px(x.at(ms)),
                px(bottom + 16.0),
                if last { "end" } else { "middle" },
                fixed(ms, 3),
                if last { "≥" } else { "" },
                format_number(ms)
            );
        }
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle" class="axis-label">latency (ms)</text></svg></figure>"#,
            px(LEFT + plot_w / 2.0),
            px(height - 6.0)
        );
        raw(out)
    }
}
