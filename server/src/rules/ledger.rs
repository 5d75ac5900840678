//! Bank accounts in integer cents: the rules of `Deposit`, `Withdraw` and
//! `GetBalance`.
//!
//! Money is `i64` cents because floating point cannot hold most decimal
//! fractions exactly (0.10 + 0.20 != 0.30 in binary). Every operation checks
//! everything before it writes, so a refused operation changes nothing.

use std::collections::HashMap;

use tonic::Status;

use crate::rules::names;

#[derive(Debug, Default)]
pub struct Ledger {
    balances: HashMap<String, i64>,
    max_accounts: usize,
}

impl Ledger {
    pub fn new(max_accounts: usize) -> Self {
        Ledger {
            balances: HashMap::new(),
            max_accounts,
        }
    }

    /// An account that was never used has balance 0.
    pub fn balance(&self, account: &str) -> Result<i64, Status> {
        names::check("account", account)?;
        Ok(self.balances.get(account).copied().unwrap_or(0))
    }

    pub fn deposit(&mut self, account: &str, amount_cents: i64) -> Result<i64, Status> {
        names::check("account", account)?;
        positive(amount_cents)?;
        let balance = self.balance(account)?;
        let next = balance.checked_add(amount_cents).ok_or_else(|| {
            Status::out_of_range(format!(
                "depositing {amount_cents} cents would overflow the balance of {balance} cents"
            ))
        })?;
        self.write(account, next)
    }

    /// Not idempotent: two withdrawals take the money twice.
    pub fn withdraw(&mut self, account: &str, amount_cents: i64) -> Result<i64, Status> {
        names::check("account", account)?;
        positive(amount_cents)?;
        let balance = self.balance(account)?;
        if balance < amount_cents {
            return Err(Status::failed_precondition(format!(
                "insufficient funds: {account:?} has {balance} cents, the withdrawal asks for {amount_cents}"
            )));
        }
        self.write(account, balance - amount_cents)
    }

    fn write(&mut self, account: &str, balance: i64) -> Result<i64, Status> {
        if !self.balances.contains_key(account) && self.balances.len() >= self.max_accounts {
            return Err(Status::resource_exhausted(format!(
                "this session already has {} accounts, the most it may hold; reset the session",
                self.max_accounts
            )));
        }
        self.balances.insert(account.to_owned(), balance);
        Ok(balance)
    }
}

fn positive(amount_cents: i64) -> Result<(), Status> {
    if amount_cents > 0 {
        Ok(())
    } else {
        Err(Status::invalid_argument(format!(
            "amount_cents must be greater than 0, got {amount_cents}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    #[test]
    fn deposit_then_withdraw() {
        let mut ledger = Ledger::new(10);
        assert_eq!(ledger.balance("alice").unwrap(), 0, "never used: balance 0");
        assert_eq!(ledger.deposit("alice", 10_000).unwrap(), 10_000);
        assert_eq!(ledger.withdraw("alice", 1_000).unwrap(), 9_000);
        assert_eq!(
            ledger.withdraw("alice", 1_000).unwrap(),
            8_000,
            "withdrawing twice takes it twice"
        );
    }

    #[test]
    fn insufficient_funds_change_nothing() {
        let mut ledger = Ledger::new(10);
        ledger.deposit("bob", 500).unwrap();
        let error = ledger.withdraw("bob", 501).unwrap_err();
        assert_eq!(error.code(), Code::FailedPrecondition);
        assert!(error.message().contains("insufficient funds"));
        assert_eq!(ledger.balance("bob").unwrap(), 500);
    }

    #[test]
    fn amounts_must_be_positive() {
        let mut ledger = Ledger::new(10);
        for amount in [0, -1, i64::MIN] {
            assert_eq!(
                ledger.deposit("a", amount).unwrap_err().code(),
                Code::InvalidArgument
            );
            assert_eq!(
                ledger.withdraw("a", amount).unwrap_err().code(),
                Code::InvalidArgument
            );
        }
        assert_eq!(ledger.balance("a").unwrap(), 0);
    }

    #[test]
    fn overflow_is_out_of_range_and_changes_nothing() {
        let mut ledger = Ledger::new(10);
        ledger.deposit("rich", i64::MAX).unwrap();
        assert_eq!(
            ledger.deposit("rich", 1).unwrap_err().code(),
            Code::OutOfRange
        );
        assert_eq!(ledger.balance("rich").unwrap(), i64::MAX);
    }

    #[test]
    fn names_follow_the_key_rules_and_accounts_are_bounded() {
        let mut ledger = Ledger::new(1);
        assert_eq!(
            ledger.deposit("", 1).unwrap_err().code(),
            Code::InvalidArgument
        );
        ledger.deposit("one", 1).unwrap();
        assert_eq!(
            ledger.deposit("two", 1).unwrap_err().code(),
            Code::ResourceExhausted
        );
        assert_eq!(
            ledger.balance("two").unwrap(),
            0,
            "reading does not create an account"
        );
    }
}
