//! Applies the fault plan of [`crate::fault`] to a request.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;
use http_body_util::BodyExt;
use rpc_lab::headers::{FAULT_INJECTED, IDEMPOTENT_REPLAYED};
use tonic::Status;

use crate::deadline::{self, GRPC_TIMEOUT};
use crate::layers::executions::Executed;
use crate::layers::{Protocol, contract_operation, session_of};
use crate::request_log::{self, RequestOutcome};
use crate::session::Stats;
use crate::state::LabState;

pub async fn inject(
    State(lab): State<Arc<LabState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(protocol) = contract_operation(request.uri().path()) else {
        return next.run(request).await;
    };
    let profile = match lab.faults.profile(request.headers()) {
        Ok(profile) => profile,
        Err(status) => return protocol.reject(status),
    };
    let session = session_of(&request);
    let plan = profile.plan(&mut session.rng.lock().unwrap());

    if plan.fail {
        Stats::bump(&session.stats.faults_fail);
        return injected(
            protocol,
            Status::unavailable(
                "injected fault: the server failed before executing the call (nothing happened)",
            ),
            "fail",
        );
    }

    let delayed = !plan.delay.is_zero();
    if delayed {
        let record = request_log::layer::marks(&request).cloned();
        Stats::bump(&session.stats.faults_delay);
        if let Some(record) = &record {
            record.delayed();
        }
        let timeout = match request
            .headers()
            .get(GRPC_TIMEOUT)
            .map(|v| deadline::parse(v.as_bytes()))
        {
            None => None,
            Some(Ok(timeout)) => Some(timeout),
            Some(Err(status)) => return protocol.reject(status),
        };
        match timeout {
            Some(timeout) if timeout <= plan.delay => {
                // Nobody will wait for the answer: do not execute at all.
                tokio::time::sleep(timeout).await;
                if let Some(record) = &record {
                    record.decide(RequestOutcome::DeadlineBeforeExecution);
                }
                return injected(
                    protocol,
                    Status::deadline_exceeded(format!(
                        "the client's deadline ({} ms) ran out during an injected delay of {} ms; the call was not executed",
                        timeout.as_millis(),
                        plan.delay.as_millis()
                    )),
                    "delay",
                );
            }
            Some(timeout) => {
                tokio::time::sleep(plan.delay).await;
                // What is left of the deadline travels on with the request.
                let rest = deadline::encode(timeout - plan.delay);
                request.headers_mut().insert(
                    GRPC_TIMEOUT,
                    HeaderValue::from_str(&rest).expect("digits and a unit"),
                );
            }
            None => tokio::time::sleep(plan.delay).await,
        }
    }

    let mut response = next.run(request).await;

    // A drop loses the reply of a call that ran, or that the idempotency
    // layer answered from its store (not executed now: the lost reply keeps
    // saying so, or the client would count an execution that never happened).
    // A call refused before executing — a malformed key, a key reused for
    // another request — keeps its refusal: a lost reply claiming "the server
    // executed the call" would teach the student something false.
    let executed = response.extensions().get::<Executed>().is_some();
    let replayed = response.headers().get(IDEMPOTENT_REPLAYED).cloned();
    if plan.drop && (executed || replayed.is_some()) {
        // Read the whole reply first: the operation has then completely run
        // (and its outcome is stored under its key, if it had one).
        let _ = response.into_body().collect().await;
        Stats::bump(&session.stats.faults_drop);
        let message = if replayed.is_some() {
            "injected fault: the server answered from the idempotency store (without executing again), then the reply was lost"
        } else {
            "injected fault: the server executed the call, then the reply was lost"
        };
        let mut lost = injected(protocol, Status::unavailable(message), "drop");
        if let Some(replayed) = replayed {
            lost.headers_mut().insert(IDEMPOTENT_REPLAYED, replayed);
        }
        return lost;
    }
    if delayed {
        response
            .headers_mut()
            .insert(FAULT_INJECTED, HeaderValue::from_static("delay"));
    }
    response
}

fn injected(protocol: Protocol, status: Status, kind: &'static str) -> Response {
    let mut response = protocol.reject(status);
    response
        .headers_mut()
        .insert(FAULT_INJECTED, HeaderValue::from_static(kind));
    response
}
