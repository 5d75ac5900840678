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

use rpc_lab::number_format::{fixed, shortest};
use yew::prelude::*;

use super::attempt_rate_plot::{AttemptRatePlot, RateStrip};
use super::plot_frame::{axes, time_label, time_tick, value_label};
use super::step_picker::StepPicker;
use crate::attempt_rate::{RateBins, concentration, sent_starts};
use crate::plot_scale::{Linear, format_ms, px, row_height};
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
/// [`patterns`]) and an outline.
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
/// clash with another plot's patterns on the same page.
fn patterns() -> Html {
    html! {
        <defs>
            // Replayed: dots.
            <pattern id="tl-replayed" width="5" height="5" patternUnits="userSpaceOnUse">
                <rect width="5" height="5" fill="#e3f2fb" />
                <circle cx="2.5" cy="2.5" r="1.4" fill="#2a7db0" />
            </pattern>
            // Failed before executing: diagonal hatch.
            <pattern id="tl-injected-fail" width="5" height="5" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
                <rect width="5" height="5" fill="#fbe0cc" />
                <line x1="0" y1="0" x2="0" y2="5" stroke="#D55E00" stroke-width="3" />
            </pattern>
            // Executed, reply lost: cross-hatch.
            <pattern id="tl-dropped-reply" width="5" height="5" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
                <rect width="5" height="5" fill="#fcefd0" />
                <line x1="0" y1="0" x2="0" y2="5" stroke="#E69F00" stroke-width="1.6" />
                <line x1="0" y1="0" x2="5" y2="0" stroke="#E69F00" stroke-width="1.6" />
            </pattern>
            // Timed out: horizontal stripes.
            <pattern id="tl-timeout" width="4" height="4" patternUnits="userSpaceOnUse">
                <rect width="4" height="4" fill="#f7e4ef" />
                <rect width="4" height="2" fill="#CC79A7" />
            </pattern>
            // Other error: vertical stripes.
            <pattern id="tl-error" width="4" height="4" patternUnits="userSpaceOnUse">
                <rect width="4" height="4" fill="#d5e6f3" />
                <rect width="2" height="4" fill="#0072B2" />
            </pattern>
            // In flight: a checkerboard, with a dashed outline (not over yet).
            <pattern id="tl-in-flight" width="6" height="6" patternUnits="userSpaceOnUse">
                <rect width="6" height="6" fill="#fdfbe3" />
                <rect width="3" height="3" fill="#F0E442" />
                <rect x="3" y="3" width="3" height="3" fill="#F0E442" />
            </pattern>
        </defs>
    }
}

/// A ✕ centred on (`cx`, `cy`), over `box_` (the square that carries the
/// attempt's attributes): a rejection by the breaker.
fn rejection_marker(cx: f64, cy: f64, box_: Html) -> Html {
    let half = MARK / 2.0;
    let inset = half - 2.0;
    let look = look(AttemptOutcome::RejectedByBreaker);
    html! {
        <>
            { box_ }
            <path class="mark" aria-hidden="true" stroke={look.stroke} stroke-width="1.6" pointer-events="none"
                  d={format!("M{} {} L{} {} M{} {} L{} {}",
                      px(cx - inset), px(cy - inset), px(cx + inset), px(cy + inset),
                      px(cx - inset), px(cy + inset), px(cx + inset), px(cy - inset))} />
        </>
    }
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
fn attempt_bar(number: usize, attempt: &AttemptSegment, frame: &Frame<'_>, mid: f64) -> Html {
    let end = attempt.end_ms.unwrap_or(frame.now);
    let look = look(attempt.outcome);
    let hedge = if attempt.hedge { " (hedge)" } else { "" };
    let title = if attempt.outcome == AttemptOutcome::RejectedByBreaker {
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
    let (bar_x, bar_w, bar_y, bar_h) = if attempt.outcome == AttemptOutcome::RejectedByBreaker {
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
    let rect = html! {
        <rect class={classes!("attempt", attempt.outcome.slug())}
              data-outcome={attempt.outcome.slug()} data-attempt={attempt.number.to_string()}
              data-hedge={attempt.hedge.to_string()}
              data-start-ms={fixed(attempt.start_ms, 3)} data-end-ms={fixed(end, 3)}
              x={px(bar_x)} y={px(bar_y)} width={px(bar_w)} height={px(bar_h)}
              fill={look.fill} stroke={look.stroke} stroke-width="1" stroke-dasharray={look.dash}>
            <title>{ title }</title>
        </rect>
    };
    if attempt.outcome == AttemptOutcome::RejectedByBreaker {
        rejection_marker(bar_x + MARK / 2.0, mid, rect)
    } else {
        rect
    }
}

/// The wait before the next attempt: a thin dashed line.
fn backoff_line(gap: &BackoffGap, frame: &Frame<'_>, mid: f64) -> Html {
    let waited = gap.end_ms - gap.start_ms;
    html! {
        <line class="backoff" data-backoff-ms={fixed(waited, 3)}
              x1={px(frame.at(gap.start_ms))} x2={px(frame.at(gap.end_ms))} y1={px(mid)} y2={px(mid)}
              stroke="#5a6478" stroke-width="1.5" stroke-dasharray="3 3">
            <title>{ format!("backoff: waited {} before the next attempt", format_ms(waited)) }</title>
        </line>
    }
}

/// One call's row: its label, its attempts and the waits between them.
/// `number` is the call's number in its step (see [`StepWindow::number`]).
fn call_row(call: &CallRow, number: usize, index: usize, top: f64, frame: &Frame<'_>) -> Html {
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
    // Compact rows cannot each carry a number: every fifth one does.
    let labelled = frame.row_h >= 11.0 || index % 5 == 0;
    html! {
        <g class="call-row" data-row={call.row.to_string()} data-number={number.to_string()} data-step={call.step.to_string()}
           data-operation={call.operation} data-code={code}
           data-attempts={call.attempts_sent().to_string()}>
            <title>{ summary }</title>
            if index % 2 == 1 {
                <rect class="row-band" x={px(LEFT)} y={px(top)} width={px(WIDTH - LEFT - RIGHT)}
                      height={px(frame.row_h)} fill="#f2f4f9" />
            }
            if labelled {
                <text class="row-label" x={px(LEFT - 6.0)} y={px(mid + 4.0)} text-anchor="end">
                    { format!("#{number}") }
                </text>
            }
            { for call.backoffs.iter().map(|gap| backoff_line(gap, frame, mid)) }
            { for call.attempts.iter().map(|attempt| attempt_bar(number, attempt, frame, mid)) }
        </g>
    }
}

/// One step: a heading that names it (a solid rule above it, unlike the
/// dashed backoff lines), then its rows. Returns the block and its height.
fn step_block(
    window: &StepWindow<'_>,
    name: &str,
    top: f64,
    x: &Linear,
    now: f64,
    row_h: f64,
) -> (Html, f64) {
    let frame = Frame {
        x,
        origin: window.start_ms,
        now,
        row_h,
    };
    let shown = window.calls.len();
    let heading = if shown < window.total {
        format!(
            "{name} — {} calls, the newest {shown} drawn (#{}–#{})",
            window.total,
            window.number(0),
            window.total
        )
    } else {
        format!("{name} — {} calls", window.total)
    };
    let rows_top = top + HEADER_H;
    let height = HEADER_H + shown as f64 * row_h;
    let block = html! {
        <g class="step-block" data-step={window.step.to_string()} data-step-label={name.to_owned()}
           data-step-calls={window.total.to_string()} data-rows={shown.to_string()}
           data-step-start-ms={fixed(window.start_ms, 3)}>
            <rect class="step-heading" x={px(LEFT)} y={px(top + 2.0)} width={px(WIDTH - LEFT - RIGHT)}
                  height={px(HEADER_H - 4.0)} fill="#e8ecf6" />
            <line class="step-rule" x1="0" x2={px(WIDTH)} y1={px(top + 1.0)} y2={px(top + 1.0)}
                  stroke="#1d2330" stroke-width="1.5" />
            <text class="step-label" x={px(LEFT + 6.0)} y={px(top + 15.0)}>{ heading }</text>
            { for window.calls.iter().enumerate().map(|(index, call)| {
                call_row(call, window.number(index), index, rows_top + index as f64 * row_h, &frame)
            }) }
        </g>
    };
    (block, height)
}

/// One legend entry: the outcome's swatch and its label.
fn legend_entry(outcome: AttemptOutcome) -> Html {
    let look = look(outcome);
    let swatch = if outcome == AttemptOutcome::RejectedByBreaker {
        let square = html! {
            <rect x={px(12.0 - MARK / 2.0)} y={px(7.0 - MARK / 2.0)} width={px(MARK)} height={px(MARK)}
                  fill={look.fill} stroke={look.stroke} />
        };
        rejection_marker(12.0, 7.0, square)
    } else {
        html! {
            <rect x="1" y="2" width="22" height="10" fill={look.fill} stroke={look.stroke}
                  stroke-dasharray={look.dash} />
        }
    };
    html! {
        <li data-outcome={outcome.slug()} data-pattern={look.pattern}>
            <svg class="swatch" viewBox="0 0 24 14" aria-hidden="true">{ swatch }</svg>
            { outcome.label() }
        </li>
    }
}

/// The timeline of `log`: at most `max_rows` of each step's newest calls,
/// under headings named by `labels` ("keys off", "full jitter").
///
/// `pick` is the step the student picked. Every step is shown by default
/// (`Shown::All`): a lesson is a comparison, and its blocks are named and
/// each on its own clock. The picker narrows it to one step, until the next
/// step arrives. The pick is kept by the live part that draws this
/// ([`super::LivePlots`]), so the timeline needs no component of its own.
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

    let mut blocks = Vec::with_capacity(windows.len());
    let mut top = TOP;
    for window in &windows {
        let name = step_name(labels, window.step);
        let (block, height) = step_block(window, &name, top, &x, log.last_ms, row_h);
        blocks.push(block);
        top += height;
    }
    let bottom = top.max(TOP + ROW_H);
    let height = bottom + BOTTOM;

    let grid = axis.ticks().map(|ms| time_tick(ms, &x, TOP, bottom));

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
        html! {
            { StepPicker {
                steps: picker_steps(steps),
                labels: labels.to_vec(),
                shown: step,
                purpose: "which step the timeline shows".into(),
                on_pick: Callback::from(move |shown| pick.set(pick.choose(shown, steps))),
            }.view() }
        }
    });

    let label = format!(
        "Attempt timeline: {total} calls, {attempts} attempts; {rows} calls drawn, time since each step began"
    );

    html! {
        <figure class="plot timeline-plot">
            { for picker }
            if !windows.is_empty() {
                { AttemptRatePlot { strips, bins, axis }.view() }
            }
            <svg viewBox={format!("0 0 {} {}", shortest(WIDTH), px(height))} role="img" aria-label={label}
                 data-plot="timeline" data-rows={rows.to_string()} data-calls={total.to_string()}
                 data-shown-step={step.map_or("all".into(), |s| s.to_string())}
                 data-min-bar-width={px(MIN_BAR_W)} data-axis-end-ms={fixed(axis.end_ms, 3)}>
                { patterns() }
                { for grid }
                { for blocks }
                // The axes over the rows' bands and headings, so they run unbroken.
                { axes(LEFT, WIDTH - RIGHT, TOP, bottom) }
                if windows.is_empty() {
                    <text class="empty-note" x={px((LEFT + WIDTH - RIGHT) / 2.0)} y={px(TOP + ROW_H - 3.0)}
                          text-anchor="middle">{ "No calls yet: start a run to draw its attempts here." }</text>
                }
                { value_label("call #", 16, (TOP + bottom) / 2.0) }
                { time_label((LEFT + WIDTH - RIGHT) / 2.0, height - 8.0) }
            </svg>
            <ul class="plot-legend" aria-label="What the bars mean">
                { for AttemptOutcome::ALL.into_iter().map(legend_entry) }
                <li class="legend-backoff">
                    <svg class="swatch" viewBox="0 0 24 14" aria-hidden="true">
                        <line x1="1" x2="23" y1="7" y2="7" stroke="#5a6478" stroke-width="1.5" stroke-dasharray="3 3" />
                    </svg>
                    { "backoff (waiting before a retry)" }
                </li>
                <li class="legend-hedge">
                    <svg class="swatch" viewBox="0 0 24 14" aria-hidden="true">
                        <rect x="1" y="2" width="22" height="10" fill="#009E73" stroke="#00694d" />
                        <rect x="8" y="6" width="15" height="6" fill="url(#tl-error)" stroke="#004f7c" />
                    </svg>
                    { "thin bar: a hedged attempt" }
                </li>
            </ul>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
