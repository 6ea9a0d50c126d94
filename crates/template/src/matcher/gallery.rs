//! Galleries in contiguous memory: one structure of arrays per eye.
//!
//! Removing a record moves the last record into its place and zeroes the vacated
//! slot, so a removed template leaves no copy in the gallery's live memory and no
//! tombstone that could still match.

use super::layout::{BLOCKS_PER_PLANE, Block, PackedEye};
use crate::{Eye, EyePair, IrisCode};
use std::collections::HashMap;
use thiserror::Error;

/// The identifier of an enrolled record.
///
/// The one record id of masque: the MPC engine (`masque_mpc::gallery::RecordId`)
/// re-exports this type, so a record has the same id in the plaintext gallery and at
/// every party.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(pub u64);

impl std::fmt::Display for RecordId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Gallery misuse.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum GalleryError {
    /// The record id is already enrolled.
    #[error("record {0} is already in the gallery; remove it first to replace it")]
    DuplicateRecord(RecordId),
    /// A two-eye template was given to a single-eye gallery or the other way round.
    #[error("this gallery stores {expected}; the template given has {given}")]
    WrongEyeCount {
        /// What the gallery stores.
        expected: &'static str,
        /// What was given.
        given: &'static str,
    },
}

/// The three planes of many eyes, one after another: eye `e` occupies blocks
/// `e*13 .. (e+1)*13` of each plane.
#[derive(Clone, Default)]
pub struct EyePlanes {
    re: Vec<Block>,
    im: Vec<Block>,
    mask: Vec<Block>,
}

impl EyePlanes {
    /// Number of eyes.
    pub fn len(&self) -> usize {
        self.mask.len() / BLOCKS_PER_PLANE
    }

    /// Whether there are no eyes.
    pub fn is_empty(&self) -> bool {
        self.mask.is_empty()
    }

    /// The planes of eye `e`: (real, imaginary, mask), 13 blocks each.
    pub fn eye(&self, e: usize) -> (&[Block], &[Block], &[Block]) {
        let r = e * BLOCKS_PER_PLANE..(e + 1) * BLOCKS_PER_PLANE;
        (&self.re[r.clone()], &self.im[r.clone()], &self.mask[r])
    }

    /// Appends one eye.
    pub fn push(&mut self, eye: &PackedEye) {
        self.re.extend_from_slice(&eye.re);
        self.im.extend_from_slice(&eye.im);
        self.mask.extend_from_slice(&eye.mask);
    }

    /// Reserves room for `additional` more eyes.
    pub fn reserve(&mut self, additional: usize) {
        for plane in [&mut self.re, &mut self.im, &mut self.mask] {
            plane.reserve(additional * BLOCKS_PER_PLANE);
        }
    }

    /// Removes eye `e` by moving the last eye into its slot; the vacated blocks are
    /// overwritten with zeros before the vectors shrink.
    fn swap_remove(&mut self, e: usize) {
        let last = self.len() - 1;
        for plane in [&mut self.re, &mut self.im, &mut self.mask] {
            if e != last {
                let (head, tail) = plane.split_at_mut(last * BLOCKS_PER_PLANE);
                head[e * BLOCKS_PER_PLANE..(e + 1) * BLOCKS_PER_PLANE].copy_from_slice(tail);
            }
            plane[last * BLOCKS_PER_PLANE..].fill(Block::default());
            plane.truncate(last * BLOCKS_PER_PLANE);
        }
    }

    /// Bytes of template data held per eye.
    pub const BYTES_PER_EYE: usize = 3 * BLOCKS_PER_PLANE * std::mem::size_of::<Block>();
}

/// How many eyes each record has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EyeMode {
    /// Both eyes; a person matches when both eyes match.
    TwoEyes,
    /// One eye per record.
    SingleEye,
}

/// An iris gallery of records with one or two eyes each.
#[derive(Clone)]
pub struct IrisGallery {
    mode: EyeMode,
    ids: Vec<RecordId>,
    index: HashMap<RecordId, usize>,
    /// `eyes[0]` is the left eye (or the only eye), `eyes[1]` the right eye.
    eyes: Vec<EyePlanes>,
}

impl IrisGallery {
    /// An empty gallery.
    pub fn new(mode: EyeMode) -> Self {
        let sides = match mode {
            EyeMode::TwoEyes => 2,
            EyeMode::SingleEye => 1,
        };
        Self {
            mode,
            ids: Vec::new(),
            index: HashMap::new(),
            eyes: vec![EyePlanes::default(); sides],
        }
    }

    /// The gallery's eye mode.
    pub fn mode(&self) -> EyeMode {
        self.mode
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the gallery is empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Number of stored eyes (records x eyes per record).
    pub fn eye_count(&self) -> usize {
        self.len() * self.eyes.len()
    }

    /// Reserves room for `additional` more records.
    pub fn reserve(&mut self, additional: usize) {
        self.ids.reserve(additional);
        self.eyes.iter_mut().for_each(|e| e.reserve(additional));
    }

    /// Enrols a two-eye record.
    ///
    /// # Errors
    /// [`GalleryError::WrongEyeCount`] in a single-eye gallery,
    /// [`GalleryError::DuplicateRecord`] if `id` is enrolled.
    pub fn insert_pair(&mut self, id: RecordId, pair: &EyePair) -> Result<(), GalleryError> {
        if self.mode != EyeMode::TwoEyes {
            return Err(GalleryError::WrongEyeCount {
                expected: "one eye per record",
                given: "two eyes",
            });
        }
        self.insert(id, &[&pair.left, &pair.right])
    }

    /// Enrols a single-eye record.
    ///
    /// # Errors
    /// [`GalleryError::WrongEyeCount`] in a two-eye gallery,
    /// [`GalleryError::DuplicateRecord`] if `id` is enrolled.
    pub fn insert_eye(&mut self, id: RecordId, eye: &IrisCode) -> Result<(), GalleryError> {
        if self.mode != EyeMode::SingleEye {
            return Err(GalleryError::WrongEyeCount {
                expected: "two eyes per record",
                given: "one eye",
            });
        }
        self.insert(id, &[eye])
    }

    fn insert(&mut self, id: RecordId, codes: &[&IrisCode]) -> Result<(), GalleryError> {
        if self.index.contains_key(&id) {
            return Err(GalleryError::DuplicateRecord(id));
        }
        for (planes, code) in self.eyes.iter_mut().zip(codes) {
            planes.push(&PackedEye::new(code));
        }
        self.index.insert(id, self.ids.len());
        self.ids.push(id);
        Ok(())
    }

    /// Removes a record; returns whether it was present.
    pub fn remove(&mut self, id: RecordId) -> bool {
        let Some(slot) = self.index.remove(&id) else {
            return false;
        };
        let last = self.ids.len() - 1;
        self.eyes.iter_mut().for_each(|e| e.swap_remove(slot));
        self.ids.swap_remove(slot);
        if slot != last {
            self.index.insert(self.ids[slot], slot);
        }
        true
    }

    /// The slot of a record, if enrolled.
    pub fn slot(&self, id: RecordId) -> Option<usize> {
        self.index.get(&id).copied()
    }

    /// The record ids in slot order.
    pub fn ids(&self) -> &[RecordId] {
        &self.ids
    }

    /// The planes of one side: `Eye::Left` is also the only eye of a single-eye gallery.
    pub fn planes(&self, eye: Eye) -> &EyePlanes {
        match eye {
            Eye::Left => &self.eyes[0],
            Eye::Right => &self.eyes[self.eyes.len() - 1],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(seed: u64) -> IrisCode {
        IrisCode::from_fn(|i| (i as u64 * 7 + seed).is_multiple_of(5), |_| true).unwrap()
    }

    #[test]
    fn insert_remove_keeps_slots_consistent() {
        let mut g = IrisGallery::new(EyeMode::SingleEye);
        for i in 0..5 {
            g.insert_eye(RecordId(i), &code(i)).unwrap();
        }
        assert_eq!(
            g.insert_eye(RecordId(2), &code(9)),
            Err(GalleryError::DuplicateRecord(RecordId(2)))
        );
        assert!(g.remove(RecordId(1)));
        assert!(!g.remove(RecordId(1)));
        assert_eq!(g.len(), 4);
        // The last record moved into slot 1 and its planes moved with it.
        let slot = g.slot(RecordId(4)).unwrap();
        assert_eq!(slot, 1);
        let packed = PackedEye::new(&code(4));
        assert_eq!(g.planes(Eye::Left).eye(slot).0, &packed.re[..]);
        assert_eq!(g.planes(Eye::Left).len(), 4);
    }

    #[test]
    fn eye_count_mode_is_enforced() {
        let mut g = IrisGallery::new(EyeMode::TwoEyes);
        assert!(matches!(
            g.insert_eye(RecordId(1), &code(1)),
            Err(GalleryError::WrongEyeCount { .. })
        ));
        let pair = EyePair {
            left: code(1),
            right: code(2),
        };
        g.insert_pair(RecordId(1), &pair).unwrap();
        assert_eq!(g.eye_count(), 2);
    }
}
