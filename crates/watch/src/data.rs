//! The watcher's state as the explorer shows it: [`StoreData`] reads the committed state
//! from the store on each request (never the follower's in-memory state, so the page
//! shows only what was verified and committed).

use std::collections::HashMap;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::WatchError;
use crate::evidence;
use crate::explorer::ExplorerData;
use crate::metrics;
use crate::store::Store;
use crate::view::{
    ActivityView, AlertCounts, AlertView, CosignerView, EntriesPage, EntryView, StatusView,
};

/// The explorer's data from a watcher's store.
pub struct StoreData {
    store: Arc<Store>,
    witnesses: Vec<String>,
    rates: HashMap<String, u32>,
    audit_keys: Vec<Zeroizing<[u8; 32]>>,
}

impl std::fmt::Debug for StoreData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreData")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl StoreData {
    /// The data of `watcher` (sharing its store).
    pub fn of(watcher: &crate::Watcher) -> Self {
        Self {
            store: watcher.store().clone(),
            witnesses: watcher
                .policy()
                .witnesses()
                .iter()
                .map(|w| w.name.clone())
                .collect(),
            rates: watcher.rules().rates().clone(),
            audit_keys: watcher.rules().audit_keys().to_vec(),
        }
    }
}

impl ExplorerData for StoreData {
    fn status(&self) -> Result<StatusView, WatchError> {
        let state = self.store.state()?;
        let alerts = self.store.alerts()?;
        let mut counts = AlertCounts::default();
        for a in &alerts {
            match a.severity {
                crate::alert::Severity::Critical => counts.critical += 1,
                crate::alert::Severity::Warning => counts.warning += 1,
            }
        }
        Ok(StatusView {
            origin: state.origin.clone().unwrap_or_default(),
            size: state.frontier.size(),
            root: state.frontier.root().to_base64(),
            checkpoint_note: state.checkpoint.clone().unwrap_or_default(),
            cosigners: state
                .cosigners
                .iter()
                .map(|(name, timestamp)| CosignerView {
                    name: name.clone(),
                    timestamp: *timestamp,
                })
                .collect(),
            witnesses: self.witnesses.clone(),
            last_poll: state.last_poll,
            last_error: state.last_error.clone(),
            growth: state.growth.clone(),
            alerts: counts,
        })
    }

    fn alerts(&self) -> Result<Vec<AlertView>, WatchError> {
        Ok(self.store.alerts()?.iter().map(|a| a.view()).collect())
    }

    fn evidence(&self, id: &str) -> Result<Option<Vec<u8>>, WatchError> {
        let Some(alert) = self.store.alert(id)? else {
            return Ok(None);
        };
        let bundle = evidence::export(&self.store, &alert, &self.audit_keys)?;
        Ok(Some(
            serde_json::to_vec_pretty(&bundle).expect("a bundle serialises"),
        ))
    }

    fn entries(&self, from: u64, limit: u64) -> Result<EntriesPage, WatchError> {
        let size = self.store.committed_size();
        let limit = limit.min(size.saturating_sub(from));
        let entries = self
            .store
            .entries(from, limit)?
            .into_iter()
            .enumerate()
            .map(|(i, bytes)| EntryView {
                index: from + i as u64,
                entry: serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                    serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
                }),
            })
            .collect();
        Ok(EntriesPage {
            from,
            size,
            entries,
        })
    }

    fn activity(&self) -> Result<ActivityView, WatchError> {
        Ok(self.store.state()?.activity.view(&self.rates))
    }

    fn checkpoint(&self) -> Result<Option<Vec<u8>>, WatchError> {
        Ok(self.store.state()?.checkpoint.map(String::into_bytes))
    }

    fn metrics(&self) -> Result<String, WatchError> {
        Ok(metrics::render(&self.store.state()?, &self.store.alerts()?))
    }
}
