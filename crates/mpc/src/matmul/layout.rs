//! The storage of gallery rows ([`PackedRows`]) and prepared queries ([`QueryRows`]).
//!
//! Both keep byte planes in AMX tile order inside 64-byte aligned lines; see the module
//! docs of [`crate::matmul`] for the picture. Everything here is zeroized when it is
//! dropped, removed, or moved by growth.

use super::MatmulError;
use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// Rows per gallery block (the columns of one AMX B tile).
pub(crate) const BLOCK_ROWS: usize = 16;
/// Columns per chunk (the bytes of one AMX tile row).
pub(crate) const CHUNK: usize = 64;
/// Bytes of one tile: 16 rows of 64 bytes.
pub(crate) const TILE_BYTES: usize = 1024;
/// Bytes of one chunk of a block or of a query tile: the low-byte tile, then the high-byte
/// tile.
pub(crate) const CHUNK_BYTES: usize = 2 * TILE_BYTES;

/// One cache line; storage is built from these so that every tile row is aligned.
/// Held as eight `u64` words so that wiping writes 8 bytes at a time.
#[derive(Clone, Copy, Default, Zeroize)]
#[repr(C, align(64))]
pub(crate) struct Line([u64; 8]);

/// The bytes of a run of lines.
pub(crate) fn bytes(lines: &[Line]) -> &[u8] {
    // SAFETY: `Line` is `repr(C)` around `[u64; 8]` with size 64 and no padding, so `n`
    // lines are `64 n` initialised, contiguous bytes that live as long as the borrow (u8
    // has alignment 1).
    unsafe { std::slice::from_raw_parts(lines.as_ptr().cast::<u8>(), lines.len() * 64) }
}

/// The bytes of a run of lines, writable.
pub(crate) fn bytes_mut(lines: &mut [Line]) -> &mut [u8] {
    // SAFETY: as in `bytes`; the exclusive borrow of the lines is handed on to the bytes,
    // and every byte pattern is a valid `u64`, hence a valid `Line`.
    unsafe { std::slice::from_raw_parts_mut(lines.as_mut_ptr().cast::<u8>(), lines.len() * 64) }
}

fn check_width(width: usize) -> Result<(), MatmulError> {
    if width == 0 || !width.is_multiple_of(CHUNK) {
        return Err(MatmulError::BadWidth { width });
    }
    Ok(())
}

/// Where byte `plane` (0 low, 1 high) of column `k` of row `n` (0..16) of a block lies
/// within the block: chunk, plane tile, tile row `(k % 64) / 4`, four bytes per row.
#[inline]
pub(crate) fn block_offset(n: usize, k: usize, plane: usize) -> usize {
    (k / CHUNK * 2 + plane) * TILE_BYTES + (k % CHUNK) / 4 * 64 + n * 4 + k % 4
}

/// Gallery rows of a fixed width, in blocks of 16 rows of AMX B tiles (2 bytes per value).
///
/// Rows are added with [`push`](Self::push) and removed with
/// [`swap_remove`](Self::swap_remove), which wipes the storage the removed data leaves;
/// growth copies into a new buffer and wipes the old one; drop wipes everything.
pub struct PackedRows {
    width: usize,
    len: usize,
    /// `blocks × block_lines` lines; a partial last block has zero padding rows.
    lines: Vec<Line>,
}

impl PackedRows {
    /// An empty gallery of rows of `width` values.
    ///
    /// # Errors
    /// [`MatmulError::BadWidth`] unless `width` is a nonzero multiple of 64.
    pub fn new(width: usize) -> Result<Self, MatmulError> {
        check_width(width)?;
        Ok(Self {
            width,
            len: 0,
            lines: Vec::new(),
        })
    }

    /// Values per row.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of one 16-row block.
    pub(crate) fn block_bytes(&self) -> usize {
        self.width * 2 * BLOCK_ROWS
    }

    fn block_lines(&self) -> usize {
        self.block_bytes() / 64
    }

    /// Number of blocks (the last may be partial).
    #[cfg(test)]
    pub(crate) fn blocks(&self) -> usize {
        self.lines.len() / self.block_lines()
    }

    /// The bytes of block `block`.
    pub(crate) fn block(&self, block: usize) -> &[u8] {
        let n = self.block_lines();
        bytes(&self.lines[block * n..(block + 1) * n])
    }

    /// Bytes held for the rows: whole blocks, including the zero padding of a partial last
    /// block (spare capacity of the buffer not counted; it holds only zeros).
    pub fn stored_bytes(&self) -> usize {
        self.lines.len() * 64
    }

    /// Appends a row.
    ///
    /// # Errors
    /// [`MatmulError::RowLength`] if `row.len() != width`; nothing is stored then.
    pub fn push(&mut self, row: &[u16]) -> Result<(), MatmulError> {
        if row.len() != self.width {
            return Err(MatmulError::RowLength {
                index: self.len,
                expected: self.width,
                got: row.len(),
            });
        }
        if self.len.is_multiple_of(BLOCK_ROWS) {
            self.grow_one_block();
        }
        self.write_row(self.len, row);
        self.len += 1;
        Ok(())
    }

    /// Makes room for `additional` more rows, so that pushing them moves no storage (and
    /// memory peaks at the final size instead of old + new buffer during a doubling).
    /// Moving to the bigger buffer wipes the old one.
    pub fn reserve(&mut self, additional: usize) {
        let lines = (self.len + additional).div_ceil(BLOCK_ROWS) * self.block_lines();
        if lines > self.lines.capacity() {
            self.move_to_capacity(lines);
        }
    }

    /// Moves the rows into a new buffer of `lines` lines and wipes the old buffer.
    fn move_to_capacity(&mut self, lines: usize) {
        let used = self.lines.len();
        // The whole new buffer is written (zeros), so its spare capacity is never
        // uninitialised memory.
        let mut bigger = vec![Line::default(); lines];
        bigger[..used].copy_from_slice(&self.lines);
        bigger.truncate(used);
        // Zeroizes the old buffer's whole capacity before it is freed.
        let mut old = std::mem::replace(&mut self.lines, bigger);
        old.zeroize();
    }

    /// Adds a zero block, doubling the buffer when full.
    fn grow_one_block(&mut self) {
        let needed = self.lines.len() + self.block_lines();
        if needed > self.lines.capacity() {
            self.move_to_capacity(needed.max(2 * self.lines.capacity()));
        }
        self.lines.resize(needed, Line::default());
    }

    /// Stores `row` (of `width` values) as row `index`.
    fn write_row(&mut self, index: usize, row: &[u16]) {
        let (block, n) = (index / BLOCK_ROWS, index % BLOCK_ROWS);
        let lines = self.block_lines();
        let bytes = bytes_mut(&mut self.lines[block * lines..(block + 1) * lines]);
        // Four consecutive columns of a row are four consecutive bytes of a tile row.
        for (group, four) in row.chunks_exact(4).enumerate() {
            let low = block_offset(n, 4 * group, 0);
            for (j, value) in four.iter().enumerate() {
                let [lo, hi] = value.to_le_bytes();
                bytes[low + j] = lo;
                bytes[low + TILE_BYTES + j] = hi;
            }
        }
    }

    /// Removes row `index`: the last row moves into its place and the storage the last row
    /// occupied is zeroized (a block left empty is dropped from the end, already zero).
    ///
    /// # Panics
    /// If `index >= len()` (a caller's bug, like `Vec::swap_remove`).
    pub fn swap_remove(&mut self, index: usize) {
        assert!(
            index < self.len,
            "swap_remove index {index} out of range for {} rows",
            self.len
        );
        let last = self.len - 1;
        if index != last {
            let moved = Zeroizing::new(self.row(last));
            self.write_row(index, &moved);
        }
        self.write_row(last, &vec![0; self.width]);
        self.len = last;
        if self.len.is_multiple_of(BLOCK_ROWS) {
            let keep = self.lines.len() - self.block_lines();
            self.lines.truncate(keep);
        }
    }

    /// Copies row `index` into `out` (`width` values).
    pub(crate) fn read_row(&self, index: usize, out: &mut [u16]) {
        let block = self.block(index / BLOCK_ROWS);
        let n = index % BLOCK_ROWS;
        for (group, four) in out.chunks_exact_mut(4).enumerate() {
            let low = block_offset(n, 4 * group, 0);
            for (j, value) in four.iter_mut().enumerate() {
                *value = u16::from_le_bytes([block[low + j], block[low + TILE_BYTES + j]]);
            }
        }
    }

    /// Row `index`, unpacked (for tests and debugging).
    ///
    /// # Panics
    /// If `index >= len()`.
    pub fn row(&self, index: usize) -> Vec<u16> {
        assert!(
            index < self.len,
            "row index {index} out of range for {} rows",
            self.len
        );
        let mut out = vec![0; self.width];
        self.read_row(index, &mut out);
        out
    }

    /// The raw storage including spare capacity, for the zeroization tests.
    #[cfg(test)]
    pub(crate) fn raw_capacity_bytes(&self) -> &[u8] {
        // SAFETY: the buffer holds `capacity` lines, all written when it was allocated
        // (`grow_one_block` fills new buffers with zeros) and never de-initialised since
        // (`truncate` of a `Copy` type leaves the bytes in place); the borrow of `self`
        // keeps the buffer alive and unchanged.
        unsafe {
            std::slice::from_raw_parts(self.lines.as_ptr().cast::<u8>(), self.lines.capacity() * 64)
        }
    }
}

impl Drop for PackedRows {
    fn drop(&mut self) {
        self.lines.zeroize();
    }
}

impl fmt::Debug for PackedRows {
    // Rows are secret shares: show the shape only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackedRows")
            .field("width", &self.width)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// Query rows prepared for every kernel: row-major `u16`, and byte planes in AMX A-tile
/// order (tiles of 16 queries × 64 columns, low then high plane per chunk, queries padded
/// with zeros to a multiple of 16). Zeroized on drop.
pub struct QueryRows {
    width: usize,
    len: usize,
    plain: Vec<u16>,
    tiles: Vec<Line>,
}

impl QueryRows {
    /// Prepares `rows` (each of `width` values).
    ///
    /// # Errors
    /// [`MatmulError::BadWidth`] unless `width` is a nonzero multiple of 64;
    /// [`MatmulError::RowLength`] for a row of another length.
    pub fn new(width: usize, rows: &[&[u16]]) -> Result<Self, MatmulError> {
        check_width(width)?;
        if let Some((index, row)) = rows.iter().enumerate().find(|(_, r)| r.len() != width) {
            return Err(MatmulError::RowLength {
                index,
                expected: width,
                got: row.len(),
            });
        }
        let mut plain = Vec::with_capacity(rows.len() * width);
        rows.iter().for_each(|r| plain.extend_from_slice(r));
        let tile_rows = rows.len().div_ceil(BLOCK_ROWS);
        let mut tiles = vec![Line::default(); tile_rows * width / CHUNK * CHUNK_BYTES / 64];
        let tile_bytes = bytes_mut(&mut tiles);
        for (m, row) in rows.iter().enumerate() {
            for (c, chunk) in row.chunks_exact(CHUNK).enumerate() {
                // Tile row m % 16 of this query tile's chunk c: 64 low bytes, and the
                // high bytes one tile further.
                let at = ((m / BLOCK_ROWS * (width / CHUNK) + c) * 2) * TILE_BYTES
                    + m % BLOCK_ROWS * CHUNK;
                let (low, rest) = tile_bytes[at..].split_at_mut(TILE_BYTES);
                for ((l, h), v) in low[..CHUNK].iter_mut().zip(&mut rest[..CHUNK]).zip(chunk) {
                    [*l, *h] = v.to_le_bytes();
                }
            }
        }
        Ok(Self {
            width,
            len: rows.len(),
            plain,
            tiles,
        })
    }

    /// Number of query rows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no query rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Values per row.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Query `m`, row-major.
    pub(crate) fn plain_row(&self, m: usize) -> &[u16] {
        &self.plain[m * self.width..(m + 1) * self.width]
    }

    /// Number of 16-query tiles.
    #[cfg_attr(
        not(all(target_arch = "x86_64", target_os = "linux")),
        allow(dead_code)
    )]
    pub(crate) fn tile_rows(&self) -> usize {
        self.len.div_ceil(BLOCK_ROWS)
    }

    /// The A tiles of 16-query tile `t`: `width / 64` chunks of [`CHUNK_BYTES`].
    #[cfg_attr(
        not(all(target_arch = "x86_64", target_os = "linux")),
        allow(dead_code)
    )]
    pub(crate) fn tiles(&self, t: usize) -> &[u8] {
        let lines = self.width / CHUNK * CHUNK_BYTES / 64;
        bytes(&self.tiles[t * lines..(t + 1) * lines])
    }
}

impl Drop for QueryRows {
    fn drop(&mut self) {
        self.plain.zeroize();
        self.tiles.zeroize();
    }
}

impl fmt::Debug for QueryRows {
    // Queries are secret shares: show the shape only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueryRows")
            .field("width", &self.width)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}
