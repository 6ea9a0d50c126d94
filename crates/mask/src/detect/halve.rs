//! Halving a picture for the pyramid: the triangle filter at exactly 2:1, rows in parallel.
//!
//! At 2:1 the triangle filter `imageops::resize` uses is the separable kernel
//! [1, 3, 3, 1] / 8 (taps half a pixel and one and a half pixels from the output pixel's
//! centre), its weights renormalised where taps fall outside the picture. `image` runs it
//! on one thread in float32; halving a 12 MP photo took about 0.23 s of a masking run's
//! wall time for each of its four pyramids (first pass and three re-check rounds) while
//! the second core waited. [`halve`] computes the same sums, output rows spread over
//! rayon's threads; the unit tests compare it with `imageops::resize` (every channel
//! within 1 of it, on random pictures).

use image::RgbImage;
use rayon::prelude::*;

/// The filter's taps for output coordinate `o` of a line `len` long: input coordinates
/// 2o - 1 to 2o + 2 with weights 1, 3, 3, 1, those outside the line dropped; returns the
/// first coordinate, the weights and their sum.
fn taps(o: usize, len: usize) -> (usize, [f32; 4], f32) {
    let mut weights = [1.0, 3.0, 3.0, 1.0];
    let first = (2 * o).saturating_sub(1);
    if o == 0 {
        weights = [3.0, 3.0, 1.0, 0.0];
    }
    let mut sum = 0.0;
    for (i, w) in weights.iter_mut().enumerate() {
        if first + i >= len {
            *w = 0.0;
        }
        sum += *w;
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
    // The horizontal taps are the same for every row; only the two edge columns lose one.
    let edges = [(0, taps(0, w)), (ow - 1, taps(ow - 1, w))];
    let mut out = vec![0u8; ow * oh * 3];
    out.par_chunks_mut(ow * 3)
        .enumerate()
        .for_each(|(oy, row)| {
            let (first_row, row_weights, row_sum) = taps(oy, h);
            let mut sums = vec![0f32; ow * 3];
            for (i, &rw) in row_weights.iter().enumerate() {
                if rw == 0.0 {
                    continue;
                }
                let line = &src[(first_row + i) * w * 3..(first_row + i + 1) * w * 3];
                let px = |x: usize, c: usize| f32::from(line[x * 3 + c]);
                // Inner columns: taps 2 ox - 1 to 2 ox + 2, all inside.
                for ox in 1..ow.saturating_sub(1) {
                    let x = 2 * ox - 1;
                    for c in 0..3 {
                        let acc = px(x, c) + 3.0 * px(x + 1, c) + 3.0 * px(x + 2, c) + px(x + 3, c);
                        sums[ox * 3 + c] += rw * (acc / 8.0);
                    }
                }
                // The first and last columns (the same one when the output is 1 wide).
                for &(ox, (first, weights, sum)) in &edges[..if ow > 1 { 2 } else { 1 }] {
                    for c in 0..3 {
                        let mut acc = 0.0;
                        for (j, &cw) in weights.iter().enumerate() {
                            if cw != 0.0 {
                                acc += cw * px(first + j, c);
                            }
                        }
                        sums[ox * 3 + c] += rw * (acc / sum);
                    }
                }
            }
            for (o, s) in row.iter_mut().zip(&sums) {
                *o = (s / row_sum).round().clamp(0.0, 255.0) as u8;
            }
        });
    RgbImage::from_raw(ow as u32, oh as u32, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::imageops::{self, FilterType};
    use proptest::prelude::*;

    proptest! {
        /// Every channel of every pixel within 1 of `imageops::resize` with the triangle
        /// filter (they sum in a different order), on random pictures of even sides.
        #[test]
        fn halving_matches_the_triangle_filter(
            half_w in 1u32..40,
            half_h in 1u32..40,
            seed in any::<u64>(),
        ) {
            let (w, h) = (2 * half_w, 2 * half_h);
            let mut state = seed | 1;
            let image = RgbImage::from_fn(w, h, |_, _| {
                let mut next = || {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 24) as u8
                };
                image::Rgb([next(), next(), next()])
            });
            let ours = halve(&image).unwrap();
            let theirs = imageops::resize(&image, half_w, half_h, FilterType::Triangle);
            prop_assert_eq!(ours.dimensions(), theirs.dimensions());
            for (a, b) in ours.as_raw().iter().zip(theirs.as_raw()) {
                prop_assert!(a.abs_diff(*b) <= 1, "{} vs {}", a, b);
            }
        }
    }

    #[test]
    fn odd_or_tiny_sides_are_left_to_the_caller() {
        assert!(halve(&RgbImage::new(3, 4)).is_none());
        assert!(halve(&RgbImage::new(4, 1)).is_none());
        assert_eq!(halve(&RgbImage::new(2, 2)).unwrap().dimensions(), (1, 1));
    }
}
