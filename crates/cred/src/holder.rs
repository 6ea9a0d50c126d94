//! The holder (wallet side): nym from the seed, commitment, finalisation, presentation.
//!
//! The holder never chooses the pseudonym scope: [`Holder::present`] takes the service's
//! [`Challenge`] and uses its `context_id` and nonce as given. It discloses the epoch (so
//! the service can enforce the epoch window) and exactly the attributes the challenge
//! requires, nothing else.

use crate::attributes::{AttributeKind, EPOCH_INDEX};
use crate::backend::BbsBackend;
use crate::backend::zkryptium::Zkryptium;
use crate::error::CredError;
use crate::objects::{
    CREDENTIAL_HEADER, Challenge, Credential, CredentialRequest, IssuanceResponse, IssuerPublicKey,
    PendingIssuance, Presentation, Pseudonym, presentation_header,
};
use crate::roles::Holder;
use crate::secrets::{SecretScalar, WalletSeed};

/// The provided [`Holder`], bound to one wallet seed.
pub struct BbsHolder<B: BbsBackend = Zkryptium> {
    backend: B,
    prover_nym: SecretScalar,
}

impl<B: BbsBackend> std::fmt::Debug for BbsHolder<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BbsHolder")
            .field("backend", &self.backend.name())
            .finish_non_exhaustive()
    }
}

impl BbsHolder<Zkryptium> {
    /// A holder on the default backend for the wallet with `seed`.
    pub fn from_seed(seed: &WalletSeed) -> Self {
        Self::with_backend(Zkryptium, seed)
    }
}

impl<B: BbsBackend> BbsHolder<B> {
    /// A holder on `backend` for the wallet with `seed`.
    pub fn with_backend(backend: B, seed: &WalletSeed) -> Self {
        Self {
            backend,
            prover_nym: seed.prover_nym(),
        }
    }
}

impl<B: BbsBackend> Holder for BbsHolder<B> {
    fn request(
        &self,
        issuer: &IssuerPublicKey,
    ) -> Result<(CredentialRequest, PendingIssuance), CredError> {
        self.backend.validate_public_key(&issuer.key)?;
        let (commitment_with_proof, prover_blind) = self.backend.commit(&self.prover_nym)?;
        let request = CredentialRequest {
            commitment_with_proof,
        };
        let pending = PendingIssuance {
            issuer: issuer.clone(),
            request: request.clone(),
            prover_blind,
        };
        Ok((request, pending))
    }

    fn finalise(
        &self,
        pending: &PendingIssuance,
        response: &IssuanceResponse,
    ) -> Result<Credential, CredError> {
        if response.issuer_key_id != pending.issuer.key_id() {
            return Err(CredError::UnknownIssuerKey);
        }
        let nym_secret = self.backend.verify_finalize(
            &pending.issuer.key,
            &response.signature,
            CREDENTIAL_HEADER,
            &response.attributes.messages(),
            &self.prover_nym,
            &response.signer_nym_entropy,
            &pending.prover_blind,
        )?;
        Ok(Credential {
            issuer: pending.issuer.clone(),
            attributes: response.attributes,
            signature: response.signature,
            nym_secret,
            prover_blind: pending.prover_blind.clone(),
        })
    }

    fn present(
        &self,
        credential: &Credential,
        challenge: &Challenge,
    ) -> Result<Presentation, CredError> {
        let wants = |kind| challenge.required.contains(&kind);
        let mut disclosed = vec![EPOCH_INDEX];
        for kind in [AttributeKind::Modalities, AttributeKind::EnrolmentQuarter] {
            if wants(kind) {
                disclosed.push(kind.message_index());
            }
        }
        disclosed.sort_unstable();
        let (proof, pseudonym) = self.backend.proof_gen(
            &credential.issuer.key,
            &credential.signature,
            CREDENTIAL_HEADER,
            &presentation_header(&challenge.nonce),
            &credential.nym_secret,
            &challenge.context_id.pseudonym_scope(),
            &credential.attributes.messages(),
            &disclosed,
            &credential.prover_blind,
        )?;
        let attributes = &credential.attributes;
        Ok(Presentation {
            context_id: challenge.context_id.clone(),
            nonce: challenge.nonce,
            issuer_key_id: credential.issuer.key_id(),
            epoch: attributes.epoch,
            modalities: wants(AttributeKind::Modalities).then_some(attributes.modalities),
            enrolment_quarter: wants(AttributeKind::EnrolmentQuarter)
                .then_some(attributes.enrolment_quarter),
            pseudonym: Pseudonym(pseudonym),
            proof,
        })
    }
}
