//! The watcher's state in one embedded database (redb): the rules' and detectors'
//! memory, the consents seen, the alerts raised and which of them were delivered; beside
//! it the verified entries themselves ([`crate::archive`]).
//!
//! What it guarantees: the state after a batch of entries and the alerts they raised are
//! committed in one transaction, after the entries were made durable in the archive; at
//! open the archive is cut back to the committed size. So after a crash or restart the
//! watcher resumes exactly after the last committed entry: nothing is replayed twice and
//! nothing is skipped. Alerts are delivered (printed, posted) from an outbox after their
//! commit and marked delivered afterwards, so an alert whose delivery was cut short is
//! delivered at the next start (at least once; consumers dedupe by id).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::WatchError;
use crate::alert::Alert;
use crate::archive::Archive;
use crate::detect::DetectorState;
use crate::frontier::Frontier;
use crate::rules::{ConsentRecord, RuleState};
use crate::view::GrowthPoint;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta_v1");
const CONSENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("consents_v1");
const ALERTS: TableDefinition<&str, &[u8]> = TableDefinition::new("alerts_v1");
/// Alert sequence number → id, in the order raised.
const ALERT_ORDER: TableDefinition<u64, &str> = TableDefinition::new("alert_order_v1");
/// Sequence numbers of alerts not yet delivered.
const OUTBOX: TableDefinition<u64, ()> = TableDefinition::new("outbox_v1");

/// Everything but the entries, consents and alerts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WatchState {
    /// The log's origin (set by the first checkpoint).
    pub origin: Option<String>,
    /// The verified tree.
    pub frontier: Frontier,
    /// The last verified checkpoint (signed note).
    pub checkpoint: Option<String>,
    /// Witnesses that cosigned it, with timestamps.
    pub cosigners: Vec<(String, u64)>,
    /// Checkpoints of other sizes seen, as `(size, root base64)`, for fork checks of
    /// peers' checkpoints (the last 64).
    pub roots: Vec<(u64, String)>,
    /// The log's growth.
    pub growth: Vec<GrowthPoint>,
    /// Last poll time and error.
    pub last_poll: Option<u64>,
    /// The last poll's error, if it failed.
    pub last_error: Option<String>,
    /// The rules' memory.
    pub rules: RuleState,
    /// The detectors' memory.
    pub detectors: DetectorState,
    /// Operations per station and hour, for the explorer.
    pub activity: crate::activity::Activity,
}

/// One commit: new entries from `first`, the state after them and their alerts. It owns
/// what it writes, so it can be committed on another thread while the watcher goes on.
pub struct Batch {
    /// Index of `entries[0]`.
    pub first: u64,
    /// The entries, in order.
    pub entries: Vec<Vec<u8>>,
    /// Consents added or changed.
    pub consents: Vec<(String, ConsentRecord)>,
    /// Alerts raised (ones already stored are skipped).
    pub alerts: Vec<Alert>,
    /// The state after the batch, as stored (JSON).
    state_json: Vec<u8>,
    /// The verified size after the batch.
    size: u64,
}

impl Batch {
    /// A batch whose state after it is `state`.
    pub fn new(
        first: u64,
        entries: Vec<Vec<u8>>,
        consents: Vec<(String, ConsentRecord)>,
        alerts: Vec<Alert>,
        state: &WatchState,
    ) -> Result<Self, WatchError> {
        let state_json = serde_json::to_vec(state).map_err(|e| WatchError::Store {
            path: "the watcher's state".into(),
            message: e.to_string(),
        })?;
        Ok(Self {
            first,
            entries,
            consents,
            alerts,
            state_json,
            size: state.frontier.size(),
        })
    }
}

/// The watcher's database.
pub struct Store {
    db: Mutex<Database>,
    path: PathBuf,
    archive: Archive,
    /// The verified size as last committed (readers need it often; the state document
    /// is large).
    committed: AtomicU64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.path.display())
    }
}

impl Store {
    /// Opens (creating if needed) the database `watch.redb` and the entry archive in
    /// `dir`.
    pub fn open(dir: &Path) -> Result<Self, WatchError> {
        let path = dir.join("watch.redb");
        let path = path.as_path();
        let fail = |e: &dyn std::fmt::Display| WatchError::Store {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let db = Database::builder()
            .set_cache_size(64 << 20)
            .create(path)
            .map_err(|e| fail(&format!("{e} (is another watcher using this directory?)")))?;
        let txn = db.begin_write().map_err(|e| fail(&e))?;
        let state = (|| -> Result<Option<Vec<u8>>, redb::Error> {
            let meta = txn.open_table(META)?;
            txn.open_table(CONSENTS)?;
            txn.open_table(ALERTS)?;
            txn.open_table(ALERT_ORDER)?;
            txn.open_table(OUTBOX)?;
            Ok(meta.get("state")?.map(|v| v.value().to_vec()))
        })()
        .map_err(|e| fail(&e))?;
        txn.commit().map_err(|e| fail(&e))?;
        let committed = match state {
            None => 0,
            Some(bytes) => serde_json::from_slice::<WatchState>(&bytes)
                .map_err(|e| fail(&format!("the saved state is unreadable: {e}")))?
                .frontier
                .size(),
        };
        Ok(Self {
            archive: Archive::open(dir, committed)?,
            db: Mutex::new(db),
            path: path.to_owned(),
            committed: AtomicU64::new(committed),
        })
    }

    fn err(&self, e: impl std::fmt::Display) -> WatchError {
        WatchError::Store {
            path: self.path.display().to_string(),
            message: e.to_string(),
        }
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<T, redb::Error>,
    ) -> Result<T, WatchError> {
        let db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        let txn = db.begin_write().map_err(|e| self.err(e))?;
        let out = f(&txn).map_err(|e| self.err(e))?;
        txn.commit().map_err(|e| self.err(e))?;
        Ok(out)
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&redb::ReadTransaction) -> Result<T, redb::Error>,
    ) -> Result<T, WatchError> {
        let db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        let txn = db.begin_read().map_err(|e| self.err(e))?;
        f(&txn).map_err(|e| self.err(e))
    }

    /// The saved state, or a fresh one.
    pub fn state(&self) -> Result<WatchState, WatchError> {
        let bytes = self.read(|txn| {
            Ok(txn
                .open_table(META)?
                .get("state")?
                .map(|v| v.value().to_vec()))
        })?;
        match bytes {
            None => Ok(WatchState::default()),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| self.err(format!("the saved state is unreadable: {e}"))),
        }
    }

    /// Every consent seen.
    pub fn consents(&self) -> Result<HashMap<String, ConsentRecord>, WatchError> {
        let rows = self.read(|txn| {
            let table = txn.open_table(CONSENTS)?;
            let mut rows = Vec::new();
            for row in table.iter()? {
                let (k, v) = row?;
                rows.push((k.value().to_owned(), v.value().to_vec()));
            }
            Ok(rows)
        })?;
        rows.into_iter()
            .map(|(k, v)| {
                serde_json::from_slice(&v)
                    .map(|c| (k, c))
                    .map_err(|e| self.err(format!("a saved consent is unreadable: {e}")))
            })
            .collect()
    }

    /// Commits a batch atomically; returns the alerts that were new (not stored before).
    pub fn commit(&self, batch: Batch) -> Result<Vec<Alert>, WatchError> {
        // The entries are durable before the state that counts them.
        self.archive.append(batch.first, &batch.entries)?;
        let state_json = batch.state_json;
        self.write(|txn| {
            {
                let mut consents = txn.open_table(CONSENTS)?;
                for (id, record) in &batch.consents {
                    let json = serde_json::to_vec(record).expect("a consent record serialises");
                    consents.insert(id.as_str(), json.as_slice())?;
                }
            }
            let mut new = Vec::new();
            {
                let mut alerts = txn.open_table(ALERTS)?;
                let mut order = txn.open_table(ALERT_ORDER)?;
                let mut outbox = txn.open_table(OUTBOX)?;
                let mut seq = order.last()?.map_or(0, |(k, _)| k.value() + 1);
                for alert in &batch.alerts {
                    if alerts.get(alert.id.as_str())?.is_some() {
                        continue;
                    }
                    let json = serde_json::to_vec(alert).expect("an alert serialises");
                    alerts.insert(alert.id.as_str(), json.as_slice())?;
                    order.insert(seq, alert.id.as_str())?;
                    outbox.insert(seq, ())?;
                    seq += 1;
                    new.push(alert.clone());
                }
            }
            txn.open_table(META)?
                .insert("state", state_json.as_slice())?;
            Ok(new)
        })
        .inspect(|_| self.committed.store(batch.size, Ordering::Release))
    }

    /// The verified size as last committed.
    pub fn committed_size(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    /// Alerts not yet delivered, oldest first, with their sequence numbers.
    pub fn outbox(&self) -> Result<Vec<(u64, Alert)>, WatchError> {
        let rows = self.read(|txn| {
            let outbox = txn.open_table(OUTBOX)?;
            let order = txn.open_table(ALERT_ORDER)?;
            let alerts = txn.open_table(ALERTS)?;
            let mut rows = Vec::new();
            for row in outbox.iter()? {
                let seq = row?.0.value();
                if let Some(id) = order.get(seq)?
                    && let Some(json) = alerts.get(id.value())?
                {
                    rows.push((seq, json.value().to_vec()));
                }
            }
            Ok(rows)
        })?;
        rows.into_iter()
            .map(|(seq, json)| Ok((seq, self.parse_alert(&json)?)))
            .collect()
    }

    /// Marks alert `seq` delivered.
    pub fn delivered(&self, seq: u64) -> Result<(), WatchError> {
        self.write(|txn| {
            txn.open_table(OUTBOX)?.remove(seq)?;
            Ok(())
        })
    }

    fn parse_alert(&self, json: &[u8]) -> Result<Alert, WatchError> {
        serde_json::from_slice(json).map_err(|e| self.err(format!("a saved alert: {e}")))
    }

    /// Every alert, newest first.
    pub fn alerts(&self) -> Result<Vec<Alert>, WatchError> {
        let rows = self.read(|txn| {
            let order = txn.open_table(ALERT_ORDER)?;
            let alerts = txn.open_table(ALERTS)?;
            let mut rows = Vec::new();
            for row in order.iter()?.rev() {
                let (_, id) = row?;
                if let Some(json) = alerts.get(id.value())? {
                    rows.push(json.value().to_vec());
                }
            }
            Ok(rows)
        })?;
        rows.iter().map(|json| self.parse_alert(json)).collect()
    }

    /// One alert by id.
    pub fn alert(&self, id: &str) -> Result<Option<Alert>, WatchError> {
        let json =
            self.read(|txn| Ok(txn.open_table(ALERTS)?.get(id)?.map(|v| v.value().to_vec())))?;
        json.map(|j| self.parse_alert(&j)).transpose()
    }

    /// Entries `from..from + limit` (fewer at the end of the log).
    pub fn entries(&self, from: u64, limit: u64) -> Result<Vec<Vec<u8>>, WatchError> {
        self.archive.read(from, limit)
    }

    /// Calls `f` on every entry below `size`, in order (for proofs and roots).
    pub fn for_each_entry(&self, size: u64, f: impl FnMut(u64, &[u8])) -> Result<(), WatchError> {
        self.archive.for_each(size, f)
    }
}
