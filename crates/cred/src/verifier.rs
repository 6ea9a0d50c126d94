//! The service's side: fixed context, single-use expiring nonces, epoch window, proof check.
//!
//! Checks run cheapest first, and each failure has its own error: context
//! ([`CredError::ContextMismatch`]), nonce ([`CredError::NonceUnknownOrUsed`],
//! [`CredError::NonceExpired`]), issuer key ([`CredError::UnknownIssuerKey`]), required
//! attributes ([`CredError::RequiredAttributeMissing`]), enrolment cutoff
//! ([`CredError::EnrolledTooLate`], when the policy sets one), epoch window
//! ([`CredError::EpochNotAccepted`]: only the current and the previous epoch pass), then
//! the zero-knowledge proof ([`CredError::InvalidProof`]). A nonce is consumed by the first
//! presentation that names it, whatever the outcome, so a failed attempt cannot be retried
//! with the same nonce. Outstanding nonces live in a [`NonceStore`] — in memory by
//! default, or durably ([`crate::store::RedbNonceStore`], via [`BbsVerifier::with_store`])
//! so that a restarted service still refuses a used nonce — and expired ones are pruned
//! whenever a new challenge is made.

use crate::attributes::{
    AttributeKind, EPOCH_INDEX, EnrolmentQuarter, EpochSchedule, MESSAGE_COUNT, Timestamp,
    epoch_message, modalities_message, quarter_message,
};
use crate::backend::BbsBackend;
use crate::backend::fast::Fast;
use crate::context::ContextId;
use crate::error::CredError;
use crate::objects::{
    CREDENTIAL_HEADER, Challenge, IssuerPublicKey, NONCE_LEN, Presentation, VerifiedPresentation,
    presentation_header,
};
use crate::roles::Verifier;
use crate::store::{MemoryNonceStore, NonceStore};

/// What a service fixes once.
#[derive(Debug, Clone)]
pub struct VerifierPolicy {
    /// The service's context (its pseudonym scope).
    pub context_id: ContextId,
    /// The issuer key the service trusts.
    pub issuer: IssuerPublicKey,
    /// Attributes every presentation must disclose (besides the epoch).
    pub required: Vec<AttributeKind>,
    /// How long a challenge nonce stays valid, in seconds.
    pub nonce_lifetime_secs: u64,
    /// The network's epoch schedule.
    pub schedule: EpochSchedule,
    /// If set, only people enrolled in an earlier quarter are admitted (the enrolment
    /// quarter is then required). A service that must not count one person twice over a
    /// period — an aid desk within a round — sets it to the quarter in which the period
    /// starts: deletion and re-enrolment give a new record and new pseudonyms by design,
    /// but the new record's enrolment quarter is too late for the running period.
    pub enrolled_before: Option<EnrolmentQuarter>,
}

/// The provided [`Verifier`].
#[derive(Debug)]
pub struct BbsVerifier<B: BbsBackend = Fast, N: NonceStore = MemoryNonceStore> {
    backend: B,
    policy: VerifierPolicy,
    outstanding: N,
}

impl BbsVerifier<Fast> {
    /// A verifier on the default backend.
    pub fn new(policy: VerifierPolicy) -> Result<Self, CredError> {
        Self::with_backend(Fast, policy)
    }
}

impl<B: BbsBackend> BbsVerifier<B> {
    /// A verifier on `backend` with nonces in memory; refuses an invalid issuer key.
    pub fn with_backend(backend: B, policy: VerifierPolicy) -> Result<Self, CredError> {
        Self::with_store(backend, policy, MemoryNonceStore::default())
    }
}

impl<B: BbsBackend, N: NonceStore> BbsVerifier<B, N> {
    /// A verifier on `backend` keeping its nonces in `store`; refuses an invalid issuer key.
    pub fn with_store(backend: B, mut policy: VerifierPolicy, store: N) -> Result<Self, CredError> {
        backend.validate_public_key(&policy.issuer.key)?;
        if policy.enrolled_before.is_some() {
            policy.required.push(AttributeKind::EnrolmentQuarter);
        }
        policy.required.sort_unstable();
        policy.required.dedup();
        Ok(Self {
            backend,
            policy,
            outstanding: store,
        })
    }

    /// Number of nonces issued and not yet used or pruned.
    pub fn outstanding_nonces(&self) -> Result<usize, CredError> {
        self.outstanding.len()
    }
}

impl<B: BbsBackend, N: NonceStore> Verifier for BbsVerifier<B, N> {
    fn context_id(&self) -> &ContextId {
        &self.policy.context_id
    }

    fn challenge(&mut self, now: Timestamp) -> Result<Challenge, CredError> {
        self.outstanding.prune_expired(now)?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce);
        let expires_at = Timestamp(now.0.saturating_add(self.policy.nonce_lifetime_secs));
        self.outstanding.insert(&nonce, expires_at)?;
        Ok(Challenge {
            context_id: self.policy.context_id.clone(),
            nonce,
            expires_at,
            required: self.policy.required.clone(),
        })
    }

    fn verify(
        &mut self,
        p: &Presentation,
        now: Timestamp,
    ) -> Result<VerifiedPresentation, CredError> {
        if p.context_id != self.policy.context_id {
            return Err(CredError::ContextMismatch);
        }
        let expiry = self
            .outstanding
            .take(&p.nonce)?
            .ok_or(CredError::NonceUnknownOrUsed)?;
        if now > expiry {
            return Err(CredError::NonceExpired);
        }
        if p.issuer_key_id != self.policy.issuer.key_id() {
            return Err(CredError::UnknownIssuerKey);
        }
        // Every disclosed attribute is bound by the proof, required or not.
        let mut disclosed = vec![(EPOCH_INDEX, epoch_message(p.epoch))];
        for kind in [AttributeKind::Modalities, AttributeKind::EnrolmentQuarter] {
            let message = match kind {
                AttributeKind::Modalities => p.modalities.map(modalities_message),
                AttributeKind::EnrolmentQuarter => p.enrolment_quarter.map(quarter_message),
            };
            match message {
                Some(m) => disclosed.push((kind.message_index(), m)),
                None if self.policy.required.contains(&kind) => {
                    return Err(CredError::RequiredAttributeMissing(kind));
                }
                None => {}
            }
        }
        disclosed.sort_unstable_by_key(|(i, _)| *i);
        if let (Some(cutoff), Some(enrolled)) = (self.policy.enrolled_before, p.enrolment_quarter)
            && enrolled >= cutoff
        {
            return Err(CredError::EnrolledTooLate { enrolled, cutoff });
        }
        let current = self.policy.schedule.epoch_at(now);
        if p.epoch != current && p.epoch.0.checked_add(1) != Some(current.0) {
            return Err(CredError::EpochNotAccepted {
                presented: p.epoch,
                current,
            });
        }
        self.backend.proof_verify(
            &self.policy.issuer.key,
            &p.proof,
            CREDENTIAL_HEADER,
            &presentation_header(&p.nonce),
            &p.pseudonym.0,
            &p.context_id.pseudonym_scope(),
            MESSAGE_COUNT,
            &disclosed,
        )?;
        Ok(VerifiedPresentation {
            pseudonym: p.pseudonym,
            epoch: p.epoch,
            modalities: p.modalities,
            enrolment_quarter: p.enrolment_quarter,
        })
    }
}
