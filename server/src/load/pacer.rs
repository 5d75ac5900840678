//! The open loop's alarm clock: wakes the run at each send time, to a
//! fraction of a millisecond.
//!
//! An open loop is only as good as its timekeeping: a call meant for 3.2 ms
//! that goes out at 4.0 ms is 0.8 ms late before the server has done
//! anything. tokio's timers cannot do better than that — its timer wheel
//! ticks once a millisecond, and `sleep_until(t)` fires on the first tick at
//! or after `t` — so at 2 000 calls/s (a call every 0.5 ms) every send would
//! be up to a millisecond late, and a burst of them would leave together on
//! the same tick.
//!
//! The pacer is a plain operating-system thread that waits for each send
//! time with the kernel's own high-resolution timer (a futex wait with a
//! timeout: tens of microseconds late on Linux, not a millisecond) and then
//! hands the call's number and offset to the run through a channel. Waking
//! the run's tokio runtime from another thread costs another few tens of
//! microseconds. The thread sleeps between sends, so it costs next to no
//! CPU; the schedule itself stays pure ([`super::schedule`]).
//!
//! Back-pressure: the channel is bounded. If the run cannot keep up, the
//! pacer waits for it rather than piling up sends in memory, and the run's
//! own lag measurement (from each call's intended time) shows how far behind
//! it is. Dropping the [`Pacer`] stops and joins the thread at once, even in
//! the middle of a long gap between two arrivals.

use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::schedule::Schedule;

/// Sends the pacer may be ahead of the run by.
const AHEAD: usize = 256;

/// The next call to send: its number in the schedule and its offset from the
/// run's start.
pub type Due = (usize, Duration);

/// A running pacer; the run receives from it. Dropping it stops it.
pub struct Pacer {
    due: mpsc::Receiver<Due>,
    /// Dropped to wake the thread from its wait (a disconnect ends the wait).
    stop: Option<std_mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Pacer {
    /// Starts a thread that yields every offset of `schedule` before
    /// `duration`, each no earlier than `start + offset`.
    pub fn start(schedule: Schedule, start: Instant, duration: Duration) -> std::io::Result<Pacer> {
        let (tx, due) = mpsc::channel(AHEAD);
        let (stop, stopped) = std_mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("load-pacer".into())
            .spawn(move || {
                for (n, offset) in schedule.enumerate() {
                    if offset >= duration {
                        return;
                    }
                    let wait = (start + offset).saturating_duration_since(Instant::now());
                    if !wait.is_zero() {
                        match stopped.recv_timeout(wait) {
                            Err(std_mpsc::RecvTimeoutError::Timeout) => {}
                            // Nothing is ever sent on `stop`: only a drop
                            // (the run is over) ends the wait early.
                            _ => return,
                        }
                    }
                    // Blocks while the run is `AHEAD` sends behind; fails
                    // once the run has gone.
                    if tx.blocking_send((n, offset)).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Pacer {
            due,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The next call that is due, as soon as it is; `None` when the
    /// schedule has no more before the run's end.
    pub async fn next(&mut self) -> Option<Due> {
        self.due.recv().await
    }
}

impl Drop for Pacer {
    fn drop(&mut self) {
        // Wake the thread whichever way it is waiting — for a send time
        // (the stop channel disconnects) or for room in the channel (the
        // channel closes) — then wait for it to end: microseconds.
        self.stop.take();
        self.due.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::schedule::Arrivals;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn every_offset_before_the_end_comes_once_in_order() {
        // 20 000 calls/s for 5 ms: offsets 0, 50 µs, … 4.95 ms — 100 of them,
        // the same as the pure schedule.
        let expected: Vec<Due> = Schedule::new(20_000.0, Arrivals::Constant, 1)
            .take_while(|offset| *offset < Duration::from_millis(5))
            .enumerate()
            .collect();
        assert_eq!(expected.len(), 100);
        let start = Instant::now();
        let schedule = Schedule::new(20_000.0, Arrivals::Constant, 1);
        let mut pacer = Pacer::start(schedule, start, Duration::from_millis(5)).unwrap();
        let got = runtime().block_on(async {
            let mut got = Vec::new();
            while let Some(due) = pacer.next().await {
                // Never early: the thread waited for each send time.
                assert!(start.elapsed() >= due.1, "{due:?} came early");
                got.push(due);
            }
            got
        });
        assert_eq!(got, expected);
    }

    #[test]
    fn poisson_arrivals_come_as_the_schedule_draws_them() {
        // Poisson arrivals: the pacer yields the same seeded offsets.
        let duration = Duration::from_millis(20);
        let expected: Vec<Due> = Schedule::new(5_000.0, Arrivals::Poisson, 9)
            .take_while(|offset| *offset < duration)
            .enumerate()
            .collect();
        let schedule = Schedule::new(5_000.0, Arrivals::Poisson, 9);
        let mut pacer = Pacer::start(schedule, Instant::now(), duration).unwrap();
        let got = runtime().block_on(async {
            let mut got = Vec::new();
            while let Some(due) = pacer.next().await {
                got.push(due);
            }
            got
        });
        assert_eq!(got, expected);
    }

    #[test]
    fn dropping_it_ends_the_thread_in_the_middle_of_a_long_wait() {
        // One call every 100 s: the thread sends the first at once, then
        // waits 100 s for the second. Dropping the pacer must end it now.
        let schedule = Schedule::new(0.01, Arrivals::Constant, 1);
        let mut pacer = Pacer::start(schedule, Instant::now(), Duration::from_secs(3600)).unwrap();
        assert_eq!(runtime().block_on(pacer.next()), Some((0, Duration::ZERO)));
        assert_drop_returns(
            pacer,
            "dropping the pacer should stop its thread, not wait 100 s",
        );
    }

    #[test]
    fn dropping_it_ends_a_thread_blocked_on_a_run_that_fell_behind() {
        // 1 000 000 calls/s for 1 s and a run that never reads: the pacer
        // fills the channel and blocks on it.
        let schedule = Schedule::new(1_000_000.0, Arrivals::Constant, 1);
        let pacer = Pacer::start(schedule, Instant::now(), Duration::from_secs(1)).unwrap();
        while pacer.due.capacity() > 0 {
            std::thread::yield_now();
        }
        assert_drop_returns(
            pacer,
            "dropping the pacer should unblock and stop its thread",
        );
    }

    /// Drops `pacer` on another thread and waits for the drop (which joins
    /// the pacer's thread) to return. The bound is generous, only so that a
    /// broken stop fails instead of hanging the suite; a working one takes
    /// microseconds.
    fn assert_drop_returns(pacer: Pacer, why: &str) {
        let (done, dropped) = std_mpsc::channel();
        std::thread::spawn(move || {
            drop(pacer);
            let _ = done.send(());
        });
        dropped.recv_timeout(Duration::from_secs(10)).expect(why);
    }
}
