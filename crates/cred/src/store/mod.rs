//! Replay state that must survive a restart: the issuer's answered requests and the
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
use crate::objects::NONCE_LEN;

/// Digests of the credential requests an issuer has answered.
pub trait ReplayStore {
    /// Records `digest`; `Ok(false)` if it was already recorded (a replay). Atomic: the
    /// digest is durably recorded when this returns `Ok(true)`.
    fn insert_new(&mut self, digest: &[u8; 32]) -> Result<bool, CredError>;

    /// Whether `digest` has been recorded.
    fn contains(&self, digest: &[u8; 32]) -> Result<bool, CredError>;
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
