//! The one error type of the protocol crate.

use thiserror::Error;

/// What was wrong with a message. The texts name the fault and never include secret
/// material (keys, shares, plaintexts).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// A field is missing or malformed.
    #[error("{field}: {problem}")]
    Malformed {
        /// The field (header or JSON field) at fault.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// A signature did not verify.
    #[error("the signature of {what} does not verify with the key it names")]
    BadSignature {
        /// What was signed.
        what: &'static str,
    },
    /// A request's timestamp is outside the accepted window.
    #[error(
        "the request is timestamped {timestamp}, {skew} s away from this custodian's clock; requests are accepted within {window} s (check the sender's clock)"
    )]
    Stale {
        /// The request's timestamp (Unix seconds).
        timestamp: u64,
        /// Absolute difference with the receiver's clock, in seconds.
        skew: u64,
        /// The accepted window, in seconds.
        window: u64,
    },
    /// A sealed blob could not be opened with this custodian's key.
    #[error(
        "the sealed shares do not open with {custodian}'s key: they were sealed for another custodian or for another request, or were altered"
    )]
    Unsealable {
        /// The custodian that tried to open them.
        custodian: String,
    },
    /// A receipt did not check out.
    #[error("receipt: {0}")]
    Receipt(String),
}

impl ProtocolError {
    /// A [`ProtocolError::Malformed`] for `field`.
    pub fn malformed(field: &'static str, problem: impl Into<String>) -> Self {
        Self::Malformed {
            field,
            problem: problem.into(),
        }
    }
}
