//! Two latency histograms side by side: logical calls and single attempts.
//!
//! The two answer different questions. An *attempt* is one request on the
//! wire: how fast the server and network are. A *logical call* is what the
//! program waited for: every attempt it needed, plus the backoff between
//! them. Retries rescue calls that would have failed, and the price shows
//! up here, in the calls' tail (p99). Both histograms share their bins and
//! their bar scale ([`Bins::shared`]), so equal bars mean equal things.

use yew::prelude::*;

use super::latency_histogram::{Fill, LatencyHistogram};
use crate::latency::{Bins, summarize};
use crate::run_log::LogView;

const BINS: usize = 24;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub log: LogView,
}

#[component]
pub fn LatencyPanel(props: &Props) -> Html {
    let log = props.log.log.borrow();
    let calls = log.call_latencies();
    let attempts = &log.attempt_latencies;

    let body = if calls.is_empty() && attempts.is_empty() {
        html! { <p class="plot-empty">{ "No finished calls yet: latencies appear as calls end." }</p> }
    } else {
        let bins = Bins::shared(&[&calls, attempts], BINS);
        let (call_counts, attempt_counts) = (bins.histogram(&calls), bins.histogram(attempts));
        let y_max = call_counts
            .iter()
            .chain(&attempt_counts)
            .copied()
            .max()
            .unwrap_or(0);
        html! {
            <div class="histograms">
                <LatencyHistogram title="logical calls" bins={bins.clone()} counts={call_counts}
                                  summary={summarize(&calls)} {y_max} fill={Fill::Solid} />
                <LatencyHistogram title="attempts" {bins} counts={attempt_counts}
                                  summary={summarize(attempts)} {y_max} fill={Fill::Hatched} />
            </div>
        }
    };

    html! {
        <div class="latency-panel" data-plot="latency"
                 data-calls={calls.len().to_string()} data-attempts={attempts.len().to_string()}>
            <p class="hint">
                { "A logical call includes every attempt it needed and the backoff waits between them, \
                   so with retries it takes longer than any one of its attempts." }
            </p>
            { body }
        </div>
    }
}
