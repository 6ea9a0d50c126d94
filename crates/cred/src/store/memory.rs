//! In-memory stores: the default, lost on restart.

use std::collections::{HashMap, HashSet};

use super::{NonceStore, ReplayStore};
use crate::attributes::Timestamp;
use crate::error::CredError;
use crate::objects::NONCE_LEN;

/// Answered-request digests in memory.
#[derive(Debug, Default, Clone)]
pub struct MemoryReplayStore(HashSet<[u8; 32]>);

impl ReplayStore for MemoryReplayStore {
    fn insert_new(&mut self, digest: &[u8; 32]) -> Result<bool, CredError> {
        Ok(self.0.insert(*digest))
    }

    fn contains(&self, digest: &[u8; 32]) -> Result<bool, CredError> {
        Ok(self.0.contains(digest))
    }
}

/// Outstanding nonces in memory.
#[derive(Debug, Default, Clone)]
pub struct MemoryNonceStore(HashMap<[u8; NONCE_LEN], Timestamp>);

impl NonceStore for MemoryNonceStore {
    fn insert(&mut self, nonce: &[u8; NONCE_LEN], expires_at: Timestamp) -> Result<(), CredError> {
        self.0.insert(*nonce, expires_at);
        Ok(())
    }

    fn take(&mut self, nonce: &[u8; NONCE_LEN]) -> Result<Option<Timestamp>, CredError> {
        Ok(self.0.remove(nonce))
    }

    fn prune_expired(&mut self, now: Timestamp) -> Result<usize, CredError> {
        let before = self.0.len();
        self.0.retain(|_, expiry| *expiry >= now);
        Ok(before - self.0.len())
    }

    fn len(&self) -> Result<usize, CredError> {
        Ok(self.0.len())
    }
}
