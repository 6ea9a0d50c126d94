//! The issuer: BBS key derived from its seed, blind signing with per-record nym entropy,
//! and refusal of malformed or replayed requests.
//!
//! Replay protection remembers a SHA-256 digest of every answered request in memory; a
//! deployment that restarts its issuer must persist [`BbsIssuer::answered_requests`] and
//! restore it with [`BbsIssuer::remember_answered`], or a request could be answered twice
//! (which yields the same pseudonym, so the harm is a duplicate credential, not a link).

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use crate::attributes::CredentialAttributes;
use crate::backend::BbsBackend;
use crate::backend::fast::Fast;
use crate::error::CredError;
use crate::objects::{CREDENTIAL_HEADER, CredentialRequest, IssuanceResponse, IssuerPublicKey};
use crate::roles::Issuer;
use crate::secrets::{EntropyKey, IssuerSeed, RecordHandle, SecretScalar};
use crate::wire::WireObject;

/// The provided [`Issuer`].
pub struct BbsIssuer<B: BbsBackend = Fast> {
    backend: B,
    secret_key: SecretScalar,
    public: IssuerPublicKey,
    entropy_key: EntropyKey,
    answered: HashSet<[u8; 32]>,
}

impl<B: BbsBackend> std::fmt::Debug for BbsIssuer<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BbsIssuer")
            .field("backend", &self.backend.name())
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl BbsIssuer<Fast> {
    /// An issuer on the default backend, its keys derived from `seed`.
    pub fn from_seed(seed: &IssuerSeed) -> Result<Self, CredError> {
        Self::with_backend(Fast, seed)
    }
}

impl<B: BbsBackend> BbsIssuer<B> {
    /// An issuer on `backend`, its keys derived from `seed` (same seed, same keys).
    pub fn with_backend(backend: B, seed: &IssuerSeed) -> Result<Self, CredError> {
        let (secret_key, key) = backend.keygen(seed.bbs_key_material().as_ref())?;
        Ok(Self {
            backend,
            secret_key,
            public: IssuerPublicKey { key },
            entropy_key: seed.entropy_key(),
            answered: HashSet::new(),
        })
    }

    /// Digests of the requests answered so far (for persistence).
    pub fn answered_requests(&self) -> impl Iterator<Item = &[u8; 32]> {
        self.answered.iter()
    }

    /// Restores digests persisted from [`Self::answered_requests`].
    pub fn remember_answered(&mut self, digests: impl IntoIterator<Item = [u8; 32]>) {
        self.answered.extend(digests);
    }
}

fn request_digest(request: &CredentialRequest) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"masque-cred/v1/request")
        .chain_update(&request.commitment_with_proof)
        .finalize()
        .into()
}

impl<B: BbsBackend> Issuer for BbsIssuer<B> {
    fn public_key(&self) -> &IssuerPublicKey {
        &self.public
    }

    fn issue(
        &mut self,
        request: &CredentialRequest,
        record: &RecordHandle,
        attributes: &CredentialAttributes,
    ) -> Result<IssuanceResponse, CredError> {
        request
            .validate()
            .map_err(|_| CredError::MalformedRequest)?;
        let digest = request_digest(request);
        if self.answered.contains(&digest) {
            return Err(CredError::ReplayedRequest);
        }
        let signer_nym_entropy = self.entropy_key.signer_nym_entropy(record);
        let signature = self.backend.blind_sign(
            &self.secret_key,
            &self.public.key,
            &request.commitment_with_proof,
            CREDENTIAL_HEADER,
            &signer_nym_entropy,
            &attributes.messages(),
        )?;
        self.answered.insert(digest);
        Ok(IssuanceResponse {
            issuer_key_id: self.public.key_id(),
            attributes: *attributes,
            signature,
            signer_nym_entropy,
        })
    }
}
