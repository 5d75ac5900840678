//! One batch of calls — a free run, or one step of a lesson — with the
//! server's truth read before and after it.
//!
//! The batch is where the client's view meets the server's: the caller's
//! events fill the run log, each finished call is counted, and the server's
//! counters and state, read just before and just after, say what really
//! happened. Together they make the step's [`Truth`].

use std::cell::Cell;

use rpc_lab::proto::calculator_v1::LabStats;
use rpc_lab::resilience::ResilientCaller;

use super::bench::{self, Finished};
use super::redraw;
use super::runtime::Runtime;
use super::settings::Settings;
use super::state::{LabAction, LastCall};
use crate::truth::{self, Seen, ServerCounters, Truth};

/// One batch: its label, its step number, the settings it runs with and the
/// caller it runs through.
pub struct Batch<'a> {
    pub label: String,
    pub step: usize,
    pub settings: &'a Settings,
    pub caller: &'a ResilientCaller,
}

/// Runs `batch`: the state and counters read, the calls made, read again.
/// `Err` says, in words, which of the bench's own requests failed.
pub async fn run(runtime: &Runtime, batch: Batch<'_>) -> Result<(), String> {
    let (bench, clock, redraw) = (&runtime.bench, &runtime.clock, &runtime.redraw);
    let Settings {
        operation,
        form,
        faults,
        run,
        ..
    } = batch.settings;
    let call = form.call(*operation)?;

    let method = operation.method();
    let executed = |stats: &LabStats| stats.executions.get(&method).copied().unwrap_or(0);
    // The counters are read last before the run and first after it, so that
    // they bracket the student's calls alone and never the page's own reads.
    let state_before = bench
        .state_of(&call)
        .await
        .map_err(|s| bench::failure("reading the state before the run", &s))?;
    let before = bench
        .stats()
        .await
        .map_err(|s| bench::failure("reading the server's counters", &s))?;
    runtime
        .log
        .borrow_mut()
        .begin_step(batch.step, clock.now(), batch.caller.breaker_state());
    runtime.dispatch(LabAction::StepBegan {
        step: batch.step,
        label: batch.label.clone(),
        calls: run.count,
    });
    redraw.now();
    // The whole lab redraws for the new step: let it finish before the
    // first attempts, or their replies would wait for it.
    redraw::drawn(clock.as_ref()).await;
    let ok = Cell::new(0u32);
    let last_ok = Cell::new(None::<u64>);
    let finished = |done: Finished| {
        let last = match done.result {
            Ok(reply) => {
                ok.set(ok.get() + 1);
                last_ok.set(Some(
                    last_ok.get().map_or(done.number, |n| n.max(done.number)),
                ));
                LastCall {
                    text: format!("{}, call {}: {operation} {reply}", batch.label, done.number),
                    ok: true,
                }
            }
            Err(error) => LastCall {
                text: bench::describe_failure(&batch.label, done.number, *operation, &error),
                ok: false,
            },
        };
        runtime.dispatch(LabAction::CallFinished(last));
        redraw.request();
    };
    bench
        .run(
            batch.caller,
            clock.as_ref(),
            &call,
            run,
            faults,
            batch.settings.policy.retry_unsafe,
            &runtime.fault_rng,
            &runtime.stop,
            &finished,
        )
        .await;
    runtime.log.borrow_mut().end_step(clock.now());
    let started = runtime
        .log
        .borrow()
        .calls
        .iter()
        .filter(|c| c.step == batch.step)
        .count() as u32;
    let after = bench
        .stats()
        .await
        .map_err(|s| bench::failure("reading the server's counters", &s))?;
    let state_after = bench
        .state_of(&call)
        .await
        .map_err(|s| bench::failure("reading the state after the run", &s))?;
    let effect = match (state_before, state_after) {
        (Some(before), Some(after)) => truth::effect(
            &call,
            run.count_up,
            started,
            ok.get(),
            last_ok.get(),
            before,
            after,
        ),
        _ => None,
    };
    let seen = Seen::from(&runtime.log.borrow().tally(batch.step));
    let counters = ServerCounters::between(&before, &after);
    runtime.dispatch(LabAction::StepMeasured(Truth {
        label: batch.label,
        operation: *operation,
        intended: started,
        client_ok: ok.get(),
        executed: executed(&after).saturating_sub(executed(&before)),
        replayed: counters.replays,
        seen,
        counters,
        effect,
    }));
    Ok(())
}
