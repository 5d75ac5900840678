//! The REST/JSON twin over real sockets: the same rules, layers and session
//! state as gRPC, with JSON errors and HTTP statuses.

mod common;

use common::{TestServer, request};
use rpc_lab::proto::calculator_v1::GetBalanceRequest;
use serde_json::json;

const SESSION: (&str, &str) = ("x-lab-session", "rest");

/// The four operations, and the calculator's errors as JSON.
#[tokio::test]
async fn calculator() {
    let server = TestServer::start().await;
    for (op, expected) in [
        ("add", 5.0),
        ("subtract", -1.0),
        ("multiply", 6.0),
        ("divide", 2.0 / 3.0),
    ] {
        let reply = server
            .rest(
                "POST",
                &format!("/api/v1/calculator/{op}"),
                &[],
                Some(r#"{"a": 2, "b": 3}"#),
            )
            .await;
        assert_eq!(reply.status, 200, "{op}");
        assert_eq!(reply.json, json!({ "value": expected }), "{op}");
    }
    let by_zero = server
        .rest(
            "POST",
            "/api/v1/calculator/divide",
            &[],
            Some(r#"{"a": 1, "b": 0}"#),
        )
        .await;
    assert_eq!(by_zero.status, 400);
    assert_eq!(by_zero.json["code"], "INVALID_ARGUMENT");
    assert!(
        by_zero.json["message"]
            .as_str()
            .unwrap()
            .contains("division by zero")
    );

    let overflow = server
        .rest(
            "POST",
            "/api/v1/calculator/multiply",
            &[],
            Some(r#"{"a": 1e308, "b": 10}"#),
        )
        .await;
    assert_eq!(
        (overflow.status.as_u16(), overflow.json["code"].as_str()),
        (400, Some("OUT_OF_RANGE"))
    );

    let unknown = server
        .rest(
            "POST",
            "/api/v1/calculator/power",
            &[],
            Some(r#"{"a": 1, "b": 2}"#),
        )
        .await;
    assert_eq!(
        (unknown.status.as_u16(), unknown.json["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    assert!(
        unknown.json["message"]
            .as_str()
            .unwrap()
            .contains("use add, subtract, multiply or divide")
    );
}

/// Every way a request can be malformed gets a clear 4xx in JSON, and the
/// server keeps serving.
#[tokio::test]
async fn malformed_requests_get_clear_errors() {
    let server = TestServer::start().await;
    let add = "/api/v1/calculator/add";
    let big = format!(r#"{{"a": 1, "b": 2, "padding": "{}"}}"#, "x".repeat(70_000));
    for (headers, body, status, words) in [
        (
            vec![("content-type", "text/plain")],
            r#"{"a": 1, "b": 2}"#,
            415,
            "content-type must be application/json",
        ),
        (vec![], "{not json", 400, "not valid"),
        (vec![], r#"{"a": 1}"#, 400, "missing field `b`"),
        (vec![], r#"{"a": "one", "b": 2}"#, 400, "invalid type"),
        (vec![], r#"{"a": 1e400, "b": 2}"#, 400, "not valid"),
        (vec![], big.as_str(), 413, "larger than"),
    ] {
        let reply = server.rest("POST", add, &headers, Some(body)).await;
        assert_eq!(reply.status, status, "{words}: {}", reply.json);
        assert!(
            reply.json["message"].as_str().unwrap().contains(words),
            "{}",
            reply.json
        );
    }
    let no_type = server
        .rest("POST", add, &[("content-type", "")], Some("{}"))
        .await;
    assert_eq!(no_type.status, 415);
    let wrong_verb = server.rest("GET", add, &[], None).await;
    assert_eq!(wrong_verb.status, 405);
    assert!(
        wrong_verb.json["message"].is_string(),
        "a JSON explanation, not an empty 405"
    );
    let nowhere = server.rest("GET", "/api/v1/nowhere", &[], None).await;
    assert_eq!(
        (nowhere.status.as_u16(), nowhere.json["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );

    let still = server
        .rest("POST", add, &[], Some(r#"{"a": 1, "b": 2}"#))
        .await;
    assert_eq!(still.json, json!({ "value": 3.0 }));
}

/// The store as resources: PUT, GET and DELETE are idempotent verbs; POST is not.
#[tokio::test]
async fn store_resources() {
    let server = TestServer::start().await;
    let s = [SESSION];
    assert_eq!(
        server
            .rest("GET", "/api/v1/store/values/x", &s, None)
            .await
            .status,
        404
    );
    for _ in 0..2 {
        let put = server
            .rest(
                "PUT",
                "/api/v1/store/values/x",
                &s,
                Some(r#"{"value": 10}"#),
            )
            .await;
        assert_eq!(put.json, json!({ "value": 10.0 }));
    }
    assert_eq!(
        server
            .rest("GET", "/api/v1/store/values/x", &s, None)
            .await
            .json,
        json!({ "value": 10.0 })
    );
    assert_eq!(
        server
            .rest("DELETE", "/api/v1/store/values/x", &s, None)
            .await
            .json,
        json!({ "existed": true })
    );
    assert_eq!(
        server
            .rest("DELETE", "/api/v1/store/values/x", &s, None)
            .await
            .json,
        json!({ "existed": false })
    );
    for expected in [1.5, 3.0] {
        let inc = server
            .rest(
                "POST",
                "/api/v1/store/values/n/increment",
                &s,
                Some(r#"{"delta": 1.5}"#),
            )
            .await;
        assert_eq!(inc.json, json!({ "value": expected }));
    }
    let list = server
        .rest("POST", "/api/v1/store/lists/l", &s, Some(r#"{"item": 7}"#))
        .await;
    assert_eq!(list.json, json!({ "items": [7.0] }));
    let encoded = server
        .rest(
            "PUT",
            "/api/v1/store/values/a%2Fb%20c",
            &s,
            Some(r#"{"value": 1}"#),
        )
        .await;
    assert_eq!(
        encoded.status, 200,
        "keys may hold any UTF-8, percent-encoded in the path"
    );
    let long = format!("/api/v1/store/values/{}", "k".repeat(257));
    let too_long = server.rest("PUT", &long, &s, Some(r#"{"value": 1}"#)).await;
    assert_eq!(
        (too_long.status.as_u16(), too_long.json["code"].as_str()),
        (400, Some("INVALID_ARGUMENT"))
    );
}

/// Accounts over REST share the session's state with gRPC.
#[tokio::test]
async fn accounts_and_the_grpc_twin_share_state() {
    let server = TestServer::start().await;
    let s = [SESSION];
    let deposit = server
        .rest(
            "POST",
            "/api/v1/accounts/alice/deposit",
            &s,
            Some(r#"{"amount_cents": 1000}"#),
        )
        .await;
    assert_eq!(
        deposit.json,
        json!({ "account": "alice", "balance_cents": 1000 })
    );
    let refused = server
        .rest(
            "POST",
            "/api/v1/accounts/alice/withdraw",
            &s,
            Some(r#"{"amount_cents": 5000}"#),
        )
        .await;
    assert_eq!(
        (refused.status.as_u16(), refused.json["code"].as_str()),
        (412, Some("FAILED_PRECONDITION"))
    );
    let bad = server
        .rest(
            "POST",
            "/api/v1/accounts/alice/deposit",
            &s,
            Some(r#"{"amount_cents": -1}"#),
        )
        .await;
    assert_eq!(bad.status, 400);
    server
        .rest(
            "POST",
            "/api/v1/accounts/alice/withdraw",
            &s,
            Some(r#"{"amount_cents": 250}"#),
        )
        .await;
    let rest_balance = server.rest("GET", "/api/v1/accounts/alice", &s, None).await;
    assert_eq!(rest_balance.json["balance_cents"], 750);

    let mut grpc = server.clients().await;
    let grpc_balance = grpc
        .account
        .get_balance(request(
            GetBalanceRequest {
                account: "alice".into(),
            },
            &[SESSION],
        ))
        .await
        .unwrap();
    assert_eq!(
        grpc_balance.into_inner().balance_cents,
        750,
        "one account, two protocols"
    );
    let stats = grpc.stats("rest").await;
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
    let s = SESSION;
    server
        .rest(
            "POST",
            "/api/v1/accounts/bob/deposit",
            &[s],
            Some(r#"{"amount_cents": 1000}"#),
        )
        .await;
    let key = ("idempotency-key", "rest-1");
    let body = Some(r#"{"amount_cents": 100}"#);
    let lost = server
        .rest(
            "POST",
            "/api/v1/accounts/bob/withdraw",
            &[s, key, ("x-fault-drop", "1")],
            body,
        )
        .await;
    assert_eq!(
        (lost.status.as_u16(), lost.json["code"].as_str()),
        (503, Some("UNAVAILABLE"))
    );
    assert_eq!(lost.headers["x-fault-injected"], "drop");
    let retry = server
        .rest("POST", "/api/v1/accounts/bob/withdraw", &[s, key], body)
        .await;
    assert_eq!(retry.status, 200);
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    assert_eq!(retry.json["balance_cents"], 900);
    assert_eq!(
        server
            .rest("GET", "/api/v1/accounts/bob", &[s], None)
            .await
            .json["balance_cents"],
        900
    );

    let reused = server
        .rest(
            "POST",
            "/api/v1/accounts/bob/withdraw",
            &[s, key],
            Some(r#"{"amount_cents": 5}"#),
        )
        .await;
    assert_eq!(
        (reused.status.as_u16(), reused.json["code"].as_str()),
        (412, Some("FAILED_PRECONDITION"))
    );

    let failed = server
        .rest(
            "POST",
            "/api/v1/calculator/add",
            &[s, ("x-fault-fail", "1")],
            Some(r#"{"a": 1, "b": 1}"#),
        )
        .await;
    assert_eq!(
        (
            failed.status.as_u16(),
            failed.headers["x-fault-injected"].to_str().unwrap()
        ),
        (503, "fail")
    );
    let malformed = server
        .rest(
            "POST",
            "/api/v1/calculator/add",
            &[s, ("x-fault-delay-ms", "soon")],
            Some("{}"),
        )
        .await;
    assert_eq!(malformed.status, 400);
    assert!(
        malformed.json["message"]
            .as_str()
            .unwrap()
            .contains("x-fault-delay-ms")
    );
    let bad_session = server
        .rest(
            "GET",
            "/api/v1/accounts/bob",
            &[("x-lab-session", "no spaces")],
            None,
        )
        .await;
    assert_eq!(
        (
            bad_session.status.as_u16(),
            bad_session.json["code"].as_str()
        ),
        (400, Some("INVALID_ARGUMENT"))
    );
}

/// A page on another origin may call the REST twin (JSON needs a preflight).
#[tokio::test]
async fn cors_preflight_for_rest() {
    let server = TestServer::start().await;
    let reply = server
        .rest(
            "OPTIONS",
            "/api/v1/calculator/add",
            &[
                ("origin", "http://localhost:8080"),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "content-type,idempotency-key",
                ),
            ],
            None,
        )
        .await;
    assert!(reply.status.is_success(), "{}", reply.status);
    assert_eq!(
        reply.headers["access-control-allow-origin"],
        "http://localhost:8080"
    );
}
