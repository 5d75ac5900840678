//! The `calculator.v1.Calculator` gRPC service.
//!
//! A thin adapter: unpack the request, apply the rules in [`crate::rules::arithmetic`],
//! turn the outcome into a reply or a status. Keeping the rules out of this file
//! means the same arithmetic can later be served over REST without copying it.

use rpc_lab::calculator::ArithmeticOperation;
use rpc_lab::proto::calculator_v1::calculator_server::{Calculator, CalculatorServer};
use rpc_lab::proto::{BinaryOperation, Number};
use tonic::{Request, Response, Status};

use crate::rules::arithmetic::{self, ArithmeticError};

/// The calculator holds no state: every call is independent of every other.
#[derive(Clone, Copy, Debug, Default)]
pub struct CalculatorService;

impl CalculatorService {
    /// The service wrapped for tonic's router.
    pub fn into_server(self) -> CalculatorServer<Self> {
        CalculatorServer::new(self)
    }

    fn run(
        operation: ArithmeticOperation,
        request: Request<BinaryOperation>,
    ) -> Result<Response<Number>, Status> {
        let BinaryOperation { a, b } = request.into_inner();
        match arithmetic::evaluate(operation, a, b) {
            Ok(value) => {
                tracing::info!(%operation, a, b, value, "calculated");
                Ok(Response::new(Number { value }))
            }
            Err(error) => {
                tracing::info!(%operation, a, b, %error, "refused");
                Err(error.into())
            }
        }
    }
}

/// The contract's mapping from arithmetic errors to gRPC status codes.
impl From<ArithmeticError> for Status {
    fn from(error: ArithmeticError) -> Self {
        let message = error.to_string();
        match error {
            ArithmeticError::NotFinite { .. } | ArithmeticError::DivisionByZero => {
                Status::invalid_argument(message)
            }
            ArithmeticError::Overflow { .. } => Status::out_of_range(message),
        }
    }
}

#[tonic::async_trait]
impl Calculator for CalculatorService {
    async fn add(&self, request: Request<BinaryOperation>) -> Result<Response<Number>, Status> {
        Self::run(ArithmeticOperation::Add, request)
    }

    async fn subtract(
        &self,
        request: Request<BinaryOperation>,
    ) -> Result<Response<Number>, Status> {
        Self::run(ArithmeticOperation::Subtract, request)
    }

    async fn multiply(
        &self,
        request: Request<BinaryOperation>,
    ) -> Result<Response<Number>, Status> {
        Self::run(ArithmeticOperation::Multiply, request)
    }

    async fn divide(&self, request: Request<BinaryOperation>) -> Result<Response<Number>, Status> {
        Self::run(ArithmeticOperation::Divide, request)
    }
}
