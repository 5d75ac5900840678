//! The twelve operations a student can call, their inputs, and one attempt of each.
//!
//! The lab's server has three services: a calculator (four pure functions), a
//! key-value store (set, get, delete, increment, append) and a bank account
//! (deposit, withdraw, balance). What matters for resilience is one property of
//! each operation: is it *idempotent* — does running it twice leave the same
//! result as running it once? `set x = 10` is; `increment x` and `withdraw $10`
//! are not. The caller retries a non-idempotent operation only when it sends an
//! idempotency key, so the property is part of every call.
//!
//! [`perform`] makes exactly one attempt — the resilience core decides how many.

use std::fmt;

use rpc_lab::number_format::{parse, shortest};
use rpc_lab::proto::calculator_v1::{
    AmountRequest, AppendReply, AppendRequest, Balance, DeleteValueReply, DeleteValueRequest,
    GetBalanceRequest, GetValueRequest, IncrementRequest, SetValueRequest,
};
use rpc_lab::proto::{BinaryOperation, Number};
use rpc_lab::resilience::Attempt;
use tonic::{Request, Response, Status};

use crate::faults::AttemptFaults;
use crate::wire;

/// One RPC of the lab's three services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LabOperation {
    Add,
    Subtract,
    Multiply,
    Divide,
    SetValue,
    GetValue,
    DeleteValue,
    Increment,
    Append,
    Deposit,
    Withdraw,
    GetBalance,
}

/// Which service an operation belongs to: it decides which inputs it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Calculator,
    Store,
    Account,
}

impl LabOperation {
    pub const ALL: [LabOperation; 12] = [
        LabOperation::Add,
        LabOperation::Subtract,
        LabOperation::Multiply,
        LabOperation::Divide,
        LabOperation::SetValue,
        LabOperation::GetValue,
        LabOperation::DeleteValue,
        LabOperation::Increment,
        LabOperation::Append,
        LabOperation::Deposit,
        LabOperation::Withdraw,
        LabOperation::GetBalance,
    ];

    pub fn service(self) -> Service {
        use LabOperation::*;
        match self {
            Add | Subtract | Multiply | Divide => Service::Calculator,
            SetValue | GetValue | DeleteValue | Increment | Append => Service::Store,
            Deposit | Withdraw | GetBalance => Service::Account,
        }
    }

    /// The RPC's name in the `.proto`.
    pub fn rpc_name(self) -> &'static str {
        use LabOperation::*;
        match self {
            Add => "Add",
            Subtract => "Subtract",
            Multiply => "Multiply",
            Divide => "Divide",
            SetValue => "SetValue",
            GetValue => "GetValue",
            DeleteValue => "DeleteValue",
            Increment => "Increment",
            Append => "Append",
            Deposit => "Deposit",
            Withdraw => "Withdraw",
            GetBalance => "GetBalance",
        }
    }

    /// The full method name, as the server's counters (`LabStats.executions`) key it.
    pub fn method(self) -> String {
        let service = match self.service() {
            Service::Calculator => "Calculator",
            Service::Store => "Store",
            Service::Account => "Account",
        };
        format!("/calculator.v1.{service}/{}", self.rpc_name())
    }

    /// Does running it twice leave the same state as running it once?
    ///
    /// Reads and pure functions change nothing; `SetValue` and `DeleteValue`
    /// end in the same state however often they run. `Increment`, `Append`,
    /// `Deposit` and `Withdraw` do not: each execution adds to the last.
    pub fn idempotent(self) -> bool {
        use LabOperation::*;
        !matches!(self, Increment | Append | Deposit | Withdraw)
    }

    /// The effect in words, for the operation picker.
    pub fn describe(self) -> &'static str {
        use LabOperation::*;
        match self {
            Add => "a + b",
            Subtract => "a − b",
            Multiply => "a × b",
            Divide => "a ÷ b",
            SetValue => "key = value (idempotent)",
            GetValue => "read key",
            DeleteValue => "delete key (idempotent)",
            Increment => "key += value (NOT idempotent)",
            Append => "push value onto list key (NOT idempotent)",
            Deposit => "balance += amount (NOT idempotent)",
            Withdraw => "balance −= amount (NOT idempotent)",
            GetBalance => "read balance",
        }
    }

    /// The name used in `?op=`, the export and `data-operation`.
    pub fn slug(self) -> &'static str {
        self.rpc_name()
    }

    pub fn from_slug(slug: &str) -> Option<LabOperation> {
        LabOperation::ALL.into_iter().find(|op| op.slug() == slug)
    }
}

impl fmt::Display for LabOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rpc_name())
    }
}

/// The inputs of every operation, as typed; each operation reads the ones it needs.
#[derive(Clone, Debug, PartialEq)]
pub struct OperationForm {
    pub a: String,
    pub b: String,
    pub key: String,
    pub value: String,
    pub account: String,
    /// Dollars, with at most two decimals.
    pub amount: String,
}

impl Default for OperationForm {
    fn default() -> Self {
        OperationForm {
            a: "6".into(),
            b: "3".into(),
            key: "counter".into(),
            value: "1".into(),
            account: "alice".into(),
            amount: "10".into(),
        }
    }
}

/// A checked request, ready to send as often as the caller likes.
#[derive(Clone, Debug, PartialEq)]
pub enum Call {
    Arithmetic {
        operation: LabOperation,
        a: f64,
        b: f64,
    },
    Store {
        operation: LabOperation,
        key: String,
        value: f64,
    },
    Account {
        operation: LabOperation,
        account: String,
        cents: i64,
    },
}

impl Call {
    pub fn operation(&self) -> LabOperation {
        match self {
            Call::Arithmetic { operation, .. }
            | Call::Store { operation, .. }
            | Call::Account { operation, .. } => *operation,
        }
    }

    /// The same call with its number as the value: "set the counter to 1, 2,
    /// 3, …", so a set has a visible intended end state.
    pub fn numbered(&self, number: u64) -> Call {
        match self {
            Call::Store { operation, key, .. } => Call::Store {
                operation: *operation,
                key: key.clone(),
                value: number as f64,
            },
            other => other.clone(),
        }
    }
}

impl OperationForm {
    /// The request for `operation`, or what is wrong with the inputs it needs.
    ///
    /// Only shape is checked here (is it a number, a name, an amount with at
    /// most two decimals). Whether the server accepts it — a key too long,
    /// a withdrawal larger than the balance — is for the server to say.
    pub fn call(&self, operation: LabOperation) -> Result<Call, String> {
        match operation.service() {
            Service::Calculator => Ok(Call::Arithmetic {
                operation,
                a: number("a", &self.a)?,
                b: number("b", &self.b)?,
            }),
            Service::Store => Ok(Call::Store {
                operation,
                key: self.key.clone(),
                value: if matches!(
                    operation,
                    LabOperation::GetValue | LabOperation::DeleteValue
                ) {
                    0.0
                } else {
                    number("value", &self.value)?
                },
            }),
            Service::Account => Ok(Call::Account {
                operation,
                account: self.account.clone(),
                cents: if operation == LabOperation::GetBalance {
                    0
                } else {
                    dollars_to_cents(&self.amount)?
                },
            }),
        }
    }
}

fn number(name: &str, text: &str) -> Result<f64, String> {
    parse(text.trim())
        .ok_or_else(|| format!("{name} must be a number, like 2.5 or -7 (got {text:?})"))
}

/// `"12.34"` → 1234 cents. Money is counted in whole cents, never in floats.
pub fn dollars_to_cents(text: &str) -> Result<i64, String> {
    let text = text.trim().trim_start_matches('$');
    let bad = || {
        format!("amount must be dollars with at most two decimals, like 10 or 2.50 (got {text:?})")
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && fraction.is_empty()
        || fraction.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let fraction: i64 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(100)
        .and_then(|c| c.checked_add(fraction))
        .ok_or_else(bad)
}

/// Cents as dollars: 1234 → "$12.34", -500 → "−$5.00".
pub fn cents_to_dollars(cents: i64) -> String {
    let sign = if cents < 0 { "−" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}${}.{:02}", cents / 100, cents % 100)
}

/// What came back, in words ("= 9", "balance $90.00").
pub type Reply = String;

/// Sends one attempt of `call` over `transport`, in the lab session
/// `session`, with this attempt's fault headers.
pub async fn perform(
    call: &Call,
    attempt: &Attempt,
    transport: tonic_web_wasm_client::Client,
    session: &str,
    faults: &AttemptFaults,
) -> Result<Response<Reply>, Status> {
    // Every request carries the same metadata: the attempt's key and timeout,
    // the session, and the faults the student asked the server to inject.
    fn prepared<M>(
        message: M,
        attempt: &Attempt,
        session: &str,
        faults: &AttemptFaults,
    ) -> Request<M> {
        let mut request = Request::new(message);
        attempt.prepare(&mut request);
        crate::session::tag(&mut request, session);
        faults.apply(&mut request);
        request
    }
    // One path per operation; the messages differ, the call does not.
    let path = &call.operation().method();
    use LabOperation::*;
    match call {
        Call::Arithmetic { a, b, .. } => {
            let request = prepared(BinaryOperation { a: *a, b: *b }, attempt, session, faults);
            let reply = wire::unary(transport, path, request).await?;
            Ok(reply.map(|n: Number| format!("= {}", shortest(n.value))))
        }
        Call::Store {
            operation,
            key,
            value,
        } => {
            let (key, value) = (key.clone(), *value);
            let number = |n: Number| format!("= {}", shortest(n.value));
            let r = (attempt, session, faults);
            match operation {
                SetValue => {
                    let request = prepared(SetValueRequest { key, value }, r.0, r.1, r.2);
                    Ok(wire::unary(transport, path, request).await?.map(number))
                }
                GetValue => {
                    let request = prepared(GetValueRequest { key }, r.0, r.1, r.2);
                    Ok(wire::unary(transport, path, request).await?.map(number))
                }
                DeleteValue => {
                    let request = prepared(DeleteValueRequest { key }, r.0, r.1, r.2);
                    let reply = wire::unary(transport, path, request).await?;
                    Ok(reply.map(|d: DeleteValueReply| {
                        if d.existed {
                            "deleted"
                        } else {
                            "was not there"
                        }
                        .to_owned()
                    }))
                }
                Increment => {
                    let request = prepared(IncrementRequest { key, delta: value }, r.0, r.1, r.2);
                    Ok(wire::unary(transport, path, request).await?.map(number))
                }
                _ => {
                    let request = prepared(AppendRequest { key, item: value }, r.0, r.1, r.2);
                    let reply = wire::unary(transport, path, request).await?;
                    Ok(reply.map(|l: AppendReply| format!("{} items", l.items.len())))
                }
            }
        }
        Call::Account {
            operation,
            account,
            cents,
        } => {
            let account = account.clone();
            let reply = match operation {
                Deposit | Withdraw => {
                    let amount = AmountRequest {
                        account,
                        amount_cents: *cents,
                    };
                    let request = prepared(amount, attempt, session, faults);
                    wire::unary(transport, path, request).await
                }
                _ => {
                    let request = prepared(GetBalanceRequest { account }, attempt, session, faults);
                    wire::unary(transport, path, request).await
                }
            }?;
            Ok(reply.map(|b: Balance| format!("balance {}", cents_to_dollars(b.balance_cents))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_operations_with_their_methods_and_idempotence() {
        assert_eq!(LabOperation::ALL.len(), 12);
        assert_eq!(
            LabOperation::Withdraw.method(),
            "/calculator.v1.Account/Withdraw"
        );
        assert_eq!(LabOperation::Add.method(), "/calculator.v1.Calculator/Add");
        assert_eq!(LabOperation::Append.method(), "/calculator.v1.Store/Append");
        let unsafe_to_repeat: Vec<_> = LabOperation::ALL
            .into_iter()
            .filter(|op| !op.idempotent())
            .collect();
        use LabOperation::*;
        assert_eq!(unsafe_to_repeat, [Increment, Append, Deposit, Withdraw]);
        for op in LabOperation::ALL {
            assert_eq!(LabOperation::from_slug(op.slug()), Some(op));
        }
    }

    #[test]
    fn the_form_reads_only_what_an_operation_needs() {
        let form = OperationForm {
            a: "x".into(),
            amount: "12.5".into(),
            ..OperationForm::default()
        };
        assert!(
            form.call(LabOperation::Add)
                .unwrap_err()
                .contains("a must be a number")
        );
        assert_eq!(
            form.call(LabOperation::Withdraw),
            Ok(Call::Account {
                operation: LabOperation::Withdraw,
                account: "alice".into(),
                cents: 1250
            })
        );
        let blank_value = OperationForm {
            value: String::new(),
            ..OperationForm::default()
        };
        assert!(
            blank_value.call(LabOperation::GetValue).is_ok(),
            "a read needs no value"
        );
        assert!(blank_value.call(LabOperation::SetValue).is_err());
    }

    #[test]
    fn money_is_whole_cents() {
        assert_eq!(dollars_to_cents("10"), Ok(1000));
        assert_eq!(dollars_to_cents("$2.5"), Ok(250));
        assert_eq!(dollars_to_cents(".07"), Ok(7));
        for bad in ["", "1.234", "-5", "1e3", "ten", "99999999999999999999"] {
            assert!(dollars_to_cents(bad).is_err(), "{bad:?}");
        }
        assert_eq!(cents_to_dollars(1234), "$12.34");
        assert_eq!(cents_to_dollars(-500), "−$5.00");
    }

    #[test]
    fn a_numbered_set_counts_up() {
        let set = OperationForm::default()
            .call(LabOperation::SetValue)
            .unwrap();
        assert_eq!(
            set.numbered(7),
            Call::Store {
                operation: LabOperation::SetValue,
                key: "counter".into(),
                value: 7.0
            }
        );
    }
}
