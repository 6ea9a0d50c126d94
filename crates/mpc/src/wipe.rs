//! Buffers of share values that are wiped when dropped, fast.
//!
//! The engine's working buffers (a prepared query's rotated rows, 1.2 MB per eye; the
//! dot products of a search, 4 bytes per comparison) hold shares and must not outlive
//! their computation. `zeroize::Zeroizing<Vec<u16>>` wipes a vector with one volatile
//! store per element and then one per byte of its capacity: about 1.5 stores per byte,
//! which made wiping a 1:1 query's rows cost more than its dot products. [`Wiped`] keeps
//! the guarantee (volatile writes the compiler may not remove, then a fence, over the
//! whole allocation, spare capacity included) with one 64-bit store per eight bytes: it
//! still calls `zeroize`, on a word view of the bytes.
//!
//! Not covered, as with `Zeroizing`: copies the vector made of itself while growing (so
//! size these buffers up front), and copies in registers or on the stack.

use bytemuck::Pod;
use std::ops::{Deref, DerefMut};
use zeroize::Zeroize;

/// A vector of plain values (integers, ring elements) wiped on drop.
#[derive(Default)]
pub struct Wiped<T: Pod>(Vec<T>);

impl<T: Pod> Wiped<T> {
    /// Takes ownership of `values`; they are wiped when this is dropped.
    pub fn new(values: Vec<T>) -> Self {
        Self(values)
    }

    /// `len` zero values.
    pub fn zeroed(len: usize) -> Self {
        Self(vec![T::zeroed(); len])
    }
}

impl<T: Pod> Deref for Wiped<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T: Pod> DerefMut for Wiped<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        &mut self.0
    }
}

impl<T: Pod> Drop for Wiped<T> {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

// Share values: never printed.
impl<T: Pod> std::fmt::Debug for Wiped<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Wiped({} values)", self.0.len())
    }
}

/// Overwrites all of `values`' allocation (length and spare capacity) with zeros using
/// volatile stores, and empties it. The allocation is kept.
pub fn wipe<T: Pod>(values: &mut Vec<T>) {
    // Bring the spare capacity into the slice (plain zeros, no reallocation), so the
    // volatile pass covers the whole allocation without touching uninitialised memory.
    let capacity = values.capacity();
    values.resize(capacity, T::zeroed());
    wipe_bytes(bytemuck::cast_slice_mut(values.as_mut_slice()));
    values.clear();
}

/// Overwrites `bytes` with zeros: volatile 64-bit stores over the aligned middle, byte
/// stores at the unaligned ends, then `zeroize`'s fence.
pub fn wipe_bytes(bytes: &mut [u8]) {
    let (head, words, tail) = bytemuck::pod_align_to_mut::<u8, u64>(bytes);
    head.zeroize();
    words.zeroize();
    tail.zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::{Z16, Z32};

    #[test]
    fn wipe_bytes_clears_exactly_the_slice_at_any_alignment() {
        for (start, end) in [(0, 0), (0, 1), (3, 4), (1, 96), (3, 97), (8, 64), (5, 100)] {
            let mut buf = [0xA5u8; 104];
            wipe_bytes(&mut buf[start..end]);
            assert!(buf[start..end].iter().all(|&b| b == 0), "{start}..{end}");
            assert!(buf[..start].iter().chain(&buf[end..]).all(|&b| b == 0xA5));
        }
    }

    /// Every element of `v`'s allocation, which `wipe` initialised.
    fn allocation_after_wipe<T: Pod>(v: &mut Vec<T>) -> Vec<T> {
        assert!(v.is_empty());
        v.spare_capacity_mut()
            .iter()
            // SAFETY: `wipe` wrote every element of the allocation (`resize` to the
            // capacity, then the volatile zeroing) before setting the length to 0, and
            // nothing has written to the vector since.
            .map(|x| unsafe { x.assume_init() })
            .collect()
    }

    #[test]
    fn wipe_zeroes_values_and_spare_capacity_and_keeps_the_allocation() {
        for (len, capacity) in [(0, 0), (1, 1), (3, 8), (5, 5), (777, 1_003), (4_096, 5_000)] {
            let mut v: Vec<u16> = Vec::with_capacity(capacity);
            v.extend((0..len as u16).map(|i| i | 0x8001));
            let capacity = v.capacity();
            wipe(&mut v);
            assert_eq!(v.capacity(), capacity, "the allocation is kept");
            assert!(allocation_after_wipe(&mut v).iter().all(|&x| x == 0));
        }
    }

    #[test]
    fn wiped_buffers_of_ring_elements() {
        for len in [0, 1, 3, 9, 1_000] {
            let mut a = Wiped::new(
                (1..=len as u32)
                    .map(|i| Z32(i.wrapping_mul(0x9E37_79B9) | 1))
                    .collect(),
            );
            let mut b = Wiped::<Z16>::zeroed(len);
            b.iter_mut().for_each(|x| *x = Z16(0x8000));
            assert_eq!((a.len(), b.len()), (len, len));
            assert!(a.iter().all(|x| *x != Z32(0)));
            wipe(&mut a);
            wipe(&mut b);
            assert!(allocation_after_wipe(&mut a).iter().all(|x| *x == Z32(0)));
            assert!(allocation_after_wipe(&mut b).iter().all(|x| *x == Z16(0)));
            assert_eq!(format!("{:?}", Wiped::new(vec![Z16(7)])), "Wiped(1 values)");
        }
    }
}
