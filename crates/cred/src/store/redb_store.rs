//! Durable stores on `redb` (one file per store; immediate-durability commits).

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::{IssuanceRecord, NonceStore, RecordKey, ReplayStore};
use crate::attributes::Timestamp;
use crate::error::CredError;
use crate::objects::{ANCHOR_LEN, NONCE_LEN, NymAnchor};

const ANSWERED: TableDefinition<&[u8; 32], ()> = TableDefinition::new("answered_requests_v1");
const ANCHORS: TableDefinition<&[u8; 32], &[u8; ANCHOR_LEN]> =
    TableDefinition::new("nym_anchors_v1");
const REFUSALS: TableDefinition<&[u8; 32], u64> = TableDefinition::new("nym_refusals_v1");
const NONCES: TableDefinition<&[u8; NONCE_LEN], u64> = TableDefinition::new("nonces_v1");

fn store_err(e: impl Into<redb::Error>) -> CredError {
    CredError::Store(e.into().to_string())
}

/// Opens (or creates) the database at `path`; `create` makes sure its tables exist.
fn open(
    path: &Path,
    create: impl FnOnce(&redb::WriteTransaction) -> Result<(), redb::TableError>,
) -> Result<Database, CredError> {
    let db = Database::create(path).map_err(store_err)?;
    let txn = db.begin_write().map_err(store_err)?;
    create(&txn).map_err(store_err)?;
    txn.commit().map_err(store_err)?;
    Ok(db)
}

/// Answered-request digests, nym anchors and refusal counts in a redb file (three
/// tables; a file written before anchors existed gains the two new tables when opened).
pub struct RedbReplayStore {
    db: Database,
}

impl std::fmt::Debug for RedbReplayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedbReplayStore")
    }
}

impl RedbReplayStore {
    /// Opens the store at `path`, creating the file if needed.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CredError> {
        Ok(Self {
            db: open(path.as_ref(), |txn| {
                txn.open_table(ANSWERED)?;
                txn.open_table(ANCHORS)?;
                txn.open_table(REFUSALS)?;
                Ok(())
            })?,
        })
    }
}

impl ReplayStore for RedbReplayStore {
    fn insert_new(&mut self, digest: &[u8; 32]) -> Result<bool, CredError> {
        let txn = self.db.begin_write().map_err(store_err)?;
        let fresh = {
            let mut table = txn.open_table(ANSWERED).map_err(store_err)?;
            let existed = table.insert(digest, ()).map_err(store_err)?.is_some();
            !existed
        };
        if fresh {
            txn.commit().map_err(store_err)?;
        } else {
            txn.abort().map_err(store_err)?;
        }
        Ok(fresh)
    }

    fn contains(&self, digest: &[u8; 32]) -> Result<bool, CredError> {
        let txn = self.db.begin_read().map_err(store_err)?;
        let table = txn.open_table(ANSWERED).map_err(store_err)?;
        Ok(table.get(digest).map_err(store_err)?.is_some())
    }

    fn nym_anchor(&self, record: &RecordKey) -> Result<Option<NymAnchor>, CredError> {
        let txn = self.db.begin_read().map_err(store_err)?;
        let table = txn.open_table(ANCHORS).map_err(store_err)?;
        Ok(table
            .get(&record.0)
            .map_err(store_err)?
            .map(|v| NymAnchor(*v.value())))
    }

    fn record_issuance(
        &mut self,
        digest: &[u8; 32],
        record: &RecordKey,
        anchor: &NymAnchor,
    ) -> Result<IssuanceRecord, CredError> {
        let txn = self.db.begin_write().map_err(store_err)?;
        let outcome = {
            let mut answered = txn.open_table(ANSWERED).map_err(store_err)?;
            let mut anchors = txn.open_table(ANCHORS).map_err(store_err)?;
            let recorded = anchors
                .get(&record.0)
                .map_err(store_err)?
                .map(|v| *v.value());
            if answered.get(digest).map_err(store_err)?.is_some() {
                IssuanceRecord::Replayed
            } else if recorded.is_some_and(|r| r != anchor.0) {
                IssuanceRecord::AnchorMismatch
            } else {
                if recorded.is_none() {
                    anchors.insert(&record.0, &anchor.0).map_err(store_err)?;
                }
                answered.insert(digest, ()).map_err(store_err)?;
                IssuanceRecord::Recorded {
                    first: recorded.is_none(),
                }
            }
        };
        if matches!(outcome, IssuanceRecord::Recorded { .. }) {
            txn.commit().map_err(store_err)?;
        } else {
            txn.abort().map_err(store_err)?;
        }
        Ok(outcome)
    }

    fn log_refusal(&mut self, record: &RecordKey) -> Result<u64, CredError> {
        let txn = self.db.begin_write().map_err(store_err)?;
        let count = {
            let mut table = txn.open_table(REFUSALS).map_err(store_err)?;
            let before = table
                .get(&record.0)
                .map_err(store_err)?
                .map_or(0, |v| v.value());
            let count = before.saturating_add(1);
            table.insert(&record.0, count).map_err(store_err)?;
            count
        };
        txn.commit().map_err(store_err)?;
        Ok(count)
    }

    fn refusals(&self, record: &RecordKey) -> Result<u64, CredError> {
        let txn = self.db.begin_read().map_err(store_err)?;
        let table = txn.open_table(REFUSALS).map_err(store_err)?;
        Ok(table
            .get(&record.0)
            .map_err(store_err)?
            .map_or(0, |v| v.value()))
    }
}

/// Outstanding nonces in a redb file.
pub struct RedbNonceStore {
    db: Database,
}

impl std::fmt::Debug for RedbNonceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedbNonceStore")
    }
}

impl RedbNonceStore {
    /// Opens the store at `path`, creating the file if needed.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CredError> {
        Ok(Self {
            db: open(path.as_ref(), |txn| txn.open_table(NONCES).map(drop))?,
        })
    }
}

impl NonceStore for RedbNonceStore {
    fn insert(&mut self, nonce: &[u8; NONCE_LEN], expires_at: Timestamp) -> Result<(), CredError> {
        let txn = self.db.begin_write().map_err(store_err)?;
        txn.open_table(NONCES)
            .map_err(store_err)?
            .insert(nonce, expires_at.0)
            .map_err(store_err)?;
        txn.commit().map_err(store_err)
    }

    fn take(&mut self, nonce: &[u8; NONCE_LEN]) -> Result<Option<Timestamp>, CredError> {
        let txn = self.db.begin_write().map_err(store_err)?;
        let expiry = txn
            .open_table(NONCES)
            .map_err(store_err)?
            .remove(nonce)
            .map_err(store_err)?
            .map(|v| Timestamp(v.value()));
        txn.commit().map_err(store_err)?;
        Ok(expiry)
    }

    fn prune_expired(&mut self, now: Timestamp) -> Result<usize, CredError> {
        let txn = self.db.begin_write().map_err(store_err)?;
        let dropped = {
            let mut table = txn.open_table(NONCES).map_err(store_err)?;
            let before = table.len().map_err(store_err)?;
            table
                .retain(|_, expiry| expiry >= now.0)
                .map_err(store_err)?;
            before - table.len().map_err(store_err)?
        };
        txn.commit().map_err(store_err)?;
        Ok(usize::try_from(dropped).unwrap_or(usize::MAX))
    }

    fn len(&self) -> Result<usize, CredError> {
        let txn = self.db.begin_read().map_err(store_err)?;
        let table = txn.open_table(NONCES).map_err(store_err)?;
        let len = table.len().map_err(store_err)?;
        Ok(usize::try_from(len).unwrap_or(usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_digests_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("issuer.redb");
        let mut store = RedbReplayStore::open(&path).unwrap();
        assert!(store.insert_new(&[1; 32]).unwrap());
        assert!(!store.insert_new(&[1; 32]).unwrap());
        drop(store);
        let mut reopened = RedbReplayStore::open(&path).unwrap();
        assert!(reopened.contains(&[1; 32]).unwrap());
        assert!(!reopened.insert_new(&[1; 32]).unwrap());
        assert!(reopened.insert_new(&[2; 32]).unwrap());
    }

    #[test]
    fn anchors_and_refusals_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("issuer.redb");
        let (r1, r2) = (RecordKey([1; 32]), RecordKey([2; 32]));
        let (a, b) = (NymAnchor([0xa; ANCHOR_LEN]), NymAnchor([0xb; ANCHOR_LEN]));
        let mut store = RedbReplayStore::open(&path).unwrap();
        assert_eq!(store.nym_anchor(&r1).unwrap(), None);
        assert_eq!(
            store.record_issuance(&[1; 32], &r1, &a).unwrap(),
            IssuanceRecord::Recorded { first: true }
        );
        assert_eq!(store.log_refusal(&r1).unwrap(), 1);
        drop(store);

        let mut reopened = RedbReplayStore::open(&path).unwrap();
        assert_eq!(reopened.nym_anchor(&r1).unwrap(), Some(a));
        assert_eq!(reopened.refusals(&r1).unwrap(), 1);
        assert_eq!(reopened.refusals(&r2).unwrap(), 0);
        // Another anchor for the record changes nothing, not even the digest.
        assert_eq!(
            reopened.record_issuance(&[2; 32], &r1, &b).unwrap(),
            IssuanceRecord::AnchorMismatch
        );
        assert!(!reopened.contains(&[2; 32]).unwrap());
        // A replayed digest is refused even with the right anchor.
        assert_eq!(
            reopened.record_issuance(&[1; 32], &r1, &a).unwrap(),
            IssuanceRecord::Replayed
        );
        assert_eq!(
            reopened.record_issuance(&[2; 32], &r1, &a).unwrap(),
            IssuanceRecord::Recorded { first: false }
        );
        assert_eq!(reopened.log_refusal(&r1).unwrap(), 2);
    }

    #[test]
    fn a_store_file_from_before_anchors_is_upgraded_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.redb");
        {
            // A file with only the answered-requests table, as earlier versions wrote it.
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            txn.open_table(ANSWERED)
                .unwrap()
                .insert(&[7; 32], ())
                .unwrap();
            txn.commit().unwrap();
        }
        let mut store = RedbReplayStore::open(&path).unwrap();
        assert!(store.contains(&[7; 32]).unwrap());
        assert_eq!(store.nym_anchor(&RecordKey([1; 32])).unwrap(), None);
        assert_eq!(
            store
                .record_issuance(&[8; 32], &RecordKey([1; 32]), &NymAnchor([1; ANCHOR_LEN]))
                .unwrap(),
            IssuanceRecord::Recorded { first: true }
        );
    }

    #[test]
    fn nonces_are_single_use_across_reopening_and_pruned_when_expired() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("verifier.redb");
        let mut store = RedbNonceStore::open(&path).unwrap();
        store.insert(&[1; NONCE_LEN], Timestamp(100)).unwrap();
        store.insert(&[2; NONCE_LEN], Timestamp(200)).unwrap();
        store.insert(&[3; NONCE_LEN], Timestamp(300)).unwrap();
        assert_eq!(store.take(&[1; NONCE_LEN]).unwrap(), Some(Timestamp(100)));
        drop(store);
        let mut reopened = RedbNonceStore::open(&path).unwrap();
        assert_eq!(reopened.take(&[1; NONCE_LEN]).unwrap(), None);
        assert_eq!(reopened.len().unwrap(), 2);
        assert_eq!(reopened.prune_expired(Timestamp(250)).unwrap(), 1);
        assert_eq!(reopened.take(&[2; NONCE_LEN]).unwrap(), None);
        assert_eq!(
            reopened.take(&[3; NONCE_LEN]).unwrap(),
            Some(Timestamp(300))
        );
        assert!(reopened.is_empty().unwrap());
    }

    #[test]
    fn a_file_that_is_not_a_database_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("garbage.redb");
        std::fs::write(&path, b"not a redb file at all, just some bytes").unwrap();
        assert!(matches!(
            RedbNonceStore::open(&path),
            Err(CredError::Store(_))
        ));
    }

    use crate::store::{MemoryNonceStore, MemoryReplayStore};
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, u64),
        Take(u8),
        Prune(u64),
        Record(u8),
        Issue(u8, u8, u8),
        Refuse(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..6, 0u64..50).prop_map(|(n, t)| Op::Insert(n, t)),
            (0u8..6).prop_map(Op::Take),
            (0u64..50).prop_map(Op::Prune),
            (0u8..6).prop_map(Op::Record),
            (0u8..6, 0u8..3, 0u8..3).prop_map(|(d, r, a)| Op::Issue(d, r, a)),
            (0u8..3).prop_map(Op::Refuse),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]
        /// The in-memory stores are the oracle: the redb stores answer every operation
        /// the same way, also after being reopened half-way.
        #[test]
        fn redb_stores_behave_like_the_memory_stores(ops in proptest::collection::vec(op(), 1..24)) {
            let dir = tempfile::tempdir().unwrap();
            let (np, rp) = (dir.path().join("n.redb"), dir.path().join("r.redb"));
            let (mut mem_n, mut mem_r) = (MemoryNonceStore::default(), MemoryReplayStore::default());
            let mut disk_n = Some(RedbNonceStore::open(&np).unwrap());
            let mut disk_r = Some(RedbReplayStore::open(&rp).unwrap());
            for (i, op) in ops.iter().enumerate() {
                if i == ops.len() / 2 {
                    // Close both files before reopening them (redb locks an open file).
                    drop((disk_n.take(), disk_r.take()));
                    disk_n = Some(RedbNonceStore::open(&np).unwrap());
                    disk_r = Some(RedbReplayStore::open(&rp).unwrap());
                }
                let (dn, dr) = (disk_n.as_mut().unwrap(), disk_r.as_mut().unwrap());
                match *op {
                    Op::Insert(n, t) => {
                        mem_n.insert(&[n; NONCE_LEN], Timestamp(t)).unwrap();
                        dn.insert(&[n; NONCE_LEN], Timestamp(t)).unwrap();
                    }
                    Op::Take(n) => prop_assert_eq!(
                        mem_n.take(&[n; NONCE_LEN]).unwrap(),
                        dn.take(&[n; NONCE_LEN]).unwrap()
                    ),
                    Op::Prune(t) => prop_assert_eq!(
                        mem_n.prune_expired(Timestamp(t)).unwrap(),
                        dn.prune_expired(Timestamp(t)).unwrap()
                    ),
                    Op::Record(d) => prop_assert_eq!(
                        mem_r.insert_new(&[d; 32]).unwrap(),
                        dr.insert_new(&[d; 32]).unwrap()
                    ),
                    Op::Issue(d, r, a) => {
                        let (r, a) = (RecordKey([r; 32]), NymAnchor([a; ANCHOR_LEN]));
                        prop_assert_eq!(
                            mem_r.record_issuance(&[d; 32], &r, &a).unwrap(),
                            dr.record_issuance(&[d; 32], &r, &a).unwrap()
                        );
                    }
                    Op::Refuse(r) => prop_assert_eq!(
                        mem_r.log_refusal(&RecordKey([r; 32])).unwrap(),
                        dr.log_refusal(&RecordKey([r; 32])).unwrap()
                    ),
                }
                prop_assert_eq!(mem_n.len().unwrap(), dn.len().unwrap());
                for r in 0u8..3 {
                    let r = RecordKey([r; 32]);
                    prop_assert_eq!(mem_r.nym_anchor(&r).unwrap(), dr.nym_anchor(&r).unwrap());
                    prop_assert_eq!(mem_r.refusals(&r).unwrap(), dr.refusals(&r).unwrap());
                }
                for d in 0u8..6 {
                    prop_assert_eq!(mem_r.contains(&[d; 32]).unwrap(), dr.contains(&[d; 32]).unwrap());
                }
            }
        }
    }
}
