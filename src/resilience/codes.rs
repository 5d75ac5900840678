//! Sets of gRPC status codes: "which codes are retryable", "which codes count
//! as the server's failure".
//!
//! Both the retry policy and the circuit breaker are configured with a set of
//! codes, and both ask it on every attempt. A `Vec<Code>` would do, but a set
//! of 17 possible members fits in the bits of one `u32`: copying it is free,
//! asking it is one AND, and the breaker's hot path stays allocation-free.

use std::fmt;

use tonic::Code;

use crate::status::code_name;

/// A set of gRPC status codes, stored as one bit per code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CodeSet {
    bits: u32,
}

impl CodeSet {
    /// No codes at all.
    pub const EMPTY: CodeSet = CodeSet { bits: 0 };

    /// Every code from `OK` (0) to `UNAUTHENTICATED` (16), in numeric order.
    pub const ALL_CODES: [Code; 17] = [
        Code::Ok,
        Code::Cancelled,
        Code::Unknown,
        Code::InvalidArgument,
        Code::DeadlineExceeded,
        Code::NotFound,
        Code::AlreadyExists,
        Code::PermissionDenied,
        Code::ResourceExhausted,
        Code::FailedPrecondition,
        Code::Aborted,
        Code::OutOfRange,
        Code::Unimplemented,
        Code::Internal,
        Code::Unavailable,
        Code::DataLoss,
        Code::Unauthenticated,
    ];

    /// The set holding exactly `codes`.
    pub const fn of(codes: &[Code]) -> CodeSet {
        let mut bits = 0;
        let mut i = 0;
        while i < codes.len() {
            bits |= 1 << codes[i] as u32;
            i += 1;
        }
        CodeSet { bits }
    }

    /// Whether `code` is in the set.
    pub const fn contains(self, code: Code) -> bool {
        self.bits & (1 << code as u32) != 0
    }

    /// The same set with `code` added.
    pub const fn with(self, code: Code) -> CodeSet {
        CodeSet {
            bits: self.bits | 1 << code as u32,
        }
    }

    /// The same set without `code`.
    pub const fn without(self, code: Code) -> CodeSet {
        CodeSet {
            bits: self.bits & !(1 << code as u32),
        }
    }

    /// Whether the set has no codes.
    pub const fn is_empty(self) -> bool {
        self.bits == 0
    }

    /// The codes in the set, in numeric order.
    pub fn iter(self) -> impl Iterator<Item = Code> {
        Self::ALL_CODES
            .into_iter()
            .filter(move |code| self.contains(*code))
    }
}

impl FromIterator<Code> for CodeSet {
    fn from_iter<I: IntoIterator<Item = Code>>(codes: I) -> Self {
        codes.into_iter().fold(CodeSet::EMPTY, CodeSet::with)
    }
}

/// Shows the codes by their specification names: `{UNAVAILABLE, ABORTED}`.
impl fmt::Debug for CodeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(|code| DebugName(code_name(code))))
            .finish()
    }
}

struct DebugName(&'static str);

impl fmt::Debug for DebugName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_holds_exactly_what_was_put_in() {
        let set = CodeSet::of(&[Code::Unavailable, Code::Aborted]);
        assert!(set.contains(Code::Unavailable));
        assert!(set.contains(Code::Aborted));
        assert!(!set.contains(Code::Ok));
        assert!(!set.contains(Code::Unauthenticated));
        assert_eq!(set.iter().count(), 2);
        assert_eq!(format!("{set:?}"), "{ABORTED, UNAVAILABLE}");
        assert!(
            set.without(Code::Aborted)
                .without(Code::Unavailable)
                .is_empty()
        );
    }

    #[test]
    fn every_code_has_its_own_bit() {
        let all: CodeSet = CodeSet::ALL_CODES.into_iter().collect();
        assert_eq!(all.iter().count(), 17);
        for (number, code) in CodeSet::ALL_CODES.into_iter().enumerate() {
            assert_eq!(code as usize, number);
        }
    }
}
