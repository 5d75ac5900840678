//! What several benchmarks share: the real lab server on a thread and a
//! runtime of its own, so the measuring client never competes with it for
//! the same executor.

use std::net::SocketAddr;

use rpc_lab_server::config::Config;
use tokio::runtime::Runtime;

/// Starts the lab server (default flags, fault seed 1) on `127.0.0.1`, a
/// free port, in `runtime` on a new thread, and returns its address once it
/// listens. The server runs until the benchmark's process ends.
pub fn spawn_server(runtime: Runtime) -> SocketAddr {
    let (address_tx, address_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            address_tx.send(listener.local_addr().unwrap()).unwrap();
            let config = Config {
                seed: Some(1),
                ..Config::default()
            };
            rpc_lab_server::serve(listener, config, std::future::pending())
                .await
                .unwrap();
        });
    });
    address_rx.recv().unwrap()
}
