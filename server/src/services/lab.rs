//! The `calculator.v1.Lab` service: the server's truth about a session.

use std::pin::Pin;
use std::sync::Arc;

use rpc_lab::proto::calculator_v1::lab_server::{Lab, LabServer};
use rpc_lab::proto::calculator_v1::{
    Capacity, GetStatsRequest, LabStats, LoadScenario, LoadSnapshot, PaymentTier,
    ResetSessionReply, ResetSessionRequest, SetCapacityRequest, SetPaymentTierRequest,
    WatchRequestsRequest,
};
use tonic::{Request, Response, Status};

use super::session;
use crate::capacity::{self, CapacitySettings};
use crate::load::{runner, scenario::Scenario};
use crate::request_log::watch;
use crate::shop::PaymentTierSettings;
use crate::state::LabState;

#[derive(Clone, Debug)]
pub struct LabService {
    lab: Arc<LabState>,
}

impl LabService {
    pub fn new(lab: Arc<LabState>) -> Self {
        LabService { lab }
    }

    pub fn into_server(self) -> LabServer<Self> {
        LabServer::new(self)
    }
}

/// A run's snapshots, as the response stream of `RunLoad`.
type SnapshotStream =
    Pin<Box<dyn futures_util::Stream<Item = Result<LoadSnapshot, Status>> + Send>>;

#[tonic::async_trait]
impl Lab for LabService {
    type RunLoadStream = SnapshotStream;
    type WatchRequestsStream = watch::Records;

    async fn get_stats(
        &self,
        request: Request<GetStatsRequest>,
    ) -> Result<Response<LabStats>, Status> {
        let session = session(&request)?;
        let stats = session.stats.snapshot();
        let (capacity, load) = match session.capacity.active() {
            Some(capacity) => {
                let (settings, load) = capacity.snapshot();
                (Some(settings.to_proto()), load)
            }
            None => (None, Default::default()),
        };
        let checkouts = session.payment.snapshot();
        Ok(Response::new(LabStats {
            session: session.name.to_string(),
            executions: stats.executions,
            replays: stats.replays,
            key_reuse_rejected: stats.key_reuse_rejected,
            faults_fail: stats.faults_fail,
            faults_drop: stats.faults_drop,
            faults_delay: stats.faults_delay,
            idempotency_keys: self.lab.idempotency.session_len(&session.name) as u64,
            idempotency_keys_total: self.lab.idempotency.len() as u64,
            queue_depth: load.queue_depth.into(),
            executions_in_flight: load.in_flight.into(),
            executions_started: load.counts.started,
            executions_finished: load.counts.finished,
            executions_abandoned: load.counts.abandoned,
            executions_skipped: load.counts.skipped,
            executions_cancelled: load.counts.cancelled,
            executions_interrupted: load.counts.interrupted,
            refused_overloaded: load.counts.refused,
            capacity,
            checkouts_paid: checkouts.paid,
            checkouts_payment_failed: checkouts.payment_failed,
            checkouts_rejected_by_breaker: checkouts.rejected_by_breaker,
            checkouts_bulkhead_full: checkouts.bulkhead_full,
            checkouts_waiting_on_payment: checkouts.waiting_on_payment,
            checkouts_abandoned: checkouts.abandoned,
        }))
    }

    async fn reset_session(
        &self,
        request: Request<ResetSessionRequest>,
    ) -> Result<Response<ResetSessionReply>, Status> {
        let session = session(&request)?;
        let seed = request.get_ref().seed;
        self.lab.sessions.reset(&session.name, seed);
        self.lab.idempotency.forget_session(&session.name);
        tracing::info!(session = %session.name, ?seed, "session reset");
        Ok(Response::new(ResetSessionReply {}))
    }

    async fn set_capacity(
        &self,
        request: Request<SetCapacityRequest>,
    ) -> Result<Response<Capacity>, Status> {
        let session = session(&request)?;
        let settings = CapacitySettings::from_proto(
            request.get_ref().capacity.as_ref(),
            &self.lab.capacity_limits,
        )?;
        tracing::info!(session = %session.name, ?settings, "capacity set");
        session.capacity.set(settings.clone(), capacity::now());
        Ok(Response::new(settings.to_proto()))
    }

    async fn set_payment_tier(
        &self,
        request: Request<SetPaymentTierRequest>,
    ) -> Result<Response<PaymentTier>, Status> {
        let session = session(&request)?;
        let settings = PaymentTierSettings::from_proto(
            request.get_ref().payment_tier.as_ref(),
            &self.lab.capacity_limits,
        )?;
        session.payment.set(settings.clone(), capacity::now());
        tracing::info!(session = %session.name, ?settings, "payment tier set");
        Ok(Response::new(session.payment.settings().to_proto()))
    }

    async fn run_load(
        &self,
        request: Request<LoadScenario>,
    ) -> Result<Response<Self::RunLoadStream>, Status> {
        let session = session(&request)?;
        let scenario = Scenario::from_proto(
            request.get_ref(),
            self.lab.load_runs.limits(),
            &self.lab.capacity_limits,
            crate::random_seed(),
        )?;
        let Some(&target) = self.lab.own_address.get() else {
            return Err(Status::unavailable(
                "the load engine does not know this server's address \
                 (the server was not started by rpc_lab_server::serve)",
            ));
        };
        let slot = self.lab.load_runs.begin(&session.name)?;
        // Both set at the same moment, so their brownouts line up.
        let now = capacity::now();
        if let Some(capacity) = scenario.capacity.clone() {
            session.capacity.set(capacity, now);
        }
        if let Some(tier) = scenario.payment_tier.clone() {
            session.payment.set(tier, now);
        }
        tracing::info!(session = %session.name, ?scenario, "load run started");
        let mut snapshots = runner::start(
            scenario,
            target,
            session.name.clone(),
            self.lab.clone(),
            slot,
        )?;
        let stream = futures_util::stream::poll_fn(move |cx| snapshots.poll_recv(cx));
        Ok(Response::new(Box::pin(stream)))
    }

    async fn watch_requests(
        &self,
        request: Request<WatchRequestsRequest>,
    ) -> Result<Response<Self::WatchRequestsStream>, Status> {
        let session = session(&request)?;
        let records = watch::watch(&session.requests, &self.lab.stop_watching)?;
        tracing::debug!(session = %session.name, "watching the session's requests");
        Ok(Response::new(records))
    }
}
