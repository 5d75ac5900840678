//! The arithmetic behind the run plots: scales, time ticks, labels and
//! downsampling.
//!
//! Every plot maps a number (milliseconds since the run began, a failure rate,
//! a token count) to a pixel. Keeping that mapping here, as plain functions,
//! means the components only *draw*, and the maths a student might doubt —
//! "is this bar really 120 ms long?" — is tested natively.
//!
//! Pixels are SVG user units: each plot has a `viewBox`, and the browser
//! stretches it to the page's width.

use std::borrow::Cow;

use rpc_lab::number_format::fixed;

use crate::latency::nice_ceiling;
use crate::run_log::Sample;

/// A straight-line map from a domain (data) to a range (pixels).
///
/// The range may run backwards — a y axis grows *up* the screen while SVG's y
/// grows down — so `Linear::new((0.0, 100.0), (200.0, 20.0))` puts 0 % at the
/// bottom and 100 % at the top.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Linear {
    domain: (f64, f64),
    range: (f64, f64),
}

impl Linear {
    pub fn new(domain: (f64, f64), range: (f64, f64)) -> Linear {
        Linear { domain, range }
    }

    /// Where `value` is drawn. Values outside the domain are pinned to its
    /// edge, so a late sample or an attempt still in flight never draws
    /// outside the plot. An empty domain maps everything to the range's start.
    pub fn at(&self, value: f64) -> f64 {
        let (d0, d1) = self.domain;
        let (r0, r1) = self.range;
        let span = d1 - d0;
        if span.abs() < f64::EPSILON || !value.is_finite() {
            return r0;
        }
        let t = clamp((value - d0) / span, 0.0, 1.0);
        r0 + t * (r1 - r0)
    }

    /// The length in pixels of an interval of `amount` in the domain
    /// (unpinned, always positive): a bar's width, a gap's length.
    pub fn length(&self, amount: f64) -> f64 {
        let span = self.domain.1 - self.domain.0;
        if span.abs() < f64::EPSILON {
            return 0.0;
        }
        (amount / span * (self.range.1 - self.range.0)).abs()
    }
}

/// A time axis in milliseconds since the run began: where it starts and ends,
/// and the step between its ticks.
///
/// Both ends sit on a tick, and the step is 1, 2, 2.5 or 5 × 10ⁿ ms (see
/// [`nice_ceiling`]), so a student reads "250 ms, 500 ms, 750 ms" rather
/// than "237 ms, 474 ms".
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeAxis {
    pub start_ms: f64,
    pub end_ms: f64,
    pub step_ms: f64,
}

impl TimeAxis {
    /// An axis covering `from_ms`…`to_ms` with about `ticks` steps.
    ///
    /// A run that has not started yet (or lasted no time) still gets a
    /// one-step axis, so the plot has a frame to draw in.
    pub fn covering(from_ms: f64, to_ms: f64, ticks: usize) -> TimeAxis {
        let from_ms = from_ms.max(0.0);
        let span = (to_ms - from_ms).max(0.0);
        let step_ms = nice_ceiling(span / ticks.max(1) as f64);
        // A hair of tolerance: 0.9 / 0.1 is 9.000000000000002 in floating
        // point, and should not grow the axis by a whole step.
        let start_ms = (from_ms / step_ms + 1e-9).floor() * step_ms;
        let mut end_ms = (to_ms / step_ms - 1e-9).ceil() * step_ms;
        if end_ms <= start_ms {
            end_ms = start_ms + step_ms;
        }
        TimeAxis {
            start_ms,
            end_ms,
            step_ms,
        }
    }

    /// The tick positions, from start to end inclusive. Each is computed as
    /// a whole number of steps, so no rounding error piles up.
    pub fn ticks(&self) -> impl Iterator<Item = f64> + use<> {
        let first = (self.start_ms / self.step_ms).round() as i64;
        let last = (self.end_ms / self.step_ms).round() as i64;
        let step = self.step_ms;
        (first..=last).map(move |k| k as f64 * step)
    }

    /// The scale that puts this axis between two pixel positions.
    pub fn scale(&self, left_px: f64, right_px: f64) -> Linear {
        Linear::new((self.start_ms, self.end_ms), (left_px, right_px))
    }
}

/// A duration for a label: "0", "2.5 ms", "250 ms", "1 s", "1.5 s".
///
/// Below a second the unit is milliseconds, from a second on it is seconds;
/// at most two decimals, with trailing zeros dropped.
pub fn format_ms(ms: f64) -> String {
    if ms.abs() < 1e-9 {
        return "0".to_owned();
    }
    if ms.abs() < 1000.0 {
        format!("{} ms", format_number(ms))
    } else {
        format!("{} s", format_number(ms / 1000.0))
    }
}

/// A number for a label: at most two decimals, trailing zeros dropped
/// ("50", "62.5", "0.25"), so "threshold 50 %" does not read "50.00 %".
pub fn format_number(x: f64) -> String {
    let text = fixed(x, 2);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0" } else { text }.to_owned()
}

/// A count and its noun, singular for one: "1 attempt", "3 attempts".
pub fn counted(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// A pixel coordinate for an SVG attribute: one decimal is finer than a
/// screen can show, and keeps the page's markup short.
pub fn px(value: f64) -> String {
    fixed(value, 1)
}

/// How many points a line chart draws at most. A thousand calls make a
/// thousand samples, but a plot 800 pixels wide cannot show more than a few
/// hundred distinct ones; drawing fewer keeps the page responsive.
pub const MAX_POINTS: usize = 400;

/// Thins `samples` (in time order) to at most `max_points`, keeping the
/// shape a student needs to see.
///
/// The time range is cut into `max_points / 2` equal buckets; from each, the
/// lowest and the highest sample survive (in their original order), so a
/// brief spike — the moment the failure rate crossed the threshold — is never
/// smoothed away. The first and last samples always survive: the line starts
/// and ends where the data does. Short series come back untouched, without
/// a copy.
///
/// A production chart library does the same under names like "min-max
/// decimation"; LTTB is a smarter choice when the line's look matters more
/// than its extremes.
pub fn downsample(samples: &[Sample], max_points: usize) -> Cow<'_, [Sample]> {
    let max_points = max_points.max(4);
    if samples.len() <= max_points {
        return Cow::Borrowed(samples);
    }
    let first = samples[0].at_ms;
    let last = samples[samples.len() - 1].at_ms;
    // Two points per bucket, plus room for the first and the last sample.
    let buckets = (max_points - 2) / 2;
    let bucket_of = |at_ms: f64| {
        let span = last - first;
        if span <= 0.0 {
            return 0;
        }
        (((at_ms - first) / span * buckets as f64) as usize).min(buckets - 1)
    };

    let mut kept: Vec<Sample> = Vec::with_capacity(max_points);
    let mut last_kept: Option<usize> = None;
    let mut keep = |index: usize, kept: &mut Vec<Sample>| {
        if last_kept.is_none_or(|previous| index > previous) {
            kept.push(samples[index]);
            last_kept = Some(index);
        }
    };

    keep(0, &mut kept);
    let mut bucket = bucket_of(samples[0].at_ms);
    let (mut low, mut high) = (0, 0);
    for (index, sample) in samples.iter().enumerate().skip(1) {
        let this = bucket_of(sample.at_ms);
        if this != bucket {
            keep(low.min(high), &mut kept);
            keep(low.max(high), &mut kept);
            bucket = this;
            (low, high) = (index, index);
        } else {
            if sample.value < samples[low].value {
                low = index;
            }
            if sample.value > samples[high].value {
                high = index;
            }
        }
    }
    keep(low.min(high), &mut kept);
    keep(low.max(high), &mut kept);
    keep(samples.len() - 1, &mut kept);
    Cow::Owned(kept)
}

/// The height of one row when `rows` rows share at most `budget` units:
/// `largest` while they fit, smaller as more are drawn, never below
/// `smallest` (a taller plot beats unreadable rows).
pub fn row_height(rows: usize, budget: f64, largest: f64, smallest: f64) -> f64 {
    if rows == 0 {
        return largest;
    }
    clamp(budget / rows as f64, smallest, largest)
}

/// `x.clamp(lo, hi)`, and NaN stays NaN as there, but without `clamp`'s
/// check that `lo <= hi`: its panic message prints the two floats, which
/// alone would bring Rust's float formatter into the page's download
/// (see `rpc_lab::number_format`).
pub fn clamp(x: f64, lo: f64, hi: f64) -> f64 {
    if x < lo {
        lo
    } else if x > hi {
        hi
    } else {
        x
    }
}

/// A count axis (calls, attempts): from 0 to `top` in whole-number steps.
///
/// The step is 1, 2 or 5 × 10ⁿ (or 25 × 10ⁿ), never a fraction, so every
/// tick is a count a student can check against the bars — "0, 5, 10, 15"
/// rather than only 0 and the tallest bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountAxis {
    pub top: usize,
    pub step: usize,
}

impl CountAxis {
    /// An axis reaching at least `max` with about `ticks` steps.
    pub fn covering(max: usize, ticks: usize) -> CountAxis {
        let raw = nice_ceiling(max.max(1) as f64 / ticks.max(1) as f64);
        // Counts are whole: below 1 the step is 1, and 2.5 becomes 5.
        let step = match raw {
            r if r <= 1.0 => 1,
            r if (r - 2.5).abs() < 1e-9 => 5,
            r => r.round() as usize,
        };
        let top = max.max(1).div_ceil(step) * step;
        CountAxis { top, step }
    }

    /// 0, step, 2 × step, …, top.
    pub fn ticks(&self) -> impl Iterator<Item = usize> + use<> {
        (0..=self.top).step_by(self.step)
    }
}

/// Where a label over a plot goes: its left or right edge at `x`, in text
/// row `row` (0 is the lowest, nearest the plot).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LabelSpot {
    pub x: f64,
    pub row: usize,
    /// The text ends at `x` (it would run past the plot's right edge otherwise).
    pub end_anchored: bool,
}

/// Places labels that point at `anchors` (x positions, in any order) so that
/// no two overlap: each label of width `widths[i]` starts at its anchor, or
/// ends there if it would run past `right`, and goes into the lowest row
/// where it clears every label already there by `gap`.
///
/// Three percentiles 0.4 ms apart would otherwise print on top of each other;
/// here they climb into rows instead. The spots come back in input order.
pub fn place_labels(anchors: &[f64], widths: &[f64], right: f64, gap: f64) -> Vec<LabelSpot> {
    let mut order: Vec<usize> = (0..anchors.len()).collect();
    order.sort_by(|&a, &b| anchors[a].total_cmp(&anchors[b]));
    let mut spots = vec![
        LabelSpot {
            x: 0.0,
            row: 0,
            end_anchored: false,
        };
        anchors.len()
    ];
    // Per row, the extents (from, to) of the labels placed in it.
    let mut rows: Vec<Vec<(f64, f64)>> = Vec::new();
    for index in order {
        let (x, width) = (anchors[index], widths[index]);
        let end_anchored = x + width > right;
        let extent = if end_anchored {
            (x - width, x)
        } else {
            (x, x + width)
        };
        let clear = |placed: &Vec<(f64, f64)>| {
            placed
                .iter()
                .all(|&(from, to)| extent.1 + gap <= from || to + gap <= extent.0)
        };
        let row = rows.iter().position(clear).unwrap_or(rows.len());
        if row == rows.len() {
            rows.push(Vec::new());
        }
        rows[row].push(extent);
        spots[index] = LabelSpot {
            x,
            row,
            end_anchored,
        };
    }
    spots
}

/// Places the labels of marks drawn as vertical lines — a histogram's p50,
/// p90, p99, a timeout — which run from their label down to the plot. As
/// [`place_labels`], no two labels overlap; and, unlike it, no mark's line
/// runs through another mark's label. (With [`place_labels`], p90 climbs
/// above p50's label when they are close, and its dashed line then crosses
/// "p50 …" on its way down.)
///
/// A label starts at its anchor, or ends there (if that stays right of
/// `left`; it must if starting would run past `right`). There are only a few
/// marks, so every choice of row and side is tried, and the placement with
/// the fewest rows wins (then the lowest rows, then the fewest labels ending
/// at their anchor). With more than [`MAX_MARKERS`] marks, or if no placement
/// avoids every line, the labels go where [`place_labels`] puts them.
pub fn place_marker_labels(
    anchors: &[f64],
    widths: &[f64],
    left: f64,
    right: f64,
    gap: f64,
) -> Vec<LabelSpot> {
    let n = anchors.len();
    if n > MAX_MARKERS {
        return place_labels(anchors, widths, right, gap);
    }
    // Each label's possible extents: (from, to, ends at its anchor).
    let sides: Vec<Vec<(f64, f64, bool)>> = (0..n)
        .map(|i| {
            let (x, w) = (anchors[i], widths[i]);
            let mut sides = Vec::new();
            if x + w <= right {
                sides.push((x, x + w, false));
            }
            if x - w >= left || x + w > right {
                sides.push((x - w, x, true));
            }
            sides
        })
        .collect();
    let near = |from: f64, to: f64, x: f64| from - gap / 2.0 <= x && x <= to + gap / 2.0;
    // Whether labels i and j, placed so, clash: texts overlapping in one
    // row, or the higher one's line running through the lower one's text.
    let clash = |i: usize,
                 (ri, si): (usize, (f64, f64, bool)),
                 j: usize,
                 (rj, sj): (usize, (f64, f64, bool))| {
        if ri == rj {
            !(si.1 + gap <= sj.0 || sj.1 + gap <= si.0)
        } else if rj > ri {
            near(si.0, si.1, anchors[j])
        } else {
            near(sj.0, sj.1, anchors[i])
        }
    };

    type Choice = (usize, (f64, f64, bool));
    struct Search<'a> {
        sides: &'a [Vec<(f64, f64, bool)>],
        rows: usize,
        chosen: Vec<Choice>,
        best: Option<((usize, usize, usize), Vec<Choice>)>,
    }
    fn cost(chosen: &[Choice]) -> (usize, usize, usize) {
        (
            chosen.iter().map(|c| c.0).max().unwrap_or(0),
            chosen.iter().map(|c| c.0).sum(),
            chosen.iter().filter(|c| c.1.2).count(),
        )
    }
    fn search(state: &mut Search<'_>, clash: &dyn Fn(usize, Choice, usize, Choice) -> bool) {
        let i = state.chosen.len();
        if let Some((best, _)) = &state.best
            && cost(&state.chosen).0 > best.0
        {
            return;
        }
        if i == state.sides.len() {
            let cost = cost(&state.chosen);
            if state.best.as_ref().is_none_or(|(best, _)| cost < *best) {
                state.best = Some((cost, state.chosen.clone()));
            }
            return;
        }
        for side in state.sides[i].clone() {
            for row in 0..state.rows {
                let choice = (row, side);
                if state
                    .chosen
                    .iter()
                    .enumerate()
                    .all(|(j, &other)| !clash(i, choice, j, other))
                {
                    state.chosen.push(choice);
                    search(state, clash);
                    state.chosen.pop();
                }
            }
        }
    }
    let mut state = Search {
        sides: &sides,
        rows: n,
        chosen: Vec::with_capacity(n),
        best: None,
    };
    search(&mut state, &clash);
    match state.best {
        Some((_, chosen)) => chosen
            .iter()
            .zip(anchors)
            .map(|(&(row, side), &x)| LabelSpot {
                x,
                row,
                end_anchored: side.2,
            })
            .collect(),
        None => place_labels(anchors, widths, right, gap),
    }
}

/// The most marks [`place_marker_labels`] tries every placement for: three
/// percentiles and two timeouts.
pub const MAX_MARKERS: usize = 5;

/// About how wide `text` is at `font_px`: the average glyph of a sans-serif
/// font is a little over half its size. Good enough to keep labels apart;
/// measuring the real text would need the browser.
pub fn text_width(text: &str, font_px: f64) -> f64 {
    text.chars().count() as f64 * font_px * 0.58
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A newcomer read "1 attempts, at most 1 per 5 ms" and "— 1 calls".
    #[test]
    fn one_is_singular() {
        assert_eq!(counted(1, "attempt"), "1 attempt");
        assert_eq!(counted(0, "attempt"), "0 attempts");
        assert_eq!(counted(2, "call"), "2 calls");
    }

    fn sample(at_ms: f64, value: f64) -> Sample {
        Sample { at_ms, value }
    }

    #[test]
    fn a_linear_scale_maps_ends_to_ends_and_pins_outsiders() {
        let x = Linear::new((0.0, 1000.0), (50.0, 850.0));
        assert_eq!(x.at(0.0), 50.0);
        assert_eq!(x.at(500.0), 450.0);
        assert_eq!(x.at(1000.0), 850.0);
        assert_eq!(x.at(2000.0), 850.0, "pinned to the right edge");
        assert_eq!(x.at(-5.0), 50.0, "pinned to the left edge");
        assert_eq!(x.length(250.0), 200.0);
    }

    #[test]
    fn a_y_scale_runs_upwards() {
        let y = Linear::new((0.0, 100.0), (200.0, 20.0));
        assert_eq!(y.at(0.0), 200.0);
        assert_eq!(y.at(50.0), 110.0);
        assert_eq!(y.at(100.0), 20.0);
        assert_eq!(y.length(50.0), 90.0);
    }

    #[test]
    fn an_empty_domain_does_not_divide_by_zero() {
        let x = Linear::new((5.0, 5.0), (10.0, 90.0));
        assert_eq!(x.at(5.0), 10.0);
        assert_eq!(x.length(1.0), 0.0);
        assert_eq!(Linear::new((0.0, 1.0), (0.0, 1.0)).at(f64::NAN), 0.0);
    }

    #[test]
    fn time_axes_end_on_round_ticks() {
        let axis = TimeAxis::covering(0.0, 1830.0, 8);
        assert_eq!(axis.step_ms, 250.0);
        assert_eq!((axis.start_ms, axis.end_ms), (0.0, 2000.0));
        let ticks: Vec<f64> = axis.ticks().collect();
        assert_eq!(ticks.len(), 9);
        assert_eq!(ticks[4], 1000.0);

        let late = TimeAxis::covering(12_340.0, 15_900.0, 6);
        assert_eq!(late.step_ms, 1000.0);
        assert_eq!((late.start_ms, late.end_ms), (12_000.0, 16_000.0));
    }

    #[test]
    fn a_run_that_has_not_started_still_has_an_axis() {
        let axis = TimeAxis::covering(0.0, 0.0, 8);
        assert!(axis.end_ms > axis.start_ms, "{axis:?}");
        assert_eq!(axis.ticks().count(), 2);
    }

    #[test]
    fn ticks_do_not_accumulate_rounding_error() {
        let axis = TimeAxis::covering(0.0, 0.9, 9);
        assert_eq!(axis.step_ms, 0.1);
        let labels: Vec<String> = axis.ticks().map(format_ms).collect();
        assert_eq!(labels[3], "0.3 ms");
        assert_eq!(labels.last().map(String::as_str), Some("0.9 ms"));
    }

    #[test]
    fn durations_read_like_a_person_would_write_them() {
        assert_eq!(format_ms(0.0), "0");
        assert_eq!(format_ms(2.5), "2.5 ms");
        assert_eq!(format_ms(250.0), "250 ms");
        assert_eq!(format_ms(999.0), "999 ms");
        assert_eq!(format_ms(1000.0), "1 s");
        assert_eq!(format_ms(1500.0), "1.5 s");
        assert_eq!(format_ms(1250.0), "1.25 s");
        assert_eq!(format_ms(12_000.0), "12 s");
        assert_eq!(format_ms(0.25), "0.25 ms");
        assert_eq!(px(12.345), "12.3");
        assert_eq!(format_number(50.0), "50");
        assert_eq!(format_number(62.5), "62.5");
        assert_eq!(format_number(-0.001), "0");
    }

    #[test]
    fn short_series_are_drawn_as_they_are() {
        let samples: Vec<Sample> = (0..10).map(|i| sample(f64::from(i), 1.0)).collect();
        assert!(matches!(downsample(&samples, 400), Cow::Borrowed(_)));
    }

    #[test]
    fn downsampling_keeps_the_ends_and_every_extreme() {
        // A flat line at 10 % with one spike to 90 % and one dip to 0 %.
        let mut samples: Vec<Sample> = (0..5000).map(|i| sample(f64::from(i), 10.0)).collect();
        samples[1234].value = 90.0;
        samples[3210].value = 0.0;
        samples[4999].value = 20.0;
        let thin = downsample(&samples, 400);
        assert!(thin.len() <= 400, "{} points", thin.len());
        assert_eq!(
            thin.first(),
            samples.first(),
            "the line starts where the data does"
        );
        assert_eq!(thin.last(), samples.last(), "and ends there");
        assert!(thin.contains(&samples[1234]), "the spike survives");
        assert!(thin.contains(&samples[3210]), "the dip survives");
        assert!(
            thin.windows(2).all(|w| w[0].at_ms < w[1].at_ms),
            "still in time order, no duplicates"
        );
    }

    #[test]
    fn downsampling_copes_with_samples_at_one_instant() {
        let samples: Vec<Sample> = (0..1000).map(|i| sample(7.0, f64::from(i % 13))).collect();
        let thin = downsample(&samples, 400);
        assert!(thin.len() <= 4, "{thin:?}");
        assert!(thin.iter().any(|s| s.value == 12.0));
        assert!(thin.iter().any(|s| s.value == 0.0));
    }

    #[test]
    fn count_axes_have_whole_intermediate_ticks() {
        let axis = CountAxis::covering(17, 4);
        assert_eq!(axis, CountAxis { top: 20, step: 5 });
        let ticks: Vec<usize> = axis.ticks().collect();
        assert_eq!(ticks, [0, 5, 10, 15, 20]);
        assert_eq!(CountAxis::covering(3, 4), CountAxis { top: 3, step: 1 });
        assert_eq!(CountAxis::covering(0, 4), CountAxis { top: 1, step: 1 });
        assert_eq!(
            CountAxis::covering(9, 4),
            CountAxis { top: 10, step: 5 },
            "2.5 is no count"
        );
        assert_eq!(
            CountAxis::covering(230, 4),
            CountAxis {
                top: 300,
                step: 100
            }
        );
        for max in 1..300 {
            let axis = CountAxis::covering(max, 4);
            assert!(axis.top >= max, "{max}: {axis:?}");
            assert!(axis.ticks().count() >= 2, "{max}: {axis:?}");
            if max >= 4 {
                assert!(
                    axis.ticks().count() >= 3,
                    "an intermediate tick for {max}: {axis:?}"
                );
            }
        }
    }

    #[test]
    fn labels_close_together_climb_into_rows() {
        let spots = place_labels(&[100.0, 104.0, 300.0, 108.0], &[60.0; 4], 500.0, 4.0);
        let rows: Vec<usize> = spots.iter().map(|s| s.row).collect();
        assert_eq!(rows, [0, 1, 0, 2]);
        assert!(spots.iter().all(|s| !s.end_anchored));
    }

    #[test]
    fn a_label_near_the_right_edge_ends_at_its_anchor() {
        let spots = place_labels(&[480.0, 100.0], &[60.0, 60.0], 500.0, 4.0);
        assert!(spots[0].end_anchored);
        assert_eq!((spots[0].row, spots[1].row), (0, 0));
        // Ending at 480 it spans 420…480 and clears a label at 400…460 only
        // in another row.
        let crowded = place_labels(&[480.0, 400.0], &[60.0, 60.0], 500.0, 4.0);
        assert_ne!(crowded[0].row, crowded[1].row);
    }

    /// Every label's extent, for the placement tests.
    fn extents(spots: &[LabelSpot], widths: &[f64]) -> Vec<(f64, f64)> {
        spots
            .iter()
            .zip(widths)
            .map(|(s, &w)| {
                if s.end_anchored {
                    (s.x - w, s.x)
                } else {
                    (s.x, s.x + w)
                }
            })
            .collect()
    }

    #[test]
    fn close_percentiles_climb_without_their_lines_crossing_a_label() {
        // p50, p90, p99 4 units apart: p50 ends at its line and p99 starts
        // at its own, side by side; p90 climbs between them, and its line
        // falls through the gap.
        let spots = place_marker_labels(&[100.0, 104.0, 108.0], &[60.0; 3], 0.0, 500.0, 4.0);
        let placed: Vec<(usize, bool)> = spots.iter().map(|s| (s.row, s.end_anchored)).collect();
        assert_eq!(placed, [(0, true), (1, false), (0, false)]);
        // Far apart, all stay in the lowest row.
        let apart = place_marker_labels(&[100.0, 200.0, 300.0], &[60.0; 3], 0.0, 500.0, 4.0);
        assert!(apart.iter().all(|s| s.row == 0));
    }

    #[test]
    fn no_marker_line_runs_through_a_label() {
        let mut climbed = 0;
        for seed in 0..40_u32 {
            // Five marks (the most searched), some near the right edge.
            let anchors: Vec<f64> = (0..6)
                .map(|i| f64::from((i * 37 + seed * 11) % 90) * 4.0 + 20.0)
                .collect();
            let widths: Vec<f64> = (0..6)
                .map(|i| 40.0 + f64::from((i + seed) % 3) * 15.0)
                .collect();
            let spots = place_marker_labels(&anchors[..5], &widths[..5], 0.0, 400.0, 2.0);
            let extent = extents(&spots, &widths);
            climbed += spots.iter().filter(|s| s.row > 0).count();
            for a in 0..5 {
                for b in 0..5 {
                    if a == b {
                        continue;
                    }
                    if spots[a].row == spots[b].row {
                        let ((a0, a1), (b0, b1)) = (extent[a], extent[b]);
                        assert!(
                            a1 + 2.0 <= b0 || b1 + 2.0 <= a0,
                            "seed {seed}: {a} and {b} overlap"
                        );
                    }
                    // b's line runs from its row down: through a's label?
                    if spots[b].row > spots[a].row {
                        let (a0, a1) = extent[a];
                        let x = spots[b].x;
                        assert!(
                            !(a0 - 1.0 <= x && x <= a1 + 1.0),
                            "seed {seed}: the line of {b} ({x}) crosses label {a} {:?}",
                            extent[a]
                        );
                    }
                }
            }
        }
        assert!(
            climbed > 20,
            "the marks were crowded enough to test: {climbed}"
        );
    }

    #[test]
    fn no_two_placed_labels_overlap() {
        let anchors: Vec<f64> = (0..20).map(|i| f64::from(i * 7 % 50) * 9.0).collect();
        let widths: Vec<f64> = (0..20).map(|i| 30.0 + f64::from(i % 4) * 10.0).collect();
        let spots = place_labels(&anchors, &widths, 400.0, 2.0);
        let extent = |i: usize| {
            let s = spots[i];
            if s.end_anchored {
                (s.x - widths[i], s.x)
            } else {
                (s.x, s.x + widths[i])
            }
        };
        for a in 0..20 {
            for b in a + 1..20 {
                if spots[a].row == spots[b].row {
                    let ((a0, a1), (b0, b1)) = (extent(a), extent(b));
                    assert!(a1 + 2.0 <= b0 || b1 + 2.0 <= a0, "{a} and {b} overlap");
                }
            }
        }
        assert!(text_width("p50 2.5 ms", 11.0) > 50.0);
    }

    #[test]
    fn rows_shrink_to_fit_then_stop_shrinking() {
        assert_eq!(row_height(20, 1050.0, 14.0, 7.0), 14.0);
        assert_eq!(row_height(100, 1050.0, 14.0, 7.0), 10.5);
        assert_eq!(row_height(1000, 1050.0, 14.0, 7.0), 7.0);
        assert_eq!(row_height(0, 1050.0, 14.0, 7.0), 14.0);
    }
}
