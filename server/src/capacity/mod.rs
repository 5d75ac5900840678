//! Capacity: a server that can be overloaded.
//!
//! Without it the lab's server has unlimited capacity: every request runs at
//! once, and every fault is an independent coin flip. Then retries can never
//! make things worse, and a circuit breaker only saves the caller's own time.
//! Real servers have a finite number of workers and a queue in front of
//! them, and the lessons worth learning — a retry storm that keeps a server
//! down after its trouble has passed, load shedding, pushback — need one.
//!
//! A lab session gets a capacity with `Lab/SetCapacity` (the default stays
//! unlimited, so everything that exists behaves as before):
//!
//! - **workers** W: executions at once (0: no limit);
//! - **queue** Q: requests waiting for a worker, first come first served.
//!   When W are busy and Q wait, the next request is refused at once with
//!   `RESOURCE_EXHAUSTED` (["overloaded: …"](Overload::message)), the header
//!   [`OVERLOAD`] naming the [`Limit`] hit, and `grpc-retry-pushback-ms` if
//!   the capacity sets a pushback;
//! - **service time** S: how long an execution holds its worker before the
//!   operation runs, growing with load as in Marc Brooker's simulations of
//!   metastable failure: S × (1 + k × executions already in flight);
//! - **abandoned work** ([`AbandonedWork`]): what the server does with a
//!   request whose client has given up;
//! - **brownouts** ([`Brownout`]): from t1 to t2 after the capacity was set,
//!   service times × m, or fewer workers, or both — one window as a trigger,
//!   or several as a schedule of capacity over time.
//!
//! This file holds the settings, their validation and the service-time
//! formula; [`queue`] is the waiting line and the workers as a pure model
//! (time is passed in, so its tests never sleep); [`state`] is one session's
//! capacity behind a lock; [`layer`] puts it in front of the handlers.
//!
//! Queueing is real: a queued request really waits in the server for a
//! worker, and a service time is really spent — asleep, so a class of
//! overloaded sessions costs little CPU. A production server's service time
//! is work, not sleep; the lab's is a stand-in that behaves the same for the
//! client.

pub mod layer;
pub mod queue;
pub mod state;

use std::time::{Duration, Instant};

use rpc_lab::proto::calculator_v1 as proto;
use tonic::Status;

/// Response header on a refusal: which limit was hit ([`Limit`]).
/// (An extension of the contract, like the lab's other `x-` headers.)
pub use rpc_lab::headers::LAB_OVERLOAD as OVERLOAD;

/// The largest `slowdown` (k): beyond it one execution in flight would
/// multiply the next one's service time by more than a hundred.
pub const MAX_SLOWDOWN: f64 = 100.0;
/// The largest brownout `service_time_factor` (m).
pub const MAX_SERVICE_TIME_FACTOR: f64 = 1000.0;
/// The longest pushback a refusal may ask for: ten minutes.
pub const MAX_PUSHBACK: Duration = Duration::from_secs(600);
/// The latest a brownout may end: a day after the capacity was set.
pub const MAX_BROWNOUT_END: Duration = Duration::from_secs(24 * 60 * 60);

/// The capacity's clock: Tokio's, read as a std `Instant` for the pure
/// [`queue`]. On a real server it is the real time; a test that pauses
/// Tokio's clock moves the whole capacity with it (timers and all).
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// What the server does with a request whose client has given up: hung up
/// (its request was dropped: an HTTP/2 `RST_STREAM`, a closed connection),
/// or let its `grpc-timeout` deadline pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AbandonedWork {
    /// Finish every request accepted, whether or not anyone still waits.
    /// Work for departed clients keeps the workers busy, so an overload
    /// feeds itself: the *sustaining effect*. Counted `abandoned` when the
    /// client had gone by the time the operation ran.
    #[default]
    Finish,
    /// When a worker takes a request from the queue whose deadline has
    /// already passed, answer `DEADLINE_EXCEEDED` without executing it
    /// (counted `skipped`). A hang-up alone changes nothing (the server does
    /// not watch connections), and work that has started is finished.
    SkipExpired,
    /// Follow the client: when it hangs up or its deadline passes, its
    /// request leaves the queue, or stops during its service time, before
    /// the operation runs (counted `cancelled`). The operation itself runs in
    /// one step, so it either happened entirely or not at all.
    CancelOnHangup,
}

/// A window of trouble, measured from when the capacity was set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Brownout {
    pub start: Duration,
    pub end: Duration,
    /// Service times of executions starting inside the window are
    /// multiplied by this.
    pub service_time_factor: f64,
    /// Workers inside the window; `None`: unchanged.
    pub workers: Option<u32>,
}

impl Brownout {
    fn covers(&self, since_set: Duration) -> bool {
        self.start <= since_set && since_set < self.end
    }

    fn to_proto(self) -> proto::Brownout {
        let millis = |d: Duration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX);
        proto::Brownout {
            start_ms: millis(self.start),
            end_ms: millis(self.end),
            service_time_factor: Some(self.service_time_factor),
            workers: self.workers,
        }
    }
}

/// The server's own caps on what a session may ask for (its flags), so one
/// class cannot exhaust the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapacityLimits {
    pub max_workers: u32,
    pub max_queue: u32,
    /// Also the longest any one service time may grow to, slowdown and
    /// brownout included.
    pub max_service: Duration,
}

impl Default for CapacityLimits {
    fn default() -> Self {
        CapacityLimits {
            max_workers: 10_000,
            max_queue: 100_000,
            max_service: Duration::from_secs(60),
        }
    }
}

/// One session's capacity, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct CapacitySettings {
    /// `None`: no limit on executions at once (and so no queue).
    pub workers: Option<u32>,
    pub queue: u32,
    pub service: Duration,
    pub slowdown: f64,
    pub abandoned_work: AbandonedWork,
    pub pushback: Option<Duration>,
    /// Windows of trouble, in time order, not overlapping.
    pub brownouts: Vec<Brownout>,
    /// The longest service time, whatever the formula says
    /// ([`CapacityLimits::max_service`]).
    pub max_service: Duration,
}

impl Default for CapacitySettings {
    /// No limit and no service time: the server as it is without a capacity.
    fn default() -> Self {
        CapacitySettings {
            workers: None,
            queue: 0,
            service: Duration::ZERO,
            slowdown: 0.0,
            abandoned_work: AbandonedWork::Finish,
            pushback: None,
            brownouts: Vec::new(),
            max_service: CapacityLimits::default().max_service,
        }
    }
}

impl CapacitySettings {
    /// Workers at `since_set` after the capacity was set (`None`: no limit).
    pub fn workers_at(&self, since_set: Duration) -> Option<u32> {
        match self.brownout_at(since_set) {
            Some(Brownout {
                workers: Some(fewer),
                ..
            }) => Some(*fewer),
            _ => self.workers,
        }
    }

    /// The brownout window `since_set` falls inside, if any.
    pub fn brownout_at(&self, since_set: Duration) -> Option<&Brownout> {
        self.brownouts.iter().find(|b| b.covers(since_set))
    }

    /// When (after the capacity was set) a window that cut the workers
    /// ends: then waiting requests may start without anyone finishing.
    pub fn workers_return(&self) -> impl Iterator<Item = Duration> + '_ {
        self.brownouts
            .iter()
            .filter(|b| b.workers.is_some())
            .map(|b| b.end)
    }

    /// The service time of an execution starting at `since_set`, with
    /// `in_flight` other executions already holding a worker:
    /// S × (1 + k × in_flight), × m inside a brownout, and never more than
    /// [`Self::max_service`]. Computed in whole microseconds.
    pub fn service_time(&self, since_set: Duration, in_flight: u32) -> Duration {
        let factor = self
            .brownout_at(since_set)
            .map_or(1.0, |brownout| brownout.service_time_factor);
        let micros =
            self.service.as_micros() as f64 * (1.0 + self.slowdown * f64::from(in_flight)) * factor;
        let ceiling = self.max_service.as_micros() as f64;
        Duration::from_micros(micros.min(ceiling).round() as u64)
    }

    /// The settings a `SetCapacity` request asks for, or `INVALID_ARGUMENT`
    /// naming the first field out of range. `None` (no capacity in the
    /// request) is the default: no limits.
    pub fn from_proto(
        capacity: Option<&proto::Capacity>,
        limits: &CapacityLimits,
    ) -> Result<CapacitySettings, Status> {
        let defaults = CapacitySettings {
            max_service: limits.max_service,
            ..CapacitySettings::default()
        };
        let Some(capacity) = capacity else {
            return Ok(defaults);
        };
        let invalid = |field: &str, rule: String| {
            Err(Status::invalid_argument(format!("capacity.{field} {rule}")))
        };
        if capacity.workers > limits.max_workers {
            return invalid(
                "workers",
                format!(
                    "must be at most {} on this server (--max-capacity-workers), got {}",
                    limits.max_workers, capacity.workers
                ),
            );
        }
        if capacity.queue > limits.max_queue {
            return invalid(
                "queue",
                format!(
                    "must be at most {} on this server (--max-capacity-queue), got {}",
                    limits.max_queue, capacity.queue
                ),
            );
        }
        let service = Duration::from_millis(capacity.service_ms.into());
        if service > limits.max_service {
            return invalid(
                "service_ms",
                format!(
                    "must be at most {} on this server (--max-service-ms), got {}",
                    limits.max_service.as_millis(),
                    capacity.service_ms
                ),
            );
        }
        if !(0.0..=MAX_SLOWDOWN).contains(&capacity.slowdown) {
            return invalid(
                "slowdown",
                format!(
                    "must be between 0 and {MAX_SLOWDOWN} (the extra share of service time per execution in flight), got {}",
                    capacity.slowdown
                ),
            );
        }
        let Ok(abandoned_work) = proto::AbandonedWork::try_from(capacity.abandoned_work) else {
            return invalid(
                "abandoned_work",
                format!(
                    "must be FINISH (0), SKIP_EXPIRED (1) or CANCEL_ON_HANGUP (2), got {}",
                    capacity.abandoned_work
                ),
            );
        };
        let pushback = Duration::from_millis(capacity.pushback_ms.into());
        if pushback > MAX_PUSHBACK {
            return invalid(
                "pushback_ms",
                format!(
                    "must be at most {} (ten minutes), got {}",
                    MAX_PUSHBACK.as_millis(),
                    capacity.pushback_ms
                ),
            );
        }
        let brownouts = Self::brownouts_from_proto(capacity, limits)?;
        let workers = (capacity.workers > 0).then_some(capacity.workers);
        if workers.is_none() && capacity.queue > 0 && brownouts.iter().all(|b| b.workers.is_none())
        {
            return invalid(
                "queue",
                format!(
                    "needs workers: with workers = 0 (no limit) nothing ever waits, so a queue of {} would never be used",
                    capacity.queue
                ),
            );
        }
        Ok(CapacitySettings {
            workers,
            queue: capacity.queue,
            service,
            slowdown: capacity.slowdown,
            abandoned_work: match abandoned_work {
                proto::AbandonedWork::Finish => AbandonedWork::Finish,
                proto::AbandonedWork::SkipExpired => AbandonedWork::SkipExpired,
                proto::AbandonedWork::CancelOnHangup => AbandonedWork::CancelOnHangup,
            },
            pushback: (!pushback.is_zero()).then_some(pushback),
            brownouts,
            max_service: limits.max_service,
        })
    }

    /// `brownout` and `brownouts`, each checked, in time order; they must
    /// not overlap.
    fn brownouts_from_proto(
        capacity: &proto::Capacity,
        limits: &CapacityLimits,
    ) -> Result<Vec<Brownout>, Status> {
        let first = capacity.brownout.iter().map(|b| (b, "brownout".to_owned()));
        let more =
            (capacity.brownouts.iter().enumerate()).map(|(i, b)| (b, format!("brownouts[{i}]")));
        let mut brownouts = Vec::new();
        for (brownout, name) in first.chain(more) {
            brownouts.push(Self::brownout_from_proto(
                brownout, &name, capacity, limits,
            )?);
        }
        brownouts.sort_by_key(|b| b.start);
        if let Some(pair) = brownouts
            .windows(2)
            .find(|pair| pair[1].start < pair[0].end)
        {
            return Err(Status::invalid_argument(format!(
                "capacity.brownouts overlap: one runs from {} to {} ms, another starts at {} ms",
                pair[0].start.as_millis(),
                pair[0].end.as_millis(),
                pair[1].start.as_millis()
            )));
        }
        Ok(brownouts)
    }

    fn brownout_from_proto(
        brownout: &proto::Brownout,
        name: &str,
        capacity: &proto::Capacity,
        limits: &CapacityLimits,
    ) -> Result<Brownout, Status> {
        let invalid = |field: &str, rule: String| {
            Err(Status::invalid_argument(format!(
                "capacity.{name}.{field} {rule}"
            )))
        };
        let start = Duration::from_millis(brownout.start_ms.into());
        let end = Duration::from_millis(brownout.end_ms.into());
        if end <= start {
            return invalid(
                "end_ms",
                format!(
                    "must be after start_ms ({}), got {}",
                    brownout.start_ms, brownout.end_ms
                ),
            );
        }
        if end > MAX_BROWNOUT_END {
            return invalid(
                "end_ms",
                format!(
                    "must be at most {} (a day), got {}",
                    MAX_BROWNOUT_END.as_millis(),
                    brownout.end_ms
                ),
            );
        }
        let factor = brownout.service_time_factor.unwrap_or(1.0);
        if !(1.0..=MAX_SERVICE_TIME_FACTOR).contains(&factor) {
            return invalid(
                "service_time_factor",
                format!(
                    "must be between 1 and {MAX_SERVICE_TIME_FACTOR} (a brownout makes service slower), got {factor}"
                ),
            );
        }
        if let Some(fewer) = brownout.workers {
            if capacity.workers > 0 && fewer > capacity.workers {
                return invalid(
                    "workers",
                    format!(
                        "must be at most workers ({}): a brownout leaves fewer, got {fewer}",
                        capacity.workers
                    ),
                );
            }
            if fewer > limits.max_workers {
                return invalid(
                    "workers",
                    format!(
                        "must be at most {} on this server (--max-capacity-workers), got {fewer}",
                        limits.max_workers
                    ),
                );
            }
        }
        if brownout.service_time_factor.is_none() && brownout.workers.is_none() {
            return invalid(
                "service_time_factor",
                "or workers must be set: a brownout that changes nothing is a mistake".to_owned(),
            );
        }
        Ok(Brownout {
            start,
            end,
            service_time_factor: factor,
            workers: brownout.workers,
        })
    }

    /// The settings as the wire shows them (what `SetCapacity` returns and
    /// `GetStats` reports).
    pub fn to_proto(&self) -> proto::Capacity {
        let millis = |d: Duration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX);
        proto::Capacity {
            workers: self.workers.unwrap_or(0),
            queue: self.queue,
            service_ms: millis(self.service),
            slowdown: self.slowdown,
            abandoned_work: match self.abandoned_work {
                AbandonedWork::Finish => proto::AbandonedWork::Finish,
                AbandonedWork::SkipExpired => proto::AbandonedWork::SkipExpired,
                AbandonedWork::CancelOnHangup => proto::AbandonedWork::CancelOnHangup,
            } as i32,
            pushback_ms: self.pushback.map_or(0, millis),
            brownout: self.brownouts.first().map(|b| b.to_proto()),
            brownouts: self
                .brownouts
                .iter()
                .skip(1)
                .map(|b| b.to_proto())
                .collect(),
        }
    }
}

/// Which limit a refused request hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// Every worker busy, and the session has no queue (Q = 0).
    WorkersBusy,
    /// Every worker busy and the queue full.
    QueueFull,
}

impl Limit {
    /// The value of the [`OVERLOAD`] header.
    pub fn name(self) -> &'static str {
        match self {
            Limit::WorkersBusy => "workers-busy",
            Limit::QueueFull => "queue-full",
        }
    }
}

/// Why a request was refused, with the numbers the message quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overload {
    pub limit: Limit,
    /// Workers at that moment (fewer inside a brownout).
    pub workers: u32,
    /// Executions in flight (more than `workers` just after a brownout cut them).
    pub in_flight: u32,
    pub queued: u32,
    /// Whether a brownout had cut the workers.
    pub brownout: bool,
}

impl Overload {
    /// What the refusal says: the numbers, and where they come from.
    pub fn message(&self) -> String {
        let workers = plural(self.workers, "worker");
        let workers = if self.brownout {
            format!("{workers} (a brownout)")
        } else {
            workers
        };
        let queue = match self.limit {
            Limit::WorkersBusy => "no queue".to_owned(),
            Limit::QueueFull => format!("{} queued", plural(self.queued, "request")),
        };
        format!(
            "overloaded: {} executing on {workers} and {queue} (this session's capacity; see Lab/SetCapacity)",
            self.in_flight
        )
    }
}

/// "1 worker", "4 workers".
fn plural(n: u32, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn valid(capacity: proto::Capacity) -> CapacitySettings {
        CapacitySettings::from_proto(Some(&capacity), &CapacityLimits::default()).unwrap()
    }

    fn refused(capacity: proto::Capacity) -> String {
        let error =
            CapacitySettings::from_proto(Some(&capacity), &CapacityLimits::default()).unwrap_err();
        assert_eq!(error.code(), tonic::Code::InvalidArgument);
        error.message().to_owned()
    }

    #[test]
    fn no_capacity_is_no_limit() {
        let settings = CapacitySettings::from_proto(None, &CapacityLimits::default()).unwrap();
        assert_eq!(settings, CapacitySettings::default());
        assert_eq!(settings, valid(proto::Capacity::default()));
        assert_eq!(settings.workers_at(ms(0)), None);
        assert_eq!(settings.service_time(ms(0), 1000), Duration::ZERO);
    }

    #[test]
    fn service_time_grows_with_executions_in_flight() {
        let settings = valid(proto::Capacity {
            workers: 10,
            service_ms: 50,
            slowdown: 0.5,
            ..Default::default()
        });
        assert_eq!(settings.service_time(ms(0), 0), ms(50), "alone: S");
        assert_eq!(settings.service_time(ms(0), 1), ms(75), "S × (1 + 0.5 × 1)");
        assert_eq!(
            settings.service_time(ms(0), 4),
            ms(150),
            "S × (1 + 0.5 × 4)"
        );
    }

    #[test]
    fn a_brownout_slows_service_and_cuts_workers_inside_its_window_only() {
        let settings = valid(proto::Capacity {
            workers: 4,
            queue: 8,
            service_ms: 20,
            slowdown: 0.25,
            brownout: Some(proto::Brownout {
                start_ms: 1000,
                end_ms: 3000,
                service_time_factor: Some(10.0),
                workers: Some(1),
            }),
            ..Default::default()
        });
        for (at, workers, service) in [
            (0, 4, 30),      // before: 20 × 1.5
            (999, 4, 30),    // still before
            (1000, 1, 300),  // the window starts: × 10, one worker
            (2999, 1, 300),  // still inside
            (3000, 4, 30),   // the window is half-open: over at end_ms
            (60_000, 4, 30), // long after
        ] {
            assert_eq!(
                settings.workers_at(ms(at)),
                Some(workers),
                "workers at {at} ms"
            );
            assert_eq!(
                settings.service_time(ms(at), 2),
                ms(service),
                "service at {at} ms"
            );
        }
    }

    #[test]
    fn a_brownout_can_limit_a_server_without_limits() {
        let settings = valid(proto::Capacity {
            queue: 5,
            brownout: Some(proto::Brownout {
                start_ms: 0,
                end_ms: 100,
                service_time_factor: None,
                workers: Some(0),
            }),
            ..Default::default()
        });
        assert_eq!(settings.workers_at(ms(50)), Some(0), "an outage");
        assert_eq!(settings.workers_at(ms(100)), None, "no limit again");
    }

    #[test]
    fn service_time_never_exceeds_the_server_s_cap() {
        let limits = CapacityLimits {
            max_service: ms(1000),
            ..CapacityLimits::default()
        };
        let settings = CapacitySettings::from_proto(
            Some(&proto::Capacity {
                service_ms: 1000,
                slowdown: 100.0,
                ..Default::default()
            }),
            &limits,
        )
        .unwrap();
        assert_eq!(settings.service_time(ms(0), 10_000), ms(1000));
    }

    #[test]
    fn every_field_round_trips_through_the_wire() {
        let capacity = proto::Capacity {
            workers: 3,
            queue: 7,
            service_ms: 40,
            slowdown: 0.1,
            abandoned_work: proto::AbandonedWork::CancelOnHangup as i32,
            pushback_ms: 250,
            brownout: Some(proto::Brownout {
                start_ms: 10,
                end_ms: 20,
                service_time_factor: Some(2.5),
                workers: Some(1),
            }),
            brownouts: vec![proto::Brownout {
                start_ms: 30,
                end_ms: 40,
                service_time_factor: Some(1.0),
                workers: Some(0),
            }],
        };
        let settings = valid(capacity.clone());
        assert_eq!(settings.abandoned_work, AbandonedWork::CancelOnHangup);
        assert_eq!(settings.pushback, Some(ms(250)));
        assert_eq!(settings.to_proto(), capacity);
    }

    #[test]
    fn a_schedule_of_windows_is_kept_in_time_order_and_each_applies_inside_itself() {
        let window = |start_ms, end_ms, factor, workers| proto::Brownout {
            start_ms,
            end_ms,
            service_time_factor: factor,
            workers,
        };
        // Given out of order: a slow spell at 100-200 ms, an outage at
        // 300-400, one worker of four at 0-50.
        let settings = valid(proto::Capacity {
            workers: 4,
            queue: 10,
            service_ms: 10,
            brownout: Some(window(100, 200, Some(3.0), None)),
            brownouts: vec![
                window(300, 400, None, Some(0)),
                window(0, 50, None, Some(1)),
            ],
            ..Default::default()
        });
        let starts: Vec<u128> = settings
            .brownouts
            .iter()
            .map(|b| b.start.as_millis())
            .collect();
        assert_eq!(starts, [0, 100, 300]);
        assert_eq!(settings.workers_at(ms(10)), Some(1));
        assert_eq!(settings.workers_at(ms(60)), Some(4), "between windows");
        assert_eq!(settings.service_time(ms(150), 0), ms(30));
        assert_eq!(
            settings.workers_at(ms(150)),
            Some(4),
            "a slow spell keeps its workers"
        );
        assert_eq!(settings.workers_at(ms(350)), Some(0));
        assert_eq!(
            settings.workers_at(ms(400)),
            Some(4),
            "a window ends at its end"
        );
        assert_eq!(settings.service_time(ms(400), 0), ms(10));
        // The queue must look again when each window that cut workers ends.
        let returns: Vec<u128> = settings.workers_return().map(|d| d.as_millis()).collect();
        assert_eq!(returns, [50, 400]);
        // Said back in time order: the first as `brownout`, the rest after it.
        let said = settings.to_proto();
        assert_eq!(said.brownout, Some(window(0, 50, Some(1.0), Some(1))));
        assert_eq!(said.brownouts.len(), 2);
        assert_eq!(said.brownouts[1].start_ms, 300);
    }

    #[test]
    fn overlapping_windows_are_refused() {
        let status = CapacitySettings::from_proto(
            Some(&proto::Capacity {
                workers: 4,
                service_ms: 10,
                brownout: Some(proto::Brownout {
                    start_ms: 100,
                    end_ms: 300,
                    service_time_factor: Some(2.0),
                    workers: None,
                }),
                brownouts: vec![proto::Brownout {
                    start_ms: 200,
                    end_ms: 250,
                    service_time_factor: None,
                    workers: Some(1),
                }],
                ..Default::default()
            }),
            &CapacityLimits::default(),
        )
        .unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "capacity.brownouts overlap: one runs from 100 to 300 ms, another starts at 200 ms"
        );
    }

    #[test]
    fn values_out_of_range_are_refused_naming_the_field() {
        let base = proto::Capacity {
            workers: 2,
            ..Default::default()
        };
        let window = |b: proto::Brownout| proto::Capacity {
            brownout: Some(b),
            ..base.clone()
        };
        let slower = proto::Brownout {
            start_ms: 0,
            end_ms: 10,
            service_time_factor: Some(2.0),
            workers: None,
        };
        for (capacity, field) in [
            (
                proto::Capacity {
                    workers: 10_001,
                    ..base.clone()
                },
                "capacity.workers",
            ),
            (
                proto::Capacity {
                    queue: 100_001,
                    ..base.clone()
                },
                "capacity.queue",
            ),
            (
                proto::Capacity {
                    service_ms: 60_001,
                    ..base.clone()
                },
                "capacity.service_ms",
            ),
            (
                proto::Capacity {
                    slowdown: -0.5,
                    ..base.clone()
                },
                "capacity.slowdown",
            ),
            (
                proto::Capacity {
                    slowdown: f64::NAN,
                    ..base.clone()
                },
                "capacity.slowdown",
            ),
            (
                proto::Capacity {
                    slowdown: 101.0,
                    ..base.clone()
                },
                "capacity.slowdown",
            ),
            (
                proto::Capacity {
                    abandoned_work: 7,
                    ..base.clone()
                },
                "capacity.abandoned_work",
            ),
            (
                proto::Capacity {
                    pushback_ms: 600_001,
                    ..base.clone()
                },
                "capacity.pushback_ms",
            ),
            (
                proto::Capacity {
                    workers: 0,
                    queue: 3,
                    ..base.clone()
                },
                "capacity.queue",
            ),
            (
                window(proto::Brownout {
                    end_ms: 0,
                    ..slower
                }),
                "capacity.brownout.end_ms",
            ),
            (
                window(proto::Brownout {
                    end_ms: 86_400_001,
                    ..slower
                }),
                "capacity.brownout.end_ms",
            ),
            (
                window(proto::Brownout {
                    service_time_factor: Some(0.5),
                    ..slower
                }),
                "capacity.brownout.service_time_factor",
            ),
            (
                window(proto::Brownout {
                    service_time_factor: Some(f64::INFINITY),
                    ..slower
                }),
                "capacity.brownout.service_time_factor",
            ),
            (
                window(proto::Brownout {
                    service_time_factor: None,
                    workers: None,
                    ..slower
                }),
                "capacity.brownout.service_time_factor",
            ),
            (
                window(proto::Brownout {
                    workers: Some(3),
                    ..slower
                }),
                "capacity.brownout.workers",
            ),
        ] {
            let message = refused(capacity);
            assert!(message.starts_with(field), "{field}: {message}");
        }
    }

    #[test]
    fn a_refusal_says_which_limit_and_why() {
        let full = Overload {
            limit: Limit::QueueFull,
            workers: 4,
            in_flight: 4,
            queued: 8,
            brownout: false,
        };
        assert_eq!(
            full.message(),
            "overloaded: 4 executing on 4 workers and 8 requests queued (this session's capacity; see Lab/SetCapacity)"
        );
        assert_eq!(full.limit.name(), "queue-full");
        let browned_out = Overload {
            limit: Limit::WorkersBusy,
            workers: 1,
            in_flight: 3,
            queued: 0,
            brownout: true,
        };
        assert!(
            browned_out
                .message()
                .contains("3 executing on 1 worker (a brownout) and no queue"),
            "{}",
            browned_out.message()
        );
        assert_eq!(browned_out.limit.name(), "workers-busy");
    }
}
