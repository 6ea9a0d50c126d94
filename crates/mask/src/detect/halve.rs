//! Halving a picture for the pyramid: the triangle filter at exactly 2:1, rows in parallel.
//!
//! At 2:1 the triangle filter `imageops::resize` uses is the separable kernel
//! [1, 3, 3, 1] / 8 (taps half a pixel and one and a half pixels from the output pixel's
//! centre), its weights renormalised where taps fall outside the picture. `image` runs it
//! on one thread in float32; halving a 12 MP photo took about 0.23 s of a masking run's
//! wall time for each of its four pyramids (first pass and three re-check rounds) while
//! the second core waited. [`halve`] computes the same sums in integers (exact, rounded
//! once at the end), output rows spread over rayon's threads; the unit tests compare it
//! with `imageops::resize` (every channel within 1 of it, on random pictures). In float32
//! with a rounding call per byte it still took an eighth of a masking run's CPU time.

use image::RgbImage;
use rayon::prelude::*;

/// The filter's taps for output coordinate `o` of a line `len` long: input coordinates
/// 2o - 1 to 2o + 2 with weights 1, 3, 3, 1, those outside the line dropped; returns the
/// first coordinate, the weights and their sum.
fn taps(o: usize, len: usize) -> (usize, [u16; 4], u32) {
    let mut weights = [1, 3, 3, 1];
    let first = (2 * o).saturating_sub(1);
    if o == 0 {
        weights = [3, 3, 1, 0];
    }
    let mut sum = 0;
    for (i, w) in weights.iter_mut().enumerate() {
        if first + i >= len {
            *w = 0;
        }
        sum += u32::from(*w);
    }
    (first, weights, sum)
}

/// `image` halved (sides `width / 2` and `height / 2`, both at least 1), or `None` when a
/// side is odd or below 2 (the caller resizes those with `imageops::resize`).
pub(crate) fn halve(image: &RgbImage) -> Option<RgbImage> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    if w < 2 || h < 2 || w % 2 != 0 || h % 2 != 0 {
        return None;
    }
    let (ow, oh) = (w / 2, h / 2);
    let src = image.as_raw();
    let mut out = vec![0u8; ow * oh * 3];
    out.par_chunks_mut(ow * 3).enumerate().for_each_init(
        || (vec![0u16; w * 3], Vec::new()),
        |(column_sums, filtered), (oy, row)| {
            let (first_row, row_weights, row_sum) = taps(oy, h);
            // Each input byte's column summed over the rows this output row reads (at
            // most 8 x 255), in loops the compiler vectorises: the four rows at once
            // where all four are inside the picture (every row but the first and last).
            let line = |i: usize| &src[(first_row + i) * w * 3..(first_row + i + 1) * w * 3];
            if row_weights == [1, 3, 3, 1] {
                let rows = line(0).iter().zip(line(1)).zip(line(2).iter().zip(line(3)));
                for (s, ((&a, &b), (&c, &d))) in column_sums.iter_mut().zip(rows) {
                    *s = u16::from(a) + 3 * (u16::from(b) + u16::from(c)) + u16::from(d);
                }
                halve_row(column_sums, row_sum, ow, row, filtered);
                return;
            }
            column_sums.fill(0);
            for (i, &rw) in row_weights.iter().enumerate() {
                if rw == 0 {
                    continue;
                }
                for (s, &p) in column_sums.iter_mut().zip(line(i)) {
                    *s += rw * u16::from(p);
                }
            }
            halve_row(column_sums, row_sum, ow, row, filtered);
        },
    );
    RgbImage::from_raw(ow as u32, oh as u32, out)
}

/// One output row from its column sums (`row_sum` the sum of the rows' weights): the
/// weighted sum over columns, divided by the weights' total, rounded half up; `filtered`
/// is scratch space.
fn halve_row(column_sums: &[u16], row_sum: u32, ow: usize, row: &mut [u8], filtered: &mut Vec<u8>) {
    let v = |x: usize| u32::from(column_sums[x]);
    let divide = |s: u32, total: u32| ((2 * s + total) / (2 * total)).min(255) as u8;
    let total = 8 * row_sum;
    if total == 64 && ow > 2 {
        // Inner columns of an inner row: taps 2 ox - 1 to 2 ox + 2, weights 1, 3, 3, 1
        // summing to 8 (and 8 over the rows). Filtered at every input byte in loops the
        // compiler vectorises (at most 64 x 255, within u16), then every other pixel
        // kept: output pixel ox's value is the one filtered from input pixel 2 ox - 1
        // (bytes 6 ox - 3 on).
        let n = column_sums.len() - 9;
        filtered.resize(n, 0);
        let taps = column_sums
            .iter()
            .zip(&column_sums[3..])
            .zip(&column_sums[6..]);
        for (f, (((&a, &b), &c), &d)) in filtered.iter_mut().zip(taps.zip(&column_sums[9..])) {
            *f = ((a + 3 * (b + c) + d + 32) >> 6).min(255) as u8;
        }
        let kept = filtered[3..].chunks_exact(6).take(ow - 2);
        for (dst, src) in row[3..(ow - 1) * 3].chunks_exact_mut(3).zip(kept) {
            dst.copy_from_slice(&src[..3]);
        }
    } else {
        for ox in 1..ow.saturating_sub(1) {
            let x = (2 * ox - 1) * 3;
            for c in 0..3 {
                let s = v(x + c) + 3 * (v(x + 3 + c) + v(x + 6 + c)) + v(x + 9 + c);
                row[ox * 3 + c] = divide(s, total);
            }
        }
    }
    // The first and last columns (the same one when the output is 1 wide).
    for ox in [0, ow - 1] {
        let (first, weights, sum) = taps(ox, 2 * ow);
        for c in 0..3 {
            let s: u32 = (0..4)
                .filter(|&j| weights[j] != 0)
                .map(|j| u32::from(weights[j]) * v((first + j) * 3 + c))
                .sum();
            row[ox * 3 + c] = divide(s, sum * row_sum);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::imageops::{self, FilterType};
    use proptest::prelude::*;

    /// A picture of `w` x `h` random pixels (a xorshift stream from `seed`).
    fn random_picture(w: u32, h: u32, seed: u64) -> RgbImage {
        let mut state = seed | 1;
        RgbImage::from_fn(w, h, |_, _| {
            let mut next = || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            };
            image::Rgb([next(), next(), next()])
        })
    }

    proptest! {
        /// Every channel of every pixel within 1 of `imageops::resize` with the triangle
        /// filter (they sum in a different order), on random pictures of even sides.
        #[test]
        fn halving_matches_the_triangle_filter(
            half_w in 1u32..40,
            half_h in 1u32..40,
            seed in any::<u64>(),
        ) {
            let image = random_picture(2 * half_w, 2 * half_h, seed);
            let ours = halve(&image).unwrap();
            let theirs = imageops::resize(&image, half_w, half_h, FilterType::Triangle);
            prop_assert_eq!(ours.dimensions(), theirs.dimensions());
            for (a, b) in ours.as_raw().iter().zip(theirs.as_raw()) {
                prop_assert!(a.abs_diff(*b) <= 1, "{} vs {}", a, b);
            }
        }
    }

    /// Each output byte, rows and columns, is the plain weighted sum of the taps `taps`
    /// gives, divided by their total and rounded half up: exactly, on random pictures.
    #[test]
    fn halving_is_the_exact_weighted_mean_of_the_taps() {
        proptest!(|(half_w in 1usize..30, half_h in 1usize..12, seed in any::<u64>())| {
            let (w, h) = (2 * half_w, 2 * half_h);
            let image = random_picture(w as u32, h as u32, seed);
            let ours = halve(&image).unwrap();
            for oy in 0..half_h {
                let (fy, wy, sy) = taps(oy, h);
                for ox in 0..half_w {
                    let (fx, wx, sx) = taps(ox, w);
                    for c in 0..3 {
                        let mut s = 0u32;
                        for (i, &a) in wy.iter().enumerate().filter(|(_, a)| **a != 0) {
                            for (j, &b) in wx.iter().enumerate().filter(|(_, b)| **b != 0) {
                                let p = image.get_pixel((fx + j) as u32, (fy + i) as u32).0[c];
                                s += u32::from(a) * u32::from(b) * u32::from(p);
                            }
                        }
                        let total = sx * sy;
                        let want = ((2 * s + total) / (2 * total)).min(255) as u8;
                        prop_assert_eq!(ours.get_pixel(ox as u32, oy as u32).0[c], want);
                    }
                }
            }
        });
    }

    #[test]
    fn odd_or_tiny_sides_are_left_to_the_caller() {
        assert!(halve(&RgbImage::new(3, 4)).is_none());
        assert!(halve(&RgbImage::new(4, 1)).is_none());
        assert_eq!(halve(&RgbImage::new(2, 2)).unwrap().dimensions(), (1, 1));
    }
}
