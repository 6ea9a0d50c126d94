//! The population file: a compact, checksummed binary form of an [`IrisPopulation`].
//!
//! ```text
//! "MASQPOP1"                      8 bytes, magic and format version
//! header length                   u32, little-endian
//! header                          JSON: {"persons", "captures", "seed"}
//! records                         per person, per capture: left code, left mask,
//!                                 right code, right mask; 1,600 bytes each, packed
//!                                 MSB-first as in open-iris
//! SHA-256                         32 bytes, of everything before it
//! ```
//!
//! Files are written to a temporary file in the same directory, synced and renamed into
//! place, so a crash leaves either the old file or the complete new one. Reading checks
//! the magic, the sizes, the checksum and every template.

use super::{IrisPopulation, SyntheticPerson};
use crate::{EyePair, IrisCode, TemplateError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use thiserror::Error;

const MAGIC: &[u8; 8] = b"MASQPOP1";
const RECORD_BYTES: usize = 4 * IrisCode::PACKED_BYTES;
/// Headers are small; a larger length means the file is not a population file.
const MAX_HEADER: usize = 64 * 1024;

/// What a population file says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationHeader {
    /// Number of persons.
    pub persons: usize,
    /// Captures per person.
    pub captures: usize,
    /// The seed it was generated from, if synthetic.
    pub seed: Option<u64>,
}

/// Errors reading or writing population files.
#[derive(Debug, Error)]
pub enum PopulationFileError {
    /// The file system said no.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not a population file, or one of another version.
    #[error(
        "{0}: not a masque population file (expected it to start with MASQPOP1); create one with `masque synth`"
    )]
    NotAPopulation(String),
    /// The file is shorter or longer than its header says, or its checksum is wrong.
    #[error("{path}: the file is damaged ({what}); generate it again with `masque synth`")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        what: String,
    },
    /// A template inside failed validation.
    #[error("{path}: person {person}, capture {capture}: {source}")]
    BadTemplate {
        /// The file.
        path: String,
        /// Person index.
        person: usize,
        /// Capture index.
        capture: usize,
        /// The validation error.
        source: TemplateError,
    },
}

impl IrisPopulation {
    /// Writes the population atomically to `path`.
    ///
    /// # Errors
    /// [`PopulationFileError::Io`] if the file cannot be written; nothing is left at
    /// `path` in that case unless a previous file was there.
    pub fn write_file(&self, path: &Path, seed: Option<u64>) -> Result<(), PopulationFileError> {
        let io = |source| PopulationFileError::Io {
            path: path.display().to_string(),
            source,
        };
        let captures = self.persons.first().map_or(0, |p| p.captures.len());
        let header = serde_json::to_vec(&PopulationHeader {
            persons: self.persons.len(),
            captures,
            seed,
        })
        .expect("the header serialises");
        let mut bytes =
            Vec::with_capacity(48 + header.len() + self.persons.len() * captures * RECORD_BYTES);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&header);
        for person in &self.persons {
            assert_eq!(
                person.captures.len(),
                captures,
                "every person needs the same number of captures"
            );
            for pair in &person.captures {
                for eye in [&pair.left, &pair.right] {
                    bytes.extend_from_slice(&eye.code_packed());
                    bytes.extend_from_slice(&eye.mask_packed());
                }
            }
        }
        let digest = Sha256::digest(&bytes);
        bytes.extend_from_slice(&digest);

        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        tmp.write_all(&bytes).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(path).map_err(|e| io(e.error))?;
        if let Ok(d) = std::fs::File::open(dir) {
            // Make the rename durable; some file systems do not support syncing a directory.
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Reads and validates a population file.
    ///
    /// # Errors
    /// Any [`PopulationFileError`]; the message says what to do.
    pub fn read_file(path: &Path) -> Result<(Self, PopulationHeader), PopulationFileError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| PopulationFileError::Io {
            path: name.clone(),
            source,
        })?;
        let corrupt = |what: String| PopulationFileError::Corrupt {
            path: name.clone(),
            what,
        };
        if bytes.len() < 12 || &bytes[..8] != MAGIC {
            return Err(PopulationFileError::NotAPopulation(name));
        }
        let header_len = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
        if header_len > MAX_HEADER || bytes.len() < 12 + header_len + 32 {
            return Err(corrupt("truncated header".into()));
        }
        let header: PopulationHeader = serde_json::from_slice(&bytes[12..12 + header_len])
            .map_err(|e| corrupt(format!("bad header: {e}")))?;
        let body = 12 + header_len;
        let expected = header
            .persons
            .checked_mul(header.captures)
            .and_then(|n| n.checked_mul(RECORD_BYTES))
            .and_then(|n| n.checked_add(body + 32));
        if expected != Some(bytes.len()) {
            return Err(corrupt(format!(
                "{} bytes, the header promises {} persons x {} captures",
                bytes.len(),
                header.persons,
                header.captures
            )));
        }
        let (content, digest) = bytes.split_at(bytes.len() - 32);
        if Sha256::digest(content)[..] != *digest {
            return Err(corrupt("checksum mismatch".into()));
        }
        let mut records = content[body..].chunks_exact(RECORD_BYTES);
        let mut persons = Vec::with_capacity(header.persons);
        for person in 0..header.persons {
            let mut captures = Vec::with_capacity(header.captures);
            for capture in 0..header.captures {
                let r = records.next().expect("length checked above");
                let p = IrisCode::PACKED_BYTES;
                let eye = |k: usize| {
                    IrisCode::from_packed(
                        &r[2 * k * p..(2 * k + 1) * p],
                        &r[(2 * k + 1) * p..(2 * k + 2) * p],
                    )
                };
                let pair = eye(0).and_then(|left| {
                    Ok(EyePair {
                        left,
                        right: eye(1)?,
                    })
                });
                captures.push(pair.map_err(|source| PopulationFileError::BadTemplate {
                    path: name.clone(),
                    person,
                    capture,
                    source,
                })?);
            }
            persons.push(SyntheticPerson { captures });
        }
        Ok((Self { persons }, header))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::iris::IrisModel;

    #[test]
    fn round_trips_and_detects_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pop.bin");
        let pop = IrisPopulation::generate(&IrisModel::default(), 3, 4, 2, &|| ());
        pop.write_file(&path, Some(3)).unwrap();
        let (back, header) = IrisPopulation::read_file(&path).unwrap();
        assert_eq!(back, pop);
        assert_eq!(
            header,
            PopulationHeader {
                persons: 4,
                captures: 2,
                seed: Some(3)
            }
        );

        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(
            IrisPopulation::read_file(&path),
            Err(PopulationFileError::Corrupt { .. })
        ));
        std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
        assert!(matches!(
            IrisPopulation::read_file(&path),
            Err(PopulationFileError::Corrupt { .. })
        ));
        std::fs::write(&path, b"{\"json\": true}").unwrap();
        assert!(matches!(
            IrisPopulation::read_file(&path),
            Err(PopulationFileError::NotAPopulation(_))
        ));
        assert!(matches!(
            IrisPopulation::read_file(&dir.path().join("missing")),
            Err(PopulationFileError::Io { .. })
        ));
    }

    #[test]
    fn failed_write_leaves_no_file() {
        let pop = IrisPopulation::generate(&IrisModel::default(), 3, 1, 1, &|| ());
        let missing_dir = Path::new("/nonexistent-masque-dir/pop.bin");
        assert!(matches!(
            pop.write_file(missing_dir, None),
            Err(PopulationFileError::Io { .. })
        ));
    }
}
