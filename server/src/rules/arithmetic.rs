//! The calculator's rules, apart from any networking.
//!
//! These are plain functions on `f64` so they can be tested exhaustively and
//! read on their own. The gRPC service in [`crate::services::calculator`] only unpacks a
//! request, calls [`evaluate`] and packs the answer.
//!
//! The rules are the contract's: an operand must be a finite number, dividing
//! by zero is refused, and a result that overflows to infinity is reported
//! rather than returned. IEEE 754 would happily answer `inf` or `NaN`; a service
//! that does so passes garbage on to every client, which is exactly the kind of
//! silent failure a distributed system cannot afford.

use std::fmt;

use rpc_lab::calculator::ArithmeticOperation;

/// Why an operation has no answer.
#[derive(Clone, Debug, PartialEq)]
pub enum ArithmeticError {
    /// An operand is NaN or infinite. Names the operand (`a` or `b`).
    NotFinite { operand: &'static str, value: f64 },
    /// `Divide` with `b == 0` (either sign of zero).
    DivisionByZero,
    /// The operands were fine but the result does not fit in a finite `f64`.
    Overflow {
        operation: ArithmeticOperation,
        a: f64,
        b: f64,
    },
}

impl fmt::Display for ArithmeticError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArithmeticError::NotFinite { operand, value } => write!(
                f,
                "operand {operand} is {value}; operands must be finite numbers"
            ),
            ArithmeticError::DivisionByZero => {
                write!(f, "division by zero: the divisor b must not be 0")
            }
            ArithmeticError::Overflow { operation, a, b } => write!(
                f,
                "{a} {} {b} overflows: the result is larger than the largest double (±1.8e308)",
                operation.symbol()
            ),
        }
    }
}

impl std::error::Error for ArithmeticError {}

/// Computes `operation(a, b)` under the contract's rules.
pub fn evaluate(operation: ArithmeticOperation, a: f64, b: f64) -> Result<f64, ArithmeticError> {
    for (operand, value) in [("a", a), ("b", b)] {
        if !value.is_finite() {
            return Err(ArithmeticError::NotFinite { operand, value });
        }
    }
    let result = match operation {
        ArithmeticOperation::Add => a + b,
        ArithmeticOperation::Subtract => a - b,
        ArithmeticOperation::Multiply => a * b,
        ArithmeticOperation::Divide if b == 0.0 => return Err(ArithmeticError::DivisionByZero),
        ArithmeticOperation::Divide => a / b,
    };
    // With finite operands and a non-zero divisor, the only way to leave the
    // finite numbers is overflow (NaN needs inf or 0/0 as an input).
    if result.is_finite() {
        Ok(result)
    } else {
        Err(ArithmeticError::Overflow { operation, a, b })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ArithmeticOperation::*;

    #[test]
    fn the_four_operations() {
        assert_eq!(evaluate(Add, 1.5, 2.0), Ok(3.5));
        assert_eq!(evaluate(Subtract, 1.0, 3.0), Ok(-2.0));
        assert_eq!(evaluate(Multiply, -4.0, 2.5), Ok(-10.0));
        assert_eq!(evaluate(Divide, 7.0, 2.0), Ok(3.5));
    }

    #[test]
    fn division_by_either_zero_is_refused() {
        for zero in [0.0, -0.0] {
            let error = evaluate(Divide, 1.0, zero).unwrap_err();
            assert_eq!(error, ArithmeticError::DivisionByZero);
            assert!(error.to_string().contains("division by zero"));
        }
        // 0 / 0 is a division by zero too, not a NaN.
        assert_eq!(
            evaluate(Divide, 0.0, 0.0),
            Err(ArithmeticError::DivisionByZero)
        );
    }

    #[test]
    fn zero_times_anything_and_zero_divided_are_fine() {
        assert_eq!(evaluate(Multiply, 0.0, f64::MAX), Ok(0.0));
        assert_eq!(evaluate(Divide, 0.0, 5.0), Ok(0.0));
    }

    #[test]
    fn non_finite_operands_are_named() {
        for op in ArithmeticOperation::ALL {
            let error = evaluate(op, f64::NAN, 1.0).unwrap_err();
            assert!(matches!(
                error,
                ArithmeticError::NotFinite { operand: "a", .. }
            ));
            assert!(error.to_string().contains("operand a is NaN"), "{error}");

            let error = evaluate(op, 1.0, f64::NEG_INFINITY).unwrap_err();
            assert!(error.to_string().contains("operand b is -inf"), "{error}");
        }
    }

    #[test]
    fn overflow_is_reported_for_every_operation_that_can_overflow() {
        let big = f64::MAX;
        assert!(matches!(
            evaluate(Add, big, big),
            Err(ArithmeticError::Overflow { .. })
        ));
        assert!(matches!(
            evaluate(Subtract, -big, big),
            Err(ArithmeticError::Overflow { .. })
        ));
        assert!(matches!(
            evaluate(Multiply, big, 2.0),
            Err(ArithmeticError::Overflow { .. })
        ));
        assert!(matches!(
            evaluate(Divide, big, 0.5),
            Err(ArithmeticError::Overflow { .. })
        ));
        let message = evaluate(Multiply, big, 2.0).unwrap_err().to_string();
        assert!(message.contains("overflows"), "{message}");
    }

    #[test]
    fn the_largest_finite_results_still_count() {
        assert_eq!(evaluate(Add, f64::MAX, 0.0), Ok(f64::MAX));
        assert_eq!(
            evaluate(Divide, f64::MIN_POSITIVE, 2.0),
            Ok(f64::MIN_POSITIVE / 2.0)
        );
    }
}
