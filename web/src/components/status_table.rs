//! Which errors may a client retry? A table of the status codes the lab
//! uses, drawn from the client core's own rule.
//!
//! Every failed call asks the same question: send it again, or not? The
//! lab's caller answers it with [`RetryPolicy::may_retry`] — a retryable
//! code, and for an operation that is not idempotent an idempotency key. The
//! table asks that same function, once for an idempotent call and twice for
//! one that is not (without and with a key), so it cannot say anything the
//! client does not do. The reason beside each code is the page's
//! explanation of it ([`rpc_lab::status::explain`]), the one the calculator
//! shows after a failure.

use rpc_lab::resilience::RetryPolicy;
use rpc_lab::status::{code_name, explain};
use tonic::Code;
use yew::prelude::*;

/// The codes a student meets in the lab, and where each comes from.
pub const LAB_CODES: [Code; 12] = [
    // An injected fault (fail or drop), a service that is down.
    Code::Unavailable,
    // The client's own timeout: per attempt, or the whole call's deadline.
    Code::DeadlineExceeded,
    // A copy of a keyed request whose first request did not complete.
    Code::Aborted,
    // The idempotency store full of requests in progress; a body too large.
    Code::ResourceExhausted,
    // A hedge the client cancelled because another attempt answered.
    Code::Cancelled,
    // The server unreachable from the browser.
    Code::Unknown,
    // Bad input: division by zero, NaN, an amount ≤ 0, a malformed key.
    Code::InvalidArgument,
    // Too little money; an idempotency key reused for another request.
    Code::FailedPrecondition,
    // An answer too large to represent (1e308 × 10).
    Code::OutOfRange,
    // A value never set.
    Code::NotFound,
    // A method the server does not offer.
    Code::Unimplemented,
    // A bug in the server.
    Code::Internal,
];

/// May a retry follow, for one kind of call?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    Yes,
    /// Only with an idempotency key.
    WithKey,
    No,
}

impl Retry {
    /// `data-retry`.
    pub fn slug(self) -> &'static str {
        match self {
            Retry::Yes => "yes",
            Retry::WithKey => "with-key",
            Retry::No => "no",
        }
    }

    fn text(self) -> &'static str {
        match self {
            Retry::Yes => "yes",
            Retry::WithKey => "only with an idempotency key",
            Retry::No => "no",
        }
    }
}

/// One code and what the client may do after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    pub code: Code,
    /// After it failed, may an idempotent call (`SetValue`, `GetBalance`) be sent again?
    pub idempotent: Retry,
    /// And one that is not (`Withdraw`, `Increment`)?
    pub not_idempotent: Retry,
}

/// The table, asked of `policy` code by code.
pub fn rows(policy: &RetryPolicy) -> Vec<Row> {
    let verdict = |code, idempotent| {
        if policy.may_retry(code, idempotent, false).is_ok() {
            Retry::Yes
        } else if policy.may_retry(code, idempotent, true).is_ok() {
            Retry::WithKey
        } else {
            Retry::No
        }
    };
    LAB_CODES
        .into_iter()
        .map(|code| Row {
            code,
            idempotent: verdict(code, true),
            not_idempotent: verdict(code, false),
        })
        .collect()
}

/// The table, drawn from the retry rule itself.
pub fn status_table() -> Html {
    // The lab's caller is built from the page's policy form, whose retryable
    // codes are always the core's default: the policy asked here.
    let policy = RetryPolicy::default();
    let cell = |retry: Retry| {
        html! { <td class={classes!("retry", retry.slug())}>{ retry.text() }</td> }
    };
    html! {
        <section class="card status-table" aria-labelledby="status-table-title" data-testid="status-table">
            <h2 id="status-table-title">{ "Which errors may a client retry?" }</h2>
            <p class="hint">
                { "The codes you will meet on this page, and what the lab's client does after each: the table is \
                   drawn from the same rule its retry loop follows. A retry needs a code that another attempt could \
                   change; and an operation that is not idempotent is sent again only with an idempotency key, \
                   because the failed attempt may have run." }
            </p>
            <table>
                <thead>
                    <tr>
                        <th scope="col">{ "Code" }</th>
                        <th scope="col">{ "Retry an idempotent call?" }</th>
                        <th scope="col">{ "Retry a call that is not (Withdraw)?" }</th>
                        <th scope="col">{ "Why" }</th>
                    </tr>
                </thead>
                <tbody>
                    { for rows(&policy).into_iter().map(|row| html! {
                        <tr data-code={code_name(row.code)} data-retry={row.idempotent.slug()}
                            data-retry-unsafe={row.not_idempotent.slug()}>
                            <th scope="row"><code>{ code_name(row.code) }</code></th>
                            { cell(row.idempotent) }
                            { cell(row.not_idempotent) }
                            <td class="why">{ explain(row.code) }</td>
                        </tr>
                    }) }
                </tbody>
            </table>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy_form::PolicyForm;

    /// The rows are the core's classification, whatever it says: retrying an
    /// idempotent call after code C is allowed exactly when the core allows
    /// it, and for an unsafe call "only with a key" exactly when the core
    /// allows it with a key and not without.
    #[test]
    fn the_rows_come_from_the_cores_classification() {
        let policy = PolicyForm::default()
            .policy()
            .expect("the page's default policy");
        assert_eq!(rows(&policy), rows(&RetryPolicy::default()));
        for row in rows(&policy) {
            let allowed = |idempotent, keyed| policy.may_retry(row.code, idempotent, keyed).is_ok();
            assert_eq!(row.idempotent == Retry::Yes, allowed(true, false));
            assert_eq!(row.not_idempotent == Retry::Yes, allowed(false, false));
            assert_eq!(
                row.not_idempotent == Retry::WithKey,
                allowed(false, true) && !allowed(false, false)
            );
            assert_eq!(
                row.idempotent != Retry::No,
                policy.retryable_codes.contains(row.code)
            );
        }
        // A policy that retries nothing gives a table of noes: the rows
        // follow the policy, they are not a copy of today's answers.
        let never = RetryPolicy {
            retryable_codes: rpc_lab::resilience::CodeSet::EMPTY,
            ..RetryPolicy::default()
        };
        assert!(
            rows(&never)
                .iter()
                .all(|row| row.idempotent == Retry::No && row.not_idempotent == Retry::No)
        );
    }

    /// What a student reads with today's default policy.
    #[test]
    fn with_the_default_policy_unsafe_calls_are_retried_only_with_a_key() {
        let table = rows(&RetryPolicy::default());
        let row = |code| *table.iter().find(|row| row.code == code).unwrap();
        assert_eq!(row(Code::Unavailable).not_idempotent, Retry::WithKey);
        assert_eq!(row(Code::Unavailable).idempotent, Retry::Yes);
        assert_eq!(row(Code::InvalidArgument).idempotent, Retry::No);
        assert_eq!(row(Code::ResourceExhausted).idempotent, Retry::No);
        let codes: std::collections::HashSet<_> = LAB_CODES.into_iter().collect();
        assert_eq!(codes.len(), LAB_CODES.len(), "no code twice");
        assert!(!codes.contains(&Code::Ok));
    }
}
