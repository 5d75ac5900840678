//! The resilience lab: lessons, controls, and the live plots.
//!
//! This component renders the lab and turns its buttons into calls on the
//! lab's [`Runtime`] ([`crate::lab`]), which makes the requests and keeps
//! what they found out. The lab's state has two halves:
//!
//! - the **settings** (operation, inputs, faults, policy, run size, seed): Yew
//!   state here, changed only by the controls and by a lesson setting itself up;
//! - the **run** ([`Runtime`]): the run log that the caller's events fill and
//!   the [`LabState`](crate::lab::LabState) — progress, the server's truths,
//!   the lesson shown. Async tasks change it while calls run, and the page
//!   redraws from it at most every [`REDRAW_MS`](crate::lab::redraw::REDRAW_MS).

use std::rc::Rc;

use yew::prelude::*;

use super::lesson_list::Answer;
use super::live_plots::{LivePlots, RuntimeRef};
use super::{FaultControls, LessonList, OperationPanel, PolicyControls};
use crate::browser;
use crate::faults::FaultSettings;
use crate::lab::{Bench, Runtime, Settings};
use crate::lessons::Lesson;
use crate::policy_form::PolicyForm;

/// The `performance.mark` set when the lab first appears.
pub const INTERACTIVE_MARK: &str = "lab-interactive";

#[derive(Properties, PartialEq)]
pub struct Props {
    pub base_url: AttrValue,
    /// This tab's lab session (`x-lab-session`).
    pub session: AttrValue,
}

#[component]
pub fn ResilienceLab(props: &Props) -> Html {
    let settings = use_state(Settings::default);
    // Set to redraw the whole lab (see `Redraw::now`).
    let page = use_state(|| 0u64);
    // The student's answer to the open lesson's question (see `LessonList`).
    let answer = use_state(Answer::default);
    let runtime = {
        let bench = Bench {
            base_url: props.base_url.to_string(),
            session: props.session.to_string(),
        };
        let page = page.setter();
        use_memo((), move |()| {
            Rc::new(Runtime::new(bench, browser::clock(), page))
        })
    };
    let runtime: Rc<Runtime> = (*runtime).clone();
    // The moment the lab is on screen and its buttons work: the page's
    // "interactive" time, which the browser tests read and the README reports.
    use_effect_with((), |()| browser::mark(INTERACTIVE_MARK));

    // Free play: the current settings' batch ("Call once": Some(1) call).
    let run_free = {
        let (runtime, settings) = (runtime.clone(), settings.clone());
        Callback::from(move |count: Option<u32>| runtime.run_free((*settings).clone(), count))
    };
    // A lesson button shows the lesson's question; "Run the lesson" runs it.
    let open_lesson = {
        let runtime = runtime.clone();
        Callback::from(move |lesson: Lesson| runtime.open_lesson(lesson))
    };
    let run_lesson = {
        let (runtime, set_settings) = (runtime.clone(), settings.setter());
        let show_settings = Callback::from(move |step: Settings| set_settings.set(step));
        Callback::from(move |(lesson, seed): (Lesson, u64)| {
            runtime.run_lesson(lesson, seed, show_settings.clone())
        })
    };
    let on_stop = {
        let runtime = runtime.clone();
        Callback::from(move |_: MouseEvent| runtime.stop())
    };
    // A clean slate: the session forgotten and reseeded, the log cleared.
    let on_new_session = {
        let (runtime, seed) = (runtime.clone(), settings.seed);
        Callback::from(move |_: MouseEvent| runtime.new_session(seed))
    };

    let on_faults = {
        let settings = settings.clone();
        Callback::from(move |faults: FaultSettings| {
            settings.set(Settings {
                faults,
                ..(*settings).clone()
            })
        })
    };
    let set_policy = {
        let settings = settings.clone();
        move |policy: PolicyForm| {
            settings.set(Settings {
                policy,
                ..(*settings).clone()
            })
        }
    };
    let on_reset_faults = {
        let settings = settings.clone();
        Callback::from(move |_: MouseEvent| {
            settings.set(Settings {
                faults: FaultSettings::default(),
                ..(*settings).clone()
            })
        })
    };
    let on_policy = Callback::from(set_policy.clone());
    let on_policy_reset = Callback::from(move |()| set_policy(PolicyForm::default()));

    let state = runtime.state.borrow();
    let running = state.is_running();
    let problems = settings.policy.problems();
    let call_problem = settings.form.call(settings.operation).err();
    let threshold = settings
        .policy
        .breaker
        .then_some(settings.policy.breaker_threshold_pct);
    let max_tokens = settings
        .policy
        .budget
        .then_some(settings.policy.budget_max_tokens);
    let lesson_seed = settings.seed;
    // A lesson leaves its last step's settings in the controls, faults
    // included: said out loud, or the student's next request meets them
    // unawares (a by-hand send silently lost to lesson 1's reply loss).
    let faults_left_on = settings
        .faults
        .still_on()
        .filter(|_| state.lesson_at_rest());
    // The lesson's check, judged by the numbers the tables show.
    let verdict = state.verdict(&runtime.log.borrow());

    html! {
        <section class="lab" aria-labelledby="lab-title" data-session={runtime.bench.session.clone()}>
            <h2 id="lab-title">{ "The resilience lab" }</h2>
            <p class="hint">
                { "Pick an operation, make the server misbehave, choose how the client defends itself, and run. \
                   Every attempt, backoff and breaker decision is drawn below; the last table compares what you \
                   asked for with what the server really did. This tab is its own lab session: " }
                <code>{ &runtime.bench.session }</code>{ "." }
            </p>
            { LessonList {
                lesson: state.lesson.clone(),
                verdict,
                seed: lesson_seed,
                disabled: running,
                answer,
                on_open: open_lesson,
                on_run: run_lesson.clone(),
            }.view() }
            <div class="lab-grid">
                <div class="lab-controls">
                    { OperationPanel {
                        settings: (*settings).clone(),
                        bench: runtime.bench.clone(),
                        problem: call_problem.clone().map(AttrValue::from),
                        running,
                        on_change: {
                            let settings = settings.clone();
                            Callback::from(move |next: Settings| settings.set(next))
                        },
                        on_call: run_free.reform(|_| Some(1)),
                        on_run: run_free.reform(|_| None),
                        on_stop,
                        on_new_session,
                        session_resets: state.session_resets,
                        runs_ended: state.runs_ended,
                    }.view() }
                    if let Some(faults) = faults_left_on {
                        <p class="lesson-faults input-error" role="status" data-testid="lesson-faults" data-faults={faults.clone()}>
                            <strong>{ "Server faults still on after the lesson: " }</strong>{ faults }
                            { ". Your next calls and by-hand sends meet them. " }
                            <button type="button" class="secondary" data-testid="reset-faults" disabled={running}
                                onclick={on_reset_faults}>{ "Reset faults" }</button>
                        </p>
                    }
                    { FaultControls {
                        faults: settings.faults.clone(),
                        disabled: running,
                        on_change: on_faults,
                    }.view() }
                    <PolicyControls
                        policy={settings.policy.clone()}
                        problems={problems}
                        disabled={running}
                        on_change={on_policy}
                        on_reset={on_policy_reset}
                    />
                </div>
                <LivePlots runtime={RuntimeRef(runtime.clone())} {threshold} {max_tokens} />
            </div>
        </section>
    }
}
