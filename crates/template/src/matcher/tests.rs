//! The matcher against the brute-force distance functions.

use super::*;
use crate::distance::min_over_rotations;
use crate::embedding::CosineRule;
use crate::synth::iris::IrisModel;
use crate::synth::{IrisPopulation, face::FaceModel};

fn population() -> IrisPopulation {
    IrisPopulation::generate(&IrisModel::default(), 11, 40, 2, &|| ())
}

fn gallery_of(pop: &IrisPopulation) -> IrisGallery {
    let mut g = IrisGallery::new(EyeMode::TwoEyes);
    for (i, pair) in pop.capture(0) {
        g.insert_pair(RecordId(i as u64), pair).unwrap();
    }
    g
}

/// The oracle: per record, both eyes' minimum distances by the brute-force function.
fn brute_force(pop: &IrisPopulation, query: &EyePair, t: f64) -> (Vec<RecordId>, RecordId, f64) {
    let mut matches = Vec::new();
    let mut best = (RecordId(u64::MAX), f64::INFINITY);
    for (i, stored) in pop.capture(0) {
        let d = [Eye::Left, Eye::Right].map(|e| {
            min_over_rotations(query.eye(e), stored.eye(e), MinOverlap::DEFAULT)
                .unwrap()
                .distance
        });
        let person = d[0].max(d[1]);
        if person < t {
            matches.push(RecordId(i as u64));
        }
        if person < best.1 {
            best = (RecordId(i as u64), person);
        }
    }
    (matches, best.0, best.1)
}

#[test]
fn two_eye_search_equals_brute_force() {
    let pop = population();
    let gallery = gallery_of(&pop);
    kernel::note_skipped_kernels();
    for kernel in Kernel::available() {
        let matcher = Matcher {
            kernel,
            rule: DecisionRule::default(),
        };
        for (i, probe) in pop.capture(1).take(8) {
            let outcome = matcher.search(&gallery, &IrisQuery::pair(probe)).unwrap();
            let (matches, best, distance) = brute_force(&pop, probe, 0.345);
            assert_eq!(outcome.matches, matches, "{} probe {i}", kernel.name());
            assert_eq!(outcome.is_match, !matches.is_empty());
            let found = outcome.best.unwrap();
            assert_eq!(found.record, best);
            assert!((found.distance - distance).abs() < 1e-12);
            assert_eq!(outcome.comparisons, 40 * 2 * 31);
        }
    }
}

#[test]
fn genuine_probes_find_their_record_and_only_it() {
    let pop = population();
    let gallery = gallery_of(&pop);
    let matcher = Matcher::default();
    let mut found = 0;
    for (i, probe) in pop.capture(1) {
        let outcome = matcher.search(&gallery, &IrisQuery::pair(probe)).unwrap();
        assert!(
            outcome.matches.iter().all(|r| r.0 == i as u64),
            "false match for {i}"
        );
        found += usize::from(outcome.matches == [RecordId(i as u64)]);
    }
    assert!(found >= 36, "only {found} of 40 genuine probes matched");
}

#[test]
fn two_eye_rule_needs_both_eyes() {
    let pop = population();
    let gallery = gallery_of(&pop);
    let stored = &pop.persons[3].captures[0];
    let other = &pop.persons[4].captures[0];
    let half = EyePair {
        left: stored.left.clone(),
        right: other.right.clone(),
    };
    let outcome = Matcher::default()
        .search(&gallery, &IrisQuery::pair(&half))
        .unwrap();
    assert!(!outcome.matches.contains(&RecordId(3)));
    // In single-eye mode the same left eye alone matches record 3.
    let mut single = IrisGallery::new(EyeMode::SingleEye);
    for (i, pair) in pop.capture(0) {
        single.insert_eye(RecordId(i as u64), &pair.left).unwrap();
    }
    let outcome = Matcher::default()
        .search(&single, &IrisQuery::single(&half.left))
        .unwrap();
    assert_eq!(outcome.matches, [RecordId(3)]);
    assert!(matches!(
        Matcher::default().search(&single, &IrisQuery::pair(&half)),
        Err(GalleryError::WrongEyeCount { .. })
    ));
}

#[test]
fn fixed_point_rule_matches_its_definition_per_record() {
    let pop = population();
    let gallery = gallery_of(&pop);
    let rule = FixedPointRule::new(Threshold::new(0.40).unwrap());
    let matcher = Matcher::new(DecisionRule::FixedPoint(rule));
    for (_, probe) in pop.capture(1).take(5) {
        let outcome = matcher.search(&gallery, &IrisQuery::pair(probe)).unwrap();
        let expected: Vec<RecordId> = pop
            .capture(0)
            .filter(|(_, stored)| {
                [Eye::Left, Eye::Right].iter().all(|&e| {
                    ROTATIONS.clone().any(|s| {
                        rule.matches(HammingCounts::of(&probe.eye(e).rotated(s), stored.eye(e)))
                    })
                })
            })
            .map(|(i, _)| RecordId(i as u64))
            .collect();
        assert_eq!(outcome.matches, expected);
    }
}

#[test]
fn verify_and_delete() {
    let pop = population();
    let mut gallery = gallery_of(&pop);
    let matcher = Matcher::default();
    let probe = IrisQuery::pair(&pop.persons[7].captures[1]);
    let one = matcher
        .verify(&gallery, RecordId(7), &probe)
        .unwrap()
        .unwrap();
    assert!(one.is_match);
    assert_eq!(one.comparisons, 62);
    let other = matcher
        .verify(&gallery, RecordId(8), &probe)
        .unwrap()
        .unwrap();
    assert!(!other.is_match);
    assert!(gallery.remove(RecordId(7)));
    assert_eq!(matcher.verify(&gallery, RecordId(7), &probe).unwrap(), None);
    let after = matcher.search(&gallery, &probe).unwrap();
    assert!(
        !after.matches.contains(&RecordId(7)),
        "a deleted record still matched"
    );
}

#[test]
fn embedding_search_float_and_fixed_agree_with_brute_force() {
    let pop = FaceModel::default().generate(5, 50, 2);
    let mut gallery = EmbeddingGallery::new(512);
    for (i, person) in pop.iter().enumerate() {
        gallery.insert(RecordId(i as u64), &person[0]).unwrap();
    }
    let rule = CosineRule::new(0.4).unwrap();
    for (i, person) in pop.iter().enumerate().take(10) {
        let query = &person[1];
        let float = gallery.search(query, 0.4).unwrap();
        let expected: Vec<RecordId> = pop
            .iter()
            .enumerate()
            .filter(|(_, p)| p[0].cosine(query).unwrap() >= 0.4)
            .map(|(j, _)| RecordId(j as u64))
            .collect();
        let mut got: Vec<RecordId> = float.iter().map(|m| m.record).collect();
        got.sort();
        assert_eq!(got, expected);
        assert_eq!(float.first().map(|m| m.record), Some(RecordId(i as u64)));
        let fixed = gallery.search_fixed(query, rule).unwrap();
        let expected_fixed: Vec<RecordId> = pop
            .iter()
            .enumerate()
            .filter(|(_, p)| rule.is_match(p[0].quantize().dot(&query.quantize()).unwrap()))
            .map(|(j, _)| RecordId(j as u64))
            .collect();
        assert_eq!(
            fixed.iter().map(|m| m.record).collect::<Vec<_>>(),
            expected_fixed
        );
    }
}
