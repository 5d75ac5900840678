//! # The rules: what the three services mean, as plain functions on plain data
//!
//! No networking, no sessions, no headers: a sum, a key-value store with its
//! limits, a ledger of accounts, and the rule for names. Everything else in
//! the server (layers, sessions, faults, idempotency) exists to deliver
//! requests to these rules, or to show a student what happened on the way.
//! They are tested natively, without a server.

pub mod arithmetic;
pub mod key_value;
pub mod ledger;
pub mod names;
