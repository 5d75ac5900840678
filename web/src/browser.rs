//! The few browser facts the page needs: the time, and its own address.
//!
//! Why not `std::time::Instant`? In `wasm32-unknown-unknown` it panics — there
//! is no OS clock to ask. The browser's clock is `performance.now()`: a
//! monotonic count of milliseconds (with microsecond resolution) since the
//! page loaded, exactly what measuring a call's duration needs.

use crate::server_url::{self, ServerChoice};

/// Milliseconds since the page loaded, from the browser's monotonic clock.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|window| window.performance())
        .map(|performance| performance.now())
        .unwrap_or(0.0)
}

/// The server this page should call, from its own address.
pub fn server_choice() -> ServerChoice {
    let location = web_sys::window().map(|window| window.location());
    let origin = location
        .as_ref()
        .and_then(|l| l.origin().ok())
        .unwrap_or_default();
    let search = location
        .as_ref()
        .and_then(|l| l.search().ok())
        .unwrap_or_default();
    server_url::resolve(&origin, &search)
}
