//! [`Service`]: one relying party with one `context_id`, issuing challenges and checking
//! presentations, safe to share between threads.
//!
//! A service wraps `masque-cred`'s [`BbsVerifier`] (on the default blst backend) behind a
//! mutex, reads the time from its [`Clock`], and keeps its outstanding nonces in a
//! [`Nonces`] store: in memory, or in a redb file ([`Nonces::open`]) so that a nonce used
//! before a restart is still refused after it. Every check of the verifier applies, in its
//! order (context, nonce, issuer key, required attributes, enrolment cutoff, epoch window,
//! proof); a nonce is consumed by the first presentation that names it, whatever the
//! outcome.
//!
//! Limits: checks are serialised by the mutex (one proof verification at a time per
//! service, a few milliseconds each); the number of outstanding nonces is not bounded
//! here (rate-limit challenges in front of the service).

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use masque_cred::backend::fast::Fast;
use masque_cred::objects::NONCE_LEN;
use masque_cred::store::{MemoryNonceStore, NonceStore, RedbNonceStore};
use masque_cred::{
    BbsVerifier, Challenge, ContextId, CredError, KeyId, Presentation, Timestamp,
    VerifiedPresentation, Verifier, VerifierPolicy,
};

use crate::clock::Clock;

fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a store half-updated (each store call is
    // one transaction), so a poisoned lock is still safe to use.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A verifier's outstanding nonces, shareable between services of one process (the aid
/// desk keeps one store across its rounds). Cloning shares the same store.
#[derive(Clone)]
pub struct Nonces(Arc<Mutex<Box<dyn NonceStore + Send>>>);

impl std::fmt::Debug for Nonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Nonces")
    }
}

impl Nonces {
    /// Nonces kept in memory: lost at restart (then every outstanding challenge is void,
    /// which is safe: a void nonce is refused).
    pub fn in_memory() -> Self {
        Self::from_store(MemoryNonceStore::default())
    }

    /// Nonces in the redb file at `path` (created if missing), durable across restarts.
    /// Fails if another process has the file open.
    pub fn open(path: &Path) -> Result<Self, CredError> {
        Ok(Self::from_store(RedbNonceStore::open(path)?))
    }

    /// Nonces in any store.
    pub fn from_store(store: impl NonceStore + Send + 'static) -> Self {
        Self(Arc::new(Mutex::new(Box::new(store))))
    }
}

impl NonceStore for Nonces {
    fn insert(&mut self, nonce: &[u8; NONCE_LEN], expires_at: Timestamp) -> Result<(), CredError> {
        lock(&self.0).insert(nonce, expires_at)
    }

    fn take(&mut self, nonce: &[u8; NONCE_LEN]) -> Result<Option<Timestamp>, CredError> {
        lock(&self.0).take(nonce)
    }

    fn prune_expired(&mut self, now: Timestamp) -> Result<usize, CredError> {
        lock(&self.0).prune_expired(now)
    }

    fn len(&self) -> Result<usize, CredError> {
        lock(&self.0).len()
    }
}

/// A relying party for one `context_id`.
pub struct Service {
    verifier: Mutex<BbsVerifier<Fast, Nonces>>,
    context_id: ContextId,
    issuer_key_id: KeyId,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("context_id", &self.context_id)
            .field("issuer_key_id", &self.issuer_key_id)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// A service with `policy`, its nonces in `nonces`, reading the time from `clock`.
    /// Refuses an invalid issuer key.
    pub fn new(
        policy: VerifierPolicy,
        nonces: Nonces,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, CredError> {
        let context_id = policy.context_id.clone();
        let issuer_key_id = policy.issuer.key_id();
        let verifier = BbsVerifier::with_store(Fast, policy, nonces)?;
        Ok(Self {
            verifier: Mutex::new(verifier),
            context_id,
            issuer_key_id,
            clock,
        })
    }

    /// The service's normalised context (the scope of its pseudonyms).
    pub fn context_id(&self) -> &ContextId {
        &self.context_id
    }

    /// The id of the issuer key the service trusts.
    pub fn issuer_key_id(&self) -> KeyId {
        self.issuer_key_id
    }

    /// The time the service reads.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// A fresh challenge (recorded in the nonce store; fails only if the store fails).
    pub fn challenge(&self) -> Result<Challenge, CredError> {
        let now = self.clock.now();
        lock(&self.verifier).challenge(now)
    }

    /// Checks `presentation` and returns the pseudonym and disclosed attributes, or the
    /// precise reason it was refused.
    pub fn verify(&self, presentation: &Presentation) -> Result<VerifiedPresentation, CredError> {
        let now = self.clock.now();
        lock(&self.verifier).verify(presentation, now)
    }

    /// Number of challenges issued and neither used nor pruned.
    pub fn outstanding_nonces(&self) -> Result<usize, CredError> {
        lock(&self.verifier).outstanding_nonces()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use masque_cred::{
        BbsHolder, BbsIssuer, CredentialAttributes, EnrolmentQuarter, EpochSchedule, Holder,
        Issuer, IssuerSeed, Modalities, Modality, RecordHandle, WalletSeed,
    };

    #[test]
    fn a_service_accepts_once_refuses_replays_and_expired_challenges() {
        let mut issuer = BbsIssuer::from_seed(&IssuerSeed::new(&[1; 32]).unwrap()).unwrap();
        let holder = BbsHolder::from_seed(&WalletSeed::new(&[2; 64]).unwrap());
        let record = RecordHandle::new(b"r").unwrap();
        let (request, pending) = holder
            .request(issuer.public_key(), &issuer.offer(&record))
            .unwrap();
        let schedule = EpochSchedule::new(Timestamp(0), 1000).unwrap();
        let attributes = CredentialAttributes {
            epoch: schedule.epoch_at(Timestamp(5000)),
            modalities: Modalities::new(&[Modality::Face]).unwrap(),
            enrolment_quarter: EnrolmentQuarter::new(2026, 1).unwrap(),
        };
        let response = issuer.issue(&request, &record, &attributes).unwrap();
        let credential = holder.finalise(&pending, &response).unwrap();

        let clock = Arc::new(ManualClock::new(Timestamp(5000)));
        let policy = VerifierPolicy {
            context_id: ContextId::new("https://shop.example").unwrap(),
            issuer: issuer.public_key().clone(),
            required: vec![],
            nonce_lifetime_secs: 60,
            schedule,
            enrolled_before: None,
        };
        let service = Service::new(policy, Nonces::in_memory(), clock.clone()).unwrap();
        assert_eq!(service.context_id().as_str(), "https://shop.example");
        assert_eq!(service.issuer_key_id(), issuer.public_key().key_id());

        let p = holder
            .present(&credential, &service.challenge().unwrap())
            .unwrap();
        assert_eq!(service.outstanding_nonces().unwrap(), 1);
        let first = service.verify(&p).unwrap();
        assert_eq!(service.verify(&p), Err(CredError::NonceUnknownOrUsed));
        let again = holder
            .present(&credential, &service.challenge().unwrap())
            .unwrap();
        assert_eq!(service.verify(&again).unwrap().pseudonym, first.pseudonym);

        let late = holder
            .present(&credential, &service.challenge().unwrap())
            .unwrap();
        clock.advance(61);
        assert_eq!(service.verify(&late), Err(CredError::NonceExpired));
        assert_eq!(service.outstanding_nonces().unwrap(), 0);
    }
}
