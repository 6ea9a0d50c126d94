//! Integer matrix products over Z_2^16: many prepared query rows against many stored
//! gallery rows, every dot product reduced mod 2^16, separately per column segment.
//!
//! This is the engine's hot loop. Per party, `M` query rows (rotations × queries) meet
//! `N` stored rows of `K` values; [`products`] writes all `M × N` dot products of each
//! column segment (e.g. code columns and mask columns). Three kernels compute the same
//! exact result:
//!
//! - [`Kernel::Portable`]: plain wrapping `u16` loops, the reference the others are
//!   tested against. Runs everywhere.
//! - [`Kernel::Avx2`]: AVX2 `vpmaddwd` + `vpaddd`, the same pairs of i16 × i16 summed
//!   into i32 lanes on 256-bit registers, for x86-64 without AVX-512.
//! - [`Kernel::Vnni`]: AVX-512 VNNI `vpdpwssd` (pairs of i16 × i16 summed into i32 lanes).
//!   A 16-bit product read as signed is the same residue mod 2^16, and the i32 lanes wrap
//!   mod 2^32, so the low 16 bits are exact.
//! - [`Kernel::Amx`]: AMX-INT8 `tdpbuud` (u8 × u8 dot products of 16×64 by 64×16 tiles
//!   into 16×16 i32). With `q = q0 + 2^8·q1` and `g = g0 + 2^8·g1` split into bytes,
//!   `q·g ≡ q0·g0 + 2^8·(q0·g1 + q1·g0) (mod 2^16)`: three byte products, the cross
//!   terms only needed mod 2^8. The tile unit's i32 sums wrap mod 2^32, which keeps every
//!   needed bit exact.
//!
//! [`Kernel::best`] picks AMX where the CPU has it and Linux grants the tile state
//! (`arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`, asked once per process), else
//! VNNI, else AVX2, else the portable kernel. Every kernel gives bit-identical output.
//!
//! # Layouts
//!
//! [`PackedRows`] (the gallery) keeps rows in blocks of 16. A block holds, for each chunk
//! of 64 columns, two 1 KiB tiles: the low bytes, then the high bytes, of the 16 rows'
//! 64 values, in AMX "B tile" order (tile row `r` holds, for each of the 16 rows, the
//! four bytes of columns `4r..4r+4`). That is exactly 2 bytes per value, blocks aligned to
//! 64 bytes, no second copy; the rows missing from a partial last block are zero. The
//! VNNI kernel reads the same tiles: interleaving a low-byte and a high-byte tile row
//! gives 16-bit values of 16 rows × 4 columns, which meet a query's four columns
//! broadcast to every lane.
//!
//! [`QueryRows`] keeps each query twice (queries are few): row-major `u16` for the
//! portable and VNNI kernels, and byte planes in AMX "A tile" order (16 queries × 64
//! columns per tile, padded with zero queries to a multiple of 16).
//!
//! # Blocking
//!
//! The AMX kernel holds four accumulator tiles (low and cross sums of one 16-query tile
//! against two 16-row gallery blocks) and streams query and gallery tiles through the other
//! four: six tile loads feed six `tdpbuud` per 64 columns. The columns are cut into
//! panels; for each group of gallery blocks and each panel, every query tile runs over
//! every block pair, so one panel of the group's gallery rows and of all queries stays in
//! L2 while it is reused, and each gallery byte comes from memory once per call. Partial
//! sums are parked in a scratch buffer between panels (zeroized when the call ends).
//! The VNNI kernel holds 2 × 8 accumulator registers (8 queries × one 16-row block).
//!
//! # Measured
//!
//! Sapphire Rapids, one core of a busy 2-core box, `cargo bench -p masque-mpc --bench
//! matmul` (the CPU-time lines, N = 4096 rows of 19,200 values), in G multiply-adds/s:
//!
//! | M   | portable | VNNI | AMX |
//! | --- | -------- | ---- | --- |
//! | 31  | 8.3      | 53   | 115 |
//! | 124 | 8.3      | 78   | 216 |
//!
//! AMX at M = 31 is bounded by reading the gallery from memory (each byte is used by only
//! 31 queries; with the gallery in cache it reaches ≈180); batching more queries per call
//! moves it towards the kernel's in-cache ≈260. Tile loads are the limit, not the tile
//! unit: in a micro-benchmark of the inner loop the six loads alone take ≈80 % of its
//! time, and the six `tdpbuud` alone run ≈4× faster than the loop. Reordering the loop or
//! the `tileloaddt1` hint for gallery tiles made no difference beyond noise.
//!
//! # Guarantees and limits
//!
//! - Exact: every kernel equals the portable reference for all inputs (tested).
//! - `products` is single-threaded and re-entrant: callers parallelise over disjoint row
//!   ranges from several threads (AMX tiles are configured and released inside each
//!   call, so no thread state leaks between calls).
//! - Work is done per 16-row block: a range that does not start and end on multiples of
//!   16 still computes the whole edge blocks (the extra results are dropped).
//! - Stored rows and prepared queries are zeroized when dropped, when a row is removed,
//!   and when the storage grows (the old buffer is wiped before it is freed). Values left
//!   in CPU registers or tile registers are not scrubbed.

mod layout;
mod measure;
mod portable;

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod amx;
#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod vnni;

#[cfg(test)]
mod tests;

pub use layout::{PackedRows, QueryRows};
pub use measure::{MEASURE_SEGMENT_ENDS, MEASURE_WIDTH, measure};

use std::ops::Range;

/// Columns per chunk: widths and segment ends are multiples of this.
pub const COLUMN_CHUNK: usize = layout::CHUNK;
/// Rows per gallery block; ranges aligned to it waste no work.
pub const BLOCK_ROWS: usize = layout::BLOCK_ROWS;

/// What was wrong with a matrix-product request.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MatmulError {
    /// Row widths must be a nonzero multiple of [`COLUMN_CHUNK`].
    #[error("row width {width} is not a nonzero multiple of {COLUMN_CHUNK}; pad rows with zeros")]
    BadWidth {
        /// The width asked for.
        width: usize,
    },
    /// A row handed in has the wrong number of values.
    #[error("row {index} has {got} values, expected {expected}")]
    RowLength {
        /// Which row (for a push: the index it would have had).
        index: usize,
        /// The width of the matrix.
        expected: usize,
        /// The row's length.
        got: usize,
    },
    /// Queries and gallery rows differ in width.
    #[error("queries have {queries} columns but gallery rows have {gallery}")]
    WidthMismatch {
        /// Query width.
        queries: usize,
        /// Gallery width.
        gallery: usize,
    },
    /// The row range is not inside the gallery.
    #[error("row range {start}..{end} is not inside a gallery of {len} rows")]
    RowsOutOfRange {
        /// Range start.
        start: usize,
        /// Range end.
        end: usize,
        /// Gallery rows.
        len: usize,
    },
    /// Segment ends must be increasing multiples of [`COLUMN_CHUNK`], the last equal to the
    /// width.
    #[error(
        "segment ends {ends:?} must be nonempty, strictly increasing multiples of \
         {COLUMN_CHUNK} ending at the width {width}"
    )]
    BadSegments {
        /// The segment ends given.
        ends: Vec<usize>,
        /// The row width.
        width: usize,
    },
    /// The output slice has the wrong length.
    #[error("output holds {got} values, expected segments × queries × rows = {expected}")]
    OutputLength {
        /// Needed length.
        expected: usize,
        /// Given length.
        got: usize,
    },
    /// The kernel cannot run on this CPU/OS; see [`Kernel::available`].
    #[error("the {kernel:?} kernel is not available on this machine; use Kernel::best()")]
    KernelUnavailable {
        /// The kernel asked for.
        kernel: Kernel,
    },
}

/// A matrix-product implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Plain wrapping `u16` arithmetic; the reference, available everywhere.
    Portable,
    /// AVX2 (`vpmaddwd`); x86-64 with AVX2.
    Avx2,
    /// AVX-512 VNNI (`vpdpwssd`); x86-64 with AVX-512 F, BW and VNNI.
    Vnni,
    /// AMX-INT8 (`tdpbuud`); x86-64 Linux with AMX-TILE and AMX-INT8 and the kernel's
    /// permission for the tile state.
    Amx,
}

impl Kernel {
    /// Every kernel, fastest last.
    pub const ALL: [Kernel; 4] = [Kernel::Portable, Kernel::Avx2, Kernel::Vnni, Kernel::Amx];

    /// The fastest kernel usable here: AMX (asking Linux for the tile state the first time
    /// it is called in the process), else AVX-512 VNNI, else AVX2, else portable.
    pub fn best() -> Kernel {
        *Kernel::ALL
            .iter()
            .rev()
            .find(|k| k.is_available())
            .unwrap_or(&Kernel::Portable)
    }

    /// The kernels usable on this machine, portable first.
    pub fn available() -> Vec<Kernel> {
        Kernel::ALL
            .into_iter()
            .filter(|k| k.is_available())
            .collect()
    }

    /// Whether this kernel can run here (for AMX this asks Linux for the tile state once
    /// per process and remembers the answer).
    pub fn is_available(self) -> bool {
        match self {
            Kernel::Portable => true,
            Kernel::Avx2 => avx2_available(),
            Kernel::Vnni => vnni_available(),
            Kernel::Amx => amx_available(),
        }
    }

    /// A short lower-case name (`portable`, `avx2`, `vnni`, `amx`) for reports.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Portable => "portable",
            Kernel::Avx2 => "avx2",
            Kernel::Vnni => "vnni",
            Kernel::Amx => "amx",
        }
    }
}

fn avx2_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        avx2::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn vnni_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        vnni::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn amx_available() -> bool {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    {
        amx::available()
    }
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    {
        false
    }
}

/// A validated request, handed to a kernel.
pub(crate) struct Job<'a> {
    pub(crate) queries: &'a QueryRows,
    pub(crate) gallery: &'a PackedRows,
    pub(crate) rows: Range<usize>,
    /// Segments as chunk ranges.
    pub(crate) segments: Vec<Range<usize>>,
    pub(crate) out: &'a mut [u16],
}

impl Job<'_> {
    /// Where the product of query `m` and gallery row `j` over segment `s` goes.
    #[inline]
    pub(crate) fn out_index(&self, segment: usize, query: usize, row: usize) -> usize {
        (segment * self.queries.len() + query) * self.rows.len() + (row - self.rows.start)
    }

    /// The gallery blocks covering the row range.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // used by the SIMD kernels
    pub(crate) fn blocks(&self) -> Range<usize> {
        self.rows.start / BLOCK_ROWS..self.rows.end.div_ceil(BLOCK_ROWS)
    }

    /// Calls `run(job, block, segment, first, take)` for every block, segment and run of
    /// up to `per_run` consecutive queries (`first..first + take`): the walk of the
    /// register-blocked SIMD kernels.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // used by the SIMD kernels
    pub(crate) fn for_each_query_run(
        &mut self,
        per_run: usize,
        mut run: impl FnMut(&mut Self, usize, usize, usize, usize),
    ) {
        let queries = self.queries.len();
        for block in self.blocks() {
            for segment in 0..self.segments.len() {
                let mut first = 0;
                while first < queries {
                    let take = (queries - first).min(per_run);
                    run(self, block, segment, first, take);
                    first += take;
                }
            }
        }
    }

    /// Writes `values[n]` (the products of query `m` with the 16 rows of `block` over
    /// segment `s`) for the rows of the block that are inside the range.
    #[inline]
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // used by the SIMD kernels
    pub(crate) fn write_block(
        &mut self,
        segment: usize,
        query: usize,
        block: usize,
        values: &[u16; 16],
    ) {
        let first = (block * BLOCK_ROWS).max(self.rows.start);
        let end = ((block + 1) * BLOCK_ROWS).min(self.rows.end);
        let at = self.out_index(segment, query, first);
        self.out[at..at + (end - first)]
            .copy_from_slice(&values[first - block * BLOCK_ROWS..end - block * BLOCK_ROWS]);
    }
}

/// Computes, for every segment `s`, query `m` and gallery row `j` in `rows`,
/// `out[(s * queries.len() + m) * rows.len() + (j - rows.start)] = Σ_{k in segment s}
/// q[m][k] · g[j][k] mod 2^16`.
///
/// Segments are given by their end columns, e.g. `&[12_800, 19_200]`: each a multiple of
/// [`COLUMN_CHUNK`], strictly increasing, the last equal to the width. `out` must hold
/// exactly `segment_ends.len() × queries.len() × rows.len()` values.
///
/// Single-threaded; call it from several threads on disjoint `out` slices (e.g. disjoint
/// row ranges) to parallelise. Ranges aligned to [`BLOCK_ROWS`] waste no work.
///
/// # Errors
/// A typed [`MatmulError`] for mismatched widths, a range outside the gallery, bad segment
/// ends, a wrong output length, or a kernel this machine cannot run. Nothing is written
/// then.
pub fn products(
    kernel: Kernel,
    queries: &QueryRows,
    gallery: &PackedRows,
    rows: Range<usize>,
    segment_ends: &[usize],
    out: &mut [u16],
) -> Result<(), MatmulError> {
    let width = gallery.width();
    if queries.width() != width {
        return Err(MatmulError::WidthMismatch {
            queries: queries.width(),
            gallery: width,
        });
    }
    let segments = segment_chunks(segment_ends, width)?;
    if rows.start > rows.end || rows.end > gallery.len() {
        return Err(MatmulError::RowsOutOfRange {
            start: rows.start,
            end: rows.end,
            len: gallery.len(),
        });
    }
    let expected = segments.len() * queries.len() * rows.len();
    if out.len() != expected {
        return Err(MatmulError::OutputLength {
            expected,
            got: out.len(),
        });
    }
    if !kernel.is_available() {
        return Err(MatmulError::KernelUnavailable { kernel });
    }
    if expected == 0 {
        return Ok(());
    }
    let job = Job {
        queries,
        gallery,
        rows,
        segments,
        out,
    };
    match kernel {
        Kernel::Portable => portable::products(job),
        Kernel::Avx2 => {
            #[cfg(target_arch = "x86_64")]
            avx2::products(job);
        }
        Kernel::Vnni => {
            #[cfg(target_arch = "x86_64")]
            vnni::products(job);
        }
        Kernel::Amx => {
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            amx::products(job);
        }
    }
    Ok(())
}

/// Checks segment ends and turns them into chunk ranges.
/// The products of a few query rows with ONE stored row (the 1:1 path), straight from
/// the row-major queries: building [`QueryRows`] and running a block kernel would cost
/// more than the products themselves. Same results as [`products`] with `rows` =
/// `index..index + 1`; `out[s * queries.len() + m]`.
///
/// # Errors
/// As [`products`]: a query of the wrong width, bad segments, an index outside the
/// gallery or an output of the wrong length; nothing is written then.
pub fn row_products(
    gallery: &PackedRows,
    index: usize,
    queries: &[&[u16]],
    segment_ends: &[usize],
    out: &mut [u16],
) -> Result<(), MatmulError> {
    let width = gallery.width();
    if let Some(q) = queries.iter().find(|q| q.len() != width) {
        return Err(MatmulError::WidthMismatch {
            queries: q.len(),
            gallery: width,
        });
    }
    let segments = segment_chunks(segment_ends, width)?;
    if index >= gallery.len() {
        return Err(MatmulError::RowsOutOfRange {
            start: index,
            end: index + 1,
            len: gallery.len(),
        });
    }
    let expected = segments.len() * queries.len();
    if out.len() != expected {
        return Err(MatmulError::OutputLength {
            expected,
            got: out.len(),
        });
    }
    let mut row = zeroize::Zeroizing::new(vec![0u16; width]);
    gallery.read_row(index, &mut row);
    for (s, segment) in segments.iter().enumerate() {
        let columns = segment.start * COLUMN_CHUNK..segment.end * COLUMN_CHUNK;
        for (m, query) in queries.iter().enumerate() {
            out[s * queries.len() + m] =
                portable::dot(&query[columns.clone()], &row[columns.clone()]);
        }
    }
    Ok(())
}

fn segment_chunks(ends: &[usize], width: usize) -> Result<Vec<Range<usize>>, MatmulError> {
    let bad = || MatmulError::BadSegments {
        ends: ends.to_vec(),
        width,
    };
    if ends.last() != Some(&width) {
        return Err(bad());
    }
    let mut start = 0;
    let mut segments = Vec::with_capacity(ends.len());
    for &end in ends {
        if end <= start || !end.is_multiple_of(COLUMN_CHUNK) {
            return Err(bad());
        }
        segments.push(start / COLUMN_CHUNK..end / COLUMN_CHUNK);
        start = end;
    }
    Ok(segments)
}
