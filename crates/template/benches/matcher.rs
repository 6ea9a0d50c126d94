//! Criterion benches of the matcher kernels and a 1:N search.
//!
//! `cargo bench -p masque-template --bench matcher`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use masque_template::iris::ROTATION_COUNT;
use masque_template::matcher::layout::PackedRotations;
use masque_template::matcher::{EyeMode, IrisGallery, IrisQuery, Kernel, Matcher, RecordId};
use masque_template::synth::IrisPopulation;
use masque_template::synth::iris::IrisModel;
use masque_template::{Eye, HammingCounts};

fn gallery(eyes: usize) -> (IrisGallery, masque_template::IrisCode) {
    // A small realistic population, enrolled repeatedly: content does not change the work.
    let pop = IrisPopulation::generate(&IrisModel::default(), 1, 64, 1, &|| ());
    let mut g = IrisGallery::new(EyeMode::SingleEye);
    for i in 0..eyes {
        let pair = &pop.persons[i % 64].captures[0];
        g.insert_eye(RecordId(i as u64), pair.eye(Eye::Left))
            .unwrap();
    }
    (g, pop.persons[0].captures[0].right.clone())
}

fn kernels(c: &mut Criterion) {
    let eyes = 4_096;
    let (g, query) = gallery(eyes);
    let rotations = PackedRotations::new(&query);
    let mut out = vec![HammingCounts::default(); eyes * ROTATION_COUNT];
    let mut group = c.benchmark_group("kernel");
    group.throughput(Throughput::Elements((eyes * ROTATION_COUNT) as u64));
    for kernel in Kernel::available() {
        group.bench_function(kernel.name(), |b| {
            b.iter(|| kernel.count(&rotations, g.planes(Eye::Left), 0..eyes, &mut out))
        });
    }
    group.finish();
}

fn search(c: &mut Criterion) {
    let eyes = 100_000;
    let (g, query) = gallery(eyes);
    let query = IrisQuery::single(&query);
    let matcher = Matcher::default();
    let mut group = c.benchmark_group("search");
    group.throughput(Throughput::Elements((eyes * ROTATION_COUNT) as u64));
    group.sample_size(10);
    group.bench_function("1:N 100k eyes", |b| {
        b.iter(|| matcher.search(&g, &query).unwrap())
    });
    group.finish();
}

criterion_group!(benches, kernels, search);
criterion_main!(benches);
