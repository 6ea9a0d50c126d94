//! The population statistics the foundation issue requires, measured on generated data.

use super::face::FaceModel;
use super::iris::IrisModel;
use super::*;
use crate::distance::{HammingCounts, MinOverlap, min_over_rotations};
use crate::{Eye, IrisCode};

struct Stats {
    mean: f64,
    sd: f64,
}

fn stats(xs: &[f64]) -> Stats {
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
    Stats {
        mean,
        sd: var.sqrt(),
    }
}

fn population() -> IrisPopulation {
    IrisPopulation::generate(&IrisModel::default(), 7, 160, 2, &|| ())
}

/// All eyes of capture `k`, each eye a separate identity.
fn eyes(pop: &IrisPopulation, k: usize) -> Vec<&IrisCode> {
    pop.capture(k)
        .flat_map(|(_, pair)| [pair.eye(Eye::Left), pair.eye(Eye::Right)])
        .collect()
}

#[test]
fn impostor_distances_look_like_real_iris_codes() {
    let pop = population();
    let (probes, gallery) = (eyes(&pop, 1), eyes(&pop, 0));
    let mut plain = Vec::new();
    let mut rotated = Vec::new();
    'outer: for (i, probe) in probes.iter().enumerate() {
        for (j, stored) in gallery.iter().enumerate() {
            if i == j {
                continue;
            }
            let counts = HammingCounts::of(probe, stored);
            plain.push(counts.fractional(MinOverlap::DEFAULT).unwrap());
            if rotated.len() < 10_000 {
                rotated.push(
                    min_over_rotations(probe, stored, MinOverlap::DEFAULT)
                        .unwrap()
                        .distance,
                );
            } else if plain.len() >= 20_000 {
                break 'outer;
            }
        }
    }
    assert!(rotated.len() >= 10_000 && plain.len() >= 10_000);
    let (p, r) = (stats(&plain), stats(&rotated));
    eprintln!(
        "impostor FHD: mean {:.4} sd {:.4} (dof {:.0}); min over rotations mean {:.4} sd {:.4}",
        p.mean,
        p.sd,
        p.mean * (1.0 - p.mean) / (p.sd * p.sd),
        r.mean,
        r.sd
    );
    assert!((p.mean - 0.50).abs() <= 0.005, "impostor mean {}", p.mean);
    assert!((0.028..=0.036).contains(&p.sd), "impostor sd {}", p.sd);
    assert!((0.44..=0.47).contains(&r.mean), "rotated mean {}", r.mean);
}

#[test]
fn genuine_pairs_look_like_new_captures() {
    let pop = population();
    let mut distances = Vec::new();
    let mut shifts = Vec::new();
    let mut coverage = Vec::new();
    for person in &pop.persons {
        for eye in [Eye::Left, Eye::Right] {
            let (a, b) = (person.captures[1].eye(eye), person.captures[0].eye(eye));
            let best = min_over_rotations(a, b, MinOverlap::DEFAULT).unwrap();
            distances.push(best.distance);
            shifts.push(best.shift);
            coverage.push(a.coverage());
        }
    }
    let g = stats(&distances);
    eprintln!(
        "genuine FHD: mean {:.4} sd {:.4}; coverage {:.3}..{:.3}",
        g.mean,
        g.sd,
        coverage.iter().cloned().fold(1.0, f64::min),
        coverage.iter().cloned().fold(0.0, f64::max)
    );
    assert!((0.15..=0.30).contains(&g.mean), "genuine mean {}", g.mean);
    assert!(coverage.iter().all(|c| (0.60..=0.95).contains(c)));
    // Two captures each rotated by at most 8 columns: the best shift is within 16, and
    // the best shifts must actually spread (captures are rotated, not aligned).
    assert!(shifts.iter().all(|s| s.abs() <= 16));
    assert!(shifts.iter().filter(|s| s.abs() >= 4).count() > shifts.len() / 4);
}

#[test]
fn populations_are_reproducible_and_independent_of_size() {
    let model = IrisModel::default();
    let small = IrisPopulation::generate(&model, 99, 3, 2, &|| ());
    let large = IrisPopulation::generate(&model, 99, 5, 2, &|| ());
    assert_eq!(small.persons[..], large.persons[..3]);
    let other = IrisPopulation::generate(&model, 100, 3, 2, &|| ());
    assert_ne!(small, other);
}

#[test]
fn face_separation_is_controllable() {
    let mean_scores = |noise: f64| {
        let model = FaceModel {
            capture_noise: noise,
            ..FaceModel::default()
        };
        let pop = model.generate(3, 60, 2);
        let genuine: Vec<f64> = pop.iter().map(|p| p[0].cosine(&p[1]).unwrap()).collect();
        let impostor: Vec<f64> = (1..pop.len())
            .map(|i| pop[i][0].cosine(&pop[i - 1][1]).unwrap())
            .collect();
        (stats(&genuine).mean, stats(&impostor).mean)
    };
    let (clean_genuine, clean_impostor) = mean_scores(0.5);
    let (noisy_genuine, noisy_impostor) = mean_scores(1.5);
    assert!(clean_genuine > 0.7 && noisy_genuine < 0.45);
    assert!(clean_impostor.abs() < 0.1 && noisy_impostor.abs() < 0.1);
    assert!(clean_genuine - clean_impostor > noisy_genuine - noisy_impostor);
}
