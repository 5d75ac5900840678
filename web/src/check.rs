//! "Check your understanding": one question per lesson, answered before the
//! run and judged after it by the run's own numbers.
//!
//! A student who commits to an answer first ("Alice ends with exactly $50")
//! learns more from being wrong than one who only reads the conclusion. The
//! judge never holds a hard-coded answer: it reads the step results the page
//! shows (the summary's tallies, the server's truth) and says which choice
//! this run bears out, with the numbers that say so. A run that happens to
//! turn out differently (another seed, a busy machine) is judged as it ran.

use rpc_lab::number_format::{fixed, shortest};

use crate::operations::cents_to_dollars;
use crate::run_log::Tally;
use crate::truth::Truth;

/// The question, as plain data in the lesson.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    pub prompt: &'static str,
    pub choices: &'static [&'static str],
}

/// What the judge reads of one step: the page's own tally of the calls and,
/// when the server could be asked, its truth about them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepResult {
    pub tally: Tally,
    pub truth: Option<Truth>,
}

/// Which choices the run bears out, and why, with its numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// Usually one; every choice the numbers fit.
    pub right: Vec<usize>,
    pub because: String,
}

/// Judges lesson `lesson_id`'s check on its steps' results. `None` when the
/// results are missing what the judge reads (the run was stopped or failed).
pub fn judge(lesson_id: &str, steps: &[StepResult]) -> Option<Verdict> {
    match lesson_id {
        "withdraw" => withdraw(steps),
        "set-vs-increment" => set_versus_increment(steps),
        "delivery" => delivery(steps),
        "service-down" => breaker_after_recovery(steps),
        "timeouts" => timeouts(steps),
        "retry-storm" => retry_storm(steps),
        "one-slow-call" => one_slow_call(steps),
        _ => None,
    }
}

fn truth(steps: &[StepResult], step: usize) -> Option<&Truth> {
    steps.get(step)?.truth.as_ref()
}

fn one(right: usize, because: String) -> Option<Verdict> {
    Some(Verdict {
        right: vec![right],
        because,
    })
}

/// "With keys off, how much does Alice have at the end?"
fn withdraw(steps: &[StepResult]) -> Option<Verdict> {
    let keys_off = truth(steps, 0)?;
    let effect = keys_off.effect.as_ref()?;
    let (actual, intended) = (effect.actual.round(), effect.intended.round());
    let right = if actual == intended {
        0
    } else if actual < intended {
        1
    } else {
        2
    };
    one(
        right,
        format!(
            "With keys off the server ran Withdraw {} times for {} withdrawals: Alice has {}.",
            keys_off.executed,
            keys_off.intended,
            cents_to_dollars(actual as i64)
        ),
    )
}

/// "Which counter ends at 10?"
fn set_versus_increment(steps: &[StepResult]) -> Option<Verdict> {
    let increment = truth(steps, 0)?.effect.as_ref()?;
    let set = truth(steps, 1)?.effect.as_ref()?;
    let at_goal = |effect: &crate::truth::Effect| effect.actual == effect.intended;
    let right = match (at_goal(increment), at_goal(set)) {
        (true, true) => 0,
        (true, false) => 1,
        (false, true) => 2,
        (false, false) => 3,
    };
    one(
        right,
        format!(
            "The increment counter ended at {}, the set counter at {}.",
            shortest(increment.actual),
            shortest(set.actual)
        ),
    )
}

/// "Which way leaves Alice's balance exactly where she meant it to be?"
fn delivery(steps: &[StepResult]) -> Option<Verdict> {
    let mut right = Vec::new();
    let mut parts = Vec::new();
    for (index, name) in ["never retrying", "without keys", "with keys"]
        .into_iter()
        .enumerate()
    {
        let effect = truth(steps, index)?.effect.as_ref()?;
        let off_by = effect.off_by().round() as i64;
        if off_by == 0 {
            right.push(index);
        }
        parts.push(format!("{name} {}", signed_dollars(off_by)));
    }
    Some(Verdict {
        right,
        because: format!(
            "The server's balance against the one Alice intended: {}.",
            parts.join(", ")
        ),
    })
}

/// A difference of money with its sign always written: "+$5.00", "−$5.00".
fn signed_dollars(cents: i64) -> String {
    if cents > 0 {
        format!("+{}", cents_to_dollars(cents))
    } else {
        cents_to_dollars(cents)
    }
}

/// Calls at the start of the last service-down step during which the
/// service is down (its `healthy_after`).
pub const BRIEF_OUTAGE_CALLS: u32 = 4;

/// "The service is down for the first four calls only. How many of the calls
/// after them does the breaker refuse?"
fn breaker_after_recovery(steps: &[StepResult]) -> Option<Verdict> {
    let brief = &steps.get(2)?.tally;
    let after = brief.calls.saturating_sub(BRIEF_OUTAGE_CALLS as usize);
    if after == 0 {
        return None;
    }
    let right = if brief.rejected == 0 {
        0
    } else if brief.rejected >= after {
        2
    } else {
        1
    };
    one(
        right,
        format!(
            "The breaker refused {} of the {after} calls after the outage, though the service \
             was back: {} of the step's calls succeeded.",
            brief.rejected, brief.ok
        ),
    )
}

/// "At 100 ms, did the server run the calls the client gave up on?"
fn timeouts(steps: &[StepResult]) -> Option<Verdict> {
    let short = truth(steps, 0)?;
    let gave_up = short.seen.timeouts;
    if gave_up == 0 {
        return Some(Verdict {
            right: Vec::new(),
            because: "No call timed out in this run, so there was nothing to find out.".into(),
        });
    }
    let (_, ran_anyway) = short.unseen_split();
    let right = if ran_anyway == 0 {
        0
    } else if ran_anyway >= gave_up {
        2
    } else {
        1
    };
    one(
        right,
        format!(
            "{gave_up} calls timed out at the client; the server ran {ran_anyway} of them \
             anyway (it executed Add {} times, and {} answers reached the client).",
            short.executed, short.seen.answered
        ),
    )
}

/// "Which sends the fewest attempts to the server?"
fn retry_storm(steps: &[StepResult]) -> Option<Verdict> {
    let tallies: Vec<&Tally> = (0..3)
        .map(|step| steps.get(step).map(|s| &s.tally))
        .collect::<Option<_>>()?;
    let fewest = tallies.iter().map(|t| t.attempts).min()?;
    // The saving has a price, said beside it: calls the budget let fail.
    Some(Verdict {
        right: (0..3)
            .filter(|&step| tallies[step].attempts == fewest)
            .collect(),
        because: format!(
            "Attempts sent: {} without jitter, {} with full jitter, {} with jitter and a budget; \
             calls that succeeded: {}, {} and {} of {}.",
            tallies[0].attempts,
            tallies[1].attempts,
            tallies[2].attempts,
            tallies[0].ok,
            tallies[1].ok,
            tallies[2].ok,
            tallies[2].calls
        ),
    })
}

/// "With a 300 ms timeout per attempt, how long does the slowest call take?"
fn one_slow_call(steps: &[StepResult]) -> Option<Verdict> {
    let (without, with) = (&steps.first()?.tally, &steps.get(1)?.tally);
    let slowest = with.slowest_ms;
    let right = if slowest >= 1_500.0 {
        0
    } else if slowest >= 250.0 {
        1
    } else {
        2
    };
    one(
        right,
        format!(
            "The slowest call took {} ms without a timeout and {} ms with one.",
            fixed(without.slowest_ms, 0),
            fixed(slowest, 0)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::LabOperation;
    use crate::truth::{Effect, Seen, ServerCounters};

    fn truth_of(executed: u64, intended: u32, effect: Option<(f64, f64)>) -> Truth {
        Truth {
            label: "step".into(),
            operation: LabOperation::Withdraw,
            intended,
            client_ok: intended,
            executed,
            replayed: 0,
            seen: Seen::default(),
            counters: ServerCounters::default(),
            effect: effect.map(|(intended, actual)| Effect {
                what: "balance of alice".into(),
                money: true,
                before: 10_000.0,
                intended,
                believed: intended,
                actual,
            }),
        }
    }

    fn with_truth(truth: Truth) -> StepResult {
        StepResult {
            truth: Some(truth),
            ..StepResult::default()
        }
    }

    fn with_tally(tally: Tally) -> StepResult {
        StepResult { tally, truth: None }
    }

    /// Every lesson's check can be judged, and its numbers name real choices.
    #[test]
    fn every_lesson_has_a_judge() {
        for lesson in crate::lessons::all() {
            assert!(lesson.check.choices.len() >= 2, "{}", lesson.id);
            let steps: Vec<StepResult> = lesson
                .steps
                .iter()
                .map(|_| {
                    let mut truth = truth_of(11, 10, Some((5_000.0, 4_500.0)));
                    truth.seen.timeouts = 2;
                    StepResult {
                        tally: Tally {
                            calls: 20,
                            attempts: 30,
                            rejected: 3,
                            slowest_ms: 310.0,
                            ..Tally::default()
                        },
                        truth: Some(truth),
                    }
                })
                .collect();
            let verdict = judge(lesson.id, &steps).expect(lesson.id);
            assert!(
                verdict
                    .right
                    .iter()
                    .all(|&c| c < lesson.check.choices.len()),
                "{}: {verdict:?}",
                lesson.id
            );
        }
    }

    #[test]
    fn withdraw_is_judged_by_the_servers_balance() {
        let lost = [with_truth(truth_of(12, 10, Some((5_000.0, 4_000.0))))];
        let verdict = judge("withdraw", &lost).unwrap();
        assert_eq!(verdict.right, vec![1]);
        assert!(
            verdict.because.contains("12 times for 10"),
            "{}",
            verdict.because
        );
        assert!(verdict.because.contains("$40.00"), "{}", verdict.because);
        let exact = [with_truth(truth_of(10, 10, Some((5_000.0, 5_000.0))))];
        assert_eq!(judge("withdraw", &exact).unwrap().right, vec![0]);
        let fewer = [with_truth(truth_of(9, 10, Some((5_000.0, 5_500.0))))];
        assert_eq!(judge("withdraw", &fewer).unwrap().right, vec![2]);
    }

    #[test]
    fn a_run_without_the_numbers_is_not_judged() {
        assert_eq!(judge("withdraw", &[]), None);
        assert_eq!(judge("withdraw", &[StepResult::default()]), None);
        assert_eq!(judge("no-such-lesson", &[StepResult::default()]), None);
        assert_eq!(judge("retry-storm", &[StepResult::default()]), None);
    }

    #[test]
    fn counters_are_judged_by_where_they_ended() {
        let counter = |actual| with_truth(truth_of(13, 10, Some((10.0, actual))));
        let verdict = judge("set-vs-increment", &[counter(13.0), counter(10.0)]).unwrap();
        assert_eq!(verdict.right, vec![2], "only the set counter");
        assert!(verdict.because.contains("at 13"), "{}", verdict.because);
        let both = judge("set-vs-increment", &[counter(10.0), counter(10.0)]).unwrap();
        assert_eq!(both.right, vec![0]);
        let neither = judge("set-vs-increment", &[counter(12.0), counter(9.0)]).unwrap();
        assert_eq!(neither.right, vec![3]);
    }

    #[test]
    fn every_exact_delivery_step_is_right() {
        let step = |actual| with_truth(truth_of(10, 10, Some((5_000.0, actual))));
        let verdict = judge("delivery", &[step(5_500.0), step(4_500.0), step(5_000.0)]).unwrap();
        assert_eq!(verdict.right, vec![2]);
        assert!(
            verdict.because.contains("never retrying +$5.00"),
            "{}",
            verdict.because
        );
        assert!(
            verdict.because.contains("without keys −$5.00"),
            "{}",
            verdict.because
        );
        let lucky = judge("delivery", &[step(5_000.0), step(4_500.0), step(5_000.0)]).unwrap();
        assert_eq!(lucky.right, vec![0, 2]);
    }

    #[test]
    fn the_breaker_is_judged_on_the_calls_after_the_brief_outage() {
        let brief = |rejected, ok| {
            with_tally(Tally {
                calls: 20,
                rejected,
                ok,
                ..Tally::default()
            })
        };
        let steps = |last| [StepResult::default(), StepResult::default(), last];
        let some = judge("service-down", &steps(brief(7, 9))).unwrap();
        assert_eq!(some.right, vec![1]);
        assert!(
            some.because.contains("refused 7 of the 16 calls"),
            "{}",
            some.because
        );
        assert_eq!(
            judge("service-down", &steps(brief(0, 16))).unwrap().right,
            vec![0]
        );
        assert_eq!(
            judge("service-down", &steps(brief(16, 0))).unwrap().right,
            vec![2]
        );
        assert_eq!(judge("service-down", &steps(brief(0, 0))[..2]), None);
    }

    #[test]
    fn timeouts_are_judged_by_the_work_done_after_the_client_left() {
        let step = |timeouts, executed, answered| {
            let mut truth = truth_of(executed, 30, None);
            truth.seen = Seen {
                answered,
                timeouts,
                ..Seen::default()
            };
            with_truth(truth)
        };
        let some = judge("timeouts", &[step(24, 7, 6)]).unwrap();
        assert_eq!(some.right, vec![1]);
        assert!(some.because.contains("ran 1 of them"), "{}", some.because);
        assert_eq!(judge("timeouts", &[step(24, 6, 6)]).unwrap().right, vec![0]);
        assert_eq!(
            judge("timeouts", &[step(3, 30, 27)]).unwrap().right,
            vec![2]
        );
        assert!(
            judge("timeouts", &[step(0, 30, 30)])
                .unwrap()
                .right
                .is_empty()
        );
    }

    #[test]
    fn the_fewest_attempts_win_ties_included() {
        let attempts = |attempts| {
            with_tally(Tally {
                attempts,
                ..Tally::default()
            })
        };
        let step = |attempts, ok| {
            with_tally(Tally {
                calls: 24,
                attempts,
                ok,
                ..Tally::default()
            })
        };
        let verdict = judge("retry-storm", &[step(54, 22), step(53, 22), step(29, 14)]).unwrap();
        assert_eq!(verdict.right, vec![2]);
        assert!(verdict.because.contains("29 with jitter and a budget"));
        // The budget's price is said beside its saving (a newcomer's report).
        assert!(
            verdict.because.contains("succeeded: 22, 22 and 14 of 24"),
            "{}",
            verdict.because
        );
        let tie = judge("retry-storm", &[attempts(30), attempts(29), attempts(29)]).unwrap();
        assert_eq!(tie.right, vec![1, 2]);
    }

    #[test]
    fn the_slowest_call_decides_the_timeout_question() {
        let slowest = |slowest_ms| {
            with_tally(Tally {
                slowest_ms,
                ..Tally::default()
            })
        };
        let verdict = judge("one-slow-call", &[slowest(2_004.0), slowest(312.0)]).unwrap();
        assert_eq!(verdict.right, vec![1]);
        assert!(
            verdict.because.contains("2004 ms without"),
            "{}",
            verdict.because
        );
        assert_eq!(
            judge("one-slow-call", &[slowest(2_004.0), slowest(2_010.0)])
                .unwrap()
                .right,
            vec![0]
        );
        assert_eq!(
            judge("one-slow-call", &[slowest(2_004.0), slowest(40.0)])
                .unwrap()
                .right,
            vec![2]
        );
    }
}
