//! The AMX-INT8 kernel: `tdpbuud` on byte planes, three byte products per 16-bit product.
//!
//! Tile registers: `tmm0`/`tmm1` hold the low (`q0·g0`) and cross (`q1·g0 + q0·g1`) sums of
//! a 16-query tile against gallery block `b`, `tmm2`/`tmm3` the same for block `b + 1`;
//! `tmm4`/`tmm5` take the query tile's low/high planes and `tmm6`/`tmm7` one block's
//! low/high planes at a time. Per 64 columns: six tile loads, six `tdpbuud`.
//!
//! Each call of [`pair_panel`] is one `asm!` block that configures the tiles
//! (`ldtilecfg`), runs, stores the accumulators and releases the tiles (`tilerelease`), so
//! no tile state outlives it and threads never share any.

use super::Job;
use super::layout::{BLOCK_ROWS, CHUNK_BYTES, Line, TILE_BYTES, bytes, bytes_mut};
use std::sync::OnceLock;
use zeroize::Zeroize;

/// Chunks of 64 columns per panel. Measured on Sapphire Rapids (M = 31 and 124, N = 2048):
/// panels of 10 to 50 chunks and groups of 8 or 16 blocks are within noise of each other;
/// longer panels or bigger groups spill L2.
const PANEL_CHUNKS: usize = 20;
/// Gallery blocks per group: a group's panel of gallery rows stays in L2 while every
/// query tile runs over it.
const GROUP_BLOCKS: usize = 16;
// Blocks run in pairs, so a group's accumulator slots come in pairs too.
const _: () = assert!(GROUP_BLOCKS.is_multiple_of(2));
/// i32 values of one accumulator tile.
const TILE_I32: usize = 256;

/// Whether the CPU has AMX-TILE and AMX-INT8 and Linux granted this process the tile
/// state. The request is made on the first call only.
pub(super) fn available() -> bool {
    static GRANTED: OnceLock<bool> = OnceLock::new();
    *GRANTED.get_or_init(|| cpu_has_amx() && permission::request())
}

/// CPUID leaf 7: AMX-TILE (EDX bit 24) and AMX-INT8 (EDX bit 25).
fn cpu_has_amx() -> bool {
    // CPUID leaf 7 exists on every x86-64 CPU that could have AMX; older ones report 0s.
    let max_leaf = core::arch::x86_64::__cpuid(0).eax;
    if max_leaf < 7 {
        return false;
    }
    let edx = core::arch::x86_64::__cpuid_count(7, 0).edx;
    edx & (1 << 24) != 0 && edx & (1 << 25) != 0
}

/// Linux's opt-in for the AMX tile state (it is off until a process asks, and a tile
/// instruction before that raises SIGILL).
mod permission {
    const ARCH_GET_XCOMP_PERM: libc::c_ulong = 0x1022;
    const ARCH_REQ_XCOMP_PERM: libc::c_ulong = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_ulong = 18;

    /// Asks for the tile data state, then reads the permission back.
    pub(super) fn request() -> bool {
        // SAFETY: arch_prctl(ARCH_REQ_XCOMP_PERM, feature) takes two integers and touches no
        // memory of ours; on kernels without it the call fails with an error code.
        let asked = unsafe {
            libc::syscall(
                libc::SYS_arch_prctl,
                ARCH_REQ_XCOMP_PERM,
                XFEATURE_XTILEDATA,
            )
        };
        if asked != 0 {
            return false;
        }
        let mut features: u64 = 0;
        // SAFETY: ARCH_GET_XCOMP_PERM writes one u64 through the pointer, which points to
        // a live, writable u64.
        let got = unsafe {
            libc::syscall(
                libc::SYS_arch_prctl,
                ARCH_GET_XCOMP_PERM,
                &mut features as *mut u64,
            )
        };
        got == 0 && features & (1 << XFEATURE_XTILEDATA) != 0
    }
}

/// The 64-byte tile configuration: palette 1, eight tiles of 16 rows × 64 bytes.
#[repr(C, align(64))]
struct TileConfig([u8; 64]);

impl TileConfig {
    const fn all_full() -> Self {
        let mut bytes = [0u8; 64];
        bytes[0] = 1; // palette 1
        let mut t = 0;
        while t < 8 {
            bytes[16 + 2 * t] = 64; // bytes per row (u16 little-endian, high byte 0)
            bytes[48 + t] = 16; // rows
            t += 1;
        }
        Self(bytes)
    }
}

static CONFIG: TileConfig = TileConfig::all_full();

/// Accumulates one panel for a query tile and a pair of gallery blocks.
///
/// `queries` and `block0`/`block1` start at the panel's first chunk and hold at least
/// `chunks` × [`CHUNK_BYTES`] bytes; `sums` is the pair's 4 accumulator tiles (low and
/// cross of block 0, then of block 1), loaded first unless `fresh`, stored at the end.
fn pair_panel(
    queries: &[u8],
    block0: &[u8],
    block1: &[u8],
    sums: &mut [u8],
    chunks: usize,
    fresh: bool,
) {
    let panel = chunks * CHUNK_BYTES;
    assert!(chunks > 0 && queries.len() >= panel && block0.len() >= panel && block1.len() >= panel);
    assert!(sums.len() >= 4 * TILE_BYTES);
    // SAFETY: AMX is usable: this module's `products` is only reached after `available()`
    // (CPU support and the Linux permission). Every tile load reads 16 rows of 64 bytes at
    // stride 64 inside the slices checked above: the loop advances each pointer by
    // CHUNK_BYTES `chunks` times, reading the tiles at +0 and +TILE_BYTES, so it stays
    // within `chunks × CHUNK_BYTES` bytes; accumulator loads/stores touch the first
    // 4 × TILE_BYTES bytes of `sums`. The tile configuration is loaded first and the tiles
    // released last, so no tile state escapes the block; general registers and flags used
    // are declared.
    unsafe {
        core::arch::asm!(
            "ldtilecfg [{cfg}]",
            "test {fresh:e}, {fresh:e}",
            "jnz 3f",
            "tileloadd tmm0, [{sums} + {stride}*1]",
            "tileloadd tmm1, [{sums} + {stride}*1 + 1024]",
            "tileloadd tmm2, [{sums} + {stride}*1 + 2048]",
            "tileloadd tmm3, [{sums} + {stride}*1 + 3072]",
            "jmp 2f",
            "3:",
            "tilezero tmm0",
            "tilezero tmm1",
            "tilezero tmm2",
            "tilezero tmm3",
            "2:",
            "tileloadd tmm4, [{q} + {stride}*1]",
            "tileloadd tmm5, [{q} + {stride}*1 + 1024]",
            "tileloadd tmm6, [{g0} + {stride}*1]",
            "tileloadd tmm7, [{g0} + {stride}*1 + 1024]",
            "tdpbuud tmm0, tmm4, tmm6",
            "tdpbuud tmm1, tmm5, tmm6",
            "tileloadd tmm6, [{g1} + {stride}*1]",
            "tdpbuud tmm1, tmm4, tmm7",
            "tileloadd tmm7, [{g1} + {stride}*1 + 1024]",
            "tdpbuud tmm2, tmm4, tmm6",
            "tdpbuud tmm3, tmm5, tmm6",
            "tdpbuud tmm3, tmm4, tmm7",
            "add {q}, 2048",
            "add {g0}, 2048",
            "add {g1}, 2048",
            "dec {n}",
            "jnz 2b",
            "tilestored [{sums} + {stride}*1], tmm0",
            "tilestored [{sums} + {stride}*1 + 1024], tmm1",
            "tilestored [{sums} + {stride}*1 + 2048], tmm2",
            "tilestored [{sums} + {stride}*1 + 3072], tmm3",
            "tilerelease",
            cfg = in(reg) CONFIG.0.as_ptr(),
            fresh = in(reg) u32::from(fresh),
            sums = in(reg) sums.as_mut_ptr(),
            stride = in(reg) 64usize,
            q = inout(reg) queries.as_ptr() => _,
            g0 = inout(reg) block0.as_ptr() => _,
            g1 = inout(reg) block1.as_ptr() => _,
            n = inout(reg) chunks => _,
            options(nostack),
        );
    }
}

/// Every product of the job. The caller has checked [`available`].
pub(super) fn products(mut job: Job<'_>) {
    let (queries, gallery) = (job.queries, job.gallery);
    let query_tiles = queries.tile_rows();
    let blocks = job.blocks();
    // Accumulators of one group: [query tile][block][low, cross].
    let slot_bytes = 2 * TILE_BYTES;
    let mut scratch = vec![Line::default(); query_tiles * GROUP_BLOCKS * slot_bytes / 64];
    for group in blocks.clone().step_by(GROUP_BLOCKS) {
        let group_end = (group + GROUP_BLOCKS).min(blocks.end);
        for segment in 0..job.segments.len() {
            let chunks = job.segments[segment].clone();
            let mut panel = chunks.start;
            while panel < chunks.end {
                let take = (chunks.end - panel).min(PANEL_CHUNKS);
                let at = panel * CHUNK_BYTES;
                let sums = bytes_mut(&mut scratch);
                for t in 0..query_tiles {
                    let query_panel = &queries.tiles(t)[at..];
                    for pair in (group..group_end).step_by(2) {
                        // An odd last block runs as its own pair; the twin's sums are unused.
                        let second = if pair + 1 < group_end { pair + 1 } else { pair };
                        let slot = (t * GROUP_BLOCKS + pair - group) * slot_bytes;
                        pair_panel(
                            query_panel,
                            &gallery.block(pair)[at..],
                            &gallery.block(second)[at..],
                            &mut sums[slot..slot + 2 * slot_bytes],
                            take,
                            panel == chunks.start,
                        );
                    }
                }
                panel += take;
            }
            write_group(&mut job, bytes(&scratch), segment, group..group_end);
        }
    }
    scratch.zeroize();
}

/// Combines a group's low and cross sums into products mod 2^16 and writes them out.
fn write_group(job: &mut Job<'_>, scratch: &[u8], segment: usize, group: std::ops::Range<usize>) {
    let queries = job.queries.len();
    let read = |at: usize| i32::from_le_bytes(scratch[at..at + 4].try_into().expect("4 bytes"));
    let mut values = [0u16; BLOCK_ROWS];
    for block in group.clone() {
        for m in 0..queries {
            let (t, i) = (m / BLOCK_ROWS, m % BLOCK_ROWS);
            let slot = (t * GROUP_BLOCKS + block - group.start) * 2 * TILE_BYTES;
            for (n, value) in values.iter_mut().enumerate() {
                // Accumulator tile row i (query), column n (gallery row), 4 bytes each.
                let at = slot + (i * BLOCK_ROWS + n) * 4;
                let (low, cross) = (read(at), read(at + TILE_I32 * 4));
                *value = low.wrapping_add(cross.wrapping_shl(8)) as u16;
            }
            job.write_block(segment, m, block, &values);
        }
    }
    values.zeroize();
}
