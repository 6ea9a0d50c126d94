//! The review image: the original with each detection's box and score on the left, the
//! masked result on the right, so a person can check before publishing.
//!
//! **Guarantees**: the review image is a PNG with no metadata, written next to the output.
//! It shows the unmasked original, so it must never be published; the CLI names it
//! `*.review.png` and `docs/mask.md` says so.

use image::{GenericImage, Rgba, RgbaImage};

use crate::cover::Region;
use crate::detect::Face;

const GAP: u32 = 8;
const RED: Rgba<u8> = Rgba([255, 40, 40, 255]);
const YELLOW: Rgba<u8> = Rgba([255, 220, 0, 255]);

/// A 3x5 bitmap font for digits and the decimal point (one row per u8, low 3 bits).
fn glyph(c: char) -> [u8; 5] {
    match c {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 1, 1],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        '.' => [0, 0, 0, 0, 2],
        _ => [0; 5],
    }
}

fn put(img: &mut RgbaImage, x: i64, y: i64, colour: Rgba<u8>) {
    if x >= 0
        && y >= 0
        && (x as u64) < u64::from(img.width())
        && (y as u64) < u64::from(img.height())
    {
        img.put_pixel(x as u32, y as u32, colour);
    }
}

fn text(img: &mut RgbaImage, s: &str, x: i64, y: i64, scale: i64, colour: Rgba<u8>) {
    for (i, c) in s.chars().enumerate() {
        for (row, bits) in glyph(c).iter().enumerate() {
            for col in 0..3 {
                if bits & (4 >> col) != 0 {
                    for dy in 0..scale {
                        for dx in 0..scale {
                            put(
                                img,
                                x + (i as i64 * 4 + col) * scale + dx,
                                y + row as i64 * scale + dy,
                                colour,
                            );
                        }
                    }
                }
            }
        }
    }
}

fn rectangle(img: &mut RgbaImage, r: &Region, thickness: i64, colour: Rgba<u8>) {
    let (x0, y0) = (r.x.round() as i64, r.y.round() as i64);
    let (x1, y1) = (
        (r.x + r.width).round() as i64,
        (r.y + r.height).round() as i64,
    );
    for t in 0..thickness {
        for x in x0..=x1 {
            put(img, x, y0 + t, colour);
            put(img, x, y1 - t, colour);
        }
        for y in y0..=y1 {
            put(img, x0 + t, y, colour);
            put(img, x1 - t, y, colour);
        }
    }
}

/// Draws the side-by-side review: `original` with boxes (red: detected, with score;
/// yellow: manual) | `masked`.
pub fn side_by_side(
    original: &RgbaImage,
    masked: &RgbaImage,
    faces: &[Face],
    manual: &[Region],
) -> RgbaImage {
    let (w, h) = original.dimensions();
    let mut out = RgbaImage::from_pixel(w * 2 + GAP, h, Rgba([255, 255, 255, 255]));
    let mut left = original.clone();
    let scale = i64::from((w.max(h) / 400).max(1));
    for face in faces {
        let r = Region {
            x: face.x,
            y: face.y,
            width: face.width,
            height: face.height,
            ellipse: false,
        };
        rectangle(&mut left, &r, scale, RED);
        let label = format!("{:.2}", face.score);
        let ty = (face.y.round() as i64 - 7 * scale).max(0);
        text(&mut left, &label, face.x.round() as i64, ty, scale, RED);
    }
    for r in manual {
        rectangle(&mut left, r, scale, YELLOW);
    }
    // Both halves fit by construction; copy_from only fails on out-of-bounds.
    let _ = out.copy_from(&left, 0, 0);
    let _ = out.copy_from(masked, w + GAP, 0);
    out
}
