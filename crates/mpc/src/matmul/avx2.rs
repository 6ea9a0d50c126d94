//! The AVX2 kernel, for x86-64 machines without AVX-512 (laptops, older servers, VMs that
//! hide it): `vpmaddwd` on the gallery's tile layout.
//!
//! The VNNI kernel's scheme on 256-bit registers: a 64-byte tile row holds, for 16 rows,
//! four consecutive columns as bytes; each 32-byte half covers 8 rows. Interleaving the
//! low-byte and high-byte halves (`vpunpck{l,h}bw`, per 128-bit lane) gives two vectors
//! of 16-bit values, each dword lane one row's pair of columns. The query's same four
//! columns, broadcast as one 64-bit pattern, line up with every lane; `vpmaddwd` forms the
//! two products of each lane and adds them into an i32 (wrapping mod 2^32, which keeps the
//! low 16 bits exact), and `vpaddd` accumulates. Four queries share each gallery load.

use super::Job;
use super::layout::{CHUNK, CHUNK_BYTES, TILE_BYTES};
use core::arch::x86_64::*;
use std::ops::Range;

/// Queries per register block: 2 accumulators each, plus the loads, in 16 registers.
const QUERY_BLOCK: usize = 4;

/// Whether the CPU has AVX2.
pub(super) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

/// The products of `MR` query rows with the 16 rows of one gallery block over the chunks
/// `chunks`; `result[m][n]` for query `m`, block row `n`.
#[target_feature(enable = "avx2")]
fn block_products<const MR: usize>(
    queries: &[&[u16]; MR],
    block: &[u8],
    chunks: Range<usize>,
) -> [[u16; 16]; MR] {
    assert!(
        queries.iter().all(|q| q.len() >= chunks.end * CHUNK),
        "query rows cover the chunks"
    );
    let bases: [*const u16; MR] = core::array::from_fn(|m| queries[m].as_ptr());
    let mut result = [[0u16; 16]; MR];
    // One pass per 32-byte half of the tile rows: rows 0..8, then 8..16.
    for half in 0..2 {
        let mut rows_a_sums = [_mm256_setzero_si256(); MR];
        let mut rows_b_sums = [_mm256_setzero_si256(); MR];
        for c in chunks.clone() {
            let tiles = &block[c * CHUNK_BYTES..(c + 1) * CHUNK_BYTES];
            for r in 0..16 {
                // SAFETY: `tiles` is CHUNK_BYTES = 2 × 1024 bytes, r < 16 and half < 2, so
                // both 32-byte reads (half `half` of tile row r in the low plane and in the
                // high plane) are inside it; `loadu` has no alignment requirement.
                let (low, high) = unsafe {
                    let at = tiles.as_ptr().add(64 * r + 32 * half);
                    (
                        _mm256_loadu_si256(at.cast()),
                        _mm256_loadu_si256(at.add(TILE_BYTES).cast()),
                    )
                };
                // Per 128-bit lane l: rows 4l, 4l+1 (unpacklo) and 4l+2, 4l+3 (unpackhi)
                // of this half, each row's columns 4r..4r+4 as two dwords of 16-bit pairs.
                let rows_a = _mm256_unpacklo_epi8(low, high);
                let rows_b = _mm256_unpackhi_epi8(low, high);
                for (m, &base) in bases.iter().enumerate() {
                    // SAFETY: query row `m` holds at least `chunks.end · CHUNK` values
                    // (asserted above), `c < chunks.end` and `4r + 4 <= CHUNK`, so the four
                    // values (8 bytes) at `c · CHUNK + 4r` are inside it.
                    let four =
                        unsafe { base.add(c * CHUNK + 4 * r).cast::<i64>().read_unaligned() };
                    let query = _mm256_set1_epi64x(four);
                    rows_a_sums[m] =
                        _mm256_add_epi32(rows_a_sums[m], _mm256_madd_epi16(rows_a, query));
                    rows_b_sums[m] =
                        _mm256_add_epi32(rows_b_sums[m], _mm256_madd_epi16(rows_b, query));
                }
            }
        }
        for m in 0..MR {
            let (mut a, mut b) = ([0u32; 8], [0u32; 8]);
            // SAFETY: each store writes 32 bytes into an 8 × u32 array; `storeu` has no
            // alignment requirement.
            unsafe {
                _mm256_storeu_si256(a.as_mut_ptr().cast(), rows_a_sums[m]);
                _mm256_storeu_si256(b.as_mut_ptr().cast(), rows_b_sums[m]);
            }
            for q in 0..4 {
                // Qword q lies in 128-bit lane q / 2; its two dwords are one row's sum:
                // row 8·half + 4(q/2) + q%2 (unpacklo) and the same + 2 (unpackhi).
                let row = 8 * half + 4 * (q / 2) + q % 2;
                result[m][row] = a[2 * q].wrapping_add(a[2 * q + 1]) as u16;
                result[m][row + 2] = b[2 * q].wrapping_add(b[2 * q + 1]) as u16;
            }
        }
    }
    result
}

/// Runs `MR` queries from `first` against one block and segment, writing the results.
fn run_block<const MR: usize>(job: &mut Job<'_>, block: usize, segment: usize, first: usize) {
    let (queries, gallery) = (job.queries, job.gallery);
    let rows: [&[u16]; MR] = core::array::from_fn(|i| queries.plain_row(first + i));
    // SAFETY: `products` only runs this kernel after `available()` confirmed AVX2
    // (`Kernel::is_available` is checked by `matmul::products`).
    let result =
        unsafe { block_products::<MR>(&rows, gallery.block(block), job.segments[segment].clone()) };
    for (i, values) in result.iter().enumerate() {
        job.write_block(segment, first + i, block, values);
    }
}

/// Every product of the job. The caller has checked [`available`].
pub(super) fn products(mut job: Job<'_>) {
    job.for_each_query_run(QUERY_BLOCK, |job, block, segment, first, take| match take {
        4 => run_block::<4>(job, block, segment, first),
        3 => run_block::<3>(job, block, segment, first),
        2 => run_block::<2>(job, block, segment, first),
        _ => run_block::<1>(job, block, segment, first),
    });
}
