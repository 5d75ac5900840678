//! `Lab/WatchRequests`: a session's log as a stream — the backlog, then
//! each record as it is written, until the client cancels.
//!
//! A watcher never makes the server hold more: the backlog is a copy of the
//! log's pointers taken once, and live records come through a broadcast
//! with a fixed buffer ([`super::WATCH_BUFFER`]) that all of a session's
//! watchers share. A watcher that reads too slowly (a stalled tab, a
//! `grpcurl` piped into a pager) falls behind; the broadcast then passes
//! over what it has not read, and the next record it gets says how many it
//! missed (`missed_before`, from the sequence numbers, so it is exact).
//!
//! A stream ends when its client cancels it (the tab closes, Ctrl-C in
//! grpcurl: tonic drops it, and with it the watcher's place), when the
//! server stops (`UNAVAILABLE`: a graceful stop would otherwise wait forever
//! for a stream that never ends), or when the session is forgotten to make
//! room for another (`UNAVAILABLE`: watching again follows the new one).

use std::sync::Arc;

use futures_util::Stream;
use rpc_lab::proto::calculator_v1::RequestRecord;
use tokio::sync::{broadcast, watch};
use tonic::Status;

use super::{Record, RequestLog};

/// Tells every watch stream the server is stopping. One for the server.
#[derive(Debug)]
pub struct Stop(watch::Sender<bool>);

impl Default for Stop {
    fn default() -> Self {
        Stop(watch::channel(false).0)
    }
}

impl Stop {
    /// Ends every watch stream (each with `UNAVAILABLE`), now and later.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }

    fn subscribe(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }
}

/// The records of a watch, in the order they are sent.
pub type Records = std::pin::Pin<Box<dyn Stream<Item = Result<RequestRecord, Status>> + Send>>;

/// Starts watching `log`: refused if it has too many watchers already.
pub fn watch(log: &RequestLog, stop: &Stop) -> Result<Records, Status> {
    let (backlog, live) = log.subscribe()?;
    let watcher = Watcher {
        backlog: backlog.records.into_iter(),
        live,
        stop: stop.subscribe(),
        last_sent: 0,
        ended: false,
    };
    Ok(Box::pin(futures_util::stream::unfold(
        watcher,
        |mut watcher| async move {
            let item = watcher.next().await?;
            Some((item, watcher))
        },
    )))
}

/// One watcher's place in the log.
struct Watcher {
    backlog: std::vec::IntoIter<Arc<Record>>,
    live: broadcast::Receiver<Arc<Record>>,
    stop: watch::Receiver<bool>,
    /// The sequence number of the last record sent (0: none yet).
    last_sent: u64,
    ended: bool,
}

impl Watcher {
    async fn next(&mut self) -> Option<Result<RequestRecord, Status>> {
        if let Some(record) = self.backlog.next() {
            return Some(Ok(self.send(&record, false)));
        }
        while !self.ended {
            let received = tokio::select! {
                // A stopping server first: a watcher busy with a flood of
                // records must not hold up its stop.
                biased;
                _ = self.stop.wait_for(|stopping| *stopping) => None,
                received = self.live.recv() => Some(received),
            };
            match received {
                None => {
                    self.ended = true;
                    return Some(Err(Status::unavailable(
                        "the server is stopping; watch again when it is back",
                    )));
                }
                // Sent in the backlog already (cannot happen: the backlog and
                // the feed are taken together), so never twice.
                Some(Ok(record)) if record.sequence <= self.last_sent => {}
                Some(Ok(record)) => return Some(Ok(self.send(&record, true))),
                // Fell behind: the feed skips ahead; the next record says
                // how many were passed over.
                Some(Err(broadcast::error::RecvError::Lagged(_))) => {}
                Some(Err(broadcast::error::RecvError::Closed)) => {
                    self.ended = true;
                    return Some(Err(Status::unavailable(
                        "this session was forgotten to make room for another (--max-sessions); watch again to follow it anew",
                    )));
                }
            }
        }
        None
    }

    fn send(&mut self, record: &Record, live: bool) -> RequestRecord {
        let missed_before = record.sequence.saturating_sub(self.last_sent + 1);
        self.last_sent = record.sequence;
        record.to_proto(missed_before, live)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::StreamExt;
    use tonic::Code;

    use super::super::{Draft, InjectedFault, RequestOutcome, RequestTransport};
    use super::*;

    fn write(log: &RequestLog, n: usize) {
        for _ in 0..n {
            log.write(Draft {
                arrived_unix_micros: 0,
                transport: RequestTransport::Rest,
                operation: "GET /api/v1/accounts/{account}",
                idempotency_key: None,
                connection: None,
                user_agent: None,
                timeout: None,
                fault: InjectedFault::None,
                outcome: RequestOutcome::Executed,
                hung_up: false,
                code: None,
                http_status: 200,
                queued: Duration::ZERO,
                server_time: Duration::ZERO,
                bookkeeping: false,
            });
        }
    }

    async fn sequences(records: &mut Records, n: usize) -> Vec<(u64, u64, bool)> {
        let mut seen = Vec::new();
        for _ in 0..n {
            let record = records.next().await.unwrap().unwrap();
            seen.push((record.sequence, record.missed_before, record.live));
        }
        seen
    }

    #[tokio::test]
    async fn backlog_then_live_and_what_the_bound_dropped_is_counted() {
        let log = RequestLog::new(2);
        write(&log, 3); // 1 is let go; 2 and 3 are held
        let stop = Stop::default();
        let mut records = watch(&log, &stop).unwrap();
        write(&log, 1);
        assert_eq!(
            sequences(&mut records, 3).await,
            [(2, 1, false), (3, 0, false), (4, 0, true)]
        );
    }

    #[tokio::test]
    async fn a_watcher_that_falls_behind_is_told_how_many_it_missed() {
        let log = RequestLog::new(10);
        let stop = Stop::default();
        let mut records = watch(&log, &stop).unwrap();
        // More than the feed holds, before the watcher reads any of it.
        write(&log, super::super::WATCH_BUFFER + 5);
        let first = records.next().await.unwrap().unwrap();
        assert_eq!(first.sequence, 6, "the oldest the feed still holds");
        assert_eq!(first.missed_before, 5);
        let second = records.next().await.unwrap().unwrap();
        assert_eq!((second.sequence, second.missed_before), (7, 0));
    }

    #[tokio::test]
    async fn a_stopping_server_ends_every_stream() {
        let log = RequestLog::new(10);
        let stop = Stop::default();
        let mut records = watch(&log, &stop).unwrap();
        stop.stop();
        let error = records.next().await.unwrap().unwrap_err();
        assert_eq!(error.code(), Code::Unavailable);
        assert!(records.next().await.is_none());
    }

    #[tokio::test]
    async fn a_forgotten_session_ends_its_streams() {
        let log = RequestLog::new(10);
        let stop = Stop::default();
        let mut records = watch(&log, &stop).unwrap();
        drop(log);
        let error = records.next().await.unwrap().unwrap_err();
        assert_eq!(error.code(), Code::Unavailable);
        assert!(error.message().contains("forgotten"));
        assert!(records.next().await.is_none());
    }

    #[tokio::test]
    async fn a_cancelled_stream_gives_its_place_back() {
        let log = RequestLog::new(10);
        let stop = Stop::default();
        let records = watch(&log, &stop).unwrap();
        assert_eq!(log.watchers(), 1);
        drop(records);
        assert_eq!(log.watchers(), 0);
    }
}
