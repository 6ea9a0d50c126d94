//! Typed errors of the credential roles and of the wire format.
//!
//! Every rejection a service or an issuer can meet has its own variant, so callers can
//! react precisely (ask for a fresh nonce, re-issue a credential, …). No variant carries
//! secret material: messages name what was wrong and what to do, never key or nym bytes.

use thiserror::Error;

use crate::attributes::{AttributeKind, EnrolmentQuarter, Epoch};

/// Why a serialised object could not be read.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The compact form is not valid unpadded base64url.
    #[error("not valid base64url (unpadded, URL-safe alphabet expected)")]
    Base64,
    /// The decoded bytes are not the JSON shape expected for this object.
    #[error("malformed {kind} object: {reason}")]
    Json {
        /// Which object was being read.
        kind: &'static str,
        /// What the JSON parser reported (no field values are echoed).
        reason: String,
    },
    /// The object was written by a newer or unknown format version.
    #[error("unsupported {kind} format version {found} (this build reads version {supported})")]
    UnsupportedVersion {
        /// Which object was being read.
        kind: &'static str,
        /// Version found in the input.
        found: u32,
        /// Version this build understands.
        supported: u32,
    },
    /// The input is a different kind of object than the one asked for.
    #[error("expected a {expected} object but found a {found:?} object")]
    WrongKind {
        /// Kind the caller asked to decode.
        expected: &'static str,
        /// Kind tag found in the input.
        found: String,
    },
    /// A byte field has the wrong length.
    #[error("field {field} must be {expected} bytes, found {found}")]
    Length {
        /// Field name.
        field: &'static str,
        /// Required length.
        expected: usize,
        /// Length found.
        found: usize,
    },
}

/// Every way a credential operation can fail.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CredError {
    /// Input could not be decoded; see the inner error.
    #[error("decode error: {0}")]
    Decode(#[from] DecodeError),
    /// The service's context identifier is unusable.
    #[error("invalid context_id: {0}")]
    InvalidContextId(&'static str),
    /// An attribute value is out of range.
    #[error("invalid attribute: {0}")]
    InvalidAttribute(&'static str),
    /// The issuer refused a credential request whose commitment or its proof is invalid.
    #[error("malformed credential request: the commitment or its proof does not verify")]
    MalformedRequest,
    /// The request's proof that its commitment hides the same prover nym as its nym
    /// anchor for the record does not verify (tampered, made for another record or
    /// issuer, or the commitment hides another nym). Nothing was signed; the refusal is
    /// counted for the record.
    #[error(
        "the request's nym binding proof does not verify for this record: build the request \
         from this record's issuance offer with the wallet's own seed"
    )]
    InvalidNymBinding,
    /// The request's nym anchor is not the one the issuer recorded at the record's first
    /// issuance: the wallet's prover nym differs (another wallet seed). Nothing was signed;
    /// the refusal is counted for the record.
    #[error(
        "the request commits to another prover nym than the one bound to this record at its \
         first issuance: restore the wallet from the mnemonic it was enrolled with"
    )]
    NymMismatch,
    /// The issuer has already answered this exact credential request.
    #[error("replayed credential request: build a fresh request and try again")]
    ReplayedRequest,
    /// The issuer's response does not verify against the issuer key, the holder's
    /// commitment and the attributes.
    #[error("the issuer's blind signature does not verify; discard it and request again")]
    InvalidIssuance,
    /// The presentation names a context other than the one this service fixed.
    #[error("the presentation was made for another context_id than this service's")]
    ContextMismatch,
    /// The nonce was never issued by this verifier or has already been used.
    #[error("unknown or already used nonce: ask the service for a fresh challenge")]
    NonceUnknownOrUsed,
    /// The nonce was issued but has expired.
    #[error("the challenge nonce has expired: ask the service for a fresh challenge")]
    NonceExpired,
    /// The presentation was made against an issuer key this verifier does not trust.
    #[error("the presentation is bound to an unknown issuer key")]
    UnknownIssuerKey,
    /// The credential's epoch is neither the current nor the previous one.
    #[error(
        "credential epoch {presented} is not accepted (current epoch {current}); renew the credential"
    )]
    EpochNotAccepted {
        /// Epoch disclosed by the presentation.
        presented: Epoch,
        /// Verifier's current epoch.
        current: Epoch,
    },
    /// The service requires an attribute the presentation does not disclose.
    #[error("the service requires attribute {0} but the presentation does not disclose it")]
    RequiredAttributeMissing(AttributeKind),
    /// The service admits only people enrolled before a cutoff quarter (e.g. the start of
    /// an aid round, so that deletion and re-enrolment during the round cannot give a
    /// second claim), and the presentation's enrolment quarter is not earlier.
    #[error("enrolled in {enrolled}, but this service admits only enrolments before {cutoff}")]
    EnrolledTooLate {
        /// Enrolment quarter disclosed by the presentation.
        enrolled: EnrolmentQuarter,
        /// The service's cutoff: enrolments must be strictly earlier.
        cutoff: EnrolmentQuarter,
    },
    /// The zero-knowledge proof does not verify (tampered or forged).
    #[error("the credential proof does not verify")]
    InvalidProof,
    /// The backend failed for a reason other than the ones above.
    #[error("credential backend failure: {0}")]
    Backend(&'static str),
    /// The durable replay store (issuer request digests, verifier nonces) failed; nothing
    /// was answered or accepted. Check the store's file and disk, then retry.
    #[error("replay store failure ({0}); nothing was accepted: check the store file and retry")]
    Store(String),
}
