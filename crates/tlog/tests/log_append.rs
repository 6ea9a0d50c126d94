//! The log writer end to end: batched appends, proofs that verify against the signed
//! checkpoint, entries read back, reopening, and refusal of oversized entries.

use crate::common;

use common::{ORIGIN, log_key};
use masque_tlog::checkpoint;
use masque_tlog::hash::leaf_hash;
use masque_tlog::log::{Log, LogError};
use masque_tlog::storage::{FsStorage, MemStorage};
use masque_tlog::tiles::MAX_ENTRY_SIZE;
use masque_tlog::{reference, tree};

fn entry(i: u64) -> Vec<u8> {
    format!("entry {i} ")
        .repeat((i % 7 + 1) as usize)
        .into_bytes()
}

#[test]
fn batches_commit_with_proofs_against_the_signed_checkpoint() {
    let mut log = Log::create(MemStorage::new(), ORIGIN, log_key()).unwrap();
    let verifier = log.verifier().clone();
    let mut all = Vec::new();
    let mut next = 0u64;
    for batch_size in [1u64, 2, 253, 1, 256, 512, 3, 70, 1000] {
        let batch: Vec<Vec<u8>> = (next..next + batch_size).map(entry).collect();
        let receipt = log.append_batch(&batch).unwrap();
        assert_eq!(receipt.first_index, next);
        all.extend(batch);
        next += batch_size;
        let signed = checkpoint::open(&receipt.checkpoint, ORIGIN, &[&verifier]).unwrap();
        assert_eq!(signed.checkpoint.size(), next);
        let leaves: Vec<_> = all.iter().map(|e| leaf_hash(e)).collect();
        assert_eq!(*signed.checkpoint.root(), reference::root(&leaves));
        for index in [receipt.first_index, next - 1, next / 2] {
            let proof = log.inclusion_proof(index, next).unwrap();
            tree::verify_inclusion(
                &leaves[index as usize],
                index,
                next,
                &proof,
                signed.checkpoint.root(),
            )
            .unwrap();
            assert_eq!(log.entry(index).unwrap(), all[index as usize]);
        }
    }
    assert!(matches!(
        log.inclusion_proof(0, next + 1),
        Err(LogError::BeyondCheckpoint { .. })
    ));
}

#[test]
fn oversized_entries_are_refused_and_nothing_is_written() {
    let mut log = Log::create(MemStorage::new(), ORIGIN, log_key()).unwrap();
    let ok = vec![0u8; MAX_ENTRY_SIZE];
    let too_big = vec![0u8; MAX_ENTRY_SIZE + 1];
    let err = log.append_batch(&[ok.clone(), too_big]).unwrap_err();
    assert!(
        matches!(err, LogError::EntryTooLarge { position: 1, len } if len == MAX_ENTRY_SIZE + 1)
    );
    assert!(err.to_string().contains("at most 65535 bytes"));
    assert_eq!(log.size().unwrap(), 0);
    log.append_batch(&[ok]).unwrap();
    assert_eq!(log.entry(0).unwrap().len(), MAX_ENTRY_SIZE);
}

#[test]
fn filesystem_log_reopens_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut log = Log::create(FsStorage::new(dir.path()).unwrap(), ORIGIN, log_key()).unwrap();
        log.append_batch(&(0..300).map(entry).collect::<Vec<_>>())
            .unwrap();
    }
    assert!(matches!(
        Log::create(FsStorage::new(dir.path()).unwrap(), ORIGIN, log_key()),
        Err(LogError::AlreadyExists)
    ));
    let mut log = Log::open(FsStorage::new(dir.path()).unwrap(), ORIGIN, log_key()).unwrap();
    assert_eq!(log.size().unwrap(), 300);
    let receipt = log
        .append_batch(&(300..301).map(entry).collect::<Vec<_>>())
        .unwrap();
    assert_eq!(receipt.first_index, 300);
    assert_eq!(log.entry(299).unwrap(), entry(299));
    assert!(dir.path().join("tile/0/001.p/45").exists());
    assert!(dir.path().join("tile/entries/000").exists());
    assert!(dir.path().join("tile/1/000.p/1").exists());
    // A different key or origin cannot open it.
    let other = masque_tlog::keys::SecretKey::from_seed(
        masque_tlog::keys::KeyName::new(ORIGIN).unwrap(),
        &[1; 32],
    );
    assert!(matches!(
        Log::open(FsStorage::new(dir.path()).unwrap(), ORIGIN, other),
        Err(LogError::Checkpoint(_))
    ));
    assert!(
        Log::open(
            FsStorage::new(dir.path()).unwrap(),
            "other.example/log",
            log_key()
        )
        .is_err()
    );
}

#[test]
fn tampered_edge_tile_is_detected_on_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut log = Log::create(FsStorage::new(dir.path()).unwrap(), ORIGIN, log_key()).unwrap();
        log.append_batch(&(0..5).map(entry).collect::<Vec<_>>())
            .unwrap();
    }
    let tile = dir.path().join("tile/0/000.p/5");
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&tile, bytes).unwrap();
    assert!(matches!(
        Log::open(FsStorage::new(dir.path()).unwrap(), ORIGIN, log_key()),
        Err(LogError::Inconsistent { .. })
    ));
    std::fs::remove_file(&tile).unwrap();
    assert!(matches!(
        Log::open(FsStorage::new(dir.path()).unwrap(), ORIGIN, log_key()),
        Err(LogError::Read(_))
    ));
}
