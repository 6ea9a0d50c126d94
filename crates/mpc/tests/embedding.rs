//! The embedding mode against the template crate's fixed-point cosine rule.

use crate::common;

use common::on_three;
use masque_mpc::PartyId;
use masque_mpc::embedding::{EmbeddingEngine, share_embedding_seeded};
use masque_mpc::gallery::RecordId;
use masque_mpc::randomness::{PartySeeds, SessionId};
use masque_mpc::{ShareVec, Z32};
use masque_template::{CosineRule, Embedding, QuantizedEmbedding};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::time::Duration;

const DIMS: usize = 128;

fn run<T: Send>(
    engines: &[EmbeddingEngine; 3],
    session: u64,
    f: impl Fn(PartyId, &EmbeddingEngine, &mut dyn masque_mpc::net::Transport, SessionId) -> T + Sync,
) -> Vec<T> {
    on_three(engines, SessionId(session), Duration::from_secs(30), f)
}

fn unit(rng: &mut ChaCha20Rng) -> Vec<f32> {
    (0..DIMS).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

#[test]
fn cosine_threshold_agrees_with_the_fixed_point_rule_near_and_far() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let t = 0.6;
    let rule = CosineRule::new(t).unwrap();
    let seeds = PartySeeds::deal_seeded(&mut rng);
    let mut engines = seeds.map(|s| EmbeddingEngine::new(s, DIMS, rule));
    let stored: Vec<QuantizedEmbedding> = (0..20)
        .map(|_| Embedding::new(unit(&mut rng)).unwrap().quantize())
        .collect();
    for (k, e) in stored.iter().enumerate() {
        for (engine, share) in engines.iter_mut().zip(share_embedding_seeded(e, &mut rng)) {
            engine.insert(RecordId(k as u64), &share).unwrap();
        }
    }
    // Probes: noisy copies of stored vectors with noise tuned to land near the
    // threshold, plus unrelated vectors.
    let mut probes = Vec::new();
    for k in 0..60 {
        let base = &stored[k % 20];
        let noise = rng.random_range(0.5f32..2.0);
        let v: Vec<f32> = base
            .values()
            .iter()
            .map(|&x| f32::from(x) / 16_384.0 + noise * rng.random_range(-0.1f32..0.1))
            .collect();
        probes.push(Embedding::new(v).unwrap().quantize());
    }
    probes.extend((0..10).map(|_| Embedding::new(unit(&mut rng)).unwrap().quantize()));
    let want_1n: Vec<bool> = probes
        .iter()
        .map(|p| stored.iter().any(|s| rule.is_match(p.dot(s).unwrap())))
        .collect();
    assert!(want_1n.iter().any(|&m| m) && want_1n.iter().any(|&m| !m));
    let mut shared: [Vec<ShareVec<Z32>>; 3] = Default::default();
    for p in &probes {
        for (i, s) in share_embedding_seeded(p, &mut rng).into_iter().enumerate() {
            shared[i].push(s);
        }
    }
    let got = run(&engines, 1, |p, e, net, sid| {
        e.search(net, sid, &shared[p.index()]).unwrap()
    });
    assert!(got.iter().all(|g| *g == want_1n));
    // 1:1 of every probe against its base record.
    for (k, probe) in probes.iter().enumerate().take(60) {
        let want = rule.is_match(probe.dot(&stored[k % 20]).unwrap());
        let got = run(&engines, 100 + k as u64, |p, e, net, sid| {
            e.verify(net, sid, RecordId((k % 20) as u64), &shared[p.index()][k])
                .unwrap()
        });
        assert!(got.iter().all(|&g| g == want), "probe {k}");
    }
    // Deletion drops the record; deleting twice is a no-op.
    for e in &mut engines {
        assert!(e.remove(RecordId(0)));
    }
    assert_eq!(engines[0].len(), 19);
    assert!(!engines[1].remove(RecordId(0)));
}

/// Makes probes for the stored unit vectors.
type ProbeMaker<'a> = &'a dyn Fn(&[Vec<f32>], &mut ChaCha20Rng) -> Vec<QuantizedEmbedding>;

/// A unit vector at cosine `c` from the unit vector `base`.
fn at_cosine(base: &[f32], c: f32, rng: &mut ChaCha20Rng) -> Vec<f32> {
    let raw = unit(rng);
    let along: f32 = raw.iter().zip(base).map(|(a, b)| a * b).sum();
    let mut orth: Vec<f32> = raw.iter().zip(base).map(|(a, b)| a - along * b).collect();
    let norm = orth.iter().map(|x| x * x).sum::<f32>().sqrt();
    orth.iter_mut().for_each(|x| *x /= norm);
    let s = (1.0 - c * c).sqrt();
    base.iter().zip(&orth).map(|(b, o)| c * b + s * o).collect()
}

/// 1:N parity at scale: 100 probes × 100 records = 10,000 random pairs, then 2,000
/// probes each within 0.005 of the threshold (in the fixed-point cosine the rule
/// decides on) against one of 20 records and far from the rest.
#[test]
fn parity_on_ten_thousand_random_and_two_thousand_near_threshold_pairs() {
    let mut rng = ChaCha20Rng::seed_from_u64(21);
    let t = 0.6;
    let rule = CosineRule::new(t).unwrap();
    let seeds = PartySeeds::deal_seeded(&mut rng);
    let check = |records: usize, probes_of: ProbeMaker<'_>, rng: &mut ChaCha20Rng, session: u64| {
        let mut engines = seeds.clone().map(|s| EmbeddingEngine::new(s, DIMS, rule));
        let bases: Vec<Vec<f32>> = (0..records)
            .map(|_| Embedding::new(unit(rng)).unwrap().values().to_vec())
            .collect();
        let stored: Vec<QuantizedEmbedding> = bases
            .iter()
            .map(|b| Embedding::new(b.clone()).unwrap().quantize())
            .collect();
        for (k, e) in stored.iter().enumerate() {
            for (engine, share) in engines.iter_mut().zip(share_embedding_seeded(e, rng)) {
                engine.insert(RecordId(k as u64), &share).unwrap();
            }
        }
        let probes = probes_of(&bases, rng);
        let want: Vec<bool> = probes
            .iter()
            .map(|p| stored.iter().any(|s| rule.is_match(p.dot(s).unwrap())))
            .collect();
        let mut shared: [Vec<ShareVec<Z32>>; 3] = Default::default();
        for p in &probes {
            for (i, s) in share_embedding_seeded(p, rng).into_iter().enumerate() {
                shared[i].push(s);
            }
        }
        let got = run(&engines, session, |p, e, net, sid| {
            e.search(net, sid, &shared[p.index()]).unwrap()
        });
        assert!(
            got.iter().all(|g| *g == want),
            "disagreement with the plaintext rule"
        );
        want.iter().filter(|&&m| m).count()
    };
    // Random: each probe at a random cosine in [0.4, 0.8] from one record.
    let matched = check(
        100,
        &|bases, rng| {
            (0..100)
                .map(|i| {
                    let c = rng.random_range(0.4f32..0.8);
                    Embedding::new(at_cosine(&bases[i], c, rng))
                        .unwrap()
                        .quantize()
                })
                .collect()
        },
        &mut rng,
        1_000,
    );
    assert!(matched > 20 && matched < 80, "{matched}");
    // Near: |cos − t| < 0.005 in the fixed-point dot product itself.
    let matched = check(
        20,
        &|bases, rng| {
            let stored: Vec<QuantizedEmbedding> = bases
                .iter()
                .map(|b| Embedding::new(b.clone()).unwrap().quantize())
                .collect();
            (0..2_000)
                .map(|i| {
                    loop {
                        let c = t as f32 + rng.random_range(-0.005f32..0.005);
                        let p = Embedding::new(at_cosine(&bases[i % 20], c, rng))
                            .unwrap()
                            .quantize();
                        let cos =
                            f64::from(p.dot(&stored[i % 20]).unwrap()) / f64::from(1u32 << 28);
                        if (cos - t).abs() < 0.005 {
                            break p;
                        }
                    }
                })
                .collect()
        },
        &mut rng,
        2_000,
    );
    assert!(matched > 400 && matched < 1_600, "{matched}");
}
