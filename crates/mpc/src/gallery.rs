//! One party's gallery of shared eyes, in contiguous memory.
//!
//! Per eye side (one or two), a [`PackedRows`] store holds every record's stored row in
//! the matrix kernels' tile order: the [`ELEMENTS`] coefficients of the party's
//! [`EnrolmentShare`] of that eye, 38,400 bytes. Deleting a record moves the last record
//! into its slot and zeroizes the vacated storage (and growth wipes the old buffer): the
//! shares are gone from the gallery, no tombstone remains that could still match.
//!
//! [`Gallery::dot_products`] runs the matrix kernel chosen at construction
//! ([`Kernel::best`]: AMX, AVX-512 VNNI or portable) over spans of records in parallel on
//! the rayon pool, so a custodian uses all its cores for one query.

use crate::dealer::{EnrolmentShare, EyeShare};
use crate::encode::{CODE_ELEMENTS, ELEMENTS, GROUPS};
use crate::kernel::stored_row;
use crate::matmul::{Kernel, PackedRows, QueryRows, products, row_products};
use crate::party::PartyId;
use crate::profile::{Phase, timer};
use crate::ring::Z16;
use crate::wipe::Wiped;
use masque_template::matcher::EyeMode;
use rayon::prelude::*;
use std::collections::HashMap;
use std::ops::Range;

/// The column segments of a stored row: code elements, then mask elements.
const SEGMENT_ENDS: [usize; 2] = [CODE_ELEMENTS, ELEMENTS];

/// A record's public handle, the same at every party: the template crate's
/// [`masque_template::matcher::RecordId`], so one id names a record in the plaintext
/// gallery and in the parties' shared galleries alike.
pub use masque_template::matcher::RecordId;

/// Why a gallery change or a query's shares were refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GalleryError {
    /// The id is already enrolled.
    #[error("record {0} is already in the gallery")]
    Duplicate(u64),
    /// The shares have the wrong shape.
    #[error("expected {expected} eye share(s) of {GROUPS} groups each, got {given}")]
    WrongShape {
        /// Eyes per record in this gallery.
        expected: usize,
        /// What was given, described.
        given: String,
    },
    /// The shares were dealt to another custodian.
    #[error(
        "these shares are for {given}, but this custodian is {this}; route each share to its own party"
    )]
    WrongParty {
        /// This custodian.
        this: PartyId,
        /// The party named by the share.
        given: PartyId,
    },
}

/// Eyes per record in a mode.
pub fn eye_count(mode: EyeMode) -> usize {
    match mode {
        EyeMode::SingleEye => 1,
        EyeMode::TwoEyes => 2,
    }
}

/// One party's shares of every enrolled record.
pub struct Gallery {
    party: PartyId,
    mode: EyeMode,
    ids: Vec<RecordId>,
    slots: HashMap<RecordId, usize>,
    sides: Vec<PackedRows>,
    kernel: Kernel,
}

impl std::fmt::Debug for Gallery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Gallery({}, {} records, {:?}, {} kernel)",
            self.party,
            self.ids.len(),
            self.mode,
            self.kernel.name()
        )
    }
}

impl Gallery {
    /// Bytes of shares stored per eye by this party.
    pub const BYTES_PER_EYE: usize = ELEMENTS * std::mem::size_of::<Z16>();

    /// A digest of the record list in slot order (and the mode): what the three parties
    /// compare before a session, since 1:N pairs slot `k` at every party and the slot
    /// order depends on the order of insertions and removals. Holds no share.
    pub fn layout_digest(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"masque-mpc/gallery-layout/v1\0");
        h.update([eye_count(self.mode) as u8]);
        h.update((self.ids.len() as u64).to_be_bytes());
        for id in &self.ids {
            h.update(id.0.to_be_bytes());
        }
        h.finalize().into()
    }

    /// An empty gallery of party `party` with records of `mode`.
    pub fn new(party: PartyId, mode: EyeMode) -> Self {
        Self {
            party,
            mode,
            ids: Vec::new(),
            slots: HashMap::new(),
            sides: (0..eye_count(mode))
                .map(|_| PackedRows::new(ELEMENTS).expect("ELEMENTS is a multiple of 64"))
                .collect(),
            kernel: Kernel::best(),
        }
    }

    /// The matrix kernel the dot products run on.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Uses `kernel` for the dot products (all give the same results), or returns
    /// `false` and keeps the current one if this CPU cannot run it.
    pub fn set_kernel(&mut self, kernel: Kernel) -> bool {
        let ok = kernel.is_available();
        if ok {
            self.kernel = kernel;
        }
        ok
    }

    /// The custodian this gallery belongs to.
    pub fn party(&self) -> PartyId {
        self.party
    }

    /// Whether records hold one eye or two.
    pub fn mode(&self) -> EyeMode {
        self.mode
    }

    /// Eyes per record.
    pub fn eyes(&self) -> usize {
        self.sides.len()
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
        self.slots.get(&id).copied()
    }

    /// Checks that `eyes` is one share per eye of this gallery, each of [`GROUPS`]
    /// groups, dealt to this party.
    pub fn check_shape<F>(&self, eyes: &[EyeShare<F>]) -> Result<(), GalleryError> {
        if let Some(other) = eyes.iter().find(|e| e.party() != self.party) {
            return Err(GalleryError::WrongParty {
                this: self.party,
                given: other.party(),
            });
        }
        if eyes.len() == self.eyes() && eyes.iter().all(|e| e.groups().len() == GROUPS) {
            Ok(())
        } else {
            Err(GalleryError::WrongShape {
                expected: self.eyes(),
                given: format!(
                    "{} eye(s) of {:?} groups",
                    eyes.len(),
                    eyes.iter().map(|e| e.groups().len()).collect::<Vec<_>>()
                ),
            })
        }
    }

    /// Reserves room for `additional` more records.
    pub fn reserve(&mut self, additional: usize) {
        self.slots.reserve(additional);
        self.ids.reserve(additional);
        self.sides.iter_mut().for_each(|s| s.reserve(additional));
    }

    /// Enrols a record; nothing changes on error.
    pub fn insert(&mut self, id: RecordId, eyes: &[EnrolmentShare]) -> Result<(), GalleryError> {
        self.check_shape(eyes)?;
        if self.slots.contains_key(&id) {
            return Err(GalleryError::Duplicate(id.0));
        }
        for (side, eye) in self.sides.iter_mut().zip(eyes) {
            let row = Wiped::new(stored_row(eye.groups()));
            side.push(&row).expect("rows of ELEMENTS values");
        }
        self.slots.insert(id, self.ids.len());
        self.ids.push(id);
        Ok(())
    }

    /// Deletes a record's shares; `false` if it was not enrolled.
    pub fn remove(&mut self, id: RecordId) -> bool {
        let Some(slot) = self.slots.remove(&id) else {
            return false;
        };
        let last = self.ids.len() - 1;
        for side in &mut self.sides {
            side.swap_remove(slot);
        }
        self.ids.swap_remove(slot);
        if slot != last {
            self.slots.insert(self.ids[slot], slot);
        }
        true
    }

    /// This party's additive shares of `(code_dot, mask_dot)` of every prepared query row
    /// ([`crate::kernel::prepare_query`]) against every record in `slots`, side `side`,
    /// each laid out `[row][record]`; `mask_dot` is doubled (see [`crate::encode`]).
    ///
    /// # Panics
    /// If a row is not [`ELEMENTS`] long or `slots` is outside the gallery (the engine
    /// builds both).
    pub fn dot_products(
        &self,
        side: usize,
        rows: &[&[u16]],
        slots: Range<usize>,
    ) -> (Vec<Z16>, Vec<Z16>) {
        let (m, records) = (rows.len(), slots.len());
        let mut code = vec![Z16(0); m * records];
        let mut mask = vec![Z16(0); m * records];
        self.dot_products_each(side, rows, slots, |segment, row, first, values| {
            let out = if segment == 0 { &mut code } else { &mut mask };
            let at = row * records + first;
            for (o, &v) in out[at..at + values.len()].iter_mut().zip(values) {
                *o = segment_value(segment, v);
            }
        });
        (code, mask)
    }

    /// The products of [`Gallery::dot_products`] as the kernel produced them, handed to
    /// `each(segment, row, first, raw)` run by run, so a caller can put them straight
    /// where it needs them (no intermediate matrix): `raw[k]` is the product of query row
    /// `row` over column segment `segment` (0: code, 1: mask) with the record in slot
    /// `slots.start + first + k`, before [`segment_value`]. Runs come in no particular
    /// order and each pair (segment, row, record) exactly once.
    ///
    /// # Panics
    /// As [`Gallery::dot_products`].
    pub fn dot_products_each(
        &self,
        side: usize,
        rows: &[&[u16]],
        slots: Range<usize>,
        mut each: impl FnMut(usize, usize, usize, &[u16]),
    ) {
        let queries = {
            let _t = timer(Phase::QueryPreparation);
            QueryRows::new(ELEMENTS, rows).expect("prepared rows of ELEMENTS values")
        };
        let _t = timer(Phase::DotProducts);
        let m = rows.len();
        // Spans of whole kernel groups run on the rayon pool; each writes its own
        // `[segment][row][record]` block, handed out below.
        let spans: Vec<Range<usize>> = spans(slots.clone());
        let parts: Vec<Wiped<u16>> = spans
            .par_iter()
            .map(|span| {
                let mut part = Wiped::zeroed(2 * m * span.len());
                products(
                    self.kernel,
                    &queries,
                    &self.sides[side],
                    span.clone(),
                    &SEGMENT_ENDS,
                    &mut part,
                )
                .expect("shapes checked by the engine");
                part
            })
            .collect();
        for (span, part) in spans.iter().zip(&parts) {
            let first = span.start - slots.start;
            for (k, run) in part.chunks_exact(span.len()).enumerate() {
                each(k / m, k % m, first, run);
            }
        }
    }

    /// [`Gallery::dot_products`] against the single record in `slot` (the 1:1 path,
    /// without the block kernels' preparation); each laid out `[row]`.
    ///
    /// # Panics
    /// As [`Gallery::dot_products`].
    pub fn row_dot_products(
        &self,
        side: usize,
        rows: &[&[u16]],
        slot: usize,
    ) -> (Vec<Z16>, Vec<Z16>) {
        let mut out = Wiped::zeroed(2 * rows.len());
        row_products(&self.sides[side], slot, rows, &SEGMENT_ENDS, &mut out)
            .expect("shapes checked by the engine");
        split_segments(&out, rows.len())
    }

    /// The stored row of record slot `slot`, side `side` (tests).
    #[cfg(test)]
    pub(crate) fn eye(&self, side: usize, slot: usize) -> Vec<u16> {
        self.sides[side].row(slot)
    }

    /// Bytes of share storage held by this party, including a partial last block.
    pub fn stored_bytes(&self) -> usize {
        self.sides.iter().map(PackedRows::stored_bytes).sum()
    }
}

/// Records per parallel task: a multiple of the AMX kernel's 256-row group, small enough
/// that a few thousand records keep two cores busy, large enough that each task amortises
/// its setup.
const SPAN: usize = 512;

/// `slots` cut at multiples of [`SPAN`].
fn spans(slots: Range<usize>) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = slots.start;
    while start < slots.end {
        let end = ((start / SPAN + 1) * SPAN).min(slots.end);
        out.push(start..end);
        start = end;
    }
    out
}

/// The additive share of a dot product from the kernel's raw product over `segment`:
/// code products as they are, mask products doubled (see [`crate::encode`]).
#[inline]
pub fn segment_value(segment: usize, raw: u16) -> Z16 {
    if segment == 0 {
        Z16(raw)
    } else {
        Z16(raw.wrapping_add(raw))
    }
}

/// The code and (doubled) mask products from a kernel's output of two segments.
fn split_segments(out: &[u16], per_segment: usize) -> (Vec<Z16>, Vec<Z16>) {
    let (code, mask) = out.split_at(per_segment);
    (
        code.iter().map(|&v| segment_value(0, v)).collect(),
        mask.iter().map(|&v| segment_value(1, v)).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dealer::{enrolment_shares_seeded, query_shares_seeded};
    use masque_template::IrisCode;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    fn shares(rng: &mut ChaCha20Rng) -> [EnrolmentShare; 3] {
        let bits: Vec<bool> = (0..IrisCode::BITS).map(|_| rng.random()).collect();
        let code = IrisCode::from_fn(|i| bits[i], |_| true).unwrap();
        enrolment_shares_seeded(&code, rng)
    }

    #[test]
    fn insert_remove_and_refusals() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut g = Gallery::new(PartyId::P1, EyeMode::SingleEye);
        let rows: Vec<[EnrolmentShare; 3]> = (0..3).map(|_| shares(&mut rng)).collect();
        for (k, r) in rows.iter().enumerate() {
            g.insert(RecordId(k as u64), std::slice::from_ref(&r[1]))
                .unwrap();
        }
        assert_eq!(
            g.insert(RecordId(0), std::slice::from_ref(&rows[0][1])),
            Err(GalleryError::Duplicate(0))
        );
        assert!(matches!(
            g.insert(RecordId(9), std::slice::from_ref(&rows[0][0])),
            Err(GalleryError::WrongParty {
                this: PartyId::P1,
                given: PartyId::P0
            })
        ));
        assert!(matches!(
            g.insert(RecordId(9), &[]),
            Err(GalleryError::WrongShape { expected: 1, .. })
        ));
        let code = IrisCode::from_fn(|_| true, |_| true).unwrap();
        let q = query_shares_seeded(&code, &mut rng);
        assert!(g.check_shape(std::slice::from_ref(&q[1])).is_ok());

        // Delete the first record: the last moves into its slot, nothing else remains.
        assert!(g.remove(RecordId(0)));
        assert!(!g.remove(RecordId(0)));
        assert_eq!(g.ids(), &[RecordId(2), RecordId(1)]);
        assert_eq!(g.slot(RecordId(2)), Some(0));
        assert_eq!(g.eye(0, 0), stored_row(rows[2][1].groups()));
        assert_eq!(g.eye(0, 1), stored_row(rows[1][1].groups()));
        // That the vacated storage is wiped is tested on `PackedRows` itself.
    }

    #[test]
    fn spans_cut_at_multiples_of_the_span() {
        assert_eq!(spans(0..0), Vec::<Range<usize>>::new());
        assert_eq!(spans(3..5), vec![3..5]);
        assert_eq!(spans(500..1100), vec![500..512, 512..1024, 1024..1100]);
    }

    #[test]
    fn parallel_spans_give_the_same_products_as_one_row_at_a_time() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let mut g = Gallery::new(PartyId::P2, EyeMode::SingleEye);
        for k in 0..1_100u64 {
            let share = shares(&mut rng)[2].clone();
            g.insert(RecordId(k), &[share]).unwrap();
        }
        let rows: Vec<Vec<u16>> = (0..3)
            .map(|_| (0..ELEMENTS).map(|_| rng.random()).collect())
            .collect();
        let refs: Vec<&[u16]> = rows.iter().map(Vec::as_slice).collect();
        let slots = 300..1_100;
        let (code, mask) = g.dot_products(0, &refs, slots.clone());
        for (j, slot) in slots.clone().enumerate() {
            let (c, k) = g.row_dot_products(0, &refs, slot);
            for m in 0..refs.len() {
                assert_eq!(
                    code[m * slots.len() + j],
                    c[m],
                    "code, row {m}, slot {slot}"
                );
                assert_eq!(
                    mask[m * slots.len() + j],
                    k[m],
                    "mask, row {m}, slot {slot}"
                );
            }
        }
    }
}
