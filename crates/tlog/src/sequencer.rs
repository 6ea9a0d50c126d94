//! Batching appends from many concurrent callers into few durable log batches.
//!
//! Callers hand their entries to [`Sequencer::append`] and block until the batch holding
//! them is committed (tiles, bundles and checkpoint written). A single writer thread owns
//! the log: it takes the first waiting request, gathers more until `max_batch` entries or
//! `max_wait` has passed, appends them as one batch and answers every caller with its own
//! first index. A failed batch fails all its callers, and none of their entries gets an
//! index (unless the checkpoint write failed yet persisted: then a retry may duplicate
//! them, which a log of audit events tolerates; indexes are never reused).

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::log::{Log, LogError};
use crate::storage::Storage;
use crate::tiles::MAX_ENTRY_SIZE;

/// Why an append through the sequencer failed.
#[derive(Debug, Error, Clone)]
pub enum AppendError {
    /// The batch holding the entries failed.
    #[error("log append failed: {0}")]
    Log(Arc<LogError>),
    /// An entry is larger than an entry bundle allows.
    #[error("entry of {0} bytes is too large: entries must be at most {MAX_ENTRY_SIZE} bytes")]
    EntryTooLarge(usize),
    /// The sequencer has stopped.
    #[error("the log sequencer has stopped")]
    Stopped,
}

/// Where a caller's entries landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequenced {
    /// Index of the caller's first entry (the others follow).
    pub first_index: u64,
    /// The tree size of the checkpoint that covers them.
    pub tree_size: u64,
    /// The checkpoint (note bytes).
    pub checkpoint: Vec<u8>,
}

struct Request {
    entries: Vec<Vec<u8>>,
    reply: Sender<Result<Sequenced, AppendError>>,
}

/// The batching front of a log.
pub struct Sequencer {
    tx: Option<Sender<Request>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Sequencer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequencer").finish_non_exhaustive()
    }
}

impl Sequencer {
    /// Starts the writer thread for `log`. `on_commit` runs after every committed batch,
    /// before the callers are answered, with the new tree size (the HTTP server publishes
    /// it there, so tiles are servable by the time a caller hears back).
    pub fn start<S: Storage + 'static>(
        log: Arc<Mutex<Log<S>>>,
        max_batch: usize,
        max_wait: Duration,
        on_commit: impl Fn(u64) + Send + 'static,
    ) -> Sequencer {
        let (tx, rx) = mpsc::channel::<Request>();
        let thread =
            std::thread::spawn(move || run(log, rx, max_batch.max(1), max_wait, on_commit));
        Sequencer {
            tx: Some(tx),
            thread: Some(thread),
        }
    }

    /// Appends `entries` and waits until a checkpoint covers them.
    pub fn append(&self, entries: Vec<Vec<u8>>) -> Result<Sequenced, AppendError> {
        if let Some(e) = entries.iter().find(|e| e.len() > MAX_ENTRY_SIZE) {
            return Err(AppendError::EntryTooLarge(e.len()));
        }
        let (reply, answer) = mpsc::channel();
        self.tx
            .as_ref()
            .ok_or(AppendError::Stopped)?
            .send(Request { entries, reply })
            .map_err(|_| AppendError::Stopped)?;
        answer.recv().map_err(|_| AppendError::Stopped)?
    }
}

impl Drop for Sequencer {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run<S: Storage>(
    log: Arc<Mutex<Log<S>>>,
    rx: Receiver<Request>,
    max_batch: usize,
    max_wait: Duration,
    on_commit: impl Fn(u64),
) {
    while let Ok(first) = rx.recv() {
        let mut pending = vec![first];
        let mut count = pending[0].entries.len();
        let deadline = Instant::now() + max_wait;
        while count < max_batch {
            // What already waits joins the batch even with no `max_wait` (group commit:
            // callers that arrived during the last write share the next one).
            let next = match rx.try_recv() {
                Ok(r) => r,
                Err(_) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    match rx.recv_timeout(deadline - now) {
                        Ok(r) => r,
                        Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                            break;
                        }
                    }
                }
            };
            count += next.entries.len();
            pending.push(next);
        }
        let all: Vec<&[u8]> = pending
            .iter()
            .flat_map(|r| r.entries.iter().map(Vec::as_slice))
            .collect();
        let result = log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .append_batch(&all);
        match result {
            Ok(receipt) => {
                let tree_size = receipt.first_index + receipt.count;
                // Publish first: a caller that gets its answer can fetch the new tiles at once.
                on_commit(tree_size);
                let mut next = receipt.first_index;
                for r in pending {
                    let n = r.entries.len() as u64;
                    let _ = r.reply.send(Ok(Sequenced {
                        first_index: next,
                        tree_size,
                        checkpoint: receipt.checkpoint.clone(),
                    }));
                    next += n;
                }
            }
            Err(e) => {
                let e = Arc::new(e);
                for r in pending {
                    let _ = r.reply.send(Err(AppendError::Log(e.clone())));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyName, SecretKey};
    use crate::storage::MemStorage;

    #[test]
    fn concurrent_callers_get_distinct_indices_in_shared_batches() {
        let key = SecretKey::from_seed(KeyName::new("seq.example").unwrap(), &[1; 32]);
        let log = Arc::new(Mutex::new(
            Log::create(MemStorage::new(), "seq.example", key).unwrap(),
        ));
        let commits = Arc::new(Mutex::new(Vec::new()));
        let c = commits.clone();
        let seq = Arc::new(Sequencer::start(
            log.clone(),
            64,
            Duration::from_millis(200),
            move |s| c.lock().unwrap().push(s),
        ));
        let handles: Vec<_> = (0..16u8)
            .map(|i| {
                let seq = seq.clone();
                std::thread::spawn(move || (i, seq.append(vec![vec![i], vec![i, i]]).unwrap()))
            })
            .collect();
        let mut results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        results.sort_by_key(|(_, r)| r.first_index);
        let mut log = log.lock().unwrap();
        for (k, (i, r)) in results.iter().enumerate() {
            assert_eq!(r.first_index, 2 * k as u64);
            assert_eq!(log.entry(r.first_index).unwrap(), vec![*i]);
            assert_eq!(log.entry(r.first_index + 1).unwrap(), vec![*i, *i]);
        }
        let commits = commits.lock().unwrap();
        assert_eq!(*commits.last().unwrap(), 32);
        assert!(
            commits.len() < 16,
            "appends were not batched: {} commits",
            commits.len()
        );
        assert!(matches!(
            seq.append(vec![vec![0; MAX_ENTRY_SIZE + 1]]),
            Err(AppendError::EntryTooLarge(_))
        ));
    }
}
