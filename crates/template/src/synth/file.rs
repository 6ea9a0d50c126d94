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
    /// The file could not be written (the source names the file and the step).
    #[error("cannot write the population to {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The cause.
        source: masque_files::FileError,
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
    /// The header claims no persons or no captures per person: not a population, and
    /// nothing that a valid file could contain.
    #[error(
        "{path}: the header says {persons} persons x {captures} captures, but a population needs at least one person with at least one capture; the file is damaged or was not written by masque, generate it again with `masque synth`"
    )]
    EmptyCounts {
        /// The file.
        path: String,
        /// Persons the header claims.
        persons: usize,
        /// Captures per person the header claims.
        captures: usize,
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
        let captures = self.persons.first().map_or(0, |p| p.captures.len());
        if self.persons.is_empty() || captures == 0 {
            // Such a file would be refused when read: do not write it.
            return Err(PopulationFileError::EmptyCounts {
                path: path.display().to_string(),
                persons: self.persons.len(),
                captures,
            });
        }
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

        masque_files::write_atomic(path, &bytes, masque_files::WriteOptions::REPLACE).map_err(|e| {
            PopulationFileError::Write {
                path: path.display().to_string(),
                source: e,
            }
        })
    }

    /// Reads and validates a population file.
    ///
    /// Nothing is allocated for persons or captures before the header's counts have been
    /// checked against the file's length, so a hostile header cannot exhaust memory.
    ///
    /// # Errors
    /// Any [`PopulationFileError`]; the message says what to do.
    pub fn read_file(path: &Path) -> Result<(Self, PopulationHeader), PopulationFileError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| PopulationFileError::Io {
            path: name.clone(),
            source,
        })?;
        Self::parse(&name, &bytes)
    }

    /// Parses and validates the bytes of a population file; `name` names it in errors.
    fn parse(name: &str, bytes: &[u8]) -> Result<(Self, PopulationHeader), PopulationFileError> {
        let corrupt = |what: String| PopulationFileError::Corrupt {
            path: name.to_owned(),
            what,
        };
        if bytes.len() < 12 || &bytes[..8] != MAGIC {
            return Err(PopulationFileError::NotAPopulation(name.to_owned()));
        }
        let header_len = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
        if header_len > MAX_HEADER || bytes.len() < 12 + header_len + 32 {
            return Err(corrupt("truncated header".into()));
        }
        let header: PopulationHeader = serde_json::from_slice(&bytes[12..12 + header_len])
            .map_err(|e| corrupt(format!("bad header: {e}")))?;
        let body = 12 + header_len;
        if header.persons == 0 || header.captures == 0 {
            return Err(PopulationFileError::EmptyCounts {
                path: name.to_owned(),
                persons: header.persons,
                captures: header.captures,
            });
        }
        // The records must fill the space between the header and the checksum exactly.
        // With both counts at least 1 this bounds each of them by the file's length
        // before anything is allocated.
        let expected = header
            .persons
            .checked_mul(header.captures)
            .and_then(|n| n.checked_mul(RECORD_BYTES))
            .and_then(|n| n.checked_add(body + 32));
        if expected != Some(bytes.len()) {
            return Err(corrupt(format!(
                "{} bytes, but the header promises {} persons x {} captures, which need {}",
                bytes.len(),
                header.persons,
                header.captures,
                expected.map_or("more bytes than a file can hold".to_owned(), |n| format!(
                    "{n} bytes"
                ))
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
                    path: name.to_owned(),
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
    use proptest::prelude::*;

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

    /// A population file around `header` and `body`, with a correct checksum.
    fn file_with(header: &[u8], body: &[u8]) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(body);
        let digest = Sha256::digest(&bytes);
        bytes.extend_from_slice(&digest);
        bytes
    }

    fn header_json(persons: usize, captures: usize, seed: Option<u64>) -> Vec<u8> {
        serde_json::to_vec(&PopulationHeader {
            persons,
            captures,
            seed,
        })
        .unwrap()
    }

    /// Re-computes the checksum of a (mutated) file, so that only the content decides.
    fn reseal(bytes: &mut [u8]) {
        if bytes.len() >= 32 {
            let end = bytes.len() - 32;
            let digest = Sha256::digest(&bytes[..end]);
            bytes[end..].copy_from_slice(&digest);
        }
    }

    #[test]
    fn hostile_counts_are_refused_before_allocating() {
        // Found by fuzzing `masque match`: a 105-byte file whose header promises 2^60
        // persons of no captures passed the length check (0 records) and panicked with a
        // capacity overflow; 2e7 persons aborted on allocation.
        let cases = [
            (1usize << 60, 0usize, 0usize),
            (20_000_000, 0, 0),
            (0, 3, 0),
            (0, 0, 0),
            (1 << 60, 1, 1),
            (1 << 62, 1 << 62, 2),
            (usize::MAX, usize::MAX, 1),
            (3, 2, 5),
        ];
        for (persons, captures, records) in cases {
            let bytes = file_with(
                &header_json(persons, captures, Some(123_456_789)),
                &vec![0u8; records * RECORD_BYTES],
            );
            let err = IrisPopulation::parse("hostile.bin", &bytes).unwrap_err();
            if persons == 0 || captures == 0 {
                assert!(
                    matches!(err, PopulationFileError::EmptyCounts { persons: p, captures: c, .. } if p == persons && c == captures),
                    "{persons} x {captures}: {err}"
                );
            } else {
                assert!(
                    matches!(err, PopulationFileError::Corrupt { .. }),
                    "{persons} x {captures}: {err}"
                );
            }
            let text = err.to_string();
            assert!(
                text.contains("hostile.bin")
                    && text.contains(&persons.to_string())
                    && text.contains("masque synth"),
                "{text}"
            );
        }
        let zero = file_with(&header_json(0, 2, None), &[]);
        let text = IrisPopulation::parse("empty.bin", &zero)
            .unwrap_err()
            .to_string();
        assert!(text.contains("at least one person"), "{text}");
    }

    /// A small valid file (two persons, one capture), made once.
    fn valid_file() -> Vec<u8> {
        static FILE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        FILE.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("pop.bin");
            let pop = IrisPopulation::generate(&IrisModel::default(), 9, 2, 1, &|| ());
            pop.write_file(&path, Some(9)).unwrap();
            let bytes = std::fs::read(&path).unwrap();
            assert!(IrisPopulation::parse("valid.bin", &bytes).is_ok());
            bytes
        })
        .clone()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
            magic in any::<bool>(),
        ) {
            let mut bytes = bytes;
            if magic {
                let mut with = MAGIC.to_vec();
                with.append(&mut bytes);
                bytes = with;
            }
            let _ = IrisPopulation::parse("arbitrary.bin", &bytes);
            reseal(&mut bytes);
            let _ = IrisPopulation::parse("arbitrary.bin", &bytes);
        }

        #[test]
        fn arbitrary_headers_with_valid_checksums_never_panic(
            persons in prop_oneof![0usize..4, any::<usize>(), Just(1 << 60)],
            captures in prop_oneof![0usize..4, any::<usize>()],
            records in 0usize..4,
            seed in any::<Option<u64>>(),
        ) {
            let bytes = file_with(
                &header_json(persons, captures, seed),
                &vec![0u8; records * RECORD_BYTES],
            );
            match IrisPopulation::parse("header.bin", &bytes) {
                Ok((pop, header)) => {
                    prop_assert_eq!(persons * captures, records);
                    prop_assert_eq!(pop.persons.len(), header.persons);
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }

        #[test]
        fn mutated_valid_files_never_panic(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<Option<prop::sample::Index>>(),
        ) {
            let mut bytes = valid_file();
            for (at, value) in edits {
                let at = at.index(bytes.len());
                bytes[at] = value;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len()));
            }
            reseal(&mut bytes);
            let _ = IrisPopulation::parse("mutated.bin", &bytes);
        }
    }

    #[test]
    fn failed_write_leaves_no_file() {
        let pop = IrisPopulation::generate(&IrisModel::default(), 3, 1, 1, &|| ());
        let missing_dir = Path::new("/nonexistent-masque-dir/pop.bin");
        let err = pop.write_file(missing_dir, None).unwrap_err();
        assert!(matches!(err, PopulationFileError::Write { .. }), "{err}");
        assert!(
            err.to_string().contains("/nonexistent-masque-dir/pop.bin"),
            "{err}"
        );
        assert!(!missing_dir.exists());
    }

    #[test]
    fn a_population_that_could_not_be_read_back_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.bin");
        let empty = IrisPopulation {
            persons: Vec::new(),
        };
        let err = empty.write_file(&path, None).unwrap_err();
        assert!(
            matches!(err, PopulationFileError::EmptyCounts { .. }),
            "{err}"
        );
        assert!(!path.exists());
    }
}
