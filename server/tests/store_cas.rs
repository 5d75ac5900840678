//! Optimistic writes over real sockets: `Store/GetVersionedValue` and
//! `Store/CompareAndSet`, over HTTP/2, gRPC-Web and the REST twin.
//!
//! What they must show: a writer whose read went stale is refused with
//! `ABORTED` and told the current version (so it can retry without reading
//! again); a refused write changes nothing; the same write twice lands at
//! most once; and many clients that read, add one and write back lose no
//! update — what a plain `SetValue` would.

mod common;

use common::{TestServer, assert_fault_injected, assert_replayed, header, request};
use rpc_lab::proto::StoreClient;
use rpc_lab::proto::calculator_v1::{CompareAndSetRequest, GetValueRequest, VersionedValue};
use tonic::transport::Channel;
use tonic::{Code, Status};

const SESSION: &str = "cas";
const IN_SESSION: (&str, &str) = ("x-lab-session", SESSION);
const CURRENT_VERSION: &str = "x-lab-current-version";

fn read(key: &str) -> tonic::Request<GetValueRequest> {
    request(GetValueRequest { key: key.into() }, &[IN_SESSION])
}

fn cas(key: &str, expected_version: u64, value: f64) -> CompareAndSetRequest {
    CompareAndSetRequest {
        key: key.into(),
        expected_version,
        value,
    }
}

/// The version a stale write's refusal names, read from its trailers.
#[track_caller]
fn current_version(refusal: &Status) -> u64 {
    assert_eq!(refusal.code(), Code::Aborted, "{refusal:?}");
    header(refusal.metadata(), CURRENT_VERSION)
        .expect("a stale write's refusal carries x-lab-current-version")
        .parse()
        .expect("a version is a number")
}

async fn versioned(store: &mut StoreClient<Channel>, key: &str) -> VersionedValue {
    store
        .get_versioned_value(read(key))
        .await
        .expect("GetVersionedValue")
        .into_inner()
}

/// Two writers read the same version; the second to write loses, is told
/// the winner's version, and wins on its retry with that version.
#[tokio::test]
async fn the_second_writer_is_refused_and_told_the_version() {
    let server = TestServer::start().await;
    let mut store = server.clients().await.store;

    let start = versioned(&mut store, "row").await;
    assert_eq!((start.value, start.version), (0.0, 0), "absent: version 0");

    let first = store
        .compare_and_set(request(cas("row", 0, 1.0), &[IN_SESSION]))
        .await
        .expect("the first writer wins")
        .into_inner();
    assert_eq!(first.value, 1.0);
    assert!(first.version > 0);

    let refusal = store
        .compare_and_set(request(cas("row", 0, 2.0), &[IN_SESSION]))
        .await
        .expect_err("the second writer read a stale version");
    assert_eq!(current_version(&refusal), first.version);
    assert!(
        refusal.message().contains("another write came first"),
        "{}",
        refusal.message()
    );
    assert_eq!(
        versioned(&mut store, "row").await,
        first,
        "a refused write changes nothing"
    );

    let retry = store
        .compare_and_set(request(
            cas("row", current_version(&refusal), 2.0),
            &[IN_SESSION],
        ))
        .await
        .expect("a retry with the version the refusal named, no fresh read")
        .into_inner();
    assert_eq!(retry.value, 2.0);
    assert!(retry.version > first.version);

    // Per session: another session's row is untouched.
    let other = store
        .get_versioned_value(request(
            GetValueRequest { key: "row".into() },
            &[("x-lab-session", "someone-else")],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(other.version, 0);
}

/// The page speaks gRPC-Web: the version must reach it too (in the
/// trailers-only reply's headers).
#[tokio::test]
async fn grpc_web_clients_see_the_current_version() {
    let server = TestServer::start().await;
    let mut store = StoreClient::with_origin(server.grpc_web(), server.url().parse().unwrap());
    let written = store
        .compare_and_set(request(cas("w", 0, 5.0), &[IN_SESSION]))
        .await
        .unwrap()
        .into_inner();
    let refusal = store
        .compare_and_set(request(cas("w", written.version + 7, 6.0), &[IN_SESSION]))
        .await
        .unwrap_err();
    assert_eq!(current_version(&refusal), written.version);
}

/// The same write sent twice lands once: the copy that comes second is
/// refused, naming the version the first one wrote. With x-fault-drop the
/// first copy's reply is lost although it wrote — the case where resending
/// the same request (not reading again) is what keeps it at one write.
#[tokio::test]
async fn a_resent_write_lands_at_most_once() {
    let server = TestServer::start().await;
    let mut clients = server.clients().await;
    let lost = clients
        .store
        .compare_and_set(request(
            cas("once", 0, 1.0),
            &[IN_SESSION, ("x-fault-drop", "1")],
        ))
        .await
        .unwrap_err();
    assert_eq!(lost.code(), Code::Unavailable);
    assert_fault_injected(lost.metadata(), "drop");
    let landed = versioned(&mut clients.store, "once").await;
    assert_eq!(
        landed.value, 1.0,
        "the write landed; only its reply was lost"
    );

    let resent = clients
        .store
        .compare_and_set(request(cas("once", 0, 1.0), &[IN_SESSION]))
        .await
        .unwrap_err();
    assert_eq!(
        current_version(&resent),
        landed.version,
        "the resent copy names the version its first copy wrote"
    );
    assert_eq!(versioned(&mut clients.store, "once").await, landed);
    assert_eq!(
        clients.executions(SESSION, "Store/CompareAndSet").await,
        2,
        "both copies ran; one wrote"
    );
}

/// With an idempotency key, the second copy of a write that landed gets
/// the first one's reply (a success, replayed); a refusal is not stored,
/// so a keyed retry of a refused write runs again.
#[tokio::test]
async fn keyed_writes_replay_successes_but_not_refusals() {
    let server = TestServer::start().await;
    let mut store = server.clients().await.store;
    let keyed = |message, key| request(message, &[IN_SESSION, ("idempotency-key", key)]);

    let first = store
        .compare_and_set(keyed(cas("k", 0, 3.0), "write-1"))
        .await
        .unwrap();
    let again = store
        .compare_and_set(keyed(cas("k", 0, 3.0), "write-1"))
        .await
        .expect("the replay of the stored success, not ABORTED");
    assert_replayed(again.metadata());
    assert_eq!(again.into_inner(), first.into_inner());

    let stale = keyed(cas("k", 0, 4.0), "write-2");
    let refusal = store.compare_and_set(stale).await.unwrap_err();
    let version = current_version(&refusal);
    let refused_again = store
        .compare_and_set(keyed(cas("k", 0, 4.0), "write-2"))
        .await
        .unwrap_err();
    assert!(
        header(refused_again.metadata(), "idempotent-replayed").is_none(),
        "ABORTED is not stored: the retry ran again"
    );
    assert_eq!(current_version(&refused_again), version);
}

/// 16 clients each add 1 by reading, computing and writing back, retrying
/// on ABORTED: not one update is lost, and every refusal was a write that
/// changed nothing.
#[tokio::test]
async fn read_modify_write_loses_no_update() {
    const CLIENTS: u64 = 16;
    let server = TestServer::start().await;
    let store = server.clients().await.store;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let mut store = store.clone();
        tasks.spawn(async move {
            let mut refusals = 0u64;
            let mut seen = versioned(&mut store, "counter").await;
            loop {
                let write = cas("counter", seen.version, seen.value + 1.0);
                match store.compare_and_set(request(write, &[IN_SESSION])).await {
                    Ok(_) => return refusals,
                    Err(refusal) => {
                        refusals += 1;
                        // Read again: the refusal names the version but not
                        // the value, and the new value is what to add to.
                        let _ = current_version(&refusal);
                        seen = versioned(&mut store, "counter").await;
                    }
                }
            }
        });
    }
    let mut refusals = 0;
    while let Some(done) = tasks.join_next().await {
        refusals += done.unwrap();
    }
    let mut clients = server.clients().await;
    let end = versioned(&mut clients.store, "counter").await;
    assert_eq!(end.value, CLIENTS as f64, "no update was lost");
    assert_eq!(
        clients.executions(SESSION, "Store/CompareAndSet").await,
        CLIENTS + refusals,
        "every attempt ran once: {CLIENTS} writes and {refusals} refusals"
    );
}

/// The REST twin: the same rule on the same session state; a stale write
/// is 409 with the current version in a header.
#[tokio::test]
async fn the_rest_twin() {
    let server = TestServer::start().await;
    let headers = [IN_SESSION];
    let absent = server
        .rest("GET", "/api/v1/store/versioned/r", &headers, None)
        .await;
    assert_eq!(absent.status, 200);
    assert_eq!(absent.json, serde_json::json!({"value": 0.0, "version": 0}));

    let written = server
        .rest(
            "PUT",
            "/api/v1/store/versioned/r",
            &headers,
            Some(r#"{"expected_version": 0, "value": 4}"#),
        )
        .await;
    assert_eq!(written.status, 200, "{}", written.json);
    let version = written.json["version"].as_u64().unwrap();
    assert!(version > 0);

    let stale = server
        .rest(
            "PUT",
            "/api/v1/store/versioned/r",
            &headers,
            Some(r#"{"expected_version": 0, "value": 5}"#),
        )
        .await;
    assert_eq!(stale.status, 409);
    assert_eq!(stale.json["code"], "ABORTED");
    assert_eq!(
        stale.headers[CURRENT_VERSION].to_str().unwrap(),
        version.to_string()
    );

    // The gRPC twin sees the REST write, and vice versa.
    let mut store = server.clients().await.store;
    let seen = versioned(&mut store, "r").await;
    assert_eq!((seen.value, seen.version), (4.0, version));
    store
        .compare_and_set(request(cas("r", version, 6.0), &[IN_SESSION]))
        .await
        .unwrap();
    let after = server
        .rest("GET", "/api/v1/store/versioned/r", &headers, None)
        .await;
    assert_eq!(after.json["value"], 6.0);

    let missing_field = server
        .rest(
            "PUT",
            "/api/v1/store/versioned/r",
            &headers,
            Some(r#"{"value": 5}"#),
        )
        .await;
    assert_eq!(missing_field.status, 400, "{}", missing_field.json);
}
