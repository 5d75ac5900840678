//! Which lesson steps a plot shows, and on what time axis.
//!
//! A lesson runs the same calls two or three times, changing one setting
//! ("keys off", then "keys on"); free play adds one step per run. The plots
//! compare steps, so they draw one step at a time (or every step, each on
//! its own clock) rather than the whole log on one axis: on a single axis the
//! newest calls push a lesson's first step out of the timeline, and a manual
//! run clicked a minute after a lesson stretches the axis to a minute and
//! squashes the lesson's bars into slivers.
//!
//! So every step is drawn on *its own* clock — time since the step's first
//! call began — and, when several steps are shown, on one shared axis as long
//! as the longest of them, so equal lengths still mean equal durations.

use std::ops::Range;

use crate::plot_scale::TimeAxis;
use crate::run_log::{CallRow, RunLog};

/// How many steps a step picker offers: the newest this many. A lesson has
/// at most three, and it starts a fresh log, so its steps stay in the picker
/// until the student has added five runs of their own after it.
pub const PICKER_STEPS: usize = 8;

/// Which steps a plot shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    /// The newest step: the one running now, or the variant just run.
    Latest,
    /// Every step the picker offers, one under the other.
    All,
    Step(usize),
}

impl Shown {
    /// The step shown in a log of `steps` steps; `None` for all of them.
    ///
    /// A plain run (one step) is "all" and "latest" at once.
    pub fn resolve(self, steps: usize) -> Option<usize> {
        match self {
            Shown::All => None,
            Shown::Step(step) if step < steps => Some(step),
            _ => Some(steps.saturating_sub(1)),
        }
    }
}

/// What a step picker shows: its default until the student picks, then the
/// pick — but only until a new step arrives. A pick is remembered with the
/// number of steps the log had when it was made; a new run (or a fresh
/// lesson log) changes that number, and the plot goes back to its default,
/// so the newest step is never hidden behind an old choice. (Remembering a
/// pick by its position alone kept showing a lesson's step after a manual
/// run, which looked like the manual run had drawn nothing.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pick {
    default: Shown,
    chosen: Option<(Shown, usize)>,
}

impl Pick {
    /// Nothing picked yet: `default` is shown.
    pub fn new(default: Shown) -> Self {
        Pick {
            default,
            chosen: None,
        }
    }

    /// The student picked `shown` while the log had `steps` steps.
    pub fn choose(self, shown: Shown, steps: usize) -> Self {
        Pick {
            chosen: Some((shown, steps)),
            ..self
        }
    }

    /// What to show in a log that has `steps` steps now.
    pub fn shown(self, steps: usize) -> Shown {
        match self.chosen {
            Some((shown, at)) if at == steps => shown,
            _ => self.default,
        }
    }
}

/// The steps a picker offers, oldest first.
pub fn picker_steps(steps: usize) -> Range<usize> {
    steps.saturating_sub(PICKER_STEPS)..steps
}

/// One step as a plot draws it.
#[derive(Debug, PartialEq)]
pub struct StepWindow<'a> {
    pub step: usize,
    /// The step's newest calls, at most the plot's row limit, oldest first.
    pub calls: Vec<&'a CallRow>,
    /// How many calls the step has in all.
    pub total: usize,
    /// When its first call began (ms since the log began): the step's zero.
    pub start_ms: f64,
    /// When its last call ended, or the log's latest event while it runs.
    pub end_ms: f64,
}

impl StepWindow<'_> {
    /// The number of `calls[index]` within its step, from 1 in the order the
    /// calls began: the number the status bar says ("keys on, call 10"),
    /// since a run starts its calls in the order it numbers them. (The log's
    /// own row numbers run on across steps, and disagreed with it.)
    pub fn number(&self, index: usize) -> usize {
        self.total - self.calls.len() + index + 1
    }

    /// How long the step lasted (so far).
    pub fn duration_ms(&self) -> f64 {
        (self.end_ms - self.start_ms).max(0.0)
    }
}

/// The steps to draw for `shown` (`None`: every step of [`picker_steps`]),
/// each with its newest `max_rows` calls. Steps without calls are left out.
pub fn windows(log: &RunLog, shown: Option<usize>, max_rows: usize) -> Vec<StepWindow<'_>> {
    let steps = match shown {
        Some(step) => step..step + 1,
        None => picker_steps(log.steps()),
    };
    steps
        .filter_map(|step| {
            let all: Vec<&CallRow> = log.calls.iter().filter(|c| c.step == step).collect();
            let first = all.first()?;
            let start_ms = all
                .iter()
                .map(|c| c.start_ms)
                .fold(first.start_ms, f64::min);
            let running = all.iter().any(|c| c.end_ms.is_none());
            let end_ms = if running {
                log.last_ms
            } else {
                all.iter().filter_map(|c| c.end_ms).fold(start_ms, f64::max)
            };
            let total = all.len();
            let calls = all[total.saturating_sub(max_rows)..].to_vec();
            Some(StepWindow {
                step,
                calls,
                total,
                start_ms,
                end_ms,
            })
        })
        .collect()
}

/// One time axis for every window drawn: from each step's start to the end
/// of the longest, with about `ticks` ticks.
pub fn shared_axis(windows: &[StepWindow<'_>], ticks: usize) -> TimeAxis {
    let longest = windows
        .iter()
        .map(StepWindow::duration_ms)
        .fold(0.0, f64::max);
    TimeAxis::covering(0.0, longest, ticks)
}

/// The step whose calls span `at_ms` (or the newest that began before it),
/// with its clock: where a plot of something only that step had — a
/// breaker, a budget — puts its zero and its end.
pub fn step_at(log: &RunLog, at_ms: f64) -> Option<StepWindow<'_>> {
    windows(log, None, 0)
        .into_iter()
        .rev()
        .find(|w| w.start_ms <= at_ms)
}

/// One step's clock, without its calls: `None` if it has no calls.
pub fn step_window(log: &RunLog, step: usize) -> Option<StepWindow<'_>> {
    windows(log, Some(step), 0).into_iter().next()
}

/// When the step running at `at_ms` ended (or the log's latest time, if no
/// step's calls span it): where a plot of something that only that step had
/// — a breaker, a budget — should stop, rather than stretch on through later
/// runs without one.
pub fn step_end_at(log: &RunLog, at_ms: f64) -> f64 {
    step_at(log, at_ms).map_or(log.last_ms, |w| w.end_ms.max(at_ms))
}

/// A step's name: its label, or "step N" when it has none.
pub fn step_name(labels: &[String], step: usize) -> String {
    labels
        .get(step)
        .filter(|label| !label.is_empty())
        .cloned()
        .unwrap_or_else(|| format!("step {}", step + 1))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tonic::Code;

    use super::*;

    /// A log with one row per (step, start, end) — end `None` while running.
    fn log(rows: &[(usize, f64, Option<f64>)]) -> RunLog {
        let mut log = RunLog::new(Duration::ZERO);
        for (index, &(step, start_ms, end_ms)) in rows.iter().enumerate() {
            log.calls.push(CallRow {
                row: index + 1,
                step,
                operation: "add",
                key: None,
                start_ms,
                end_ms,
                code: end_ms.map(|_| Code::Ok),
                gave_up: None,
                attempts: Vec::new(),
                backoffs: Vec::new(),
            });
            log.last_ms = log.last_ms.max(end_ms.unwrap_or(start_ms));
        }
        log
    }

    #[test]
    fn the_latest_step_is_the_default_and_a_pick_outside_falls_back_to_it() {
        assert_eq!(Shown::Latest.resolve(3), Some(2));
        assert_eq!(Shown::Step(0).resolve(3), Some(0));
        assert_eq!(Shown::Step(7).resolve(3), Some(2));
        assert_eq!(Shown::All.resolve(3), None);
        assert_eq!(Shown::Latest.resolve(1), Some(0));
    }

    #[test]
    fn a_new_step_resets_a_pick_to_the_default() {
        let pick = Pick::new(Shown::Latest);
        assert_eq!(pick.shown(2), Shown::Latest);
        // A lesson of two steps; the student looks at its first.
        let pick = pick.choose(Shown::Step(0), 2);
        assert_eq!(pick.shown(2), Shown::Step(0), "kept while no step is added");
        // A manual run adds a third step: the newest is shown again.
        assert_eq!(pick.shown(3), Shown::Latest);
        assert_eq!(pick.shown(3).resolve(3), Some(2));
        // A new lesson starts a fresh log with fewer steps: reset too.
        assert_eq!(pick.shown(1), Shown::Latest);
        let all = Pick::new(Shown::All).choose(Shown::Step(1), 2);
        assert_eq!(all.shown(3), Shown::All, "back to this plot's own default");
    }

    #[test]
    fn a_one_step_plot_finds_the_step_of_a_sample() {
        let log = log(&[(0, 10.0, Some(400.0)), (1, 45_000.0, Some(45_030.0))]);
        let step = step_at(&log, 200.0).expect("a step");
        assert_eq!((step.step, step.start_ms, step.end_ms), (0, 10.0, 400.0));
        assert_eq!(step_at(&log, 45_020.0).map(|w| w.step), Some(1));
        assert_eq!(step_at(&log, 5.0), None, "before any call");
        let second = step_window(&log, 1).expect("step 1 has calls");
        assert_eq!((second.start_ms, second.duration_ms()), (45_000.0, 30.0));
        assert_eq!(step_window(&log, 2), None);
    }

    #[test]
    fn a_step_keeps_its_own_clock_however_late_the_next_run_starts() {
        // A lesson's two steps, then a manual run 45 s later.
        let log = log(&[
            (0, 0.0, Some(120.0)),
            (0, 130.0, Some(400.0)),
            (1, 410.0, Some(700.0)),
            (2, 45_000.0, Some(45_030.0)),
        ]);
        let first = windows(&log, Some(0), 75);
        assert_eq!(first.len(), 1);
        assert_eq!((first[0].start_ms, first[0].end_ms), (0.0, 400.0));
        assert_eq!(first[0].calls.len(), 2);
        let axis = shared_axis(&first, 8);
        assert_eq!(
            axis.end_ms, 400.0,
            "not stretched to the manual run: {axis:?}"
        );

        let all = windows(&log, None, 75);
        let steps: Vec<usize> = all.iter().map(|w| w.step).collect();
        assert_eq!(
            (all[1].calls[0].row, all[1].number(0)),
            (3, 1),
            "calls are numbered from 1 in each step, as in the status bar"
        );
        assert_eq!(steps, [0, 1, 2], "no step dropped");
        assert_eq!(
            shared_axis(&all, 8).end_ms,
            400.0,
            "the longest step, not the log"
        );
        assert_eq!(all[2].duration_ms(), 30.0);
    }

    #[test]
    fn a_plot_of_one_step_ends_with_that_step() {
        let log = log(&[(0, 0.0, Some(400.0)), (1, 45_000.0, Some(45_030.0))]);
        assert_eq!(step_end_at(&log, 120.0), 400.0);
        assert_eq!(step_end_at(&log, 45_010.0), 45_030.0);
        assert_eq!(
            step_end_at(&log, 900.0),
            900.0,
            "between steps: no earlier than the sample"
        );
    }

    #[test]
    fn a_long_step_shows_its_newest_rows_and_counts_them_all() {
        let rows: Vec<_> = (0..100)
            .map(|i| (0, f64::from(i), Some(f64::from(i) + 1.0)))
            .collect();
        let log = log(&rows);
        let window = &windows(&log, Some(0), 75)[0];
        assert_eq!((window.calls.len(), window.total), (75, 100));
        assert_eq!(window.calls[0].row, 26);
        assert_eq!((window.number(0), window.number(74)), (26, 100));
        assert_eq!(
            window.start_ms, 0.0,
            "the step's clock starts with its first call"
        );
    }

    #[test]
    fn a_running_step_lasts_until_now() {
        let mut log = log(&[(0, 10.0, Some(20.0)), (0, 15.0, None)]);
        log.last_ms = 90.0;
        let window = &windows(&log, Some(0), 75)[0];
        assert_eq!((window.start_ms, window.end_ms), (10.0, 90.0));
    }

    #[test]
    fn the_picker_offers_the_newest_steps() {
        assert_eq!(picker_steps(3), 0..3);
        assert_eq!(picker_steps(12), 4..12);
        assert_eq!(picker_steps(0), 0..0);
    }

    #[test]
    fn steps_are_named_by_their_label() {
        let labels = vec!["keys off".to_owned(), String::new()];
        assert_eq!(step_name(&labels, 0), "keys off");
        assert_eq!(step_name(&labels, 1), "step 2");
        assert_eq!(step_name(&labels, 5), "step 6");
    }
}
