//! The resilience lab: controls, a bench that runs calls, live plots, lessons.
//!
//! This component owns the lab's state and is where its buttons turn into
//! requests (through [`Bench`]). The state has two halves:
//!
//! - the **settings** (operation, inputs, faults, policy, run size, seed): Yew
//!   state, changed only by the controls and by a lesson setting itself up;
//! - the **bench** ([`Runtime`]): the run log that the caller's events fill,
//!   the callers, progress and the server's answers. It is changed by async
//!   tasks while calls run, so it lives in `RefCell`s, and the page redraws
//!   from it at most every [`REDRAW_MS`] — a thousand calls' events cost a
//!   few dozen redraws, not thousands.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use rpc_lab::proto::calculator_v1::LabStats;
use rpc_lab::resilience::{
    CircuitBreaker, Clock, Event as CallEvent, EventSink, ResilientCaller, SeededRng,
};
use rpc_lab::status;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use super::{
    AttemptTimeline, BreakerPlot, BudgetPlot, FaultControls, LatencyPanel, LessonList,
    OperationPanel, PolicyControls, RunSummary, TruthPanel,
};
use crate::browser;
use crate::export;
use crate::faults::FaultSettings;
use crate::lab::{
    self, Bench, Finished, LabAction, LabState, LastCall, LessonPhase, Progress, Settings,
};
use crate::lessons::{Lesson, RunSpec, Step};
use crate::policy_form::PolicyForm;
use crate::run_log::{LogView, RunLog};
use crate::truth::{self, Seen, ServerCounters, Truth};

/// The page redraws at most this often while calls run.
pub const REDRAW_MS: u64 = 50;
/// The `performance.mark` set when the lab first appears.
pub const INTERACTIVE_MARK: &str = "lab-interactive";
/// Timeline rows drawn: the newest calls.
const TIMELINE_ROWS: usize = 75;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub base_url: AttrValue,
    /// This tab's lab session (`x-lab-session`).
    pub session: AttrValue,
}

/// Asks for redraws.
///
/// Two parts of the lab redraw at different rates. The live part (plots,
/// tables, progress) follows the events, at most once every [`REDRAW_MS`].
/// The controls only change when a run starts or ends; redrawing their
/// hundred inputs on every event would be wasted work.
#[derive(Clone)]
struct Redraw {
    pending: Rc<Cell<bool>>,
    /// Bumped on every redraw of the live part: the plots' [`LogView::version`].
    version: Rc<Cell<u64>>,
    clock: Rc<dyn Clock>,
    /// Redraws the live part (registered by [`LivePlots`] when it mounts).
    live: Rc<RefCell<Option<Callback<()>>>>,
    /// Redraws the whole lab.
    page: UseStateSetter<u64>,
}

impl Redraw {
    /// Redraw the live part soon: many events, one redraw.
    fn request(&self) {
        if self.pending.replace(true) {
            return;
        }
        let this = self.clone();
        spawn_local(async move {
            this.clock.sleep(Duration::from_millis(REDRAW_MS)).await;
            this.live_now();
        });
    }

    fn live_now(&self) {
        self.pending.set(false);
        self.version.set(self.version.get() + 1);
        if let Some(redraw) = &*self.live.borrow() {
            redraw.emit(());
        }
    }

    /// Redraw everything at once (a run started or ended).
    fn now(&self) {
        self.live_now();
        self.page.set(self.version.get());
    }
}

/// The caller's events go into the run log; the page redraws soon after.
struct LogSink {
    log: Rc<RefCell<RunLog>>,
    redraw: Redraw,
}

impl LogSink {
    /// A sink that records into the bench's run log.
    fn recording(runtime: &Runtime, redraw: &Redraw) -> Rc<dyn EventSink> {
        Rc::new(LogSink {
            log: runtime.log.clone(),
            redraw: redraw.clone(),
        })
    }
}

impl EventSink for LogSink {
    fn emit(&self, event: CallEvent) {
        self.log.borrow_mut().record(event);
        self.redraw.request();
    }
}

/// The bench: the state async tasks change while calls run.
struct Runtime {
    bench: Bench,
    clock: Rc<dyn Clock>,
    log: Rc<RefCell<RunLog>>,
    state: Rc<RefCell<LabState>>,
    stop: Rc<Cell<bool>>,
    fault_rng: Rc<RefCell<SeededRng>>,
}

impl Runtime {
    fn new(base_url: String, session: String, clock: Rc<dyn Clock>) -> Self {
        Runtime {
            bench: Bench { base_url, session },
            log: Rc::new(RefCell::new(RunLog::new(clock.now()))),
            clock,
            state: Rc::default(),
            stop: Rc::default(),
            fault_rng: Rc::new(RefCell::new(lab::fault_rng(0))),
        }
    }

    fn dispatch(&self, action: LabAction) {
        self.state.borrow_mut().apply(action);
    }
}

/// A caller for `policy`, reporting into the log; or the problems with it.
fn build_caller(
    policy: &PolicyForm,
    seed: u64,
    clock: Rc<dyn Clock>,
    sink: Rc<dyn EventSink>,
) -> Result<ResilientCaller, String> {
    let words = |problems: Vec<rpc_lab::resilience::ConfigError>| {
        problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let retry = policy.policy().map_err(words)?;
    let caller = ResilientCaller::new(retry, clock, SeededRng::new(seed), sink).map_err(words)?;
    Ok(match policy.breaker().map_err(words)? {
        Some(config) => caller.with_breaker(CircuitBreaker::new(config).map_err(words)?),
        None => caller,
    })
}

/// A request of the bench itself failed: what it was doing, the status, and
/// what the status means for the student (often: is the server running?).
fn failure(what: &str, status: &tonic::Status) -> String {
    let message = status.message().trim().trim_end_matches('.');
    format!(
        "{what} failed with {}{}. {}",
        status::code_name(status.code()),
        if message.is_empty() {
            String::new()
        } else {
            format!(": “{message}”")
        },
        status::explain(status.code())
    )
}

/// One batch of calls, with the server's truth read before and after.
struct Batch<'a> {
    label: String,
    step: usize,
    settings: &'a Settings,
    caller: &'a ResilientCaller,
}

async fn run_batch(runtime: &Runtime, redraw: &Redraw, batch: Batch<'_>) -> Result<(), String> {
    let (bench, clock) = (&runtime.bench, &runtime.clock);
    let Settings {
        operation,
        form,
        faults,
        run,
        ..
    } = batch.settings;
    let call = form.call(*operation)?;

    let method = operation.method();
    let executed = |stats: &LabStats| stats.executions.get(&method).copied().unwrap_or(0);
    // The counters are read last before the run and first after it, so that
    // they bracket the student's calls alone and never the page's own reads.
    let state_before = bench
        .state_of(&call)
        .await
        .map_err(|s| failure("reading the state before the run", &s))?;
    let before = bench
        .stats()
        .await
        .map_err(|s| failure("reading the server's counters", &s))?;
    runtime
        .log
        .borrow_mut()
        .begin_step(batch.step, clock.now(), batch.caller.breaker_state());
    runtime.dispatch(LabAction::StepBegan {
        step: batch.step,
        label: batch.label.clone(),
        calls: run.count,
    });
    redraw.now();
    let ok = Cell::new(0u32);
    let last_ok = Cell::new(None::<u64>);
    let finished = |done: Finished| {
        let last = match done.result {
            Ok(reply) => {
                ok.set(ok.get() + 1);
                last_ok.set(Some(
                    last_ok.get().map_or(done.number, |n| n.max(done.number)),
                ));
                LastCall {
                    text: format!("{}, call {}: {operation} {reply}", batch.label, done.number),
                    ok: true,
                }
            }
            Err(error) => LastCall {
                text: lab::describe_failure(&batch.label, done.number, *operation, &error),
                ok: false,
            },
        };
        runtime.dispatch(LabAction::CallFinished(last));
        redraw.request();
    };
    let stop = runtime.stop.clone();
    bench
        .run(
            batch.caller,
            clock.as_ref(),
            &call,
            run,
            faults,
            batch.settings.policy.retry_unsafe,
            &runtime.fault_rng,
            &stop,
            &finished,
        )
        .await;
    runtime.log.borrow_mut().end_step(clock.now());
    let started = runtime
        .log
        .borrow()
        .calls
        .iter()
        .filter(|c| c.step == batch.step)
        .count() as u32;
    let after = bench
        .stats()
        .await
        .map_err(|s| failure("reading the server's counters", &s))?;
    let state_after = bench
        .state_of(&call)
        .await
        .map_err(|s| failure("reading the state after the run", &s))?;
    let effect = match (state_before, state_after) {
        (Some(before), Some(after)) => truth::effect(
            &call,
            run.count_up,
            started,
            ok.get(),
            last_ok.get(),
            before,
            after,
        ),
        _ => None,
    };
    let seen = Seen::from(&runtime.log.borrow().tally(batch.step));
    let counters = ServerCounters::between(&before, &after);
    runtime.dispatch(LabAction::StepMeasured(Truth {
        label: batch.label,
        operation: *operation,
        intended: started,
        client_ok: ok.get(),
        executed: executed(&after).saturating_sub(executed(&before)),
        replayed: counters.replays,
        seen,
        counters,
        effect,
    }));
    Ok(())
}

#[component]
pub fn ResilienceLab(props: &Props) -> Html {
    let settings = use_state(Settings::default);
    let version = use_state(|| 0u64);
    let runtime = {
        let (base_url, session) = (props.base_url.to_string(), props.session.to_string());
        use_memo((), move |()| {
            Rc::new(Runtime::new(base_url, session, browser::clock()))
        })
    };
    let runtime: Rc<Runtime> = (*runtime).clone();
    let redraw = {
        let pending = use_memo((), |()| Rc::new(Cell::new(false)));
        let counter = use_memo((), |()| Rc::new(Cell::new(0u64)));
        let live = use_memo((), |()| Rc::new(RefCell::new(None)));
        Redraw {
            pending: (*pending).clone(),
            version: (*counter).clone(),
            clock: runtime.clock.clone(),
            live: (*live).clone(),
            page: version.setter(),
        }
    };
    // The moment the lab is on screen and its buttons work: the page's
    // "interactive" time, which the browser tests read and the README reports.
    use_effect_with((), |()| browser::mark(INTERACTIVE_MARK));
    // The free-play caller, kept across clicks (so its breaker remembers),
    // with the settings and seed it was built from.
    let free_caller = use_mut_ref(|| None::<(PolicyForm, u64, Rc<ResilientCaller>)>);

    // Free play: run the current settings' batch on the kept caller.
    let run_free = {
        let (runtime, redraw, settings, free_caller) = (
            runtime.clone(),
            redraw.clone(),
            settings.clone(),
            free_caller.clone(),
        );
        Callback::from(move |count: Option<u32>| {
            if runtime.state.borrow().is_running() {
                return;
            }
            let mut current = (*settings).clone();
            if let Some(count) = count {
                current.run = RunSpec {
                    count,
                    concurrency: 1,
                    pace_ms: 0,
                    ..current.run
                };
            }
            let caller = {
                let mut kept = free_caller.borrow_mut();
                let fresh = !matches!(&*kept, Some((policy, seed, _)) if *policy == current.policy && *seed == current.seed);
                if fresh {
                    match build_caller(
                        &current.policy,
                        current.seed,
                        runtime.clock.clone(),
                        LogSink::recording(&runtime, &redraw),
                    ) {
                        Ok(caller) => {
                            *runtime.fault_rng.borrow_mut() = lab::fault_rng(current.seed);
                            *kept = Some((current.policy.clone(), current.seed, Rc::new(caller)));
                        }
                        Err(problem) => {
                            runtime.dispatch(LabAction::Problem(problem));
                            redraw.now();
                            return;
                        }
                    }
                }
                kept.as_ref()
                    .map(|(_, _, c)| c.clone())
                    .expect("just built")
            };
            runtime.stop.set(false);
            let (runtime, redraw) = (runtime.clone(), redraw.clone());
            spawn_local(async move {
                let step = runtime.state.borrow().next_step();
                let label = format!(
                    "run {}: {} × {}",
                    step + 1,
                    current.operation,
                    current.run.count
                );
                runtime.dispatch(LabAction::RunStarting);
                let batch = Batch {
                    label,
                    step,
                    settings: &current,
                    caller: &caller,
                };
                let result = run_batch(&runtime, &redraw, batch).await;
                if let Err(problem) = result {
                    runtime.dispatch(LabAction::RunFailed(problem));
                }
                runtime.dispatch(LabAction::RunEnded);
                redraw.now();
            });
        })
    };

    // A lesson button shows the lesson's question; "Run the lesson" runs it.
    let open_lesson = {
        let (runtime, redraw) = (runtime.clone(), redraw.clone());
        Callback::from(move |lesson: Lesson| {
            if runtime.state.borrow().is_running() {
                return;
            }
            runtime.dispatch(LabAction::LessonOpened(lesson));
            redraw.now();
        })
    };

    // A lesson: every step from a clean session reseeded with the seed.
    let run_lesson = {
        let (runtime, redraw, settings, free_caller) = (
            runtime.clone(),
            redraw.clone(),
            settings.clone(),
            free_caller.clone(),
        );
        Callback::from(move |(lesson, seed): (Lesson, u64)| {
            if runtime.state.borrow().is_running() {
                return;
            }
            free_caller.borrow_mut().take();
            runtime.stop.set(false);
            runtime.dispatch(LabAction::LessonStarted(lesson.clone()));
            *runtime.log.borrow_mut() = RunLog::new(runtime.clock.now());
            redraw.now();
            let (runtime, redraw, set_settings) =
                (runtime.clone(), redraw.clone(), settings.setter());
            spawn_local(async move {
                let mut outcome = LessonPhase::Done;
                for (index, step) in lesson.steps.iter().enumerate() {
                    if runtime.stop.get() {
                        outcome = LessonPhase::Stopped;
                        break;
                    }
                    let step_settings = Settings::of_step(step, seed);
                    set_settings.set(step_settings.clone());
                    let result = lesson_step(&runtime, &redraw, index, step, &step_settings).await;
                    if let Err(problem) = result {
                        runtime.dispatch(LabAction::RunFailed(problem));
                        outcome = LessonPhase::Failed;
                        break;
                    }
                }
                if runtime.stop.get() && outcome == LessonPhase::Done {
                    outcome = LessonPhase::Stopped;
                }
                runtime.dispatch(LabAction::LessonEnded(outcome));
                runtime.dispatch(LabAction::RunEnded);
                redraw.now();
            });
        })
    };

    async fn lesson_step(
        runtime: &Rc<Runtime>,
        redraw: &Redraw,
        index: usize,
        step: &Step,
        settings: &Settings,
    ) -> Result<(), String> {
        let bench = &runtime.bench;
        let failed = |s: tonic::Status| failure("setting up the step", &s);
        bench.reset(Some(settings.seed)).await.map_err(failed)?;
        runtime.dispatch(LabAction::SessionReset);
        if step.opening_deposit_cents > 0 {
            bench
                .deposit(&step.form.account, step.opening_deposit_cents)
                .await
                .map_err(failed)?;
        }
        *runtime.fault_rng.borrow_mut() = lab::fault_rng(settings.seed);
        let caller = build_caller(
            &step.policy,
            settings.seed,
            runtime.clock.clone(),
            LogSink::recording(runtime, redraw),
        )?;
        let batch = Batch {
            label: step.label.to_owned(),
            step: index,
            settings,
            caller: &caller,
        };
        run_batch(runtime, redraw, batch).await
    }

    let on_stop = {
        let (runtime, redraw) = (runtime.clone(), redraw.clone());
        Callback::from(move |_: MouseEvent| {
            runtime.stop.set(true);
            redraw.now();
        })
    };

    // A clean slate: the session forgotten and reseeded, the log cleared.
    let on_new_session = {
        let (runtime, redraw, settings, free_caller) = (
            runtime.clone(),
            redraw.clone(),
            settings.clone(),
            free_caller.clone(),
        );
        Callback::from(move |_: MouseEvent| {
            if runtime.state.borrow().is_running() {
                return;
            }
            free_caller.borrow_mut().take();
            let (runtime, redraw, seed) = (runtime.clone(), redraw.clone(), settings.seed);
            spawn_local(async move {
                let result = runtime.bench.reset(Some(seed)).await;
                *runtime.log.borrow_mut() = RunLog::new(runtime.clock.now());
                runtime.dispatch(LabAction::NewSession(
                    result.map_err(|s| failure("resetting the session", &s)),
                ));
                redraw.now();
            });
        })
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
            <LessonList
                lesson={state.lesson.clone()}
                {verdict}
                seed={lesson_seed}
                disabled={running}
                on_open={open_lesson}
                on_run={run_lesson.clone()}
            />
            <div class="lab-grid">
                <div class="lab-controls">
                    <OperationPanel
                        settings={(*settings).clone()}
                        bench={runtime.bench.clone()}
                        problem={call_problem.clone().map(AttrValue::from)}
                        running={running}
                        on_change={{
                            let settings = settings.clone();
                            Callback::from(move |next: Settings| settings.set(next))
                        }}
                        on_call={run_free.reform(|_| Some(1))}
                        on_run={run_free.reform(|_| None)}
                        on_stop={on_stop}
                        on_new_session={on_new_session}
                        session_resets={state.session_resets}
                        runs_ended={state.runs_ended}
                    />
                    if let Some(faults) = faults_left_on {
                        <p class="lesson-faults input-error" role="status" data-testid="lesson-faults" data-faults={faults.clone()}>
                            <strong>{ "Server faults still on after the lesson: " }</strong>{ faults }
                            { ". Your next calls and by-hand sends meet them. " }
                            <button type="button" class="secondary" data-testid="reset-faults" disabled={running}
                                onclick={on_reset_faults}>{ "Reset faults" }</button>
                        </p>
                    }
                    <FaultControls faults={settings.faults.clone()} disabled={running} on_change={on_faults} />
                    <PolicyControls
                        policy={settings.policy.clone()}
                        problems={problems}
                        disabled={running}
                        on_change={on_policy}
                        on_reset={on_policy_reset}
                    />
                </div>
                <LivePlots
                    runtime={RuntimeRef(runtime.clone())}
                    live={redraw.live.clone()}
                    version={redraw.version.clone()}
                    {threshold}
                    {max_tokens}
                />
            </div>
        </section>
    }
}

/// The runtime as a prop: the same bench is always equal to itself.
#[derive(Clone)]
struct RuntimeRef(Rc<Runtime>);

impl PartialEq for RuntimeRef {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

#[derive(Properties, PartialEq)]
struct LiveProps {
    runtime: RuntimeRef,
    /// Where to register this component's redraw.
    live: Rc<RefCell<Option<Callback<()>>>>,
    version: Rc<Cell<u64>>,
    threshold: Option<f64>,
    max_tokens: Option<f64>,
}

/// Everything that changes while calls run: progress, plots, tables. It
/// redraws on its own (see [`Redraw`]) and measures how long each redraw takes.
#[component]
fn LivePlots(props: &LiveProps) -> Html {
    let render_started = browser::now_ms();
    let runtime = props.runtime.0.clone();
    let update = use_force_update();
    *props.live.borrow_mut() = Some(Callback::from(move |()| update.force_update()));
    // How long this redraw took, measured once the DOM is updated.
    {
        let runtime = runtime.clone();
        use_effect(move || {
            let ms = browser::now_ms() - render_started;
            runtime.dispatch(LabAction::Redrawn { ms });
        });
    }
    let export = |csv: bool| {
        let runtime = runtime.clone();
        Callback::from(move |_: MouseEvent| {
            let log = runtime.log.borrow();
            let labels = runtime.state.borrow().step_labels.clone();
            let result = if csv {
                browser::download(
                    "rpc-lab-run.csv",
                    "text/csv",
                    &export::to_csv(&log, &labels),
                )
            } else {
                browser::download(
                    "rpc-lab-run.json",
                    "application/json",
                    &export::to_json(&log, &labels),
                )
            };
            if let Err(problem) = result {
                runtime.dispatch(LabAction::Problem(problem));
            }
        })
    };

    let (threshold, max_tokens) = (props.threshold, props.max_tokens);
    let state = runtime.state.borrow();
    let view = LogView {
        log: runtime.log.clone(),
        version: props.version.get(),
    };
    let render = state.render;
    let average = render.mean_ms();
    let calls_drawn = runtime.log.borrow().calls.len();
    html! {
                <div class="lab-plots">
                    <div class="run-status" aria-live="polite">
                        if let Some(Progress { label, done, total }) = &state.running {
                            <div class="progress" data-testid="progress" data-done={done.to_string()} data-total={total.to_string()}>
                                <progress max={total.to_string()} value={done.to_string()} aria-label="calls finished"></progress>
                                <span>{ format!("{label}: {done} of {total} calls finished") }</span>
                            </div>
                        }
                        if let Some(LastCall { text, ok }) = &state.last {
                            <p class={classes!("last-call", if *ok { "ok" } else { "failed" })} data-testid="last-call">{ text }</p>
                        }
                    </div>
                    if let Some(error) = &state.error {
                        <p class="input-error" role="alert" data-testid="lab-error">{ error }</p>
                    }
                    <section class="card plot-card" aria-labelledby="timeline-title">
                        <h3 id="timeline-title">{ "1. Attempt timeline" }</h3>
                        <p class="hint">{ "One row per logical call; each box is one attempt, coloured by how it ended; dashed lines are backoff waits." }</p>
                        <AttemptTimeline log={view.clone()} max_rows={TIMELINE_ROWS} labels={state.step_labels.clone()} />
                    </section>
                    <section class="card plot-card" aria-labelledby="truth-title">
                        <h3 id="truth-title">{ "2. Client view vs server truth" }</h3>
                        <TruthPanel truths={state.truths.clone()} />
                    </section>
                    <section class="card plot-card" aria-labelledby="breaker-title">
                        <h3 id="breaker-title">{ "3. Circuit breaker" }</h3>
                        <BreakerPlot log={view.clone()} {threshold} labels={state.step_labels.clone()} />
                    </section>
                    <section class="card plot-card" aria-labelledby="latency-title">
                        <h3 id="latency-title">{ "4. Latency: what the program waited vs. what each attempt took" }</h3>
                        <LatencyPanel log={view.clone()} labels={state.step_labels.clone()} />
                    </section>
                    <section class="card plot-card" aria-labelledby="budget-title">
                        <h3 id="budget-title">{ "5. Retry budget" }</h3>
                        <BudgetPlot log={view.clone()} {max_tokens} />
                    </section>
                    <section class="card plot-card" aria-labelledby="summary-title">
                        <h3 id="summary-title">{ "Run summary" }</h3>
                        <RunSummary log={view.clone()} labels={state.step_labels.clone()} />
                        <div class="export">
                            <button type="button" class="secondary" onclick={export(true)} disabled={calls_drawn == 0}>{ "Export events (CSV)" }</button>
                            <button type="button" class="secondary" onclick={export(false)} disabled={calls_drawn == 0}>{ "Export events (JSON)" }</button>
                        </div>
                    </section>
                    <p class="render-stats" data-testid="render-stats"
                        data-redraws={render.count.to_string()}
                        data-last-ms={format!("{:.2}", render.last_ms)}
                        data-max-ms={format!("{:.2}", render.max_ms)}
                        data-mean-ms={format!("{average:.2}")}>
                        { format!("Page: {} redraws, last {:.1} ms, mean {:.1} ms, longest {:.1} ms ({} calls drawn).",
                            render.count, render.last_ms, average, render.max_ms, calls_drawn) }
                    </p>
                </div>
    }
}
