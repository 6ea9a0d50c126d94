//! "Never two roots for one size": a scenario of batches is run again and again, each time
//! with one fault injected at a different storage write (every step of every batch):
//! a crash (the log is dropped and reopened, as after a kill), a write that fails and is
//! lost, and a write that fails yet persists. Afterwards every checkpoint that was ever
//! persisted must be consistent with the final tree, no size may have two roots, and
//! every acknowledged entry must be at its acknowledged index. A second test kills a real
//! child process (abort) between every pair of filesystem writes and resumes.

use crate::common;

use std::sync::Arc;

use common::{Fault, Faulty, ORIGIN, assert_consistent_with_all, log_key};
use masque_tlog::log::{CHECKPOINT_KEY, Log};
use masque_tlog::storage::{FsStorage, MemStorage, Storage, StorageError};

const BATCHES: [u64; 6] = [1, 254, 2, 300, 1, 260];

fn batch(n: usize, len: u64) -> Vec<Vec<u8>> {
    (0..len)
        .map(|i| format!("batch {n} entry {i}").into_bytes())
        .collect()
}

/// Runs the scenario with `fault` armed at write `at`; returns the number of writes done.
fn run_with_fault(at: usize, fault: Fault) -> usize {
    let storage = Arc::new(Faulty::new(MemStorage::new()));
    let mut log = Log::create(storage.clone(), ORIGIN, log_key()).unwrap();
    storage.arm(at, fault);
    let mut acknowledged = Vec::new();
    for (n, &len) in BATCHES.iter().enumerate() {
        let entries = batch(n, len);
        let receipt = match log.append_batch(&entries) {
            Ok(r) => r,
            Err(_) => {
                if fault == Fault::Crash {
                    drop(log);
                    storage.disarm();
                    log =
                        Log::open(storage.clone(), ORIGIN, log_key()).expect("reopen after crash");
                } else {
                    storage.disarm();
                }
                // The client retries the batch.
                log.append_batch(&entries).expect("retry after fault")
            }
        };
        acknowledged.push((receipt.first_index, entries));
    }
    assert_consistent_with_all(&mut log, &storage.published());
    for (first, entries) in acknowledged {
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(&log.entry(first + i as u64).unwrap(), e);
        }
    }
    storage.writes()
}

#[test]
fn every_fault_at_every_write_keeps_the_log_consistent() {
    let total = run_with_fault(usize::MAX, Fault::Crash);
    assert!(total > 20, "scenario too small: {total} writes");
    for at in 0..total {
        for fault in [Fault::Crash, Fault::FailLost, Fault::FailPersisted] {
            run_with_fault(at, fault);
        }
    }
}

#[test]
fn failed_yet_persisted_checkpoint_is_republished_not_replaced() {
    // Find the checkpoint write of the first batch, make it fail yet persist, then append
    // a *different* batch: the log must build on the persisted checkpoint.
    let storage = Arc::new(Faulty::new(MemStorage::new()));
    let mut log = Log::create(storage.clone(), ORIGIN, log_key()).unwrap();
    let before = storage.writes();
    // 1 entry: partial bundle, partial tile, checkpoint = 3 writes.
    storage.arm(before + 2, Fault::FailPersisted);
    assert!(log.append_batch(&[b"a".to_vec()]).is_err());
    storage.disarm();
    let receipt = log.append_batch(&[b"b".to_vec()]).unwrap();
    assert_eq!(receipt.first_index, 1, "the persisted entry keeps index 0");
    assert_eq!(log.entry(0).unwrap(), b"a");
    assert_consistent_with_all(&mut log, &storage.published());

    // Same, but the write is lost and the log keeps running: the signed checkpoint is
    // re-published on recovery, so size 1 keeps its root even though it never landed.
    let storage = Arc::new(Faulty::new(MemStorage::new()));
    let mut log = Log::create(storage.clone(), ORIGIN, log_key()).unwrap();
    let before = storage.writes();
    storage.arm(before + 2, Fault::FailLost);
    assert!(log.append_batch(&[b"a".to_vec()]).is_err());
    storage.disarm();
    log.append_batch(&[b"b".to_vec()]).unwrap();
    assert_eq!(log.entry(0).unwrap(), b"a");
}

/// Storage that aborts the process when it reaches a given write.
struct AbortAt {
    inner: FsStorage,
    at: usize,
    count: std::sync::atomic::AtomicUsize,
}

impl Storage for AbortAt {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.read(key)
    }
    fn write(&self, key: &str, value: &[u8]) -> Result<(), StorageError> {
        if self.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == self.at {
            std::process::abort();
        }
        self.inner.write(key, value)
    }
}

const CHILD_ENV: &str = "MASQUE_TLOG_CRASH_CHILD";

/// Not a test on its own: the body of the child process of `killed_process_resumes`.
#[test]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (at, dir) = spec.split_once(':').unwrap();
    let storage = AbortAt {
        inner: FsStorage::new(dir).unwrap(),
        at: at.parse().unwrap(),
        count: 0.into(),
    };
    let mut log = match Log::open(storage, ORIGIN, log_key()) {
        Ok(log) => log,
        Err(_) => return,
    };
    for (n, &len) in BATCHES.iter().enumerate() {
        log.append_batch(&batch(n, len)).unwrap();
    }
}

#[test]
fn killed_process_resumes_consistently() {
    let exe = std::env::current_exe().unwrap();
    let mut killed = 0;
    for at in 0..32 {
        let dir = tempfile::tempdir().unwrap();
        let fs = FsStorage::new(dir.path()).unwrap();
        drop(Log::create(fs, ORIGIN, log_key()).unwrap());
        let status = std::process::Command::new(&exe)
            .args([
                "--exact",
                "crash_safety::crash_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, format!("{at}:{}", dir.path().display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        killed += usize::from(!status.success());
        let published = FsStorage::new(dir.path())
            .unwrap()
            .read(CHECKPOINT_KEY)
            .unwrap()
            .unwrap();
        let fs = FsStorage::new(dir.path()).unwrap();
        fs.remove_temp_files().unwrap();
        let mut log = Log::open(fs, ORIGIN, log_key())
            .unwrap_or_else(|e| panic!("reopen after kill at {at} ({status}): {e}"));
        let size = log.size().unwrap();
        log.append_batch(&[b"after the crash".to_vec()]).unwrap();
        assert_consistent_with_all(&mut log, &[published]);
        assert_eq!(log.entry(size).unwrap(), b"after the crash");
    }
    assert!(killed >= 20, "the child was killed only {killed} times");
}
