//! Biometric templates for masque: iris codes, embeddings, distances, synthetic
//! populations, the plaintext matcher and accuracy metrics.
//!
//! This crate is plaintext only. It is the reference the MPC engine (`masque-mpc`) is
//! checked against, and the speed it is compared with. It never logs or prints template
//! bits: `Debug` on templates shows only summary figures.
//!
//! - [`iris`]: the [`IrisCode`] type, its exact bit layout and rotations, and the open-iris
//!   and iris-mpc file formats ([`iris::codec`]).
//! - [`distance`]: fractional Hamming distance, the minimum over rotations, and the
//!   fixed-point decision rule shared with the MPC engine.
//! - [`embedding`]: L2-normalised embeddings, cosine similarity, fixed-point quantisation.
//! - [`matcher`]: the multi-threaded 1:N / 1:1 matcher with runtime-selected SIMD kernels.
//! - [`eval`]: FMR/FNMR, EER, DET plots (`plot` feature) and the ISO/IEC 24745
//!   unlinkability metric.
//! - [`synth`]: seeded synthetic populations with the statistics of real iris codes.
//! - [`bench`](mod@bench): the throughput measurement behind `masque bench match`.

#![deny(missing_docs)]

pub mod bench;
pub mod coverage;
pub mod distance;
pub mod embedding;
mod error;
pub mod eval;
pub mod iris;
pub mod matcher;
pub mod synth;

pub use coverage::CoverageGate;
pub use distance::{FixedPointRule, HammingCounts, MinOverlap, Threshold};
pub use embedding::{CosineRule, Embedding, QuantizedEmbedding};
pub use error::TemplateError;
pub use iris::codec::{Eye, EyePair, IrisDocument};
pub use iris::{IrisCode, ROTATIONS};
