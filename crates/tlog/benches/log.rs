//! Criterion benchmarks of the transparency log: leaf hashing, inclusion-proof building
//! from tiles and verification, and a durable batched append of 4096 256-byte entries.
//! `masque bench log` reports the end-to-end figures recorded in docs/BENCHMARKS.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use masque_tlog::hash::leaf_hash;
use masque_tlog::keys::{KeyName, SecretKey};
use masque_tlog::log::Log;
use masque_tlog::reader::TreeReader;
use masque_tlog::storage::{FsStorage, MemStorage};
use masque_tlog::tree;

const ORIGIN: &str = "bench.masque.example/log";

fn key() -> SecretKey {
    SecretKey::from_seed(KeyName::new(ORIGIN).unwrap(), &[1; 32])
}

fn benches(c: &mut Criterion) {
    let entry = vec![7u8; 256];
    c.bench_function("leaf_hash_256B", |b| {
        b.iter(|| leaf_hash(std::hint::black_box(&entry)))
    });

    let size = 100_000u64;
    let mut log = Log::create(MemStorage::new(), ORIGIN, key()).unwrap();
    let entries: Vec<Vec<u8>> = (0..size).map(|i| i.to_be_bytes().repeat(32)).collect();
    log.append_batch(&entries).unwrap();
    let root = *masque_tlog::checkpoint::Checkpoint::parse(
        masque_tlog::note::Note::parse(&log.checkpoint().unwrap())
            .unwrap()
            .text(),
    )
    .unwrap()
    .root();
    let mut i = 0u64;
    c.bench_function("inclusion_proof_build_100k", |b| {
        b.iter(|| {
            i = (i + 7919) % size;
            TreeReader::new(log.storage(), size)
                .inclusion_proof(i)
                .unwrap()
        })
    });
    let index = 54_321u64;
    let proof = TreeReader::new(log.storage(), size)
        .inclusion_proof(index)
        .unwrap();
    let leaf = leaf_hash(&entries[index as usize]);
    c.bench_function("inclusion_proof_verify_100k", |b| {
        b.iter(|| tree::verify_inclusion(&leaf, index, size, &proof, &root).unwrap())
    });

    let dir = tempfile::tempdir().unwrap();
    let mut fs_log = Log::create(FsStorage::new(dir.path()).unwrap(), ORIGIN, key()).unwrap();
    let batch: Vec<Vec<u8>> = (0..4096u32).map(|i| i.to_be_bytes().repeat(64)).collect();
    let mut group = c.benchmark_group("durable_append");
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.sample_size(20);
    group.bench_function("batch_4096x256B_fs", |b| {
        b.iter(|| fs_log.append_batch(&batch).unwrap())
    });
    group.finish();
}

criterion_group!(log_benches, benches);
criterion_main!(log_benches);
