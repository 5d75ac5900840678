//! The `calculator.v1.Lab` service: the server's truth about a session.

use std::sync::Arc;

use rpc_lab::proto::calculator_v1::lab_server::{Lab, LabServer};
use rpc_lab::proto::calculator_v1::{
    GetStatsRequest, LabStats, ResetSessionReply, ResetSessionRequest,
};
use tonic::{Request, Response, Status};

use super::session;
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

#[tonic::async_trait]
impl Lab for LabService {
    async fn get_stats(
        &self,
        request: Request<GetStatsRequest>,
    ) -> Result<Response<LabStats>, Status> {
        let session = session(&request)?;
        let stats = session.stats.snapshot();
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
}
