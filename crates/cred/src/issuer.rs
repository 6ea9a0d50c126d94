//! The issuer: BBS key derived from its seed, blind signing with per-record nym entropy,
//! and refusal of malformed or replayed requests.
//!
//! Replay protection records a SHA-256 digest of every answered request in a
//! [`ReplayStore`]: in memory by default, or durably ([`crate::store::RedbReplayStore`],
//! via [`BbsIssuer::with_store`]) so that a restarted issuer still refuses a replay. A
//! digest is recorded after signing and before the response is returned; if recording
//! fails, no response is returned.

use sha2::{Digest, Sha256};

use crate::attributes::CredentialAttributes;
use crate::backend::BbsBackend;
use crate::backend::fast::Fast;
use crate::error::CredError;
use crate::objects::{CREDENTIAL_HEADER, CredentialRequest, IssuanceResponse, IssuerPublicKey};
use crate::roles::Issuer;
use crate::secrets::{EntropyKey, IssuerSeed, RecordHandle, SecretScalar};
use crate::store::{MemoryReplayStore, ReplayStore};
use crate::wire::WireObject;

/// The provided [`Issuer`].
pub struct BbsIssuer<B: BbsBackend = Fast, R: ReplayStore = MemoryReplayStore> {
    backend: B,
    secret_key: SecretScalar,
    public: IssuerPublicKey,
    entropy_key: EntropyKey,
    answered: R,
}

impl<B: BbsBackend, R: ReplayStore> std::fmt::Debug for BbsIssuer<B, R> {
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
    /// An issuer on `backend`, its keys derived from `seed` (same seed, same keys), with
    /// replay state in memory.
    pub fn with_backend(backend: B, seed: &IssuerSeed) -> Result<Self, CredError> {
        Self::with_store(backend, seed, MemoryReplayStore::default())
    }
}

impl<B: BbsBackend, R: ReplayStore> BbsIssuer<B, R> {
    /// An issuer on `backend` whose answered requests are recorded in `store`.
    pub fn with_store(backend: B, seed: &IssuerSeed, store: R) -> Result<Self, CredError> {
        let (secret_key, key) = backend.keygen(seed.bbs_key_material().as_ref())?;
        Ok(Self {
            backend,
            secret_key,
            public: IssuerPublicKey { key },
            entropy_key: seed.entropy_key(),
            answered: store,
        })
    }
}

fn request_digest(request: &CredentialRequest) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"masque-cred/v1/request")
        .chain_update(&request.commitment_with_proof)
        .finalize()
        .into()
}

impl<B: BbsBackend, R: ReplayStore> Issuer for BbsIssuer<B, R> {
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
        if self.answered.contains(&digest)? {
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
        if !self.answered.insert_new(&digest)? {
            return Err(CredError::ReplayedRequest);
        }
        Ok(IssuanceResponse {
            issuer_key_id: self.public.key_id(),
            attributes: *attributes,
            signature,
            signer_nym_entropy,
        })
    }
}
