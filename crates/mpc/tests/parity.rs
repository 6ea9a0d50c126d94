//! Full-engine parity with the plaintext matcher's fixed-point rule.
//!
//! For 1:1 and 1:N, single-eye and two-eye, at least 10,000 random query–record pairs
//! and at least 2,000 near-threshold pairs (|FHD − t| < 0.005 at the best rotation) go
//! through the whole protocol — Galois-ring dot products, re-sharing, lift, sign, the
//! OR/AND trees and the opening — and every opened bit must equal the template crate's
//! `Matcher` with `DecisionRule::FixedPoint`. Zero disagreements are allowed.
//!
//! Queries are made from a stored code by rotating it (so the best rotation is not
//! zero) and flipping an exact number of valid bits, which fixes the FHD at the best
//! rotation to `flips / overlap`; the other rotations of uniformly random codes sit near
//! 0.5. Unrelated codes are mixed into the random pairs.

use crate::common;

use common::on_three;
use masque_mpc::PartyId;
use masque_mpc::dealer::{
    EnrolmentShare, QueryShare, enrolment_shares_seeded, query_shares_seeded,
};
use masque_mpc::engine::PartyEngine;
use masque_mpc::gallery::RecordId;
use masque_mpc::randomness::{PartySeeds, SessionId};
use masque_template::matcher::{DecisionRule, EyeMode, IrisGallery, IrisQuery, Matcher};
use masque_template::{EyePair, FixedPointRule, IrisCode, Threshold};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The production threshold.
const T: f64 = Threshold::DEFAULT.value();
const NEAR: f64 = 0.005;
const RANDOM_PAIRS: usize = 10_000;
const NEAR_PAIRS: usize = 2_000;

static SESSIONS: AtomicU64 = AtomicU64::new(1);

fn rule() -> FixedPointRule {
    FixedPointRule::from_threshold(T)
}

fn matcher() -> Matcher {
    Matcher::new(DecisionRule::FixedPoint(rule()))
}

/// Uniform code bits; each real/imaginary mask pair valid with probability 0.85.
fn random_code(rng: &mut ChaCha20Rng) -> IrisCode {
    IrisCode::random(rng, 0.85)
}

/// `a` rotated by a random shift with `round(fhd · overlap)` valid bits flipped, so the
/// FHD at the best rotation is the returned value.
fn variant(a: &IrisCode, fhd: f64, rng: &mut ChaCha20Rng) -> (IrisCode, f64) {
    let shifted = a.rotated(rng.random_range(-15..=15));
    let mut valid: Vec<usize> = (0..IrisCode::BITS)
        .filter(|&i| shifted.mask_bit(i))
        .collect();
    let overlap = valid.len();
    let flips = (fhd * overlap as f64).round() as usize;
    // A partial Fisher–Yates shuffle picks `flips` distinct valid bits.
    let mut flip = vec![false; IrisCode::BITS];
    for k in 0..flips {
        let j = rng.random_range(k..overlap);
        valid.swap(k, j);
        flip[valid[k]] = true;
    }
    let b = IrisCode::from_fn(|i| shifted.code_bit(i) ^ flip[i], |i| shifted.mask_bit(i))
        .expect("masks unchanged");
    (b, flips as f64 / overlap as f64)
}

/// A query near the threshold: |FHD − t| < 0.005 exactly.
fn near_variant(a: &IrisCode, rng: &mut ChaCha20Rng) -> IrisCode {
    loop {
        let (b, fhd) = variant(a, T + rng.random_range(-NEAR..NEAR), rng);
        if (fhd - T).abs() < NEAR {
            return b;
        }
    }
}

/// A query for the random pairs: a variant anywhere from clearly matching to clearly
/// not, or an unrelated code.
fn random_variant(a: &IrisCode, rng: &mut ChaCha20Rng) -> IrisCode {
    if rng.random_bool(0.2) {
        random_code(rng)
    } else {
        variant(a, rng.random_range(0.2..0.5), rng).0
    }
}

struct Custodians {
    engines: [PartyEngine; 3],
    plain: IrisGallery,
    stored: Vec<Vec<IrisCode>>,
}

impl Custodians {
    /// `records` random records of one or two eyes, enrolled at the three parties and in
    /// the plaintext gallery.
    fn enrol(mode: EyeMode, records: usize, rng: &mut ChaCha20Rng) -> Self {
        let seeds = PartySeeds::deal_seeded(rng);
        let mut engines =
            PartyId::ALL.map(|p| PartyEngine::new(p, seeds[p.index()].clone(), mode, rule()));
        let mut plain = IrisGallery::new(mode);
        let eyes = if mode == EyeMode::TwoEyes { 2 } else { 1 };
        let mut stored = Vec::new();
        for k in 0..records {
            let codes: Vec<IrisCode> = (0..eyes).map(|_| random_code(rng)).collect();
            let shares: Vec<[EnrolmentShare; 3]> = codes
                .iter()
                .map(|c| enrolment_shares_seeded(c, rng))
                .collect();
            for p in PartyId::ALL {
                let own: Vec<EnrolmentShare> =
                    shares.iter().map(|s| s[p.index()].clone()).collect();
                engines[p.index()].insert(RecordId(k as u64), &own).unwrap();
            }
            insert_plain(&mut plain, RecordId(k as u64), &codes);
            stored.push(codes);
        }
        Self {
            engines,
            plain,
            stored,
        }
    }

    /// `search_batch` of `batch` (each request's query and enrolment forms dealt afresh)
    /// at the three parties.
    fn search_batch(&self, batch: &[Vec<IrisCode>], rng: &mut ChaCha20Rng) -> Vec<bool> {
        let requests = deal_requests(batch, rng);
        self.run(|e, net, sid| {
            e.search_batch(net, sid, &requests[e.gallery().party().index()])
                .unwrap()
        })
    }

    /// Runs `f` at the three parties over a fresh in-process network; all three must
    /// open the same bits, which are returned.
    fn run(
        &self,
        f: impl Fn(&PartyEngine, &mut dyn masque_mpc::net::Transport, SessionId) -> Vec<bool> + Sync,
    ) -> Vec<bool> {
        let sid = SessionId(SESSIONS.fetch_add(1, Ordering::Relaxed));
        let mut got = on_three(
            &self.engines,
            sid,
            Duration::from_secs(120),
            |_, e, net, sid| f(e, net, sid),
        );
        let first = got.remove(0);
        assert!(got.iter().all(|g| *g == first), "parties disagree");
        first
    }
}

/// Enrols `eyes` (one or two) as record `id` of the plaintext gallery.
fn insert_plain(plain: &mut IrisGallery, id: RecordId, eyes: &[IrisCode]) {
    match eyes {
        [one] => plain.insert_eye(id, one).unwrap(),
        [left, right] => plain
            .insert_pair(
                id,
                &EyePair {
                    left: left.clone(),
                    right: right.clone(),
                },
            )
            .unwrap(),
        _ => unreachable!("one or two eyes"),
    }
}

fn query_of(eyes: &[IrisCode]) -> IrisQuery {
    match eyes {
        [one] => IrisQuery::single(one),
        [left, right] => IrisQuery::pair(&EyePair {
            left: left.clone(),
            right: right.clone(),
        }),
        _ => unreachable!("one or two eyes"),
    }
}

/// Each party's query shares of each probe.
fn deal_queries(probes: &[Vec<IrisCode>], rng: &mut ChaCha20Rng) -> [Vec<Vec<QueryShare>>; 3] {
    let mut out: [Vec<Vec<QueryShare>>; 3] = Default::default();
    for probe in probes {
        let per_eye: Vec<[QueryShare; 3]> =
            probe.iter().map(|c| query_shares_seeded(c, rng)).collect();
        for p in PartyId::ALL {
            out[p.index()].push(per_eye.iter().map(|s| s[p.index()].clone()).collect());
        }
    }
    out
}

/// 1:1 over `pairs` (record, probe) in batches; returns how many matched.
fn check_verify(c: &Custodians, pairs: &[(usize, Vec<IrisCode>)], rng: &mut ChaCha20Rng) -> usize {
    let m = matcher();
    let mut matched = 0;
    for batch in pairs.chunks(1_000) {
        let probes: Vec<Vec<IrisCode>> = batch.iter().map(|(_, p)| p.clone()).collect();
        let shares = deal_queries(&probes, rng);
        let got = c.run(|e, net, sid| {
            let own = &shares[e.gallery().party().index()];
            let pairs: Vec<(RecordId, Vec<QueryShare>)> = batch
                .iter()
                .zip(own)
                .map(|((record, _), q)| (RecordId(*record as u64), q.clone()))
                .collect();
            e.verify_batch(net, sid, &pairs).unwrap()
        });
        for ((record, probe), bit) in batch.iter().zip(got) {
            let want = m
                .verify(&c.plain, RecordId(*record as u64), &query_of(probe))
                .unwrap()
                .unwrap()
                .is_match;
            assert_eq!(bit, want, "1:1 disagreement on record {record}");
            matched += usize::from(want);
        }
    }
    matched
}

/// 1:N of every probe in batches; returns how many matched.
fn check_search(c: &Custodians, probes: &[Vec<IrisCode>], rng: &mut ChaCha20Rng) -> usize {
    let m = matcher();
    let mut matched = 0;
    for batch in probes.chunks(40) {
        let shares = deal_queries(batch, rng);
        let got = c.run(|e, net, sid| {
            e.search(net, sid, &shares[e.gallery().party().index()])
                .unwrap()
        });
        for (probe, bit) in batch.iter().zip(got) {
            let want = m.search(&c.plain, &query_of(probe)).unwrap().is_match;
            assert_eq!(bit, want, "1:N disagreement");
            matched += usize::from(want);
        }
    }
    matched
}

/// Probes for records: each eye a random (or near-threshold, for the eye `near_eye`)
/// variant of the record's eye; the other eye of a near pair matches clearly or not.
fn probe_for(stored: &[IrisCode], near: bool, rng: &mut ChaCha20Rng) -> Vec<IrisCode> {
    let near_eye = rng.random_range(0..stored.len());
    stored
        .iter()
        .enumerate()
        .map(|(side, eye)| match (near, side == near_eye) {
            (true, true) => near_variant(eye, rng),
            (true, false) if rng.random_bool(0.5) => near_variant(eye, rng),
            (true, false) => variant(eye, rng.random_range(0.2..0.33), rng).0,
            (false, _) => random_variant(eye, rng),
        })
        .collect()
}

fn one_to_one(mode: EyeMode, seed: u64) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let c = Custodians::enrol(mode, 400, &mut rng);
    let pairs: Vec<(usize, Vec<IrisCode>)> = (0..RANDOM_PAIRS + NEAR_PAIRS)
        .map(|i| {
            let record = i % c.stored.len();
            (
                record,
                probe_for(&c.stored[record], i >= RANDOM_PAIRS, &mut rng),
            )
        })
        .collect();
    let (random, near) = pairs.split_at(RANDOM_PAIRS);
    let matched_random = check_verify(&c, random, &mut rng);
    let matched_near = check_verify(&c, near, &mut rng);
    // Both outcomes occur, so agreement is not agreement on a constant.
    assert!(matched_random > 1_000 && matched_random < RANDOM_PAIRS - 1_000);
    assert!(
        matched_near > 200 && matched_near < NEAR_PAIRS - 200,
        "{matched_near}"
    );
}

fn one_to_many(mode: EyeMode, seed: u64) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    // Random: 100 probes against 100 records = 10,000 pairs.
    let c = Custodians::enrol(mode, 100, &mut rng);
    let probes: Vec<Vec<IrisCode>> = (0..RANDOM_PAIRS / 100)
        .map(|i| probe_for(&c.stored[(i * 7) % 100], false, &mut rng))
        .collect();
    let matched = check_search(&c, &probes, &mut rng);
    assert!(matched > 5 && matched < 95, "{matched}");
    // Near: 2,000 probes, each near the threshold against one of 5 records (and far
    // from the other 4), so each opened bit is that pair's decision.
    let c = Custodians::enrol(mode, 5, &mut rng);
    let probes: Vec<Vec<IrisCode>> = (0..NEAR_PAIRS)
        .map(|i| probe_for(&c.stored[i % 5], true, &mut rng))
        .collect();
    let matched = check_search(&c, &probes, &mut rng);
    assert!(matched > 200 && matched < NEAR_PAIRS - 200, "{matched}");
}

/// Each party's requests (query shares, enrolment shares) of each template.
fn deal_requests(
    templates: &[Vec<IrisCode>],
    rng: &mut ChaCha20Rng,
) -> [Vec<(Vec<QueryShare>, Vec<EnrolmentShare>)>; 3] {
    let queries = deal_queries(templates, rng);
    let mut out: [Vec<(Vec<QueryShare>, Vec<EnrolmentShare>)>; 3] = Default::default();
    for (t, template) in templates.iter().enumerate() {
        let per_eye: Vec<[EnrolmentShare; 3]> = template
            .iter()
            .map(|c| enrolment_shares_seeded(c, rng))
            .collect();
        for p in PartyId::ALL {
            let own = per_eye.iter().map(|s| s[p.index()].clone()).collect();
            out[p.index()].push((queries[p.index()][t].clone(), own));
        }
    }
    out
}

/// The plaintext answer for request `j` of `batch`: it matches a stored record, or the
/// template of an earlier request of its batch.
fn batch_oracle(c: &Custodians, mode: EyeMode, batch: &[Vec<IrisCode>], j: usize) -> (bool, bool) {
    let m = matcher();
    let query = query_of(&batch[j]);
    let stored = m.search(&c.plain, &query).unwrap().is_match;
    let mut earlier = IrisGallery::new(mode);
    for (i, template) in batch[..j].iter().enumerate() {
        insert_plain(&mut earlier, RecordId(i as u64), template);
    }
    let in_batch = (0..j).any(|i| {
        m.verify(&earlier, RecordId(i as u64), &query)
            .unwrap()
            .unwrap()
            .is_match
    });
    (stored, in_batch)
}

/// Batches of enrolments (`search_batch`) of 1 to 12 requests: fresh people, people
/// near (or clearly at) a stored record, and people near an earlier request of the same
/// batch, at random and near the threshold. Every opened bit must be the plaintext
/// search OR the plaintext 1:1 against each earlier request.
fn batched_enrolments(mode: EyeMode, seed: u64) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let c = Custodians::enrol(mode, 20, &mut rng);
    let eyes = c.stored[0].len();
    let (mut only_in_batch, mut near_in_batch, mut unique) = (0, 0, 0);
    for b in 0..60 {
        let size = [1, 2, 3, 4, 6, 9, 12][b % 7];
        let mut batch: Vec<Vec<IrisCode>> = Vec::new();
        let mut near = Vec::new();
        for j in 0..size {
            let roll: f64 = rng.random();
            let is_near = rng.random_bool(0.5);
            let template = if roll < 0.2 {
                probe_for(&c.stored[rng.random_range(0..20)], is_near, &mut rng)
            } else if roll < 0.65 && j > 0 {
                let earlier = batch[rng.random_range(0..j)].clone();
                probe_for(&earlier, is_near, &mut rng)
            } else {
                (0..eyes).map(|_| random_code(&mut rng)).collect()
            };
            near.push(is_near && (0.2..0.65).contains(&roll) && j > 0);
            batch.push(template);
        }
        let got = c.search_batch(&batch, &mut rng);
        assert_eq!(got.len(), size);
        for (j, &bit) in got.iter().enumerate() {
            let (stored, in_batch) = batch_oracle(&c, mode, &batch, j);
            assert_eq!(bit, stored || in_batch, "batch {b} request {j}");
            only_in_batch += usize::from(in_batch && !stored);
            near_in_batch += usize::from(in_batch && !stored && near[j]);
            unique += usize::from(!bit);
        }
    }
    // Each outcome occurs often, so agreement is not agreement on a constant.
    assert!(only_in_batch > 15, "{only_in_batch}");
    assert!(near_in_batch > 5, "{near_in_batch}");
    assert!(unique > 60, "{unique}");
}

#[test]
fn batched_enrolments_single_eye() {
    batched_enrolments(EyeMode::SingleEye, 5);
}

#[test]
fn batched_enrolments_two_eyes() {
    batched_enrolments(EyeMode::TwoEyes, 6);
}

/// With nothing stored, only the batch's own members can make a request a duplicate:
/// the first of two equal templates is unique, the second is not; a lone request is
/// unique without any comparison.
#[test]
fn batch_on_an_empty_gallery() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let c = Custodians::enrol(EyeMode::SingleEye, 0, &mut rng);
    let person = vec![random_code(&mut rng)];
    let other = vec![random_code(&mut rng)];
    for (batch, want) in [
        (vec![person.clone()], vec![false]),
        (
            vec![person.clone(), other.clone(), person.clone()],
            vec![false, false, true],
        ),
        (vec![other.clone(), other], vec![false, true]),
    ] {
        assert_eq!(c.search_batch(&batch, &mut rng), want);
    }
}

#[test]
fn one_to_one_single_eye() {
    one_to_one(EyeMode::SingleEye, 1);
}

#[test]
fn one_to_one_two_eyes() {
    one_to_one(EyeMode::TwoEyes, 2);
}

#[test]
fn one_to_many_single_eye() {
    one_to_many(EyeMode::SingleEye, 3);
}

#[test]
fn one_to_many_two_eyes() {
    one_to_many(EyeMode::TwoEyes, 4);
}
