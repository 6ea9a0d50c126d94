//! One party's gallery of shared eyes, in contiguous memory.
//!
//! Per eye side (one or two), a single vector holds every record's share back to back:
//! for record slot `s`, elements `[2E*s, 2E*(s+1))` are component `i` of the encoded eye
//! ([`ELEMENTS`] `= E` elements) followed by component `i+1`. Deleting a record moves the
//! last record into its slot, zeroizes the vacated tail and shrinks the vector: the shares
//! are gone from the gallery, no tombstone remains that could still match.

use crate::encode::ELEMENTS;
use crate::ring::Z16;
use crate::share::ShareVec;
use zeroize::Zeroize;

/// A record's public handle (the same at every party).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(pub u64);

/// Why a gallery change was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GalleryError {
    /// The id is already enrolled.
    #[error("record {0} is already in the gallery")]
    Duplicate(u64),
    /// The shares have the wrong shape.
    #[error("expected {expected} eye share(s) of {ELEMENTS} elements each, got {given}")]
    WrongShape {
        /// Eyes per record in this gallery.
        expected: usize,
        /// What was given, described.
        given: String,
    },
}

/// One party's shares of every enrolled record.
#[derive(Default)]
pub struct Gallery {
    eyes: usize,
    ids: Vec<RecordId>,
    sides: Vec<Vec<Z16>>,
}

impl std::fmt::Debug for Gallery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Gallery({} records, {} eye(s) each)",
            self.ids.len(),
            self.eyes
        )
    }
}

impl Drop for Gallery {
    fn drop(&mut self) {
        self.sides.iter_mut().for_each(|s| s.zeroize());
    }
}

impl Gallery {
    /// An empty gallery of records with `eyes` eyes (1 or 2).
    pub fn new(eyes: usize) -> Self {
        assert!(eyes == 1 || eyes == 2, "one or two eyes per record");
        Self {
            eyes,
            ids: Vec::new(),
            sides: vec![Vec::new(); eyes],
        }
    }

    /// Eyes per record.
    pub fn eyes(&self) -> usize {
        self.eyes
    }

    /// Enrolled records.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no record is enrolled.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The record ids, in slot order.
    pub fn ids(&self) -> &[RecordId] {
        &self.ids
    }

    /// The slot of a record.
    pub fn slot(&self, id: RecordId) -> Option<usize> {
        self.ids.iter().position(|&r| r == id)
    }

    /// Bytes of shares stored per eye by this party.
    pub const BYTES_PER_EYE: usize = 2 * ELEMENTS * std::mem::size_of::<Z16>();

    /// Checks that `eyes` is one share of [`ELEMENTS`] per eye of this gallery.
    pub fn check_shape(&self, eyes: &[ShareVec<Z16>]) -> Result<(), GalleryError> {
        if eyes.len() == self.eyes && eyes.iter().all(|e| e.len() == ELEMENTS) {
            Ok(())
        } else {
            Err(GalleryError::WrongShape {
                expected: self.eyes,
                given: format!(
                    "{} eye(s) of {:?} elements",
                    eyes.len(),
                    eyes.iter().map(ShareVec::len).collect::<Vec<_>>()
                ),
            })
        }
    }

    /// Enrols a record; nothing changes on error.
    pub fn insert(&mut self, id: RecordId, eyes: &[ShareVec<Z16>]) -> Result<(), GalleryError> {
        self.check_shape(eyes)?;
        if self.slot(id).is_some() {
            return Err(GalleryError::Duplicate(id.0));
        }
        for (side, eye) in self.sides.iter_mut().zip(eyes) {
            side.extend_from_slice(&eye.this);
            side.extend_from_slice(&eye.next);
        }
        self.ids.push(id);
        Ok(())
    }

    /// Deletes a record's shares; `false` if it was not enrolled.
    pub fn remove(&mut self, id: RecordId) -> bool {
        let Some(slot) = self.slot(id) else {
            return false;
        };
        let last = self.ids.len() - 1;
        let stride = 2 * ELEMENTS;
        for side in &mut self.sides {
            if slot != last {
                side.copy_within(last * stride..(last + 1) * stride, slot * stride);
            }
            side[last * stride..].iter_mut().for_each(Zeroize::zeroize);
            side.truncate(last * stride);
        }
        self.ids.swap_remove(slot);
        true
    }

    /// The stored share of record slot `slot`, side `side`: `[component i | component i+1]`.
    pub fn eye(&self, side: usize, slot: usize) -> &[Z16] {
        &self.sides[side][slot * 2 * ELEMENTS..(slot + 1) * 2 * ELEMENTS]
    }
}
