//! One session's capacity: its [`Queue`] behind a lock, handing grants to
//! the requests waiting in it, and the timer that gives back the workers a
//! brownout took.
//!
//! A session has no capacity until `Lab/SetCapacity` gives it one; until
//! then [`SessionCapacity::active`] is `None` and the layers let requests
//! through untouched, as if this module did not exist. Once set, a capacity
//! stays for the session's life: `Lab/ResetSession` replaces the whole
//! session, and with it the capacity.
//!
//! A std `Mutex`, not a Tokio one: nothing awaits while it is held; each
//! step is a few counter updates and perhaps a grant sent down a channel.

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio::task::AbortHandle;

use super::queue::{Arrival, Grant, Queue, Snapshot, Ticket, Waiter};
use super::{AbandonedWork, CapacitySettings};

/// A waiting request is told its turn through a one-shot channel.
impl Waiter for oneshot::Sender<Grant> {
    fn grant(self, grant: Grant) {
        // If the request has gone, its receiver is gone too; it then takes
        // itself out of the books when it is dropped (`layer::Slot`).
        let _ = self.send(grant);
    }
}

/// What a request learns on arrival.
pub struct Admission {
    pub arrival: Arrival,
    /// The policy it will be served under.
    pub abandoned_work: AbandonedWork,
    /// For a refusal: how long the client should wait before retrying.
    pub pushback: Option<Duration>,
}

/// A session's capacity, once set.
pub struct Capacity {
    queue: Mutex<Queue<oneshot::Sender<Grant>>>,
    /// The task that dispatches when a brownout gives workers back.
    timer: Mutex<Option<AbortHandle>>,
}

impl Capacity {
    fn new(settings: CapacitySettings, now: Instant) -> Self {
        Capacity {
            queue: Mutex::new(Queue::new(settings, now)),
            timer: Mutex::new(None),
        }
    }

    pub fn arrive(
        &self,
        now: Instant,
        deadline: Option<Instant>,
        waiter: oneshot::Sender<Grant>,
    ) -> Admission {
        let mut queue = self.queue.lock().unwrap();
        let (abandoned_work, pushback) =
            (queue.settings().abandoned_work, queue.settings().pushback);
        Admission {
            arrival: queue.arrive(now, deadline, waiter),
            abandoned_work,
            pushback,
        }
    }

    /// A request that was waiting (ticket) has gone. If its turn came just
    /// before it went — the grant is in its channel, unread — the worker it
    /// was given goes back.
    pub fn leave(&self, ticket: Ticket, grant: &mut oneshot::Receiver<Grant>, now: Instant) {
        let mut queue = self.queue.lock().unwrap();
        if queue.leave(ticket) {
            return;
        }
        // Grants are sent under this lock, so the channel now holds whatever
        // the line decided for this request.
        if let Ok(Grant::Start(_)) = grant.try_recv() {
            queue.cancel(now);
        }
    }

    pub fn finish(&self, now: Instant, client_gone: bool) {
        self.queue.lock().unwrap().finish(now, client_gone);
    }

    pub fn cancel(&self, now: Instant) {
        self.queue.lock().unwrap().cancel(now);
    }

    pub fn interrupt(&self, now: Instant) {
        self.queue.lock().unwrap().interrupt(now);
    }

    pub fn snapshot(&self) -> (CapacitySettings, Snapshot) {
        let queue = self.queue.lock().unwrap();
        (queue.settings().clone(), queue.snapshot())
    }

    fn set(self: &Arc<Self>, settings: CapacitySettings, now: Instant) {
        let workers_return_at = {
            let mut queue = self.queue.lock().unwrap();
            queue.set(settings, now);
            queue.workers_return_at()
        };
        let mut timer = self.timer.lock().unwrap();
        if let Some(previous) = timer.take() {
            previous.abort();
        }
        // When a brownout's window closes, the waiting requests may start
        // without anyone finishing: someone has to look, at the end of each
        // window that cut the workers. The timer holds the capacity weakly,
        // so a forgotten session is not kept alive by it.
        if !workers_return_at.is_empty() {
            let capacity = Arc::downgrade(self);
            let task = tokio::spawn(async move {
                for at in workers_return_at {
                    tokio::time::sleep_until(at.into()).await;
                    let Some(capacity) = capacity.upgrade() else {
                        return;
                    };
                    capacity.queue.lock().unwrap().dispatch(super::now());
                }
            });
            *timer = Some(task.abort_handle());
        }
    }
}

impl Drop for Capacity {
    fn drop(&mut self) {
        if let Some(timer) = self.timer.lock().unwrap().take() {
            timer.abort();
        }
    }
}

/// The capacity slot of a [`crate::session::Session`].
#[derive(Default)]
pub struct SessionCapacity {
    capacity: OnceLock<Arc<Capacity>>,
}

impl SessionCapacity {
    /// The capacity, if `SetCapacity` has given the session one.
    pub fn active(&self) -> Option<&Arc<Capacity>> {
        self.capacity.get()
    }

    /// Gives the session this capacity (or replaces its settings). Must run
    /// inside the Tokio runtime: a brownout that cuts workers starts a timer.
    pub fn set(&self, settings: CapacitySettings, now: Instant) {
        let capacity = self
            .capacity
            .get_or_init(|| Arc::new(Capacity::new(settings.clone(), now)));
        capacity.set(settings, now);
    }

    /// The session is being forgotten (reset or evicted), or the server is
    /// stopping: its requests still waiting are let go at once, without
    /// limits or service time, so that no queue outlives its session or holds
    /// up a graceful stop. They finish on the old session's data, as every
    /// request already holding a session does. (Those already in their
    /// service time finish it: at most `--max-service-ms`.)
    pub fn close(&self) {
        if let Some(capacity) = self.capacity.get() {
            capacity.set(CapacitySettings::default(), super::now());
        }
    }
}

impl fmt::Debug for SessionCapacity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.active() {
            None => f.write_str("SessionCapacity(unlimited)"),
            Some(capacity) => {
                let (settings, snapshot) = capacity.snapshot();
                f.debug_struct("SessionCapacity")
                    .field("settings", &settings)
                    .field("now", &snapshot)
                    .finish()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::Brownout;

    fn one_worker(queue: u32) -> CapacitySettings {
        CapacitySettings {
            workers: Some(1),
            queue,
            ..CapacitySettings::default()
        }
    }

    #[tokio::test]
    async fn unset_is_unlimited() {
        let slot = SessionCapacity::default();
        assert!(slot.active().is_none());
        slot.close(); // nothing to close
        slot.set(one_worker(0), crate::capacity::now());
        assert!(slot.active().is_some());
    }

    #[tokio::test]
    async fn a_grant_that_crosses_a_departure_gives_the_worker_back() {
        let slot = SessionCapacity::default();
        let now = crate::capacity::now();
        slot.set(one_worker(1), now);
        let capacity = slot.active().unwrap();
        let (first, _) = oneshot::channel();
        assert!(matches!(
            capacity.arrive(now, None, first).arrival,
            Arrival::Start(_)
        ));
        let (second, mut grant) = oneshot::channel();
        let Arrival::Queued(ticket) = capacity.arrive(now, None, second).arrival else {
            panic!()
        };
        capacity.finish(now, false); // the second's turn: granted into its channel...
        capacity.leave(ticket, &mut grant, now); // ...as it leaves
        let (_, snapshot) = capacity.snapshot();
        assert_eq!(snapshot.in_flight, 0, "the worker came back");
        assert_eq!(snapshot.counts.cancelled, 1);
    }

    #[tokio::test]
    async fn closing_lets_every_waiting_request_go() {
        let slot = SessionCapacity::default();
        let now = crate::capacity::now();
        slot.set(one_worker(5), now);
        let capacity = slot.active().unwrap().clone();
        let (first, _) = oneshot::channel();
        capacity.arrive(now, None, first);
        let mut grants = Vec::new();
        for _ in 0..3 {
            let (waiter, grant) = oneshot::channel();
            capacity.arrive(now, None, waiter);
            grants.push(grant);
        }
        slot.close();
        for grant in grants {
            assert_eq!(grant.await.unwrap(), Grant::Start(Duration::ZERO));
        }
    }

    /// The timer is the one place the capacity acts on its own, so it runs
    /// on Tokio's paused clock: no real waiting.
    #[tokio::test(start_paused = true)]
    async fn workers_come_back_when_the_brownout_ends_even_if_nobody_finishes() {
        let slot = SessionCapacity::default();
        let now = crate::capacity::now();
        slot.set(
            CapacitySettings {
                brownouts: vec![Brownout {
                    start: Duration::ZERO,
                    end: Duration::from_millis(500),
                    service_time_factor: 1.0,
                    workers: Some(0),
                }],
                ..one_worker(5)
            },
            now,
        );
        let capacity = slot.active().unwrap();
        let (waiter, grant) = oneshot::channel();
        assert!(matches!(
            capacity.arrive(now, None, waiter).arrival,
            Arrival::Queued(_)
        ));
        // The paused clock jumps ahead only once every task is idle, so the
        // grant arrives exactly when the timer fires.
        let granted = tokio::time::timeout(Duration::from_secs(5), grant).await;
        assert_eq!(granted.unwrap().unwrap(), Grant::Start(Duration::ZERO));
    }

    /// A schedule of two outages: the timer looks again at the end of each.
    #[tokio::test(start_paused = true)]
    async fn after_each_outage_of_a_schedule_the_waiting_start() {
        let outage = |start_ms, end_ms| Brownout {
            start: Duration::from_millis(start_ms),
            end: Duration::from_millis(end_ms),
            service_time_factor: 1.0,
            workers: Some(0),
        };
        let slot = SessionCapacity::default();
        let set_at = crate::capacity::now();
        slot.set(
            CapacitySettings {
                brownouts: vec![outage(0, 200), outage(300, 600)],
                ..one_worker(5)
            },
            set_at,
        );
        let capacity = slot.active().unwrap().clone();
        let wait_for_a_worker = |capacity: Arc<Capacity>| async move {
            let (waiter, grant) = oneshot::channel();
            let arrival = capacity
                .arrive(crate::capacity::now(), None, waiter)
                .arrival;
            assert!(matches!(arrival, Arrival::Queued(_)), "{arrival:?}");
            grant.await.unwrap();
            crate::capacity::now().duration_since(set_at)
        };
        // Queued in the first outage, started when it ends.
        assert_eq!(
            wait_for_a_worker(capacity.clone()).await,
            Duration::from_millis(200)
        );
        // That one finishes at once; a request arriving inside the second
        // outage (at 350 ms) waits for its end, with nobody finishing then.
        capacity.finish(crate::capacity::now(), false);
        tokio::time::sleep_until((set_at + Duration::from_millis(350)).into()).await;
        assert_eq!(
            wait_for_a_worker(capacity.clone()).await,
            Duration::from_millis(600)
        );
    }
}
