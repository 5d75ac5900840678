//! The `calculator.v1.Store` gRPC service.
//!
//! `CompareAndSet`'s refusal of a stale version carries the current version
//! as metadata on its `Status` (the rule puts it there); tonic sends an
//! error's metadata with the status, so a client reads it as a trailer.

use rpc_lab::proto::Number;
use rpc_lab::proto::calculator_v1::store_server::{Store, StoreServer};
use rpc_lab::proto::calculator_v1::{
    AppendReply, AppendRequest, CompareAndSetRequest, DeleteValueReply, DeleteValueRequest,
    GetValueRequest, IncrementRequest, SetValueRequest, VersionedValue,
};
use tonic::{Request, Response, Status};

use super::session;
use crate::rules::key_value::Versioned;

#[derive(Clone, Copy, Debug, Default)]
pub struct StoreService;

impl StoreService {
    pub fn into_server(self) -> StoreServer<Self> {
        StoreServer::new(self)
    }
}

#[tonic::async_trait]
impl Store for StoreService {
    async fn set_value(
        &self,
        request: Request<SetValueRequest>,
    ) -> Result<Response<Number>, Status> {
        let session = session(&request)?;
        let SetValueRequest { key, value } = request.into_inner();
        let value = session.data.lock().unwrap().store.set(&key, value)?;
        Ok(Response::new(Number { value }))
    }

    async fn get_value(
        &self,
        request: Request<GetValueRequest>,
    ) -> Result<Response<Number>, Status> {
        let session = session(&request)?;
        let value = session
            .data
            .lock()
            .unwrap()
            .store
            .get(&request.get_ref().key)?;
        Ok(Response::new(Number { value }))
    }

    async fn delete_value(
        &self,
        request: Request<DeleteValueRequest>,
    ) -> Result<Response<DeleteValueReply>, Status> {
        let session = session(&request)?;
        let existed = session
            .data
            .lock()
            .unwrap()
            .store
            .delete(&request.get_ref().key)?;
        Ok(Response::new(DeleteValueReply { existed }))
    }

    async fn increment(
        &self,
        request: Request<IncrementRequest>,
    ) -> Result<Response<Number>, Status> {
        let session = session(&request)?;
        let IncrementRequest { key, delta } = request.into_inner();
        let value = session.data.lock().unwrap().store.increment(&key, delta)?;
        Ok(Response::new(Number { value }))
    }

    async fn append(
        &self,
        request: Request<AppendRequest>,
    ) -> Result<Response<AppendReply>, Status> {
        let session = session(&request)?;
        let AppendRequest { key, item } = request.into_inner();
        let items = session.data.lock().unwrap().store.append(&key, item)?;
        Ok(Response::new(AppendReply { items }))
    }

    async fn get_versioned_value(
        &self,
        request: Request<GetValueRequest>,
    ) -> Result<Response<VersionedValue>, Status> {
        let session = session(&request)?;
        let versioned = session
            .data
            .lock()
            .unwrap()
            .store
            .get_versioned(&request.get_ref().key)?;
        Ok(Response::new(reply(versioned)))
    }

    async fn compare_and_set(
        &self,
        request: Request<CompareAndSetRequest>,
    ) -> Result<Response<VersionedValue>, Status> {
        let session = session(&request)?;
        let CompareAndSetRequest {
            key,
            expected_version,
            value,
        } = request.into_inner();
        let versioned =
            session
                .data
                .lock()
                .unwrap()
                .store
                .compare_and_set(&key, expected_version, value)?;
        Ok(Response::new(reply(versioned)))
    }
}

fn reply(Versioned { value, version }: Versioned) -> VersionedValue {
    VersionedValue { value, version }
}
