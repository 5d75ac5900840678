//! Generates the wire types and gRPC stubs from `proto/`.
//!
//! The `.proto` files are compiled by `protox`, a protobuf compiler written in
//! Rust, so no system `protoc` is needed. The encoded descriptor set is also
//! written to `OUT_DIR` so the server can offer gRPC reflection (what `grpcurl`
//! uses to discover services without a copy of the `.proto`).

use std::{env, path::PathBuf};

const PROTO_ROOT: &str = "proto";
const PROTO_FILES: &[&str] = &[
    "proto/calculator/v1/calculator.proto",
    "proto/calculator/v1/store.proto",
    "proto/calculator/v1/account.proto",
    "proto/calculator/v1/lab.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={PROTO_ROOT}");

    let descriptors = protox::compile(PROTO_FILES, [PROTO_ROOT])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("calculator_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;

    tonic_prost_build::configure()
        // `connect()` helpers need tonic's transport, which does not exist in the
        // browser; callers build their own channel (native) or fetch client (wasm).
        .build_transport(false)
        // Server traits are only compiled for the server crate.
        .server_mod_attribute(".", r#"#[cfg(feature = "server")]"#)
        // Boxed: a scenario is passed around whole (the page keeps it in an
        // action enum), and these two would double its size when unset.
        .boxed(".calculator.v1.LoadScenario.payment_tier")
        .boxed(".calculator.v1.LoadScenario.background")
        .compile_fds(descriptors)?;
    Ok(())
}
