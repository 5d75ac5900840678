//! The guided lessons: pick one, read the question, commit to an answer, run
//! it, read what happened and whether the run bore the answer out.

use yew::prelude::*;

use crate::check::Verdict;
use crate::lab::LessonPhase;
use crate::lessons::{self, Lesson};

/// The student's answer to a lesson's question: (lesson id, choice).
pub type Answer = Option<(&'static str, usize)>;

/// The lessons and the open one's text, drawn by [`LessonList::view`].
pub struct LessonList {
    /// The lesson shown, and where it is.
    pub lesson: Option<(Lesson, LessonPhase)>,
    /// The run's judgement of the check, once every step ran.
    pub verdict: Option<Verdict>,
    /// The seed field's value, for "run again with this seed".
    pub seed: u64,
    pub disabled: bool,
    /// The student's answer. Kept by the lab's component, not in the lab's
    /// state: it only decides what the verdict says.
    pub answer: UseStateHandle<Answer>,
    /// A lesson button: show its question.
    pub on_open: Callback<Lesson>,
    pub on_run: Callback<(Lesson, u64)>,
}

impl LessonList {
    pub fn view(&self) -> Html {
        let all = lessons::all();
        let active = self.lesson.as_ref().map(|(l, _)| l.id);
        // The answer counts only for the lesson it was given in.
        let chosen = (*self.answer)
            .filter(|(id, _)| Some(*id) == active)
            .map(|(_, choice)| choice);
        html! {
            <section class="card lessons" aria-labelledby="lessons-title" data-testid="lessons">
                <h3 id="lessons-title">{ "Lessons" }</h3>
                <p class="hint">{ "Each lesson sets up the controls, runs two or three variants one after the other from a clean session, and explains the plots. Answer its question before you run it." }</p>
                <div class="lesson-buttons">
                    { for all.into_iter().map(|lesson| {
                        let on_open = self.on_open.clone();
                        let id = lesson.id;
                        let pressed = active == Some(id);
                        let title = lesson.title;
                        let onclick = Callback::from(move |_: MouseEvent| on_open.emit(lesson.clone()));
                        html! {
                            <button type="button" class="lesson" data-lesson={id} aria-pressed={pressed.to_string()}
                                disabled={self.disabled} {onclick}>{ title }</button>
                        }
                    }) }
                </div>
                if let Some((lesson, phase)) = &self.lesson {
                    <article class="lesson-text" data-lesson={lesson.id} data-phase={phase.slug()} aria-live="polite">
                        <h4>{ lesson.title }</h4>
                        <p class="question"><strong>{ "Question. " }</strong>{ lesson.question }</p>
                        <p class="steps">{ "Steps: " }{ lesson.steps.iter().map(|s| s.label).collect::<Vec<_>>().join(" → ") }</p>
                        { check(lesson, *phase, chosen, &self.answer) }
                        if *phase == LessonPhase::Ready {
                            <button type="button" data-testid="lesson-run" disabled={self.disabled}
                                onclick={{
                                    let (on_run, lesson) = (self.on_run.clone(), lesson.clone());
                                    Callback::from(move |_: MouseEvent| on_run.emit((lesson.clone(), lesson.seed)))
                                }}>{ "Run the lesson" }</button>
                        } else if *phase == LessonPhase::Running {
                            <p class="running-note">{ "Running… watch the timeline fill up." }</p>
                        } else {
                            if *phase == LessonPhase::Done {
                                { verdict(self.verdict.as_ref(), lesson.check.choices, chosen) }
                                <p class="conclusion" data-testid="conclusion"><strong>{ "What the plots show. " }</strong>{ lesson.conclusion }</p>
                            } else if *phase == LessonPhase::Stopped {
                                <p class="running-note">{ "Stopped before the end: the plots show the calls that ran. Run it again to see the whole lesson." }</p>
                            } else {
                                <p class="running-note">{ "The lesson could not run: the error beside the plots says why." }</p>
                            }
                            <button type="button" class="secondary" disabled={self.disabled}
                                onclick={{
                                    let (on_run, lesson, seed) = (self.on_run.clone(), lesson.clone(), self.seed);
                                    Callback::from(move |_: MouseEvent| on_run.emit((lesson.clone(), seed)))
                                }}>
                                { format!("Run again with seed {}", self.seed) }
                            </button>
                        }
                    </article>
                }
            </section>
        }
    }
}

/// The question's choices: open to change only before the run.
fn check(
    lesson: &Lesson,
    phase: LessonPhase,
    chosen: Option<usize>,
    answer: &UseStateHandle<Answer>,
) -> Html {
    let open = phase == LessonPhase::Ready;
    let id = lesson.id;
    html! {
        <fieldset class="check" data-testid="check" disabled={!open}>
            <legend><strong>{ "Your answer, before the run. " }</strong>{ lesson.check.prompt }</legend>
            { for lesson.check.choices.iter().enumerate().map(|(index, choice)| {
                let answer = answer.clone();
                html! {
                    <label>
                        <input type="radio" name="check" data-choice={index.to_string()} checked={chosen == Some(index)}
                            onchange={Callback::from(move |_: Event| answer.set(Some((id, index))))} />
                        { *choice }
                    </label>
                }
            }) }
        </fieldset>
    }
}

/// After the run: what the numbers bear out, set against the answer (also
/// the Scale view's lessons').
pub fn verdict(verdict: Option<&Verdict>, choices: &[&str], chosen: Option<usize>) -> Html {
    let Some(verdict) = verdict else {
        return html! {};
    };
    let choice = |index: &usize| choices.get(*index).copied().unwrap_or("?");
    let borne_out = verdict
        .right
        .iter()
        .map(choice)
        .collect::<Vec<_>>()
        .join("; ");
    let (class, head) = match chosen {
        _ if verdict.right.is_empty() => (
            "verdict",
            "This run bears out none of the answers.".to_owned(),
        ),
        None => (
            "verdict",
            format!("You did not answer. This run says: {borne_out}."),
        ),
        Some(c) if verdict.right.contains(&c) => ("verdict ok", format!("Right: {}.", choice(&c))),
        Some(c) => (
            "verdict wrong",
            format!(
                "You answered \u{201c}{}\u{201d}; this run says: {borne_out}.",
                choice(&c)
            ),
        ),
    };
    html! {
        <p class={class} data-testid="verdict"
            data-right={verdict.right.iter().map(usize::to_string).collect::<Vec<_>>().join(",")}
            data-chosen={chosen.map(|c| c.to_string()).unwrap_or_default()}>
            <strong>{ head }</strong>{ " " }{ &verdict.because }
        </p>
    }
}
