//! The page's state and every way it can change.
//!
//! Components never change state directly: they dispatch an [`Action`] and
//! [`CalculatorState::apply`] decides what it means. Because that is a plain
//! function on plain data, every rule here is tested natively, without a browser.

use std::rc::Rc;

use rpc_lab::calculator::{ArithmeticOperation, BareCallError};
use rpc_lab::number_format::{exponent, fixed, parse, shortest};
use yew::Reducible;

/// How many past calls the page lists under the latest one.
pub const HISTORY_LEN: usize = 8;

/// What a finished call produced.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Value(f64),
    Failed(BareCallError),
}

/// One call to the server, as the student sees it afterwards.
#[derive(Clone, Debug, PartialEq)]
pub struct CallRecord {
    /// Numbered from 1 in the order the calls were made.
    pub number: u64,
    pub operation: ArithmeticOperation,
    pub a: f64,
    pub b: f64,
    pub outcome: Outcome,
    /// Wall-clock time from sending the request to having the answer.
    pub elapsed_ms: f64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct CalculatorState {
    /// The operand fields exactly as typed; parsed with [`parse_operand`].
    pub a: String,
    pub b: String,
    /// The operation waiting for its answer, if any.
    pub in_flight: Option<(u64, ArithmeticOperation)>,
    /// Finished calls, newest first, at most [`HISTORY_LEN`].
    pub history: Vec<CallRecord>,
    /// The highest call number started so far.
    pub calls_started: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    EditA(String),
    EditB(String),
    /// A call was sent. The caller numbers calls (1, 2, …) because the async
    /// task that later reports `Finished` must know its number.
    Started {
        number: u64,
        operation: ArithmeticOperation,
    },
    Finished(CallRecord),
}

impl CalculatorState {
    /// A fresh page, with example operands so the first click does something.
    pub fn new() -> Self {
        CalculatorState {
            a: "6".into(),
            b: "3".into(),
            ..Default::default()
        }
    }

    pub fn apply(&mut self, action: Action) {
        match action {
            Action::EditA(text) => self.a = text,
            Action::EditB(text) => self.b = text,
            Action::Started { number, operation } => {
                self.calls_started = self.calls_started.max(number);
                self.in_flight = Some((number, operation));
            }
            Action::Finished(record) => {
                if self.in_flight.map(|(number, _)| number) == Some(record.number) {
                    self.in_flight = None;
                }
                self.history.insert(0, record);
                self.history.truncate(HISTORY_LEN);
            }
        }
    }

    /// Both operands, or the first reason they cannot be sent.
    pub fn operands(&self) -> Result<(f64, f64), String> {
        Ok((parse_operand("a", &self.a)?, parse_operand("b", &self.b)?))
    }

    /// The latest finished call.
    pub fn latest(&self) -> Option<&CallRecord> {
        self.history.first()
    }
}

impl Reducible for CalculatorState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        next.apply(action);
        Rc::new(next)
    }
}

/// Reads an operand field.
///
/// Anything Rust reads as an `f64` is accepted — including `NaN`, `inf` and
/// `-infinity` — because sending those is how a student sees the server's
/// validation at work. Empty fields and words are refused here, before any
/// network call, with a message saying what to type.
pub fn parse_operand(name: &str, text: &str) -> Result<f64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("{name} is empty: type a number such as 42 or -1.5"));
    }
    // Accept the typographic minus sign and a decimal comma, both easy to paste.
    let normalized = text.replace('−', "-").replace(',', ".");
    parse(&normalized).ok_or_else(|| {
        format!("{name} = “{text}” is not a number: try 42, -1.5, 1e308, NaN or inf")
    })
}

/// A number as the page prints it: integers without a trailing `.0`, very
/// large and very small numbers in exponent form.
pub fn format_number(value: f64) -> String {
    if value == 0.0 {
        return "0".into();
    }
    let magnitude = value.abs();
    if !(1e-6..1e15).contains(&magnitude) {
        exponent(value)
    } else if value.fract() == 0.0 {
        fixed(value, 0)
    } else {
        // Shortest representation that reads back as the same double.
        shortest(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    fn record(number: u64, outcome: Outcome) -> CallRecord {
        CallRecord {
            number,
            operation: ArithmeticOperation::Divide,
            a: 1.0,
            b: 0.0,
            outcome,
            elapsed_ms: 2.5,
        }
    }

    #[test]
    fn a_call_is_in_flight_from_start_to_finish() {
        let mut state = CalculatorState::new();
        state.apply(Action::Started {
            number: 1,
            operation: ArithmeticOperation::Divide,
        });
        assert_eq!(state.in_flight, Some((1, ArithmeticOperation::Divide)));
        let failed = Outcome::Failed(BareCallError {
            code: Code::InvalidArgument,
            message: "division by zero".into(),
        });
        state.apply(Action::Finished(record(1, failed.clone())));
        assert_eq!(state.in_flight, None);
        assert_eq!(state.latest().unwrap().outcome, failed);
    }

    #[test]
    fn a_late_answer_to_an_older_call_does_not_clear_the_newer_one() {
        let mut state = CalculatorState::new();
        state.apply(Action::Started {
            number: 1,
            operation: ArithmeticOperation::Add,
        });
        state.apply(Action::Started {
            number: 2,
            operation: ArithmeticOperation::Multiply,
        });
        state.apply(Action::Finished(record(1, Outcome::Value(1.0))));
        assert_eq!(state.in_flight, Some((2, ArithmeticOperation::Multiply)));
    }

    #[test]
    fn history_keeps_the_newest_calls_first() {
        let mut state = CalculatorState::new();
        for number in 1..=(HISTORY_LEN as u64 + 3) {
            state.apply(Action::Started {
                number,
                operation: ArithmeticOperation::Add,
            });
            state.apply(Action::Finished(record(
                number,
                Outcome::Value(number as f64),
            )));
        }
        assert_eq!(state.history.len(), HISTORY_LEN);
        assert_eq!(state.latest().unwrap().number, HISTORY_LEN as u64 + 3);
        assert_eq!(state.history.last().unwrap().number, 4);
    }

    #[test]
    fn operands_are_parsed_with_a_helpful_refusal() {
        let mut state = CalculatorState::new();
        assert_eq!(state.operands(), Ok((6.0, 3.0)));
        state.apply(Action::EditB("  −2,5 ".into()));
        assert_eq!(state.operands(), Ok((6.0, -2.5)));
        state.apply(Action::EditA("six".into()));
        let refusal = state.operands().unwrap_err();
        assert!(refusal.contains("“six” is not a number"), "{refusal}");
        state.apply(Action::EditA("".into()));
        assert!(state.operands().unwrap_err().contains("a is empty"));
    }

    #[test]
    fn special_values_reach_the_server_so_its_validation_can_be_seen() {
        assert!(parse_operand("a", "NaN").unwrap().is_nan());
        assert_eq!(parse_operand("a", "inf"), Ok(f64::INFINITY));
        assert_eq!(parse_operand("b", "-infinity"), Ok(f64::NEG_INFINITY));
        assert_eq!(parse_operand("b", "1e308"), Ok(1e308));
    }

    #[test]
    fn numbers_print_readably() {
        assert_eq!(format_number(2.0), "2");
        assert_eq!(format_number(-0.0), "0");
        assert_eq!(format_number(0.5), "0.5");
        assert_eq!(format_number(1.0 / 3.0), "0.3333333333333333");
        assert_eq!(format_number(f64::MAX), "1.7976931348623157e308");
        assert_eq!(format_number(1e-9), "1e-9");
        assert_eq!(format_number(-12.0), "-12");
    }
}
