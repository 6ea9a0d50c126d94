//! Seeded, reproducible synthetic populations with realistic statistics.
//!
//! Every person gets their own random stream derived from `(seed, person index)`, so a
//! population is the same whatever the thread count, and person `i` is the same in a
//! population of 100 and one of 100,000.
//!
//! - [`iris`]: the iris code model (textures, captures, eyelid-shaped masks).
//! - [`file`](mod@file): the checksummed population file, written atomically.
//! - [`face`]: face-like embeddings with a controllable genuine/impostor separation.

pub mod face;
pub mod file;
pub mod iris;

use crate::EyePair;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

/// A person's captures: `captures[k]` is the k-th capture of both eyes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticPerson {
    /// Both eyes, once per capture session.
    pub captures: Vec<EyePair>,
}

/// A synthetic population: `persons[i].captures[k]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IrisPopulation {
    /// The persons, in index order.
    pub persons: Vec<SyntheticPerson>,
}

impl IrisPopulation {
    /// Generates `persons` persons with `captures` captures each, in parallel.
    /// `progress` is called once per finished person (from any thread).
    pub fn generate(
        model: &iris::IrisModel,
        seed: u64,
        persons: usize,
        captures: usize,
        progress: &(dyn Fn() + Sync),
    ) -> Self {
        let persons = (0..persons)
            .into_par_iter()
            .map(|index| {
                let mut rng = person_rng(seed, index as u64);
                let left = model.new_eye(&mut rng);
                let right = model.new_eye(&mut rng);
                let captures = (0..captures)
                    .map(|_| EyePair {
                        left: model.capture(&left, &mut rng),
                        right: model.capture(&right, &mut rng),
                    })
                    .collect();
                progress();
                SyntheticPerson { captures }
            })
            .collect();
        Self { persons }
    }

    /// Capture `k` of every person that has one, with the person's index.
    pub fn capture(&self, k: usize) -> impl Iterator<Item = (usize, &EyePair)> {
        self.persons
            .iter()
            .enumerate()
            .filter_map(move |(i, p)| p.captures.get(k).map(|c| (i, c)))
    }
}

/// The random stream of one person: ChaCha20 keyed by the seed, one stream per person.
pub(crate) fn person_rng(seed: u64, person: u64) -> ChaCha20Rng {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    rng.set_stream(person);
    rng
}

#[cfg(test)]
mod tests;
