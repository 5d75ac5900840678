//! The retry budget over time: how many tokens the caller had left.
//!
//! gRFC A6's retry throttling is a token bucket (see
//! `rpc_lab::resilience::budget`): it starts full, every failed attempt takes
//! a token, every success gives a fraction back, and a retry may start only
//! while more than half the tokens are left. The plot is a step line — the
//! count changes at an instant and then holds — with the half-way line
//! dashed: while the line is under it, calls fail on their first error
//! instead of adding retries to a server that is already struggling.

use rpc_lab::number_format::{fixed, shortest};
use yew::prelude::*;

use super::plot_frame::{axes, time_label, time_tick, value_label};
use crate::plot_scale::{Linear, MAX_POINTS, TimeAxis, downsample, format_ms, format_number, px};
use crate::run_log::{RunLog, Sample};
use crate::step_view::step_at;

const WIDTH: f64 = 840.0;
const LEFT: f64 = 66.0;
const RIGHT: f64 = 56.0;
const TOP: f64 = 12.0;
const CHART_H: f64 = 150.0;
const BOTTOM: f64 = 46.0;
const HEIGHT: f64 = TOP + CHART_H + BOTTOM;
const TICKS: usize = 8;
const LINE: &str = "#0072B2";

/// The tokens in `log` of the step that last used the budget; `max_tokens`
/// is the bucket's size, `None` when the budget is off.
pub fn budget_plot(log: &RunLog, max_tokens: Option<f64>) -> Html {
    let Some(max_tokens) = max_tokens.filter(|&max| max > 0.0) else {
        return html! {
            <p class="plot-off" data-plot-off="budget">
                { "The retry budget is off: switch it on under Client policy to see its tokens here." }
            </p>
        };
    };
    let half = max_tokens / 2.0;
    // The step that last used the budget, on its own clock (time since its
    // first call began, as on the timeline): earlier steps may have run
    // without a budget, and a later run without one would squash this one
    // into a corner.
    let (step, on_clock, end) = match log.tokens.last().and_then(|s| step_at(log, s.at_ms)) {
        Some(w) => (
            Some(w.step),
            step_samples(&log.tokens, w.start_ms, w.end_ms),
            w.duration_ms(),
        ),
        None => (None, Vec::new(), 0.0),
    };
    let samples = downsample(&on_clock, MAX_POINTS);
    let axis = TimeAxis::covering(0.0, end, TICKS);
    let x = axis.scale(LEFT, WIDTH - RIGHT);
    let y = Linear::new((0.0, max_tokens), (TOP + CHART_H, TOP));

    // A step line from the step's first change on: each sample is a new
    // level, held until the next one (or the step's end, for the last).
    // Nothing is drawn before the first change: whether the bucket was full
    // then (a fresh caller) or left over from an earlier run is not logged.
    let mut path = String::new();
    for sample in samples.iter() {
        let (at, level) = (px(x.at(sample.at_ms)), px(y.at(sample.value)));
        if path.is_empty() {
            path = format!("M{at} {level}");
        } else {
            path.push_str(&format!(" H{at} V{level}"));
        }
    }
    if !path.is_empty() {
        path.push_str(&format!(" H{}", px(x.at(end))));
    }

    let points = samples.iter().map(|sample| {
        html! {
            <circle class="token-point" data-tokens={fixed(sample.value, 2)} data-at-ms={fixed(sample.at_ms, 3)}
                    cx={px(x.at(sample.at_ms))} cy={px(y.at(sample.value))} r="2.2" fill={LINE}>
                <title>{ format!("{} tokens at {}", format_number(sample.value), format_ms(sample.at_ms)) }</title>
            </circle>
        }
    });
    let time_ticks = axis.ticks().map(|ms| time_tick(ms, &x, TOP, TOP + CHART_H));
    let token_ticks = [0.0, half, max_tokens].map(|tokens| {
        html! {
            <text class="tick" x={px(LEFT - 6.0)} y={px(y.at(tokens) + 4.0)} text-anchor="end">
                { format_number(tokens) }
            </text>
        }
    });

    let now = log.tokens.last().map_or(max_tokens, |s| s.value);
    let label = format!(
        "Retry budget: {} of {} tokens left after {} changes; retries are refused at or below {}",
        format_number(now),
        format_number(max_tokens),
        log.tokens.len(),
        format_number(half)
    );
    let half_at = px(y.at(half));

    html! {
        <figure class="plot budget-plot">
            <svg viewBox={format!("0 0 {} {}", shortest(WIDTH), shortest(HEIGHT))} role="img" aria-label={label}
                 data-plot="budget" data-max-tokens={format_number(max_tokens)} data-points={samples.len().to_string()}
                 data-step={step.map_or(String::new(), |s| s.to_string())} data-axis-end-ms={fixed(axis.end_ms, 3)}>
                { for time_ticks }
                { for token_ticks }
                { axes(LEFT, WIDTH - RIGHT, TOP, TOP + CHART_H) }
                // The zone where retries are refused, lightly shaded.
                <rect class="refused-zone" x={px(LEFT)} y={half_at.clone()} width={px(WIDTH - LEFT - RIGHT)}
                      height={px(y.at(0.0) - y.at(half))} fill="#D55E00" fill-opacity="0.07" />
                <g class="threshold" data-threshold={format_number(half)}>
                    <title>{ format!("gRFC A6: a retry may start only while more than {} tokens are left", format_number(half)) }</title>
                    <line x1={px(LEFT)} x2={px(WIDTH - RIGHT)} y1={half_at.clone()} y2={half_at}
                          stroke="#D55E00" stroke-width="1.5" stroke-dasharray="6 4" />
                    <text class="threshold-label" x={px(WIDTH - RIGHT - 4.0)} y={px(y.at(half) + 15.0)}
                          text-anchor="end">{ "retries refused below this" }</text>
                </g>
                <path class="token-line" d={path} fill="none" stroke={LINE} stroke-width="2" />
                { for points }
                { value_label("retry tokens", 16, TOP + CHART_H / 2.0) }
                { time_label((LEFT + WIDTH - RIGHT) / 2.0, HEIGHT - 8.0) }
            </svg>
        </figure>
    }
}

/// The samples taken during a step (`start_ms`..=`end_ms` on the log's
/// clock), on the step's clock.
fn step_samples(samples: &[Sample], start_ms: f64, end_ms: f64) -> Vec<Sample> {
    samples
        .iter()
        .filter(|s| (start_ms..=end_ms).contains(&s.at_ms))
        .map(|s| Sample {
            at_ms: s.at_ms - start_ms,
            value: s.value,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steps_tokens_are_on_the_steps_clock() {
        let sample = |at_ms, value| Sample { at_ms, value };
        // An earlier step's tokens, then this step's, from 198.6 s into the session.
        let samples = [
            sample(900.0, 9.0),
            sample(198_700.0, 8.0),
            sample(200_000.0, 4.5),
        ];
        let shown = step_samples(&samples, 198_600.0, 200_050.0);
        assert_eq!(shown, [sample(100.0, 8.0), sample(1_400.0, 4.5)]);
    }
}
