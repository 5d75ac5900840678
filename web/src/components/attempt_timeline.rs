//! The attempt timeline: one row per logical call, one bar per attempt.
//!
//! This is the plot that shows what "a call" hides. A program asks once and
//! waits; underneath, the caller may send three attempts, wait between them
//! (the dashed backoff lines), hedge a slow one, or be refused by the circuit
//! breaker without sending anything at all.
//!
//! Every outcome has a colour *and* a pattern (solid, dots, hatching, stripes,
//! outline), so the timeline still reads for a student who cannot tell the
//! colours apart. A breaker rejection takes no time, so it is a fixed-size ✕
//! marker rather than a bar.
//!
//! A lesson's steps are compared, so the timeline shows one step at a time
//! (picked by its name, like the latency histograms) or every step, each on
//! its own clock — time since the step began — under a heading that names
//! it. A step never falls off because a later one was long, and a run
//! started a minute after a lesson does not stretch the lesson's axis.
//!
//! Each step draws at most its newest `max_rows` calls: a thousand rows
//! would be unreadable and would slow the page down. Above the rows, a small
//! histogram counts the attempts sent per interval
//! ([`super::AttemptRatePlot`]): the server's view of a retry storm. Every
//! drawn element carries `data-*` attributes, so browser tests read the plot
//! rather than pixels.

use std::fmt::Write;

use rpc_lab::number_format::{fixed, shortest};
use yew::prelude::*;

use super::attempt_rate_plot::{AttemptRatePlot, RateStrip};
use super::plot_frame::{write_axes, write_time_label, write_time_tick, write_value_label};
use super::step_picker::StepPicker;
use crate::attempt_rate::{RateBins, concentration, sent_starts};
use crate::markup::{Esc, raw};
use crate::plot_scale::{Linear, counted, format_ms, px, row_height};
use crate::run_log::{AttemptOutcome, AttemptSegment, BackoffGap, CallRow, RunLog, code_label};
use crate::step_view::{Pick, StepWindow, picker_steps, shared_axis, step_name, windows};

/// The drawing's size in SVG units. The page content is about 850 CSS pixels
/// wide at 1280×720, so one unit is about one pixel there.
/// The same frame as the attempts-per-interval plot above it, so both share
/// one time axis.
const WIDTH: f64 = super::attempt_rate_plot::WIDTH;
const LEFT: f64 = super::attempt_rate_plot::LEFT;
const RIGHT: f64 = super::attempt_rate_plot::RIGHT;
const TOP: f64 = 4.0;
const BOTTOM: f64 = 46.0;
/// A step's heading: its name and how many of its calls are drawn.
const HEADER_H: f64 = 22.0;
/// Rows are this tall while they fit in [`ROWS_BUDGET`]…
const ROW_H: f64 = 14.0;
/// …and shrink down to this when every step is drawn at once.
const ROW_H_MIN: f64 = 7.0;
const ROWS_BUDGET: f64 = 75.0 * ROW_H;
/// The side of a rejection's ✕ marker: fixed, since a rejection lasts 0 ms.
const MARK: f64 = 9.0;
/// The narrowest bar drawn. The SVG is never shown narrower than 720 px for
/// its 840 units, so 5 units are at least 4 screen pixels: a lost reply
/// after 1 ms stays a box a student can see and hover, not a hairline.
pub const MIN_BAR_W: f64 = 5.0;
const TICKS: usize = 8;
/// The attempts-per-interval plot has about this many bins.
const RATE_BINS: usize = 40;

/// How an outcome is drawn: a fill (a colour, or one of the patterns in
/// [`PATTERNS`]) and an outline.
struct Look {
    /// What tells this outcome apart without colour; also `data-pattern`
    /// on the legend.
    pattern: &'static str,
    fill: &'static str,
    stroke: &'static str,
    /// `stroke-dasharray`, for outline-only looks.
    dash: Option<&'static str>,
}

/// Colours from the Okabe–Ito palette, which stays distinct for the common
/// kinds of colour blindness; the pattern tells outcomes apart without colour.
fn look(outcome: AttemptOutcome) -> Look {
    use AttemptOutcome as O;
    let (pattern, fill, stroke, dash) = match outcome {
        O::Ok => ("solid", "#009E73", "#00694d", None),
        O::Replayed => ("dots", "url(#tl-replayed)", "#2a7db0", None),
        O::InjectedFail => ("diagonal-hatch", "url(#tl-injected-fail)", "#a84700", None),
        O::DroppedReply => ("cross-hatch", "url(#tl-dropped-reply)", "#a86f00", None),
        O::Timeout => ("horizontal-stripes", "url(#tl-timeout)", "#9b4f7d", None),
        O::Error => ("vertical-stripes", "url(#tl-error)", "#004f7c", None),
        O::Cancelled => ("dashed-outline", "#ffffff", "#6b6b6b", Some("3 2")),
        O::InFlight => ("checkerboard", "url(#tl-in-flight)", "#6e6500", Some("4 2")),
        // Drawn by `rejection_marker`; the fill is the marker's background.
        O::RejectedByBreaker => ("cross-marker", "#ffffff", "#000000", None),
    };
    Look {
        pattern,
        fill,
        stroke,
        dash,
    }
}

/// The patterns the looks refer to. Ids start with `tl-` so they do not
/// clash with another plot's patterns on the same page. Replayed: dots;
/// failed before executing: diagonal hatch; executed, reply lost:
/// cross-hatch; timed out: horizontal stripes; other error: vertical
/// stripes; in flight: a checkerboard (with a dashed outline: not over yet).
const PATTERNS: &str = "<defs>\
<pattern id=\"tl-replayed\" width=\"5\" height=\"5\" patternUnits=\"userSpaceOnUse\">\
<rect width=\"5\" height=\"5\" fill=\"#e3f2fb\"/><circle cx=\"2.5\" cy=\"2.5\" r=\"1.4\" fill=\"#2a7db0\"/></pattern>\
<pattern id=\"tl-injected-fail\" width=\"5\" height=\"5\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
<rect width=\"5\" height=\"5\" fill=\"#fbe0cc\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"5\" stroke=\"#D55E00\" stroke-width=\"3\"/></pattern>\
<pattern id=\"tl-dropped-reply\" width=\"5\" height=\"5\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
<rect width=\"5\" height=\"5\" fill=\"#fcefd0\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"5\" stroke=\"#E69F00\" stroke-width=\"1.6\"/>\
<line x1=\"0\" y1=\"0\" x2=\"5\" y2=\"0\" stroke=\"#E69F00\" stroke-width=\"1.6\"/></pattern>\
<pattern id=\"tl-timeout\" width=\"4\" height=\"4\" patternUnits=\"userSpaceOnUse\">\
<rect width=\"4\" height=\"4\" fill=\"#f7e4ef\"/><rect width=\"4\" height=\"2\" fill=\"#CC79A7\"/></pattern>\
<pattern id=\"tl-error\" width=\"4\" height=\"4\" patternUnits=\"userSpaceOnUse\">\
<rect width=\"4\" height=\"4\" fill=\"#d5e6f3\"/><rect width=\"2\" height=\"4\" fill=\"#0072B2\"/></pattern>\
<pattern id=\"tl-in-flight\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\">\
<rect width=\"6\" height=\"6\" fill=\"#fdfbe3\"/><rect width=\"3\" height=\"3\" fill=\"#F0E442\"/>\
<rect x=\"3\" y=\"3\" width=\"3\" height=\"3\" fill=\"#F0E442\"/></pattern>\
</defs>";

/// A ✕ centred on (`cx`, `cy`), drawn over the square that carries the
/// attempt's attributes: a rejection by the breaker.
fn rejection_marker(out: &mut String, cx: f64, cy: f64) {
    let inset = MARK / 2.0 - 2.0;
    let (left, right, top, bottom) = (
        px(cx - inset),
        px(cx + inset),
        px(cy - inset),
        px(cy + inset),
    );
    let _ = write!(
        out,
        r#"<path class="mark" aria-hidden="true" stroke="{}" stroke-width="1.6" pointer-events="none" d="M{left} {top} L{right} {bottom} M{left} {bottom} L{right} {top}"/>"#,
        look(AttemptOutcome::RejectedByBreaker).stroke
    );
}

/// ` stroke-dasharray="…"` for a look that has one.
fn dash_attribute(look: &Look) -> String {
    look.dash.map_or(String::new(), |dash| {
        format!(r#" stroke-dasharray="{dash}""#)
    })
}

/// Where the rows of one step are drawn, and how.
struct Frame<'a> {
    x: &'a Linear,
    /// The step's zero, in ms since the log began.
    origin: f64,
    /// The log's latest time: where an attempt in flight ends for now.
    now: f64,
    row_h: f64,
}

impl Frame<'_> {
    /// Where a time (ms since the log began) is drawn.
    fn at(&self, ms: f64) -> f64 {
        self.x.at(ms - self.origin)
    }
    fn bar_h(&self) -> f64 {
        (self.row_h - 4.0).max(5.0)
    }
}

/// One attempt: a bar from its start to its end (or to "now" while in
/// flight), at least [`MIN_BAR_W`] wide, or a ✕ marker for a rejection.
fn attempt_bar(
    out: &mut String,
    number: usize,
    attempt: &AttemptSegment,
    frame: &Frame<'_>,
    mid: f64,
) {
    let end = attempt.end_ms.unwrap_or(frame.now);
    let look = look(attempt.outcome);
    let hedge = if attempt.hedge { " (hedge)" } else { "" };
    let rejected = attempt.outcome == AttemptOutcome::RejectedByBreaker;
    let title = if rejected {
        format!(
            "call #{number}, attempt {}: {} at {}",
            attempt.number,
            attempt.outcome.label(),
            format_ms(attempt.start_ms - frame.origin)
        )
    } else {
        format!(
            "call #{number}, attempt {}{hedge}: {}, {} (from {} to {})",
            attempt.number,
            attempt.outcome.label(),
            format_ms(end - attempt.start_ms),
            format_ms(attempt.start_ms - frame.origin),
            format_ms(end - frame.origin)
        )
    };
    let (bar_x, bar_w, bar_y, bar_h) = if rejected {
        let cx = frame.at(attempt.start_ms);
        (cx - MARK / 2.0, MARK, mid - MARK / 2.0, MARK)
    } else {
        let (x0, x1) = (frame.at(attempt.start_ms), frame.at(end));
        let full = frame.bar_h();
        // A hedged attempt is drawn thinner, at the bottom of the row, so it
        // shows on top of the attempt it races against.
        let h = if attempt.hedge { full * 0.6 } else { full };
        let y = if attempt.hedge {
            mid + full / 2.0 - h
        } else {
            mid - h / 2.0
        };
        (x0, (x1 - x0).max(MIN_BAR_W), y, h)
    };
    let slug = attempt.outcome.slug();
    let _ = write!(
        out,
        r#"<rect class="attempt {slug}" data-outcome="{slug}" data-attempt="{}" data-hedge="{}" data-start-ms="{}" data-end-ms="{}" x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="{}" stroke-width="1"{}><title>{title}</title></rect>"#,
        attempt.number,
        attempt.hedge,
        fixed(attempt.start_ms, 3),
        fixed(end, 3),
        px(bar_x),
        px(bar_y),
        px(bar_w),
        px(bar_h),
        look.fill,
        look.stroke,
        dash_attribute(&look),
    );
    if rejected {
        rejection_marker(out, bar_x + MARK / 2.0, mid);
    }
}

/// The wait before the next attempt: a thin dashed line.
fn backoff_line(out: &mut String, gap: &BackoffGap, frame: &Frame<'_>, mid: f64) {
    let waited = gap.end_ms - gap.start_ms;
    let mid = px(mid);
    let _ = write!(
        out,
        r##"<line class="backoff" data-backoff-ms="{}" x1="{}" x2="{}" y1="{mid}" y2="{mid}" stroke="#5a6478" stroke-width="1.5" stroke-dasharray="3 3"><title>backoff: waited {} before the next attempt</title></line>"##,
        fixed(waited, 3),
        px(frame.at(gap.start_ms)),
        px(frame.at(gap.end_ms)),
        format_ms(waited)
    );
}

/// One call's row: its label, its attempts and the waits between them.
/// `number` is the call's number in its step (see [`StepWindow::number`]).
fn call_row(
    out: &mut String,
    call: &CallRow,
    number: usize,
    index: usize,
    top: f64,
    frame: &Frame<'_>,
) {
    let mid = top + frame.row_h / 2.0;
    let code = code_label(call.code);
    let summary = match call.elapsed_ms() {
        Some(ms) => format!(
            "call #{number}: {} ended {} after {} attempt(s), {}",
            call.operation,
            code,
            call.attempts_sent(),
            format_ms(ms)
        ),
        None => format!("call #{number}: {} still running", call.operation),
    };
    let _ = write!(
        out,
        r#"<g class="call-row" data-row="{}" data-number="{number}" data-step="{}" data-operation="{}" data-code="{code}" data-attempts="{}"><title>{summary}</title>"#,
        call.row,
        call.step,
        call.operation,
        call.attempts_sent(),
    );
    if index % 2 == 1 {
        let _ = write!(
            out,
            r##"<rect class="row-band" x="{}" y="{}" width="{}" height="{}" fill="#f2f4f9"/>"##,
            px(LEFT),
            px(top),
            px(WIDTH - LEFT - RIGHT),
            px(frame.row_h)
        );
    }
    // Compact rows cannot each carry a number: every fifth one does.
    if frame.row_h >= 11.0 || index % 5 == 0 {
        let _ = write!(
            out,
            r#"<text class="row-label" x="{}" y="{}" text-anchor="end">#{number}</text>"#,
            px(LEFT - 6.0),
            px(mid + 4.0)
        );
    }
    for gap in &call.backoffs {
        backoff_line(out, gap, frame, mid);
    }
    for attempt in &call.attempts {
        attempt_bar(out, number, attempt, frame, mid);
    }
    out.push_str("</g>");
}

/// A step's heading: "run 3: Withdraw × 1 — 1 call"; when only the
/// newest of its calls are drawn, which ones (numbered from `first`).
fn step_heading(name: &str, total: usize, shown: usize, first: usize) -> String {
    let calls = counted(total, "call");
    if shown < total {
        format!("{name} — {calls}, the newest {shown} drawn (#{first}–#{total})")
    } else {
        format!("{name} — {calls}")
    }
}

/// One step: a heading that names it (a solid rule above it, unlike the
/// dashed backoff lines), then its rows. Returns the block's height.
fn step_block(
    out: &mut String,
    window: &StepWindow<'_>,
    name: &str,
    top: f64,
    x: &Linear,
    now: f64,
    row_h: f64,
) -> f64 {
    let frame = Frame {
        x,
        origin: window.start_ms,
        now,
        row_h,
    };
    let shown = window.calls.len();
    let heading = step_heading(name, window.total, shown, window.number(0));
    let rows_top = top + HEADER_H;
    let _ = write!(
        out,
        r##"<g class="step-block" data-step="{}" data-step-label="{}" data-step-calls="{}" data-rows="{shown}" data-step-start-ms="{}"><rect class="step-heading" x="{}" y="{}" width="{}" height="{}" fill="#e8ecf6"/><line class="step-rule" x1="0" x2="{}" y1="{rule}" y2="{rule}" stroke="#1d2330" stroke-width="1.5"/><text class="step-label" x="{}" y="{}">{}</text>"##,
        window.step,
        Esc(name),
        window.total,
        fixed(window.start_ms, 3),
        px(LEFT),
        px(top + 2.0),
        px(WIDTH - LEFT - RIGHT),
        px(HEADER_H - 4.0),
        px(WIDTH),
        px(LEFT + 6.0),
        px(top + 15.0),
        Esc(&heading),
        rule = px(top + 1.0),
    );
    for (index, call) in window.calls.iter().enumerate() {
        call_row(
            out,
            call,
            window.number(index),
            index,
            rows_top + index as f64 * row_h,
            &frame,
        );
    }
    out.push_str("</g>");
    HEADER_H + shown as f64 * row_h
}

/// The legend: each outcome's swatch and its label, then the backoff line
/// and the hedge's thin bar.
fn legend() -> String {
    let mut out = String::from(r#"<ul class="plot-legend" aria-label="What the bars mean">"#);
    for outcome in AttemptOutcome::ALL {
        let look = look(outcome);
        let _ = write!(
            out,
            r#"<li data-outcome="{}" data-pattern="{}"><svg class="swatch" viewBox="0 0 24 14" aria-hidden="true">"#,
            outcome.slug(),
            look.pattern
        );
        if outcome == AttemptOutcome::RejectedByBreaker {
            let _ = write!(
                out,
                r#"<rect x="{at}" y="{}" width="{side}" height="{side}" fill="{}" stroke="{}"/>"#,
                px(7.0 - MARK / 2.0),
                look.fill,
                look.stroke,
                at = px(12.0 - MARK / 2.0),
                side = px(MARK),
            );
            rejection_marker(&mut out, 12.0, 7.0);
        } else {
            let _ = write!(
                out,
                r#"<rect x="1" y="2" width="22" height="10" fill="{}" stroke="{}"{}/>"#,
                look.fill,
                look.stroke,
                dash_attribute(&look)
            );
        }
        let _ = write!(out, "</svg>{}</li>", outcome.label());
    }
    out.push_str(
        r##"<li class="legend-backoff"><svg class="swatch" viewBox="0 0 24 14" aria-hidden="true"><line x1="1" x2="23" y1="7" y2="7" stroke="#5a6478" stroke-width="1.5" stroke-dasharray="3 3"/></svg>backoff (waiting before a retry)</li><li class="legend-hedge"><svg class="swatch" viewBox="0 0 24 14" aria-hidden="true"><rect x="1" y="2" width="22" height="10" fill="#009E73" stroke="#00694d"/><rect x="8" y="6" width="15" height="6" fill="url(#tl-error)" stroke="#004f7c"/></svg>thin bar: a hedged attempt</li></ul>"##,
    );
    out
}

/// The timeline of `log`: at most `max_rows` of each step's newest calls,
/// under headings named by `labels` ("keys off", "full jitter").
///
/// `pick` is the step the student picked. Every step is shown by default
/// (`Shown::All`): a lesson is a comparison, and its blocks are named and
/// each on its own clock. The picker narrows it to one step, until the next
/// step arrives. The pick is kept by the live part that draws this
/// ([`super::LivePlots`]), so the timeline needs no component of its own.
///
/// The rows and the legend are written as markup text ([`crate::markup`]):
/// they have no listeners, and as `html!` their elements cost kilobytes of
/// page. The step picker, which has, stays a view.
pub fn attempt_timeline(
    log: &RunLog,
    max_rows: usize,
    labels: &[String],
    pick: &UseStateHandle<Pick>,
) -> Html {
    let total = log.calls.len();
    let attempts: usize = log.calls.iter().map(CallRow::attempts_sent).sum();
    let steps = log.steps();
    let step = pick.shown(steps).resolve(steps);
    let windows = windows(log, step, max_rows);
    // Every step on its own clock, on one axis as long as the longest step
    // shown, so equal lengths mean equal durations in every block.
    let axis = shared_axis(&windows, TICKS);
    let x = axis.scale(LEFT, WIDTH - RIGHT);
    let rows: usize = windows.iter().map(|w| w.calls.len()).sum();
    let row_h = row_height(rows, ROWS_BUDGET, ROW_H, ROW_H_MIN);

    // The blocks first, to learn the drawing's height; the grid is drawn
    // under them.
    let mut blocks = String::new();
    let mut top = TOP;
    for window in &windows {
        let name = step_name(labels, window.step);
        top += step_block(&mut blocks, window, &name, top, &x, log.last_ms, row_h);
    }
    let bottom = top.max(TOP + ROW_H);
    let height = bottom + BOTTOM;

    let mut svg = format!(
        r#"<svg viewBox="0 0 {} {}" role="img" aria-label="Attempt timeline: {}, {}; calls drawn: {rows}; time since each step began" data-plot="timeline" data-rows="{rows}" data-calls="{total}" data-shown-step="{}" data-min-bar-width="{}" data-axis-end-ms="{}">{PATTERNS}"#,
        shortest(WIDTH),
        px(height),
        counted(total, "call"),
        counted(attempts, "attempt"),
        step.map_or("all".into(), |s| s.to_string()),
        px(MIN_BAR_W),
        fixed(axis.end_ms, 3),
    );
    for ms in axis.ticks() {
        write_time_tick(&mut svg, ms, &x, TOP, bottom);
    }
    svg.push_str(&blocks);
    // The axes over the rows' bands and headings, so they run unbroken.
    write_axes(&mut svg, LEFT, WIDTH - RIGHT, TOP, bottom);
    if windows.is_empty() {
        let _ = write!(
            svg,
            r#"<text class="empty-note" x="{}" y="{}" text-anchor="middle">No calls yet: start a run to draw its attempts here.</text>"#,
            px((LEFT + WIDTH - RIGHT) / 2.0),
            px(TOP + ROW_H - 3.0)
        );
    }
    write_value_label(&mut svg, "call #", 16, (TOP + bottom) / 2.0);
    write_time_label(&mut svg, (LEFT + WIDTH - RIGHT) / 2.0, height - 8.0);
    svg.push_str("</svg>");
    svg.push_str(&legend());

    // The server's view: attempts sent per interval, one strip per step,
    // with the same bins and axis as the rows below.
    let bins = RateBins::covering(axis.end_ms - axis.start_ms, RATE_BINS);
    let strips: Vec<RateStrip> = windows
        .iter()
        .map(|w| {
            let all = log.calls.iter().filter(|c| c.step == w.step);
            let counts = bins.counts(sent_starts(all, w.start_ms));
            RateStrip {
                step: w.step,
                name: step_name(labels, w.step),
                concentration: concentration(&counts),
                counts,
            }
        })
        .collect();

    let picker = (steps > 1).then(|| {
        let pick = pick.clone();
        StepPicker {
            steps: picker_steps(steps),
            labels: labels.to_vec(),
            shown: step,
            purpose: "which step the timeline shows".into(),
            on_pick: Callback::from(move |shown| pick.set(pick.choose(shown, steps))),
        }
        .view()
    });

    html! {
        <figure class="plot timeline-plot">
            { for picker }
            if !windows.is_empty() {
                { AttemptRatePlot { strips, bins, axis }.view() }
            }
            { raw(svg) }
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A newcomer read "run 3: Withdraw × 1 — 1 calls".
    #[test]
    fn a_heading_counts_its_calls_in_the_singular_for_one() {
        assert_eq!(step_heading("run 3", 1, 1, 1), "run 3 — 1 call");
        assert_eq!(step_heading("run 3", 2, 2, 1), "run 3 — 2 calls");
        assert_eq!(
            step_heading("run 3", 300, 75, 226),
            "run 3 — 300 calls, the newest 75 drawn (#226–#300)"
        );
    }

    #[test]
    fn no_two_outcomes_look_alike_even_without_colour() {
        let patterns: std::collections::HashSet<_> = AttemptOutcome::ALL
            .iter()
            .map(|&o| look(o).pattern)
            .collect();
        assert_eq!(patterns.len(), AttemptOutcome::ALL.len());
        for outcome in AttemptOutcome::ALL {
            let fill = look(outcome).fill;
            assert!(
                fill.starts_with('#') || fill.starts_with("url(#tl-"),
                "{outcome:?}: pattern ids carry this plot's prefix"
            );
        }
    }
}
