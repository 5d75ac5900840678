//! The Scale view's lessons: overload stories that need thousands of calls.
//!
//! A lesson in the lab above runs a few dozen calls from the tab; some
//! stories only happen at scale — a thousand payments waiting five seconds
//! each, a server kept overloaded by its own clients' retries after the
//! trouble that started it has gone. These lessons are plain data like the
//! lab's ([`crate::lessons`]): each step is a Scale form and a client policy
//! that differ from the step before in one setting, applied to the controls
//! and run by the load engine one after the other. The check is judged, as
//! in [`crate::check`], by the runs' own numbers ([`StepNumbers`], read from
//! the engine's snapshots), never by a stored answer.
//!
//! The cascade lesson's runs have a second tier ([`Tiers`]): checkouts wait
//! on a payment service that hangs, `Add`s beside them never touch it, and
//! its steps differ in the server's own client of payment.

use rpc_lab::number_format::shortest;
use rpc_lab::proto::calculator_v1::{AbandonedWork, LoadOperation};
use rpc_lab::resilience::Jitter;

use super::scenario::{ScaleForm, Tiers};
use super::series::ScaleRun;
use crate::check::{Check, Verdict};
use crate::policy_form::PolicyForm;

/// One run of a lesson: the Scale form and the client policy it sets.
#[derive(Clone, Debug, PartialEq)]
pub struct ScaleStep {
    pub label: &'static str,
    pub form: ScaleForm,
    pub policy: PolicyForm,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ScaleLesson {
    /// Stable, for `data-scale-lesson`.
    pub id: &'static str,
    pub title: &'static str,
    pub question: &'static str,
    pub check: Check,
    pub conclusion: &'static str,
    pub steps: Vec<ScaleStep>,
}

pub fn all() -> Vec<ScaleLesson> {
    vec![payment_at_scale(), metastable(), cascade()]
}

/// The seeds' outage: 1000 payments, a service that hangs, a 5 s timeout.
///
/// The hang is honest capacity, not a sleep: the payment service's workers
/// are all gone for the whole run (a brownout to 0 workers), so a request
/// waits in its queue until its client gives up, and the server then drops
/// it (CANCEL_ON_HANGUP): nothing is charged. Calls arrive evenly, 40 a
/// second for 25 s: a breaker learns only when calls end, 5 s after they
/// start, so arrivals must go on well past the timeout for most of them to
/// meet an open breaker.
fn payment_at_scale() -> ScaleLesson {
    let step = |label, breaker| ScaleStep {
        label,
        form: ScaleForm {
            rate: 40.0,
            poisson: false,
            duration_ms: 25_000,
            operation: LoadOperation::Deposit,
            queue: 2_000,
            abandoned: AbandonedWork::CancelOnHangup,
            brownout_start_ms: 0,
            brownout_end_ms: 300_000,
            brownout_factor: 1.0,
            brownout_workers: 0,
            seed: Some(1),
            ..ScaleForm::default()
        },
        policy: PolicyForm {
            retries: false,
            attempt_timeout_ms: 5_000,
            deadline_ms: 5_000,
            breaker,
            ..PolicyForm::default()
        },
    };
    ScaleLesson {
        id: "payment-at-scale",
        title: "Payment service down: 1000 calls × 5 s",
        question: "The seeds' numbers: 1000 payments (Deposits, 40 a second for 25 s) to a \
                   service that hangs, each waiting up to 5 s. How long do the clients wait in all, without \
                   a breaker and with one breaker shared by every client?",
        check: Check {
            prompt: "With the shared breaker, how much client time is wasted?",
            choices: &[
                "about as much: every call still waits for its timeout",
                "a fraction: what the breaker needed to learn, then calls fail fast",
                "none: the breaker knows at once",
            ],
        },
        conclusion: "Without a breaker all 1000 calls waited their 5 s: about 5000 client-seconds \
                     in a run of 30 s. A breaker learns only when calls end, so every call \
                     started in the first 5 s (and a little more, until 10 failures were in its \
                     window) still waited its timeout; then it opened and refused the rest at \
                     once, sending nothing. Its probes (3, after 5 s open) hung too and reopened \
                     it for twice as long. The waste left is what the breaker needed to learn: \
                     about the calls of one timeout (arrival rate × timeout: 40/s × 5 s = 200), \
                     each waiting the whole timeout — 200 × 5 s = 1000 client-seconds. The \
                     timeout counts twice, so a shorter one cuts the waste twice over. The per-call version in the lab above shows the breaker's \
                     states call by call, and its cost when the service comes back.",
        steps: vec![step("no breaker", false), step("shared breaker", true)],
    }
}

/// Brooker's metastable failure, for real: 8 workers of 20 ms (400/s)
/// under 260 calls/s of Poisson arrivals, attempts of 200 ms, and one
/// second of service 3× slower. Measured: no retries recovers within about
/// a second of the trigger's end; three tries without backoff under FINISH
/// stays at goodput 0 to the end of the run.
fn metastable() -> ScaleLesson {
    let step = |label, attempts, abandoned, jitter: Jitter, budget| ScaleStep {
        label,
        form: ScaleForm {
            rate: 260.0,
            duration_ms: 7_000,
            queue: 400,
            abandoned,
            brownout_start_ms: 2_000,
            brownout_end_ms: 3_000,
            brownout_factor: 3.0,
            seed: Some(1),
            ..ScaleForm::default()
        },
        policy: PolicyForm {
            retries: attempts > 1,
            max_attempts: attempts,
            // "No backoff": the core's least, 1 ms.
            initial_backoff_ms: if jitter == Jitter::None { 1 } else { 50 },
            max_backoff_ms: if jitter == Jitter::None { 1 } else { 400 },
            jitter,
            attempt_timeout_ms: 200,
            deadline_ms: 0,
            // Keys would turn a retry of a queued call into a wait for it.
            idempotency_keys: false,
            budget,
            ..PolicyForm::default()
        },
    };
    use AbandonedWork::{Finish, SkipExpired};
    ScaleLesson {
        id: "metastable",
        title: "A metastable retry storm",
        question: "A server that can finish 400 calls a second gets 260: two thirds busy. For \
                   one second (2 s to 3 s) its service is 3× slower. The queue grows, attempts \
                   time out after 200 ms. What happens after the second of trouble is over — \
                   without retries, and with three tries each?",
        check: Check {
            prompt: "With three tries and no backoff, what is goodput in the last second of \
                     the run, 4 s after the trouble ended?",
            choices: &[
                "back to normal, as without retries",
                "recovering, but below normal",
                "still collapsed: the retries keep the server overloaded",
            ],
        },
        conclusion: "Without retries goodput drops to nothing while the queue is long (every \
                     call in it waits past its 200 ms) and comes back about a second after the \
                     trigger: the backlog drains at 400 − 260 a second. With three tries the \
                     same second tips the server into a state it cannot leave: each timed-out \
                     attempt is sent again, offered load climbs to about twice capacity, the \
                     queue stays full, and the server — finishing work whose client has gone — \
                     spends every worker on replies nobody reads. Goodput stays near 0 long \
                     after the trigger: a metastable failure, sustained by the retries alone. \
                     A retry budget (10 tokens, 0.1 per success) stops retrying once most \
                     attempts fail, and the run recovers as without retries. Skipping expired \
                     work is not enough on its own here: under overload a first-come queue \
                     always serves the oldest request not yet expired, which then expires \
                     while it runs — the server's work is wasted, only faster. Full-jitter \
                     backoff barely changes anything: the clients are many and independent \
                     (an open system), so a client's wait does not slow the arrival of new \
                     calls, and every retry still comes (Brooker, 'What is Backoff For?', \
                     2022). Backoff helps a few clients that share a fate; an open system \
                     needs a limit on retries (a budget) or shed load.",
        steps: vec![
            step("no retries", 1, Finish, Jitter::None, false),
            step("3 tries, no backoff (1 ms)", 3, Finish, Jitter::None, false),
            // Each of these is step 2 with one change, not the one before.
            step("3 tries + a retry budget", 3, Finish, Jitter::None, true),
            step(
                "3 tries + skip expired work",
                3,
                SkipExpired,
                Jitter::None,
                false,
            ),
            step(
                "3 tries + full-jitter backoff",
                3,
                Finish,
                Jitter::Full,
                false,
            ),
        ],
    }
}

/// A cascading failure, stopped by a breaker (issue 14 §3; the settings
/// measured in `server/tests/cascade.rs`, with the service time raised from
/// 2 to 10 ms so the capacity line sits nearer the lines it is drawn with).
///
/// Four front workers serve both checkouts (20/s) and `Add`s (50/s). Each
/// checkout holds its worker while the front tier's client waits on
/// payment, which hangs, for up to 500 ms: four workers can finish about 8
/// such checkouts a second, so without a breaker every worker is soon
/// waiting on payment and an `Add` queues behind the checkouts until its
/// 300 ms are gone. With a breaker in that client, checkouts fail fast once
/// it has seen four time out, and the workers come free.
///
/// The third step adds a bulkhead to the breaker rather than replacing it:
/// each step then differs from the one before in one setting, and what the
/// bulkhead adds is visible on its own — a breaker learns only from calls
/// that have already held workers for their whole timeout, so in step 2 the
/// `Add`s still starve for about the first second; with at most two
/// checkouts waiting on payment, two workers are left to them from the
/// start. (A bulkhead alone keeps `Add` up too, but its two workers wait on
/// a dead payment service for the whole run; `server/tests/cascade.rs`
/// measures it.)
fn cascade() -> ScaleLesson {
    let step = |label, breaker, bulkhead| ScaleStep {
        label,
        form: ScaleForm {
            rate: 20.0,
            poisson: false,
            duration_ms: 4_000,
            operation: LoadOperation::Checkout,
            workers: 4,
            queue: 1_000,
            service_ms: 10,
            abandoned: AbandonedWork::CancelOnHangup,
            brownout: false,
            shared_client: false,
            seed: Some(1),
            tiers: Some(Tiers {
                payment_workers: 4,
                client: PolicyForm {
                    retries: false,
                    attempt_timeout_ms: 500,
                    deadline_ms: 0,
                    idempotency_keys: false,
                    breaker,
                    breaker_window_calls: 10,
                    breaker_minimum_calls: 4,
                    breaker_threshold_pct: 50.0,
                    // Open for the whole run: no probes to tell apart.
                    breaker_open_ms: 30_000,
                    ..PolicyForm::default()
                },
                bulkhead,
                background_rate: 50.0,
                background_timeout_ms: 300,
            }),
            ..ScaleForm::default()
        },
        // The shoppers' own client: one attempt, 2 s. No breaker here: the
        // lesson's breaker is the server's.
        policy: PolicyForm {
            retries: false,
            attempt_timeout_ms: 2_000,
            deadline_ms: 0,
            idempotency_keys: false,
            ..PolicyForm::default()
        },
    };
    ScaleLesson {
        id: "cascade",
        title: "A cascading failure, stopped by a breaker",
        question: "Two tiers in the server: Checkout calls a payment service, which hangs. Add \
                   never calls payment, but it shares the front tier's 4 workers with Checkout. \
                   20 checkouts and 50 Adds a second for 4 s; the front tier waits up to 500 ms \
                   for payment; a shopper gives a checkout 2 s, an Add's caller gives it 300 ms \
                   (one attempt each). The breaker of steps 2 and 3 sits in the server: in its \
                   front tier's client of payment, which Checkout's handler calls through — not \
                   in your browser, and not in the load engine's virtual clients. Step 3 adds a \
                   bulkhead: at most 2 checkouts may wait on payment.",
        check: Check {
            prompt: "Without a breaker, what happens to the Adds?",
            choices: &[
                "nothing: Add never touches payment",
                "they slow down, but most succeed",
                "they fail too: every worker is waiting on payment",
            ],
        },
        conclusion: "Without a breaker each checkout holds a front worker while it waits on \
                     payment, up to its 500 ms timeout; four workers get through at most 8 of the \
                     20 a second, so all four are soon waiting on payment and every Add waits \
                     behind the queued checkouts until its 300 ms are gone. Soon a checkout has \
                     queued so long that its shopper's 2 s run out while it waits on payment: the \
                     server stops it, its worker held for nobody. Add needed nothing from payment: \
                     the failure cascaded through the workers the two share, with the capacity line \
                     far above the load — the workers are waiting, not working. The breaker in the \
                     server's client of payment opens after four timeouts, then refuses checkouts \
                     at once: they fail fast, the workers come free, Add is served (the band over \
                     the retries plot is that breaker: closed while it learns, then open). But it \
                     learns only from checkouts that already waited out their timeout, so Add \
                     starves for a good part of the first second. A bulkhead does not wait to \
                     learn: at most two checkouts wait on payment, so two workers are always left \
                     for Add. The breaker protects the server's own workers, so it sits in the \
                     server, in its client of the dependency — not in the browser (the seeds' \
                     'circuit breaker pattern to prevent cascading failures').",
        steps: vec![
            step("no breaker", false, None),
            step("breaker", true, None),
            step("+ bulkhead of 2", true, Some(2)),
        ],
    }
}

/// Every time in a step × `f`, every rate ÷ `f`: the same calls in `f` of
/// the time. Only the browser test uses it (`?scale_time=`), to keep its
/// wall time short; the page says when it is on, and the numbers are the
/// scaled run's own. Service times are not scaled, so a step whose story
/// depends on them (the metastable one) is tested at full length.
pub fn time_scaled(step: &ScaleStep, f: f64) -> ScaleStep {
    let t = |ms: u32| (f64::from(ms) * f).round() as u32;
    let mut s = step.clone();
    s.form.rate /= f;
    s.form.duration_ms = t(s.form.duration_ms);
    s.form.brownout_start_ms = t(s.form.brownout_start_ms);
    s.form.brownout_end_ms = t(s.form.brownout_end_ms);
    s.policy.attempt_timeout_ms = t(s.policy.attempt_timeout_ms);
    s.policy.deadline_ms = t(s.policy.deadline_ms);
    s.policy.breaker_open_ms = t(s.policy.breaker_open_ms);
    if let Some(tiers) = &mut s.form.tiers {
        tiers.background_rate /= f;
        tiers.background_timeout_ms = t(tiers.background_timeout_ms);
        tiers.client.attempt_timeout_ms = t(tiers.client.attempt_timeout_ms);
        tiers.client.breaker_open_ms = t(tiers.client.breaker_open_ms);
    }
    s
}

/// What the step table shows and the judge reads of one finished run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepNumbers {
    pub calls: u64,
    pub succeeded: u64,
    pub rejected: u64,
    /// Mean goodput and offered attempts per second over the last second of
    /// arrivals (the windows ending in the run's last 1000 ms of duration).
    pub goodput_last: f64,
    pub offered_last: f64,
    pub wasted_s: f64,
    /// The server's count once drained if known, else during the run.
    pub executions: u64,
    pub wall_ms: f64,
    /// The background calls (`Add`s beside the checkouts): started and
    /// succeeded in the run, their p99 (ms, failed ones included), their
    /// rate asked for, and their mean goodput in the run's first second and
    /// in the second half of its duration.
    pub bg_calls: u64,
    pub bg_ok: u64,
    pub bg_p99: f64,
    pub bg_rate: f64,
    pub bg_first: f64,
    pub bg_late: f64,
    /// The highest p99 of a window in the second half (ms; 0: none ended).
    pub bg_p99_late: f64,
    /// Checkouts that failed fast (refused at the front tier's breaker or
    /// bulkhead), that waited out payment's timeout, and that were still
    /// waiting on payment when their shopper left; `None`: the server's
    /// counters were not read.
    pub failed_fast: Option<u64>,
    pub payment_failed: Option<u64>,
    pub abandoned: Option<u64>,
}

/// A finished run's numbers; `None` until its final message arrived.
pub fn numbers(run: &ScaleRun) -> Option<StepNumbers> {
    let last = run.last.as_ref()?;
    let end = f64::from(run.duration_ms);
    // The mean of `v` over the windows that ended after `from`, up to `to`.
    let mean = |from: f64, to: f64, v: fn(&super::series::Window) -> Option<f64>| {
        let values: Vec<_> = run
            .windows
            .iter()
            .filter(|w| w.at_ms > from && w.at_ms <= to)
            .filter_map(v)
            .collect();
        values.iter().sum::<f64>() / values.len().max(1) as f64
    };
    let late = end / 2.0;
    let bg_p99_late = run
        .windows
        .iter()
        .filter(|w| w.at_ms > late && w.at_ms <= end)
        .filter_map(|w| w.bg_p99)
        .fold(0.0, f64::max);
    let bg = last.background.unwrap_or_default();
    let server = run.server;
    Some(StepNumbers {
        calls: last.calls_started,
        succeeded: last.calls_succeeded,
        rejected: last.breaker_rejections,
        goodput_last: mean(end - 1000.0, end, |w| Some(w.goodput)),
        offered_last: mean(end - 1000.0, end, |w| Some(w.offered)),
        wasted_s: last.wasted_client_ms / 1000.0,
        executions: server.map_or(last.server_executions, |c| c.executions),
        wall_ms: f64::from(last.elapsed_ms),
        bg_calls: bg.calls_started,
        bg_ok: bg.calls_succeeded,
        bg_p99: bg.latency_p99_ms,
        bg_rate: bg.calls_started as f64 * 1000.0 / end.max(1.0),
        bg_first: mean(0.0, end.min(1000.0), |w| w.bg_goodput),
        bg_late: mean(late, end, |w| w.bg_goodput),
        bg_p99_late,
        failed_fast: server.map(|c| c.breaker_refused + c.bulkhead_full),
        payment_failed: server.map(|c| c.payment_failed),
        abandoned: server.map(|c| c.checkouts_abandoned),
    })
}

fn one(right: usize, because: String) -> Option<Verdict> {
    Some(Verdict {
        right: vec![right],
        because,
    })
}

/// Judges lesson `id` on its steps' numbers (`None`: a step it reads has
/// not finished).
pub fn judge(id: &str, steps: &[Option<StepNumbers>]) -> Option<Verdict> {
    let step = |i: usize| steps.get(i).cloned().flatten();
    let (a, b) = (step(0)?, step(1)?);
    let n = |v: f64| shortest(v.round());
    if id == "payment-at-scale" {
        let share = b.wasted_s / a.wasted_s.max(1e-9);
        let right = if b.wasted_s == 0.0 {
            2
        } else if share > 0.8 {
            0
        } else {
            1
        };
        return one(
            right,
            format!(
                "Without a breaker the clients waited {} s in all ({} calls, a run of {} s); \
                 with it {} s ({} %): {} calls were refused at once.",
                n(a.wasted_s),
                a.calls,
                n(a.wall_ms / 1000.0),
                n(b.wasted_s),
                n(share * 100.0),
                b.rejected
            ),
        );
    }
    if id == "cascade" {
        return judge_cascade(&a, &b, step(2).as_ref());
    }
    let share = b.goodput_last / a.goodput_last.max(1e-9);
    let right = if share >= 0.8 {
        0
    } else if share >= 0.25 {
        1
    } else {
        2
    };
    let mut because = format!(
        "Goodput in the last second: {}/s without retries, {}/s with three tries, whose \
         offered load was {} attempts/s against a capacity of 400.",
        n(a.goodput_last),
        n(b.goodput_last),
        n(b.offered_last)
    );
    // The contrast means something only if the run without retries
    // recovered: a server that could not keep up with 260 calls/s even then
    // (a debug build, a busy machine) shows no difference retries made.
    if a.goodput_last < 0.5 * a.offered_last {
        because.push_str(&format!(
            " But without retries this run did not recover either ({} of {} calls/s \
             succeeded): the server did not reach its nominal capacity on this machine, so \
             this run cannot show what the retries did. Run it again with ./lab run (an \
             optimised server) on a quieter machine.",
            n(a.goodput_last),
            n(a.offered_last)
        ));
    }
    one(right, because)
}

/// The cascade's check ("without a breaker, what happens to the Adds?"),
/// judged on the Adds' goodput in the second half of step 1 against step
/// 2's; the text gives every step's own numbers.
fn judge_cascade(a: &StepNumbers, b: &StepNumbers, c: Option<&StepNumbers>) -> Option<Verdict> {
    let n = |v: f64| shortest(v.round());
    let share = a.bg_late / b.bg_late.max(1e-9);
    let right = if share >= 0.8 {
        0
    } else if share >= 0.25 {
        1
    } else {
        2
    };
    let adds = |s: &StepNumbers| {
        format!(
            "{} of {} Adds succeeded (p99 {} ms; in the second half {}/s, p99 at most {} ms)",
            s.bg_ok,
            s.bg_calls,
            n(s.bg_p99),
            n(s.bg_late),
            n(s.bg_p99_late)
        )
    };
    let count = |v: Option<u64>| v.map_or("–".into(), |v| v.to_string());
    // A checkout that got a worker late, with less than payment's 500 ms
    // left of its shopper's 2 s, was still waiting on payment when the
    // shopper hung up: the server stopped it there (CANCEL_ON_HANGUP). The
    // rest gave up still queued for a worker, and never reached the handler.
    let gone = match (a.payment_failed, a.abandoned, a.failed_fast) {
        (Some(waited), Some(left), Some(fast)) => {
            let queued = a.calls.saturating_sub(waited + left + fast);
            format!(
                ", {left} were still waiting on it when their shopper's 2 s ran out{}",
                if queued > 0 {
                    format!(", {queued} gave up queued for a front worker")
                } else {
                    String::new()
                }
            )
        }
        _ => String::new(),
    };
    let mut because = format!(
        "No breaker: {}; {} checkouts waited out payment's timeout{gone}. Breaker: {}; {} \
         checkouts failed fast.",
        adds(a),
        count(a.payment_failed),
        adds(b),
        count(b.failed_fast)
    );
    if let Some(c) = c {
        because.push_str(&format!(
            " Breaker and bulkhead: {}; {} failed fast. Add goodput in the first second: {}/s, \
             {}/s, {}/s.",
            adds(c),
            count(c.failed_fast),
            n(a.bg_first),
            n(b.bg_first),
            n(c.bg_first)
        ));
    }
    // The contrast means something only if the Adds were healthy once the
    // breaker had opened: if not, the machine (a debug server, other work)
    // could not serve them either, and the breaker's effect is not shown.
    if b.bg_late < 0.8 * b.bg_rate {
        because.push_str(&format!(
            " But with the breaker this run's Adds were not healthy either ({} of {}/s): the \
             server did not keep up on this machine, so this run cannot show what the breaker \
             changed. Run it again with ./lab run (an optimised server) on a quieter machine.",
            n(b.bg_late),
            n(b.bg_rate)
        ));
    }
    one(right, because)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scale::scenario::{ScaleForm, scenario};

    #[test]
    fn every_step_is_a_scenario_the_core_accepts() {
        for lesson in all() {
            assert_eq!(lesson.check.choices.len(), 3, "{}", lesson.id);
            for step in &lesson.steps {
                assert!(scenario(&step.form, &step.policy).is_ok(), "{}", step.label);
            }
        }
    }

    #[test]
    fn the_payment_run_is_the_seeds_thousand_calls_of_five_seconds() {
        let lesson = &all()[0];
        for step in &lesson.steps {
            let f = &step.form;
            assert_eq!(f.rate * f64::from(f.duration_ms) / 1000.0, 1000.0);
            assert_eq!(step.policy.attempt_timeout_ms, 5000);
            assert_eq!(f.brownout_workers, 0);
            assert!(f.brownout_end_ms > f.duration_ms + 5000);
        }
        assert_eq!(
            (
                lesson.steps[0].policy.breaker,
                lesson.steps[1].policy.breaker
            ),
            (false, true)
        );
        assert!(lesson.steps[1].form.shared_client);
    }

    #[test]
    fn each_metastable_step_differs_from_the_storm_in_one_setting() {
        let steps = &all()[1].steps;
        let storm = &steps[1];
        assert!(storm.form.rate * 1.5 <= 8.0 * 1000.0 / 20.0 + 1.0);
        assert_eq!(steps[0].policy.max_attempts, 1);
        assert!(steps[2].policy.budget && !storm.policy.budget);
        assert_eq!(steps[3].form.abandoned, AbandonedWork::SkipExpired);
        assert_eq!(steps[4].policy.jitter, Jitter::Full);
        for s in &steps[2..] {
            assert_eq!(s.form.duration_ms, storm.form.duration_ms);
            assert_eq!(s.policy.max_attempts, 3);
        }
    }

    #[test]
    fn time_scaling_keeps_the_calls_and_shortens_the_run() {
        let step = &all()[0].steps[1];
        let quick = time_scaled(step, 0.2);
        assert_eq!(quick.form.duration_ms, 5000);
        assert_eq!(quick.form.rate, 200.0);
        assert_eq!(quick.policy.attempt_timeout_ms, 1000);
        assert_eq!(quick.policy.breaker_open_ms, 1000);
    }

    #[test]
    fn each_cascade_step_differs_from_the_one_before_in_one_setting() {
        let lesson = all().into_iter().find(|l| l.id == "cascade").unwrap();
        let tiers = |i: usize| lesson.steps[i].form.tiers.clone().unwrap();
        // Step 2 is step 1 with the breaker on; step 3 is step 2 with a bulkhead.
        let mut with_breaker = tiers(0);
        with_breaker.client.breaker = true;
        assert_eq!(with_breaker, tiers(1));
        let mut with_bulkhead = tiers(1);
        with_bulkhead.bulkhead = Some(2);
        assert_eq!(with_bulkhead, tiers(2));
        assert_eq!(tiers(0).bulkhead, None);
        for step in &lesson.steps {
            let first = &lesson.steps[0];
            assert_eq!(
                step.policy, first.policy,
                "the shoppers' client never changes"
            );
            assert!(
                !step.policy.breaker,
                "the breaker is the server's, not the engine's"
            );
            assert_eq!(
                ScaleForm {
                    tiers: None,
                    ..step.form.clone()
                },
                ScaleForm {
                    tiers: None,
                    ..first.form.clone()
                }
            );
            // The scenario sends it: a payment tier that hangs, Adds beside.
            let s = scenario(&step.form, &step.policy).unwrap();
            assert_eq!(s.operation(), LoadOperation::Checkout);
            let tier = s.payment_tier.unwrap();
            let brownout = tier.capacity.unwrap().brownout.unwrap();
            assert_eq!((brownout.start_ms, brownout.workers), (0, Some(0)));
            assert!(brownout.end_ms > step.form.duration_ms + 2_000);
            let client = tier.client.unwrap();
            assert_eq!(
                (client.max_attempts, client.attempt_timeout_ms),
                (1, Some(500))
            );
            let tiers_of_step = step.form.tiers.as_ref().unwrap();
            assert_eq!(client.breaker.is_some(), tiers_of_step.client.breaker);
            let background = s.background.unwrap();
            assert_eq!(background.operation(), LoadOperation::Add);
            assert_eq!(background.rate_per_second, 50.0);
            assert_eq!(background.policy.unwrap().attempt_timeout_ms, Some(300));
        }
    }

    #[test]
    fn time_scaling_scales_the_tiers_too() {
        let lesson = all().into_iter().find(|l| l.id == "cascade").unwrap();
        let quick = time_scaled(&lesson.steps[1], 0.5);
        let t = quick.form.tiers.unwrap();
        assert_eq!((t.background_rate, t.background_timeout_ms), (100.0, 150));
        assert_eq!(
            (t.client.attempt_timeout_ms, t.client.breaker_open_ms),
            (250, 15_000)
        );
    }

    fn cascade_step(bg_late: f64, failed_fast: Option<u64>) -> Option<StepNumbers> {
        Some(StepNumbers {
            bg_calls: 200,
            bg_ok: (bg_late * 2.0) as u64,
            bg_late,
            bg_rate: 50.0,
            failed_fast,
            payment_failed: Some(30),
            abandoned: Some(40),
            ..StepNumbers::default()
        })
    }

    #[test]
    fn the_cascade_is_judged_on_the_adds_goodput_with_and_without_the_breaker() {
        let judged = |naive: f64, breaker: f64| {
            judge(
                "cascade",
                &[
                    cascade_step(naive, Some(0)),
                    cascade_step(breaker, Some(70)),
                    None,
                ],
            )
            .unwrap()
        };
        assert_eq!(judged(0.0, 50.0).right, vec![2]);
        assert_eq!(judged(25.0, 50.0).right, vec![1]);
        assert_eq!(judged(49.0, 50.0).right, vec![0]);
        let v = judged(0.0, 50.0);
        assert!(
            v.because.contains("0 of 200 Adds succeeded"),
            "{}",
            v.because
        );
        assert!(
            v.because.contains("70 checkouts failed fast"),
            "{}",
            v.because
        );
        // Step 1: 80 checkouts, 30 waited out payment, 40 were left waiting
        // on it by their shopper, 0 failed fast: the other 10 gave up in
        // the front queue, and the text says so.
        let mut naive = cascade_step(0.0, Some(0)).unwrap();
        naive.calls = 80;
        let told = |naive: &StepNumbers| {
            judge(
                "cascade",
                &[Some(naive.clone()), cascade_step(50.0, Some(70)), None],
            )
            .unwrap()
            .because
        };
        assert!(
            told(&naive).contains(
                "30 checkouts waited out payment's timeout, 40 were still waiting on it when \
                 their shopper's 2 s ran out, 10 gave up queued for a front worker."
            ),
            "{}",
            told(&naive)
        );
        // None left in the queue: nothing said about it.
        naive.calls = 70;
        assert!(
            told(&naive).contains("2 s ran out. Breaker:"),
            "{}",
            told(&naive)
        );
        assert!(
            !v.because.contains("first second"),
            "no step 3 yet: {}",
            v.because
        );
        assert!(!v.because.contains("not healthy"), "{}", v.because);
        // A run whose Adds starved even behind an open breaker shows nothing.
        let busy = judged(0.0, 20.0);
        assert!(
            busy.because.contains("not healthy either"),
            "{}",
            busy.because
        );
        // All three: the first second of each, and counts not read say so.
        let all3 = judge(
            "cascade",
            &[
                cascade_step(0.0, None),
                cascade_step(50.0, Some(70)),
                cascade_step(50.0, None),
            ],
        )
        .unwrap();
        assert!(all3.because.contains("first second"), "{}", all3.because);
        assert!(all3.because.contains("– failed fast"), "{}", all3.because);
        assert!(judge("cascade", &[cascade_step(0.0, None), None, None]).is_none());
    }

    fn numbers(goodput_last: f64, wasted_s: f64) -> Option<StepNumbers> {
        Some(StepNumbers {
            goodput_last,
            wasted_s,
            calls: 1000,
            ..StepNumbers::default()
        })
    }

    #[test]
    fn the_judges_read_the_runs_numbers() {
        let payment = |b| judge("payment-at-scale", &[numbers(0.0, 5000.0), numbers(0.0, b)]);
        assert_eq!(payment(1060.0).unwrap().right, vec![1]);
        assert_eq!(payment(4900.0).unwrap().right, vec![0]);
        assert_eq!(payment(0.0).unwrap().right, vec![2]);
        let storm = |g| judge("metastable", &[numbers(250.0, 0.0), numbers(g, 0.0)]);
        assert_eq!(storm(0.0).unwrap().right, vec![2]);
        assert_eq!(storm(120.0).unwrap().right, vec![1]);
        assert_eq!(storm(240.0).unwrap().right, vec![0]);
        assert!(judge("metastable", &[numbers(250.0, 0.0), None]).is_none());
    }

    #[test]
    fn a_storm_judged_on_a_baseline_that_never_recovered_says_so() {
        let step = |goodput_last, offered_last| {
            Some(StepNumbers {
                goodput_last,
                offered_last,
                ..StepNumbers::default()
            })
        };
        let slow = judge("metastable", &[step(20.0, 260.0), step(0.0, 600.0)]).unwrap();
        assert!(
            slow.because.contains("did not recover either"),
            "{}",
            slow.because
        );
        let fine = judge("metastable", &[step(255.0, 260.0), step(0.0, 600.0)]).unwrap();
        assert!(
            !fine.because.contains("did not recover"),
            "{}",
            fine.because
        );
    }
}
