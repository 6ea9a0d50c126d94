//! The mask-coverage gate on shares against its plaintext twin (`CoverageGate::passes`),
//! on random, edge and adversarial masks, in both share forms; the attack it closes
//! (nearly masked queries that the fixed-point rule matches with strangers); and gated
//! decisions against the plaintext fractional rule with its minimum overlap.

use crate::common;

use common::{on_three, share_person};
use masque_mpc::PartyId;
use masque_mpc::coverage::CountableForm;
use masque_mpc::dealer::{
    EnrolmentShare, EyeShare, QueryShare, enrolment_shares_seeded, query_shares_seeded,
};
use masque_mpc::engine::PartyEngine;
use masque_mpc::gallery::RecordId;
use masque_mpc::randomness::{PartySeeds, SessionId};
use masque_template::matcher::{DecisionRule, EyeMode, IrisGallery, IrisQuery, Matcher};
use masque_template::synth::IrisPopulation;
use masque_template::synth::iris::IrisModel;
use masque_template::{CoverageGate, EyePair, FixedPointRule, IrisCode, MinOverlap, Threshold};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

static SESSIONS: AtomicU64 = AtomicU64::new(1);
const PAIRS: usize = IrisCode::BITS / 2;

fn engines(mode: EyeMode) -> [PartyEngine; 3] {
    let seeds = PartySeeds::deal_seeded(&mut ChaCha20Rng::seed_from_u64(9));
    PartyId::ALL.map(|p| {
        PartyEngine::new(
            p,
            seeds[p.index()].clone(),
            mode,
            FixedPointRule::new(Threshold::DEFAULT),
        )
    })
}

/// A random code with exactly `valid` valid real/imaginary pairs, placed at random.
fn with_valid_pairs(valid: usize, rng: &mut ChaCha20Rng) -> IrisCode {
    let mut order: Vec<usize> = (0..PAIRS).collect();
    for i in (1..PAIRS).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    let mut keep = vec![false; PAIRS];
    order[..valid.min(PAIRS)]
        .iter()
        .for_each(|&p| keep[p] = true);
    let code: Vec<bool> = (0..IrisCode::BITS).map(|_| rng.random()).collect();
    IrisCode::from_fn(|i| code[i], |i| keep[i / 2]).unwrap()
}

/// Runs the gate at the three parties and checks they agree; returns the opened bits.
fn gate_on_shares<F: CountableForm + Send + Sync>(
    engines: &[PartyEngine; 3],
    shares: &[Vec<Vec<EyeShare<F>>>; 3],
    gate: CoverageGate,
) -> Vec<bool>
where
    EyeShare<F>: Sync,
{
    let sid = SessionId(SESSIONS.fetch_add(1, Ordering::Relaxed));
    let got = on_three(engines, sid, Duration::from_secs(30), |p, e, net, sid| {
        e.gate(net, sid, &shares[p.index()], gate).unwrap()
    });
    assert!(
        got.iter().all(|g| g == &got[0]),
        "parties disagree: {got:?}"
    );
    got[0].clone()
}

/// Both forms' gate results for a batch of two-eye templates.
fn both_forms(
    eyes: &[[IrisCode; 2]],
    gate: CoverageGate,
    rng: &mut ChaCha20Rng,
) -> (Vec<bool>, Vec<bool>) {
    let engines = engines(EyeMode::TwoEyes);
    let mut queries: [Vec<Vec<QueryShare>>; 3] = Default::default();
    let mut enrolments: [Vec<Vec<EnrolmentShare>>; 3] = Default::default();
    for [l, r] in eyes {
        for (p, s) in share_person(&[l, r], rng, query_shares_seeded)
            .into_iter()
            .enumerate()
        {
            queries[p].push(s);
        }
        for (p, s) in share_person(&[l, r], rng, enrolment_shares_seeded)
            .into_iter()
            .enumerate()
        {
            enrolments[p].push(s);
        }
    }
    (
        gate_on_shares(&engines, &queries, gate),
        gate_on_shares(&engines, &enrolments, gate),
    )
}

#[test]
fn gate_on_shares_equals_the_plaintext_gate_at_its_edges() {
    let gate = CoverageGate::default();
    let min = gate.min_pairs() as usize;
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    // All-zero, a handful of cells (a cell is two pairs), one pair below, at and above
    // the gate, full; and templates whose two eyes differ in coverage.
    let levels = [0, 8, 32, min - 1, min, min + 1, PAIRS];
    let mut eyes = Vec::new();
    for &l in &levels {
        for &r in &[0, min - 1, min, PAIRS] {
            eyes.push([with_valid_pairs(l, &mut rng), with_valid_pairs(r, &mut rng)]);
        }
    }
    let want: Vec<bool> = eyes
        .iter()
        .map(|[l, r]| gate.passes(l) && gate.passes(r))
        .collect();
    assert!(want.iter().any(|&w| w) && want.iter().any(|&w| !w));
    let (queries, enrolments) = both_forms(&eyes, gate, &mut rng);
    assert_eq!(queries, want);
    assert_eq!(enrolments, want);
}

#[test]
fn a_mask_complementary_to_a_stored_eye_cannot_pass_with_it() {
    // Two masks that do not overlap cannot both keep more than half of the pairs, so at
    // least one of them is refused, and no comparison between them is ever decided.
    let gate = CoverageGate::default();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let stored = with_valid_pairs(3_700, &mut rng);
    let complement = IrisCode::from_fn(|i| i % 2 == 0, |i| !stored.mask_bit(i)).unwrap();
    let eyes = [[stored.clone(), stored], [complement.clone(), complement]];
    let (queries, enrolments) = both_forms(&eyes, gate, &mut rng);
    assert_eq!(queries, vec![true, false]);
    assert_eq!(enrolments, vec![true, false]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Random coverages across the whole range, and a random gate.
    #[test]
    fn gate_on_shares_equals_the_plaintext_gate_on_random_masks(
        seed in any::<u64>(),
        coverages in prop::collection::vec((0usize..=PAIRS, 0usize..=PAIRS), 1..6),
        gate_bits in 0u32..=12_800,
    ) {
        let gate = CoverageGate::from_bits(gate_bits);
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let eyes: Vec<[IrisCode; 2]> = coverages
            .iter()
            .map(|&(l, r)| [with_valid_pairs(l, &mut rng), with_valid_pairs(r, &mut rng)])
            .collect();
        let want: Vec<bool> = eyes.iter().map(|[l, r]| gate.passes(l) && gate.passes(r)).collect();
        let (queries, enrolments) = both_forms(&eyes, gate, &mut rng);
        prop_assert_eq!(queries, want.clone());
        prop_assert_eq!(enrolments, want);
    }
}

/// Enrols `pair` as record `id` at the three custodians and in the plaintext gallery.
fn enrol_both(
    mpc: &mut [PartyEngine; 3],
    plain: &mut IrisGallery,
    id: RecordId,
    pair: &EyePair,
    rng: &mut ChaCha20Rng,
) {
    let shares = share_person(&[&pair.left, &pair.right], rng, enrolment_shares_seeded);
    for (p, e) in mpc.iter_mut().enumerate() {
        e.insert(id, &shares[p]).unwrap();
    }
    plain.insert_pair(id, pair).unwrap();
}

/// Keeps only the first `cells` cells of row 8 valid (a cell is 4 bits).
fn keep_cells(eye: &IrisCode, cells: usize) -> IrisCode {
    let start = 8 * 800;
    IrisCode::from_fn(|i| eye.code_bit(i), |i| i >= start && i < start + 4 * cells).unwrap()
}

/// The attack of issue 14, as a regression: against 300 enrolled people, a two-eye query
/// masked down to a few cells is undecidable for the fractional rule, but the
/// fixed-point rule (and so the ungated MPC) calls it a duplicate; the gate refuses it,
/// so it is neither matched nor enrolled.
#[test]
fn nearly_masked_queries_are_refused_by_the_gate() {
    let pop = IrisPopulation::generate(&IrisModel::default(), 300, 300, 2, &|| {});
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let mut mpc = engines(EyeMode::TwoEyes);
    let mut plain = IrisGallery::new(EyeMode::TwoEyes);
    for (i, person) in pop.persons.iter().enumerate() {
        let pair = &person.captures[0];
        enrol_both(&mut mpc, &mut plain, RecordId(i as u64), pair, &mut rng);
    }
    let fractional = Matcher::new(DecisionRule::default());
    let fixed = Matcher::new(DecisionRule::FixedPoint(FixedPointRule::new(
        Threshold::DEFAULT,
    )));
    // Someone who is not enrolled.
    let outsider = IrisPopulation::generate(&IrisModel::default(), 301, 1, 1, &|| {});
    let probe = &outsider.persons[0].captures[0];
    let gate = CoverageGate::default();
    let mut fixed_point_matched_a_stranger = false;
    for cells in [0, 4, 16] {
        let query = EyePair {
            left: keep_cells(&probe.left, cells),
            right: keep_cells(&probe.right, cells),
        };
        let q = IrisQuery::pair(&query);
        let float = fractional.search(&plain, &q).unwrap();
        assert!(
            !float.is_match,
            "{cells} cells: the fractional rule decided a match"
        );
        let fixed_point = fixed.search(&plain, &q).unwrap().is_match;
        fixed_point_matched_a_stranger |= fixed_point;
        // The ungated engine agrees with the fixed-point rule: the hole is real...
        let shares = share_person(&[&query.left, &query.right], &mut rng, query_shares_seeded);
        let sid = SessionId(SESSIONS.fetch_add(1, Ordering::Relaxed));
        let ungated = on_three(&mpc, sid, Duration::from_secs(60), |p, e, net, sid| {
            e.search(net, sid, std::slice::from_ref(&shares[p.index()]))
                .unwrap()[0]
        });
        assert!(ungated.iter().all(|&g| g == fixed_point));
        // ...and the gate closes it: refused, so never searched and never stored.
        let per_party: [Vec<Vec<QueryShare>>; 3] = shares.map(|s| vec![s]);
        assert_eq!(
            gate_on_shares(&mpc, &per_party, gate),
            vec![false],
            "{cells} cells"
        );
    }
    assert!(
        fixed_point_matched_a_stranger,
        "the regression lost its teeth: no nearly masked query matched without the gate"
    );
}

/// With both sides gated, the engine's decision equals the plaintext fractional rule
/// with its minimum overlap: "too little overlap" cannot happen any more.
#[test]
fn gated_decisions_equal_the_fractional_rule() {
    let pop = IrisPopulation::generate(&IrisModel::default(), 21, 60, 2, &|| {});
    let gate = CoverageGate::guaranteeing(MinOverlap::DEFAULT);
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let mut mpc = engines(EyeMode::TwoEyes);
    let mut plain = IrisGallery::new(EyeMode::TwoEyes);
    let gated = |pair: &EyePair| gate.passes(&pair.left) && gate.passes(&pair.right);
    let mut enrolled = Vec::new();
    for (i, person) in pop.persons.iter().enumerate() {
        let pair = &person.captures[0];
        if !gated(pair) {
            continue;
        }
        enrol_both(&mut mpc, &mut plain, RecordId(i as u64), pair, &mut rng);
        enrolled.push(i);
    }
    // Genuine (same person, capture 1) and impostor (next enrolled person) pairs.
    let mut pairs: [Vec<(RecordId, Vec<QueryShare>)>; 3] = Default::default();
    let mut want = Vec::new();
    let fractional = Matcher::new(DecisionRule::default());
    for (k, &i) in enrolled.iter().enumerate() {
        let probe = &pop.persons[i].captures[1];
        if !gated(probe) {
            continue;
        }
        for record in [i, enrolled[(k + 1) % enrolled.len()]] {
            let id = RecordId(record as u64);
            let outcome = fractional
                .verify(&plain, id, &IrisQuery::pair(probe))
                .unwrap()
                .unwrap();
            want.push(outcome.is_match);
            let shares = share_person(&[&probe.left, &probe.right], &mut rng, query_shares_seeded);
            for (p, s) in shares.into_iter().enumerate() {
                pairs[p].push((id, s));
            }
        }
    }
    assert!(want.len() > 60 && want.iter().any(|&w| w) && want.iter().any(|&w| !w));
    let sid = SessionId(SESSIONS.fetch_add(1, Ordering::Relaxed));
    let got = on_three(&mpc, sid, Duration::from_secs(60), |p, e, net, sid| {
        e.verify_batch(net, sid, &pairs[p.index()]).unwrap()
    });
    for g in &got {
        assert_eq!(g, &want);
    }
}

/// The gate is a network parameter: a custodian configured with another gate makes every
/// party refuse, instead of letting through what the others refuse.
#[test]
fn custodians_with_different_gates_refuse_together() {
    let engines = engines(EyeMode::TwoEyes);
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let eye = with_valid_pairs(5_000, &mut rng);
    let shares = share_person(&[&eye, &eye], &mut rng, query_shares_seeded);
    let sid = SessionId(SESSIONS.fetch_add(1, Ordering::Relaxed));
    let got = on_three(&engines, sid, Duration::from_secs(30), |p, e, net, sid| {
        let gate = if p == PartyId::P1 {
            CoverageGate::from_bits(2_000)
        } else {
            CoverageGate::default()
        };
        e.gate(net, sid, std::slice::from_ref(&shares[p.index()]), gate)
    });
    for r in got {
        assert!(
            matches!(r, Err(masque_mpc::engine::EngineError::GateMismatch { .. })),
            "{r:?}"
        );
    }
}

/// `a` rotated by a random shift with `round(fhd · overlap)` valid bits flipped.
fn variant(a: &IrisCode, fhd: f64, rng: &mut ChaCha20Rng) -> IrisCode {
    let shifted = a.rotated(rng.random_range(-15..=15));
    let mut valid: Vec<usize> = (0..IrisCode::BITS)
        .filter(|&i| shifted.mask_bit(i))
        .collect();
    let flips = (fhd * valid.len() as f64).round() as usize;
    let mut flip = vec![false; IrisCode::BITS];
    for k in 0..flips {
        let j = rng.random_range(k..valid.len());
        valid.swap(k, j);
        flip[valid[k]] = true;
    }
    IrisCode::from_fn(|i| shifted.code_bit(i) ^ flip[i], |i| shifted.mask_bit(i)).unwrap()
}

/// Near the threshold (|FHD − t| < 0.005 at the best rotation), with both eyes gated and
/// masks that differ (the query loses a random tenth of its valid pairs), the engine's
/// 1:1 decision equals the fractional rule with its minimum overlap.
#[test]
fn gated_near_threshold_decisions_equal_the_fractional_rule() {
    const PAIRS_WANTED: usize = 400;
    let t = Threshold::DEFAULT.value();
    let gate = CoverageGate::default();
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let fractional = Matcher::new(DecisionRule::default());
    let mut mpc = engines(EyeMode::SingleEye);
    let mut plain = IrisGallery::new(EyeMode::SingleEye);
    let mut pairs: [Vec<(RecordId, Vec<QueryShare>)>; 3] = Default::default();
    let mut want = Vec::new();
    let mut record = 0u64;
    while want.len() < PAIRS_WANTED {
        let stored = IrisCode::random(&mut rng, 0.8);
        let near = variant(&stored, t + rng.random_range(-0.006..0.006), &mut rng);
        let keep: Vec<bool> = (0..PAIRS).map(|_| rng.random_bool(0.9)).collect();
        let query =
            IrisCode::from_fn(|i| near.code_bit(i), |i| near.mask_bit(i) && keep[i / 2]).unwrap();
        if !gate.passes(&stored) || !gate.passes(&query) {
            continue;
        }
        let id = RecordId(record);
        plain.insert_eye(id, &stored).unwrap();
        let outcome = fractional
            .verify(&plain, id, &IrisQuery::single(&query))
            .unwrap()
            .unwrap();
        let best = outcome
            .best
            .map(|c| c.distance)
            .expect("gated eyes always have a decidable rotation");
        if (best - t).abs() >= 0.005 {
            plain.remove(id);
            continue;
        }
        let stored_shares = share_person(&[&stored], &mut rng, enrolment_shares_seeded);
        for (p, e) in mpc.iter_mut().enumerate() {
            e.insert(id, &stored_shares[p]).unwrap();
        }
        let query_shares = share_person(&[&query], &mut rng, query_shares_seeded);
        for (p, s) in query_shares.into_iter().enumerate() {
            pairs[p].push((id, s));
        }
        want.push(outcome.is_match);
        record += 1;
    }
    assert!(want.iter().any(|&w| w) && want.iter().any(|&w| !w));
    let sid = SessionId(SESSIONS.fetch_add(1, Ordering::Relaxed));
    let got = on_three(&mpc, sid, Duration::from_secs(120), |p, e, net, sid| {
        e.verify_batch(net, sid, &pairs[p.index()]).unwrap()
    });
    for g in &got {
        let disagreements = g.iter().zip(&want).filter(|(a, b)| a != b).count();
        assert_eq!(disagreements, 0, "of {} near-threshold pairs", want.len());
    }
}
