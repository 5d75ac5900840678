//! Types generated from `proto/calculator/v1/*.proto`.
//!
//! `build.rs` compiles the `.proto` with `protox` and `tonic-prost-build`; this
//! module only includes the result. To see what is generated, read the `.proto`:
//! every message becomes a struct and every service a `…Client` (and, with the
//! `server` feature, a `…Server` plus a trait to implement).

/// Package `calculator.v1`.
pub mod calculator_v1 {
    tonic::include_proto!("calculator.v1");
}

/// The encoded descriptors of every `.proto` file, for gRPC server reflection.
#[cfg(feature = "server")]
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/calculator_descriptor.bin"));

pub use calculator_v1::account_client::AccountClient;
pub use calculator_v1::calculator_client::CalculatorClient;
pub use calculator_v1::lab_client::LabClient;
pub use calculator_v1::store_client::StoreClient;
pub use calculator_v1::{BinaryOperation, Number};
