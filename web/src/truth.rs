//! Client view vs server truth: what the student meant, what the client
//! believes, and what the server really did.
//!
//! A client only knows the replies it got. After ten withdrawals of $5 with
//! retries and lost replies it may believe "ten succeeded, $50 left" while the
//! server executed Withdraw thirteen times and holds $35. This module computes
//! the three views of a run's effect from plain numbers (the server's numbers
//! come from the `Lab` service), so the arithmetic is tested natively.

use crate::operations::{Call, LabOperation, cents_to_dollars};

/// One run's comparison: a row of the client-vs-server table.
#[derive(Clone, Debug, PartialEq)]
pub struct Truth {
    /// The step's label ("keys off"), or "run" for a free run.
    pub label: String,
    pub operation: LabOperation,
    /// Logical calls the student asked for.
    pub intended: u32,
    /// Calls whose final reply was OK.
    pub client_ok: u32,
    /// How many times the server's handler ran (from `LabStats.executions`).
    pub executed: u64,
    /// Requests answered from the idempotency store instead.
    pub replayed: u64,
    /// The state the operation changes, if it changes one.
    pub effect: Option<Effect>,
}

/// The changed state, three ways.
#[derive(Clone, Debug, PartialEq)]
pub struct Effect {
    /// What is measured ("balance of alice", "value of counter").
    pub what: String,
    pub money: bool,
    pub before: f64,
    /// If every intended call had happened exactly once.
    pub intended: f64,
    /// If exactly the calls the client saw succeed had happened.
    pub believed: f64,
    /// What the server holds.
    pub actual: f64,
}

impl Effect {
    /// How far the server's state is from the student's intention (calls
    /// that failed for good, and duplicates, both move it).
    pub fn off_by(&self) -> f64 {
        self.actual - self.intended
    }

    /// How far the server's state is from what the client believes: the
    /// dangerous difference, because the program acts on its belief.
    pub fn client_wrong_by(&self) -> f64 {
        self.actual - self.believed
    }

    pub fn format(&self, value: f64) -> String {
        if self.money {
            cents_to_dollars(value.round() as i64)
        } else {
            format!("{value}")
        }
    }
}

impl Truth {
    /// Executions beyond the intended calls: duplicates.
    pub fn duplicates(&self) -> u64 {
        self.executed.saturating_sub(u64::from(self.intended))
    }
}

/// The effect of `intended` calls of `call` (of which `client_ok` succeeded;
/// the highest successful call number is `last_ok`), given the state before
/// and after. `None` for operations that change nothing countable.
pub fn effect(
    call: &Call,
    count_up: bool,
    intended: u32,
    client_ok: u32,
    last_ok: Option<u64>,
    before: f64,
    actual: f64,
) -> Option<Effect> {
    let (n, ok) = (f64::from(intended), f64::from(client_ok));
    match call {
        Call::Account {
            operation,
            account,
            cents,
            ..
        } => {
            let sign = match operation {
                LabOperation::Deposit => 1.0,
                LabOperation::Withdraw => -1.0,
                _ => return None,
            };
            let amount = sign * *cents as f64;
            Some(Effect {
                what: format!("balance of {account}"),
                money: true,
                before,
                intended: before + n * amount,
                believed: before + ok * amount,
                actual,
            })
        }
        Call::Store {
            operation,
            key,
            value,
            ..
        } => {
            let (intended, believed) = match operation {
                LabOperation::Increment => (before + n * value, before + ok * value),
                LabOperation::SetValue if count_up => {
                    (n, last_ok.map_or(before, |number| number as f64))
                }
                LabOperation::SetValue => (*value, if client_ok > 0 { *value } else { before }),
                _ => return None,
            };
            Some(Effect {
                what: format!("value of {key}"),
                money: false,
                before,
                intended,
                believed,
                actual,
            })
        }
        Call::Arithmetic { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn withdraw() -> Call {
        Call::Account {
            operation: LabOperation::Withdraw,
            account: "alice".into(),
            cents: 500,
        }
    }

    #[test]
    fn duplicated_withdrawals_leave_less_money_than_intended() {
        // Ten $5 withdrawals from $100; the client saw 9 succeed; the server
        // ran 13 and holds $35.
        let effect = effect(&withdraw(), false, 10, 9, Some(10), 10_000.0, 3_500.0).unwrap();
        assert_eq!((effect.intended, effect.believed), (5_000.0, 5_500.0));
        assert_eq!(effect.off_by(), -1_500.0);
        assert_eq!(
            effect.client_wrong_by(),
            -2_000.0,
            "it believes $55, holds $35"
        );
        assert_eq!(effect.format(effect.actual), "$35.00");
        let truth = Truth {
            label: "keys off".into(),
            operation: LabOperation::Withdraw,
            intended: 10,
            client_ok: 9,
            executed: 13,
            replayed: 0,
            effect: Some(effect),
        };
        assert_eq!(truth.duplicates(), 3);
    }

    #[test]
    fn a_counted_up_set_intends_its_last_number() {
        let set = Call::Store {
            operation: LabOperation::SetValue,
            key: "counter".into(),
            value: 1.0,
        };
        let e = effect(&set, true, 10, 9, Some(10), 0.0, 10.0).unwrap();
        assert_eq!((e.intended, e.believed, e.off_by()), (10.0, 10.0, 0.0));
        let increment = Call::Store {
            operation: LabOperation::Increment,
            key: "counter".into(),
            value: 1.0,
        };
        let e = effect(&increment, false, 10, 10, Some(10), 0.0, 13.0).unwrap();
        assert_eq!((e.intended, e.off_by()), (10.0, 3.0));
    }

    #[test]
    fn reads_and_arithmetic_have_no_effect() {
        let add = Call::Arithmetic {
            operation: LabOperation::Add,
            a: 1.0,
            b: 2.0,
        };
        assert_eq!(effect(&add, false, 3, 3, None, 0.0, 0.0), None);
        let read = Call::Account {
            operation: LabOperation::GetBalance,
            account: "a".into(),
            cents: 0,
        };
        assert_eq!(effect(&read, false, 3, 3, None, 0.0, 0.0), None);
    }
}
