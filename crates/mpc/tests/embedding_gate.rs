//! The embedding norm gate on shares against its plaintext twin (`norm_gate_passes`):
//! quantised unit vectors pass; a zero vector, scaled vectors and components beyond
//! ±2^14 (which would wrap the engine's arithmetic) are refused; random hostile vectors
//! agree with the twin.

use crate::common;

use common::on_three;
use masque_mpc::embedding::EmbeddingEngine;
use masque_mpc::randomness::{PartySeeds, SessionId};
use masque_mpc::share::share_vec_seeded;
use masque_mpc::{PartyId, ShareVec, Z32};
use masque_template::embedding::norm_gate_passes;
use masque_template::{CosineRule, Embedding};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const DIMS: usize = 64;
static SESSIONS: AtomicU64 = AtomicU64::new(1);

/// The gate on shares for each vector (components as signed integers), checking that the
/// three parties agree.
fn gate_on_shares(vectors: &[Vec<i64>]) -> Vec<bool> {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let seeds = PartySeeds::deal_seeded(&mut rng);
    let rule = CosineRule::new(0.5).unwrap();
    let engines = seeds.map(|s| EmbeddingEngine::new(s, DIMS, rule));
    let mut shares: [Vec<ShareVec<Z32>>; 3] = Default::default();
    for v in vectors {
        let values: Vec<Z32> = v.iter().map(|&x| Z32::from_i64(x)).collect();
        let dealt = share_vec_seeded(&values, &mut rng);
        for p in PartyId::ALL {
            shares[p.index()].push(dealt.for_party(p));
        }
    }
    let sid = SessionId(SESSIONS.fetch_add(1, Ordering::Relaxed));
    let got = on_three(&engines, sid, Duration::from_secs(60), |p, e, net, sid| {
        e.gate(net, sid, &shares[p.index()]).unwrap()
    });
    assert!(got.iter().all(|g| g == &got[0]), "{got:?}");
    got[0].clone()
}

fn unit(rng: &mut ChaCha20Rng) -> Vec<i64> {
    let v: Vec<f32> = (0..DIMS).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    Embedding::new(v)
        .unwrap()
        .quantize()
        .values()
        .iter()
        .map(|&x| i64::from(x))
        .collect()
}

#[test]
fn unit_vectors_pass_and_degenerate_or_hostile_ones_are_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let u = unit(&mut rng);
    let scaled =
        |f: f64| -> Vec<i64> { u.iter().map(|&x| (x as f64 * f).round() as i64).collect() };
    let mut one_hot = vec![0i64; DIMS];
    one_hot[5] = 1 << 14;
    let mut wraps = u.clone();
    wraps[0] = 1 << 16; // squares to 0 in Z_2^32
    let mut slightly_big = one_hot.clone();
    slightly_big[5] = (1 << 14) + 1;
    let mut negative_huge = u.clone();
    negative_huge[3] = -(1 << 30);
    // Many maximal components: the squares' total exceeds 2^32 and would wrap.
    let all_max = vec![1i64 << 14; DIMS];
    let cases = vec![
        ("unit", u.clone(), true),
        ("another unit", unit(&mut rng), true),
        ("one-hot", one_hot, true),
        ("zero", vec![0; DIMS], false),
        ("x0.9", scaled(0.9), false),
        ("x1.1", scaled(1.1), false),
        ("x2", scaled(2.0), false),
        ("component 2^16", wraps, false),
        ("component 2^14 + 1", slightly_big, false),
        ("component -2^30", negative_huge, false),
        ("every component 2^14", all_max, false),
    ];
    let vectors: Vec<Vec<i64>> = cases.iter().map(|(_, v, _)| v.clone()).collect();
    let got = gate_on_shares(&vectors);
    for ((name, v, want), got) in cases.iter().zip(got) {
        assert_eq!(norm_gate_passes(v), *want, "plaintext twin: {name}");
        assert_eq!(got, *want, "on shares: {name}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// Random vectors near and far from the unit sphere, with occasional wild components.
    #[test]
    fn gate_on_shares_equals_the_plaintext_twin(seed in any::<u64>()) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let vectors: Vec<Vec<i64>> = (0..6)
            .map(|_| {
                let mut v = unit(&mut rng);
                match rng.random_range(0..4) {
                    0 => {}
                    1 => {
                        let f = rng.random_range(0.99..1.01);
                        v.iter_mut().for_each(|x| *x = (*x as f64 * f).round() as i64);
                    }
                    2 => v[rng.random_range(0..DIMS)] = rng.random_range(-(1i64 << 31)..(1i64 << 31)),
                    _ => v.iter_mut().for_each(|x| *x += rng.random_range(-3..=3)),
                }
                v
            })
            .collect();
        let want: Vec<bool> = vectors.iter().map(|v| norm_gate_passes(v)).collect();
        prop_assert_eq!(gate_on_shares(&vectors), want);
    }
}
