//! The process's allocator: the system's, asking Linux for transparent huge pages on
//! large blocks.
//!
//! Why: masking a photo allocates and frees tensors of tens of megabytes for every tile;
//! glibc maps each one afresh and the kernel faults it in 4 KiB at a time. On a 2-core Zen 4
//! machine, `masque bench mask --runs 2 --frames 3` with the system allocator alone took
//! 3.3 million minor page faults and 8.1 s of system time; with `MADV_HUGEPAGE` on blocks
//! of [`LARGE`] bytes or more, 0.18 to 0.24 million and 4.2 to 4.4 s, the photo 0.95 times
//! the time (11.07 and 11.06 s against 10.48 and 10.43, alternated), peak memory 766 to
//! 863 MiB against 750 to 788 (`docs/BENCHMARKS.md`, "Masking: faces up to 48 px ...").
//!
//! **Guarantees**: every call goes to [`System`] unchanged; the advice only changes how
//! the kernel backs the pages of a block of at least [`LARGE`] bytes (never its contents or
//! address), a refused advice is ignored, and where transparent huge pages are off it does
//! nothing. Off Linux the allocator is [`System`] alone.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks this large or larger are advised (one huge page on x86-64).
pub const LARGE: usize = 2 << 20;

/// [`System`], advising huge pages for large blocks.
pub struct HugePages;

impl HugePages {
    /// Advises huge pages for the whole pages inside the block at `ptr` of `len` bytes.
    #[cfg(target_os = "linux")]
    fn advise(ptr: *mut u8, len: usize) {
        if ptr.is_null() || len < LARGE {
            return;
        }
        const PAGE: usize = 4096;
        let start = (ptr as usize).next_multiple_of(PAGE);
        let end = (ptr as usize + len) & !(PAGE - 1);
        if end > start {
            // SAFETY: [start, end) lies inside the block the system allocator just returned
            // to us, so it is mapped memory this process owns; MADV_HUGEPAGE changes only
            // how the kernel backs those pages, not their contents, so no reference to
            // them is affected. A failure (e.g. huge pages unsupported) is harmless and
            // ignored.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn advise(_ptr: *mut u8, _len: usize) {}
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged and
// returns its result, so `System`'s guarantees hold; `advise` never frees, moves or writes
// the block.
unsafe impl GlobalAlloc for HugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, passed on as is.
        let ptr = unsafe { System.alloc(layout) };
        Self::advise(ptr, layout.size());
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        Self::advise(ptr, layout.size());
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, that is from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`, and the caller upholds `realloc`'s contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        Self::advise(new, new_size);
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Large and small blocks keep what is written to them through allocation, zeroed
    /// allocation and growth, whether or not the advice was taken.
    #[test]
    fn blocks_keep_their_contents() {
        for size in [64, LARGE - 1, LARGE, 3 * LARGE + 123] {
            let layout = Layout::from_size_align(size, 64).unwrap();
            // SAFETY: the layout has a non-zero size; every pointer is checked non-null,
            // used within its size and freed once with the layout it was made with.
            unsafe {
                let zeroed = HugePages.alloc_zeroed(layout);
                assert!(!zeroed.is_null());
                assert!(
                    std::slice::from_raw_parts(zeroed, size)
                        .iter()
                        .all(|&b| b == 0)
                );
                HugePages.dealloc(zeroed, layout);

                let ptr = HugePages.alloc(layout);
                assert!(!ptr.is_null());
                for i in 0..size {
                    *ptr.add(i) = (i % 251) as u8;
                }
                let bigger = 2 * size + LARGE;
                let grown = HugePages.realloc(ptr, layout, bigger);
                assert!(!grown.is_null());
                let kept = std::slice::from_raw_parts(grown, size);
                assert!(kept.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
                HugePages.dealloc(grown, Layout::from_size_align(bigger, 64).unwrap());
            }
        }
    }
}
