//! A quick throughput measurement of one kernel, for `masque bench` and the criterion
//! bench: multiply-adds per CPU-second of the calling thread.

use super::{Kernel, MatmulError, PackedRows, QueryRows, products};

/// Row width used by [`measure`]: one iris eye in the engine's encoding.
pub const MEASURE_WIDTH: usize = 19_200;
/// Segments used by [`measure`]: code columns, then mask columns.
pub const MEASURE_SEGMENT_ENDS: [usize; 2] = [12_800, MEASURE_WIDTH];

/// Measures `kernel` on `m` pseudo-random queries against `n` pseudo-random gallery rows
/// of [`MEASURE_WIDTH`] columns split at [`MEASURE_SEGMENT_ENDS`], and returns
/// multiply-adds per second (`m × n × 19,200` per call; the best of three timed calls
/// after one warm-up call).
///
/// Time is the calling thread's CPU time where Linux provides it (the unit the engine's
/// throughput is quoted in, and robust on a shared machine), wall-clock elsewhere.
/// Single-threaded. Allocates about `n × 38.4` KB.
///
/// # Errors
/// [`MatmulError::KernelUnavailable`] where the kernel cannot run here.
pub fn measure(kernel: Kernel, m: usize, n: usize) -> Result<f64, MatmulError> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        // SplitMix64: benchmark filler, not randomness anyone relies on.
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) as u16
    };
    let mut row = vec![0u16; MEASURE_WIDTH];
    let mut gallery = PackedRows::new(MEASURE_WIDTH)?;
    gallery.reserve(n);
    for _ in 0..n {
        row.iter_mut().for_each(|v| *v = next());
        gallery.push(&row)?;
    }
    let query_rows: Vec<Vec<u16>> = (0..m)
        .map(|_| (0..MEASURE_WIDTH).map(|_| next()).collect())
        .collect();
    let refs: Vec<&[u16]> = query_rows.iter().map(Vec::as_slice).collect();
    let queries = QueryRows::new(MEASURE_WIDTH, &refs)?;
    let mut out = vec![0u16; MEASURE_SEGMENT_ENDS.len() * m * n];
    let mut run = || {
        products(
            kernel,
            &queries,
            &gallery,
            0..n,
            &MEASURE_SEGMENT_ENDS,
            &mut out,
        )
    };
    run()?;
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let start = clock::now();
        run()?;
        best = best.min(clock::now() - start);
    }
    Ok((m * n * MEASURE_WIDTH) as f64 / best.max(1e-9))
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod clock {
    /// CPU seconds used by the calling thread.
    pub(super) fn now() -> f64 {
        let mut time = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec through the pointer, which points to a
        // live, writable timespec; CLOCK_THREAD_CPUTIME_ID exists on every Linux.
        let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut time) };
        debug_assert_eq!(status, 0);
        time.tv_sec as f64 + time.tv_nsec as f64 * 1e-9
    }
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
mod clock {
    use std::sync::OnceLock;
    use std::time::Instant;

    /// Wall-clock seconds since the first call.
    pub(super) fn now() -> f64 {
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_secs_f64()
    }
}
