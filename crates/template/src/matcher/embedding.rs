//! Embedding mode: 1:N by cosine similarity, in float or in the MPC's fixed point.
//!
//! Vectors are stored contiguously (one row per record, in float and in fixed point);
//! the dot products are plain loops that the compiler vectorises.

use super::gallery::RecordId;
use crate::{CosineRule, Embedding, TemplateError};
use rayon::prelude::*;

/// An embedding gallery of one fixed dimension.
#[derive(Clone)]
pub struct EmbeddingGallery {
    dimensions: usize,
    ids: Vec<RecordId>,
    floats: Vec<f32>,
    fixed: Vec<i16>,
}

/// A record that passed the threshold, with its similarity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmbeddingMatch {
    /// The record.
    pub record: RecordId,
    /// Cosine similarity (float mode), or the fixed-point dot divided by `2^(2F)`.
    pub similarity: f64,
}

impl EmbeddingGallery {
    /// An empty gallery for vectors of `dimensions`.
    pub fn new(dimensions: usize) -> Self {
        Self {
            dimensions,
            ids: Vec::new(),
            floats: Vec::new(),
            fixed: Vec::new(),
        }
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the gallery is empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Enrols a record.
    ///
    /// # Errors
    /// [`TemplateError::DimensionMismatch`] for a vector of another dimension.
    pub fn insert(&mut self, id: RecordId, e: &Embedding) -> Result<(), TemplateError> {
        if e.dimensions() != self.dimensions {
            return Err(TemplateError::DimensionMismatch(
                self.dimensions,
                e.dimensions(),
            ));
        }
        self.ids.push(id);
        self.floats.extend_from_slice(e.values());
        self.fixed.extend_from_slice(e.quantize().values());
        Ok(())
    }

    /// Records whose cosine similarity with `query` is at least `threshold`, best first.
    ///
    /// # Errors
    /// [`TemplateError::DimensionMismatch`] for a query of another dimension.
    pub fn search(
        &self,
        query: &Embedding,
        threshold: f64,
    ) -> Result<Vec<EmbeddingMatch>, TemplateError> {
        self.check(query)?;
        let q = query.values();
        let mut found: Vec<EmbeddingMatch> = self
            .floats
            .par_chunks(self.dimensions)
            .zip(self.ids.par_iter())
            .filter_map(|(row, &record)| {
                let similarity: f64 = row.iter().zip(q).map(|(&a, &b)| f64::from(a * b)).sum();
                (similarity >= threshold).then_some(EmbeddingMatch { record, similarity })
            })
            .collect();
        found.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
        Ok(found)
    }

    /// Records accepted by the fixed-point rule (the MPC engine's decision), in slot order.
    ///
    /// # Errors
    /// [`TemplateError::DimensionMismatch`] for a query of another dimension.
    pub fn search_fixed(
        &self,
        query: &Embedding,
        rule: CosineRule,
    ) -> Result<Vec<EmbeddingMatch>, TemplateError> {
        self.check(query)?;
        let q = query.quantize();
        let scale = (1u64 << (2 * crate::QuantizedEmbedding::FRACTION_BITS)) as f64;
        Ok(self
            .fixed
            .par_chunks(self.dimensions)
            .zip(self.ids.par_iter())
            .filter_map(|(row, &record)| {
                let dot: i32 = row
                    .iter()
                    .zip(q.values())
                    .map(|(&a, &b)| i32::from(a) * i32::from(b))
                    .sum();
                rule.is_match(dot).then_some(EmbeddingMatch {
                    record,
                    similarity: f64::from(dot) / scale,
                })
            })
            .collect())
    }

    fn check(&self, query: &Embedding) -> Result<(), TemplateError> {
        if query.dimensions() == self.dimensions {
            Ok(())
        } else {
            Err(TemplateError::DimensionMismatch(
                self.dimensions,
                query.dimensions(),
            ))
        }
    }
}
