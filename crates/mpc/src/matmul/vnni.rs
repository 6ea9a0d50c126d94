//! The AVX-512 VNNI kernel: `vpdpwssd` on the gallery's tile layout.
//!
//! A gallery tile row holds, for 16 rows, four consecutive columns as bytes; interleaving
//! the low-byte and high-byte tile rows (`vpunpck{l,h}bw`) gives two vectors of 16-bit
//! values, each dword lane one row's pair of columns. A query's same four columns,
//! broadcast as one 64-bit pattern, line up with every lane, so one `vpdpwssd` per vector
//! adds 32 products. Eight queries (16 accumulators) share each gallery load.

use super::Job;
use super::layout::{CHUNK, CHUNK_BYTES, TILE_BYTES};
use core::arch::x86_64::*;
use std::ops::Range;

/// Queries per register block.
const QUERY_BLOCK: usize = 8;

/// Whether the CPU has AVX-512 F, BW and VNNI.
pub(super) fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vnni")
}

/// The products of `MR` query rows with the 16 rows of one gallery block over the chunks
/// `chunks`; `result[m][n]` for query `m`, block row `n`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn block_products<const MR: usize>(
    queries: &[&[u16]; MR],
    block: &[u8],
    chunks: Range<usize>,
) -> [[u16; 16]; MR] {
    let mut low_rows = [_mm512_setzero_si512(); MR];
    let mut high_rows = [_mm512_setzero_si512(); MR];
    // Checked once here instead of slicing every query row per chunk: that slicing ran
    // as an out-of-line closure per chunk and query, about a tenth of the kernel's time.
    assert!(
        queries.iter().all(|q| q.len() >= chunks.end * CHUNK),
        "query rows cover the chunks"
    );
    let bases: [*const u16; MR] = core::array::from_fn(|m| queries[m].as_ptr());
    for c in chunks {
        let tiles = &block[c * CHUNK_BYTES..(c + 1) * CHUNK_BYTES];
        for r in 0..16 {
            // SAFETY: `tiles` is CHUNK_BYTES = 2 × 1024 bytes and r < 16, so both 64-byte
            // reads (tile row r of the low plane and of the high plane) are inside it;
            // `loadu` has no alignment requirement.
            let (low, high) = unsafe {
                (
                    _mm512_loadu_si512(tiles.as_ptr().add(64 * r).cast()),
                    _mm512_loadu_si512(tiles.as_ptr().add(TILE_BYTES + 64 * r).cast()),
                )
            };
            // Per 128-bit lane: rows 4l, 4l+1 (unpacklo) and 4l+2, 4l+3 (unpackhi), each
            // row's columns 4r..4r+4 as two dwords of 16-bit pairs.
            let rows_a = _mm512_unpacklo_epi8(low, high);
            let rows_b = _mm512_unpackhi_epi8(low, high);
            for (m, &base) in bases.iter().enumerate() {
                // SAFETY: query row `m` holds at least `chunks.end · CHUNK` values
                // (asserted above), `c < chunks.end` and `4r + 4 <= CHUNK`, so the four
                // values (8 bytes) at `c · CHUNK + 4r` are inside it; `read_unaligned`
                // has no alignment requirement.
                let four = unsafe { base.add(c * CHUNK + 4 * r).cast::<i64>().read_unaligned() };
                let query = _mm512_set1_epi64(four);
                low_rows[m] = _mm512_dpwssd_epi32(low_rows[m], rows_a, query);
                high_rows[m] = _mm512_dpwssd_epi32(high_rows[m], rows_b, query);
            }
        }
    }
    let mut result = [[0u16; 16]; MR];
    for m in 0..MR {
        // Each qword's low dword becomes the sum of its two dwords (one row); its low 16
        // bits are the row's product mod 2^16.
        let sums_a = _mm512_add_epi32(low_rows[m], _mm512_srli_epi64::<32>(low_rows[m]));
        let sums_b = _mm512_add_epi32(high_rows[m], _mm512_srli_epi64::<32>(high_rows[m]));
        let (mut a, mut b) = ([0u16; 8], [0u16; 8]);
        // SAFETY: each store writes 16 bytes into an 8 × u16 array; `storeu` has no
        // alignment requirement.
        unsafe {
            _mm_storeu_si128(a.as_mut_ptr().cast(), _mm512_cvtepi64_epi16(sums_a));
            _mm_storeu_si128(b.as_mut_ptr().cast(), _mm512_cvtepi64_epi16(sums_b));
        }
        for q in 0..8 {
            // qword q lies in 128-bit lane q / 2: rows 4(q/2) + q%2 and 4(q/2) + 2 + q%2.
            result[m][4 * (q / 2) + q % 2] = a[q];
            result[m][4 * (q / 2) + 2 + q % 2] = b[q];
        }
    }
    result
}

/// Runs `MR` queries from `first` against one block and segment, writing the results.
fn run_block<const MR: usize>(job: &mut Job<'_>, block: usize, segment: usize, first: usize) {
    let (queries, gallery) = (job.queries, job.gallery);
    let rows: [&[u16]; MR] = core::array::from_fn(|i| queries.plain_row(first + i));
    // SAFETY: `products` only runs this kernel after `available()` confirmed AVX-512 F,
    // BW and VNNI (`Kernel::is_available` is checked by `matmul::products`).
    let result =
        unsafe { block_products::<MR>(&rows, gallery.block(block), job.segments[segment].clone()) };
    for (i, values) in result.iter().enumerate() {
        job.write_block(segment, first + i, block, values);
    }
}

/// Every product of the job. The caller has checked [`available`].
pub(super) fn products(mut job: Job<'_>) {
    job.for_each_query_run(QUERY_BLOCK, |job, block, segment, first, take| match take {
        8 => run_block::<8>(job, block, segment, first),
        7 => run_block::<7>(job, block, segment, first),
        6 => run_block::<6>(job, block, segment, first),
        5 => run_block::<5>(job, block, segment, first),
        4 => run_block::<4>(job, block, segment, first),
        3 => run_block::<3>(job, block, segment, first),
        2 => run_block::<2>(job, block, segment, first),
        _ => run_block::<1>(job, block, segment, first),
    });
}
