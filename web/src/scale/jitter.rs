//! The jitter experiment: Marc Brooker's "Exponential Backoff And Jitter"
//! (AWS Architecture Blog, 2015), run for real by the load engine.
//!
//! N clients each write one record once with optimistic concurrency: read
//! the version, write if it is unchanged (`Store/CompareAndSet`), back off
//! and retry on `ABORTED`. The blog counted the calls this takes and the time
//! until the last client is done, for five ways of backing off. The page runs
//! each (strategy, N) as the very run `server/examples/jitter.rs` makes
//! (`rpc_lab::jitter_experiment`: the strategies and the scenario; the
//! example's `//!` explains how the blog's model maps onto the lab;
//! `docs/analysis.md` §4 has the numbers).
//!
//! Here is everything else about it that is not I/O: the order of the runs, what a run's stream and
//! the server's counters make of a point (or why they make none), the plots'
//! log scale, and the sentences that compare this run with the blog — built
//! from the numbers, so that a run which disagrees with the blog says so.
//! `components/jitter_experiment.rs` does the calls and the drawing.

use rpc_lab::number_format::fixed;
use rpc_lab::proto::calculator_v1::LoadSnapshot;

use crate::plot_scale::format_ms;

pub use rpc_lab::jitter_experiment::{BASE_MS, CAP_MS, DELAY_MS, Strategy};

/// The most clients one run may have (the server's own cap is higher; an
/// exponential run at this many would take many minutes).
pub const MAX_CLIENTS: u32 = 500;

/// The runs, in order: the quick strategies first, all four at one N before
/// the next N, so their comparison grows as the student watches; then
/// exponential without jitter, which takes about a minute at 50 clients —
/// that slowness is the result.
pub fn plan(clients: &[u32]) -> Vec<(Strategy, u32)> {
    let mut plan = Vec::new();
    for &n in clients {
        for s in Strategy::ALL {
            if s != Strategy::Exponential {
                plan.push((s, n));
            }
        }
    }
    for &n in clients {
        plan.push((Strategy::Exponential, n));
    }
    plan
}

/// The N list as typed ("10, 20, 50, 100"): whole numbers from 1 to
/// [`MAX_CLIENTS`], in any order, separated by commas or spaces; sorted, each
/// once.
pub fn parse_clients(text: &str) -> Result<Vec<u32>, String> {
    let mut clients: Vec<u32> = Vec::new();
    for word in text.split([',', ' ']).filter(|w| !w.is_empty()) {
        match word.parse::<u32>() {
            // Kept sorted as they come, each once (a sort would bring a
            // sorting algorithm's code into the page, for four numbers).
            Ok(n) if (1..=MAX_CLIENTS).contains(&n) => {
                if let Err(i) = clients.binary_search(&n) {
                    clients.insert(i, n);
                }
            }
            _ => {
                return Err(format!(
                    "“{word}” is not a number of clients from 1 to {MAX_CLIENTS}"
                ));
            }
        }
    }
    if clients.is_empty() {
        return Err("give at least one number of clients".into());
    }
    Ok(clients)
}

/// The seed as typed: a whole number (it seeds every run's jitter).
pub fn parse_seed(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<u32>()
        .map(u64::from)
        .map_err(|_| format!("“{text}” is not a seed (a whole number)"))
}

/// One measured run: the blog's two numbers, and the server's count of the
/// same calls.
#[derive(Clone, Copy, PartialEq)]
pub struct Point {
    pub strategy: Strategy,
    pub clients: u32,
    /// Write attempts (the blog's calls; each also made one read).
    pub calls: u64,
    /// From the run's start until its last client's write succeeded.
    pub time_ms: u32,
    /// `CompareAndSet`s the server executed in the run's session.
    pub server_calls: u64,
}

/// The point a finished run makes, checked against the server's truth: all
/// N calls succeeded, and the server executed exactly as many
/// compare-and-sets as the run counted write attempts. A run that fails the
/// check makes no point, and the page says why. (`server/examples/jitter.rs`
/// also reads the record back, which must be N; the page leaves that read
/// out for its download's sake: the server's tests hold compare-and-set to
/// it.)
pub fn point(
    strategy: Strategy,
    clients: u32,
    summary: &LoadSnapshot,
    server_calls: u64,
) -> Result<Point, String> {
    let (ok, failed, attempts) = (
        summary.calls_succeeded,
        summary.calls_failed,
        summary.attempts_sent,
    );
    if ok != u64::from(clients) || failed != 0 || server_calls != attempts {
        return Err(format!(
            "{}, N = {clients}: {ok} writes succeeded and {failed} failed; the run counted {attempts} write \
             attempts, the server executed {server_calls}",
            strategy.label()
        ));
    }
    Ok(Point {
        strategy,
        clients,
        calls: attempts,
        time_ms: summary.elapsed_ms,
        server_calls,
    })
}

/// The experiment as the page shows it.
#[derive(Clone, Default, PartialEq)]
pub struct Experiment {
    /// Every run's point, in the order they ended.
    pub points: Vec<Point>,
    /// The run in progress: its strategy, N, clients done, elapsed ms.
    pub current: Option<(Strategy, u32, u64, u32)>,
    /// The N list it runs, and how many runs that makes (five each).
    pub clients: Vec<u32>,
    pub seed: u64,
    pub runs: usize,
    pub busy: bool,
    pub error: Option<String>,
    /// The whole experiment's wall time, once it is over.
    pub wall_ms: Option<f64>,
}

/// What happens to an [`Experiment`].
pub enum Step {
    /// A new experiment over this N list, with this seed.
    Begin(Vec<u32>, u64),
    /// A run starts.
    Run(Strategy, u32),
    /// A window of the run: its successful calls, and the run's elapsed ms.
    Window(u64, u32),
    Done(Point),
    /// The experiment stops: a refusal or a failed check (in words), or the
    /// student's Stop (none).
    Fail(Option<String>),
    /// Every run is done, in this many ms.
    End(f64),
}

impl Experiment {
    pub fn apply(&mut self, step: Step) {
        match step {
            Step::Begin(clients, seed) => {
                *self = Experiment {
                    runs: clients.len() * Strategy::ALL.len(),
                    clients,
                    seed,
                    busy: true,
                    ..Experiment::default()
                }
            }
            Step::Run(strategy, n) => self.current = Some((strategy, n, 0, 0)),
            Step::Window(ok, elapsed) => {
                if let Some(c) = &mut self.current {
                    c.2 += ok;
                    c.3 = elapsed;
                }
            }
            Step::Done(point) => {
                self.points.push(point);
                self.current = None;
            }
            Step::Fail(error) => {
                self.error = error;
                self.busy = false;
                self.current = None;
            }
            Step::End(ms) => {
                self.wall_ms = Some(ms);
                self.busy = false;
                self.current = None;
            }
        }
    }

    /// The point of `strategy` at `clients`, if it ran.
    pub fn at(&self, strategy: Strategy, clients: u32) -> Option<&Point> {
        self.points
            .iter()
            .find(|p| p.strategy == strategy && p.clients == clients)
    }

    /// One strategy's points, by N.
    pub fn line(&self, strategy: Strategy) -> Vec<Point> {
        let mut line: Vec<Point> = Vec::new();
        for p in self.points.iter().filter(|p| p.strategy == strategy) {
            line.insert(line.partition_point(|q| q.clients < p.clients), *p);
        }
        line
    }

    /// The largest N at which all five strategies ran, and their points in
    /// [`Strategy::ALL`]'s order.
    pub fn complete(&self) -> Option<(u32, [Point; 5])> {
        let n = self
            .points
            .iter()
            .map(|p| p.clients)
            .filter(|&n| Strategy::ALL.iter().all(|&s| self.at(s, n).is_some()))
            .max()?;
        // Every strategy ran at n (that is how n was chosen).
        let first = self.points[0];
        Some((n, Strategy::ALL.map(|s| *self.at(s, n).unwrap_or(&first))))
    }
}

/// The table's columns: N = 50 and N = 100 where the list has them (as in
/// `docs/analysis.md`), else its largest N.
pub fn table_clients(clients: &[u32]) -> Vec<u32> {
    let wanted: Vec<u32> = clients
        .iter()
        .copied()
        .filter(|&n| n == 50 || n == 100)
        .collect();
    match clients.last() {
        Some(&largest) if wanted.is_empty() => vec![largest],
        _ => wanted,
    }
}

/// A log scale for times, from a 1-2-5 value at or below the smallest to
/// one at or above the largest: runs take from half a second to a minute and
/// more, and on a linear axis all but the slowest strategy would lie flat.
#[derive(Clone, Copy, PartialEq)]
pub struct LogAxis {
    pub low: f64,
    pub high: f64,
}

/// 1, 2, 5 × 10ⁿ from `from` (a 1-2-5 value, or the start of `from`'s
/// decade) up to the first at or above `to`.
fn one_two_five(from: f64, to: f64) -> Vec<f64> {
    let mut decade = 10f64.powi(from.max(1e-9).log10().floor() as i32);
    let mut values = Vec::new();
    loop {
        for m in [1.0, 2.0, 5.0] {
            let v = m * decade;
            if v >= from * (1.0 - 1e-9) {
                values.push(v);
                if v >= to * (1.0 - 1e-9) {
                    return values;
                }
            }
        }
        decade *= 10.0;
    }
}

impl LogAxis {
    pub fn covering(min: f64, max: f64) -> LogAxis {
        let decade = 10f64.powi(min.max(1e-9).log10().floor() as i32);
        // The last 1-2-5 value at or below min.
        let below = one_two_five(decade, min);
        let low = below
            .iter()
            .copied()
            .rfind(|v| *v <= min * (1.0 + 1e-9))
            .unwrap_or(decade);
        let above = one_two_five(low, max.max(low * 1.5));
        LogAxis {
            low,
            high: above[above.len() - 1],
        }
    }

    /// Where `value` lies, from 0 (low) to 1 (high).
    pub fn fraction(&self, value: f64) -> f64 {
        (value / self.low).log10() / (self.high / self.low).log10()
    }

    /// Ticks at 1, 2, 5 × 10ⁿ, from low to high.
    pub fn ticks(&self) -> Vec<f64> {
        one_two_five(self.low, self.high)
    }
}

/// One sentence comparing this run with the blog.
pub struct Claim {
    /// `data-claim`.
    pub name: &'static str,
    /// Whether this run agrees with the blog here.
    pub agrees: bool,
    pub text: String,
}

/// `a` as a multiple of `b`: "2.4×".
fn times(a: f64, b: f64) -> String {
    format!("{}×", fixed(a / b.max(1e-9), 1))
}

/// What this run's numbers at N (every strategy's point there, in
/// [`Strategy::ALL`]'s order) say about the blog's findings. Each claim is
/// judged from the numbers, and written to say what they showed, whichever
/// way it went.
pub fn compare(n: u32, at: &[Point; 5]) -> Vec<Claim> {
    let [none, exp, full, equal, decor] = at;
    let calls = |p: &Point| p.calls.to_string();
    let time = |p: &Point| format_ms(f64::from(p.time_ms));
    let jittered = [full, equal, decor];
    // The blog's finding, and whether this run bears it out.
    let as_blog = |agrees: bool, finding: &str| {
        if agrees {
            format!(" — {finding}, as in the blog.")
        } else {
            format!(" — in the blog, {finding}; not in this run.")
        }
    };

    let loser = jittered
        .iter()
        .all(|p| exp.calls > p.calls && exp.time_ms > p.time_ms);
    let cut = jittered.iter().all(|p| p.calls < exp.calls);
    let least = full.calls <= equal.calls && full.calls <= decor.calls;
    let equal_ok = equal.calls >= full.calls && equal.time_ms > full.time_ms;
    let decor_ok = decor.calls > full.calls && decor.time_ms < full.time_ms;
    // A finding of two halves that does not hold: say what this run did
    // instead, so a run where one half holds is not read as "neither".
    let against_full = |p: &Point, finding: &str| {
        let work = match p.calls.cmp(&full.calls) {
            std::cmp::Ordering::Greater => "more work",
            std::cmp::Ordering::Less => "less work",
            std::cmp::Ordering::Equal => "the same work",
        };
        let pace = match p.time_ms.cmp(&full.time_ms) {
            std::cmp::Ordering::Less => "finished sooner",
            std::cmp::Ordering::Greater => "finished later",
            std::cmp::Ordering::Equal => "finished at the same time",
        };
        format!(" — in the blog, {finding}; in this run it did {work} than full jitter and {pace}.")
    };
    // The first to finish (the earlier in the list on a tie).
    let mut fastest = none;
    for p in at {
        if p.time_ms < fastest.time_ms {
            fastest = p;
        }
    }
    let first = fastest == none;
    vec![
        Claim {
            name: "loser",
            agrees: loser,
            text: format!(
                "At N = {n}, exponential backoff without jitter made {} calls ({} full jitter's) in {} ({} as long){}",
                calls(exp),
                times(exp.calls as f64, full.calls as f64),
                time(exp),
                times(f64::from(exp.time_ms), f64::from(full.time_ms)),
                as_blog(loser, "no jitter is the clear loser")
            ),
        },
        Claim {
            name: "cut",
            agrees: cut,
            text: format!(
                "Full, equal and decorrelated jitter made {}, {} and {} calls{}",
                calls(full),
                calls(equal),
                calls(decor),
                as_blog(cut, "jitter cuts the work")
            ),
        },
        Claim {
            name: "least",
            agrees: least,
            text: format!(
                "Full jitter made {} calls in {}{}",
                calls(full),
                time(full),
                as_blog(least, "full jitter does the least work")
            ),
        },
        Claim {
            name: "equal",
            agrees: equal_ok,
            text: format!(
                "Equal jitter made {} calls in {}{}",
                calls(equal),
                time(equal),
                if equal_ok {
                    as_blog(
                        true,
                        "it does a bit more work than full jitter, and is slower",
                    )
                } else {
                    against_full(
                        equal,
                        "it does a bit more work than full jitter, and is slower",
                    )
                }
            ),
        },
        Claim {
            name: "decorrelated",
            agrees: decor_ok,
            text: format!(
                "Decorrelated jitter made {} calls in {}{}",
                calls(decor),
                time(decor),
                if decor_ok {
                    as_blog(
                        true,
                        "it does more work than full jitter, but finishes sooner",
                    )
                } else {
                    against_full(
                        decor,
                        "it does more work than full jitter, but finishes sooner",
                    )
                }
            ),
        },
        Claim {
            name: "first",
            agrees: !first,
            text: if first {
                format!(
                    "Immediate retry finished first, in {}, with {} full jitter's calls: on this server of unlimited \
                     capacity a failed write is a look-up, where the blog counts every call as load.",
                    time(none),
                    times(none.calls as f64, full.calls as f64)
                )
            } else {
                format!(
                    "Immediate retry took {}; {} finished first, in {}.",
                    time(none),
                    fastest.strategy.label(),
                    time(fastest)
                )
            },
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(succeeded: u64, failed: u64, attempts: u64, elapsed_ms: u32) -> LoadSnapshot {
        LoadSnapshot {
            r#final: true,
            calls_succeeded: succeeded,
            calls_failed: failed,
            attempts_sent: attempts,
            elapsed_ms,
            ..LoadSnapshot::default()
        }
    }

    fn p(strategy: Strategy, clients: u32, calls: u64, time_ms: u32) -> Point {
        Point {
            strategy,
            clients,
            calls,
            time_ms,
            server_calls: calls,
        }
    }

    #[test]
    fn the_quick_strategies_run_first_and_exponential_last() {
        let plan = plan(&[10, 50]);
        let order: Vec<(&str, u32)> = plan.iter().map(|(s, n)| (s.slug(), *n)).collect();
        assert_eq!(
            order,
            [
                ("none", 10),
                ("full", 10),
                ("equal", 10),
                ("decorrelated", 10),
                ("none", 50),
                ("full", 50),
                ("equal", 50),
                ("decorrelated", 50),
                ("exponential", 10),
                ("exponential", 50),
            ]
        );
    }

    #[test]
    fn the_n_list_is_whole_numbers_in_range() {
        assert_eq!(parse_clients("10, 20,50 100"), Ok(vec![10, 20, 50, 100]));
        assert_eq!(parse_clients("100,10,10"), Ok(vec![10, 100]));
        assert_eq!(
            parse_clients("10, x"),
            Err("“x” is not a number of clients from 1 to 500".into())
        );
        assert!(parse_clients("0").is_err());
        assert!(parse_clients("501").is_err());
        assert!(parse_clients("2.5").is_err());
        assert!(parse_clients(" , ").is_err());
    }

    #[test]
    fn the_seed_is_a_whole_number() {
        assert_eq!(parse_seed(" 7 "), Ok(7));
        assert_eq!(
            parse_seed("x"),
            Err("“x” is not a seed (a whole number)".into())
        );
        assert!(parse_seed("-1").is_err() && parse_seed("1.5").is_err());
    }

    /// A point is made only from a run the server agrees with.
    #[test]
    fn a_point_is_checked_against_the_server() {
        let ok = point(Strategy::Full, 50, &summary(50, 0, 350, 3_200), 350);
        assert!(ok == Ok(p(Strategy::Full, 50, 350, 3_200)));
        let short = point(Strategy::Full, 50, &summary(49, 1, 350, 3_200), 350);
        assert_eq!(
            short.err().unwrap(),
            "full jitter, N = 50: 49 writes succeeded and 1 failed; the run counted 350 write attempts, \
             the server executed 350"
        );
        let counted = point(Strategy::Equal, 10, &summary(10, 0, 47, 900), 46);
        assert!(
            counted.is_err(),
            "the server executed one fewer than counted"
        );
        assert!(point(Strategy::None, 10, &summary(9, 0, 55, 500), 55).is_err());
    }

    #[test]
    fn the_experiment_folds_runs_into_points_and_progress() {
        let mut e = Experiment::default();
        e.apply(Step::Begin(vec![10, 20], 3));
        assert!(e.busy && e.runs == 10 && e.clients == [10, 20] && e.seed == 3);
        e.apply(Step::Run(Strategy::None, 10));
        e.apply(Step::Window(3, 100));
        e.apply(Step::Window(4, 200));
        assert!(e.current == Some((Strategy::None, 10, 7, 200)));
        e.apply(Step::Done(p(Strategy::None, 10, 55, 460)));
        assert!(e.current.is_none() && e.points.len() == 1);
        e.apply(Step::Run(Strategy::Full, 10));
        e.apply(Step::Fail(Some("refused".into())));
        assert!(!e.busy && e.error.as_deref() == Some("refused") && e.current.is_none());
        e.apply(Step::Begin(vec![5], 1));
        assert!(e.points.is_empty() && e.error.is_none() && e.busy);
        e.apply(Step::End(1_500.0));
        assert!(!e.busy && e.wall_ms == Some(1_500.0));
    }

    /// Lines by N, and the comparison at the largest N where all five ran.
    #[test]
    fn lines_and_the_largest_complete_n() {
        let mut e = Experiment::default();
        for s in Strategy::ALL {
            e.apply(Step::Done(p(s, 20, 100, 900)));
        }
        for s in [Strategy::Full, Strategy::None] {
            e.apply(Step::Done(p(s, 10, 40, 500)));
            e.apply(Step::Done(p(s, 50, 300, 3_000)));
        }
        let ns: Vec<u32> = e.line(Strategy::Full).iter().map(|p| p.clients).collect();
        assert_eq!(ns, [10, 20, 50]);
        assert_eq!(e.complete().map(|c| c.0), Some(20));
        assert!(Experiment::default().complete().is_none());
    }

    #[test]
    fn the_table_is_at_50_and_100_or_the_largest_n() {
        assert_eq!(table_clients(&[10, 20, 50, 100]), [50, 100]);
        assert_eq!(table_clients(&[10, 50, 150]), [50]);
        assert_eq!(table_clients(&[5, 10]), [10]);
    }

    #[test]
    fn the_time_axis_is_logarithmic_on_1_2_5_ticks() {
        let axis = LogAxis::covering(460.0, 80_900.0);
        assert!(
            axis == LogAxis {
                low: 200.0,
                high: 100_000.0
            }
        );
        assert_eq!(
            axis.ticks(),
            [
                200.0, 500.0, 1_000.0, 2_000.0, 5_000.0, 10_000.0, 20_000.0, 50_000.0, 100_000.0
            ]
        );
        assert!((axis.fraction(200.0)).abs() < 1e-12);
        assert!((axis.fraction(100_000.0) - 1.0).abs() < 1e-12);
        // Equal ratios are equal distances.
        let step = axis.fraction(1_000.0) - axis.fraction(100.0 * 5.0);
        assert!((axis.fraction(10_000.0) - axis.fraction(5_000.0) - step).abs() < 1e-12);
        // A value on a tick is its own bottom; one point alone still gets a span.
        let one = LogAxis::covering(500.0, 500.0);
        assert!(one.low == 500.0 && one.high == 1_000.0);
    }

    /// The medians of docs/analysis.md §4 at N = 100: the blog's findings
    /// hold, and immediate retry finishes first.
    fn measured() -> [Point; 5] {
        [
            p(Strategy::None, 100, 2_745, 3_000),
            p(Strategy::Exponential, 100, 1_967, 80_900),
            p(Strategy::Full, 100, 830, 5_700),
            p(Strategy::Equal, 100, 848, 7_400),
            p(Strategy::Decorrelated, 100, 1_058, 5_400),
        ]
    }

    #[test]
    fn the_claims_say_what_the_numbers_show() {
        let claims = compare(100, &measured());
        let verdicts: Vec<(&str, bool)> = claims.iter().map(|c| (c.name, c.agrees)).collect();
        assert_eq!(
            verdicts,
            [
                ("loser", true),
                ("cut", true),
                ("least", true),
                ("equal", true),
                ("decorrelated", true),
                ("first", false),
            ]
        );
        assert_eq!(
            claims[0].text,
            "At N = 100, exponential backoff without jitter made 1967 calls (2.4× full jitter's) in 80.9 s \
             (14.2× as long) — no jitter is the clear loser, as in the blog."
        );
        assert!(
            claims[5].text.starts_with(
                "Immediate retry finished first, in 3 s, with 3.3× full jitter's calls:"
            )
        );
    }

    /// A run that disagrees with the blog says so, claim by claim.
    #[test]
    fn a_run_that_disagrees_with_the_blog_says_so() {
        let mut at = measured();
        at[1].calls = 800; // exponential: fewer calls than full jitter
        at[3].time_ms = 5_000; // equal: faster than full
        at[4].calls = 700; // decorrelated: the least work
        at[0].time_ms = 6_000; // immediate retry: not first
        let claims = compare(100, &at);
        let verdicts: Vec<bool> = claims.iter().map(|c| c.agrees).collect();
        assert_eq!(verdicts, [false, false, false, false, false, true]);
        assert!(
            claims[0]
                .text
                .ends_with("— in the blog, no jitter is the clear loser; not in this run.")
        );
        assert_eq!(
            claims[2].text,
            "Full jitter made 830 calls in 5.7 s — in the blog, full jitter does the least work; not in \
             this run."
        );
        assert_eq!(
            claims[5].text,
            "Immediate retry took 6 s; equal jitter finished first, in 5 s."
        );
    }

    #[test]
    fn a_finding_that_half_holds_says_which_half() {
        let p = |strategy, calls, time_ms| Point {
            strategy,
            clients: 10,
            calls,
            time_ms,
            server_calls: calls,
        };
        // Decorrelated finished sooner than full jitter but with less work.
        let at = [
            p(Strategy::None, 55, 479),
            p(Strategy::Exponential, 55, 5_013),
            p(Strategy::Full, 43, 648),
            p(Strategy::Equal, 48, 1_354),
            p(Strategy::Decorrelated, 41, 410),
        ];
        let claims = compare(10, &at);
        let decor = claims.iter().find(|c| c.name == "decorrelated").unwrap();
        assert!(!decor.agrees);
        assert!(
            decor
                .text
                .ends_with("in this run it did less work than full jitter and finished sooner."),
            "{}",
            decor.text
        );
        let equal = claims.iter().find(|c| c.name == "equal").unwrap();
        assert!(equal.agrees, "{}", equal.text);
    }
}
