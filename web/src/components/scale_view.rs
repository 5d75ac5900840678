//! The Scale view: a run of the server's load engine, its controls, four
//! live plots and a summary.
//!
//! A browser tab keeps about six requests in flight, so overload cannot be
//! shown from here; `Lab/RunLoad` runs up to thousands of virtual clients
//! beside the server, every call through the same resilience core as the
//! lab, and streams a snapshot every 100 ms. This component holds the
//! controls' values, calls `RunLoad` (server streaming through the page's
//! one raw-bytes gRPC codec, [`crate::wire`], over `tonic-web-wasm-client`,
//! which reads the reply as it arrives), and folds
//! the snapshots into its state with the pure reducer of
//! [`crate::scale::series`]. Stop drops the stream: the fetch is aborted and
//! the server stops the run.
//!
//! Above the controls, lessons that need thousands of calls (the seeds'
//! payment outage, a metastable retry storm, a cascading failure through a
//! second tier, whose background Adds get plot lines of their own): their
//! steps are settings of these same controls, run one after the other like
//! presses of Run (`scale_view/scale_lessons.rs` draws them).
//!
//! The runs go to a session of their own, this tab's name + `-scale`, reset
//! before each run: the capacity a run sets would otherwise slow the lab's
//! calls above, and the server's counters after the run are the run's alone.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures_util::future::{AbortHandle, abortable};
use rpc_lab::proto::calculator_v1::{AbandonedWork, LoadOperation, LoadSnapshot};
use rpc_lab::status::code_name;
use tonic::{Request, Status};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use super::PolicyControls;
use super::fields::{ControlGroup, NumberField, SelectField, Toggle};
use super::scale_plots::{BLACK, BLUE, Chart, GREEN, Level, Line, ORANGE, VERMILION};
use crate::lab::bench::Bench;
use crate::plot_scale::{TimeAxis, format_ms, format_number};
use crate::policy_form::PolicyForm;
use crate::scale::lessons::{self, ScaleStep, time_scaled};
use crate::scale::scenario::{self, ABANDONED, CHECKOUT, OPERATIONS, ScaleForm};
use crate::scale::series::{Phase, ScaleAction, ScaleRun, ServerCounts, capacity_steps};
use crate::{browser, session, wire};

mod scale_lessons;
use scale_lessons::ScaleLessons;

/// `?scale_time=F` (0.05 to 1): the lessons' times × F, for the browser
/// test; 1 otherwise.
fn time_scale() -> f64 {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    search
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("scale_time="))
        .and_then(rpc_lab::number_format::parse)
        .filter(|f| (0.05..=1.0).contains(f))
        .unwrap_or(1.0)
}

/// What a sequence of runs changes: the controls (so they show what runs)
/// and the view's state (the plots, and a lesson's step table).
#[derive(Clone)]
struct Runner {
    bench: Bench,
    form: UseStateHandle<ScaleForm>,
    policy: UseStateHandle<PolicyForm>,
    dispatcher: UseReducerDispatcher<ScaleRun>,
    abort: Rc<RefCell<Option<AbortHandle>>>,
}

impl Runner {
    /// Starts runs one after the other: Run is one run of the controls'
    /// settings, a lesson its steps (their lesson step index, settings). Each
    /// step's settings go into the controls, the run streams into the plots,
    /// and the reducer keeps a lesson step's numbers for the table. Stop
    /// aborts the whole sequence.
    fn start(&self, first_run: u32, steps: Vec<(Option<usize>, ScaleForm, PolicyForm)>) {
        let this = self.clone();
        let (task, handle) = abortable(async move {
            let d = this.dispatcher.clone();
            d.dispatch(ScaleAction::Busy(true));
            for (n, (step, form, policy)) in steps.into_iter().enumerate() {
                let Ok(scenario) = scenario::scenario(&form, &policy) else {
                    break;
                };
                this.form.set(form);
                this.policy.set(policy);
                let id = first_run + n as u32;
                d.dispatch(ScaleAction::Start {
                    run: id,
                    scenario: scenario.clone(),
                    step,
                });
                let dispatch = d.clone();
                let dispatch = Rc::new(move |a| dispatch.dispatch(a));
                if !run(this.bench.clone(), id, scenario, dispatch).await {
                    break;
                }
            }
            d.dispatch(ScaleAction::Busy(false));
        });
        *self.abort.borrow_mut() = Some(handle);
        spawn_local(async move {
            let _ = task.await;
        });
    }
}

#[derive(Properties, PartialEq)]
pub struct Props {
    pub base_url: AttrValue,
    /// This tab's lab session (the runs use it + `-scale`).
    pub session: AttrValue,
}
/// A refusal or failure, as the server put it.
fn words(status: &Status) -> String {
    format!("{}: {}", code_name(status.code()), status.message())
}

/// One run: reset the session, stream the run into `dispatch`, then wait for
/// the server's queue to drain and read its counters. True if the run got
/// to its final message.
async fn run(
    bench: Bench,
    run: u32,
    scenario: rpc_lab::proto::calculator_v1::LoadScenario,
    // One copy of this function in the page, whoever dispatches (a generic
    // here would compile it once per caller).
    dispatch: Rc<dyn Fn(ScaleAction)>,
) -> bool {
    let failed = |message: String| {
        dispatch(ScaleAction::Failed { run, message });
        false
    };
    if let Err(status) = bench.reset(None).await {
        return failed(words(&status));
    }
    let method = scenario::method(scenario.operation());
    let background = scenario
        .background
        .as_ref()
        .map(|b| scenario::method(b.operation()));
    let mut request = Request::new(scenario);
    session::tag(&mut request, &bench.session);
    let started = browser::now_ms();
    let client = tonic_web_wasm_client::Client::new(bench.base_url.clone());
    // The page's one compiled streaming call (a generated client would
    // compile tonic's streaming code again for this method alone).
    let run_load = "/calculator.v1.Lab/RunLoad";
    let reply = wire::server_streaming::<_, LoadSnapshot>(client, run_load, request).await;
    let mut stream = match reply {
        Ok(response) => response.into_inner(),
        Err(status) => return failed(words(&status)),
    };
    loop {
        match stream.message().await {
            Ok(Some(snapshot)) => {
                let last = snapshot.r#final;
                let arrived_ms = browser::now_ms() - started;
                dispatch(ScaleAction::Snapshot {
                    run,
                    snapshot,
                    arrived_ms,
                });
                if last {
                    break;
                }
            }
            Ok(None) => {
                return failed("the stream ended before the run's summary".into());
            }
            Err(status) => return failed(words(&status)),
        }
    }
    drop(stream);
    // Under FINISH the server may still be executing work for clients that
    // gave up; its counters are the run's once the queue is empty (or after
    // 10 s, when the page shows what it has).
    let clock = browser::clock();
    for _ in 0..100 {
        let Ok(stats) = bench.stats().await else {
            break;
        };
        if stats.queue_depth == 0 && stats.executions_in_flight == 0 {
            let counts = ServerCounts {
                executions: stats.executions.get(method).copied().unwrap_or(0),
                background_executions: background
                    .map_or(0, |m| stats.executions.get(m).copied().unwrap_or(0)),
                abandoned: stats.executions_abandoned,
                skipped: stats.executions_skipped,
                cancelled: stats.executions_cancelled,
                interrupted: stats.executions_interrupted,
                refused: stats.refused_overloaded,
                payment_failed: stats.checkouts_payment_failed,
                breaker_refused: stats.checkouts_rejected_by_breaker,
                bulkhead_full: stats.checkouts_bulkhead_full,
                checkouts_abandoned: stats.checkouts_abandoned,
            };
            dispatch(ScaleAction::Server { run, counts });
            break;
        }
        clock.sleep(Duration::from_millis(100)).await;
    }
    true
}

/// A summary line: the number, then what it is.
fn fact(name: &'static str, value: String, what: String) -> Html {
    html! {
        <div class="scale-fact" data-fact={name}>
            <dt>{ value }</dt>
            <dd>{ what }</dd>
        </div>
    }
}

fn percent(share: Option<f64>) -> String {
    share.map_or("–".into(), |s| format!("{} %", format_number(s * 100.0)))
}

#[component]
pub fn ScaleView(props: &Props) -> Html {
    let form = use_state(ScaleForm::default);
    let policy = use_state(scenario::policy_defaults);
    let state = use_reducer(ScaleRun::default);
    let abort = use_mut_ref(|| None::<AbortHandle>);
    let scale = time_scale();
    let f = (*form).clone();
    let built = scenario::scenario(&f, &policy);
    let busy = state.phase.busy() || state.lesson.busy;
    let runner = Runner {
        bench: Bench {
            base_url: props.base_url.to_string(),
            session: format!("{}-scale", props.session),
        },
        form: form.clone(),
        policy: policy.clone(),
        dispatcher: state.dispatcher(),
        abort: abort.clone(),
    };
    let open_lesson = state
        .lesson
        .open
        .and_then(|i| lessons::all().into_iter().nth(i));

    let on_lesson_run = {
        let (runner, next, open) = (runner.clone(), state.run + 1, open_lesson.clone());
        Callback::from(move |which: Vec<usize>| {
            let Some(lesson) = &open else { return };
            let steps = which.into_iter().map(|i| {
                let step = time_scaled(&lesson.steps[i], scale);
                (Some(i), step.form, step.policy)
            });
            runner.start(next, steps.collect());
        })
    };
    // A lesson step's settings into the controls (time-scaled, as it runs).
    let to_controls = {
        let (form, policy) = (form.clone(), policy.clone());
        Callback::from(move |step: ScaleStep| {
            form.set(step.form);
            policy.set(step.policy);
        })
    };
    let on_open = {
        let (d, to_controls) = (state.dispatcher(), to_controls.clone());
        Callback::from(move |i: usize| {
            // The controls show the lesson's first step at once: what its
            // question speaks of is on screen before anything runs.
            if let Some(first) = lessons::all().get(i).and_then(|l| l.steps.first()) {
                to_controls.emit(time_scaled(first, scale));
            }
            d.dispatch(ScaleAction::Lesson(i));
        })
    };
    let on_run = {
        let (runner, next, f, p) = (runner.clone(), state.run + 1, f.clone(), (*policy).clone());
        Callback::from(move |_: MouseEvent| runner.start(next, vec![(None, f.clone(), p.clone())]))
    };
    let on_stop = {
        let (state, abort) = (state.clone(), abort.clone());
        Callback::from(move |_: MouseEvent| {
            // Dropping the task drops the stream, which aborts the fetch
            // (and, in a lesson, the steps still to come).
            if let Some(handle) = abort.borrow_mut().take() {
                handle.abort();
            }
            state.dispatch(ScaleAction::Stop { run: state.run });
        })
    };

    let number = |update: fn(&mut ScaleForm, f64)| {
        let form = form.clone();
        Callback::from(move |v: f64| {
            let mut next = (*form).clone();
            update(&mut next, v);
            form.set(next);
        })
    };
    let toggle = |update: fn(&mut ScaleForm, bool)| {
        let form = form.clone();
        Callback::from(move |on: bool| {
            let mut next = (*form).clone();
            update(&mut next, on);
            form.set(next);
        })
    };
    let select = |update: fn(&mut ScaleForm, i32)| {
        let form = form.clone();
        Callback::from(move |v: String| {
            let mut next = (*form).clone();
            update(&mut next, v.parse().unwrap_or(0));
            form.set(next);
        })
    };
    let choices = |list: &[(i32, &'static str)]| {
        list.iter()
            .map(|(v, text)| (AttrValue::from(v.to_string()), AttrValue::from(*text)))
            .collect::<Vec<_>>()
    };
    // Checkout only while the cascade lesson has set it: the select shows
    // what runs (see `scenario::Tiers` for why it is not offered otherwise).
    let mut operations = choices(&OPERATIONS.map(|(o, t, _)| (o as i32, t)));
    if f.operation == LoadOperation::Checkout {
        operations.extend(choices(&[(CHECKOUT.0 as i32, CHECKOUT.1)]));
    }
    let abandoned = choices(&ABANDONED.map(|(a, t)| (a as i32, t)));
    let arrivals = choices(&[
        (0, "open loop: calls arrive at a rate"),
        (1, "closed loop: clients call, think, call"),
    ]);

    let controls = html! {
        <fieldset class="lab-fieldset" disabled={busy}>
            <legend>{ "Scenario" }</legend>
            { ControlGroup {
                id: "scale-load".into(),
                title: "Load",
                state: if f.closed_loop {
                format!("{} clients, {} think, {}", f.clients, format_ms(f64::from(f.think_ms)), format_ms(f64::from(f.duration_ms)))
            } else {
                format!("{} calls/s, {}", format_number(f.rate), format_ms(f64::from(f.duration_ms)))
            },
                open: true,
                children: html! { <>
                <SelectField id="scale-arrival" label="Arrival" selected={if f.closed_loop { "1" } else { "0" }} choices={arrivals}
                    hint="Open loop: users arriving whatever happens to them. Closed loop: a pool that slows down when the server does."
                    on_change={select(|f, v| f.closed_loop = v == 1)} />
                if f.closed_loop {
                    { NumberField {
                        id: "scale-clients".into(),
                        label: "Clients",
                        min: 1.0,
                        max: 5000.0,
                        value: f64::from(f.clients),
                        hint: "Virtual clients, each one call at a time.",
                        on_change: number(|f, v| f.clients = v as u32),
                        ..Default::default()
                    }.view() }
                    { NumberField {
                        id: "scale-think".into(),
                        label: "Think time",
                        unit: "ms",
                        min: 0.0,
                        max: 10000.0,
                        step: 10.0,
                        value: f64::from(f.think_ms),
                        hint: "Each client's pause between calls.",
                        on_change: number(|f, v| f.think_ms = v as u32),
                        ..Default::default()
                    }.view() }
                } else {
                    { NumberField {
                        id: "scale-rate".into(),
                        label: "Rate",
                        unit: "calls/s",
                        min: 1.0,
                        max: 10000.0,
                        step: 10.0,
                        value: f.rate,
                        hint: "Logical calls started per second (retries come on top).",
                        on_change: number(|f, v| f.rate = v),
                        ..Default::default()
                    }.view() }
                    { Toggle {
                        id: "scale-poisson".into(),
                        label: "Poisson arrivals",
                        checked: f.poisson,
                        hint: "Random gaps, as independent users arrive; off: evenly spaced.",
                        on_change: toggle(|f, on| f.poisson = on),
                        ..Default::default()
                    }.view() }
                }
                { NumberField {
                    id: "scale-duration".into(),
                    label: "Duration",
                    unit: "ms",
                    min: 100.0,
                    max: 300000.0,
                    step: 100.0,
                    value: f64::from(f.duration_ms),
                    hint: "Calls start for this long; then the run waits for those in flight.",
                    on_change: number(|f, v| f.duration_ms = v as u32),
                    ..Default::default()
                }.view() }
                <SelectField id="scale-operation" label="Operation" selected={(f.operation as i32).to_string()} choices={operations}
                    hint="What every virtual call does." on_change={select(|f, v| {
                        f.operation = LoadOperation::try_from(v).unwrap_or_default();
                        // The tiers are Checkout's (see `scenario::Tiers`).
                        if f.operation != LoadOperation::Checkout {
                            f.tiers = None;
                        }
                    })} />
                { Toggle {
                    id: "scale-shared".into(),
                    label: "One shared client",
                    checked: f.shared_client,
                    hint: "One breaker and one budget for all, as one service's client library; off: one each.",
                    on_change: toggle(|f, on| f.shared_client = on),
                    ..Default::default()
                }.view() }
                        </> },
            }.view() }
            { ControlGroup {
                id: "scale-capacity".into(),
                title: "Server capacity",
                state: format!("W {} · Q {} · S {} · k {}", f.workers, f.queue, format_ms(f64::from(f.service_ms)), format_number(f.slowdown)),
                open: true,
                children: html! { <>
                { NumberField {
                    id: "scale-workers".into(),
                    label: "Workers W",
                    min: 0.0,
                    max: 10000.0,
                    value: f64::from(f.workers),
                    hint: "Executions at once (0: no limit).",
                    on_change: number(|f, v| f.workers = v as u32),
                    ..Default::default()
                }.view() }
                { NumberField {
                    id: "scale-queue".into(),
                    label: "Queue Q",
                    min: 0.0,
                    max: 100000.0,
                    value: f64::from(f.queue),
                    hint: "Requests that may wait for a worker; one more is refused RESOURCE_EXHAUSTED.",
                    on_change: number(|f, v| f.queue = v as u32),
                    ..Default::default()
                }.view() }
                { NumberField {
                    id: "scale-service".into(),
                    label: "Service time S",
                    unit: "ms",
                    min: 0.0,
                    max: 60000.0,
                    value: f64::from(f.service_ms),
                    hint: "How long one execution holds its worker.",
                    on_change: number(|f, v| f.service_ms = v as u32),
                    ..Default::default()
                }.view() }
                { NumberField {
                    id: "scale-slowdown".into(),
                    label: "Slowdown k",
                    min: 0.0,
                    max: 100.0,
                    step: 0.1,
                    value: f.slowdown,
                    hint: "Service time × (1 + k × executions already in flight).",
                    on_change: number(|f, v| f.slowdown = v),
                    ..Default::default()
                }.view() }
                <SelectField id="scale-abandoned" label="Work for a client that gave up" selected={(f.abandoned as i32).to_string()}
                    choices={abandoned} hint="Finishing it anyway keeps workers busy for nobody."
                    on_change={select(|f, v| f.abandoned = AbandonedWork::try_from(v).unwrap_or_default())} />
                        </> },
            }.view() }
            { ControlGroup {
                id: "scale-brownout".into(),
                title: "Brownout",
                state: if f.brownout {
                format!("{} to {}, S × {}, {} workers", format_ms(f64::from(f.brownout_start_ms)), format_ms(f64::from(f.brownout_end_ms)),
                    format_number(f.brownout_factor), f.brownout_workers.min(f.workers))
            } else { "off".into() },
                children: html! { <>
                { Toggle {
                    id: "scale-brownout".into(),
                    label: "A window of trouble",
                    checked: f.brownout,
                    hint: "For a while after the run starts the server is slower, or has fewer workers.",
                    on_change: toggle(|f, on| f.brownout = on),
                    ..Default::default()
                }.view() }
                { NumberField {
                    id: "scale-brownout-start".into(),
                    label: "From",
                    unit: "ms",
                    min: 0.0,
                    max: 300000.0,
                    step: 100.0,
                    value: f64::from(f.brownout_start_ms),
                    disabled: !f.brownout,
                    on_change: number(|f, v| f.brownout_start_ms = v as u32),
                    ..Default::default()
                }.view() }
                { NumberField {
                    id: "scale-brownout-end".into(),
                    label: "To",
                    unit: "ms",
                    min: 0.0,
                    max: 300000.0,
                    step: 100.0,
                    value: f64::from(f.brownout_end_ms),
                    disabled: !f.brownout,
                    on_change: number(|f, v| f.brownout_end_ms = v as u32),
                    ..Default::default()
                }.view() }
                { NumberField {
                    id: "scale-brownout-factor".into(),
                    label: "Service time ×",
                    min: 1.0,
                    max: 1000.0,
                    step: 0.5,
                    value: f.brownout_factor,
                    disabled: !f.brownout,
                    hint: "1: unchanged.",
                    on_change: number(|f, v| f.brownout_factor = v),
                    ..Default::default()
                }.view() }
                { NumberField {
                    id: "scale-brownout-workers".into(),
                    label: "Workers",
                    min: 0.0,
                    max: 10000.0,
                    value: f64::from(f.brownout_workers),
                    disabled: !f.brownout,
                    hint: "As many as W: unchanged; 0: an outage.",
                    on_change: number(|f, v| f.brownout_workers = v as u32),
                    ..Default::default()
                }.view() }
                        </> },
                ..Default::default()
            }.view() }
            if let Some(t) = &f.tiers {
                { ControlGroup {
                    id: "scale-tiers".into(),
                    title: "Two tiers (the cascade lesson's)",
                    state: format!("payment hangs · its client: {} per attempt, {} breaker{} · {} Adds/s beside",
                        format_ms(f64::from(t.client.attempt_timeout_ms)),
                        if t.client.breaker { "a" } else { "no" },
                        t.bulkhead.map_or(String::new(), |b| format!(", a bulkhead of {b}")),
                        format_number(t.background_rate)),
                    open: true,
                    children: html! { <>
                        <p class="hint">{ "Checkout's handler, in the server's front tier (the capacity above), calls a payment service \
                            whose workers are all gone for the run: it hangs. The breaker and the bulkhead are in the front tier's \
                            client of payment, set by the lesson's step. The Adds beside share the front workers and never call payment. \
                            Another operation leaves the two tiers." }</p>
                    </> },
                }.view() }
            }
        </fieldset>
    };

    let problems = policy.problems();
    let on_policy = {
        let policy = policy.clone();
        Callback::from(move |next: PolicyForm| policy.set(next))
    };
    let on_policy_reset = {
        let policy = policy.clone();
        Callback::from(move |()| policy.set(scenario::policy_defaults()))
    };

    // The plots, on one time axis: of the latest run, or of the lesson step
    // the student picked again.
    let s = state.on_view();
    let axis = TimeAxis::covering(0.0, s.end_ms(), 6);
    let end = axis.end_ms;
    let shade = s
        .capacity
        .as_ref()
        .and_then(|c| c.brownout)
        .map(|b| (f64::from(b.start_ms), f64::from(b.end_ms).min(end)));
    let capacity = s
        .capacity
        .as_ref()
        .map(|c| capacity_steps(c, end))
        .unwrap_or_default();
    let capacity_level = (!capacity.is_empty()).then(|| Level {
        name: "capacity",
        label: format!(
            "capacity: W ÷ S{} = {} executions/s",
            if s.capacity.as_ref().is_some_and(|c| c.slowdown > 0.0) {
                " with k, all W busy"
            } else {
                ""
            },
            format_number(capacity[0].2)
        ),
        steps: capacity,
    });
    // The attempt timeout if there is one, else the call's deadline. (A
    // call that retried takes longer than one attempt's timeout: the plot
    // shows calls, not attempts.)
    let timeout = s
        .attempt_timeout_ms
        .map(|ms| ("attempt timeout", ms))
        .or(s.deadline_ms.map(|ms| ("deadline", ms)))
        .map(|(name, ms)| Level {
            name,
            label: format!("{name} {}", format_ms(f64::from(ms))),
            steps: vec![(0.0, end, f64::from(ms))],
        });
    let background_timeout = s.background_timeout_ms.map(|ms| Level {
        name: "background Add timeout",
        label: format!("background Add timeout {}", format_ms(f64::from(ms))),
        steps: vec![(0.0, end, f64::from(ms))],
    });
    let line = |name, color, value: fn(&crate::scale::series::Window) -> Option<f64>| Line {
        name,
        color,
        points: s.series(value),
        right: false,
    };
    // The run's own lines: in a checkout run the legend says they are the checkouts'.
    let run_own = |checkout: &'static str, plain: &'static str| {
        if s.payment { checkout } else { plain }
    };
    let plots = [
        Chart {
            name: "scale-load",
            // With a payment tier the main lines are the checkouts' alone;
            // the captions say so, and what the Adds' lines are.
            title: if s.payment {
                "Checkouts: offered load (attempts/s), goodput (successful calls/s) and what the front tier can finish; the background Adds' goodput"
            } else {
                "Offered load (attempts/s), goodput (successful calls/s) and what the server can finish"
            },
            axis: &axis,
            lines: vec![
                line(run_own("checkouts offered", "offered"), BLUE, |w| {
                    Some(w.offered)
                }),
                line(run_own("checkout goodput", "goodput"), GREEN, |w| {
                    Some(w.goodput)
                }),
                // The cascade lesson's Adds beside the checkouts.
                line("background Add goodput", BLACK, |w| w.bg_goodput),
            ],
            levels: capacity_level.into_iter().collect(),
            shade,
            band: Vec::new(),
            right: None,
        },
        Chart {
            name: "scale-latency",
            title: if s.payment {
                "Latency of the checkouts, and of the background Adds, that ended in each 100 ms (ms, from each call's intended start)"
            } else {
                "Latency of the calls that ended in each 100 ms (ms, from each call's intended start)"
            },
            axis: &axis,
            lines: vec![
                line(run_own("checkout p50", "p50"), BLUE, |w| w.p50),
                line(run_own("checkout p99", "p99"), VERMILION, |w| w.p99),
                line("background Add p99", BLACK, |w| w.bg_p99),
            ],
            levels: timeout.into_iter().chain(background_timeout).collect(),
            shade,
            band: Vec::new(),
            right: None,
        },
        Chart {
            name: "scale-queue",
            title: if s.payment {
                "The front tier: requests waiting in its queue, executions in flight (a checkout waiting on payment is executing: the two lines coincide while no Add is)"
            } else {
                "The server: requests waiting in the queue, executions in flight"
            },
            axis: &axis,
            lines: vec![
                line("queued", ORANGE, |w| Some(w.queue)),
                line("executing", BLUE, |w| Some(w.executing)),
                Line {
                    points: if s.payment {
                        s.series(|w| Some(w.waiting))
                    } else {
                        Vec::new()
                    },
                    ..line("waiting on payment", VERMILION, |_| None)
                },
            ],
            levels: Vec::new(),
            shade,
            band: Vec::new(),
            right: None,
        },
        Chart {
            name: "scale-retries",
            // With a payment tier the band is the server's breaker (the
            // cascade lesson's), not the virtual clients'.
            title: match (s.payment, s.budget_tokens.is_some()) {
                (true, true) => {
                    "Retries/s, the server's payment breaker (band: its state) and the budget's tokens (right scale: a failed attempt spends one, a success gives some back)"
                }
                (true, false) => "Retries/s and the server's payment breaker (band: its state)",
                (false, true) => {
                    "Retries/s, the breakers' states (band) and the budget's tokens (right scale: a failed attempt spends one, a success gives some back)"
                }
                (false, false) => "Retries/s and the breakers' states (band)",
            },
            axis: &axis,
            lines: vec![
                line("retries", VERMILION, |w| Some(w.retries)),
                Line {
                    right: true,
                    ..line("tokens", GREEN, |w| w.tokens)
                },
            ],
            levels: Vec::new(),
            shade,
            band: s.breaker_spans(if s.payment {
                |w| w.payment_breaker
            } else {
                |w| w.breakers
            }),
            right: s.budget_tokens.map(|max| (max, "tokens")),
        },
    ];

    // A run goes on after its arrivals end, until its calls in flight end.
    // The run on view's: a kept step shown says how long that step took.
    let (elapsed, arrivals) = (
        s.received.elapsed_ms,
        f64::from(if s.duration_ms > 0 {
            s.duration_ms
        } else {
            f.duration_ms
        }),
    );
    let progress = if elapsed > arrivals {
        format!(
            "{}: arrivals for {}, then the calls in flight",
            format_ms(elapsed),
            format_ms(arrivals)
        )
    } else {
        format!("{} of {}", format_ms(elapsed), format_ms(arrivals))
    };
    // A lesson runs several steps into the same plots: say whose they are.
    let shows = (s.phase != Phase::Idle).then(|| {
        let what = match s.shows {
            Some((l, i)) => lessons::all().get(l).map_or_else(String::new, |lesson| {
                format!("“{}”, step {} of {}: {}", lesson.title, i + 1, lesson.steps.len(),
                    lesson.steps.get(i).map_or("", |step| step.label))
            }),
            None => "a run of the settings at the left".into(),
        };
        let phase = match s.phase {
            Phase::Starting | Phase::Running => " (running)",
            Phase::Stopped => " (stopped)",
            Phase::Failed => " (failed)",
            Phase::Idle | Phase::Done => "",
        };
        // Once steps have run, any of them can be shown again.
        let kept: Vec<usize> = state.lesson.runs.iter().enumerate().filter_map(|(i, r)| r.as_ref().map(|_| i)).collect();
        // ...and, after a run of the form's own, that run again.
        let latest = (state.step.is_none() && state.lesson.shown.is_some()).then(|| {
            let d = state.dispatcher();
            html! { <button type="button" class="secondary" data-testid="scale-show-latest"
                onclick={Callback::from(move |_: MouseEvent| d.dispatch(ScaleAction::Show(None)))}>{ "the latest run" }</button> }
        });
        // Offered when there is a run other than the one on view.
        let other = kept.iter().any(|&i| s.step != Some(i)) || latest.is_some();
        let picker = (!busy && other).then(|| {
            let buttons = kept.into_iter().map(|i| {
                let (d, to_controls, lesson) = (state.dispatcher(), to_controls.clone(), open_lesson.clone());
                let pressed = s.step == Some(i);
                // The controls show the step too, as when it ran.
                let show = move |_: MouseEvent| {
                    if let Some(step) = lesson.as_ref().and_then(|l| l.steps.get(i)) {
                        to_controls.emit(time_scaled(step, scale));
                    }
                    d.dispatch(ScaleAction::Show(Some(i)));
                };
                html! {
                    <button type="button" class="secondary step-choice" data-testid="scale-show-step" data-step={i.to_string()}
                        aria-pressed={pressed.to_string()} onclick={Callback::from(show)}>
                        { format!("step {}", i + 1) }</button>
                }
            });
            html! { <span class="scale-show">{ " Show: " }{ for buttons }{ for latest }</span> }
        });
        html! { <p class="hint scale-shows" data-testid="scale-shows">{ format!("The plots show {what}{phase}.") }{ for picker }</p> }
    });
    let summary = s.summary().map(|sum| {
        let t = &sum.totals;
        let server = s.server;
        // With background calls beside it, every fact but theirs names the
        // run's own operation, so the two are never read as one.
        let of = |what: &str| match s.background {
            Some(_) => format!("{} {what}", s.operation),
            None => what.to_owned(),
        };
        let background = s.background.zip(t.background.as_ref()).map(|(name, b)| {
            let ran = server.map_or(String::new(), |c| format!("; the server executed {} {name}s", c.background_executions));
            fact("background", format!("{} of {}", b.succeeded, b.calls), format!(
                "background {name} calls that succeeded ({} failed{}{}{ran}), beside the {}s, sharing its workers",
                b.failed,
                if b.not_sent > 0 { format!(", {} not sent", b.not_sent) } else { String::new() },
                b.p99_ms.map_or(String::new(), |p| format!(", p99 {}", format_ms(p))),
                s.operation))
        });
        html! {
            <div class="scale-summary" data-testid="scale-summary" data-whole-run={sum.whole_run.to_string()}
                 data-calls={t.calls.to_string()} data-succeeded={t.succeeded.to_string()} data-failed={t.failed.to_string()}
                 data-attempts={t.attempts.to_string()} data-executions={t.executions.to_string()}
                 data-server-executions={server.map_or(String::new(), |c| c.executions.to_string())}
                 data-elapsed-ms={format_number(t.elapsed_ms)}>
                <p class="hint">{ if sum.whole_run {
                    format!("The whole run, {} (the server's final message):", format_ms(t.elapsed_ms))
                } else {
                    format!("Stopped: the {} windows received, {} (calls still in flight are not counted):", s.windows.len(), format_ms(t.elapsed_ms))
                } }</p>
                <dl class="scale-facts">
                    { fact("calls", t.calls.to_string(), format!("{}: {} succeeded, {} failed{}", of("logical calls"), t.succeeded, t.failed,
                        if t.not_sent > 0 { format!(", {} not sent (too many in flight)", t.not_sent) } else { String::new() })) }
                    { fact("goodput", format!("{}/s", format_number(sum.goodput)), format!("{}: {} successful calls in {}", of("goodput"), t.succeeded, format_ms(t.elapsed_ms))) }
                    { fact("wasted", format!("{} s", format_number(t.wasted_ms / 1000.0)), of("client-seconds spent in calls that failed anyway")) }
                    { fact("executions", t.executions.to_string(), match server {
                        Some(c) if c.executions > t.executions => format!("{} during the run; {} in all once its queue drained ({} more after the run's last call had ended, for clients long gone)", of("server executions"), c.executions, c.executions - t.executions),
                        Some(c) => format!("{} (Lab/GetStats agrees: {})", of("server executions"), c.executions),
                        None => of("server executions during the run"),
                    }) }
                    { fact("amplification", sum.amplification.map_or("–".into(), format_number), format!("{} ({} attempts ÷ {} calls){}", of("attempts sent per logical call"), t.attempts, t.calls,
                        if t.breaker_rejections > 0 { format!("; {} more were refused by the clients' breakers and never sent", t.breaker_rejections) } else { String::new() })) }
                    { fact("useful", percent(sum.useful), format!("{}: successful calls ÷ executions ({} ÷ {}), the share of the server's work that ended in a reply a client used", of("useful work"), t.succeeded, sum.executions)) }
                    { for background }
                </dl>
                if let Some(c) = server {
                    <p class="hint" data-testid="scale-server">{ format!(
                        "The server's counters for the whole run, once drained (Lab/GetStats): {} executions finished for a client that had gone, {} skipped, {} cancelled before they ran, {} stopped part-way when their client left, {} refused as overloaded.{}",
                        c.abandoned, c.skipped, c.cancelled, c.interrupted, c.refused,
                        if s.payment { format!(" Checkouts: {} waited out payment, {} still waited on it when their shopper left, {} refused by the front tier's breaker, {} by its bulkhead.",
                            c.payment_failed, c.checkouts_abandoned, c.breaker_refused, c.bulkhead_full) } else { String::new() }) }</p>
                }
            </div>
        }
    });

    html! {
        <section class="card scale" aria-labelledby="scale-title" data-testid="scale-view" data-phase={state.phase.slug()}
                 data-windows={state.windows.len().to_string()}
                 data-first-arrival-ms={state.first_arrival_ms.map_or(String::new(), format_number)}
                 data-last-arrival-ms={state.last_arrival_ms.map_or(String::new(), format_number)}>
            <h2 id="scale-title">{ "Scale view" }</h2>
            <p class="hint">
                { "A browser tab keeps about six calls in flight; the server's load engine runs thousands of virtual clients \
                   beside it, each call through the same resilience core as the lab, against a server with finite capacity, \
                   and sends what happened every 100 ms. The runs use a session of their own (this tab's, + \"-scale\"), \
                   reset before each run, so the lab above is untouched." }
            </p>
            { ScaleLessons {
                open: open_lesson,
                steps: &state.lesson.steps,
                running: state.lesson.busy.then_some(state.step).flatten(),
                answer: state.lesson.answer,
                time_scale: scale,
                disabled: busy,
                on_open,
                on_answer: state.dispatcher().to_callback().reform(ScaleAction::Answer),
                on_run: on_lesson_run,
            }.view() }
            <div class="lab-grid">
                <div class="lab-controls">
                    { controls }
                    <PolicyControls policy={(*policy).clone()} {problems} disabled={busy} on_change={on_policy}
                        on_reset={on_policy_reset} id_prefix="scale-" for_load_engine={true} />
                </div>
                <div class="scale-plots">
                    <div class="scale-run">
                        <button type="button" class="primary" data-testid="scale-run" disabled={busy || built.is_err()} onclick={on_run}>{ "Run" }</button>
                        <button type="button" class="secondary" data-testid="scale-stop" disabled={!busy} onclick={on_stop}>{ "Stop" }</button>
                        <progress max="1" value={format_number(s.progress())}></progress>
                        <span data-testid="scale-progress">{ progress }</span>
                    </div>
                    { for shows }
                    if let Some(error) = &state.error {
                        <p class="input-error" role="alert" data-testid="scale-error">{ error }</p>
                    }
                    { for plots.iter().map(Chart::view) }
                    { for summary }
                </div>
            </div>
            <super::jitter_experiment::JitterExperiment base_url={props.base_url.clone()} session={props.session.clone()} />
        </section>
    }
}
