//! The REST/JSON twin over real sockets: the same rules, layers and session
//! state as gRPC, with JSON errors and HTTP statuses.

mod common;

use common::{RestReply, TestServer, assert_fault_injected, assert_replayed};
use serde_json::json;

/// The lab session the tests here run in.
const SESSION: &str = "rest";

/// REST calls to one server, all sent with the same headers (a session, an
/// idempotency key, a fault...); `with` adds one for the calls that need it.
#[derive(Clone)]
struct Rest<'a> {
    server: &'a TestServer,
    headers: Vec<(&'a str, &'a str)>,
}

impl<'a> Rest<'a> {
    /// Calls without any of the lab's headers.
    fn new(server: &'a TestServer) -> Rest<'a> {
        Rest {
            server,
            headers: Vec::new(),
        }
    }

    /// Calls in [`SESSION`].
    fn in_session(server: &'a TestServer) -> Rest<'a> {
        Rest::new(server).with("x-lab-session", SESSION)
    }

    /// The same calls, with one more header.
    fn with(&self, name: &'a str, value: &'a str) -> Rest<'a> {
        let mut more = self.clone();
        more.headers.push((name, value));
        more
    }

    async fn call(&self, method: &str, path: &str, body: Option<&str>) -> RestReply {
        self.server.rest(method, path, &self.headers, body).await
    }

    async fn get(&self, path: &str) -> RestReply {
        self.call("GET", path, None).await
    }

    /// POSTs `body` as JSON.
    async fn post(&self, path: &str, body: &str) -> RestReply {
        self.call("POST", path, Some(body)).await
    }

    /// PUTs `body` as JSON.
    async fn put(&self, path: &str, body: &str) -> RestReply {
        self.call("PUT", path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> RestReply {
        self.call("DELETE", path, None).await
    }
}

/// A reply's HTTP status and the `code` of its JSON error, checked together.
fn error(reply: &RestReply) -> (u16, Option<&str>) {
    (reply.status.as_u16(), reply.json["code"].as_str())
}

/// The `message` of a JSON error.
fn message(reply: &RestReply) -> &str {
    reply.json["message"]
        .as_str()
        .unwrap_or_else(|| panic!("a JSON error with a message: {}", reply.json))
}

/// The body of a deposit or withdrawal: `{"amount_cents": <cents>}`.
fn amount(cents: i64) -> String {
    json!({ "amount_cents": cents }).to_string()
}

/// The four operations, and the calculator's errors as JSON.
#[tokio::test]
async fn calculator() {
    let server = TestServer::start().await;
    let rest = Rest::new(&server);
    for (op, expected) in [
        ("add", 5.0),
        ("subtract", -1.0),
        ("multiply", 6.0),
        ("divide", 2.0 / 3.0),
    ] {
        let reply = rest
            .post(&format!("/api/v1/calculator/{op}"), r#"{"a": 2, "b": 3}"#)
            .await;
        assert_eq!(reply.status, 200, "{op}");
        assert_eq!(reply.json, json!({ "value": expected }), "{op}");
    }
    // Each error: operation, body, HTTP status, JSON code, words the message must contain.
    for (op, body, status, code, words) in [
        (
            "divide",
            r#"{"a": 1, "b": 0}"#,
            400,
            "INVALID_ARGUMENT",
            "division by zero",
        ),
        (
            "multiply",
            r#"{"a": 1e308, "b": 10}"#,
            400,
            "OUT_OF_RANGE",
            "overflows",
        ),
        (
            "power",
            r#"{"a": 1, "b": 2}"#,
            404,
            "NOT_FOUND",
            "use add, subtract, multiply or divide",
        ),
    ] {
        let reply = rest.post(&format!("/api/v1/calculator/{op}"), body).await;
        assert_eq!(error(&reply), (status, Some(code)), "{op} {body}");
        assert!(
            message(&reply).contains(words),
            "{op} {body}: {}",
            reply.json
        );
    }
}

/// Every way a request can be malformed gets a clear 4xx in JSON, and the
/// server keeps serving.
#[tokio::test]
async fn malformed_requests_get_clear_errors() {
    let server = TestServer::start().await;
    let rest = Rest::new(&server);
    let add = "/api/v1/calculator/add";
    let big = format!(r#"{{"a": 1, "b": 2, "padding": "{}"}}"#, "x".repeat(70_000));
    for (content_type, body, status, words) in [
        (
            Some("text/plain"),
            r#"{"a": 1, "b": 2}"#,
            415,
            "content-type must be application/json",
        ),
        (None, "{not json", 400, "not valid"),
        (None, r#"{"a": 1}"#, 400, "missing field `b`"),
        (None, r#"{"a": "one", "b": 2}"#, 400, "invalid type"),
        (None, r#"{"a": 1e400, "b": 2}"#, 400, "not valid"),
        (None, big.as_str(), 413, "larger than"),
    ] {
        let sender = match content_type {
            Some(content_type) => rest.with("content-type", content_type),
            None => rest.clone(),
        };
        let reply = sender.post(add, body).await;
        assert_eq!(reply.status, status, "{words}: {}", reply.json);
        assert!(message(&reply).contains(words), "{}", reply.json);
    }
    let no_type = rest.with("content-type", "").post(add, "{}").await;
    assert_eq!(no_type.status, 415);
    let wrong_verb = rest.get(add).await;
    assert_eq!(wrong_verb.status, 405);
    assert!(
        wrong_verb.json["message"].is_string(),
        "a JSON explanation, not an empty 405"
    );
    let nowhere = rest.get("/api/v1/nowhere").await;
    assert_eq!(error(&nowhere), (404, Some("NOT_FOUND")));

    let still = rest.post(add, r#"{"a": 1, "b": 2}"#).await;
    assert_eq!(still.json, json!({ "value": 3.0 }));
}

/// The store as resources: PUT, GET and DELETE are idempotent verbs; POST is not.
#[tokio::test]
async fn store_resources() {
    let server = TestServer::start().await;
    let rest = Rest::in_session(&server);
    let x = "/api/v1/store/values/x";
    assert_eq!(rest.get(x).await.status, 404);
    for put in 1..=2 {
        assert_eq!(
            rest.put(x, r#"{"value": 10}"#).await.json,
            json!({ "value": 10.0 }),
            "PUT number {put}"
        );
    }
    assert_eq!(rest.get(x).await.json, json!({ "value": 10.0 }));
    assert_eq!(rest.delete(x).await.json, json!({ "existed": true }));
    assert_eq!(rest.delete(x).await.json, json!({ "existed": false }));
    for expected in [1.5, 3.0] {
        let inc = rest
            .post("/api/v1/store/values/n/increment", r#"{"delta": 1.5}"#)
            .await;
        assert_eq!(inc.json, json!({ "value": expected }));
    }
    let list = rest.post("/api/v1/store/lists/l", r#"{"item": 7}"#).await;
    assert_eq!(list.json, json!({ "items": [7.0] }));
    let encoded = rest
        .put("/api/v1/store/values/a%2Fb%20c", r#"{"value": 1}"#)
        .await;
    assert_eq!(
        encoded.status, 200,
        "keys may hold any UTF-8, percent-encoded in the path"
    );
    let long = format!("/api/v1/store/values/{}", "k".repeat(257));
    let too_long = rest.put(&long, r#"{"value": 1}"#).await;
    assert_eq!(error(&too_long), (400, Some("INVALID_ARGUMENT")));
}

/// Accounts over REST share the session's state with gRPC.
#[tokio::test]
async fn accounts_and_the_grpc_twin_share_state() {
    let server = TestServer::start().await;
    let rest = Rest::in_session(&server);
    let deposit = rest
        .post("/api/v1/accounts/alice/deposit", &amount(1000))
        .await;
    assert_eq!(
        deposit.json,
        json!({ "account": "alice", "balance_cents": 1000 })
    );
    let refused = rest
        .post("/api/v1/accounts/alice/withdraw", &amount(5000))
        .await;
    assert_eq!(error(&refused), (412, Some("FAILED_PRECONDITION")));
    let bad = rest
        .post("/api/v1/accounts/alice/deposit", &amount(-1))
        .await;
    assert_eq!(bad.status, 400);
    rest.post("/api/v1/accounts/alice/withdraw", &amount(250))
        .await;
    let rest_balance = rest.get("/api/v1/accounts/alice").await;
    assert_eq!(rest_balance.json["balance_cents"], 750);

    let mut grpc = server.clients().await;
    assert_eq!(
        grpc.balance(SESSION, "alice").await,
        750,
        "one account, two protocols"
    );
    let stats = grpc.stats(SESSION).await;
    assert_eq!(
        stats
            .executions
            .get("POST /api/v1/accounts/{account}/withdraw"),
        Some(&2),
        "{:?}",
        stats.executions
    );
}

/// A lost REST withdrawal retried with its key takes effect once.
#[tokio::test]
async fn idempotency_and_faults_over_rest() {
    let server = TestServer::start().await;
    let rest = Rest::in_session(&server);
    let withdraw = "/api/v1/accounts/bob/withdraw";
    rest.post("/api/v1/accounts/bob/deposit", &amount(1000))
        .await;
    let keyed = rest.with("idempotency-key", "rest-1");
    let lost = keyed
        .with("x-fault-drop", "1")
        .post(withdraw, &amount(100))
        .await;
    assert_eq!(error(&lost), (503, Some("UNAVAILABLE")));
    assert_fault_injected(&lost, "drop");
    let retry = keyed.post(withdraw, &amount(100)).await;
    assert_eq!(retry.status, 200);
    assert_replayed(&retry);
    assert_eq!(retry.json["balance_cents"], 900);
    assert_eq!(
        rest.get("/api/v1/accounts/bob").await.json["balance_cents"],
        900
    );

    let reused = keyed.post(withdraw, &amount(5)).await;
    assert_eq!(error(&reused), (412, Some("FAILED_PRECONDITION")));

    let failed = rest
        .with("x-fault-fail", "1")
        .post("/api/v1/calculator/add", r#"{"a": 1, "b": 1}"#)
        .await;
    assert_eq!(failed.status, 503);
    assert_fault_injected(&failed, "fail");
    let malformed = rest
        .with("x-fault-delay-ms", "soon")
        .post("/api/v1/calculator/add", "{}")
        .await;
    assert_eq!(malformed.status, 400);
    assert!(message(&malformed).contains("x-fault-delay-ms"));
    let bad_session = Rest::new(&server)
        .with("x-lab-session", "no spaces")
        .get("/api/v1/accounts/bob")
        .await;
    assert_eq!(error(&bad_session), (400, Some("INVALID_ARGUMENT")));
}

/// A page on another origin may call the REST twin (JSON needs a preflight).
#[tokio::test]
async fn cors_preflight_for_rest() {
    let server = TestServer::start().await;
    let reply = Rest::new(&server)
        .with("origin", "http://localhost:8080")
        .with("access-control-request-method", "POST")
        .with(
            "access-control-request-headers",
            "content-type,idempotency-key",
        )
        .call("OPTIONS", "/api/v1/calculator/add", None)
        .await;
    assert!(reply.status.is_success(), "{}", reply.status);
    assert_eq!(
        reply.headers["access-control-allow-origin"],
        "http://localhost:8080"
    );
}
