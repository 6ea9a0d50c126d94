//! Multiply-adds per second of each matrix-product kernel on the engine's shape:
//! M = 31 and 124 query rows against N = 4096 gallery rows of K = 19,200 values, code and
//! mask columns as two segments. Criterion's "elements" are multiply-adds (M × N × K).
//!
//! After criterion's wall-clock figures, the same shapes are measured once more with
//! `matmul::measure` (multiply-adds per CPU-second of the thread, robust on a shared box).
//!
//! `cargo bench -p masque-mpc --bench matmul`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use masque_mpc::matmul::{
    Kernel, MEASURE_SEGMENT_ENDS as SEGMENTS, MEASURE_WIDTH as WIDTH, PackedRows, QueryRows,
    measure, products,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use std::time::Duration;

const ROWS: usize = 4096;

fn random_row(rng: &mut ChaCha8Rng) -> Vec<u16> {
    (0..WIDTH).map(|_| rng.random()).collect()
}

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut gallery = PackedRows::new(WIDTH).expect("valid width");
    gallery.reserve(ROWS);
    for _ in 0..ROWS {
        gallery
            .push(&random_row(&mut rng))
            .expect("row of the gallery width");
    }
    let mut group = c.benchmark_group("matmul");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for m in [31usize, 124] {
        let rows: Vec<Vec<u16>> = (0..m).map(|_| random_row(&mut rng)).collect();
        let refs: Vec<&[u16]> = rows.iter().map(Vec::as_slice).collect();
        let queries = QueryRows::new(WIDTH, &refs).expect("valid queries");
        let mut out = vec![0u16; SEGMENTS.len() * m * ROWS];
        group.throughput(Throughput::Elements((m * ROWS * WIDTH) as u64));
        for kernel in Kernel::available() {
            group.bench_function(format!("{}/m{m}", kernel.name()), |b| {
                b.iter(|| {
                    products(kernel, &queries, &gallery, 0..ROWS, &SEGMENTS, &mut out)
                        .expect("valid request");
                    black_box(&out);
                })
            });
        }
    }
    group.finish();
    drop(gallery);
    for m in [31usize, 124] {
        for kernel in Kernel::available() {
            let rate = measure(kernel, m, ROWS).expect("available kernel");
            println!(
                "cpu-time {:>8} m {m:>3} n {ROWS}: {:6.1} G multiply-adds/s",
                kernel.name(),
                rate / 1e9
            );
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
