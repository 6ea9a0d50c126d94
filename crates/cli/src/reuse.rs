//! Large freed blocks kept for the next allocation of exactly their layout, instead of
//! going back to the kernel.
//!
//! Why: a masking run allocates the same tensors for every tile and every frame (a
//! 1080p frame's first layers alone write 33 MB), and glibc hands each block of that size
//! back to the kernel when it is freed (a block over 32 MiB always, smaller ones whenever
//! its arena shrinks). The next frame then faults the same amount in afresh, and the
//! kernel zeroes every page first: in a profile of a 1080p video, 6 % of the CPU time went
//! to zeroing pages, most of it under the first tensors written (`docs/BENCHMARKS.md`,
//! "Masking: large blocks reused, expanded rows carried").
//!
//! **Guarantees**: a block is handed out again only for a layout equal to the one it was
//! freed with, and only after it was freed; at most [`SLOTS`] blocks and [`HELD`] bytes
//! are kept, the block freed longest ago giving way to a newer one; a zeroed allocation
//! served from a kept block is zeroed here. Blocks under [`SMALLEST`] bytes, and every
//! block the cache does not keep or serve, go straight to the inner allocator.
//!
//! **Not guaranteed**: that memory goes back to the system as soon as it is freed: up to
//! [`HELD`] bytes stay with the process until a block of their layout is asked for again
//! or newer ones push them out.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::Mutex;

/// Blocks of at least this many bytes are kept when freed (1 MiB: a tensor, not a string).
pub const SMALLEST: usize = 1 << 20;
/// At most this many bytes are kept at once.
pub const HELD: usize = 192 << 20;
/// At most this many blocks are kept at once.
pub const SLOTS: usize = 48;

/// A freed block kept for reuse.
#[derive(Clone, Copy)]
struct Kept {
    /// The block's address.
    addr: usize,
    size: usize,
    align: usize,
    /// When it was freed, on the cache's own clock (larger is later).
    freed: u64,
}

/// What the cache holds, behind its lock.
struct Shelf {
    kept: [Option<Kept>; SLOTS],
    /// The sum of the kept blocks' sizes.
    held: usize,
    /// Ticks once per block kept.
    clock: u64,
}

impl Shelf {
    /// Takes the kept block of exactly `layout`, if there is one.
    fn take(&mut self, layout: Layout) -> Option<*mut u8> {
        let slot = self
            .kept
            .iter_mut()
            .find(|k| k.is_some_and(|k| k.size == layout.size() && k.align == layout.align()))?;
        let kept = slot.take()?;
        self.held -= kept.size;
        Some(kept.addr as *mut u8)
    }

    /// The kept block freed longest ago, removed from the shelf.
    fn oldest(&mut self) -> Option<Kept> {
        let slot = self
            .kept
            .iter_mut()
            .filter(|k| k.is_some())
            .min_by_key(|k| k.map_or(u64::MAX, |k| k.freed))?;
        let kept = slot.take()?;
        self.held -= kept.size;
        Some(kept)
    }
}

/// `A`, with large freed blocks kept for reuse.
pub struct Reuse<A> {
    inner: A,
    shelf: Mutex<Shelf>,
}

impl<A> Reuse<A> {
    /// `inner`, with an empty cache in front of it.
    pub const fn new(inner: A) -> Reuse<A> {
        Reuse {
            inner,
            shelf: Mutex::new(Shelf {
                kept: [None; SLOTS],
                held: 0,
                clock: 0,
            }),
        }
    }

    /// The shelf, locked. A panic cannot happen while it is held (no code in the
    /// critical sections panics), but a poisoned lock is taken over rather than
    /// propagated: an allocator must not panic.
    fn shelf(&self) -> std::sync::MutexGuard<'_, Shelf> {
        self.shelf
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Bytes kept now.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.shelf().held
    }
}

// SAFETY: a block is handed out either by `inner` or from the shelf, which holds only
// blocks `inner` allocated, that their owner has freed, each at most once (taken off the
// shelf when handed out), and only for the layout they were allocated with; so every
// block passed to `inner.dealloc`/`inner.realloc` came from `inner` with that layout, and
// no block is ever handed to two owners.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Reuse<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= SMALLEST
            && let Some(ptr) = self.shelf().take(layout)
        {
            return ptr;
        }
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, passed on as is.
        unsafe { self.inner.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= SMALLEST
            && let Some(ptr) = self.shelf().take(layout)
        {
            // SAFETY: the block holds `layout.size()` bytes and is ours alone now.
            unsafe { std::ptr::write_bytes(ptr, 0, layout.size()) };
            return ptr;
        }
        // SAFETY: as for `alloc`.
        unsafe { self.inner.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let size = layout.size();
        if (SMALLEST..=HELD).contains(&size) {
            // At most every kept block, and this one should the shelf have no room.
            let mut evicted = [None; SLOTS + 1];
            {
                let mut shelf = self.shelf();
                let mut n = 0;
                while shelf.held + size > HELD || shelf.kept.iter().all(Option::is_some) {
                    let Some(oldest) = shelf.oldest() else { break };
                    evicted[n] = Some(oldest);
                    n += 1;
                }
                shelf.clock += 1;
                let kept = Kept {
                    addr: ptr as usize,
                    size,
                    align: layout.align(),
                    freed: shelf.clock,
                };
                // The loop made room and a free slot (emptying the shelf if need be).
                match shelf.kept.iter_mut().find(|k| k.is_none()) {
                    Some(slot) => {
                        *slot = Some(kept);
                        shelf.held += size;
                    }
                    None => evicted[SLOTS] = Some(kept),
                }
            }
            // Freed outside the lock: returning memory to the kernel takes a while.
            for kept in evicted.into_iter().flatten() {
                // SAFETY: a kept block came from `inner` with this layout (see the impl's
                // SAFETY comment) and is off the shelf now, so it is freed exactly once.
                unsafe {
                    let layout = Layout::from_size_align_unchecked(kept.size, kept.align);
                    self.inner.dealloc(kept.addr as *mut u8, layout);
                }
            }
            return;
        }
        // SAFETY: `ptr` came from this allocator, that is from `inner`, with `layout`.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc` (a live block always belongs to `inner`), and the
        // caller upholds `realloc`'s contract.
        unsafe { self.inner.realloc(ptr, layout, new_size) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::System;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    /// A block freed is handed out again for its layout, and only for that layout.
    #[test]
    fn a_freed_block_serves_its_own_layout_only() {
        let cache = Reuse::new(System);
        let big = layout(3 * SMALLEST + 64, 64);
        // SAFETY: every pointer is checked non-null, used within its size and freed once
        // with the layout it was made with.
        unsafe {
            let first = cache.alloc(big);
            assert!(!first.is_null());
            cache.dealloc(first, big);
            assert_eq!(cache.held(), big.size());
            let other_size = cache.alloc(layout(big.size() + 64, 64));
            let other_align = cache.alloc(layout(big.size(), 128));
            assert_ne!(other_size, first);
            assert_ne!(other_align, first);
            let again = cache.alloc(big);
            assert_eq!(again, first, "the freed block is reused");
            assert_eq!(cache.held(), 0);
            cache.dealloc(again, big);
            cache.dealloc(other_size, layout(big.size() + 64, 64));
            cache.dealloc(other_align, layout(big.size(), 128));
        }
    }

    /// A reused block given for a zeroed allocation is all zeros, whatever it held;
    /// small blocks are never kept.
    #[test]
    fn zeroed_allocations_are_zero_and_small_blocks_are_not_kept() {
        let cache = Reuse::new(System);
        let big = layout(SMALLEST, 16);
        // SAFETY: as above.
        unsafe {
            let ptr = cache.alloc(big);
            std::ptr::write_bytes(ptr, 0xa5, big.size());
            cache.dealloc(ptr, big);
            let zeroed = cache.alloc_zeroed(big);
            assert_eq!(zeroed, ptr);
            assert!(
                std::slice::from_raw_parts(zeroed, big.size())
                    .iter()
                    .all(|&b| b == 0)
            );
            cache.dealloc(zeroed, big);

            let small = layout(SMALLEST - 1, 16);
            let ptr = cache.alloc(small);
            cache.dealloc(ptr, small);
            assert_eq!(cache.held(), big.size());
        }
    }

    /// However many blocks are freed, at most HELD bytes and SLOTS blocks stay, the
    /// newest ones; a block larger than HELD is never kept.
    #[test]
    fn the_cache_keeps_the_newest_blocks_within_its_bounds() {
        let cache = Reuse::new(System);
        // SAFETY: as above.
        unsafe {
            let sizes: Vec<usize> = (0..3 * SLOTS).map(|i| SMALLEST + i * 4096).collect();
            let blocks: Vec<*mut u8> = sizes.iter().map(|&s| cache.alloc(layout(s, 8))).collect();
            for (&ptr, &size) in blocks.iter().zip(&sizes) {
                cache.dealloc(ptr, layout(size, 8));
                assert!(cache.held() <= HELD);
            }
            // The last SLOTS freed are kept: each comes back for its own layout.
            for (&ptr, &size) in blocks.iter().zip(&sizes).rev().take(SLOTS) {
                assert_eq!(cache.alloc(layout(size, 8)), ptr);
                cache.dealloc(ptr, layout(size, 8));
            }
            let huge = layout(HELD + 1, 8);
            let ptr = cache.alloc(huge);
            let before = cache.held();
            cache.dealloc(ptr, huge);
            assert_eq!(cache.held(), before);
            // Large enough blocks push out older ones by bytes, not only by count.
            let half = layout(HELD / 2, 8);
            let (a, b, c) = (cache.alloc(half), cache.alloc(half), cache.alloc(half));
            for p in [a, b, c] {
                cache.dealloc(p, half);
                assert!(cache.held() <= HELD);
            }
            // The two newest stay; the oldest gave way.
            let kept = [cache.alloc(half), cache.alloc(half)];
            assert!(kept.contains(&b) && kept.contains(&c) && !kept.contains(&a));
            for p in kept {
                cache.dealloc(p, half);
            }
        }
    }

    /// Threads allocating, filling, checking and freeing blocks of a few large sizes at
    /// once never see a block another thread owns (each checks its own pattern).
    #[test]
    fn threads_never_share_a_block() {
        static CACHE: Reuse<System> = Reuse::new(System);
        let threads: Vec<_> = (0..4u8)
            .map(|t| {
                std::thread::spawn(move || {
                    for round in 0..60usize {
                        let size = SMALLEST + (round % 3) * 8192;
                        let l = layout(size, 64);
                        // SAFETY: as above.
                        unsafe {
                            let ptr = CACHE.alloc(l);
                            assert!(!ptr.is_null());
                            let block = std::slice::from_raw_parts_mut(ptr, size);
                            block.fill(t);
                            std::thread::yield_now();
                            assert!(block.iter().all(|&b| b == t), "thread {t} round {round}");
                            CACHE.dealloc(ptr, l);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
}
