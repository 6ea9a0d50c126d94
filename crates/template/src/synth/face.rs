//! Face-like embeddings with a controllable genuine/impostor separation.
//!
//! An identity is a random direction `u`. A capture is `normalise(b*m + u + s*n)` where
//! `m` is a direction shared by the whole population (real embedding spaces are not
//! isotropic, which pushes impostor similarities above zero), `n` is fresh noise of unit
//! expected length and `s` the capture noise. Genuine cosine is about
//! `(1 + b^2) / (1 + b^2 + s^2)`; impostor cosine about `b^2 / (1 + b^2)` with spread
//! `~1/sqrt(d)`. Raising `s` moves the genuine scores towards the impostors.

use super::person_rng;
use crate::Embedding;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// Parameters of the embedding model.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceModel {
    /// Dimensions (64..=4096).
    pub dimensions: usize,
    /// Capture noise `s`: larger means genuine pairs look less alike.
    pub capture_noise: f64,
    /// Weight `b` of the shared population direction.
    pub population_bias: f64,
}

impl Default for FaceModel {
    /// 512 dimensions (ArcFace-like), genuine cosine ~0.6, impostor ~0.04.
    fn default() -> Self {
        Self {
            dimensions: 512,
            capture_noise: 0.8,
            population_bias: 0.2,
        }
    }
}

/// `persons[i][k]` is capture `k` of person `i`.
pub type FacePopulation = Vec<Vec<Embedding>>;

impl FaceModel {
    /// Generates `persons` identities with `captures` captures each.
    ///
    /// # Panics
    /// If `dimensions` is outside 64..=4096.
    pub fn generate(&self, seed: u64, persons: usize, captures: usize) -> FacePopulation {
        let shared = gaussian(&mut person_rng(seed, u64::MAX), self.dimensions);
        (0..persons)
            .map(|i| {
                let mut rng = person_rng(seed, i as u64);
                let identity = unit(gaussian(&mut rng, self.dimensions));
                (0..captures)
                    .map(|_| {
                        let noise = unit(gaussian(&mut rng, self.dimensions));
                        let v = (0..self.dimensions)
                            .map(|j| {
                                (self.population_bias * shared[j] / (self.dimensions as f64).sqrt()
                                    + identity[j]
                                    + self.capture_noise * noise[j])
                                    as f32
                            })
                            .collect();
                        Embedding::new(v).expect("dimensions are checked by the caller")
                    })
                    .collect()
            })
            .collect()
    }
}

fn gaussian(rng: &mut impl Rng, d: usize) -> Vec<f64> {
    (0..d).map(|_| StandardNormal.sample(rng)).collect()
}

fn unit(mut v: Vec<f64>) -> Vec<f64> {
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    v
}
