//! The aid desk's durable state in one redb file: rounds, claims and counts.
//!
//! Tables (all keyed so that nothing names a person):
//!
//! * `meta_v1`: `current_round` → the open round's number;
//! * `rounds_v1`: round → (opened at, cutoff year, cutoff quarter), year 0 meaning no
//!   cutoff;
//! * `claims_v1`: round (8 bytes big-endian) ‖ pseudonym (48 bytes) → the claim's number
//!   in its round. Pseudonyms are per desk and round, so this table links nothing across
//!   rounds or desks;
//! * `counts_v1`: (round, what) → count of claims, duplicate refusals and invalid
//!   presentations.
//!
//! Every mutation is one redb write transaction committed durably before it returns: a
//! claim and its count are recorded together or not at all, so a crash never leaves a
//! half-written claim, and a claim recorded before a restart refuses the same pseudonym in
//! the same round after it. One process per file (redb locks it).

use std::path::Path;

use masque_cred::{EnrolmentQuarter, Pseudonym, Timestamp};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{DeskError, RoundInfo};

const META: TableDefinition<&str, u64> = TableDefinition::new("meta_v1");
const ROUNDS: TableDefinition<u64, (u64, u16, u8)> = TableDefinition::new("rounds_v1");
const CLAIMS: TableDefinition<&[u8; CLAIM_KEY_LEN], u64> = TableDefinition::new("claims_v1");
const COUNTS: TableDefinition<(u64, u8), u64> = TableDefinition::new("counts_v1");

const CURRENT_ROUND: &str = "current_round";
const CLAIM_KEY_LEN: usize = 8 + 48;

/// What a count counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Counter {
    /// Accepted claims.
    Claims = 0,
    /// Refused: the person had already claimed in the round.
    Duplicates = 1,
    /// Refused: the presentation did not verify (expired, replayed, tampered, …).
    Invalid = 2,
}

/// What [`DeskStore::record_claim`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// Recorded, with its number in the round.
    Claimed(u64),
    /// The pseudonym had claimed in the round: nothing recorded but the refusal count.
    Duplicate,
    /// The round is no longer the open one: nothing recorded.
    RoundClosed {
        /// The open round.
        current: u64,
    },
}

fn store_err(e: impl Into<redb::Error>) -> DeskError {
    DeskError::Store(e.into().to_string())
}

fn claim_key(round: u64, pseudonym: &Pseudonym) -> [u8; CLAIM_KEY_LEN] {
    let mut key = [0u8; CLAIM_KEY_LEN];
    key[..8].copy_from_slice(&round.to_be_bytes());
    key[8..].copy_from_slice(pseudonym.as_bytes());
    key
}

fn round_value(info: &RoundInfo) -> (u64, u16, u8) {
    match info.enrolled_before {
        Some(q) => (info.opened_at.0, q.year(), q.quarter()),
        None => (info.opened_at.0, 0, 0),
    }
}

fn round_info(number: u64, (opened_at, year, quarter): (u64, u16, u8)) -> RoundInfo {
    RoundInfo {
        number,
        opened_at: Timestamp(opened_at),
        enrolled_before: (year != 0)
            .then(|| EnrolmentQuarter::new(year, quarter).ok())
            .flatten(),
    }
}

/// The desk's store.
pub struct DeskStore {
    db: Database,
}

impl std::fmt::Debug for DeskStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeskStore")
    }
}

impl DeskStore {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, DeskError> {
        let db = Database::create(path).map_err(|e| {
            DeskError::Store(format!(
                "cannot open {} ({e}); is another aid desk running on this data directory?",
                path.display()
            ))
        })?;
        let txn = db.begin_write().map_err(store_err)?;
        txn.open_table(META).map_err(store_err)?;
        txn.open_table(ROUNDS).map_err(store_err)?;
        txn.open_table(CLAIMS).map_err(store_err)?;
        txn.open_table(COUNTS).map_err(store_err)?;
        txn.commit().map_err(store_err)?;
        Ok(Self { db })
    }

    /// The open round, if any round was ever opened.
    pub fn current_round(&self) -> Result<Option<RoundInfo>, DeskError> {
        let txn = self.db.begin_read().map_err(store_err)?;
        let meta = txn.open_table(META).map_err(store_err)?;
        let Some(number) = meta
            .get(CURRENT_ROUND)
            .map_err(store_err)?
            .map(|v| v.value())
        else {
            return Ok(None);
        };
        self.round(number)
    }

    /// Round `number`, if it was opened.
    pub fn round(&self, number: u64) -> Result<Option<RoundInfo>, DeskError> {
        let txn = self.db.begin_read().map_err(store_err)?;
        let rounds = txn.open_table(ROUNDS).map_err(store_err)?;
        Ok(rounds
            .get(number)
            .map_err(store_err)?
            .map(|v| round_info(number, v.value())))
    }

    /// Opens round `info.number`, which must follow the open round (or be 1 for the
    /// first), and makes it the open round, in one transaction.
    pub fn open_round(&self, info: &RoundInfo) -> Result<(), DeskError> {
        let txn = self.db.begin_write().map_err(store_err)?;
        {
            let mut meta = txn.open_table(META).map_err(store_err)?;
            let current = meta
                .get(CURRENT_ROUND)
                .map_err(store_err)?
                .map_or(0, |v| v.value());
            if current.checked_add(1) != Some(info.number) {
                return Err(DeskError::Store(format!(
                    "round {} cannot follow round {current}",
                    info.number
                )));
            }
            let mut rounds = txn.open_table(ROUNDS).map_err(store_err)?;
            rounds
                .insert(info.number, round_value(info))
                .map_err(store_err)?;
            meta.insert(CURRENT_ROUND, info.number).map_err(store_err)?;
        }
        txn.commit().map_err(store_err)
    }

    /// Records a claim by `pseudonym` in `round`, in one transaction: refused if `round`
    /// is not the open round, refused (and the refusal counted) if the pseudonym claimed
    /// in it before.
    pub fn record_claim(
        &self,
        round: u64,
        pseudonym: &Pseudonym,
    ) -> Result<ClaimOutcome, DeskError> {
        let txn = self.db.begin_write().map_err(store_err)?;
        let outcome = {
            let meta = txn.open_table(META).map_err(store_err)?;
            let current = meta
                .get(CURRENT_ROUND)
                .map_err(store_err)?
                .map_or(0, |v| v.value());
            if current != round {
                ClaimOutcome::RoundClosed { current }
            } else {
                let mut claims = txn.open_table(CLAIMS).map_err(store_err)?;
                let mut counts = txn.open_table(COUNTS).map_err(store_err)?;
                let key = claim_key(round, pseudonym);
                let (counter, outcome) = if claims.get(&key).map_err(store_err)?.is_some() {
                    (Counter::Duplicates, ClaimOutcome::Duplicate)
                } else {
                    let n = counts
                        .get((round, Counter::Claims as u8))
                        .map_err(store_err)?
                        .map_or(0, |v| v.value())
                        + 1;
                    claims.insert(&key, n).map_err(store_err)?;
                    (Counter::Claims, ClaimOutcome::Claimed(n))
                };
                let before = counts
                    .get((round, counter as u8))
                    .map_err(store_err)?
                    .map_or(0, |v| v.value());
                counts
                    .insert((round, counter as u8), before.saturating_add(1))
                    .map_err(store_err)?;
                outcome
            }
        };
        if matches!(outcome, ClaimOutcome::RoundClosed { .. }) {
            txn.abort().map_err(store_err)?;
        } else {
            txn.commit().map_err(store_err)?;
        }
        Ok(outcome)
    }

    /// Adds one to `counter` of `round`.
    pub fn count(&self, round: u64, counter: Counter) -> Result<(), DeskError> {
        let txn = self.db.begin_write().map_err(store_err)?;
        {
            let mut counts = txn.open_table(COUNTS).map_err(store_err)?;
            let before = counts
                .get((round, counter as u8))
                .map_err(store_err)?
                .map_or(0, |v| v.value());
            counts
                .insert((round, counter as u8), before.saturating_add(1))
                .map_err(store_err)?;
        }
        txn.commit().map_err(store_err)
    }

    /// The value of `counter` in `round`.
    pub fn counter(&self, round: u64, counter: Counter) -> Result<u64, DeskError> {
        let txn = self.db.begin_read().map_err(store_err)?;
        let counts = txn.open_table(COUNTS).map_err(store_err)?;
        Ok(counts
            .get((round, counter as u8))
            .map_err(store_err)?
            .map_or(0, |v| v.value()))
    }

    /// Whether `pseudonym` has claimed in `round`.
    pub fn has_claimed(&self, round: u64, pseudonym: &Pseudonym) -> Result<bool, DeskError> {
        let txn = self.db.begin_read().map_err(store_err)?;
        let claims = txn.open_table(CLAIMS).map_err(store_err)?;
        Ok(claims
            .get(&claim_key(round, pseudonym))
            .map_err(store_err)?
            .is_some())
    }

    /// Number of claims recorded over all rounds (the table's size).
    pub fn total_claims(&self) -> Result<u64, DeskError> {
        use redb::ReadableTableMetadata as _;
        let txn = self.db.begin_read().map_err(store_err)?;
        let claims = txn.open_table(CLAIMS).map_err(store_err)?;
        claims.len().map_err(store_err)
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
