//! What the server did with a request, decided from what the layers saw.
//!
//! No one layer knows the whole story. The fault layer knows it injected a
//! fail or a drop (and says so on the reply, `x-fault-injected`); the
//! idempotency layer knows a reply is a replay (`idempotent-replayed`) or
//! that it refused a reused key; the capacity layer knows it refused
//! (`x-lab-overload`), skipped or cancelled; the execution count knows the
//! handler ran. What is on the reply is read from the reply; what is not
//! (or what happens when no reply is sent, because the client hung up) the
//! layers mark on the request's record as they go ([`Marks`]). This file
//! turns the two into one [`RequestOutcome`]. Pure, so every case is tested
//! here without a server.

use tonic::Code;

use super::{InjectedFault, RequestOutcome};

/// What the layers marked while the request went through them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Marks {
    /// An outcome a layer decided outright: a reused key, a skip, a
    /// cancellation, a deadline that ran out during an injected delay.
    pub decided: Option<RequestOutcome>,
    /// The handler ran (the execution count counted it).
    pub executed: bool,
    /// The fault layer made it wait (`x-fault-delay-ms`).
    pub delayed: bool,
}

/// What the reply said, if one was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply {
    /// `x-fault-injected`.
    pub fault: InjectedFault,
    /// `idempotent-replayed: true`.
    pub replayed: bool,
    /// `x-lab-overload`: refused by the session's capacity.
    pub overloaded: bool,
    /// The gRPC status (gRPC and gRPC-Web only).
    pub code: Option<Code>,
    pub http_status: u16,
}

/// The outcome and the fault of a request; `reply` is `None` if its client
/// hung up before one was ready.
pub fn decide(marks: Marks, reply: Option<&Reply>) -> (RequestOutcome, InjectedFault) {
    let fault = match reply {
        Some(reply) if reply.fault != InjectedFault::None => reply.fault,
        _ if marks.delayed => InjectedFault::Delay,
        _ => InjectedFault::None,
    };
    if let Some(decided) = marks.decided {
        return (decided, fault);
    }
    let Some(reply) = reply else {
        // Nobody got an answer; the question is only whether the work was done.
        let outcome = if marks.executed {
            RequestOutcome::Executed
        } else {
            RequestOutcome::ClientGone
        };
        return (outcome, fault);
    };
    let outcome = match reply.fault {
        InjectedFault::Fail => RequestOutcome::FailedBeforeExecuting,
        InjectedFault::Drop if reply.replayed => RequestOutcome::ReplayedReplyLost,
        InjectedFault::Drop => RequestOutcome::ExecutedReplyLost,
        _ if marks.executed => RequestOutcome::Executed,
        _ if reply.replayed => RequestOutcome::Replayed,
        _ if reply.overloaded => RequestOutcome::Overloaded,
        // Turned away before executing, for a reason the status names: a
        // malformed header, a full idempotency store, an unknown method…
        _ => RequestOutcome::Refused,
    };
    (outcome, fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(fault: InjectedFault, code: Code) -> Reply {
        Reply {
            fault,
            replayed: false,
            overloaded: false,
            code: Some(code),
            http_status: 200,
        }
    }

    fn executed() -> Marks {
        Marks {
            executed: true,
            ..Marks::default()
        }
    }

    #[test]
    fn an_execution_is_an_execution_whatever_its_status() {
        for code in [Code::Ok, Code::FailedPrecondition, Code::InvalidArgument] {
            let ran = reply(InjectedFault::None, code);
            assert_eq!(
                decide(executed(), Some(&ran)),
                (RequestOutcome::Executed, InjectedFault::None)
            );
        }
    }

    #[test]
    fn faults_read_from_the_reply() {
        let fail = reply(InjectedFault::Fail, Code::Unavailable);
        assert_eq!(
            decide(Marks::default(), Some(&fail)).0,
            RequestOutcome::FailedBeforeExecuting
        );
        let drop = reply(InjectedFault::Drop, Code::Unavailable);
        assert_eq!(
            decide(executed(), Some(&drop)),
            (RequestOutcome::ExecutedReplyLost, InjectedFault::Drop)
        );
        let replayed_then_lost = Reply {
            replayed: true,
            ..drop
        };
        assert_eq!(
            decide(Marks::default(), Some(&replayed_then_lost)).0,
            RequestOutcome::ReplayedReplyLost
        );
        let delayed = reply(InjectedFault::Delay, Code::Ok);
        assert_eq!(
            decide(executed(), Some(&delayed)),
            (RequestOutcome::Executed, InjectedFault::Delay)
        );
    }

    #[test]
    fn replays_and_refusals_did_not_execute() {
        let replay = Reply {
            replayed: true,
            ..reply(InjectedFault::None, Code::Ok)
        };
        assert_eq!(
            decide(Marks::default(), Some(&replay)).0,
            RequestOutcome::Replayed
        );
        let overload = Reply {
            overloaded: true,
            ..reply(InjectedFault::None, Code::ResourceExhausted)
        };
        assert_eq!(
            decide(Marks::default(), Some(&overload)).0,
            RequestOutcome::Overloaded
        );
        let malformed = reply(InjectedFault::None, Code::InvalidArgument);
        assert_eq!(
            decide(Marks::default(), Some(&malformed)).0,
            RequestOutcome::Refused
        );
    }

    #[test]
    fn a_layer_s_own_decision_wins() {
        for decided in [
            RequestOutcome::KeyReused,
            RequestOutcome::Skipped,
            RequestOutcome::Cancelled,
            RequestOutcome::Interrupted,
            RequestOutcome::DeadlineBeforeExecution,
        ] {
            let marks = Marks {
                decided: Some(decided),
                delayed: true,
                ..Marks::default()
            };
            let answered = reply(InjectedFault::None, Code::DeadlineExceeded);
            assert_eq!(
                decide(marks, Some(&answered)),
                (decided, InjectedFault::Delay)
            );
            // Also when nobody was there for the answer.
            assert_eq!(decide(marks, None).0, decided);
        }
    }

    #[test]
    fn a_client_that_hung_up_left_work_done_or_not_done() {
        assert_eq!(decide(executed(), None).0, RequestOutcome::Executed);
        assert_eq!(decide(Marks::default(), None).0, RequestOutcome::ClientGone);
    }
}
