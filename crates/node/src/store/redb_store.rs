//! [`Store`] on redb: one file, copy-on-write B-trees, atomic durable commits.

use super::{
    Action, ConsentRecord, Decision, Prepared, RecordMeta, Store, StoreError, StoredRecord,
};
use masque_protocol::RequestId;
use redb::{
    Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
    WriteTransaction,
};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Record key → JSON [`RecordMeta`].
const RECORDS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("records_v1");
/// Gallery id → this custodian's enrolment shares.
const SHARES: TableDefinition<u64, &[u8]> = TableDefinition::new("shares_v1");
/// Gallery slot → gallery id: the in-memory gallery's order, kept exactly as the MPC
/// gallery keeps it (append on insert, swap-remove on delete), so a restarted custodian
/// reloads the same layout as its peers that never stopped.
const ORDER: TableDefinition<u64, u64> = TableDefinition::new("gallery_order_v1");
/// Gallery id → slot (the inverse of ORDER).
const SLOTS: TableDefinition<u64, u64> = TableDefinition::new("gallery_slots_v1");
/// Record key ‖ consent id → JSON [`ConsentRecord`].
const CONSENTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("consents_v1");
/// Request id → JSON [`Prepared`].
const PREPARED: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new("prepared_v1");
/// Request id → decision (0 commit, 1 abort).
const DECISIONS: TableDefinition<&[u8; 16], u8> = TableDefinition::new("decisions_v1");
/// Request id → when it was first seen (Unix seconds).
const SEEN: TableDefinition<&[u8; 16], u64> = TableDefinition::new("seen_requests_v1");
/// Request id → log entry waiting to be appended.
const QUEUED: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new("queued_entries_v1");
/// Request id → index of its appended log entry.
const APPENDED: TableDefinition<&[u8; 16], u64> = TableDefinition::new("appended_entries_v1");
/// Counters.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta_v1");
const NEXT_GALLERY_ID: &str = "next_gallery_id";
const NEXT_SEQUENCE: &str = "next_sequence";

/// The redb store of one custodian.
pub struct RedbStore {
    db: Mutex<Database>,
    path: PathBuf,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedbStore({})", self.path.display())
    }
}

impl RedbStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        const CACHE_BYTES: usize = 32 << 20;
        let err = |e: redb::Error| StoreError::Database {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        // The shares live in the MPC engine's gallery (loaded once at start); a large redb
        // page cache would keep a second copy of every share in memory for nothing.
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(|e| err(e.into()))?;
        let txn = db.begin_write().map_err(|e| err(e.into()))?;
        {
            txn.open_table(RECORDS).map_err(|e| err(e.into()))?;
            txn.open_table(SHARES).map_err(|e| err(e.into()))?;
            txn.open_table(ORDER).map_err(|e| err(e.into()))?;
            txn.open_table(SLOTS).map_err(|e| err(e.into()))?;
            txn.open_table(CONSENTS).map_err(|e| err(e.into()))?;
            txn.open_table(PREPARED).map_err(|e| err(e.into()))?;
            txn.open_table(DECISIONS).map_err(|e| err(e.into()))?;
            txn.open_table(SEEN).map_err(|e| err(e.into()))?;
            txn.open_table(QUEUED).map_err(|e| err(e.into()))?;
            txn.open_table(APPENDED).map_err(|e| err(e.into()))?;
            txn.open_table(META).map_err(|e| err(e.into()))?;
        }
        txn.commit().map_err(|e| err(e.into()))?;
        Ok(Self {
            db: Mutex::new(db),
            path: path.to_owned(),
        })
    }

    fn err(&self, e: impl Into<redb::Error>) -> StoreError {
        StoreError::Database {
            path: self.path.display().to_string(),
            message: e.into().to_string(),
        }
    }

    fn corrupt(&self, table: &'static str, message: impl ToString) -> StoreError {
        StoreError::Corrupt {
            path: self.path.display().to_string(),
            table,
            message: message.to_string(),
        }
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        let txn = db.begin_write().map_err(|e| self.err(e))?;
        let out = f(&txn)?;
        txn.commit().map_err(|e| self.err(e))?;
        Ok(out)
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&redb::ReadTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        let txn = db.begin_read().map_err(|e| self.err(e))?;
        f(&txn)
    }

    fn meta_of(&self, bytes: &[u8]) -> Result<RecordMeta, StoreError> {
        serde_json::from_slice(bytes).map_err(|e| self.corrupt("records", e))
    }

    /// Applies `action` inside `txn`.
    fn apply(&self, txn: &WriteTransaction, action: &Action) -> Result<(), StoreError> {
        let e = |x: redb::Error| self.err(x);
        let mut records = txn.open_table(RECORDS).map_err(|x| e(x.into()))?;
        match action {
            Action::Enrol {
                record_key,
                meta,
                shares,
            } => {
                let meta_json = serde_json::to_vec(meta).expect("metadata serialises");
                records
                    .insert(record_key, meta_json.as_slice())
                    .map_err(|x| e(x.into()))?;
                let mut share_table = txn.open_table(SHARES).map_err(|x| e(x.into()))?;
                let encoded = zeroize::Zeroizing::new(encode_shares(shares));
                share_table
                    .insert(meta.gallery_id, encoded.as_slice())
                    .map_err(|x| e(x.into()))?;
                let mut order = txn.open_table(ORDER).map_err(|x| e(x.into()))?;
                let mut slots = txn.open_table(SLOTS).map_err(|x| e(x.into()))?;
                let slot = order.len().map_err(|x| e(x.into()))?;
                order
                    .insert(slot, meta.gallery_id)
                    .map_err(|x| e(x.into()))?;
                slots
                    .insert(meta.gallery_id, slot)
                    .map_err(|x| e(x.into()))?;
                let mut counters = txn.open_table(META).map_err(|x| e(x.into()))?;
                let next = counters
                    .get(NEXT_GALLERY_ID)
                    .map_err(|x| e(x.into()))?
                    .map(|v| v.value())
                    .unwrap_or(0);
                counters
                    .insert(NEXT_GALLERY_ID, next.max(meta.gallery_id + 1))
                    .map_err(|x| e(x.into()))?;
            }
            Action::Delete { record_key, .. } => {
                let Some(meta) = records.remove(record_key).map_err(|x| e(x.into()))? else {
                    return Ok(());
                };
                let meta = self.meta_of(meta.value())?;
                let mut share_table = txn.open_table(SHARES).map_err(|x| e(x.into()))?;
                // Overwrite before dropping, so the freed page holds zeros.
                let len = share_table
                    .get(meta.gallery_id)
                    .map_err(|x| e(x.into()))?
                    .map(|v| v.value().len())
                    .unwrap_or(0);
                share_table
                    .insert(meta.gallery_id, vec![0u8; len].as_slice())
                    .map_err(|x| e(x.into()))?;
                share_table
                    .remove(meta.gallery_id)
                    .map_err(|x| e(x.into()))?;
                // Swap-remove in the order, exactly as the in-memory gallery does.
                let mut order = txn.open_table(ORDER).map_err(|x| e(x.into()))?;
                let mut slots = txn.open_table(SLOTS).map_err(|x| e(x.into()))?;
                let removed = slots
                    .remove(meta.gallery_id)
                    .map_err(|x| e(x.into()))?
                    .map(|v| v.value());
                if let Some(slot) = removed {
                    let last = order.len().map_err(|x| e(x.into()))? - 1;
                    let moved = order
                        .remove(last)
                        .map_err(|x| e(x.into()))?
                        .map(|v| v.value())
                        .ok_or_else(|| self.corrupt("gallery_order", "last slot missing"))?;
                    if slot != last {
                        order.insert(slot, moved).map_err(|x| e(x.into()))?;
                        slots.insert(moved, slot).map_err(|x| e(x.into()))?;
                    }
                }
                let mut consents = txn.open_table(CONSENTS).map_err(|x| e(x.into()))?;
                let keys: Vec<Vec<u8>> = consents
                    .range(record_key.as_slice()..)
                    .map_err(|x| e(x.into()))?
                    .map_while(|item| {
                        item.ok()
                            .map(|(k, _)| k.value().to_vec())
                            .filter(|k| k.starts_with(record_key))
                    })
                    .collect();
                for key in keys {
                    consents.remove(key.as_slice()).map_err(|x| e(x.into()))?;
                }
            }
            Action::Touch { record_key } => {
                self.bump(&mut records, record_key, |_| {})?;
            }
            Action::SelfMatch { record_key, hour } => {
                self.bump(&mut records, record_key, |m| {
                    m.self_match_hour = Some(*hour)
                })?;
            }
            Action::Issued { record_key } => {
                self.bump(&mut records, record_key, |m| {
                    m.issued = true;
                    m.self_match_hour = None;
                })?;
            }
            Action::GrantConsent { consent } => {
                let record_key = consent.consent.record_key.to_bytes();
                self.bump(&mut records, &record_key, |_| {})?;
                let mut consents = txn.open_table(CONSENTS).map_err(|x| e(x.into()))?;
                let key = consent_key(&record_key, &consent.id().0);
                let value = serde_json::to_vec(&ConsentRecord {
                    consent: consent.clone(),
                    revoked: false,
                })
                .expect("a consent serialises");
                consents
                    .insert(key.as_slice(), value.as_slice())
                    .map_err(|x| e(x.into()))?;
            }
            Action::RevokeConsent {
                record_key,
                consent_id,
            } => {
                self.bump(&mut records, record_key, |_| {})?;
                let mut consents = txn.open_table(CONSENTS).map_err(|x| e(x.into()))?;
                let key = consent_key(record_key, consent_id);
                let current = consents
                    .get(key.as_slice())
                    .map_err(|x| e(x.into()))?
                    .map(|v| v.value().to_vec());
                if let Some(bytes) = current {
                    let mut record: ConsentRecord =
                        serde_json::from_slice(&bytes).map_err(|x| self.corrupt("consents", x))?;
                    record.revoked = true;
                    let value = serde_json::to_vec(&record).expect("a consent serialises");
                    consents
                        .insert(key.as_slice(), value.as_slice())
                        .map_err(|x| e(x.into()))?;
                }
            }
            Action::Nothing => {}
        }
        Ok(())
    }

    fn bump(
        &self,
        records: &mut redb::Table<&[u8; 32], &[u8]>,
        record_key: &[u8; 32],
        change: impl FnOnce(&mut RecordMeta),
    ) -> Result<(), StoreError> {
        let current = records
            .get(record_key)
            .map_err(|x| self.err(x))?
            .map(|v| v.value().to_vec());
        if let Some(bytes) = current {
            let mut meta = self.meta_of(&bytes)?;
            meta.operations += 1;
            change(&mut meta);
            let json = serde_json::to_vec(&meta).expect("metadata serialises");
            records
                .insert(record_key, json.as_slice())
                .map_err(|x| self.err(x))?;
        }
        Ok(())
    }
}

fn consent_key(record_key: &[u8; 32], consent_id: &str) -> Vec<u8> {
    let mut key = record_key.to_vec();
    key.extend_from_slice(consent_id.as_bytes());
    key
}

/// Shares as `count: u8 | { len: u32 | bytes }*`.
fn encode_shares(shares: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![shares.len() as u8];
    for s in shares {
        out.extend_from_slice(&(s.len() as u32).to_be_bytes());
        out.extend_from_slice(s);
    }
    out
}

fn decode_shares(bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
    let (&count, mut rest) = bytes.split_first()?;
    let mut shares = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        shares.push(rest.get(4..4 + len)?.to_vec());
        rest = &rest[4 + len..];
    }
    rest.is_empty().then_some(shares)
}

impl Store for RedbStore {
    fn for_each_record(
        &self,
        f: &mut dyn FnMut(StoredRecord) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        self.read(|txn| {
            let order = txn.open_table(ORDER).map_err(|x| self.err(x))?;
            let shares = txn.open_table(SHARES).map_err(|x| self.err(x))?;
            let mut n = 0;
            for item in order.iter().map_err(|x| self.err(x))? {
                let (_, gallery_id) = item.map_err(|x| self.err(x))?;
                let gallery_id = gallery_id.value();
                let bytes = shares
                    .get(gallery_id)
                    .map_err(|x| self.err(x))?
                    .ok_or_else(|| {
                        self.corrupt("shares", format!("record {gallery_id} has no shares"))
                    })?;
                let eyes = decode_shares(bytes.value())
                    .ok_or_else(|| self.corrupt("shares", "bad share encoding"))?;
                f(StoredRecord {
                    gallery_id,
                    shares: eyes,
                })?;
                n += 1;
            }
            Ok(n)
        })
    }

    fn record_count(&self) -> Result<u64, StoreError> {
        self.read(|txn| {
            let records = txn.open_table(RECORDS).map_err(|x| self.err(x))?;
            records.len().map_err(|x| self.err(x))
        })
    }

    fn record(&self, record_key: &[u8; 32]) -> Result<Option<RecordMeta>, StoreError> {
        self.read(|txn| {
            let records = txn.open_table(RECORDS).map_err(|x| self.err(x))?;
            let value = records.get(record_key).map_err(|x| self.err(x))?;
            value.map(|v| self.meta_of(v.value())).transpose()
        })
    }

    fn next_record_id(&self) -> Result<u64, StoreError> {
        self.read(|txn| {
            let meta = txn.open_table(META).map_err(|x| self.err(x))?;
            Ok(meta
                .get(NEXT_GALLERY_ID)
                .map_err(|x| self.err(x))?
                .map(|v| v.value())
                .unwrap_or(0))
        })
    }

    fn consents(&self, record_key: &[u8; 32]) -> Result<Vec<ConsentRecord>, StoreError> {
        self.read(|txn| {
            let consents = txn.open_table(CONSENTS).map_err(|x| self.err(x))?;
            let mut out = Vec::new();
            for item in consents
                .range(record_key.as_slice()..)
                .map_err(|x| self.err(x))?
            {
                let (k, v) = item.map_err(|x| self.err(x))?;
                if !k.value().starts_with(record_key) {
                    break;
                }
                out.push(
                    serde_json::from_slice(v.value()).map_err(|x| self.corrupt("consents", x))?,
                );
            }
            Ok(out)
        })
    }

    fn prepare(&self, prepared: &Prepared) -> Result<(), StoreError> {
        let json = zeroize::Zeroizing::new(serde_json::to_vec(prepared).expect("serialises"));
        self.write(|txn| {
            let mut table = txn.open_table(PREPARED).map_err(|x| self.err(x))?;
            table
                .insert(&prepared.request_id.0, json.as_slice())
                .map_err(|x| self.err(x))?;
            Ok(())
        })
    }

    fn prepared(&self) -> Result<Vec<Prepared>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(PREPARED).map_err(|x| self.err(x))?;
            let mut out = Vec::new();
            for item in table.iter().map_err(|x| self.err(x))? {
                let (_, v) = item.map_err(|x| self.err(x))?;
                out.push(
                    serde_json::from_slice(v.value()).map_err(|x| self.corrupt("prepared", x))?,
                );
            }
            Ok(out)
        })
    }

    fn commit(&self, request: &RequestId) -> Result<Action, StoreError> {
        self.write(|txn| {
            let prepared: Prepared = {
                let mut table = txn.open_table(PREPARED).map_err(|x| self.err(x))?;
                let value = table
                    .remove(&request.0)
                    .map_err(|x| self.err(x))?
                    .ok_or(StoreError::NotPrepared(*request))?;
                serde_json::from_slice(value.value()).map_err(|x| self.corrupt("prepared", x))?
            };
            self.apply(txn, &prepared.action)?;
            Ok(prepared.action.clone())
        })
    }

    fn abort(&self, request: &RequestId) -> Result<(), StoreError> {
        self.write(|txn| {
            let mut table = txn.open_table(PREPARED).map_err(|x| self.err(x))?;
            table.remove(&request.0).map_err(|x| self.err(x))?;
            Ok(())
        })
    }

    fn decide(
        &self,
        request: &RequestId,
        decision: Decision,
        entry: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        self.write(|txn| {
            if let Some(entry) = entry {
                let mut queued = txn.open_table(QUEUED).map_err(|x| self.err(x))?;
                queued.insert(&request.0, entry).map_err(|x| self.err(x))?;
            }
            let mut table = txn.open_table(DECISIONS).map_err(|x| self.err(x))?;
            let code = match decision {
                Decision::Commit => 0,
                Decision::Abort => 1,
            };
            table.insert(&request.0, code).map_err(|x| self.err(x))?;
            Ok(())
        })
    }

    fn decision(&self, request: &RequestId) -> Result<Option<Decision>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(DECISIONS).map_err(|x| self.err(x))?;
            let value = table.get(&request.0).map_err(|x| self.err(x))?;
            Ok(value.map(|v| {
                if v.value() == 0 {
                    Decision::Commit
                } else {
                    Decision::Abort
                }
            }))
        })
    }

    fn first_sight(&self, request: &RequestId, at: u64) -> Result<bool, StoreError> {
        self.write(|txn| {
            let mut table = txn.open_table(SEEN).map_err(|x| self.err(x))?;
            let seen = table.get(&request.0).map_err(|x| self.err(x))?.is_some();
            if !seen {
                table.insert(&request.0, at).map_err(|x| self.err(x))?;
            }
            Ok(!seen)
        })
    }

    fn forget_seen_before(&self, before: u64) -> Result<u64, StoreError> {
        self.write(|txn| {
            let mut table = txn.open_table(SEEN).map_err(|x| self.err(x))?;
            let old: Vec<[u8; 16]> = table
                .iter()
                .map_err(|x| self.err(x))?
                .filter_map(|item| item.ok())
                .filter(|(_, at)| at.value() < before)
                .map(|(k, _)| *k.value())
                .collect();
            for k in &old {
                table.remove(k).map_err(|x| self.err(x))?;
            }
            Ok(old.len() as u64)
        })
    }

    fn queue_entry(&self, request: &RequestId, entry: &[u8]) -> Result<(), StoreError> {
        self.write(|txn| {
            let mut table = txn.open_table(QUEUED).map_err(|x| self.err(x))?;
            table.insert(&request.0, entry).map_err(|x| self.err(x))?;
            Ok(())
        })
    }

    fn queued_entries(&self) -> Result<Vec<(RequestId, Vec<u8>)>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(QUEUED).map_err(|x| self.err(x))?;
            let mut out = Vec::new();
            for item in table.iter().map_err(|x| self.err(x))? {
                let (k, v) = item.map_err(|x| self.err(x))?;
                out.push((RequestId(*k.value()), v.value().to_vec()));
            }
            Ok(out)
        })
    }

    fn entry_appended(&self, request: &RequestId, index: u64) -> Result<(), StoreError> {
        self.write(|txn| {
            let mut queued = txn.open_table(QUEUED).map_err(|x| self.err(x))?;
            queued.remove(&request.0).map_err(|x| self.err(x))?;
            let mut appended = txn.open_table(APPENDED).map_err(|x| self.err(x))?;
            appended
                .insert(&request.0, index)
                .map_err(|x| self.err(x))?;
            Ok(())
        })
    }

    fn entry_index(&self, request: &RequestId) -> Result<Option<u64>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(APPENDED).map_err(|x| self.err(x))?;
            Ok(table
                .get(&request.0)
                .map_err(|x| self.err(x))?
                .map(|v| v.value()))
        })
    }

    fn bulk_enrol(&self, records: Vec<Action>) -> Result<(), StoreError> {
        self.write(|txn| {
            for action in &records {
                if !matches!(action, Action::Enrol { .. }) {
                    return Err(self.corrupt("records", "bulk_enrol takes enrolments only"));
                }
                self.apply(txn, action)?;
            }
            Ok(())
        })
    }

    fn take_sequence(&self) -> Result<u64, StoreError> {
        self.write(|txn| {
            let mut meta = txn.open_table(META).map_err(|x| self.err(x))?;
            let next = meta
                .get(NEXT_SEQUENCE)
                .map_err(|x| self.err(x))?
                .map(|v| v.value())
                .unwrap_or(1);
            meta.insert(NEXT_SEQUENCE, next + 1)
                .map_err(|x| self.err(x))?;
            Ok(next)
        })
    }

    fn compact(&self) -> Result<(), StoreError> {
        let mut db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        db.compact().map_err(|x| self.err(x))?;
        Ok(())
    }
}
