//! The four operations and every contract error, over native gRPC (HTTP/2)
//! and over gRPC-Web (HTTP/1.1), against a server on a real socket.

mod common;

use common::TestServer;
use rpc_lab::calculator::{ArithmeticOperation, BareCallError, calculate};
use tonic::Code;

/// Each case: operation, a, b, expected answer or (code, words the message must contain).
type Case = (
    ArithmeticOperation,
    f64,
    f64,
    Result<f64, (Code, &'static str)>,
);

const CASES: &[Case] = &[
    (ArithmeticOperation::Add, 2.0, 3.0, Ok(5.0)),
    (ArithmeticOperation::Subtract, 2.0, 3.5, Ok(-1.5)),
    (ArithmeticOperation::Multiply, -4.0, 2.5, Ok(-10.0)),
    (ArithmeticOperation::Divide, 7.0, 2.0, Ok(3.5)),
    (ArithmeticOperation::Divide, 0.0, 4.0, Ok(0.0)),
    (
        ArithmeticOperation::Divide,
        1.0,
        0.0,
        Err((Code::InvalidArgument, "division by zero")),
    ),
    (
        ArithmeticOperation::Divide,
        0.0,
        -0.0,
        Err((Code::InvalidArgument, "division by zero")),
    ),
    (
        ArithmeticOperation::Add,
        f64::NAN,
        1.0,
        Err((Code::InvalidArgument, "operand a is NaN")),
    ),
    (
        ArithmeticOperation::Multiply,
        1.0,
        f64::INFINITY,
        Err((Code::InvalidArgument, "operand b is inf")),
    ),
    (
        ArithmeticOperation::Subtract,
        f64::NEG_INFINITY,
        1.0,
        Err((Code::InvalidArgument, "operand a is -inf")),
    ),
    (
        ArithmeticOperation::Multiply,
        f64::MAX,
        10.0,
        Err((Code::OutOfRange, "overflows")),
    ),
    (
        ArithmeticOperation::Add,
        f64::MAX,
        f64::MAX,
        Err((Code::OutOfRange, "overflows")),
    ),
    (
        ArithmeticOperation::Divide,
        f64::MAX,
        0.25,
        Err((Code::OutOfRange, "overflows")),
    ),
];

fn check(transport: &str, case: &Case, got: Result<f64, BareCallError>) {
    let (operation, a, b, expected) = case;
    match (expected, got) {
        (Ok(want), Ok(value)) => assert_eq!(value, *want, "{transport}: {operation}({a}, {b})"),
        (Err((code, words)), Err(error)) => {
            assert_eq!(
                error.code, *code,
                "{transport}: {operation}({a}, {b}): {error}"
            );
            assert!(
                error.message.contains(words),
                "{transport}: message {:?} lacks {words:?}",
                error.message
            );
        }
        (want, got) => panic!("{transport}: {operation}({a}, {b}) wanted {want:?}, got {got:?}"),
    }
}

/// Native gRPC: every case gives the contract's answer or status.
#[tokio::test]
async fn every_operation_and_error_over_native_grpc() {
    let server = TestServer::start().await;
    let mut client = server.grpc_calculator().await;
    for case in CASES {
        check(
            "grpc",
            case,
            calculate(&mut client, case.0, case.1, case.2).await,
        );
    }
}

/// gRPC-Web: the same cases give the same outcomes through tonic-web.
#[tokio::test]
async fn every_operation_and_error_over_grpc_web() {
    let server = TestServer::start().await;
    let mut client = server.grpc_web_calculator();
    for case in CASES {
        check(
            "grpc-web",
            case,
            calculate(&mut client, case.0, case.1, case.2).await,
        );
    }
}

/// Many calls at once on one HTTP/2 connection all get their own answer.
#[tokio::test]
async fn concurrent_calls_on_one_connection_get_their_own_answers() {
    let server = TestServer::start().await;
    let client = server.grpc_calculator().await;
    let calls = (0..64).map(|i| {
        let mut client = client.clone();
        async move { calculate(&mut client, ArithmeticOperation::Multiply, i as f64, 3.0).await }
    });
    let answers = futures_util::future::join_all(calls).await;
    for (i, answer) in answers.into_iter().enumerate() {
        assert_eq!(answer, Ok(i as f64 * 3.0));
    }
}

/// Shutdown is graceful: the serve future returns Ok once asked to stop.
#[tokio::test]
async fn the_server_stops_cleanly_when_asked() {
    let server = TestServer::start().await;
    let mut client = server.grpc_calculator().await;
    assert_eq!(
        calculate(&mut client, ArithmeticOperation::Add, 1.0, 1.0).await,
        Ok(2.0)
    );
    drop(client);
    server
        .stop()
        .await
        .expect("serve returns Ok after shutdown");
}
