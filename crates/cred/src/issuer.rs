//! The issuer: BBS key derived from its seed, blind signing with per-record nym entropy,
//! one prover nym per record, and refusal of malformed or replayed requests.
//!
//! One nym per record: [`Issuer::offer`] gives the holder the record's binding salt; every
//! request carries the holder's nym anchor for the record and a proof that its commitment
//! hides the anchor's nym ([`crate::binding`]). The first accepted anchor of a record is
//! kept in the store with the record (under a keyed digest of the handle); a later request
//! with another anchor is refused with [`CredError::NymMismatch`], one whose proof does not
//! verify with [`CredError::InvalidNymBinding`]. Both refusals are counted per record in
//! the store ([`BbsIssuer::nym_refusals`]) and nothing is signed. So a second wallet seed
//! cannot get a second credential, hence a second set of pseudonyms, for one record.
//!
//! Replay protection records a SHA-256 digest of every answered request in a
//! [`ReplayStore`]: in memory by default, or durably ([`crate::store::RedbReplayStore`],
//! via [`BbsIssuer::with_store`]) so that a restarted issuer still refuses a replay. A
//! digest is recorded after signing and before the response is returned (in the same
//! store transaction as a record's first anchor); if recording fails, no response is
//! returned.

use sha2::{Digest, Sha256};

use crate::attributes::CredentialAttributes;
use crate::backend::BbsBackend;
use crate::backend::fast::Fast;
use crate::backend::fast::blind::validate_commitment;
use crate::binding::{self, Statement};
use crate::error::CredError;
use crate::objects::{
    CREDENTIAL_HEADER, CredentialRequest, IssuanceOffer, IssuanceResponse, IssuerPublicKey,
};
use crate::roles::Issuer;
use crate::secrets::{EntropyKey, IssuerSeed, RecordHandle, SecretScalar};
use crate::store::{IssuanceRecord, MemoryReplayStore, RecordKey, ReplayStore};
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

    /// How many requests for `record` were refused because their nym binding failed
    /// ([`CredError::NymMismatch`], [`CredError::InvalidNymBinding`]); durable with a redb
    /// store. A count above zero means someone tried to obtain a second nym for the record.
    pub fn nym_refusals(&self, record: &RecordHandle) -> Result<u64, CredError> {
        self.answered.refusals(&self.entropy_key.record_key(record))
    }

    /// Refuses a request whose nym binding failed with `error`, after counting the
    /// refusal for `record` — unless its commitment proof is invalid as well: that is a
    /// malformed request ([`CredError::MalformedRequest`], not counted), as the backend
    /// would have answered. (The binding proof covers the whole commitment with its proof,
    /// so a corrupted request fails the binding check first.)
    fn refuse(
        &mut self,
        request: &CredentialRequest,
        record: &RecordKey,
        error: CredError,
    ) -> Result<IssuanceResponse, CredError> {
        validate_commitment(&request.commitment_with_proof)?;
        self.answered.log_refusal(record)?;
        Err(error)
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

    fn offer(&self, record: &RecordHandle) -> IssuanceOffer {
        IssuanceOffer {
            issuer_key_id: self.public.key_id(),
            binding_salt: self.entropy_key.binding_salt(record),
        }
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
        let record_key = self.entropy_key.record_key(record);
        let anchor = request.nym_binding.anchor;
        if self
            .answered
            .nym_anchor(&record_key)?
            .is_some_and(|recorded| recorded != anchor)
        {
            return self.refuse(request, &record_key, CredError::NymMismatch);
        }
        let salt = self.entropy_key.binding_salt(record);
        let statement = Statement {
            issuer: &self.public.key,
            salt: &salt,
            anchor: &anchor,
            commitment_with_proof: &request.commitment_with_proof,
        };
        match binding::verify(&statement, &request.nym_binding) {
            Ok(()) => {}
            Err(CredError::InvalidNymBinding) => {
                return self.refuse(request, &record_key, CredError::InvalidNymBinding);
            }
            Err(other) => return Err(other),
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
        match self
            .answered
            .record_issuance(&digest, &record_key, &anchor)?
        {
            IssuanceRecord::Recorded { .. } => {}
            IssuanceRecord::Replayed => return Err(CredError::ReplayedRequest),
            IssuanceRecord::AnchorMismatch => {
                return self.refuse(request, &record_key, CredError::NymMismatch);
            }
        }
        Ok(IssuanceResponse {
            issuer_key_id: self.public.key_id(),
            attributes: *attributes,
            signature,
            signer_nym_entropy,
        })
    }
}

#[cfg(test)]
mod tests {
    //! Binding refusals at the issuer that need the crate's internals: a wallet that
    //! knows the record's anchor (it is in the old wallet's requests) but commits to
    //! another nym cannot prove against it.
    use super::*;
    use crate::attributes::{EnrolmentQuarter, Epoch, Modalities};
    use crate::backend::fast::secret::OsRandom;
    use crate::holder::BbsHolder;
    use crate::roles::Holder;
    use crate::secrets::WalletSeed;

    fn attributes() -> CredentialAttributes {
        CredentialAttributes {
            epoch: Epoch(1),
            modalities: Modalities::try_from(1).unwrap(),
            enrolment_quarter: EnrolmentQuarter::new(2026, 1).unwrap(),
        }
    }

    #[test]
    fn a_copied_anchor_with_another_nym_is_refused() {
        let mut issuer = BbsIssuer::from_seed(&IssuerSeed::new(&[1; 32]).unwrap()).unwrap();
        let record = RecordHandle::new(b"record").unwrap();
        let offer = issuer.offer(&record);
        let alice = BbsHolder::from_seed(&WalletSeed::new(&[10; 32]).unwrap());
        let (request, _) = alice.request(issuer.public_key(), &offer).unwrap();
        issuer.issue(&request, &record, &attributes()).unwrap();
        let recorded = request.nym_binding.anchor;

        // A second seed commits to its own nym, claims the recorded anchor, and proves
        // with every secret it has (its blinds): the proof fails.
        let seed = WalletSeed::new(&[11; 32]).unwrap();
        let (commitment_with_proof, prover_blind) = Fast.commit(&seed.prover_nym()).unwrap();
        let anchor_blind = seed
            .anchor_key()
            .anchor_blind(&issuer.public_key().key_id(), &offer.binding_salt);
        let statement = Statement {
            issuer: &issuer.public_key().key,
            salt: &offer.binding_salt,
            anchor: &recorded,
            commitment_with_proof: &commitment_with_proof,
        };
        let nym_binding =
            binding::prove(&statement, &prover_blind, &anchor_blind, &mut OsRandom).unwrap();
        let forged = CredentialRequest {
            commitment_with_proof,
            nym_binding,
        };
        assert_eq!(
            issuer.issue(&forged, &record, &attributes()),
            Err(CredError::InvalidNymBinding)
        );
        assert_eq!(issuer.nym_refusals(&record), Ok(1));
    }

    #[test]
    fn re_issuance_keeps_the_first_anchor_under_a_keyed_record_digest() {
        let mut issuer = BbsIssuer::from_seed(&IssuerSeed::new(&[1; 32]).unwrap()).unwrap();
        let record = RecordHandle::new(b"record").unwrap();
        let alice = BbsHolder::from_seed(&WalletSeed::new(&[10; 32]).unwrap());
        let key = issuer.entropy_key.record_key(&record);
        let mut anchors = Vec::new();
        for _ in 0..2 {
            let (request, _) = alice
                .request(issuer.public_key(), &issuer.offer(&record))
                .unwrap();
            issuer.issue(&request, &record, &attributes()).unwrap();
            anchors.push(issuer.answered.nym_anchor(&key).unwrap());
        }
        assert_eq!(anchors[0], anchors[1]);
        assert!(anchors[0].is_some());
        assert_ne!(&key.0[..], b"record");
    }
}
