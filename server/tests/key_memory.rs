//! What a stored idempotency key really costs, in bytes of heap, through the
//! real server: the store's memory bound only holds if the store counts what
//! it keeps alive.
//!
//! A counting allocator measures the live heap of this test process (server
//! and client both run in it) before and after a few thousand keyed calls.
//! Deterministic bytes, not time, so it cannot flake on a busy machine.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use common::{TestServer, request};
use rpc_lab::proto::calculator_v1::AmountRequest;
use rpc_lab_server::idempotency::ENTRY_OVERHEAD_BYTES;

/// The system allocator, keeping a running total of the bytes in use.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Each stored key costs about what the store counts for it — not the 8 KiB
/// encoding buffer that tonic hands each reply out of. (Before the store
/// copied reply bodies out of that buffer, this measured 9 540 bytes a key.)
#[tokio::test]
async fn a_stored_key_costs_what_the_store_counts() {
    let server = TestServer::start().await;
    let mut clients = server.clients().await;
    let mut deposit = async |i: usize| {
        let key = format!("{i:08}-0000-4000-8000-000000000000");
        clients
            .account
            .deposit(request(
                AmountRequest {
                    account: "memory".into(),
                    amount_cents: 1,
                },
                &[("x-lab-session", "memory"), ("idempotency-key", &key)],
            ))
            .await
            .expect("deposit");
    };
    const WARM_UP: usize = 300;
    const MEASURED: usize = 3_000;
    for i in 0..WARM_UP {
        deposit(i).await;
    }
    let before = LIVE.load(Ordering::Relaxed);
    for i in WARM_UP..WARM_UP + MEASURED {
        deposit(i).await;
    }
    let after = LIVE.load(Ordering::Relaxed);
    let per_key = (after - before) as f64 / MEASURED as f64;
    // The store's own figure: the overhead constant, the key twice, a ~20-byte
    // body and a few headers. Allow half as much again for hash-map growth.
    let budget = 1.5 * (ENTRY_OVERHEAD_BYTES + 300) as f64;
    println!("live heap per stored key: {per_key:.0} bytes (budget {budget:.0})");
    assert!(
        per_key <= budget,
        "a stored key holds {per_key:.0} bytes of heap; the store counts about {} per key",
        ENTRY_OVERHEAD_BYTES + 300
    );
}
