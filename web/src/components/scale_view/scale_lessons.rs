//! The Scale view's lessons, drawn: pick one, answer its question, run its
//! steps, compare them in a table, and read what the runs bear out.
//!
//! A plain struct drawn by [`ScaleLessons::view`], not a component (every
//! component type costs the page bytes): the Scale view keeps the state and
//! runs the steps; this only draws it. Each step's row carries its numbers
//! as `data-*` attributes, which the browser test reads.

use yew::prelude::*;

use crate::components::lesson_list::verdict;
use crate::plot_scale::format_number;
use crate::scale::lessons::{self, ScaleLesson, StepNumbers, judge};

pub struct ScaleLessons<'a> {
    /// The open lesson.
    pub open: Option<ScaleLesson>,
    /// Each step's numbers, once it finished.
    pub steps: &'a [Option<StepNumbers>],
    /// The step running now.
    pub running: Option<usize>,
    pub answer: Option<usize>,
    pub on_answer: Callback<usize>,
    /// Times × this (`?scale_time=`, for the browser test); 1: as written.
    pub time_scale: f64,
    pub disabled: bool,
    pub on_open: Callback<usize>,
    /// Run these steps of the open lesson (all, or one again).
    pub on_run: Callback<Vec<usize>>,
}

/// The step table's columns: heading, `data-name`, value. Drawn in a loop:
/// each literal cell of a `html!` table costs the page code of its own.
type Column = (&'static str, &'static str, fn(&StepNumbers) -> f64);
const COLUMNS: [Column; 8] = [
    ("calls", "calls", |n| n.calls as f64),
    ("OK", "succeeded", |n| n.succeeded as f64),
    ("goodput, last s of arrivals (/s)", "goodput-last", |n| {
        n.goodput_last
    }),
    (
        "offered, last s of arrivals (attempts/s)",
        "offered-last",
        |n| n.offered_last,
    ),
    ("client-s wasted", "wasted-s", |n| n.wasted_s),
    ("executions", "executions", |n| n.executions as f64),
    ("refused by breaker", "rejected", |n| n.rejected as f64),
    ("wall time (s)", "wall-s", |n| n.wall_ms / 1000.0),
];

/// The cascade lesson's columns: the checkouts, then the `Add`s beside them
/// (the point of the lesson: calls that never touch payment). A count the
/// server was not asked for is NaN, drawn "–".
const CASCADE: [Column; 10] = [
    ("checkouts", "calls", |n| n.calls as f64),
    ("failed fast (breaker, bulkhead)", "failed-fast", |n| {
        n.failed_fast.map_or(f64::NAN, |v| v as f64)
    }),
    ("waited out payment", "payment-failed", |n| {
        n.payment_failed.map_or(f64::NAN, |v| v as f64)
    }),
    ("Adds", "bg-calls", |n| n.bg_calls as f64),
    ("Adds OK", "bg-ok", |n| n.bg_ok as f64),
    ("Add goodput, 1st s (/s)", "bg-first", |n| n.bg_first),
    ("Add goodput, 2nd half (/s)", "bg-late", |n| n.bg_late),
    ("Add p99 (ms)", "bg-p99", |n| n.bg_p99),
    (
        "Add p99, worst 100 ms of 2nd half (ms)",
        "bg-p99-late",
        |n| n.bg_p99_late,
    ),
    ("wall time (s)", "wall-s", |n| n.wall_ms / 1000.0),
];

impl ScaleLessons<'_> {
    pub fn view(&self) -> Html {
        let all = lessons::all();
        let buttons = all.iter().enumerate().map(|(i, l)| {
            let on_open = self.on_open.clone();
            let pressed = self.open.as_ref().is_some_and(|o| o.id == l.id);
            html! {
                <button type="button" class="lesson" data-scale-lesson={l.id} aria-pressed={pressed.to_string()}
                    disabled={self.disabled} onclick={Callback::from(move |_: MouseEvent| on_open.emit(i))}>{ l.title }</button>
            }
        });
        let body = self.open.as_ref().map(|lesson| self.lesson(lesson));
        html! {
            <div class="scale-lessons lessons" data-testid="scale-lessons">
                <div class="lesson-buttons"><strong>{ "Lessons at scale: " }</strong>{ for buttons }</div>
                if self.time_scale != 1.0 {
                    <p class="hint" data-testid="scale-time">{ format!("Test scale: every time × {}, every rate ÷ {} (?scale_time).",
                        format_number(self.time_scale), format_number(self.time_scale)) }</p>
                }
                { for body }
            </div>
        }
    }

    fn lesson(&self, lesson: &ScaleLesson) -> Html {
        let idle = self.running.is_none();
        // The verdict once the steps it reads ran; the conclusion, which
        // speaks of every step, once all of them did.
        let verdict_now = idle.then(|| judge(lesson.id, self.steps)).flatten();
        let all_ran = idle
            && self.steps.len() == lesson.steps.len()
            && self.steps.iter().all(Option::is_some);
        let chosen = self.answer;
        let choices = lesson.check.choices.iter().enumerate().map(|(i, text)| {
            let answer = self.on_answer.clone();
            html! {
                <label><input type="radio" name="scale-check" data-choice={i.to_string()} checked={chosen == Some(i)}
                    onchange={Callback::from(move |_: Event| answer.emit(i))} />{ *text }</label>
            }
        });
        let columns: &[Column] = if lesson.id == "cascade" {
            &CASCADE
        } else {
            &COLUMNS
        };
        let rows = lesson.steps.iter().enumerate().map(|(i, step)| {
            let n = self.steps.get(i).cloned().flatten();
            let state = if self.running == Some(i) { "running" } else if n.is_some() { "done" } else { "waiting" };
            let on_run = self.on_run.clone();
            let cells = columns.iter().map(|(_, name, value)| {
                let v = n.as_ref().map(value).filter(|v| !v.is_nan());
                html! {
                    <td data-name={*name} data-value={v.map(format_number)}>
                        { v.map_or("–".into(), |v| format_number((v * 10.0).round() / 10.0)) }
                    </td>
                }
            });
            html! {
                <tr data-step={i.to_string()} data-state={state}>
                    <td>{ format!("{}. {}", i + 1, step.label) }</td>
                    { for cells }
                    <td><button type="button" class="secondary" data-testid="scale-step-run" disabled={self.disabled}
                        onclick={Callback::from(move |_: MouseEvent| on_run.emit(vec![i]))}>{ "run" }</button></td>
                </tr>
            }
        });
        let every = (0..lesson.steps.len()).collect::<Vec<_>>();
        let on_run = self.on_run.clone();
        html! {
            <article class="lesson-text" data-scale-lesson={lesson.id}>
                <p class="question"><strong>{ "Question. " }</strong>{ lesson.question }</p>
                <fieldset class="check" disabled={self.disabled}>
                    <legend><strong>{ "Your answer, before the run. " }</strong>{ lesson.check.prompt }</legend>
                    { for choices }
                </fieldset>
                <button type="button" data-testid="scale-lesson-run" disabled={self.disabled}
                    onclick={Callback::from(move |_: MouseEvent| on_run.emit(every.clone()))}>{ "Run the lesson" }</button>
                <table class="scale-steps" data-testid="scale-steps">
                    <thead><tr>
                        <th>{ "step" }</th>
                        { for columns.iter().map(|(head, ..)| html! { <th>{ *head }</th> }) }
                        <th></th>
                    </tr></thead>
                    <tbody>{ for rows }</tbody>
                </table>
                <p class="hint">{ "A step run again is a new run: its seed fixes the arrivals and the jitter, \
                    not the machine's timing, so its numbers move a little." }</p>
                if verdict_now.is_some() {
                    { verdict(verdict_now.as_ref(), lesson.check.choices, chosen) }
                }
                if all_ran {
                    <p class="conclusion" data-testid="scale-conclusion"><strong>{ "What the runs show. " }</strong>{ lesson.conclusion }</p>
                }
            </article>
        }
    }
}
