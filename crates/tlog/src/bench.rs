//! Measurements behind `masque bench log` and the criterion bench: durable batched
//! appends on the filesystem, inclusion-proof builds from tiles, proof verifications, and
//! bytes on disk per entry. Timing only; nothing here is asserted by tests.

use std::path::Path;
use std::time::Instant;

use crate::hash::leaf_hash;
use crate::keys::{KeyName, SecretKey};
use crate::log::{Log, LogError};
use crate::reader::TreeReader;
use crate::storage::FsStorage;
use crate::tree;

/// Results of one benchmark run.
#[derive(Debug, Clone, PartialEq)]
pub struct LogBenchReport {
    /// Entries appended.
    pub entries: u64,
    /// Entries per batch.
    pub batch: usize,
    /// Bytes per entry.
    pub entry_size: usize,
    /// Durable appends per second (tiles, bundles and checkpoint fsynced per batch).
    pub appends_per_sec: f64,
    /// Inclusion proofs built per second (fresh tile reads from disk for each proof).
    pub proof_builds_per_sec: f64,
    /// Inclusion proofs verified per second.
    pub verifications_per_sec: f64,
    /// Bytes of all files in the log directory divided by the entries.
    pub bytes_per_entry: f64,
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                total += e.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    total
}

/// Appends `entries` entries of `entry_size` bytes in batches of `batch` to a new log in
/// `dir` (which must be empty), then builds and verifies `proofs` inclusion proofs.
pub fn run_log_bench(
    dir: &Path,
    entries: u64,
    batch: usize,
    entry_size: usize,
    proofs: u64,
) -> Result<LogBenchReport, LogError> {
    let origin = "bench.masque.example/log";
    let key = SecretKey::generate(KeyName::new(origin).expect("valid name"));
    let mut log = Log::create(FsStorage::new(dir)?, origin, key)?;
    let mut entry = vec![0u8; entry_size];
    let mut done = 0u64;
    let start = Instant::now();
    while done < entries {
        let n = (entries - done).min(batch as u64);
        let batch_entries: Vec<Vec<u8>> = (done..done + n)
            .map(|i| {
                entry[..8.min(entry_size)].copy_from_slice(&i.to_be_bytes()[..8.min(entry_size)]);
                entry.clone()
            })
            .collect();
        log.append_batch(&batch_entries)?;
        done += n;
    }
    let append_secs = start.elapsed().as_secs_f64();
    let size = log.size()?;
    let root = *crate::checkpoint::Checkpoint::parse(
        crate::note::Note::parse(&log.checkpoint()?)
            .map_err(crate::checkpoint::CheckpointError::from)?
            .text(),
    )?
    .root();

    let indices: Vec<u64> = (0..proofs)
        .map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15)) % size)
        .collect();
    let start = Instant::now();
    let mut built = Vec::with_capacity(indices.len());
    for &i in &indices {
        built.push(TreeReader::new(log.storage(), size).inclusion_proof(i)?);
    }
    let build_secs = start.elapsed().as_secs_f64();
    let leaves: Vec<_> = indices
        .iter()
        .map(|&i| {
            let mut e = vec![0u8; entry_size];
            e[..8.min(entry_size)].copy_from_slice(&i.to_be_bytes()[..8.min(entry_size)]);
            leaf_hash(&e)
        })
        .collect();
    let start = Instant::now();
    let mut ok = 0u64;
    for ((&i, proof), leaf) in indices.iter().zip(&built).zip(&leaves) {
        ok += u64::from(tree::verify_inclusion(leaf, i, size, proof, &root).is_ok());
    }
    let verify_secs = start.elapsed().as_secs_f64();
    assert_eq!(ok, proofs, "every benchmark proof must verify");
    Ok(LogBenchReport {
        entries,
        batch,
        entry_size,
        appends_per_sec: entries as f64 / append_secs,
        proof_builds_per_sec: proofs as f64 / build_secs,
        verifications_per_sec: proofs as f64 / verify_secs,
        bytes_per_entry: dir_bytes(dir) as f64 / entries as f64,
    })
}
