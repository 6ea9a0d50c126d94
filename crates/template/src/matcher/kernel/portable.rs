//! The reference kernel: plain loops over 64-bit words.

use super::super::gallery::EyePlanes;
use super::super::layout::{BLOCKS_PER_PLANE, PackedRotations};
use crate::HammingCounts;
use std::ops::Range;

pub(super) fn count(
    query: &PackedRotations,
    gallery: &EyePlanes,
    eyes: Range<usize>,
    out: &mut [HammingCounts],
) {
    let rotations = query.eyes.len();
    for (k, e) in eyes.enumerate() {
        let (re, im, mask) = gallery.eye(e);
        for (r, q) in query.eyes.iter().enumerate() {
            let mut counts = HammingCounts::default();
            for j in 0..BLOCKS_PER_PLANE {
                for l in 0..8 {
                    let valid = q.mask[j].0[l] & mask[j].0[l];
                    counts.differing += ((q.re[j].0[l] ^ re[j].0[l]) & valid).count_ones()
                        + ((q.im[j].0[l] ^ im[j].0[l]) & valid).count_ones();
                    counts.overlap += 2 * valid.count_ones();
                }
            }
            out[k * rotations + r] = counts;
        }
    }
}
