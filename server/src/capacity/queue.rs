//! The waiting line and the workers, as a pure model.
//!
//! [`Queue`] decides, for one session, whether a request starts at once,
//! waits its turn or is refused; who gets a worker when one frees up; and
//! keeps the counts `Lab/GetStats` reports. It does no I/O and reads no
//! clock: every method is told the time, so a test can walk through a
//! brownout in microseconds without sleeping. [`super::state`] keeps one
//! behind a lock and hands grants to waiting requests; [`super::layer`]
//! does the waiting.
//!
//! First come, first served: a request that arrives while others wait joins
//! the back of the line even if a worker has just become free, and workers
//! are handed out from the front. Every request let in ends as exactly one
//! of *finished*, *skipped*, *cancelled* (before its operation ran) or
//! *interrupted* (while it ran), or is still queued or in flight:
//!
//! ```text
//! admitted = queued + in flight + finished + skipped + cancelled + interrupted
//! ```
//!
//! A request that leaves the line (its client hung up) leaves a tombstone
//! rather than shifting everyone behind it, so leaving costs O(log n) even in
//! a line of 100 000; tombstones are swept away once they outnumber the
//! living, so the line's memory stays proportional to the requests waiting.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{AbandonedWork, CapacitySettings, Limit, Overload};

/// What a waiting request is told when its turn comes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    /// A worker is yours: spend this service time, then run the operation.
    Start(Duration),
    /// Your deadline passed while you waited: you will not be executed.
    Skip,
}

/// Someone waiting in the line, to be told its [`Grant`].
pub trait Waiter {
    fn grant(self, grant: Grant);
}

/// A place in the line. Tickets grow with arrival, so the line is sorted by them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(u64);

/// What happens to a request on arrival.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// A worker was free (and nobody waiting): spend this service time, then run.
    Start(Duration),
    /// Wait for a [`Grant`].
    Queued(Ticket),
    /// Every worker busy and the queue full: refused, nothing happens.
    Refused(Overload),
}

/// What the session's capacity did, counted since it was first set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Got a worker and began their service time.
    pub started: u64,
    /// Their operation ran.
    pub finished: u64,
    /// Of the finished, those whose client had already gone.
    pub abandoned: u64,
    /// Taken from the line after their deadline had passed, not executed.
    pub skipped: u64,
    /// Stopped before their operation ran because their client had gone.
    pub cancelled: u64,
    /// Stopped while their operation ran because their client had gone:
    /// a handler that awaits (a checkout waiting on payment) is dropped
    /// part-way under `CANCEL_ON_HANGUP`, and never answers.
    pub interrupted: u64,
    /// Refused on arrival: every worker busy, the queue full.
    pub refused: u64,
}

/// The line and the workers at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub queue_depth: u32,
    pub in_flight: u32,
    pub counts: Counts,
}

struct Waiting<W> {
    ticket: Ticket,
    deadline: Option<Instant>,
    /// The policy the request arrived under: a later `SetCapacity` does not
    /// change what it was promised.
    skip_if_expired: bool,
    /// `None`: a tombstone (the request left the line).
    waiter: Option<W>,
}

/// One session's line and workers.
pub struct Queue<W> {
    settings: CapacitySettings,
    /// When the settings were set: brownouts are measured from here.
    set_at: Instant,
    line: VecDeque<Waiting<W>>,
    /// Living entries of `line` (not tombstones).
    waiting: u32,
    next_ticket: u64,
    in_flight: u32,
    counts: Counts,
}

impl<W: Waiter> Queue<W> {
    pub fn new(settings: CapacitySettings, now: Instant) -> Self {
        Queue {
            settings,
            set_at: now,
            line: VecDeque::new(),
            waiting: 0,
            next_ticket: 0,
            in_flight: 0,
            counts: Counts::default(),
        }
    }

    pub fn settings(&self) -> &CapacitySettings {
        &self.settings
    }

    /// Replaces the settings (a brownout now counts from `now`). Requests
    /// already waiting keep their places; if the new settings have more
    /// workers, some start at once.
    pub fn set(&mut self, settings: CapacitySettings, now: Instant) {
        self.settings = settings;
        self.set_at = now;
        self.dispatch(now);
    }

    /// When each brownout that cut the workers ends: then waiting requests
    /// may start without anyone finishing, so someone must call
    /// [`Self::dispatch`]. In time order.
    pub fn workers_return_at(&self) -> Vec<Instant> {
        let set_at = self.set_at;
        self.settings
            .workers_return()
            .map(|end| set_at + end)
            .collect()
    }

    /// A request arrives; `deadline` is when its client stops waiting.
    pub fn arrive(&mut self, now: Instant, deadline: Option<Instant>, waiter: W) -> Arrival {
        // A brownout may have ended since anything last happened.
        self.dispatch(now);
        let since_set = now.saturating_duration_since(self.set_at);
        let workers = self.settings.workers_at(since_set);
        if self.waiting == 0 && workers.is_none_or(|w| self.in_flight < w) {
            return Arrival::Start(self.start(now));
        }
        if self.waiting < self.settings.queue {
            let ticket = Ticket(self.next_ticket);
            self.next_ticket += 1;
            self.line.push_back(Waiting {
                ticket,
                deadline,
                skip_if_expired: self.settings.abandoned_work == AbandonedWork::SkipExpired,
                waiter: Some(waiter),
            });
            self.waiting += 1;
            return Arrival::Queued(ticket);
        }
        self.counts.refused += 1;
        Arrival::Refused(Overload {
            limit: if self.settings.queue == 0 {
                Limit::WorkersBusy
            } else {
                Limit::QueueFull
            },
            workers: workers.unwrap_or(u32::MAX),
            in_flight: self.in_flight,
            queued: self.waiting,
            brownout: self
                .settings
                .brownout_at(since_set)
                .is_some_and(|b| b.workers.is_some()),
        })
    }

    /// Hands free workers to the front of the line.
    pub fn dispatch(&mut self, now: Instant) {
        let workers = self
            .settings
            .workers_at(now.saturating_duration_since(self.set_at));
        while self.waiting > 0 && workers.is_none_or(|w| self.in_flight < w) {
            let Some(entry) = self.line.pop_front() else {
                break;
            };
            let Some(waiter) = entry.waiter else {
                continue; // a tombstone
            };
            self.waiting -= 1;
            if entry.skip_if_expired && entry.deadline.is_some_and(|d| d <= now) {
                self.counts.skipped += 1;
                waiter.grant(Grant::Skip);
                continue;
            }
            let service = self.start(now);
            waiter.grant(Grant::Start(service));
        }
        while self.line.front().is_some_and(|e| e.waiter.is_none()) {
            self.line.pop_front();
        }
    }

    /// A waiting request leaves the line (its client has gone). Returns
    /// `false` if it was no longer waiting: it has been granted its turn
    /// already, and must be finished or cancelled as a started execution.
    pub fn leave(&mut self, ticket: Ticket) -> bool {
        let Ok(index) = self.line.binary_search_by_key(&ticket, |e| e.ticket) else {
            return false;
        };
        if self.line[index].waiter.take().is_none() {
            return false;
        }
        self.waiting -= 1;
        self.counts.cancelled += 1;
        if self.line.len() > 2 * self.waiting as usize + 16 {
            self.line.retain(|e| e.waiter.is_some());
        }
        true
    }

    /// A started execution ran its operation; `client_gone` if nobody was
    /// waiting for the reply any more.
    pub fn finish(&mut self, now: Instant, client_gone: bool) {
        self.release();
        self.counts.finished += 1;
        if client_gone {
            self.counts.abandoned += 1;
        }
        self.dispatch(now);
    }

    /// A started execution stopped before its operation ran.
    pub fn cancel(&mut self, now: Instant) {
        self.release();
        self.counts.cancelled += 1;
        self.dispatch(now);
    }

    /// A started execution stopped while its operation ran.
    pub fn interrupt(&mut self, now: Instant) {
        self.release();
        self.counts.interrupted += 1;
        self.dispatch(now);
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            queue_depth: self.waiting,
            in_flight: self.in_flight,
            counts: self.counts,
        }
    }

    fn start(&mut self, now: Instant) -> Duration {
        let service = self
            .settings
            .service_time(now.saturating_duration_since(self.set_at), self.in_flight);
        self.in_flight += 1;
        self.counts.started += 1;
        service
    }

    fn release(&mut self) {
        debug_assert!(self.in_flight > 0, "released a worker nobody held");
        self.in_flight = self.in_flight.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;
    use crate::capacity::{Brownout, CapacitySettings};
    use crate::random::{RandomSource, SeededRng};

    /// A waiter that writes down what it was granted, by name.
    struct Client {
        name: u32,
        log: Rc<RefCell<Vec<(u32, Grant)>>>,
    }

    impl Waiter for Client {
        fn grant(self, grant: Grant) {
            self.log.borrow_mut().push((self.name, grant));
        }
    }

    struct World {
        queue: Queue<Client>,
        log: Rc<RefCell<Vec<(u32, Grant)>>>,
        t0: Instant,
    }

    impl World {
        fn new(settings: CapacitySettings) -> World {
            let t0 = Instant::now();
            World {
                queue: Queue::new(settings, t0),
                log: Rc::default(),
                t0,
            }
        }

        fn at(&self, ms: u64) -> Instant {
            self.t0 + Duration::from_millis(ms)
        }

        fn arrive(&mut self, name: u32, at_ms: u64, deadline_ms: Option<u64>) -> Arrival {
            let client = Client {
                name,
                log: self.log.clone(),
            };
            let deadline = deadline_ms.map(|d| self.at(d));
            self.queue.arrive(self.at(at_ms), deadline, client)
        }

        fn granted(&self) -> Vec<(u32, Grant)> {
            self.log.borrow_mut().drain(..).collect()
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn limited(workers: u32, queue: u32, service_ms: u64) -> CapacitySettings {
        CapacitySettings {
            workers: Some(workers),
            queue,
            service: ms(service_ms),
            ..CapacitySettings::default()
        }
    }

    #[test]
    fn w_plus_q_are_let_in_and_the_next_is_refused_naming_the_limit() {
        let mut world = World::new(limited(2, 3, 10));
        for name in 0..2 {
            assert_eq!(world.arrive(name, 0, None), Arrival::Start(ms(10)));
        }
        for name in 2..5 {
            assert!(matches!(world.arrive(name, 0, None), Arrival::Queued(_)));
        }
        let Arrival::Refused(overload) = world.arrive(5, 0, None) else {
            panic!("the sixth must be refused");
        };
        assert_eq!(overload.limit, Limit::QueueFull);
        assert_eq!(
            (overload.workers, overload.in_flight, overload.queued),
            (2, 2, 3)
        );
        let snapshot = world.queue.snapshot();
        assert_eq!((snapshot.queue_depth, snapshot.in_flight), (3, 2));
        assert_eq!(snapshot.counts.refused, 1);
        assert_eq!(snapshot.counts.started, 2);

        let mut no_queue = World::new(limited(1, 0, 10));
        no_queue.arrive(0, 0, None);
        let Arrival::Refused(overload) = no_queue.arrive(1, 0, None) else {
            panic!("no queue: refused at once");
        };
        assert_eq!(overload.limit, Limit::WorkersBusy);
    }

    #[test]
    fn workers_go_to_the_front_of_the_line() {
        let mut world = World::new(limited(1, 10, 10));
        world.arrive(0, 0, None);
        for name in 1..=3 {
            world.arrive(name, 0, None);
        }
        assert!(world.granted().is_empty(), "nobody's turn yet");
        for step in 1..=3 {
            world.queue.finish(world.at(10 * step), false);
            assert_eq!(world.granted(), [(step as u32, Grant::Start(ms(10)))]);
        }
        world.queue.finish(world.at(40), false);
        let counts = world.queue.snapshot().counts;
        assert_eq!((counts.started, counts.finished), (4, 4));
    }

    #[test]
    fn a_newcomer_does_not_jump_the_line() {
        // A brownout leaves no workers: both wait. When it ends, the first
        // to arrive is the first to start, however the second arrives.
        let mut world = World::new(CapacitySettings {
            brownouts: vec![Brownout {
                start: ms(0),
                end: ms(100),
                service_time_factor: 1.0,
                workers: Some(0),
            }],
            ..limited(1, 5, 10)
        });
        assert!(matches!(world.arrive(0, 50, None), Arrival::Queued(_)));
        // At 100 ms the worker is back; the newcomer finds someone waiting.
        assert!(matches!(world.arrive(1, 100, None), Arrival::Queued(_)));
        assert_eq!(world.granted(), [(0, Grant::Start(ms(10)))]);
    }

    #[test]
    fn service_time_counts_the_executions_already_in_flight() {
        let mut world = World::new(CapacitySettings {
            slowdown: 0.5,
            ..limited(3, 0, 20)
        });
        assert_eq!(world.arrive(0, 0, None), Arrival::Start(ms(20)));
        assert_eq!(world.arrive(1, 0, None), Arrival::Start(ms(30)));
        assert_eq!(world.arrive(2, 0, None), Arrival::Start(ms(40)));
        world.queue.finish(world.at(5), false);
        assert_eq!(world.arrive(3, 5, None), Arrival::Start(ms(40)));
    }

    #[test]
    fn without_a_worker_limit_everything_starts_and_is_counted() {
        let mut world = World::new(CapacitySettings {
            service: ms(10),
            slowdown: 1.0,
            ..CapacitySettings::default()
        });
        for name in 0..100 {
            assert_eq!(
                world.arrive(name, 0, None),
                Arrival::Start(ms(10 * (1 + u64::from(name))))
            );
        }
        assert_eq!(world.queue.snapshot().in_flight, 100);
    }

    #[test]
    fn a_client_that_leaves_the_line_gives_up_its_place() {
        let mut world = World::new(limited(1, 2, 10));
        world.arrive(0, 0, None);
        let Arrival::Queued(first) = world.arrive(1, 0, None) else {
            panic!()
        };
        world.arrive(2, 0, None);
        assert!(matches!(world.arrive(3, 0, None), Arrival::Refused(_)));
        assert!(world.queue.leave(first));
        assert!(!world.queue.leave(first), "only once");
        assert!(
            matches!(world.arrive(4, 1, None), Arrival::Queued(_)),
            "its place is free"
        );
        world.queue.finish(world.at(10), false);
        assert_eq!(world.granted(), [(2, Grant::Start(ms(10)))], "1 is gone");
        let snapshot = world.queue.snapshot();
        assert_eq!(snapshot.counts.cancelled, 1);
        assert_eq!(snapshot.queue_depth, 1);
    }

    #[test]
    fn a_granted_request_cannot_leave_the_line_it_has_left() {
        let mut world = World::new(limited(1, 1, 10));
        world.arrive(0, 0, None);
        let Arrival::Queued(ticket) = world.arrive(1, 0, None) else {
            panic!()
        };
        world.queue.finish(world.at(10), false);
        assert!(
            !world.queue.leave(ticket),
            "granted: it is an execution now"
        );
        world.queue.cancel(world.at(12));
        let snapshot = world.queue.snapshot();
        assert_eq!(snapshot.in_flight, 0);
        assert_eq!(snapshot.counts.cancelled, 1);
    }

    #[test]
    fn skip_expired_skips_what_waited_too_long_and_keeps_the_worker_free() {
        let mut world = World::new(CapacitySettings {
            abandoned_work: AbandonedWork::SkipExpired,
            ..limited(1, 5, 100)
        });
        world.arrive(0, 0, None);
        world.arrive(1, 0, Some(50)); // gives up at 50 ms, before its turn
        world.arrive(2, 0, Some(500)); // still waiting at 100 ms
        world.queue.finish(world.at(100), false);
        assert_eq!(
            world.granted(),
            [(1, Grant::Skip), (2, Grant::Start(ms(100)))],
            "the expired one is skipped without holding the worker"
        );
        let counts = world.queue.snapshot().counts;
        assert_eq!((counts.skipped, counts.started), (1, 2));
    }

    #[test]
    fn finish_runs_expired_requests_anyway_and_counts_them_abandoned() {
        let mut world = World::new(limited(1, 5, 100));
        world.arrive(0, 0, None);
        world.arrive(1, 0, Some(50));
        world.queue.finish(world.at(100), false);
        assert_eq!(world.granted(), [(1, Grant::Start(ms(100)))]);
        world.queue.finish(world.at(200), true);
        let counts = world.queue.snapshot().counts;
        assert_eq!(
            (counts.finished, counts.abandoned, counts.skipped),
            (2, 1, 0)
        );
    }

    #[test]
    fn a_request_keeps_the_policy_it_arrived_under() {
        let mut world = World::new(CapacitySettings {
            abandoned_work: AbandonedWork::SkipExpired,
            ..limited(1, 5, 100)
        });
        world.arrive(0, 0, None);
        world.arrive(1, 0, Some(50));
        world.queue.set(limited(1, 5, 100), world.at(60)); // now FINISH
        world.queue.finish(world.at(100), false);
        assert_eq!(world.granted(), [(1, Grant::Skip)]);
    }

    #[test]
    fn when_a_brownout_ends_the_workers_come_back() {
        let mut world = World::new(CapacitySettings {
            brownouts: vec![Brownout {
                start: ms(100),
                end: ms(300),
                service_time_factor: 5.0,
                workers: Some(1),
            }],
            ..limited(3, 10, 10)
        });
        assert_eq!(world.queue.workers_return_at(), vec![world.at(300)]);
        // Inside the window: one worker, five times slower.
        assert_eq!(world.arrive(0, 150, None), Arrival::Start(ms(50)));
        assert!(
            matches!(world.arrive(1, 150, None), Arrival::Queued(_)),
            "one worker only"
        );
        world.arrive(2, 150, None);
        assert!(world.granted().is_empty());
        // The window ends with nobody finishing: the timer's dispatch starts them.
        world.queue.dispatch(world.at(299));
        assert!(world.granted().is_empty(), "not yet");
        world.queue.dispatch(world.at(300));
        assert_eq!(
            world.granted(),
            [(1, Grant::Start(ms(10))), (2, Grant::Start(ms(10)))]
        );
    }

    #[test]
    fn a_brownout_refusal_says_so() {
        let mut world = World::new(CapacitySettings {
            brownouts: vec![Brownout {
                start: ms(0),
                end: ms(300),
                service_time_factor: 1.0,
                workers: Some(1),
            }],
            ..limited(3, 0, 10)
        });
        world.arrive(0, 10, None);
        let Arrival::Refused(overload) = world.arrive(1, 10, None) else {
            panic!()
        };
        assert!(overload.brownout);
        assert_eq!(overload.workers, 1);
    }

    #[test]
    fn more_workers_start_waiting_requests_at_once() {
        let mut world = World::new(limited(1, 10, 10));
        for name in 0..4 {
            world.arrive(name, 0, None);
        }
        world.queue.set(limited(3, 10, 10), world.at(5));
        assert_eq!(world.granted().len(), 2);
        world.queue.set(CapacitySettings::default(), world.at(6));
        assert_eq!(world.granted(), [(3, Grant::Start(Duration::ZERO))]);
        assert_eq!(world.queue.snapshot().in_flight, 4);
    }

    #[test]
    fn leaving_keeps_the_line_s_memory_proportional_to_who_waits() {
        let mut world = World::new(limited(1, 100_000, 10));
        world.arrive(0, 0, None);
        let mut kept = Vec::new();
        for name in 1..=50_000 {
            let Arrival::Queued(ticket) = world.arrive(name, 0, None) else {
                panic!()
            };
            if name % 1000 == 0 {
                kept.push(name);
            } else {
                assert!(world.queue.leave(ticket));
            }
            assert!(world.queue.line.len() <= 2 * world.queue.waiting as usize + 16);
        }
        assert_eq!(world.queue.snapshot().queue_depth, 50);
        for _ in 0..50 {
            world.queue.finish(world.at(1), false);
        }
        let started: Vec<u32> = world.granted().into_iter().map(|(name, _)| name).collect();
        assert_eq!(started, kept, "the ones that stayed, in their order");
    }

    /// Any sequence of arrivals, departures, finishes, cancellations and
    /// interruptions keeps the books balanced.
    #[test]
    fn every_admitted_request_is_accounted_for() {
        let mut rng = SeededRng::new(7);
        let mut world = World::new(CapacitySettings {
            abandoned_work: AbandonedWork::SkipExpired,
            brownouts: vec![Brownout {
                start: ms(200),
                end: ms(600),
                service_time_factor: 2.0,
                workers: Some(1),
            }],
            ..limited(3, 6, 10)
        });
        let (mut queued, mut running, mut admitted, mut stopped) = (Vec::new(), 0u32, 0u64, 0u64);
        for step in 0..2000u64 {
            let now = step / 2;
            match rng.next_u64() % 5 {
                0 | 1 => match world.arrive(step as u32, now, Some(now + rng.next_u64() % 40)) {
                    Arrival::Start(_) => {
                        admitted += 1;
                        running += 1;
                    }
                    Arrival::Queued(ticket) => {
                        admitted += 1;
                        queued.push(ticket);
                    }
                    Arrival::Refused(_) => {}
                },
                2 if !queued.is_empty() => {
                    let ticket = queued.swap_remove(rng.next_u64() as usize % queued.len());
                    world.queue.leave(ticket);
                }
                3 if running > 0 => {
                    running -= 1;
                    world.queue.finish(world.at(now), rng.next_u64() % 2 == 0);
                }
                4 if running > 0 => {
                    running -= 1;
                    stopped += 1;
                    if rng.next_u64() % 2 == 0 {
                        world.queue.cancel(world.at(now));
                    } else {
                        world.queue.interrupt(world.at(now));
                    }
                }
                _ => world.queue.dispatch(world.at(now)),
            }
            running += world
                .granted()
                .iter()
                .filter(|(_, g)| matches!(g, Grant::Start(_)))
                .count() as u32;
            let s = world.queue.snapshot();
            let c = s.counts;
            assert_eq!(s.in_flight, running);
            assert_eq!(
                admitted,
                u64::from(s.queue_depth)
                    + u64::from(s.in_flight)
                    + c.finished
                    + c.skipped
                    + c.cancelled
                    + c.interrupted,
                "step {step}: {s:?}"
            );
            assert_eq!(c.started, c.finished + u64::from(s.in_flight) + stopped);
        }
    }
}
