//! Errors for reading, validating and comparing templates.

use thiserror::Error;

/// Everything that can be wrong with a template or a comparison of two templates.
///
/// Messages say what was wrong and, where it helps, what to do about it. They never
/// contain template bits.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum TemplateError {
    /// A base64 string did not decode.
    #[error("{field}: not valid base64 ({reason}); expected standard base64 with padding")]
    BadBase64 {
        /// Which field of the input was being decoded.
        field: String,
        /// The decoder's explanation.
        reason: String,
    },
    /// Decoded data had the wrong number of bytes.
    #[error(
        "{field}: decoded to {actual} bytes, an iris code needs exactly {expected} (16 rows x 200 columns x 2 filters x 2 bits, packed MSB-first)"
    )]
    WrongLength {
        /// Which field of the input was being decoded.
        field: String,
        /// Bytes required.
        expected: usize,
        /// Bytes found.
        actual: usize,
    },
    /// A mask had different bits for the real and imaginary part of one filter response.
    #[error(
        "mask bits differ between the real and imaginary part at row {row}, column {column}, filter {filter}; open-iris masks are equal on each real/imag pair, so the mask is corrupt or in another layout"
    )]
    MaskPairMismatch {
        /// Row (radial position), 0..16.
        row: usize,
        /// Column (angular position), 0..200.
        column: usize,
        /// Filter index, 0..2.
        filter: usize,
    },
    /// Two templates overlap on too few unmasked bits to decide anything.
    #[error(
        "only {overlap} unmasked bits overlap, at least {required} are needed to decide; capture again with the eye open and in focus"
    )]
    InsufficientOverlap {
        /// Overlapping unmasked bits.
        overlap: u32,
        /// The configured minimum.
        required: u32,
    },
    /// A JSON document did not have the expected shape.
    #[error("template JSON: {0}")]
    BadJson(String),
    /// An embedding had an unsupported number of dimensions.
    #[error("embedding has {0} dimensions; supported are 64 to 4096")]
    BadEmbeddingDimension(usize),
    /// An embedding contained NaN or infinity, or had zero length.
    #[error("embedding is not a usable vector (zero length, NaN or infinite component)")]
    DegenerateEmbedding,
    /// Two embeddings of different dimension were compared.
    #[error("cannot compare embeddings of {0} and {1} dimensions")]
    DimensionMismatch(usize, usize),
    /// A threshold outside its meaningful range.
    #[error("threshold {value} is out of range: {expected}")]
    BadThreshold {
        /// The value given.
        value: f64,
        /// What would be accepted.
        expected: &'static str,
    },
}
