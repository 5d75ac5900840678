//! The jitter experiment in the page: Brooker's 2015 simulation, run for
//! real by the server's load engine, one run per (strategy, N), plotted as
//! the runs end and compared with what the blog published.
//!
//! [`crate::scale::jitter`] holds the logic (the policies, the plan, the
//! checks, the comparison); this component makes the calls and draws. The
//! runs go to a session of their own, this tab's name + `-jitter`, reset
//! before each run so that the record starts at 0 and the server's counters
//! after the run are the run's alone. One run at a time: the server allows
//! one per session, and the browser's six connections are shared with the
//! rest of the page (the server's view holds one stream open).

use std::fmt::Write;
use std::rc::Rc;

use futures_util::future::{AbortHandle, abortable};
use rpc_lab::proto::calculator_v1::LoadSnapshot;
use tonic::{Request, Status};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::scale_plots::{BLUE, GREEN, ORANGE, PURPLE, VERMILION};
use crate::lab::bench::{Bench, failure};
use crate::plot_scale::{CountAxis, Linear, format_ms, px};
use crate::scale::jitter::{self, Experiment, LogAxis, Point, Step, Strategy, compare};
use crate::{browser, markup, session, wire};

/// Each strategy's look, in [`Strategy::ALL`]'s order: a colour, a dash
/// pattern and a marker (an SVG path from the point), so the lines are told
/// apart without colour too.
const LOOKS: [(&str, &str, &str); 5] = [
    (VERMILION, "2 3", "m-4 0a4 4 0 1 0 8 0a4 4 0 1 0-8 0"),
    (PURPLE, "9 4", "m-4-4h8v8h-8z"),
    (BLUE, "", "m0-5l5 9h-10z"),
    (GREEN, "6 3 2 3", "m0-5l5 5-5 5-5-5z"),
    (ORANGE, "4 2", "m0 5l5-9h-10z"),
];

fn look(strategy: Strategy) -> (&'static str, &'static str, &'static str) {
    LOOKS[Strategy::ALL
        .iter()
        .position(|s| *s == strategy)
        .unwrap_or(0)]
}

#[derive(Properties, PartialEq)]
pub struct Props {
    pub base_url: AttrValue,
    /// This tab's lab session (the runs use it + `-jitter`).
    pub session: AttrValue,
}

/// Every run of the plan, one after the other; the first failure stops it.
async fn experiment(
    bench: Bench,
    plan: Vec<(Strategy, u32)>,
    seed: u64,
    // One copy of this code in the page (a generic would compile one per caller).
    d: Rc<dyn Fn(Step)>,
) {
    let started = browser::now_ms();
    for (strategy, n) in plan {
        d(Step::Run(strategy, n));
        match measure(&bench, strategy, n, seed, &*d).await {
            Ok(point) => d(Step::Done(point)),
            Err(error) => return d(Step::Fail(Some(error))),
        }
    }
    d(Step::End(browser::now_ms() - started));
}

/// One run in a fresh session, then the server's counters, which
/// [`jitter::point`] checks the run against.
async fn measure(
    bench: &Bench,
    strategy: Strategy,
    n: u32,
    seed: u64,
    d: &dyn Fn(Step),
) -> Result<Point, String> {
    let run = format!("{}, N = {n}: ", strategy.label());
    let refused = |what| {
        let run = run.clone();
        move |status: Status| run + &failure(what, &status)
    };
    let transport = || tonic_web_wasm_client::Client::new(bench.base_url.clone());
    bench.reset(None).await.map_err(refused("ResetSession"))?;
    let mut request = Request::new(rpc_lab::jitter_experiment::scenario(
        strategy,
        n,
        seed,
        jitter::DELAY_MS,
    ));
    session::tag(&mut request, &bench.session);
    let path = "/calculator.v1.Lab/RunLoad";
    let mut stream = wire::server_streaming::<_, LoadSnapshot>(transport(), path, request)
        .await
        .map_err(refused("RunLoad"))?
        .into_inner();
    let summary = loop {
        match stream.message().await.map_err(refused("RunLoad"))? {
            Some(s) if s.r#final => break s,
            Some(s) => d(Step::Window(s.calls_succeeded, s.elapsed_ms)),
            None => return Err(run + "the stream ended before the run's summary"),
        }
    };
    drop(stream);
    let stats = bench.stats().await.map_err(refused("GetStats"))?;
    let server_calls = stats
        .executions
        .get("/calculator.v1.Store/CompareAndSet")
        .copied()
        .unwrap_or(0);
    jitter::point(strategy, n, &summary, server_calls)
}

// The plots' frame, in SVG units: a 600 × 210 view box (as wide as the
// Scale view's plots), the data between x 70 and 578 (room for the last N's
// label) and y 8 and 172. The markup below writes these numbers as text
// (formatting them would cost code); they are here for the scales.
const LEFT: f64 = 70.0;
const RIGHT: f64 = 578.0;
const TOP: f64 = 8.0;
const BOTTOM: f64 = 172.0;

/// One plot against N, as SVG markup: calls on a linear scale, or time on a
/// log scale. Each point carries `data-strategy`, `data-n`, `data-calls`,
/// `data-time-ms` and `data-server-calls` for the browser test.
fn plot(out: &mut String, e: &Experiment, time: bool) {
    let max_n = e.points.iter().map(|p| p.clients).max().unwrap_or(10);
    let ns = CountAxis::covering(max_n as usize, 5);
    let x = Linear::new((0.0, ns.top as f64), (LEFT, RIGHT));
    let value = |p: &Point| {
        if time {
            f64::from(p.time_ms)
        } else {
            p.calls as f64
        }
    };
    let values = e.points.iter().map(value);
    let low = values.clone().fold(f64::INFINITY, f64::min);
    let high = values.fold(1.0, f64::max);
    let log = LogAxis::covering(if low.is_finite() { low } else { 100.0 }, high);
    let counts = CountAxis::covering(high as usize, 4);
    let y = |v: f64| {
        px(if time {
            BOTTOM - log.fraction(v) * (BOTTOM - TOP)
        } else {
            Linear::new((0.0, counts.top as f64), (BOTTOM, TOP)).at(v)
        })
    };
    let (name, title, unit) = if time {
        (
            "jitter-time",
            "Time until the last client's write succeeded",
            "time (log scale)",
        )
    } else {
        (
            "jitter-calls",
            "Calls: write attempts by all N clients",
            "calls",
        )
    };
    let _ = write!(
        out,
        "<figure class=\"plot scale-plot\" style=\"flex:1 1 520px;max-width:760px\" data-plot=\"{name}\"><figcaption>{title}</figcaption>\
         <svg viewBox=\"0 0 600 210\" role=\"img\" aria-label=\"{title}\">"
    );
    let y_ticks: Vec<(f64, String)> = if time {
        log.ticks().into_iter().map(|t| (t, format_ms(t))).collect()
    } else {
        counts.ticks().map(|t| (t as f64, t.to_string())).collect()
    };
    for (v, text) in y_ticks {
        let at = y(v);
        let _ = write!(
            out,
            "<path d=\"M70 {at}H578\" stroke=\"#e3e7f0\"/>\
             <text class=\"tick\" x=\"64\" y=\"{at}\" dy=\"4\" text-anchor=\"end\">{text}</text>"
        );
    }
    for n in ns.ticks() {
        let _ = write!(
            out,
            "<text class=\"tick\" x=\"{}\" y=\"188\" text-anchor=\"middle\">{n}</text>",
            px(x.at(n as f64))
        );
    }
    let _ = write!(
        out,
        "<path class=\"axis\" d=\"M70 172H578\" stroke=\"#5a6478\"/>\
         <text class=\"axis-label\" x=\"324\" y=\"205\" text-anchor=\"middle\">clients N</text>\
         <text class=\"axis-label\" x=\"12\" y=\"90\" text-anchor=\"middle\" transform=\"rotate(-90 12 90)\">{unit}</text>"
    );
    // Backwards, so that immediate retry's small circles are drawn over
    // exponential's squares where the two made the same calls.
    for s in Strategy::ALL.into_iter().rev() {
        let (color, dash, marker) = look(s);
        let line = e.line(s);
        let mut d = String::new();
        for p in &line {
            let m = if d.is_empty() { "M" } else { "L" };
            let _ = write!(d, "{m}{} {}", px(x.at(f64::from(p.clients))), y(value(p)));
        }
        let _ = write!(
            out,
            "<g class=\"series\" data-series=\"{}\"><path d=\"{d}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" stroke-dasharray=\"{dash}\"/>",
            s.slug()
        );
        for p in &line {
            let _ = write!(
                out,
                "<path data-strategy=\"{}\" data-n=\"{}\" data-calls=\"{}\" data-time-ms=\"{}\" data-server-calls=\"{}\" \
                 d=\"M{} {}{marker}\" fill=\"{color}\"/>",
                s.slug(),
                p.clients,
                p.calls,
                p.time_ms,
                p.server_calls,
                px(x.at(f64::from(p.clients))),
                y(value(p)),
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg></figure>");
}

/// Everything the runs drew, as markup: the legend, the two plots, the
/// table and the comparison with the blog.
///
/// Written as text and handed to the browser whole, rather than built
/// element by element with `html!`: each `html!` element compiles to code
/// of its own (about 400 bytes of WebAssembly here), and this is some fifty
/// elements. Nothing in it comes from the student or the network but
/// numbers; the text is the page's own.
fn results(e: &Experiment, table: &[u32]) -> String {
    let mut out = String::from("<p class=\"scale-legend\">");
    for s in Strategy::ALL {
        let (color, dash, marker) = look(s);
        let _ = write!(
            out,
            "<span><svg class=\"swatch\" width=\"30\" height=\"12\" style=\"margin-right:4px\"><path d=\"M1 6H29\" stroke=\"{color}\" \
             stroke-width=\"2\" stroke-dasharray=\"{dash}\"/><path d=\"M15 6{marker}\" fill=\"{color}\"/></svg>{}</span>",
            s.label()
        );
    }
    out.push_str("</p><div style=\"display:flex;flex-wrap:wrap;gap:0 1.5rem\">");
    plot(&mut out, e, false);
    plot(&mut out, e, true);
    out.push_str(
        "</div><table class=\"numbers\" data-testid=\"jitter-table\"><thead><tr><th>strategy</th>",
    );
    for n in table {
        let _ = write!(
            out,
            "<th class=\"num\">calls, N = {n}</th><th class=\"num\">time, N = {n}</th>"
        );
    }
    out.push_str("</tr></thead><tbody>");
    for s in Strategy::ALL {
        let _ = write!(
            out,
            "<tr data-strategy=\"{}\"><td>{}</td>",
            s.slug(),
            s.label()
        );
        for &n in table {
            let (calls, time) = e.at(s, n).map_or(("–".into(), "–".into()), |p| {
                (p.calls.to_string(), format_ms(f64::from(p.time_ms)))
            });
            let _ = write!(
                out,
                "<td class=\"num\">{calls}</td><td class=\"num\">{time}</td>"
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    match e.complete() {
        Some((n, at)) => {
            let claims = compare(n, &at);
            let _ = write!(
                out,
                "<div data-testid=\"jitter-comparison\" data-n=\"{n}\">"
            );
            for (agrees, title) in [
                (true, "Where this run agrees with the blog"),
                (false, "Where it differs"),
            ] {
                let mut items = claims.iter().filter(|c| c.agrees == agrees).peekable();
                if items.peek().is_some() {
                    let _ = write!(out, "<h4>{title}</h4><ul>");
                    for c in items {
                        let _ = write!(
                            out,
                            "<li data-claim=\"{}\" data-agrees=\"{agrees}\">{}</li>",
                            c.name, c.text
                        );
                    }
                    out.push_str("</ul>");
                }
            }
            out.push_str("</div>");
        }
        None => out.push_str(
            "<p class=\"hint\">The comparison with the blog appears when all five strategies have run at one N.</p>",
        ),
    }
    out
}

/// The heading and what the experiment is, with what to expect before
/// starting it. (A constant, not `format!` of [`DELAY_MS`] and the others:
/// one text is cheaper in the page; a test holds it to them.)
const INTRO: &str = "<h3>The jitter experiment (Brooker, 2015), for real</h3><p class=\"hint\">N clients each write \
    one record once: read its version, CompareAndSet, and on ABORTED back off and retry. Each request waits 20 ms at \
    the server (the blog's network); backoff base 5 ms, cap 2000 ms. Calls are write attempts; time runs until the \
    last write succeeded; each run is checked against the server. Exponential backoff without jitter runs last and \
    takes about 5 s at N = 10, 25 s at 20, over a minute at 50 and 100: that slowness is the result (the default \
    list takes 4 to 5 minutes).</p>";

/// The controls, as markup: the N list and the seed as they last ran, Run
/// and Stop. The one click listener on the whole experiment tells the
/// buttons apart (see [`JitterExperiment`]); the fields are read when Run is
/// pressed. This markup changes only when a run starts or ends, so a button
/// is never replaced under the student's pointer.
fn controls(e: &Experiment) -> String {
    let list = if e.clients.is_empty() {
        "10, 20, 50, 100".to_owned()
    } else {
        let mut list = String::new();
        for n in &e.clients {
            let _ = write!(list, "{}{n}", if list.is_empty() { "" } else { ", " });
        }
        list
    };
    let (running, idle) = if e.busy {
        (" disabled", "")
    } else {
        ("", " disabled")
    };
    format!(
        "{INTRO}<div class=\"scale-run\"><label for=\"jitter-clients\">Clients N</label>\
         <input id=\"jitter-clients\" size=\"16\" value=\"{list}\"{running}>\
         <label for=\"jitter-seed\">Seed</label><input id=\"jitter-seed\" size=\"6\" value=\"{}\"{running}>\
         <button type=\"button\" class=\"primary\" data-testid=\"jitter-run\"{running}>Run</button>\
         <button type=\"button\" class=\"secondary\" data-testid=\"jitter-stop\"{idle}>Stop</button></div>",
        e.seed
    )
}

/// What the student typed in the field `id`.
fn typed(id: &str) -> String {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .map(|e| e.unchecked_into::<HtmlInputElement>().value())
        .unwrap_or_default()
}

/// The experiment: its text, controls, progress, plots, table and comparison.
///
/// Almost all of it is markup written as text ([`controls`], [`results`]):
/// each element built with `html!` compiles to code of its own, and the page
/// every student downloads has a budget. So one listener on the whole block
/// hears the clicks, and the fields are read from the page when Run is
/// pressed.
#[component]
pub fn JitterExperiment(props: &Props) -> Html {
    let state = use_mut_ref(Experiment::default);
    let redraw = use_force_update();
    let abort = use_mut_ref(|| None::<AbortHandle>);
    // Every change goes through here: the experiment's state, then a redraw.
    let update: Rc<dyn Fn(Step)> = {
        let state = state.clone();
        Rc::new(move |step| {
            state.borrow_mut().apply(step);
            redraw.force_update();
        })
    };
    let e = state.borrow();

    let on_click = {
        let bench = Bench {
            base_url: props.base_url.to_string(),
            session: format!("{}-jitter", props.session),
        };
        Callback::from(move |event: MouseEvent| {
            let Some(button) = event.target_dyn_into::<web_sys::Element>() else {
                return;
            };
            match button.get_attribute("data-testid").as_deref() {
                Some("jitter-run") => {
                    let settings = jitter::parse_clients(&typed("jitter-clients"))
                        .and_then(|n| Ok((n, jitter::parse_seed(&typed("jitter-seed"))?)));
                    let (clients, seed) = match settings {
                        Ok(settings) => settings,
                        Err(error) => return update(Step::Fail(Some(error))),
                    };
                    update(Step::Begin(clients.clone(), seed));
                    let task =
                        experiment(bench.clone(), jitter::plan(&clients), seed, update.clone());
                    let (task, handle) = abortable(task);
                    *abort.borrow_mut() = Some(handle);
                    spawn_local(async move {
                        let _ = task.await;
                    });
                }
                Some("jitter-stop") => {
                    // Dropping the task drops the stream, which aborts the
                    // fetch; the server then stops the run.
                    if let Some(handle) = abort.borrow_mut().take() {
                        handle.abort();
                    }
                    update(Step::Fail(None));
                }
                _ => {}
            }
        })
    };

    let progress = match (e.current, e.wall_ms) {
        (Some((s, n, done, ms)), _) => format!(
            "Run {} of {}: {}, N = {n}: {done} of {n} clients done, {}",
            e.points.len() + 1,
            e.runs,
            s.label(),
            format_ms(f64::from(ms))
        ),
        (None, Some(ms)) => format!("{} runs in {}.", e.runs, format_ms(ms)),
        _ => String::new(),
    };
    // The table's columns: the experiment's N list (before one, the default's).
    let table = jitter::table_clients(if e.clients.is_empty() {
        &[50, 100]
    } else {
        &e.clients
    });

    html! {
        <div class="jitter" data-testid="jitter" data-busy={e.busy.to_string()}
             data-done={e.points.len().to_string()} onclick={on_click}>
            { markup::raw(controls(&e)) }
            <p class="hint" data-testid="jitter-progress">{ progress }</p>
            if let Some(error) = &e.error {
                <p class="input-error" role="alert" data-testid="jitter-error">{ error }</p>
            }
            { markup::raw(results(&e, &table)) }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scale::jitter::{BASE_MS, CAP_MS, DELAY_MS};

    /// The text states the settings the runs use.
    #[test]
    fn the_intro_states_the_runs_settings() {
        for said in [
            format!("waits {DELAY_MS} ms"),
            format!("base {BASE_MS} ms"),
            format!("cap {CAP_MS} ms"),
        ] {
            assert!(INTRO.contains(&said), "{said}");
        }
    }
}
