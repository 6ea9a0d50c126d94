//! In-memory stores: the default, lost on restart.

use std::collections::{HashMap, HashSet};

use super::{IssuanceRecord, NonceStore, RecordKey, ReplayStore};
use crate::attributes::Timestamp;
use crate::error::CredError;
use crate::objects::{NONCE_LEN, NymAnchor};

/// Answered-request digests, nym anchors and refusal counts in memory.
#[derive(Debug, Default, Clone)]
pub struct MemoryReplayStore {
    answered: HashSet<[u8; 32]>,
    anchors: HashMap<RecordKey, NymAnchor>,
    refusals: HashMap<RecordKey, u64>,
}

impl ReplayStore for MemoryReplayStore {
    fn insert_new(&mut self, digest: &[u8; 32]) -> Result<bool, CredError> {
        Ok(self.answered.insert(*digest))
    }

    fn contains(&self, digest: &[u8; 32]) -> Result<bool, CredError> {
        Ok(self.answered.contains(digest))
    }

    fn nym_anchor(&self, record: &RecordKey) -> Result<Option<NymAnchor>, CredError> {
        Ok(self.anchors.get(record).copied())
    }

    fn record_issuance(
        &mut self,
        digest: &[u8; 32],
        record: &RecordKey,
        anchor: &NymAnchor,
    ) -> Result<IssuanceRecord, CredError> {
        if self.answered.contains(digest) {
            return Ok(IssuanceRecord::Replayed);
        }
        let first = match self.anchors.get(record) {
            Some(recorded) if recorded != anchor => return Ok(IssuanceRecord::AnchorMismatch),
            Some(_) => false,
            None => {
                self.anchors.insert(*record, *anchor);
                true
            }
        };
        self.answered.insert(*digest);
        Ok(IssuanceRecord::Recorded { first })
    }

    fn log_refusal(&mut self, record: &RecordKey) -> Result<u64, CredError> {
        let count = self.refusals.entry(*record).or_default();
        *count = count.saturating_add(1);
        Ok(*count)
    }

    fn refusals(&self, record: &RecordKey) -> Result<u64, CredError> {
        Ok(self.refusals.get(record).copied().unwrap_or(0))
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
