//! Criterion bench of the local dot kernel (one comparison at one party); the whole
//! protocol is measured by `masque bench mpc` (`masque_mpc::bench`).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use masque_mpc::Z16;
use masque_mpc::kernel::comparison_shares;
use std::hint::black_box;

fn kernel(c: &mut Criterion) {
    let n = 2 * masque_mpc::encode::ELEMENTS;
    let q: Vec<Z16> = (0..n).map(|k| Z16(k as u16 * 31)).collect();
    let g: Vec<Z16> = (0..n).map(|k| Z16(k as u16 * 17 + 3)).collect();
    let mut group = c.benchmark_group("mpc");
    group.throughput(Throughput::Elements(1));
    group.bench_function("comparison_shares (one comparison, one party)", |b| {
        b.iter(|| comparison_shares(black_box(&q), black_box(&g)))
    });
    group.finish();
}

criterion_group!(benches, kernel);
criterion_main!(benches);
