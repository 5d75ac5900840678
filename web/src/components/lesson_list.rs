//! The guided lessons: pick one, read the question, run it, read what happened.

use yew::prelude::*;

use crate::lessons::{self, Lesson};

/// Where the lesson shown is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LessonPhase {
    Running,
    /// Every step ran: the conclusion applies.
    Done,
    /// The student pressed Stop.
    Stopped,
    /// A step could not run (the error is shown beside the plots).
    Failed,
}

impl LessonPhase {
    fn slug(self) -> &'static str {
        match self {
            LessonPhase::Running => "running",
            LessonPhase::Done => "done",
            LessonPhase::Stopped => "stopped",
            LessonPhase::Failed => "failed",
        }
    }
}

#[derive(Properties, PartialEq)]
pub struct Props {
    /// The lesson shown, and where it is.
    pub lesson: Option<(Lesson, LessonPhase)>,
    /// The seed field's value, for "run again with this seed".
    pub seed: u64,
    pub disabled: bool,
    pub on_run: Callback<(Lesson, u64)>,
}

#[component]
pub fn LessonList(props: &Props) -> Html {
    let all = lessons::all();
    let active = props.lesson.as_ref().map(|(l, _)| l.id);
    html! {
        <section class="card lessons" aria-labelledby="lessons-title" data-testid="lessons">
            <h3 id="lessons-title">{ "Lessons" }</h3>
            <p class="hint">{ "Each lesson sets up the controls, runs two or three variants one after the other from a clean session, and explains the plots." }</p>
            <div class="lesson-buttons">
                { for all.into_iter().map(|lesson| {
                    let on_run = props.on_run.clone();
                    let id = lesson.id;
                    let pressed = active == Some(id);
                    let seed = lesson.seed;
                    let title = lesson.title;
                    let onclick = Callback::from(move |_: MouseEvent| on_run.emit((lesson.clone(), seed)));
                    html! {
                        <button type="button" class="lesson" data-lesson={id} aria-pressed={pressed.to_string()}
                            disabled={props.disabled} {onclick}>{ title }</button>
                    }
                }) }
            </div>
            if let Some((lesson, phase)) = &props.lesson {
                <article class="lesson-text" data-lesson={lesson.id} data-phase={phase.slug()} aria-live="polite">
                    <h4>{ lesson.title }</h4>
                    <p class="question"><strong>{ "Question. " }</strong>{ lesson.question }</p>
                    <p class="steps">{ "Steps: " }{ lesson.steps.iter().map(|s| s.label).collect::<Vec<_>>().join(" → ") }</p>
                    if *phase == LessonPhase::Running {
                        <p class="running-note">{ "Running… watch the timeline fill up." }</p>
                    } else {
                        if *phase == LessonPhase::Done {
                            <p class="conclusion" data-testid="conclusion"><strong>{ "What the plots show. " }</strong>{ lesson.conclusion }</p>
                        } else if *phase == LessonPhase::Stopped {
                            <p class="running-note">{ "Stopped before the end: the plots show the calls that ran. Run it again to see the whole lesson." }</p>
                        } else {
                            <p class="running-note">{ "The lesson could not run: the error beside the plots says why." }</p>
                        }
                        <button type="button" class="secondary" disabled={props.disabled}
                            onclick={{
                                let (on_run, lesson, seed) = (props.on_run.clone(), lesson.clone(), props.seed);
                                Callback::from(move |_: MouseEvent| on_run.emit((lesson.clone(), seed)))
                            }}>
                            { format!("Run again with seed {}", props.seed) }
                        </button>
                    }
                </article>
            }
        </section>
    }
}
