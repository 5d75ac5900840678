//! The circuit breaker over time: its state as a band, its failure rate as a
//! line, and the threshold that trips it.
//!
//! A breaker is easiest to understand by watching the two together: the
//! failure rate in its sliding window climbs, crosses the dashed threshold,
//! and the band turns from *closed* to *open* — calls are now refused at once
//! instead of piling onto a struggling server. After its wait the band turns
//! *half-open*: a few probe calls test the server, and their outcome closes
//! the breaker again or reopens it.
//!
//! As in every plot here, a state differs by colour *and* pattern, and each
//! drawn element carries `data-*` attributes for the browser tests.

use std::fmt::Write;

use rpc_lab::number_format::{fixed, shortest};
use rpc_lab::resilience::BreakerState;
use yew::prelude::*;

use super::plot_frame::{write_axes, write_time_label, write_time_tick, write_value_label};
use crate::markup::{Esc, raw};
use crate::plot_scale::{Linear, MAX_POINTS, TimeAxis, downsample, format_ms, format_number, px};
use crate::run_log::{BreakerSpan, RunLog, Sample};
use crate::step_view::{step_name, step_window};

const WIDTH: f64 = 840.0;
const LEFT: f64 = 66.0;
const RIGHT: f64 = 56.0;
const TOP: f64 = 8.0;
/// The state band's height.
const BAND_H: f64 = 26.0;
/// The failure-rate chart's top and height.
const CHART_TOP: f64 = TOP + BAND_H + 18.0;
const CHART_H: f64 = 180.0;
const BOTTOM: f64 = 46.0;
const HEIGHT: f64 = CHART_TOP + CHART_H + BOTTOM;
const TICKS: usize = 8;
/// The narrowest band span drawn, in SVG units (the SVG is never shown
/// narrower than 720 px of its 840). A breaker can pass through a state in
/// an instant — half-open, then closed by the first probe's success — and a
/// span of zero width would hide a state it really was in.
pub const MIN_SPAN_W: f64 = 6.0;

/// Every state, in legend order, with what it means for a call.
const STATES: [(BreakerState, &str); 5] = [
    (BreakerState::Closed, "calls flow"),
    (BreakerState::Open, "calls refused at once"),
    (BreakerState::HalfOpen, "a few probe calls allowed"),
    (BreakerState::ForcedOpen, "refusing every call (by hand)"),
    (
        BreakerState::Disabled,
        "letting every call through (by hand)",
    ),
];

/// A state's fill (a colour or one of the `bp-` patterns) and outline, from
/// the Okabe–Ito palette.
fn look(state: BreakerState) -> (&'static str, &'static str) {
    match state {
        BreakerState::Closed => ("#009E73", "#00694d"),
        BreakerState::Open => ("url(#bp-open)", "#a84700"),
        BreakerState::HalfOpen => ("url(#bp-half-open)", "#a86f00"),
        BreakerState::ForcedOpen => ("url(#bp-forced-open)", "#9b4f7d"),
        BreakerState::Disabled => ("url(#bp-disabled)", "#6b6b6b"),
    }
}

/// The band's patterns; ids start with `bp-` so they do not clash with
/// another plot's on the same page. Open: cross-hatch; half-open: diagonal
/// hatch; forced open: vertical stripes; disabled: grey dots.
const PATTERNS: &str = "<defs>\
<pattern id=\"bp-open\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
<rect width=\"6\" height=\"6\" fill=\"#fbe0cc\"/>\
<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#D55E00\" stroke-width=\"2\"/>\
<line x1=\"0\" y1=\"0\" x2=\"6\" y2=\"0\" stroke=\"#D55E00\" stroke-width=\"2\"/></pattern>\
<pattern id=\"bp-half-open\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
<rect width=\"6\" height=\"6\" fill=\"#fcefd0\"/>\
<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#E69F00\" stroke-width=\"3\"/></pattern>\
<pattern id=\"bp-forced-open\" width=\"5\" height=\"5\" patternUnits=\"userSpaceOnUse\">\
<rect width=\"5\" height=\"5\" fill=\"#f7e4ef\"/><rect width=\"2.5\" height=\"5\" fill=\"#CC79A7\"/></pattern>\
<pattern id=\"bp-disabled\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\">\
<rect width=\"6\" height=\"6\" fill=\"#ffffff\"/><circle cx=\"3\" cy=\"3\" r=\"1.4\" fill=\"#8c8c8c\"/></pattern>\
</defs>";

/// One step's breaker on that step's clock — time since the step's first
/// call began, the timeline's clock — so the plots' times can be read
/// against each other.
#[derive(Debug, PartialEq)]
struct StepBreaker {
    step: usize,
    /// Its state spans; every open span is closed at `end_ms`.
    spans: Vec<BreakerSpan>,
    failure_rate: Vec<Sample>,
    /// Where the step's breaker stopped (or now, while it runs).
    end_ms: f64,
}

/// The newest step's breaker (the step of the newest span), on its clock.
/// An earlier step's breaker was a different caller's; a lesson's steps are
/// compared step by step in the timeline and the summary.
fn newest_breaker(log: &RunLog) -> Option<StepBreaker> {
    let step = log.breaker.last()?.step;
    let spans: Vec<&BreakerSpan> = log.breaker.iter().filter(|s| s.step == step).collect();
    let first = spans[0].start_ms;
    let last = spans[spans.len() - 1].end_ms.unwrap_or(log.last_ms);
    // The step's zero is its first call's start, as on the timeline; the
    // breaker is made a moment before it, and is drawn from zero.
    let zero = step_window(log, step).map_or(first, |w| w.start_ms);
    let on_clock = |ms: f64| (ms - zero).max(0.0);
    Some(StepBreaker {
        step,
        spans: spans
            .iter()
            .map(|span| BreakerSpan {
                step,
                state: span.state,
                start_ms: on_clock(span.start_ms),
                end_ms: Some(on_clock(span.end_ms.unwrap_or(last))),
            })
            .collect(),
        failure_rate: log
            .failure_rate
            .iter()
            .filter(|s| s.at_ms >= first && s.at_ms <= last)
            .map(|s| Sample {
                at_ms: on_clock(s.at_ms),
                value: s.value,
            })
            .collect(),
        end_ms: on_clock(last),
    })
}

/// Where each band span is drawn, as (x, width): at least `min_w` wide, and
/// never starting before the previous one ends, so a span that lasted no
/// time is not drawn under its neighbour. (The band may then reach a few
/// units past the axis's end, into the plot's margin.)
fn band_layout(spans: &[(f64, f64)], min_w: f64) -> Vec<(f64, f64)> {
    let mut previous_end = f64::NEG_INFINITY;
    spans
        .iter()
        .map(|&(x0, x1)| {
            let start = x0.max(previous_end);
            let width = (x1 - start).max(min_w);
            previous_end = start + width;
            (start, width)
        })
        .collect()
}

/// One stretch of the band: the breaker stayed in one state.
fn band_segment(out: &mut String, span: &BreakerSpan, (x0, width): (f64, f64)) {
    let end = span.end_ms.unwrap_or(span.start_ms);
    let (fill, stroke) = look(span.state);
    let name = span.state.name();
    let _ = write!(
        out,
        r#"<g class="band {name}" data-state="{name}" data-step="{}" data-x="{}" data-width="{}" data-start-ms="{}" data-end-ms="{}"><title>{name} from {} to {} ({})</title><rect x="{}" y="{}" width="{}" height="{}" fill="{fill}" stroke="{stroke}"/>"#,
        span.step,
        fixed(x0, 3),
        fixed(width, 3),
        fixed(span.start_ms, 3),
        fixed(end, 3),
        format_ms(span.start_ms),
        format_ms(end),
        format_ms(end - span.start_ms),
        px(x0),
        px(TOP),
        px(width),
        px(BAND_H),
    );
    // The name is written inside when it fits (about 7 units a letter).
    if width > name.len() as f64 * 7.0 + 8.0 {
        let _ = write!(
            out,
            r#"<text class="band-label" x="{}" y="{}" text-anchor="middle">{name}</text>"#,
            px(x0 + width / 2.0),
            px(TOP + BAND_H / 2.0 + 4.0)
        );
    }
    out.push_str("</g>");
}

/// The failure-rate line, with a dot per sample. It is broken wherever the
/// breaker changed state: the rate is only measured while closed, and a
/// breaker that closes again starts from an empty window, so joining the
/// points across an open period would draw a trend that never happened.
fn rate_line(out: &mut String, samples: &[Sample], breaks: &[f64], x: &Linear, y: &Linear) {
    let mut pieces: Vec<String> = Vec::new();
    let mut boundary = breaks.iter().peekable();
    let mut current = String::new();
    for sample in samples {
        // Crossing a state change starts a new polyline.
        let mut crossed = false;
        while boundary.next_if(|&&start| sample.at_ms > start).is_some() {
            crossed = true;
        }
        if crossed && !current.is_empty() {
            pieces.push(std::mem::take(&mut current));
        }
        let _ = write!(
            current,
            "{},{} ",
            px(x.at(sample.at_ms)),
            px(y.at(sample.value))
        );
    }
    pieces.push(current);
    let _ = write!(
        out,
        r#"<g class="failure-rate" data-points="{}">"#,
        samples.len()
    );
    for points in pieces.iter().filter(|p| !p.is_empty()) {
        let _ = write!(
            out,
            r##"<polyline class="rate-line" points="{points}" fill="none" stroke="#0072B2" stroke-width="2"/>"##
        );
    }
    for sample in samples {
        let _ = write!(
            out,
            r##"<circle class="rate-point" data-rate="{}" data-at-ms="{}" cx="{}" cy="{}" r="2.2" fill="#0072B2"><title>{} % failed at {}</title></circle>"##,
            fixed(sample.value, 1),
            fixed(sample.at_ms, 3),
            px(x.at(sample.at_ms)),
            px(y.at(sample.value)),
            format_number(sample.value),
            format_ms(sample.at_ms)
        );
    }
    out.push_str("</g>");
}

/// The dashed line at the failure rate that opens the breaker.
fn threshold_line(out: &mut String, threshold: f64, y: &Linear) {
    let at = px(y.at(threshold));
    let label_y = px(y.at(threshold) - 5.0);
    let threshold = format_number(threshold);
    let _ = write!(
        out,
        r##"<g class="threshold" data-threshold="{threshold}"><title>The breaker opens when the failure rate reaches {threshold} %</title><line x1="{}" x2="{}" y1="{at}" y2="{at}" stroke="#1d2330" stroke-width="1.5" stroke-dasharray="6 4"/><text class="threshold-label" x="{}" y="{label_y}" text-anchor="end">threshold {threshold} %</text></g>"##,
        px(LEFT),
        px(WIDTH - RIGHT),
        px(WIDTH - RIGHT - 4.0),
    );
}
/// The newest step's breaker in `log`. `threshold` is the failure rate (%)
/// that opens the breaker (`None` without a breaker); `labels` are the steps'
/// names, to say which step's breaker is shown.
///
/// Written as markup text ([`crate::markup`]): the plot has no listeners, and
/// as `html!` its thirty kinds of element cost several kilobytes of page.
pub fn breaker_plot(log: &RunLog, threshold: Option<f64>, labels: &[String]) -> Html {
    let Some(breaker) = newest_breaker(log) else {
        return raw(
            r#"<p class="plot-off" data-plot-off="breaker">The circuit breaker is off: switch it on under Client policy to see its state here.</p>"#
                .to_owned(),
        );
    };
    let spans = &breaker.spans;
    let current = &spans[spans.len() - 1];

    // The newest step's breaker, on the step's own clock: from its first
    // call to where its breaker stopped (a later run without a breaker
    // would otherwise stretch the axis and squash the band).
    let end = breaker.end_ms;
    let axis = TimeAxis::covering(0.0, end, TICKS);
    let x = axis.scale(LEFT, WIDTH - RIGHT);
    let y = Linear::new((0.0, 100.0), (CHART_TOP + CHART_H, CHART_TOP));
    let samples = downsample(&breaker.failure_rate, MAX_POINTS);
    let breaks: Vec<f64> = spans.iter().skip(1).map(|span| span.start_ms).collect();
    let layout = band_layout(
        &spans
            .iter()
            .map(|span| (x.at(span.start_ms), x.at(span.end_ms.unwrap_or(end))))
            .collect::<Vec<_>>(),
        MIN_SPAN_W,
    );

    let mut label = format!(
        "Circuit breaker: {} state spans, now {}",
        spans.len(),
        current.state.name()
    );
    if let Some(rate) = log.failure_rate.last() {
        let _ = write!(label, "; failure rate {} %", format_number(rate.value));
    }
    if let Some(threshold) = threshold {
        let _ = write!(label, " (threshold {} %)", format_number(threshold));
    }

    let mut out = String::from(r#"<figure class="plot breaker-plot">"#);
    if log.steps() > 1 {
        let _ = write!(
            out,
            r#"<figcaption class="plot-step">Step shown: {} (the newest step with a breaker)</figcaption>"#,
            Esc(&step_name(labels, breaker.step))
        );
    }
    let _ = write!(
        out,
        r#"<svg viewBox="0 0 {} {}" role="img" aria-label="{label}" data-plot="breaker" data-spans="{}" data-state="{}" data-step="{}" data-axis-end-ms="{}" data-min-span-width="{}">{PATTERNS}<text class="axis-label" x="{}" y="{}" text-anchor="end">breaker</text>"#,
        shortest(WIDTH),
        shortest(HEIGHT),
        spans.len(),
        current.state.name(),
        breaker.step,
        fixed(axis.end_ms, 3),
        px(MIN_SPAN_W),
        px(LEFT - 6.0),
        px(TOP + BAND_H / 2.0 + 4.0),
    );
    for (span, &place) in spans.iter().zip(&layout) {
        band_segment(&mut out, span, place);
    }
    for rate in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let at = px(y.at(rate));
        let _ = write!(
            out,
            r##"<g class="tick"><line class="grid" x1="{}" x2="{}" y1="{at}" y2="{at}" stroke="#e3e7f0"/><text x="{}" y="{}" text-anchor="end">{} %</text></g>"##,
            px(LEFT),
            px(WIDTH - RIGHT),
            px(LEFT - 6.0),
            px(y.at(rate) + 4.0),
            shortest(rate)
        );
    }
    for ms in axis.ticks() {
        write_time_tick(&mut out, ms, &x, CHART_TOP, CHART_TOP + CHART_H);
    }
    write_axes(
        &mut out,
        LEFT,
        WIDTH - RIGHT,
        CHART_TOP,
        CHART_TOP + CHART_H,
    );
    if let Some(threshold) = threshold {
        threshold_line(&mut out, threshold, &y);
    }
    rate_line(&mut out, &samples, &breaks, &x, &y);
    if samples.is_empty() {
        let _ = write!(
            out,
            r#"<text class="empty-note" x="{}" y="{}" text-anchor="middle">No failure rate yet: the window fills as attempts finish.</text>"#,
            px((LEFT + WIDTH - RIGHT) / 2.0),
            px(CHART_TOP + CHART_H / 2.0)
        );
    }
    write_value_label(
        &mut out,
        "failure rate in window (%)",
        14,
        CHART_TOP + CHART_H / 2.0,
    );
    write_time_label(&mut out, (LEFT + WIDTH - RIGHT) / 2.0, HEIGHT - 8.0);
    out.push_str(r#"</svg><ul class="plot-legend" aria-label="Breaker states">"#);
    for (state, meaning) in STATES {
        let (fill, stroke) = look(state);
        let name = state.name();
        let _ = write!(
            out,
            r#"<li data-state="{name}"><svg class="swatch" viewBox="0 0 24 14" aria-hidden="true"><rect x="1" y="2" width="22" height="10" fill="{fill}" stroke="{stroke}"/></svg><strong>{name}</strong>: {meaning}</li>"#
        );
    }
    out.push_str(
        r##"<li class="legend-rate"><svg class="swatch" viewBox="0 0 24 14" aria-hidden="true"><line x1="1" x2="23" y1="7" y2="7" stroke="#0072B2" stroke-width="2"/><circle cx="12" cy="7" r="2.2" fill="#0072B2"/></svg>failure rate in the window</li>"##,
    );
    if threshold.is_some() {
        out.push_str(
            r##"<li class="legend-threshold"><svg class="swatch" viewBox="0 0 24 14" aria-hidden="true"><line x1="1" x2="23" y1="7" y2="7" stroke="#1d2330" stroke-width="1.5" stroke-dasharray="6 4"/></svg>threshold: the breaker opens here</li>"##,
        );
    }
    out.push_str("</ul></figure>");
    raw(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::time::Duration;

    use crate::run_log::CallRow;

    #[test]
    fn a_state_that_lasted_no_time_is_still_drawn() {
        // closed 0–100, open 100–300, half-open 300–300 (closed by the
        // first probe at once), closed 300–400.
        let spans = [(0.0, 100.0), (100.0, 300.0), (300.0, 300.0), (300.0, 400.0)];
        let layout = band_layout(&spans, MIN_SPAN_W);
        assert_eq!(layout[2], (300.0, MIN_SPAN_W), "half-open is visible");
        assert_eq!(layout[3].0, 300.0 + MIN_SPAN_W, "and not drawn over");
        for pair in layout.windows(2) {
            assert!(pair[1].0 >= pair[0].0 + pair[0].1, "no overlap: {layout:?}");
        }
        assert!(layout.iter().all(|&(_, w)| w >= MIN_SPAN_W));
        assert_eq!(layout[1], (100.0, 200.0), "wide spans keep their place");
    }

    #[test]
    fn the_breaker_is_drawn_on_its_steps_clock() {
        let mut log = RunLog::new(Duration::ZERO);
        let call = |step, start_ms: f64, end_ms: f64| CallRow {
            row: 0,
            step,
            operation: "add",
            key: None,
            start_ms,
            end_ms: Some(end_ms),
            code: None,
            gave_up: None,
            attempts: Vec::new(),
            backoffs: Vec::new(),
        };
        // Step 0 had no breaker; step 1 began 5 s into the lesson.
        log.calls.push(call(0, 0.0, 4_900.0));
        log.calls.push(call(1, 5_000.0, 6_000.0));
        let span = |state, start_ms, end_ms| BreakerSpan {
            step: 1,
            state,
            start_ms,
            end_ms: Some(end_ms),
        };
        log.breaker = vec![
            span(BreakerState::Closed, 4_999.5, 5_400.0),
            span(BreakerState::Open, 5_400.0, 6_000.0),
        ];
        log.failure_rate = vec![Sample {
            at_ms: 5_200.0,
            value: 50.0,
        }];
        log.last_ms = 9_000.0;
        let drawn = newest_breaker(&log).expect("a breaker");
        assert_eq!(drawn.step, 1);
        let times: Vec<_> = drawn.spans.iter().map(|s| (s.start_ms, s.end_ms)).collect();
        assert_eq!(times, [(0.0, Some(400.0)), (400.0, Some(1_000.0))]);
        assert_eq!(drawn.end_ms, 1_000.0, "not stretched to the log's end");
        assert_eq!(drawn.failure_rate[0].at_ms, 200.0);
    }

    #[test]
    fn every_state_has_its_own_pattern() {
        let fills: std::collections::HashSet<_> = STATES.iter().map(|&(s, _)| look(s).0).collect();
        assert_eq!(fills.len(), STATES.len(), "two states look alike");
        for (state, _) in STATES {
            let fill = look(state).0;
            assert!(
                fill.starts_with('#') || fill.starts_with("url(#bp-"),
                "{state}: pattern ids carry this plot's prefix"
            );
        }
    }
}
