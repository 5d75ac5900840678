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
//! Only the newest `max_rows` calls are drawn: a thousand rows would be
//! unreadable and would slow the page down. Every drawn element carries
//! `data-*` attributes, so browser tests read the plot rather than pixels.

use yew::prelude::*;

use crate::plot_scale::{Linear, TimeAxis, format_ms, px};
use crate::run_log::{AttemptOutcome, AttemptSegment, BackoffGap, CallRow, LogView, code_label};

/// The drawing's size in SVG units. The page content is about 850 CSS pixels
/// wide at 1280×720, so one unit is about one pixel there.
const WIDTH: f64 = 840.0;
const LEFT: f64 = 66.0;
/// Room on the right for the "step 2" labels.
const RIGHT: f64 = 56.0;
const TOP: f64 = 8.0;
const BOTTOM: f64 = 46.0;
const ROW_H: f64 = 14.0;
const BAR_H: f64 = 10.0;
/// A hedged attempt is drawn thinner, so it shows on top of the attempt it
/// races against.
const HEDGE_H: f64 = 6.0;
/// The side of a rejection's ✕ marker: fixed, since a rejection lasts 0 ms.
const MARK: f64 = 9.0;
/// The narrowest bar drawn, so a 1 ms attempt on a 10 s axis stays visible.
const MIN_BAR_W: f64 = 2.0;
const TICKS: usize = 8;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub log: LogView,
    /// How many of the newest calls to draw.
    #[prop_or(40)]
    pub max_rows: usize,
}

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

/// One attempt: a bar from its start to its end (or to "now" while in
/// flight), or a ✕ marker for a rejection.
fn attempt_bar(call: &CallRow, attempt: &AttemptSegment, x: &Linear, mid: f64, now: f64) -> Html {
    let end = attempt.end_ms.unwrap_or(now);
    let look = look(attempt.outcome);
    let hedge = if attempt.hedge { " (hedge)" } else { "" };
    let title = if attempt.outcome == AttemptOutcome::RejectedByBreaker {
        format!(
            "call #{}, attempt {}: {} at {}",
            call.row,
            attempt.number,
            attempt.outcome.label(),
            format_ms(attempt.start_ms)
        )
    } else {
        format!(
            "call #{}, attempt {}{hedge}: {}, {} (from {} to {})",
            call.row,
            attempt.number,
            attempt.outcome.label(),
            format_ms(end - attempt.start_ms),
            format_ms(attempt.start_ms),
            format_ms(end)
        )
    };
    let (bar_x, bar_w, bar_y, bar_h) = if attempt.outcome == AttemptOutcome::RejectedByBreaker {
        let cx = x.at(attempt.start_ms);
        (cx - MARK / 2.0, MARK, mid - MARK / 2.0, MARK)
    } else {
        let (x0, x1) = (x.at(attempt.start_ms), x.at(end));
        let h = if attempt.hedge { HEDGE_H } else { BAR_H };
        // A hedge sits at the bottom of the row, over its twin.
        let y = if attempt.hedge {
            mid + BAR_H / 2.0 - h
        } else {
            mid - h / 2.0
        };
        (x0, (x1 - x0).max(MIN_BAR_W), y, h)
    };
    let rect = html! {
        <rect class={classes!("attempt", attempt.outcome.slug())}
              data-outcome={attempt.outcome.slug()} data-attempt={attempt.number.to_string()}
              data-hedge={attempt.hedge.to_string()}
              data-start-ms={format!("{:.3}", attempt.start_ms)} data-end-ms={format!("{end:.3}")}
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
fn backoff_line(gap: &BackoffGap, x: &Linear, mid: f64) -> Html {
    let waited = gap.end_ms - gap.start_ms;
    html! {
        <line class="backoff" data-backoff-ms={format!("{waited:.3}")}
              x1={px(x.at(gap.start_ms))} x2={px(x.at(gap.end_ms))} y1={px(mid)} y2={px(mid)}
              stroke="#5a6478" stroke-width="1.5" stroke-dasharray="3 3">
            <title>{ format!("backoff: waited {} before the next attempt", format_ms(waited)) }</title>
        </line>
    }
}

/// One call's row: its label, its attempts and the waits between them.
fn call_row(call: &CallRow, index: usize, x: &Linear, now: f64) -> Html {
    let top = TOP + index as f64 * ROW_H;
    let mid = top + ROW_H / 2.0;
    let code = code_label(call.code);
    let summary = match call.elapsed_ms() {
        Some(ms) => format!(
            "call #{}: {} ended {} after {} attempt(s), {}",
            call.row,
            call.operation,
            code,
            call.attempts_sent(),
            format_ms(ms)
        ),
        None => format!("call #{}: {} still running", call.row, call.operation),
    };
    html! {
        <g class="call-row" data-row={call.row.to_string()} data-step={call.step.to_string()}
           data-operation={call.operation} data-code={code}
           data-attempts={call.attempts_sent().to_string()}>
            <title>{ summary }</title>
            if index % 2 == 1 {
                <rect class="row-band" x={px(LEFT)} y={px(top)} width={px(WIDTH - LEFT - RIGHT)}
                      height={px(ROW_H)} fill="#f2f4f9" />
            }
            <text class="row-label" x={px(LEFT - 6.0)} y={px(mid + 4.0)} text-anchor="end">
                { format!("#{}", call.row) }
            </text>
            { for call.backoffs.iter().map(|gap| backoff_line(gap, x, mid)) }
            { for call.attempts.iter().map(|attempt| attempt_bar(call, attempt, x, mid, now)) }
        </g>
    }
}

/// A faint line above the first row of a new lesson step, labelled on the right.
fn step_marker(step: usize, index: usize) -> Html {
    let y = TOP + index as f64 * ROW_H;
    html! {
        <g class="step-marker" data-step-start={step.to_string()}>
            if index > 0 {
                <line x1={px(LEFT)} x2={px(WIDTH - RIGHT)} y1={px(y)} y2={px(y)}
                      stroke="#8a93a6" stroke-dasharray="6 3" />
            }
            <text class="step-label" x={px(WIDTH - RIGHT + 6.0)} y={px(y + 11.0)}>
                { format!("step {}", step + 1) }
            </text>
        </g>
    }
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

#[component]
pub fn AttemptTimeline(props: &Props) -> Html {
    let log = props.log.log.borrow();
    let rows = log.recent_calls(props.max_rows);
    let total = log.calls.len();
    let attempts: usize = log.calls.iter().map(CallRow::attempts_sent).sum();
    let cut = rows.len() < total;
    let several_steps = log
        .calls
        .first()
        .zip(log.calls.last())
        .is_some_and(|(first, last)| first.step != last.step);

    // With every call shown the axis starts when the run did; with only the
    // newest shown, it starts with them, so they are not squeezed into the
    // right-hand edge. The labels still count from the run's start.
    let from = match rows.first() {
        Some(first) if cut => first.start_ms,
        _ => 0.0,
    };
    let axis = TimeAxis::covering(from, log.last_ms, TICKS);
    let x = axis.scale(LEFT, WIDTH - RIGHT);
    let plot_h = rows.len().max(1) as f64 * ROW_H;
    let height = TOP + plot_h + BOTTOM;
    let bottom = TOP + plot_h;

    let grid = axis.ticks().map(|ms| {
        let at = px(x.at(ms));
        html! {
            <g class="tick" data-ms={format!("{ms:.3}")}>
                <line class="grid" x1={at.clone()} x2={at.clone()} y1={px(TOP)} y2={px(bottom)} stroke="#e3e7f0" />
                <text x={at} y={px(bottom + 16.0)} text-anchor="middle">{ format_ms(ms) }</text>
            </g>
        }
    });
    let step_markers = rows.iter().enumerate().filter_map(|(index, call)| {
        let changed = match index {
            0 => several_steps,
            _ => rows[index - 1].step != call.step,
        };
        changed.then(|| step_marker(call.step, index))
    });

    let mut label = format!("Attempt timeline: {total} calls, {attempts} attempts");
    if cut {
        label.push_str(&format!(", showing the newest {}", rows.len()));
    }

    html! {
        <figure class="plot timeline-plot">
            <svg viewBox={format!("0 0 {WIDTH} {height}")} role="img" aria-label={label}
                 data-plot="timeline" data-rows={rows.len().to_string()} data-calls={total.to_string()}>
                { patterns() }
                { for grid }
                <line class="axis" x1={px(LEFT)} x2={px(WIDTH - RIGHT)} y1={px(bottom)} y2={px(bottom)} stroke="#5a6478" />
                <line class="axis" x1={px(LEFT)} x2={px(LEFT)} y1={px(TOP)} y2={px(bottom)} stroke="#5a6478" />
                { for rows.iter().enumerate().map(|(index, call)| call_row(call, index, &x, log.last_ms)) }
                { for step_markers }
                if rows.is_empty() {
                    <text class="empty-note" x={px((LEFT + WIDTH - RIGHT) / 2.0)} y={px(TOP + ROW_H - 3.0)}
                          text-anchor="middle">{ "No calls yet: start a run to draw its attempts here." }</text>
                }
                <text class="axis-label" x="16" y={px(TOP + plot_h / 2.0)} text-anchor="middle"
                      transform={format!("rotate(-90 16 {})", px(TOP + plot_h / 2.0))}>{ "call #" }</text>
                <text class="axis-label" x={px((LEFT + WIDTH - RIGHT) / 2.0)} y={px(height - 8.0)}
                      text-anchor="middle">{ "time since the run began" }</text>
            </svg>
            if let (true, Some(first), Some(last)) = (cut, rows.first(), rows.last()) {
                <p class="plot-cut" data-shown-from={first.row.to_string()} data-shown-to={last.row.to_string()}>
                    { format!("showing calls {}–{} of {total}", first.row, last.row) }
                </p>
            }
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
