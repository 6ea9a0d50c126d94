//! The errors of masque-mask: each says what was wrong and what to do about it.

use std::path::PathBuf;

/// Everything that can stop a photo from being masked.
///
/// No variant ever leads to the original being passed through: a file that fails gets no
/// output at all.
#[derive(Debug, thiserror::Error)]
pub enum MaskError {
    /// The embedded face model could not be loaded or run (a bug or a corrupted build).
    #[error("the face detector failed: {0}; the binary may be damaged, rebuild masque")]
    Model(String),
    /// The file is not in a format masque mask reads.
    #[error(
        "{what}: masque mask reads JPEG, PNG, WebP, GIF and TIFF photos and MP4, MOV and WebM videos only; convert the file to one of these (for HEIC or RAW, export a JPEG) and try again"
    )]
    UnsupportedFormat {
        /// What the first bytes look like.
        what: String,
    },
    /// The image's header announces more pixels than the limit allows (a decompression bomb
    /// or a very large scan).
    #[error(
        "the image says it is {width} x {height} pixels, above the limit of {limit} megapixels; refused without decoding it (a decompression bomb or a damaged header). Scale the image down first if it is genuine"
    )]
    TooLarge {
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// The pixel limit, in megapixels.
        limit: u64,
    },
    /// The image data is truncated or malformed.
    #[error(
        "the image could not be decoded ({0}); the file is truncated or damaged. No output was written for it"
    )]
    Decode(String),
    /// ffmpeg or ffprobe, needed for video, could not be started.
    #[error("{0}")]
    Ffmpeg(String),
    /// A video could not be read or written.
    #[error(
        "the video could not be masked: {0}. No output was written for it; if the file plays, convert it to MP4 (H.264) and try again"
    )]
    Video(String),
    /// The masked image could not be encoded.
    #[error("the masked image could not be encoded: {0}")]
    Encode(String),
    /// The benchmark was asked for something it cannot measure.
    #[error("invalid benchmark settings: {0}")]
    BenchSettings(String),
    /// A manual regions file is malformed.
    #[error(
        "the regions file {path} is not valid: {reason}. Expected a JSON list like [{{\"file\": \"a.jpg\", \"x\": 10, \"y\": 20, \"width\": 50, \"height\": 60}}]"
    )]
    Regions {
        /// The regions file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
}
