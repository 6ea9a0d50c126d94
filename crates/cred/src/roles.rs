//! The three roles as traits, so callers (wallet, custodian node, services) can depend on
//! the roles rather than on one BBS implementation.
//!
//! The provided implementations are [`crate::BbsIssuer`], [`crate::BbsHolder`] and
//! [`crate::BbsVerifier`], generic over a [`crate::backend::BbsBackend`].

use crate::attributes::{CredentialAttributes, Timestamp};
use crate::context::ContextId;
use crate::error::CredError;
use crate::objects::{
    Challenge, Credential, CredentialRequest, IssuanceResponse, IssuerPublicKey, PendingIssuance,
    Presentation, VerifiedPresentation,
};
use crate::secrets::RecordHandle;

/// Signs credentials blindly.
pub trait Issuer {
    /// The key services verify against.
    fn public_key(&self) -> &IssuerPublicKey;

    /// Blind-signs `request` for the enrolment record `record` with `attributes`.
    ///
    /// Refuses a request whose commitment proof does not verify
    /// ([`CredError::MalformedRequest`]) and a request it has answered before
    /// ([`CredError::ReplayedRequest`]).
    fn issue(
        &mut self,
        request: &CredentialRequest,
        record: &RecordHandle,
        attributes: &CredentialAttributes,
    ) -> Result<IssuanceResponse, CredError>;
}

/// The person's side: requests, finalises and presents credentials.
pub trait Holder {
    /// Commits to the wallet's nym secret for `issuer`; keep the [`PendingIssuance`] secret.
    fn request(
        &self,
        issuer: &IssuerPublicKey,
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
