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

use rpc_lab::number_format::shortest;
use rpc_lab::proto::calculator_v1::{AbandonedWork, LoadOperation};
use rpc_lab::resilience::Jitter;

use super::scenario::ScaleForm;
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
    vec![payment_at_scale(), metastable()]
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
        question: "The seeds' numbers: 1000 payments (40 a second for 25 s) to a service that \
                   hangs, each waiting up to 5 s. How long do the clients wait in all, without \
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
                     about the timeout × the arrival rate × the timeout. A shorter timeout cuts \
                     it twice over. The per-call version in the lab above shows the breaker's \
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
            step("3 tries, no backoff", 3, Finish, Jitter::None, false),
            step("+ retry budget", 3, Finish, Jitter::None, true),
            step("+ skip expired work", 3, SkipExpired, Jitter::None, false),
            step("+ full-jitter backoff", 3, Finish, Jitter::Full, false),
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
}

/// A finished run's numbers; `None` until its final message arrived.
pub fn numbers(run: &ScaleRun) -> Option<StepNumbers> {
    let last = run.last.as_ref()?;
    let end = f64::from(run.duration_ms);
    let tail: Vec<_> = run
        .windows
        .iter()
        .filter(|w| w.at_ms > end - 1000.0 && w.at_ms <= end)
        .collect();
    let mean = |v: fn(&super::series::Window) -> f64| {
        tail.iter().map(|w| v(w)).sum::<f64>() / tail.len().max(1) as f64
    };
    Some(StepNumbers {
        calls: last.calls_started,
        succeeded: last.calls_succeeded,
        rejected: last.breaker_rejections,
        goodput_last: mean(|w| w.goodput),
        offered_last: mean(|w| w.offered),
        wasted_s: last.wasted_client_ms / 1000.0,
        executions: run.server.map_or(last.server_executions, |c| c.executions),
        wall_ms: f64::from(last.elapsed_ms),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scale::scenario::scenario;

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
