//! What resilience costs per call, measured.
//!
//! Three questions, answered in one run:
//!
//! 1. How long does the circuit breaker take to let a call through when it is
//!    closed (`try_acquire` + `record`), and to refuse one when it is open?
//!    Targets: ≤ 50 ns and ≤ 100 ns.
//! 2. Do those paths allocate? Target: zero heap allocations. A counting
//!    global allocator below counts every allocation the process makes.
//! 3. What does the whole [`ResilientCaller`] add to an attempt that succeeds
//!    at once, compared with calling the same attempt closure bare?
//!    Target: ≤ 5 % over the bare call.
//!
//! Criterion measures each case with statistics; then a plain timing loop
//! measures them again side by side, so the ratios and allocation counts
//! printed at the end come from the same process and the same moment.
//!
//! Run: `cargo bench -p rpc-lab --bench resilience`.

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::future::{Future, ready};
    use std::hint::black_box;
    use std::rc::Rc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use criterion::Criterion;
    use futures_util::FutureExt;
    use futures_util::future::LocalBoxFuture;
    use rpc_lab::resilience::{
        Attempt, BreakerConfig, BreakerState, CallSpec, CircuitBreaker, Clock, DiscardEvents,
        ResilientCaller, RetryPolicy, SeededRng, bare_call,
    };
    use tonic::{Code, Request, Response, Status};

    /// The system allocator, counting how often it is asked for memory.
    struct CountingAllocator;

    static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

    // SAFETY: every call is forwarded unchanged to the system allocator; the
    // counter is the only addition.
    unsafe impl GlobalAlloc for CountingAllocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            // SAFETY: same contract as ours, passed through.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: same contract as ours, passed through.
            unsafe { System.dealloc(ptr, layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            // SAFETY: same contract as ours, passed through.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static GLOBAL: CountingAllocator = CountingAllocator;

    /// A native clock on `std::time::Instant`. Sleeping uses tokio's timer,
    /// so the benchmark enters a tokio runtime before the cases that set
    /// timeouts. (`TokioClock` would do the same, but it sits behind the
    /// crate's `tokio` feature, which a plain `cargo bench` does not enable.)
    struct BenchClock {
        origin: Instant,
    }

    impl Clock for BenchClock {
        fn now(&self) -> Duration {
            self.origin.elapsed()
        }

        fn sleep(&self, duration: Duration) -> LocalBoxFuture<'static, ()> {
            Box::pin(tokio::time::sleep(duration))
        }
    }

    /// One attempt that succeeds at once: the cheapest possible RPC, so that
    /// the caller's own cost is as visible as it can be.
    fn instant_success(
        attempt: &Attempt,
    ) -> impl Future<Output = Result<Response<u32>, Status>> + use<> {
        let mut request = Request::new(7u32);
        attempt.prepare(&mut request);
        ready(Ok(Response::new(request.into_inner())))
    }

    fn caller(policy: RetryPolicy) -> ResilientCaller {
        let clock = BenchClock {
            origin: Instant::now(),
        };
        ResilientCaller::new(
            policy,
            Rc::new(clock),
            SeededRng::new(1),
            Rc::new(DiscardEvents),
        )
        .expect("valid policy")
    }

    /// Retries, backoff, budget and keys configured, but no timers: what the
    /// caller costs when the attempt answers at once.
    fn policy_without_timers() -> RetryPolicy {
        RetryPolicy {
            per_attempt_timeout: None,
            deadline: None,
            budget: Some(Default::default()),
            ..RetryPolicy::default()
        }
    }

    /// A breaker opened the real way: by failing calls until it trips.
    fn open_breaker() -> CircuitBreaker {
        let mut breaker = CircuitBreaker::new(BreakerConfig::default()).unwrap();
        while breaker.state() != BreakerState::Open {
            let permit = breaker.try_acquire(Duration::ZERO).expect("closed");
            breaker.record(permit, Code::Unavailable, Duration::ZERO, Duration::ZERO);
        }
        breaker
    }

    /// The cases, each a closure doing one operation.
    struct Cases {
        closed: CircuitBreaker,
        open: CircuitBreaker,
        plain: ResilientCaller,
        no_keys: ResilientCaller,
        with_timers: ResilientCaller,
    }

    impl Cases {
        fn new() -> Self {
            Cases {
                closed: CircuitBreaker::new(BreakerConfig::default()).unwrap(),
                open: open_breaker(),
                plain: caller(policy_without_timers()),
                no_keys: caller(RetryPolicy {
                    idempotency_keys: false,
                    ..policy_without_timers()
                }),
                with_timers: caller(RetryPolicy::default()),
            }
        }

        fn closed_check(&mut self) {
            let now = black_box(Duration::from_millis(1));
            let permit = self.closed.try_acquire(now).expect("closed");
            black_box(
                self.closed
                    .record(permit, Code::Ok, Duration::from_micros(50), now),
            );
        }

        fn open_reject(&mut self) {
            let now = black_box(Duration::from_millis(1));
            black_box(self.open.try_acquire(now).expect_err("open"));
        }

        fn bare(&self) {
            let reply = bare_call(instant_success).now_or_never();
            black_box(reply.expect("ready").expect("ok"));
        }

        fn through_caller(&self) {
            let reply = self
                .plain
                .call(CallSpec::idempotent("Add"), instant_success)
                .now_or_never();
            black_box(reply.expect("ready").expect("ok"));
        }

        fn through_caller_without_keys(&self) {
            let reply = self
                .no_keys
                .call(CallSpec::idempotent("Add"), instant_success)
                .now_or_never();
            black_box(reply.expect("ready").expect("ok"));
        }

        fn through_caller_with_timers(&self) {
            let reply = self
                .with_timers
                .call(CallSpec::idempotent("Add"), instant_success)
                .now_or_never();
            black_box(reply.expect("ready").expect("ok"));
        }
    }

    /// Median nanoseconds per operation over several batches, and heap
    /// allocations per operation.
    fn measure(mut operation: impl FnMut()) -> (f64, f64) {
        const BATCH: u32 = 200_000;
        for _ in 0..BATCH {
            operation(); // warm up
        }
        let mut batches: Vec<f64> = (0..11)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..BATCH {
                    operation();
                }
                start.elapsed().as_nanos() as f64 / f64::from(BATCH)
            })
            .collect();
        batches.sort_by(f64::total_cmp);
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for _ in 0..BATCH {
            operation();
        }
        let allocations = (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / f64::from(BATCH);
        (batches[batches.len() / 2], allocations)
    }

    pub fn main() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime for the timers");
        let _context = runtime.enter();
        let mut cases = Cases::new();

        let mut criterion = Criterion::default()
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
            .sample_size(50)
            .configure_from_args();
        criterion.bench_function("breaker/closed: try_acquire + record", |b| {
            b.iter(|| cases.closed_check())
        });
        criterion.bench_function("breaker/open: rejection", |b| {
            b.iter(|| cases.open_reject())
        });
        criterion.bench_function("call/bare attempt closure", |b| b.iter(|| cases.bare()));
        criterion.bench_function("call/ResilientCaller, no timers", |b| {
            b.iter(|| cases.through_caller())
        });
        criterion.bench_function("call/ResilientCaller, no timers, keys off", |b| {
            b.iter(|| cases.through_caller_without_keys())
        });
        criterion.bench_function("call/ResilientCaller, default policy (1 timer)", |b| {
            b.iter(|| cases.through_caller_with_timers())
        });
        criterion.final_summary();

        println!("\nSide by side (median of 11 batches of 200 000 operations):\n");
        println!(
            "{:<48} {:>10} {:>14} {:>12}",
            "case", "ns/op", "allocs/op", "target"
        );
        let (closed, closed_allocs) = measure(|| cases.closed_check());
        let (open, open_allocs) = measure(|| cases.open_reject());
        let (bare, bare_allocs) = measure(|| cases.bare());
        let (wrapped, wrapped_allocs) = measure(|| cases.through_caller());
        let (no_keys, no_keys_allocs) = measure(|| cases.through_caller_without_keys());
        let (timers, timers_allocs) = measure(|| cases.through_caller_with_timers());
        let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
        let rows = [
            (
                "breaker closed: try_acquire + record",
                closed,
                closed_allocs,
                format!(
                    "≤ 50 ns, 0 alloc: {}",
                    verdict(closed <= 50.0 && closed_allocs == 0.0)
                ),
            ),
            (
                "breaker open: rejection",
                open,
                open_allocs,
                format!(
                    "≤ 100 ns, 0 alloc: {}",
                    verdict(open <= 100.0 && open_allocs == 0.0)
                ),
            ),
            ("bare attempt closure", bare, bare_allocs, String::new()),
            (
                "ResilientCaller, no timers",
                wrapped,
                wrapped_allocs,
                format!("≤ 1.05× bare: {}", verdict(wrapped <= bare * 1.05)),
            ),
            (
                "ResilientCaller, no timers, keys off",
                no_keys,
                no_keys_allocs,
                String::new(),
            ),
            (
                "ResilientCaller, default policy (1 timer)",
                timers,
                timers_allocs,
                String::new(),
            ),
        ];
        for (name, ns, allocs, target) in rows {
            println!("{name:<48} {ns:>10.1} {allocs:>14.2}   {target}");
        }
        println!(
            "\nratios: caller/bare = {:.2}× (+{:.0} ns per call); \
             caller with timers/bare = {:.2}× (+{:.0} ns per call)",
            wrapped / bare,
            wrapped - bare,
            timers / bare,
            timers - bare
        );
    }
}

fn main() {
    #[cfg(not(target_arch = "wasm32"))]
    native::main();
}
