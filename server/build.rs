//! Generates the two-tier shop's wire types and gRPC stubs from
//! `proto/shop/v1/shop.proto`.
//!
//! Only the server compiles this file, not the `rpc-lab` crate: the page
//! never calls Shop or Payment itself (it drives them with `Lab/RunLoad`),
//! so the browser's WebAssembly does not carry their code. Like the root
//! `build.rs`, it compiles with `protox` (no system `protoc`) and writes the
//! descriptors out for gRPC reflection.

use std::{env, path::PathBuf};

const PROTO_ROOT: &str = "../proto";
const SHOP_PROTO: &str = "../proto/shop/v1/shop.proto";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={SHOP_PROTO}");

    let descriptors = protox::compile([SHOP_PROTO], [PROTO_ROOT])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("shop_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;

    tonic_prost_build::configure()
        // The front tier builds its own channel to the server's own port.
        .build_transport(false)
        .compile_fds(descriptors)?;
    Ok(())
}
