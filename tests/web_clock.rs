//! The browser's clock in a real browser (headless Chromium, through
//! `wasm-bindgen-test-runner`): `WebClock` reads `performance.now()` and
//! sleeps with `setTimeout`, and the resilient caller's per-attempt timeout
//! fires on it. Natively this file compiles to nothing.
//!
//! Run: `cargo test -p rpc-lab --target wasm32-unknown-unknown --test web_clock`
//! (`.cargo/config.toml` names the runner; `webdriver.json` the browser flags).
//! Timers only promise *at least* the delay, so these tests assert lower
//! bounds: they cannot race.

#![cfg(target_arch = "wasm32")]

use std::rc::Rc;
use std::time::Duration;

use rpc_lab::resilience::{
    CallSpec, Clock, GaveUp, ResilientCaller, RetryPolicy, SeededRng, VecSink, WebClock,
};
use tonic::{Code, Response, Status};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// `performance.now()` can be coarsened to 100 µs by the browser.
const RESOLUTION: Duration = Duration::from_millis(1);

#[wasm_bindgen_test]
async fn the_clock_moves_forward_and_sleep_waits_at_least_as_long() {
    let clock = WebClock::new().expect("a page has a window");
    let before = clock.now();
    clock.sleep(Duration::from_millis(30)).await;
    let slept = clock.now() - before;
    assert!(
        slept + RESOLUTION >= Duration::from_millis(30),
        "slept only {slept:?}"
    );
}

#[wasm_bindgen_test]
async fn a_per_attempt_timeout_fires_in_the_browser() {
    let clock: Rc<dyn Clock> = Rc::new(WebClock::new().expect("a window"));
    let policy = RetryPolicy {
        max_attempts: 2,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(5),
        per_attempt_timeout: Some(Duration::from_millis(40)),
        deadline: Some(Duration::from_secs(5)),
        ..RetryPolicy::default()
    };
    let caller = ResilientCaller::new(
        policy,
        clock.clone(),
        SeededRng::new(1),
        Rc::new(VecSink::default()),
    )
    .expect("a valid policy");
    let started = clock.now();
    // An attempt that never answers, like a server that hangs.
    let outcome = caller
        .call(CallSpec::idempotent("Hang"), |_attempt| {
            std::future::pending::<Result<Response<()>, Status>>()
        })
        .await;
    let error = outcome.expect_err("a hanging server cannot answer");
    assert_eq!(error.status.code(), Code::DeadlineExceeded);
    assert_eq!(error.attempts, 2, "timed out, retried, timed out again");
    assert_eq!(error.gave_up, GaveUp::AttemptsExhausted);
    let elapsed = clock.now() - started;
    assert!(
        elapsed + RESOLUTION >= Duration::from_millis(80),
        "two 40 ms timeouts took only {elapsed:?}"
    );
}
