//! The custodian's durable state, behind [`Store`], with the embedded, transactional
//! [`RedbStore`] as the default.
//!
//! What is kept:
//!
//! * **records**: per record (keyed by its record public key): the gallery id, the
//!   audit key, the number of operations so far (`n` of the audit tag), the enrolment
//!   hour, and this custodian's enrolment shares;
//! * **consents** given by each record, and revocations;
//! * **prepared** transactions: what a custodian will do if the coordinator commits
//!   request `r` (the all-or-nothing protocol of `docs/protocol.md`);
//! * **decisions** the coordinator took (commit or abort) per request id;
//! * **seen** request ids (replay protection across restarts);
//! * **unlogged** log entries not yet appended (retried until they are).
//!
//! Every method is one transaction: after a crash the store is as of the last method
//! that returned `Ok`. A commit applies a prepared transaction and removes it in one
//! transaction, so a crash never leaves a record half stored.

mod redb_store;
mod types;

pub use redb_store::RedbStore;
pub use types::{Action, ConsentRecord, Decision, Prepared, RecordMeta, StoredRecord};

use masque_protocol::RequestId;

/// A storage failure; the text names what failed, never any stored content.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("store {path}: {message}")]
    Database {
        /// The database file.
        path: String,
        /// What failed.
        message: String,
    },
    /// A stored value could not be decoded (a bug or a damaged file).
    #[error("store {path}: damaged value in table {table}: {message}")]
    Corrupt {
        /// The database file.
        path: String,
        /// The table.
        table: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A commit named a request with nothing prepared.
    #[error("nothing is prepared for request {0}")]
    NotPrepared(RequestId),
}

/// The custodian's durable state (see the module docs). Implementations are used from
/// blocking threads.
pub trait Store: Send + Sync {
    /// Calls `f` for every stored record, in gallery order; returns how many there were.
    fn for_each_record(
        &self,
        f: &mut dyn FnMut(StoredRecord) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError>;
    /// Number of stored records.
    fn record_count(&self) -> Result<u64, StoreError>;
    /// The metadata of the record with public key `record_key`.
    fn record(&self, record_key: &[u8; 32]) -> Result<Option<RecordMeta>, StoreError>;
    /// The next gallery id to assign (one more than the largest ever used).
    fn next_record_id(&self) -> Result<u64, StoreError>;
    /// Consents of a record.
    fn consents(&self, record_key: &[u8; 32]) -> Result<Vec<ConsentRecord>, StoreError>;
    /// Writes a prepared transaction durably (replacing one for the same request).
    fn prepare(&self, prepared: &Prepared) -> Result<(), StoreError>;
    /// All prepared transactions not yet committed or aborted.
    fn prepared(&self) -> Result<Vec<Prepared>, StoreError>;
    /// Applies the prepared transaction of `request` and forgets it, in one transaction.
    /// Returns what was applied.
    fn commit(&self, request: &RequestId) -> Result<Action, StoreError>;
    /// Forgets the prepared transaction of `request` (no-op if none).
    fn abort(&self, request: &RequestId) -> Result<(), StoreError>;
    /// Records the coordinator's decision for `request`, and in the same transaction
    /// queues its log entry (a commit always has one), so a decision is never without
    /// its entry.
    fn decide(
        &self,
        request: &RequestId,
        decision: Decision,
        entry: Option<&[u8]>,
    ) -> Result<(), StoreError>;
    /// The coordinator's decision for `request`, if it took one.
    fn decision(&self, request: &RequestId) -> Result<Option<Decision>, StoreError>;
    /// Records a request id as seen; `false` if it had been seen before.
    fn first_sight(&self, request: &RequestId, at: u64) -> Result<bool, StoreError>;
    /// Forgets request ids seen before `before` (they fall outside the time window).
    fn forget_seen_before(&self, before: u64) -> Result<u64, StoreError>;
    /// Queues a log entry to append.
    fn queue_entry(&self, request: &RequestId, entry: &[u8]) -> Result<(), StoreError>;
    /// Entries queued and not yet appended.
    fn queued_entries(&self) -> Result<Vec<(RequestId, Vec<u8>)>, StoreError>;
    /// Marks a queued entry appended at `index`.
    fn entry_appended(&self, request: &RequestId, index: u64) -> Result<(), StoreError>;
    /// Where the entry of `request` was appended, if it was.
    fn entry_index(&self, request: &RequestId) -> Result<Option<u64>, StoreError>;
    /// Stores many new records in one transaction (seeding a network in bulk). Each is
    /// applied exactly as a committed [`Action::Enrol`].
    fn bulk_enrol(&self, records: Vec<Action>) -> Result<(), StoreError>;
    /// Takes the next request sequence number (the coordinator's), durably: a number is
    /// never handed out twice, even across restarts.
    fn take_sequence(&self) -> Result<u64, StoreError>;
    /// Reclaims the space of deleted records.
    fn compact(&self) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests;
