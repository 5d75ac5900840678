//! The REST/JSON twin of the gRPC services, for the "RPC vs REST" lesson.
//!
//! The same rules (`arithmetic`, `key_value`, `ledger`) behind the same
//! layers (sessions, faults, idempotency), on the same port, under
//! `/api/v1`. Where gRPC has methods, REST has resources and HTTP verbs — and
//! HTTP's verbs carry meaning a gRPC method name does not: `GET`, `PUT` and
//! `DELETE` are idempotent by definition, `POST` is not.
//!
//! | request | gRPC twin | reply |
//! | --- | --- | --- |
//! | `POST /api/v1/calculator/{add,subtract,multiply,divide}` `{"a": 1, "b": 2}` | `Calculator/Add`… | `{"value": 3}` |
//! | `PUT /api/v1/store/values/{key}` `{"value": 10}` | `Store/SetValue` | `{"value": 10}` |
//! | `GET /api/v1/store/values/{key}` | `Store/GetValue` | `{"value": 10}` |
//! | `DELETE /api/v1/store/values/{key}` | `Store/DeleteValue` | `{"existed": true}` |
//! | `POST /api/v1/store/values/{key}/increment` `{"delta": 1}` | `Store/Increment` | `{"value": 11}` |
//! | `POST /api/v1/store/lists/{key}` `{"item": 5}` | `Store/Append` | `{"items": [5]}` |
//! | `GET /api/v1/store/versioned/{key}` | `Store/GetVersionedValue` | `{"value": 10, "version": 3}` |
//! | `PUT /api/v1/store/versioned/{key}` `{"expected_version": 3, "value": 11}` | `Store/CompareAndSet` | `{"value": 11, "version": 4}` |
//! | `POST /api/v1/accounts/{account}/deposit` `{"amount_cents": 100}` | `Account/Deposit` | `{"account": …, "balance_cents": …}` |
//! | `POST /api/v1/accounts/{account}/withdraw` `{"amount_cents": 100}` | `Account/Withdraw` | the same |
//! | `GET /api/v1/accounts/{account}` | `Account/GetBalance` | the same |
//!
//! Errors are `{"code": "INVALID_ARGUMENT", "message": "..."}` with the HTTP
//! status the code maps to ([`reply::http_status`]); a body that is not JSON,
//! not `application/json` or too large gets 400, 415 or 413.
//!
//! A stale compare-and-set is `409 Conflict` (`ABORTED`, as every ABORTED
//! here) with the current version in the header `x-lab-current-version`.
//! HTTP has its own idiom for this — an `ETag` on the read, `If-Match` on
//! the write, `412 Precondition Failed` when it no longer matches — but the
//! twin mirrors the gRPC method, so one code means one thing in both
//! protocols. It is a `PUT` because it is idempotent as HTTP defines it:
//! sent twice, it leaves the state one copy leaves (the second is refused).

pub mod body;
pub mod reply;

use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::{any, get, post, put};
use http::HeaderMap;
use rpc_lab::calculator::ArithmeticOperation;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tonic::Status;

use crate::layers::executions::NoSuchOperation;
use crate::rules::arithmetic;
use crate::rules::key_value::{CURRENT_VERSION_HEADER, Versioned};
use crate::rules::ledger::Ledger;
use crate::session::Session;

/// Where the REST routes live.
pub const PREFIX: &str = "/api/v1";

/// The REST routes, with their full paths under [`PREFIX`].
pub fn router() -> Router {
    let at = |path: &str| format!("{PREFIX}{path}");
    Router::new()
        .route(&at("/calculator/{operation}"), post(calculate))
        .route(
            &at("/store/values/{key}"),
            put(set_value).get(get_value).delete(delete_value),
        )
        .route(&at("/store/values/{key}/increment"), post(increment))
        .route(&at("/store/lists/{key}"), post(append))
        .route(
            &at("/store/versioned/{key}"),
            get(get_versioned).put(compare_and_set),
        )
        .route(&at("/accounts/{account}"), get(balance))
        .route(&at("/accounts/{account}/deposit"), post(deposit))
        .route(&at("/accounts/{account}/withdraw"), post(withdraw))
        // Anything else under the prefix: a JSON 404, not gRPC's UNIMPLEMENTED.
        .route(
            &at("/{*rest}"),
            any(|| async {
                let mut reply = reply::error(&Status::not_found("no such resource under /api/v1"));
                reply.extensions_mut().insert(NoSuchOperation);
                reply
            }),
        )
        .method_not_allowed_fallback(|| async {
            let mut reply = reply::error(&Status::unimplemented(
                "this resource does not accept that HTTP method",
            ));
            *reply.status_mut() = http::StatusCode::METHOD_NOT_ALLOWED;
            reply.extensions_mut().insert(NoSuchOperation);
            reply
        })
}

/// Reads the JSON body as `T`, runs the rule, and answers in JSON.
async fn json<T, R>(
    headers: &HeaderMap,
    body: Body,
    rule: impl FnOnce(T) -> Result<R, Status>,
) -> Response
where
    T: DeserializeOwned,
    R: Serialize,
{
    match body::read_json::<T>(headers, body).await {
        Ok(request) => answer(rule(request)),
        Err(error) => error.into_reply(),
    }
}

fn answer<R: Serialize>(outcome: Result<R, Status>) -> Response {
    match outcome {
        Ok(value) => reply::ok(value),
        Err(status) => reply::error(&status),
    }
}

#[derive(Deserialize)]
struct Operands {
    a: f64,
    b: f64,
}

#[derive(Serialize)]
struct Value {
    value: f64,
}

async fn calculate(Path(operation): Path<String>, headers: HeaderMap, body: Body) -> Response {
    let operation = match operation.as_str() {
        "add" => ArithmeticOperation::Add,
        "subtract" => ArithmeticOperation::Subtract,
        "multiply" => ArithmeticOperation::Multiply,
        "divide" => ArithmeticOperation::Divide,
        other => {
            return reply::error(&Status::not_found(format!(
                "no operation {other:?}: use add, subtract, multiply or divide"
            )));
        }
    };
    json(&headers, body, |Operands { a, b }: Operands| {
        arithmetic::evaluate(operation, a, b)
            .map(|value| Value { value })
            .map_err(Status::from)
    })
    .await
}

#[derive(Deserialize)]
struct SetValue {
    value: f64,
}

async fn set_value(
    Extension(session): Extension<Arc<Session>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    json(&headers, body, |SetValue { value }: SetValue| {
        session
            .data
            .lock()
            .unwrap()
            .store
            .set(&key, value)
            .map(|value| Value { value })
    })
    .await
}

async fn get_value(
    Extension(session): Extension<Arc<Session>>,
    Path(key): Path<String>,
) -> Response {
    answer(
        session
            .data
            .lock()
            .unwrap()
            .store
            .get(&key)
            .map(|value| Value { value }),
    )
}

#[derive(Serialize)]
struct Existed {
    existed: bool,
}

async fn delete_value(
    Extension(session): Extension<Arc<Session>>,
    Path(key): Path<String>,
) -> Response {
    answer(
        session
            .data
            .lock()
            .unwrap()
            .store
            .delete(&key)
            .map(|existed| Existed { existed }),
    )
}

#[derive(Deserialize)]
struct Delta {
    delta: f64,
}

async fn increment(
    Extension(session): Extension<Arc<Session>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    json(&headers, body, |Delta { delta }: Delta| {
        session
            .data
            .lock()
            .unwrap()
            .store
            .increment(&key, delta)
            .map(|value| Value { value })
    })
    .await
}

#[derive(Deserialize)]
struct Item {
    item: f64,
}

#[derive(Serialize)]
struct Items {
    items: Vec<f64>,
}

async fn append(
    Extension(session): Extension<Arc<Session>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    json(&headers, body, |Item { item }: Item| {
        session
            .data
            .lock()
            .unwrap()
            .store
            .append(&key, item)
            .map(|items| Items { items })
    })
    .await
}

#[derive(Serialize)]
struct VersionedValue {
    value: f64,
    version: u64,
}

impl From<Versioned> for VersionedValue {
    fn from(Versioned { value, version }: Versioned) -> Self {
        VersionedValue { value, version }
    }
}

async fn get_versioned(
    Extension(session): Extension<Arc<Session>>,
    Path(key): Path<String>,
) -> Response {
    let outcome = session.data.lock().unwrap().store.get_versioned(&key);
    answer(outcome.map(VersionedValue::from))
}

#[derive(Deserialize)]
struct CompareAndSet {
    expected_version: u64,
    value: f64,
}

async fn compare_and_set(
    Extension(session): Extension<Arc<Session>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let request = match body::read_json::<CompareAndSet>(&headers, body).await {
        Ok(request) => request,
        Err(error) => return error.into_reply(),
    };
    let outcome = session.data.lock().unwrap().store.compare_and_set(
        &key,
        request.expected_version,
        request.value,
    );
    match outcome {
        Ok(versioned) => reply::ok(VersionedValue::from(versioned)),
        Err(status) => {
            // The rule put the current version on the status; REST sends it
            // as a header of the 409, as gRPC sends it as a trailer.
            let mut reply = reply::error(&status);
            if let Some(current) = status.metadata().get(CURRENT_VERSION_HEADER)
                && let Ok(value) = http::HeaderValue::from_bytes(current.as_bytes())
            {
                reply.headers_mut().insert(CURRENT_VERSION_HEADER, value);
            }
            reply
        }
    }
}

#[derive(Deserialize)]
struct Amount {
    amount_cents: i64,
}

#[derive(Serialize)]
struct Balance {
    account: String,
    balance_cents: i64,
}

async fn balance(
    Extension(session): Extension<Arc<Session>>,
    Path(account): Path<String>,
) -> Response {
    let outcome = session.data.lock().unwrap().ledger.balance(&account);
    answer(outcome.map(|balance_cents| Balance {
        account,
        balance_cents,
    }))
}

async fn deposit(
    session: Extension<Arc<Session>>,
    account: Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    move_money(session, account, headers, body, Ledger::deposit).await
}

async fn withdraw(
    session: Extension<Arc<Session>>,
    account: Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    move_money(session, account, headers, body, Ledger::withdraw).await
}

/// Deposit and withdraw differ only in the ledger rule they apply.
async fn move_money(
    Extension(session): Extension<Arc<Session>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Body,
    rule: fn(&mut Ledger, &str, i64) -> Result<i64, Status>,
) -> Response {
    json(&headers, body, |Amount { amount_cents }: Amount| {
        let balance_cents = rule(
            &mut session.data.lock().unwrap().ledger,
            &account,
            amount_cents,
        )?;
        Ok(Balance {
            account: account.clone(),
            balance_cents,
        })
    })
    .await
}
