//! The MPC threshold against the template crate's fixed-point rule on ≥ 10,000 random
//! and ≥ 2,000 near-threshold (|FHD − t| < 0.005) count pairs, with zero disagreements.
//!
//! The dot products are exact linear algebra (checked end to end in `engine.rs` and in
//! `encode`'s tests); what can disagree is the lift, the sign and the rule's arithmetic,
//! which this test exercises on shares of `(code_dot, mask_dot)` exactly as the engine
//! produces them.

use masque_mpc::engine::PartyEngine;
use masque_mpc::net::local::LocalNetwork;
use masque_mpc::protocol::Session;
use masque_mpc::protocol::bits::open_bits;
use masque_mpc::randomness::{CorrelatedRandomness, PartySeeds, SessionId};
use masque_mpc::share::share_vec_seeded;
use masque_mpc::{PartyId, Z16};
use masque_template::{FixedPointRule, HammingCounts, Threshold};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::time::Duration;

fn mpc_decisions(rule: FixedPointRule, counts: &[HammingCounts], seed: u64) -> Vec<bool> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let code: Vec<Z16> = counts
        .iter()
        .map(|c| Z16::from_i64(c.code_dot().into()))
        .collect();
    let mask: Vec<Z16> = counts
        .iter()
        .map(|c| Z16::from_i64(c.mask_dot().into()))
        .collect();
    let (code, mask) = (
        share_vec_seeded(&code, &mut rng),
        share_vec_seeded(&mask, &mut rng),
    );
    let seeds = PartySeeds::deal_seeded(&mut rng);
    let nets = LocalNetwork::connect(Duration::from_secs(60));
    let results: Vec<Vec<u64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = nets
            .into_iter()
            .zip(seeds.iter())
            .enumerate()
            .map(|(i, (mut net, seeds))| {
                let (code, mask) = (&code, &mask);
                scope.spawn(move || {
                    let p = PartyId::ALL[i];
                    let mut s =
                        Session::new(&mut net, CorrelatedRandomness::new(seeds, SessionId(1)));
                    let bits = PartyEngine::threshold_bits(
                        &mut s,
                        rule,
                        &code.for_party(p),
                        &mask.for_party(p),
                    )
                    .unwrap();
                    open_bits(&mut s, &bits).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(results.iter().all(|r| *r == results[0]));
    (0..counts.len())
        .map(|k| results[0][k / 64] >> (k % 64) & 1 == 1)
        .collect()
}

fn check(t: f64, counts: &[HammingCounts], seed: u64) {
    let rule = FixedPointRule::from_threshold(t);
    let got = mpc_decisions(rule, counts, seed);
    let disagreements: Vec<_> = counts
        .iter()
        .zip(&got)
        .filter(|(c, g)| rule.matches(**c) != **g)
        .collect();
    assert!(
        disagreements.is_empty(),
        "t = {t}: {} disagreements, first {:?}",
        disagreements.len(),
        disagreements.first()
    );
}

#[test]
fn random_pairs_agree_with_the_fixed_point_rule() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut counts: Vec<HammingCounts> = (0..10_000)
        .map(|_| {
            let overlap = rng.random_range(0..=12_800);
            HammingCounts {
                differing: rng.random_range(0..=overlap),
                overlap,
            }
        })
        .collect();
    // Edges: no overlap, full overlap, identical and opposite codes.
    for overlap in [0, 1, 12_800] {
        counts.push(HammingCounts {
            differing: 0,
            overlap,
        });
        counts.push(HammingCounts {
            differing: overlap,
            overlap,
        });
    }
    check(Threshold::DEFAULT.value(), &counts, 2);
}

#[test]
fn near_threshold_pairs_agree_with_the_fixed_point_rule() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    for (k, t) in [Threshold::DEFAULT.value(), 0.3, 0.41]
        .into_iter()
        .enumerate()
    {
        let counts: Vec<HammingCounts> = (0..2_000)
            .map(|_| {
                loop {
                    let overlap: u32 = rng.random_range(1_600..=12_800);
                    let fhd = t + rng.random_range(-0.005..0.005);
                    let differing = (fhd * f64::from(overlap)).round() as u32;
                    if (f64::from(differing) / f64::from(overlap) - t).abs() < 0.005 {
                        break HammingCounts { differing, overlap };
                    }
                }
            })
            .collect();
        let rule = FixedPointRule::from_threshold(t);
        let matches = counts.iter().filter(|c| rule.matches(**c)).count();
        assert!(
            matches > 200 && matches < 1_800,
            "both sides of the threshold: {matches}"
        );
        check(t, &counts, 10 + k as u64);
    }
}
