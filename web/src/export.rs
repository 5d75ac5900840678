//! A run's event log as CSV and JSON, for a report or a spreadsheet.
//!
//! One line per event of the resilience core, with the time (ms since the run
//! began), the lesson step, the timeline row and the event's fields. Written
//! by hand rather than with serde: the format is small and fixed, and the page
//! stays smaller without a serializer.

use rpc_lab::number_format::{fixed, shortest};
use rpc_lab::resilience::{DelaySource, EventKind, Pushback};
use rpc_lab::status::code_name;

use crate::operations::LabOperation;
use crate::run_log::{AttemptOutcome, LoggedEvent, RunLog};

/// The fields of one exported event.
struct Row {
    event: &'static str,
    attempt: Option<u32>,
    code: Option<&'static str>,
    ms: Option<f64>,
    detail: String,
}

/// A pushback as the export writes it, `RetryAfter(1.5s)` or `DoNotRetry`:
/// its `Debug` form, spelled out so the page does not carry `Duration`'s
/// `Debug` code for it. A pushback is whole milliseconds (gRFC A6).
fn pushback_detail(pushback: Pushback) -> String {
    let Pushback::RetryAfter(delay) = pushback else {
        return "DoNotRetry".into();
    };
    let ms = delay.as_millis() as u64;
    let delay = match ms {
        0 => "0ns".into(),
        1..1000 => format!("{ms}ms"),
        _ => {
            let fraction = format!("{:03}", ms % 1000);
            match fraction.trim_end_matches('0') {
                "" => format!("{}s", ms / 1000),
                digits => format!("{}.{digits}s", ms / 1000),
            }
        }
    };
    format!("RetryAfter({delay})")
}

fn ms(duration: std::time::Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn row(kind: &EventKind) -> Row {
    let plain = |event| Row {
        event,
        attempt: None,
        code: None,
        ms: None,
        detail: String::new(),
    };
    match kind {
        EventKind::CallStarted {
            operation,
            idempotent,
            key,
        } => Row {
            detail: format!(
                "{operation}{}{}",
                idempotence(operation, *idempotent),
                key.map(|k| format!(" key={k}")).unwrap_or_default()
            ),
            ..plain("call_started")
        },
        EventKind::AttemptStarted {
            attempt,
            hedge,
            timeout,
        } => Row {
            attempt: Some(*attempt),
            ms: timeout.map(ms),
            detail: if *hedge {
                "hedge".into()
            } else {
                String::new()
            },
            ..plain("attempt_started")
        },
        EventKind::AttemptEnded {
            attempt,
            code,
            latency,
            fault_injected,
            replayed,
        } => Row {
            attempt: Some(*attempt),
            code: Some(code_name(*code)),
            ms: Some(ms(*latency)),
            detail: AttemptOutcome::of(*code, fault_injected.as_deref(), *replayed)
                .slug()
                .into(),
            ..plain("attempt_ended")
        },
        EventKind::PushbackReceived { attempt, pushback } => Row {
            attempt: Some(*attempt),
            detail: pushback_detail(*pushback),
            ..plain("pushback")
        },
        EventKind::BackoffChosen {
            next_attempt,
            delay,
            source,
        } => Row {
            attempt: Some(*next_attempt),
            ms: Some(ms(*delay)),
            // Spelled out: `to_lowercase` would bring Unicode's case tables.
            detail: match source {
                DelaySource::Backoff => "backoff",
                DelaySource::Pushback => "pushback",
            }
            .into(),
            ..plain("backoff")
        },
        EventKind::BudgetUpdated { tokens } => Row {
            detail: format!("tokens={}", shortest(*tokens)),
            ..plain("budget_updated")
        },
        EventKind::BudgetRefused { tokens } => Row {
            detail: format!("tokens={}", shortest(*tokens)),
            ..plain("budget_refused")
        },
        EventKind::DeadlineHit { deadline } => Row {
            ms: Some(ms(*deadline)),
            ..plain("deadline_hit")
        },
        EventKind::BreakerWindow { counts } => Row {
            detail: format!(
                "calls={} failures={} slow={}",
                counts.calls, counts.failures, counts.slow
            ),
            ..plain("breaker_window")
        },
        EventKind::BreakerTransition { from, to } => Row {
            detail: format!("{} -> {}", from.name(), to.name()),
            ..plain("breaker_transition")
        },
        EventKind::RejectedByBreaker { attempt, state } => Row {
            attempt: Some(*attempt),
            detail: state.name().into(),
            ..plain("rejected_by_breaker")
        },
        EventKind::CallEnded {
            code,
            attempts,
            elapsed,
            gave_up,
        } => Row {
            attempt: Some(*attempts),
            code: Some(code_name(*code)),
            ms: Some(ms(*elapsed)),
            detail: gave_up.map(|g| format!("{g:?}")).unwrap_or_default(),
            ..plain("call_ended")
        },
    }
}

/// What the export says about an operation's idempotence. The event holds
/// what the caller was *told* (`declared`): the naive client ("retry unsafe
/// calls too") declares a `Withdraw` idempotent so that it is retried. The
/// export says what the operation *is*, and when the two differ, both.
fn idempotence(operation: &str, declared: bool) -> &'static str {
    let really = LabOperation::from_slug(operation).map(LabOperation::idempotent);
    match (really, declared) {
        (Some(true), _) | (None, true) => " idempotent",
        (Some(false), true) => " (not idempotent; retried as if it were)",
        (_, false) => "",
    }
}

const COLUMNS: [&str; 9] = [
    "t_ms",
    "step",
    "call",
    "event",
    "attempt",
    "code",
    "ms",
    "detail",
    "step_label",
];

/// CSV with a header line; fields with a comma or quote are quoted.
pub fn to_csv(log: &RunLog, step_labels: &[String]) -> String {
    let mut out = COLUMNS.join(",");
    out.push('\n');
    for event in &log.events {
        let r = row(&event.kind);
        let fields = [
            fixed(event.at_ms, 3),
            event.step.to_string(),
            event.row.to_string(),
            r.event.to_owned(),
            r.attempt.map(|a| a.to_string()).unwrap_or_default(),
            r.code.unwrap_or_default().to_owned(),
            r.ms.map(|m| fixed(m, 3)).unwrap_or_default(),
            r.detail,
            label(event, step_labels),
        ];
        let quoted: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&quoted.join(","));
        out.push('\n');
    }
    out
}

fn label(event: &LoggedEvent, step_labels: &[String]) -> String {
    step_labels.get(event.step).cloned().unwrap_or_default()
}

fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// A JSON array of objects, one per event, with the same fields as the CSV.
pub fn to_json(log: &RunLog, step_labels: &[String]) -> String {
    let mut out = String::from("[");
    for (i, event) in log.events.iter().enumerate() {
        let r = row(&event.kind);
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            "\n{{\"t_ms\":{},\"step\":{},\"call\":{},\"event\":\"{}\",\"attempt\":{},\"code\":{},\"ms\":{},\"detail\":{},\"step_label\":{}}}",
            fixed(event.at_ms, 3),
            event.step,
            event.row,
            r.event,
            r.attempt.map_or("null".into(), |a| a.to_string()),
            r.code.map_or("null".into(), json_string),
            r.ms.map_or("null".into(), |m| fixed(m, 3)),
            json_string(&r.detail),
            json_string(&label(event, step_labels)),
        ));
    }
    out.push_str("\n]\n");
    out
}

fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rpc_lab::resilience::Event;
    use tonic::Code;

    use super::*;

    #[test]
    fn a_pushback_reads_as_its_debug_form() {
        let mut pushbacks = vec![Pushback::DoNotRetry];
        for ms in [0, 1, 250, 999, 1000, 1500, 1230, 1001, 61_000, 123_456] {
            pushbacks.push(Pushback::RetryAfter(Duration::from_millis(ms)));
        }
        for pushback in pushbacks {
            assert_eq!(pushback_detail(pushback), format!("{pushback:?}"));
        }
    }

    #[test]
    fn a_delay_source_reads_as_before() {
        for source in [DelaySource::Backoff, DelaySource::Pushback] {
            let kind = EventKind::BackoffChosen {
                next_attempt: 2,
                delay: Duration::from_millis(5),
                source,
            };
            assert_eq!(row(&kind).detail, format!("{source:?}").to_lowercase());
        }
    }

    fn log() -> RunLog {
        let mut log = RunLog::new(Duration::ZERO);
        for (at, kind) in [
            (
                0,
                EventKind::CallStarted {
                    operation: "Withdraw",
                    idempotent: false,
                    key: None,
                },
            ),
            (
                12,
                EventKind::AttemptEnded {
                    attempt: 1,
                    code: Code::Unavailable,
                    latency: Duration::from_millis(12),
                    fault_injected: Some("drop".into()),
                    replayed: false,
                },
            ),
        ] {
            log.record(Event {
                at: Duration::from_millis(at),
                call: 1,
                kind,
            });
        }
        log
    }

    #[test]
    fn csv_has_a_header_and_one_line_per_event() {
        let csv = to_csv(&log(), &["keys off, retries".into()]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "t_ms,step,call,event,attempt,code,ms,detail,step_label"
        );
        assert_eq!(
            lines[1],
            "0.000,0,1,call_started,,,,Withdraw,\"keys off, retries\""
        );
        assert_eq!(
            lines[2],
            "12.000,0,1,attempt_ended,1,UNAVAILABLE,12.000,dropped-reply,\"keys off, retries\""
        );
        assert_eq!(lines.len(), 3);
    }

    /// Issue 10: the naive client declares `Withdraw` idempotent to its
    /// caller; the export must not repeat that as a fact.
    #[test]
    fn a_withdrawal_is_never_exported_as_idempotent() {
        let mut log = RunLog::new(Duration::ZERO);
        for (call, operation, idempotent) in [
            (1, "Withdraw", true),
            (2, "Withdraw", false),
            (3, "SetValue", true),
        ] {
            log.record(Event {
                at: Duration::ZERO,
                call,
                kind: EventKind::CallStarted {
                    operation,
                    idempotent,
                    key: None,
                },
            });
        }
        let csv = to_csv(&log, &[]);
        let details: Vec<&str> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(7).unwrap())
            .collect();
        assert_eq!(
            details,
            [
                "Withdraw (not idempotent; retried as if it were)",
                "Withdraw",
                "SetValue idempotent"
            ]
        );
    }

    #[test]
    fn json_is_an_array_of_flat_objects() {
        let json = to_json(&log(), &[]);
        assert!(
            json.starts_with("[\n{\"t_ms\":0.000,\"step\":0,\"call\":1,\"event\":\"call_started\"")
        );
        assert!(
            json.contains("\"code\":\"UNAVAILABLE\",\"ms\":12.000,\"detail\":\"dropped-reply\"")
        );
        assert_eq!(json.matches("\"event\"").count(), 2);
        assert_eq!(json_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }
}
