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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    Add,
    Subtract,
    Multiply,
    Divide,
}

impl Operation {
    /// All four, in the order the page shows them.
    pub const ALL: [Operation; 4] = [
        Operation::Add,
        Operation::Subtract,
        Operation::Multiply,
        Operation::Divide,
    ];

    /// The RPC's name in the `.proto` (`Add`, `Divide`, …).
    pub fn rpc_name(self) -> &'static str {
        match self {
            Operation::Add => "Add",
            Operation::Subtract => "Subtract",
            Operation::Multiply => "Multiply",
            Operation::Divide => "Divide",
        }
    }

    /// The symbol of the operation, for showing `a ÷ b`.
    pub fn symbol(self) -> &'static str {
        match self {
            Operation::Add => "+",
            Operation::Subtract => "−",
            Operation::Multiply => "×",
            Operation::Divide => "÷",
        }
    }

    /// The full gRPC method path, as it travels in the request's URL.
    pub fn path(self) -> String {
        format!("/calculator.v1.Calculator/{}", self.rpc_name())
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rpc_name())
    }
}

/// A call that did not produce a number: the server's status, kept whole.
#[derive(Clone, Debug, PartialEq)]
pub struct CallError {
    pub code: Code,
    pub message: String,
}

impl CallError {
    /// The code's name as the gRPC specification spells it.
    pub fn code_name(&self) -> &'static str {
        status::code_name(self.code)
    }

    /// What the code means for the caller, in a sentence.
    pub fn explanation(&self) -> &'static str {
        status::explain(self.code)
    }
}

impl From<Status> for CallError {
    fn from(status: Status) -> Self {
        CallError {
            code: status.code(),
            message: status.message().to_owned(),
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code_name(), self.message)
    }
}

impl std::error::Error for CallError {}

/// Calls `operation(a, b)` on the server behind `client` and returns its answer.
///
/// The operands are sent as they are — NaN and infinity included — because
/// checking them is the server's job and its error is part of the lesson.
pub async fn calculate<T>(
    client: &mut CalculatorClient<T>,
    operation: Operation,
    a: f64,
    b: f64,
) -> Result<f64, CallError>
where
    T: GrpcService<Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<StdError> + Send,
{
    let request = BinaryOperation { a, b };
    let reply = match operation {
        Operation::Add => client.add(request).await,
        Operation::Subtract => client.subtract(request).await,
        Operation::Multiply => client.multiply(request).await,
        Operation::Divide => client.divide(request).await,
    }?;
    Ok(reply.into_inner().value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_service_and_method() {
        assert_eq!(Operation::Divide.path(), "/calculator.v1.Calculator/Divide");
        let paths: std::collections::HashSet<_> =
            Operation::ALL.iter().map(|op| op.path()).collect();
        assert_eq!(paths.len(), 4, "each operation has its own method");
    }

    #[test]
    fn a_status_becomes_an_error_with_name_and_explanation() {
        let error = CallError::from(Status::invalid_argument("division by zero"));
        assert_eq!(error.code_name(), "INVALID_ARGUMENT");
        assert_eq!(error.to_string(), "INVALID_ARGUMENT: division by zero");
        assert!(error.explanation().contains("change the input"));
    }
}
