//! The holder (wallet side): nym from the seed, commitment bound to the record's nym
//! anchor, finalisation, presentation.
//!
//! The anchor's blind is derived from the seed, the issuer key id and the binding salt of
//! the issuer's offer, so a wallet restored from its mnemonic proves the same anchor and
//! passes the issuer's one-nym-per-record check ([`crate::binding`]).
//!
//! The holder never chooses the pseudonym scope: [`Holder::present`] takes the service's
//! [`Challenge`] and uses its `context_id` and nonce as given. It discloses the epoch (so
//! the service can enforce the epoch window) and exactly the attributes the challenge
//! requires, nothing else.

use crate::attributes::{AttributeKind, EPOCH_INDEX};
use crate::backend::BbsBackend;
use crate::backend::fast::Fast;
use crate::backend::fast::secret::OsRandom;
use crate::binding::{self, Statement};
use crate::error::CredError;
use crate::objects::{
    CREDENTIAL_HEADER, Challenge, Credential, CredentialRequest, IssuanceOffer, IssuanceResponse,
    IssuerPublicKey, PendingIssuance, Presentation, Pseudonym, presentation_header,
};
use crate::roles::Holder;
use crate::secrets::{AnchorKey, SecretScalar, WalletSeed};

/// The provided [`Holder`], bound to one wallet seed.
pub struct BbsHolder<B: BbsBackend = Fast> {
    backend: B,
    prover_nym: SecretScalar,
    anchor_key: AnchorKey,
}

impl<B: BbsBackend> std::fmt::Debug for BbsHolder<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BbsHolder")
            .field("backend", &self.backend.name())
            .finish_non_exhaustive()
    }
}

impl BbsHolder<Fast> {
    /// A holder on the default backend for the wallet with `seed`.
    pub fn from_seed(seed: &WalletSeed) -> Self {
        Self::with_backend(Fast, seed)
    }
}

impl<B: BbsBackend> BbsHolder<B> {
    /// A holder on `backend` for the wallet with `seed`.
    pub fn with_backend(backend: B, seed: &WalletSeed) -> Self {
        Self {
            backend,
            prover_nym: seed.prover_nym(),
            anchor_key: seed.anchor_key(),
        }
    }
}

impl<B: BbsBackend> Holder for BbsHolder<B> {
    fn request(
        &self,
        issuer: &IssuerPublicKey,
        offer: &IssuanceOffer,
    ) -> Result<(CredentialRequest, PendingIssuance), CredError> {
        self.backend.validate_public_key(&issuer.key)?;
        let key_id = issuer.key_id();
        if offer.issuer_key_id != key_id {
            return Err(CredError::UnknownIssuerKey);
        }
        let (commitment_with_proof, prover_blind) = self.backend.commit(&self.prover_nym)?;
        let anchor_blind = self.anchor_key.anchor_blind(&key_id, &offer.binding_salt);
        let anchor = binding::anchor(&self.prover_nym, &anchor_blind)?;
        let statement = Statement {
            issuer: &issuer.key,
            salt: &offer.binding_salt,
            anchor: &anchor,
            commitment_with_proof: &commitment_with_proof,
        };
        let nym_binding = binding::prove(&statement, &prover_blind, &anchor_blind, &mut OsRandom)?;
        let request = CredentialRequest {
            commitment_with_proof,
            nym_binding,
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

#[cfg(test)]
mod tests {
    //! Plaintext oracle for finalisation: the nym secret the backend returns must be
    //! `prover_nym + signer_nym_entropy (mod r)` computed independently here.
    use super::*;
    use crate::attributes::{CredentialAttributes, EnrolmentQuarter, Epoch, Modalities};
    use crate::issuer::BbsIssuer;
    use crate::roles::Issuer;
    use crate::secrets::{IssuerSeed, RecordHandle};
    use proptest::prelude::*;

    const R: [u64; 4] = [
        0xffff_ffff_0000_0001,
        0x53bd_a402_fffe_5bfe,
        0x3339_d808_09a1_d805,
        0x73ed_a753_299d_7d48,
    ];

    /// Little-endian limbs of a big-endian 32-byte integer.
    fn limbs(be: &[u8; 32]) -> [u64; 4] {
        std::array::from_fn(|i| u64::from_be_bytes(be[24 - 8 * i..32 - 8 * i].try_into().unwrap()))
    }

    /// `(a + b) mod r` for canonical `a`, `b`, by schoolbook add and one conditional subtract.
    fn add_mod_r(a: &[u8; 32], b: &[u8; 32]) -> [u64; 4] {
        let (a, b) = (limbs(a), limbs(b));
        let mut sum = [0u64; 4];
        let mut carry = 0u128;
        for i in 0..4 {
            let t = u128::from(a[i]) + u128::from(b[i]) + carry;
            sum[i] = t as u64;
            carry = t >> 64;
        }
        let ge_r = carry > 0
            || (0..4)
                .rev()
                .find(|&i| sum[i] != R[i])
                .is_none_or(|i| sum[i] > R[i]);
        if ge_r {
            let mut borrow = 0i128;
            for i in 0..4 {
                let t = i128::from(sum[i]) - i128::from(R[i]) - borrow;
                borrow = i128::from(t < 0);
                sum[i] = t.rem_euclid(1 << 64) as u64;
            }
        }
        sum
    }

    #[test]
    fn oracle_adds_modulo_r() {
        let mut r_minus_1 = [0u8; 32];
        for (i, limb) in R.iter().enumerate() {
            r_minus_1[24 - 8 * i..32 - 8 * i].copy_from_slice(&limb.to_be_bytes());
        }
        r_minus_1[31] -= 1;
        let mut two = [0u8; 32];
        two[31] = 2;
        assert_eq!(add_mod_r(&r_minus_1, &two), [1, 0, 0, 0]);
        assert_eq!(add_mod_r(&two, &two), [4, 0, 0, 0]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4))]
        #[test]
        fn finalised_nym_secret_matches_the_oracle(
            wallet in proptest::collection::vec(any::<u8>(), 32..48),
            issuer_seed in proptest::collection::vec(any::<u8>(), 32..40),
            record in proptest::collection::vec(any::<u8>(), 1..16),
        ) {
            let wallet = WalletSeed::new(&wallet).unwrap();
            let issuer_seed = IssuerSeed::new(&issuer_seed).unwrap();
            let record = RecordHandle::new(&record).unwrap();
            let mut issuer = BbsIssuer::from_seed(&issuer_seed).unwrap();
            let holder = BbsHolder::from_seed(&wallet);
            let attributes = CredentialAttributes {
                epoch: Epoch(1),
                modalities: Modalities::try_from(1).unwrap(),
                enrolment_quarter: EnrolmentQuarter::new(2026, 1).unwrap(),
            };
            let offer = issuer.offer(&record);
            let (request, pending) = holder.request(issuer.public_key(), &offer).unwrap();
            let response = issuer.issue(&request, &record, &attributes).unwrap();
            let credential = holder.finalise(&pending, &response).unwrap();
            let expected = add_mod_r(
                wallet.prover_nym().bytes(),
                issuer_seed.entropy_key().signer_nym_entropy(&record).bytes(),
            );
            prop_assert_eq!(limbs(credential.nym_secret.bytes()), expected);
        }
    }
}
