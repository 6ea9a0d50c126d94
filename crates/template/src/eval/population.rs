//! Genuine and impostor scores of a synthetic population: iris codes computed with the
//! matcher's kernels so that millions of pairs take seconds ([`population_scores`]), and
//! face-like embeddings by cosine similarity ([`face_scores`]).
//!
//! Captures 0 are the enrolled eyes, captures 1 the probes. Eye-level scores compare a
//! probe eye with every enrolled eye of the same side (the probe's own eye is the
//! genuine pair); person-level scores take the larger of the two eyes' distances, which
//! is the two-eye rule (both eyes must be below the threshold). A pair with too little
//! overlap at every rotation scores `+inf`: it can never be accepted.

use super::ScoreSet;
use crate::iris::ROTATION_COUNT;
use crate::matcher::Kernel;
use crate::matcher::gallery::EyePlanes;
use crate::matcher::layout::{PackedEye, PackedRotations};
use crate::synth::IrisPopulation;
use crate::synth::face::FacePopulation;
use crate::{Eye, HammingCounts, MinOverlap, TemplateError};
use rayon::prelude::*;

/// The operating cosine similarity reported for face-like embeddings when none is
/// asked for: between the default face model's impostor (~0.04) and genuine (~0.6)
/// cosines. Iris evaluations use [`crate::Threshold::DEFAULT`].
pub const FACE_COSINE_THRESHOLD: f64 = 0.4;

/// Scores of a face population: capture 1 of every person against capture 0 of every
/// person, as distances `1 - cosine` ([`ScoreSet::from_similarities`]); a person's own
/// capture 0 is the genuine pair.
///
/// Persons with fewer than two captures are skipped.
///
/// # Errors
/// [`TemplateError::DimensionMismatch`] if two embeddings differ in dimension.
pub fn face_scores(pop: &FacePopulation) -> Result<ScoreSet, TemplateError> {
    let persons: Vec<&Vec<crate::Embedding>> = pop.iter().filter(|p| p.len() >= 2).collect();
    let genuine: Vec<f64> = persons
        .iter()
        .map(|p| p[1].cosine(&p[0]))
        .collect::<Result<_, _>>()?;
    let rows: Vec<Vec<f64>> = persons
        .par_iter()
        .enumerate()
        .map(|(i, probe)| {
            persons
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, stored)| probe[1].cosine(&stored[0]))
                .collect::<Result<Vec<f64>, _>>()
        })
        .collect::<Result<_, _>>()?;
    let impostor: Vec<f64> = rows.concat();
    Ok(ScoreSet::from_similarities(&genuine, &impostor))
}

/// Eye-level and person-level scores.
#[derive(Debug, Clone, Default)]
pub struct PopulationScores {
    /// One score per (probe eye, enrolled eye of the same side).
    pub eyes: ScoreSet,
    /// One score per (probe person, enrolled person).
    pub persons: ScoreSet,
}

/// Scores every probe (capture 1) against every enrolled person (capture 0).
/// `progress` is called with the number of comparisons (eye x rotation) just finished.
///
/// Persons with fewer than two captures are skipped.
pub fn population_scores(
    pop: &IrisPopulation,
    min_overlap: MinOverlap,
    progress: &(dyn Fn(u64) + Sync),
) -> PopulationScores {
    let persons: Vec<usize> = (0..pop.persons.len())
        .filter(|&i| pop.persons[i].captures.len() >= 2)
        .collect();
    let sides = [Eye::Left, Eye::Right];
    let galleries: Vec<EyePlanes> = sides
        .iter()
        .map(|&side| {
            let mut planes = EyePlanes::default();
            planes.reserve(persons.len());
            for &i in &persons {
                planes.push(&PackedEye::new(pop.persons[i].captures[0].eye(side)));
            }
            planes
        })
        .collect();
    let kernel = Kernel::best();
    let n = persons.len();
    let rows: Vec<[Vec<f64>; 2]> = persons
        .par_iter()
        .map_init(
            || vec![HammingCounts::default(); n * ROTATION_COUNT],
            |buffer, &p| {
                let probe = &pop.persons[p].captures[1];
                let row = sides.map(|side| {
                    let rotations = PackedRotations::new(probe.eye(side));
                    let planes = &galleries[side as usize];
                    kernel.count(&rotations, planes, 0..n, buffer);
                    buffer
                        .chunks(ROTATION_COUNT)
                        .map(|c| {
                            c.iter()
                                .filter_map(|c| c.fractional(min_overlap).ok())
                                .fold(f64::INFINITY, f64::min)
                        })
                        .collect::<Vec<f64>>()
                });
                progress((2 * n * ROTATION_COUNT) as u64);
                row
            },
        )
        .collect();
    let mut out = PopulationScores::default();
    for (probe, row) in rows.iter().enumerate() {
        for (enrolled, (&l, &r)) in row[0].iter().zip(&row[1]).enumerate() {
            let (eye_set, person_set) = if probe == enrolled {
                (&mut out.eyes.genuine, &mut out.persons.genuine)
            } else {
                (&mut out.eyes.impostor, &mut out.persons.impostor)
            };
            eye_set.extend([l, r]);
            person_set.push(l.max(r));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::min_over_rotations;
    use crate::synth::face::FaceModel;
    use crate::synth::iris::IrisModel;

    #[test]
    fn face_scores_pair_each_probe_with_every_enrolled_person() {
        let pop = FaceModel::default().generate(3, 6, 2);
        let scores = face_scores(&pop).unwrap();
        assert_eq!(scores.genuine.len(), 6);
        assert_eq!(scores.impostor.len(), 6 * 5);
        let d = |p: usize, e: usize| 1.0 - pop[p][1].cosine(&pop[e][0]).unwrap();
        assert_eq!(scores.genuine[4], d(4, 4));
        // Probe 0 against enrolled 1 is the first impostor pair, probe 1 against 0 the
        // sixth.
        assert_eq!(scores.impostor[0], d(0, 1));
        assert_eq!(scores.impostor[5], d(1, 0));
        let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
        assert!(mean(&scores.genuine) < mean(&scores.impostor));
        // One capture only: nothing to score; mixed dimensions: an error, not a panic.
        let single = FaceModel::default().generate(3, 4, 1);
        assert_eq!(face_scores(&single).unwrap(), ScoreSet::default());
        let mut mixed = pop.clone();
        mixed[2] = FaceModel {
            dimensions: 64,
            ..FaceModel::default()
        }
        .generate(3, 1, 2)
        .remove(0);
        assert!(matches!(
            face_scores(&mixed),
            Err(TemplateError::DimensionMismatch(..))
        ));
    }

    #[test]
    fn scores_equal_brute_force_distances() {
        let pop = IrisPopulation::generate(&IrisModel::default(), 5, 12, 2, &|| ());
        let scores = population_scores(&pop, MinOverlap::DEFAULT, &|_| ());
        assert_eq!(scores.eyes.genuine.len(), 24);
        assert_eq!(scores.eyes.impostor.len(), 2 * 12 * 11);
        assert_eq!(scores.persons.impostor.len(), 12 * 11);
        let d = |p: usize, e: usize, side: Eye| {
            min_over_rotations(
                pop.persons[p].captures[1].eye(side),
                pop.persons[e].captures[0].eye(side),
                MinOverlap::DEFAULT,
            )
            .unwrap()
            .distance
        };
        // Probe 0 against enrolled 1 is the first impostor pair.
        assert_eq!(scores.eyes.impostor[0], d(0, 1, Eye::Left));
        assert_eq!(scores.eyes.impostor[1], d(0, 1, Eye::Right));
        assert_eq!(
            scores.persons.genuine[3],
            d(3, 3, Eye::Left).max(d(3, 3, Eye::Right))
        );
    }
}
