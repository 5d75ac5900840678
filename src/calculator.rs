//! The calculator as a client sees it: four operations and one way to call them.
//!
//! [`calculate`] is deliberately small. It sends one request and reports what
//! came back, nothing more: no retry, no timeout, no breaker. The resilience
//! policies of the lab wrap calls like this one, so it is worth seeing the bare
//! call first — this is what "a remote procedure call" is before anything is
//! done to make it safe.
//!
//! It is generic over the transport `T`, which is how one function serves the
//! browser (gRPC-Web over `fetch`) and native code (HTTP/2 or gRPC-Web over a
//! socket) alike.

use std::fmt;

use tonic::{Code, Status, body::Body, client::GrpcService, codegen::StdError};

use crate::proto::{BinaryOperation, CalculatorClient};
use crate::status;

/// One of the four arithmetic RPCs of `calculator.v1.Calculator`.
///
/// Only the calculator's operations: the page's resilience lab calls the
/// twelve RPCs of all three services, which the web crate names
/// `LabOperation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArithmeticOperation {
    Add,
    Subtract,
    Multiply,
    Divide,
}

impl ArithmeticOperation {
    /// All four, in the order the page shows them.
    pub const ALL: [ArithmeticOperation; 4] = [
        ArithmeticOperation::Add,
        ArithmeticOperation::Subtract,
        ArithmeticOperation::Multiply,
        ArithmeticOperation::Divide,
    ];

    /// The RPC's name in the `.proto` (`Add`, `Divide`, …).
    pub fn rpc_name(self) -> &'static str {
        match self {
            ArithmeticOperation::Add => "Add",
            ArithmeticOperation::Subtract => "Subtract",
            ArithmeticOperation::Multiply => "Multiply",
            ArithmeticOperation::Divide => "Divide",
        }
    }

    /// The symbol of the operation, for showing `a ÷ b`.
    pub fn symbol(self) -> &'static str {
        match self {
            ArithmeticOperation::Add => "+",
            ArithmeticOperation::Subtract => "−",
            ArithmeticOperation::Multiply => "×",
            ArithmeticOperation::Divide => "÷",
        }
    }

    /// The full gRPC method path, as it travels in the request's URL.
    pub fn path(self) -> String {
        format!("/calculator.v1.Calculator/{}", self.rpc_name())
    }
}

impl fmt::Display for ArithmeticOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rpc_name())
    }
}

/// A bare call that did not produce a number: the server's status, kept whole.
///
/// "Bare" as in [`calculate`]: one request, no retries, so the one reply's
/// status is all there is to say. A call through the resilience core fails
/// with a [`ResilientCallError`](crate::resilience::ResilientCallError),
/// which also says how many attempts were sent and why the caller gave up.
#[derive(Clone, Debug, PartialEq)]
pub struct BareCallError {
    pub code: Code,
    pub message: String,
}

impl BareCallError {
    /// The code's name as the gRPC specification spells it.
    pub fn code_name(&self) -> &'static str {
        status::code_name(self.code)
    }

    /// What the code means for the caller, in a sentence.
    pub fn explanation(&self) -> &'static str {
        status::explain(self.code)
    }
}

impl From<Status> for BareCallError {
    fn from(status: Status) -> Self {
        BareCallError {
            code: status.code(),
            message: status.message().to_owned(),
        }
    }
}

impl fmt::Display for BareCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code_name(), self.message)
    }
}

impl std::error::Error for BareCallError {}

/// Calls `operation(a, b)` on the server behind `client` and returns its answer.
///
/// The operands are sent as they are — NaN and infinity included — because
/// checking them is the server's job and its error is part of the lesson.
pub async fn calculate<T>(
    client: &mut CalculatorClient<T>,
    operation: ArithmeticOperation,
    a: f64,
    b: f64,
) -> Result<f64, BareCallError>
where
    T: GrpcService<Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<StdError> + Send,
{
    let request = BinaryOperation { a, b };
    let reply = match operation {
        ArithmeticOperation::Add => client.add(request).await,
        ArithmeticOperation::Subtract => client.subtract(request).await,
        ArithmeticOperation::Multiply => client.multiply(request).await,
        ArithmeticOperation::Divide => client.divide(request).await,
    }?;
    Ok(reply.into_inner().value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_service_and_method() {
        assert_eq!(
            ArithmeticOperation::Divide.path(),
            "/calculator.v1.Calculator/Divide"
        );
        let paths: std::collections::HashSet<_> = ArithmeticOperation::ALL
            .iter()
            .map(|op| op.path())
            .collect();
        assert_eq!(paths.len(), 4, "each operation has its own method");
    }

    #[test]
    fn a_status_becomes_an_error_with_name_and_explanation() {
        let error = BareCallError::from(Status::invalid_argument("division by zero"));
        assert_eq!(error.code_name(), "INVALID_ARGUMENT");
        assert_eq!(error.to_string(), "INVALID_ARGUMENT: division by zero");
        assert!(error.explanation().contains("change the input"));
    }
}
