//! Replay state that must survive a restart: the issuer's answered requests, the nym
//! anchor it keeps per record (with a count of refused attempts to change it), and the
//! verifier's outstanding nonces.
//!
//! Both are small traits with two implementations: in memory ([`MemoryReplayStore`],
//! [`MemoryNonceStore`]; the default, for tests and single-run tools) and on disk with
//! `redb` ([`RedbReplayStore`], [`RedbNonceStore`]). Every mutating call of the redb
//! stores is one write transaction committed with immediate durability before it
//! returns, so after a crash or restart a request digest or a consumed nonce is either
//! fully recorded or not at all — never half-written — and a replay is refused.
//!
//! Not provided: sharing one store file between processes (redb locks the file; run one
//! issuer or verifier per file), and bounding the number of live nonces (rate-limit
//! challenges in front of the verifier).

mod memory;
mod redb_store;

pub use memory::{MemoryNonceStore, MemoryReplayStore};
pub use redb_store::{RedbNonceStore, RedbReplayStore};

use crate::attributes::Timestamp;
use crate::error::CredError;
use crate::objects::{NONCE_LEN, NymAnchor};

/// The issuer's key for one enrolment record in its store: a keyed digest of the record
/// handle (HKDF under the issuer's entropy key), so the store file holds no record handle.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordKey(pub [u8; 32]);

impl std::fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecordKey(")?;
        self.0[..8].iter().try_for_each(|b| write!(f, "{b:02x}"))?;
        f.write_str("…)")
    }
}

/// What [`ReplayStore::record_issuance`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuanceRecord {
    /// The digest was recorded; `first` if the anchor was recorded with it (the record's
    /// first issuance), else it equals the anchor recorded before.
    Recorded {
        /// Whether this was the record's first issuance.
        first: bool,
    },
    /// The digest was recorded before: nothing was changed.
    Replayed,
    /// Another anchor is recorded for the record: nothing was changed.
    AnchorMismatch,
}

/// The issuer's state: digests of the credential requests it has answered, and per record
/// the nym anchor of its first issuance and the number of refused requests for it.
pub trait ReplayStore {
    /// Records `digest`; `Ok(false)` if it was already recorded (a replay). Atomic: the
    /// digest is durably recorded when this returns `Ok(true)`.
    fn insert_new(&mut self, digest: &[u8; 32]) -> Result<bool, CredError>;

    /// Whether `digest` has been recorded.
    fn contains(&self, digest: &[u8; 32]) -> Result<bool, CredError>;

    /// The anchor recorded for `record`, if it has been issued for.
    fn nym_anchor(&self, record: &RecordKey) -> Result<Option<NymAnchor>, CredError>;

    /// In one atomic step: refuses a recorded `digest` ([`IssuanceRecord::Replayed`]) and
    /// an `anchor` other than the one recorded for `record`
    /// ([`IssuanceRecord::AnchorMismatch`]); otherwise records the digest and, if the
    /// record has none yet, the anchor. Durable when it returns `Recorded`.
    fn record_issuance(
        &mut self,
        digest: &[u8; 32],
        record: &RecordKey,
        anchor: &NymAnchor,
    ) -> Result<IssuanceRecord, CredError>;

    /// Counts one refused request for `record` (its nym binding failed); returns the new
    /// count. Durable when it returns.
    fn log_refusal(&mut self, record: &RecordKey) -> Result<u64, CredError>;

    /// The number of refused requests counted for `record`.
    fn refusals(&self, record: &RecordKey) -> Result<u64, CredError>;
}

/// The verifier's outstanding single-use nonces with their expiry.
pub trait NonceStore {
    /// Records a fresh nonce valid until `expires_at` (inclusive).
    fn insert(&mut self, nonce: &[u8; NONCE_LEN], expires_at: Timestamp) -> Result<(), CredError>;

    /// Removes `nonce` and returns its expiry, or `None` if it is unknown or already used.
    /// Atomic: once this returns, the nonce can never be taken again.
    fn take(&mut self, nonce: &[u8; NONCE_LEN]) -> Result<Option<Timestamp>, CredError>;

    /// Drops every nonce that expired before `now`; returns how many were dropped.
    fn prune_expired(&mut self, now: Timestamp) -> Result<usize, CredError>;

    /// Number of outstanding nonces.
    fn len(&self) -> Result<usize, CredError>;

    /// Whether no nonce is outstanding.
    fn is_empty(&self) -> Result<bool, CredError> {
        Ok(self.len()? == 0)
    }
}
