//! Shared test helpers: keys, a fault-injecting storage wrapper and consistency checks.
#![allow(dead_code)]

use std::sync::Mutex;

use masque_tlog::checkpoint::Checkpoint;
use masque_tlog::keys::{KeyName, SecretKey};
use masque_tlog::log::{CHECKPOINT_KEY, Log};
use masque_tlog::note::Note;
use masque_tlog::storage::{Storage, StorageError};
use masque_tlog::tree;

pub const ORIGIN: &str = "log.masque.example/test";

pub fn log_key() -> SecretKey {
    SecretKey::from_seed(KeyName::new(ORIGIN).unwrap(), &[42; 32])
}

/// How the `n`-th write (counting from 0) misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Nothing is written from this write on, every call fails (a crash): the test then
    /// drops the log and reopens it.
    Crash,
    /// This write fails and does not persist.
    FailLost,
    /// This write persists but reports failure.
    FailPersisted,
}

/// Wraps a storage, counting writes, injecting one fault, and recording every checkpoint
/// that was ever persisted (published).
pub struct Faulty<S> {
    pub inner: S,
    state: Mutex<FaultState>,
}

struct FaultState {
    writes: usize,
    fault_at: Option<(usize, Fault)>,
    crashed: bool,
    published: Vec<Vec<u8>>,
}

impl<S: Storage> Faulty<S> {
    pub fn new(inner: S) -> Faulty<S> {
        Faulty {
            inner,
            state: Mutex::new(FaultState {
                writes: 0,
                fault_at: None,
                crashed: false,
                published: Vec::new(),
            }),
        }
    }
    pub fn arm(&self, at: usize, fault: Fault) {
        let mut s = self.state.lock().unwrap();
        s.fault_at = Some((at, fault));
    }
    pub fn disarm(&self) {
        let mut s = self.state.lock().unwrap();
        s.fault_at = None;
        s.crashed = false;
    }
    pub fn writes(&self) -> usize {
        self.state.lock().unwrap().writes
    }
    pub fn published(&self) -> Vec<Vec<u8>> {
        self.state.lock().unwrap().published.clone()
    }
}

impl<S: Storage> Storage for Faulty<S> {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        if self.state.lock().unwrap().crashed {
            return Err(StorageError::Unavailable("crashed".into()));
        }
        self.inner.read(key)
    }
    fn write(&self, key: &str, value: &[u8]) -> Result<(), StorageError> {
        let mut s = self.state.lock().unwrap();
        if s.crashed {
            return Err(StorageError::Unavailable("crashed".into()));
        }
        let n = s.writes;
        s.writes += 1;
        let fault = s.fault_at.filter(|(at, _)| *at == n).map(|(_, f)| f);
        let persist = !matches!(fault, Some(Fault::Crash) | Some(Fault::FailLost));
        if persist {
            self.inner.write(key, value)?;
            if key == CHECKPOINT_KEY {
                s.published.push(value.to_vec());
            }
        }
        match fault {
            None => Ok(()),
            Some(Fault::Crash) => {
                s.crashed = true;
                Err(StorageError::Unavailable("crash injected".into()))
            }
            Some(_) => Err(StorageError::Unavailable("write failure injected".into())),
        }
    }
}

/// Checks that every published checkpoint is consistent with the log's current tree,
/// and that no two published checkpoints have the same size and different roots.
pub fn assert_consistent_with_all<S: Storage>(log: &mut Log<S>, published: &[Vec<u8>]) {
    let current =
        Checkpoint::parse(Note::parse(&log.checkpoint().unwrap()).unwrap().text()).unwrap();
    let mut by_size = std::collections::BTreeMap::new();
    for bytes in published {
        let c = Checkpoint::parse(Note::parse(bytes).unwrap().text()).unwrap();
        if let Some(prev) = by_size.insert(c.size(), *c.root()) {
            assert_eq!(prev, *c.root(), "two roots published for size {}", c.size());
        }
        assert!(
            c.size() <= current.size(),
            "published size {} beyond current {}",
            c.size(),
            current.size()
        );
        let proof = log.consistency_proof(c.size(), current.size()).unwrap();
        tree::verify_consistency(c.size(), current.size(), &proof, c.root(), current.root())
            .unwrap_or_else(|e| {
                panic!(
                    "checkpoint {} inconsistent with {}: {e}",
                    c.size(),
                    current.size()
                )
            });
    }
}
