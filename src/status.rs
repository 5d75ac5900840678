//! gRPC status codes explained for students.
//!
//! A failed call carries a machine-readable code (`INVALID_ARGUMENT`,
//! `UNAVAILABLE`, …) and a message. The code tells a program what to do next —
//! most importantly, whether trying again can help — so the page shows both the
//! code's name and a sentence that says exactly that.

use tonic::Code;

/// The name of a code as the gRPC specification spells it (`DEADLINE_EXCEEDED`).
///
/// tonic's `Display` gives prose ("Deadline expired before operation could
/// complete"); students looking the code up, and other gRPC tools, use this form.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// One or two sentences on what a code means for the caller: what happened, and
/// whether sending the same request again could give a different answer.
pub fn explain(code: Code) -> &'static str {
    match code {
        Code::Ok => "The call succeeded.",
        Code::InvalidArgument => {
            "The server refused the request because of what is in it. \
             Sending the same request again will fail the same way: change the input."
        }
        Code::OutOfRange => {
            "The request was understood, but the answer falls outside what can be \
             represented. Retrying the same request cannot help."
        }
        Code::FailedPrecondition => {
            "The system is not in the state this call needs; the server's message \
             says which. Nothing changed; retrying helps only once the state changes."
        }
        Code::NotFound => "The thing asked for does not exist. Retrying will not create it.",
        Code::Unavailable => {
            "The server could not handle the call right now, or the reply was lost on the \
             way back. It is worth retrying — but the operation may already have run once, \
             so retry only what is safe to repeat."
        }
        Code::DeadlineExceeded => {
            "The call ran out of time before an answer arrived. The server may still have \
             done the work, so a retry may run it twice."
        }
        Code::Aborted => {
            "The server stopped this call because of a conflict with another one in \
             progress. Retrying a little later is safe."
        }
        Code::Cancelled => {
            "The caller cancelled the call before it finished. Whether to try again is \
             the caller's choice; the server may or may not have done the work."
        }
        Code::ResourceExhausted => {
            "The server (or a limit on the way) is out of some resource. Retry later, \
             more slowly."
        }
        Code::Unimplemented => {
            "The server does not offer this method: the client and server disagree about \
             the contract, or the address points at a different server. Retrying will not help."
        }
        Code::Unknown => {
            "The call failed outside gRPC itself: most often the server is not running, \
             the address is wrong, or the browser blocked the request. Check those, then try again."
        }
        Code::Internal | Code::DataLoss => {
            "Something broke inside the server or the protocol. This is a bug, not \
             something a retry will fix."
        }
        Code::PermissionDenied | Code::Unauthenticated => {
            "The caller is not allowed to do this. Retrying will not change that."
        }
        Code::AlreadyExists => {
            "What the call tried to create already exists. Retrying will not change that."
        }
    }
}

/// What a failed call means when the client sent no request at all: its own
/// circuit breaker refused the call before the first attempt.
///
/// The code on such a failure is `UNAVAILABLE` (as gRPC clients report a
/// refusal of their own), but [`explain`]'s sentence for that code warns
/// that the operation may already have run — false here, and exactly the
/// wrong lesson: a refusal with nothing sent is the one failure that is
/// certainly safe to send again.
pub const NOTHING_SENT: &str = "The client itself refused the call and sent no request, so \
     the server did nothing: sending it again is safe. It will be refused the same way \
     until the circuit breaker lets a probe through and the probe succeeds.";

/// What a failed call means for the caller, given how many attempts were
/// actually sent: [`NOTHING_SENT`] when none was, else [`explain`] of the
/// last attempt's code.
///
/// Only the breaker refuses a call before its first attempt; a retry budget
/// refuses *retries*, so when it stops a call at least one attempt went out,
/// and the last attempt's code is the truth about that attempt.
pub fn explain_attempts(code: Code, attempts_sent: u32) -> &'static str {
    if attempts_sent == 0 {
        NOTHING_SENT
    } else {
        explain(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Code; 17] = crate::resilience::CodeSet::ALL_CODES;

    /// The names are the specification's, which is also what tonic's numeric
    /// codes map to: checked through the number so a typo cannot hide.
    #[test]
    fn code_names_follow_the_grpc_specification() {
        let spec = [
            "OK",
            "CANCELLED",
            "UNKNOWN",
            "INVALID_ARGUMENT",
            "DEADLINE_EXCEEDED",
            "NOT_FOUND",
            "ALREADY_EXISTS",
            "PERMISSION_DENIED",
            "RESOURCE_EXHAUSTED",
            "FAILED_PRECONDITION",
            "ABORTED",
            "OUT_OF_RANGE",
            "UNIMPLEMENTED",
            "INTERNAL",
            "UNAVAILABLE",
            "DATA_LOSS",
            "UNAUTHENTICATED",
        ];
        for (number, name) in spec.iter().enumerate() {
            assert_eq!(code_name(Code::from_i32(number as i32)), *name);
        }
    }

    /// The question a student must answer after every failure is "may I send it
    /// again?", so every error's explanation answers it.
    #[test]
    fn every_error_says_whether_trying_again_can_help() {
        for code in ALL.into_iter().filter(|&code| code != Code::Ok) {
            let text = explain(code).to_lowercase();
            assert!(
                text.contains("retr") || text.contains("again"),
                "{code:?}: {text}"
            );
        }
    }

    /// The two failures after which the work may already be done say so: this is
    /// why retrying a withdrawal is dangerous.
    #[test]
    fn lost_replies_and_timeouts_warn_that_the_work_may_have_run() {
        assert!(explain(Code::Unavailable).contains("may already have run"));
        assert!(explain(Code::DeadlineExceeded).contains("may still have done the work"));
        assert!(explain(Code::InvalidArgument).contains("fail the same way"));
    }

    /// A call refused by the client's own breaker reached no server: its
    /// explanation must not suggest the operation may have run, and it says
    /// that trying again is safe. With an attempt sent, the code's own
    /// explanation stands (it may have run).
    #[test]
    fn a_call_the_client_never_sent_cannot_have_run() {
        let unsent = explain_attempts(Code::Unavailable, 0);
        assert!(!unsent.contains("may already have run"), "{unsent}");
        assert!(unsent.contains("sent no request") && unsent.contains("did nothing"));
        assert!(unsent.contains("again is safe"));
        assert_eq!(
            explain_attempts(Code::Unavailable, 1),
            explain(Code::Unavailable)
        );
        assert_eq!(
            explain_attempts(Code::DeadlineExceeded, 3),
            explain(Code::DeadlineExceeded)
        );
    }
}
