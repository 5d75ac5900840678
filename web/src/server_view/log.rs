//! The page's copy of the server's record of its session, and the state of
//! the stream that brings it.
//!
//! The server keeps up to 10 000 records a session; the page keeps the last
//! [`KEEP`], so a long session costs a tab a bounded amount of memory (and
//! of drawing). The stream is watched once per tab: a browser keeps only
//! about six HTTP/1.1 connections per host, and a stream holds one for as
//! long as it is open.
//!
//! When the stream ends — the server restarted, the network dropped — the
//! page tries again after a random wait that doubles with each failure (full
//! jitter: a class of tabs whose server restarts does not come back all in
//! the same millisecond). Every new stream starts with the server's backlog,
//! so the page drops what it held and takes the server's word afresh: after
//! a restart the server holds nothing of the old session, and neither does
//! the page.

use std::collections::VecDeque;

use rpc_lab::proto::calculator_v1::RequestRecord;

/// Records the page keeps (the newest).
pub const KEEP: usize = 500;
/// The longest wait before another try, in milliseconds.
pub const MAX_RETRY_MS: f64 = 5_000.0;

/// The stream's state, as the student is told it.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Link {
    /// Asking the server to watch.
    #[default]
    Connecting,
    /// Open: the backlog, then each request as it completes.
    Watching,
    /// Ended or refused, for `reason`; the next try within `retry_ms`.
    Away { reason: String, retry_ms: u32 },
}

impl Link {
    /// For tests (`data-link`).
    pub fn slug(&self) -> &'static str {
        match self {
            Link::Connecting => "connecting",
            Link::Watching => "watching",
            Link::Away { .. } => "away",
        }
    }
}

/// What happens to the stream.
#[derive(Debug)]
pub enum Event {
    Connecting,
    /// The server accepted the watch; its backlog follows.
    Opened,
    /// A record, received when the page's wall clock read `now_ms`
    /// (milliseconds since the Unix epoch).
    Record {
        record: RequestRecord,
        now_ms: f64,
    },
    /// The stream ended or could not start. `random` in [0, 1) picks the
    /// wait before the next try.
    Lost {
        reason: String,
        random: f64,
    },
}

/// The page's copy of the record, and the stream's state.
#[derive(Debug, Default)]
pub struct ServerLog {
    /// Oldest first; at most [`KEEP`].
    pub records: VecDeque<RequestRecord>,
    /// Records received on this stream that the page let go to keep [`KEEP`].
    pub let_go: u64,
    /// Records the server said this stream will never bring
    /// (`missed_before`): let go by the server's own bound, or passed over
    /// while the page was too slow to read them.
    pub missed: u64,
    pub link: Link,
    /// Failed tries since the stream was last open.
    pub failures: u32,
    /// Streams opened since the page loaded (1 once the first is open).
    pub opened: u32,
    /// The last live record's delay: from the server having its reply ready
    /// to the page having the record, on the two wall clocks (on one
    /// machine, one clock), in ms.
    pub lag_ms: Option<f64>,
}

impl ServerLog {
    /// Applies an event; returns the wait before the next try, in ms, for
    /// [`Event::Lost`] (0 otherwise).
    pub fn apply(&mut self, event: Event) -> u32 {
        match event {
            Event::Connecting => self.link = Link::Connecting,
            Event::Opened => {
                // The backlog comes again in full: take it as the truth.
                self.records.clear();
                self.let_go = 0;
                self.missed = 0;
                self.failures = 0;
                self.opened += 1;
                self.link = Link::Watching;
            }
            Event::Record { record, now_ms } => {
                self.missed += record.missed_before;
                if record.live {
                    let ready_us = record.arrived_unix_micros + record.server_micros;
                    self.lag_ms = Some(now_ms - ready_us as f64 / 1000.0);
                }
                if self.records.len() == KEEP {
                    self.records.pop_front();
                    self.let_go += 1;
                }
                self.records.push_back(record);
            }
            Event::Lost { reason, random } => {
                self.failures += 1;
                let retry_ms = retry_ms(self.failures, random);
                self.link = Link::Away { reason, retry_ms };
                return retry_ms;
            }
        }
        0
    }
}

/// The wait before try `failures + 1`: at least 0.2 s (never a tight loop),
/// plus a random share of 0.25 s × 2^(failures − 1), at most [`MAX_RETRY_MS`].
pub fn retry_ms(failures: u32, random: f64) -> u32 {
    let ceiling = (250.0 * 2f64.powi(failures.saturating_sub(1).min(16) as i32)).min(MAX_RETRY_MS);
    (200.0 + random.clamp(0.0, 1.0) * ceiling) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(sequence: u64, live: bool) -> Event {
        Event::Record {
            record: RequestRecord {
                sequence,
                live,
                arrived_unix_micros: 1_000_000,
                server_micros: 2_000,
                ..Default::default()
            },
            now_ms: 1_010.0,
        }
    }

    #[test]
    fn keeps_the_newest_and_counts_what_it_let_go() {
        let mut log = ServerLog::default();
        log.apply(Event::Opened);
        for n in 1..=(KEEP as u64 + 3) {
            log.apply(record(n, false));
        }
        assert_eq!(log.records.len(), KEEP);
        assert_eq!(log.records.front().unwrap().sequence, 4);
        assert_eq!(log.let_go, 3);
        assert_eq!(log.lag_ms, None, "backlog records say nothing of the delay");
        log.apply(record(KEEP as u64 + 4, true));
        assert_eq!(log.lag_ms, Some(8.0), "1 010 ms − (1 000 ms + 2 ms)");
    }

    #[test]
    fn what_the_server_says_was_missed_is_added_up() {
        let mut log = ServerLog::default();
        log.apply(Event::Opened);
        let mut first = RequestRecord {
            sequence: 8,
            missed_before: 7,
            ..Default::default()
        };
        log.apply(Event::Record {
            record: first.clone(),
            now_ms: 0.0,
        });
        first.sequence = 12;
        first.missed_before = 3;
        log.apply(Event::Record {
            record: first,
            now_ms: 0.0,
        });
        assert_eq!(log.missed, 10);
    }

    #[test]
    fn a_lost_stream_waits_longer_each_time_then_starts_afresh_with_the_backlog() {
        let mut log = ServerLog::default();
        log.apply(Event::Opened);
        log.apply(record(1, false));
        let waits: Vec<u32> = (0..6)
            .map(|_| {
                log.apply(Event::Lost {
                    reason: "UNAVAILABLE".into(),
                    random: 1.0,
                })
            })
            .collect();
        assert_eq!(waits, [450, 700, 1_200, 2_200, 4_200, 5_200]);
        assert_eq!(log.link.slug(), "away");
        assert_eq!(log.records.len(), 1, "kept while the server is away");
        log.apply(Event::Opened);
        assert!(log.records.is_empty(), "the backlog will bring them again");
        assert_eq!(
            (log.failures, log.opened, log.link.slug()),
            (0, 2, "watching")
        );
    }

    #[test]
    fn the_wait_is_random_within_its_bounds() {
        assert_eq!(retry_ms(1, 0.0), 200);
        assert_eq!(retry_ms(40, 0.5), 2_700);
        assert_eq!(retry_ms(3, f64::NAN.max(2.0)), 1_200);
    }
}
