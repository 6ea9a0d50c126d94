//! The three roles as traits, so callers (wallet, custodian node, services) can depend on
//! the roles rather than on one BBS implementation.
//!
//! The provided implementations are [`crate::BbsIssuer`], [`crate::BbsHolder`] and
//! [`crate::BbsVerifier`], generic over a [`crate::backend::BbsBackend`].

use crate::attributes::{CredentialAttributes, Timestamp};
use crate::context::ContextId;
use crate::error::CredError;
use crate::objects::{
    Challenge, Credential, CredentialRequest, IssuanceOffer, IssuanceResponse, IssuerPublicKey,
    PendingIssuance, Presentation, VerifiedPresentation,
};
use crate::secrets::RecordHandle;

/// Signs credentials blindly.
pub trait Issuer {
    /// The key services verify against.
    fn public_key(&self) -> &IssuerPublicKey;

    /// What a holder needs to request a credential for `record`: the signing key's id and
    /// the record's binding salt (the same for every issuance of the record).
    fn offer(&self, record: &RecordHandle) -> IssuanceOffer;

    /// Blind-signs `request` for the enrolment record `record` with `attributes`.
    ///
    /// Refuses a request whose commitment proof does not verify
    /// ([`CredError::MalformedRequest`]), a request it has answered before
    /// ([`CredError::ReplayedRequest`]), and a request that does not prove it commits to
    /// the prover nym bound to the record at its first issuance
    /// ([`CredError::NymMismatch`], [`CredError::InvalidNymBinding`]).
    fn issue(
        &mut self,
        request: &CredentialRequest,
        record: &RecordHandle,
        attributes: &CredentialAttributes,
    ) -> Result<IssuanceResponse, CredError>;
}

/// The person's side: requests, finalises and presents credentials.
pub trait Holder {
    /// Commits to the wallet's nym secret for `issuer` and binds the commitment to the
    /// wallet's nym anchor for the record of `offer`; keep the [`PendingIssuance`] secret.
    /// Refuses an offer for another key than `issuer` ([`CredError::UnknownIssuerKey`]).
    fn request(
        &self,
        issuer: &IssuerPublicKey,
        offer: &IssuanceOffer,
    ) -> Result<(CredentialRequest, PendingIssuance), CredError>;

    /// Verifies the issuer's response and produces the credential to store.
    fn finalise(
        &self,
        pending: &PendingIssuance,
        response: &IssuanceResponse,
    ) -> Result<Credential, CredError>;

    /// Proves possession of `credential` to the service that issued `challenge`, under the
    /// service's pseudonym, disclosing the epoch and exactly the attributes it requires.
    fn present(
        &self,
        credential: &Credential,
        challenge: &Challenge,
    ) -> Result<Presentation, CredError>;
}

/// A service checking presentations.
pub trait Verifier {
    /// The service's normalised context.
    fn context_id(&self) -> &ContextId;

    /// A fresh challenge with a single-use nonce (recorded in the verifier's nonce store;
    /// fails only if that store fails).
    fn challenge(&mut self, now: Timestamp) -> Result<Challenge, CredError>;

    /// Checks `presentation` and returns the pseudonym and disclosed attributes.
    fn verify(
        &mut self,
        presentation: &Presentation,
        now: Timestamp,
    ) -> Result<VerifiedPresentation, CredError>;
}
