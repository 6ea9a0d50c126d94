//! Criterion bench of one whole 1:N query (three parties on threads, in-process
//! transport, every protocol step); `masque bench mpc` (`masque_mpc::bench`) measures
//! larger galleries and reports per-party-core figures. The dot-product kernels alone
//! are in `benches/matmul.rs`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use masque_mpc::PartyId;
use masque_mpc::dealer::{QueryShare, enrolment_shares_seeded, query_shares_seeded};
use masque_mpc::engine::PartyEngine;
use masque_mpc::gallery::RecordId;
use masque_mpc::net::local::LocalNetwork;
use masque_mpc::randomness::{PartySeeds, SessionId};
use masque_template::iris::ROTATION_COUNT;
use masque_template::matcher::EyeMode;
use masque_template::{FixedPointRule, IrisCode, Threshold};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::time::Duration;

const EYES: usize = 512;
/// About two thirds of each random code valid (the work does not depend on it).
const MASK_DENSITY: f64 = 2.0 / 3.0;

fn query(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let seeds = PartySeeds::deal_seeded(&mut rng);
    let rule = FixedPointRule::new(Threshold::DEFAULT);
    let mut engines = PartyId::ALL
        .map(|p| PartyEngine::new(p, seeds[p.index()].clone(), EyeMode::SingleEye, rule));
    for k in 0..EYES {
        let shares = enrolment_shares_seeded(&IrisCode::random(&mut rng, MASK_DENSITY), &mut rng);
        for (engine, share) in engines.iter_mut().zip(shares) {
            engine
                .insert(RecordId(k as u64), &[share])
                .expect("fresh id");
        }
    }
    let probe: [Vec<Vec<QueryShare>>; 3] =
        query_shares_seeded(&IrisCode::random(&mut rng, MASK_DENSITY), &mut rng)
            .map(|s| vec![vec![s]]);
    let mut session = 0;
    let mut group = c.benchmark_group("mpc");
    group.sample_size(10);
    group.throughput(Throughput::Elements((EYES * ROTATION_COUNT) as u64));
    group.bench_function("1:N query, 512 eyes, three parties", |b| {
        b.iter(|| {
            session += 1;
            let nets = LocalNetwork::connect(Duration::from_secs(60));
            std::thread::scope(|scope| {
                for ((engine, mut net), probe) in engines.iter().zip(nets).zip(&probe) {
                    scope.spawn(move || {
                        engine
                            .search(&mut net, SessionId(session), probe)
                            .expect("in-process query")
                    });
                }
            });
        })
    });
    group.finish();
}

criterion_group!(benches, query);
criterion_main!(benches);
