//! The detection evaluation of issue 13: recall and false positives at the default
//! threshold over generated variants of the two vendored photos (scikit-image's sample
//! images with faces): as they are, scaled down to small faces, turned, darkened, partly
//! covered, several pasted in one picture, plus pictures without faces. Prints the table
//! that `docs/BENCHMARKS.md` ("Masking (issue 13)") reproduces:
//!
//! ```sh
//! cargo test --release -p masque-mask --test integration evaluation:: -- --nocapture
//! ```
//!
//! A face counts as found when a detection overlaps its box by an IoU above 0.4 (as in
//! `detection.rs`); a detection counts as a false positive when it overlaps no face by an
//! IoU above 0.2 (a loose box on a real face is not a false alarm).

use crate::common;

use common::*;
use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};
use masque_mask::detect::{Rect, TURNS_NMS_IOU, nms};
use masque_mask::{DEFAULT_THRESHOLD, Face, Search, Turn, sample};
use rayon::prelude::*;

struct Picture {
    image: RgbImage,
    faces: Vec<Rect>,
}

struct Variant {
    name: &'static str,
    pictures: Vec<Picture>,
}

fn rect(f: &Face) -> Rect {
    (f.x, f.y, f.width, f.height)
}

fn photos() -> Vec<(RgbImage, Rect)> {
    sample::photos().unwrap()
}

/// Copies of `photo` scaled so its face is each of `heights`, in a row on a grey canvas.
fn row(photo: &RgbImage, face: Rect, heights: &[f32]) -> Picture {
    let copies: Vec<(RgbImage, Rect)> = heights
        .iter()
        .map(|&h| sample::scaled(photo, face, h))
        .collect();
    let width = copies.iter().map(|(c, _)| c.width() + 24).sum::<u32>() + 24;
    let height = copies.iter().map(|(c, _)| c.height()).max().unwrap() + 48;
    let mut image = RgbImage::from_pixel(width, height, Rgb([128, 128, 128]));
    let mut faces = Vec::new();
    let mut x = 24;
    for (copy, f) in &copies {
        imageops::replace(&mut image, copy, i64::from(x), 24);
        faces.push((x as f32 + f.0, 24.0 + f.1, f.2, f.3));
        x += copy.width() + 24;
    }
    Picture { image, faces }
}

fn darkened(photo: &RgbImage, factor: f32) -> RgbImage {
    let mut dark = photo.clone();
    for p in dark.pixels_mut() {
        for c in p.0.iter_mut() {
            *c = (f32::from(*c) * factor) as u8;
        }
    }
    dark
}

/// `photo` with a bar across its face from `from` to `to` (fractions of the face's
/// height), in `colour`.
fn covered(photo: &RgbImage, face: Rect, from: f32, to: f32, colour: [u8; 3]) -> RgbImage {
    let mut out = photo.clone();
    let (x, y, w, h) = face;
    for py in (y + from * h) as u32..((y + to * h) as u32).min(out.height()) {
        for px in x as u32..((x + w) as u32).min(out.width()) {
            out.put_pixel(px, py, Rgb(colour));
        }
    }
    out
}

fn variants() -> Vec<Variant> {
    let photos = photos();
    let each = |f: &dyn Fn(&RgbImage, Rect) -> Picture| -> Vec<Picture> {
        photos.iter().map(|(p, face)| f(p, *face)).collect()
    };
    let mut v = vec![
        Variant {
            name: "as they are",
            pictures: each(&|p, face| Picture {
                image: p.clone(),
                faces: vec![face],
            }),
        },
        Variant {
            name: "scaled down: faces 12, 16, 20, 24, 32 px",
            pictures: each(&|p, face| row(p, face, &[12.0, 16.0, 20.0, 24.0, 32.0])),
        },
        Variant {
            name: "scaled: faces 48, 64, 96, 128 px",
            pictures: each(&|p, face| row(p, face, &[48.0, 64.0, 96.0, 128.0])),
        },
    ];
    for turn in [Turn::Quarter, Turn::Half, Turn::ThreeQuarters] {
        v.push(Variant {
            name: match turn {
                Turn::Quarter => "turned 90 degrees",
                Turn::Half => "turned 180 degrees",
                _ => "turned 270 degrees",
            },
            pictures: each(&|p, face| Picture {
                image: turn.apply(p),
                faces: vec![turn.forward(face, p.width() as f32, p.height() as f32)],
            }),
        });
    }
    for (name, factor) in [("darkened to 35 %", 0.35), ("darkened to 20 %", 0.2)] {
        v.push(Variant {
            name,
            pictures: each(&|p, face| Picture {
                image: darkened(p, factor),
                faces: vec![face],
            }),
        });
    }
    v.push(Variant {
        name: "covered: black bar over the eyes",
        pictures: each(&|p, face| Picture {
            image: covered(p, face, 0.28, 0.5, [0, 0, 0]),
            faces: vec![face],
        }),
    });
    v.push(Variant {
        name: "covered: light blue mask over the lower third",
        pictures: each(&|p, face| Picture {
            image: covered(p, face, 0.62, 1.0, [140, 180, 220]),
            faces: vec![face],
        }),
    });
    let (image, faces) = sample::crowd(1280, 960).unwrap();
    v.push(Variant {
        name: "several per picture: 1280 x 960, faces 16 to 160 px",
        pictures: vec![Picture { image, faces }],
    });
    let (w, h) = (640, 480);
    let gradient = RgbImage::from_fn(w, h, |x, y| {
        Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 128])
    });
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let noise = RgbImage::from_fn(w, h, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        Rgb([state as u8, (state >> 8) as u8, (state >> 16) as u8])
    });
    let stripes = RgbImage::from_fn(w, h, |x, y| {
        let v = if (x / 16 + y / 24) % 2 == 0 { 40 } else { 215 };
        Rgb([v, v, v])
    });
    let blurred = imageops::resize(
        &imageops::resize(&noise, 40, 30, FilterType::Triangle),
        w,
        h,
        FilterType::CatmullRom,
    );
    v.push(Variant {
        name: "no face: gradient, noise, stripes, blotches",
        pictures: [gradient, noise, stripes, blurred]
            .into_iter()
            .map(|image| Picture {
                image,
                faces: Vec::new(),
            })
            .collect(),
    });
    v
}

/// (found, false positives) of `detected` on a picture with `faces`.
fn tally(faces: &[Rect], detected: &[Face]) -> (usize, usize) {
    let found = faces
        .iter()
        .filter(|&&f| detected.iter().any(|d| iou(rect(d), f) > 0.4))
        .count();
    let false_positives = detected
        .iter()
        .filter(|d| faces.iter().all(|&f| iou(rect(d), f) <= 0.2))
        .count();
    (found, false_positives)
}

/// Of `variant`: (faces, (found, false positives) upright only, (found, false positives)
/// with every turn). Each turn is detected once per picture (pictures and turns in
/// parallel); the turns are merged as `Detector::search_turned` merges them (NMS at
/// `TURNS_NMS_IOU` over the union of each turn's boxes, already suppressed within the turn).
fn score(variant: &Variant) -> (usize, (usize, usize), (usize, usize)) {
    variant
        .pictures
        .par_iter()
        .map(|p| {
            let per_turn: Vec<Vec<Face>> = Turn::ALL
                .par_iter()
                .map(|&turn| {
                    detector()
                        .search_turned(&p.image, DEFAULT_THRESHOLD, Search::Picture, &[turn])
                        .unwrap()
                })
                .collect();
            let turned = nms(per_turn.concat(), TURNS_NMS_IOU);
            (
                p.faces.len(),
                tally(&p.faces, &per_turn[0]),
                tally(&p.faces, &turned),
            )
        })
        .reduce(
            || (0, (0, 0), (0, 0)),
            |a, b| {
                (
                    a.0 + b.0,
                    (a.1.0 + b.1.0, a.1.1 + b.1.1),
                    (a.2.0 + b.2.0, a.2.1 + b.2.1),
                )
            },
        )
}

#[test]
fn recall_and_false_positives_per_variant_at_the_default_threshold() {
    assert_eq!(Turn::ALL[0], Turn::None, "the first turn is upright");
    let mut table = String::from(
        "| variant | faces | found, upright only | false pos., upright only | found, with turns (default) | false pos., with turns |\n|---|---|---|---|---|---|\n",
    );
    let (mut faces, mut found_upright, mut found_turned) = (0, 0, 0);
    let (mut fp_upright, mut fp_turned, mut pictures) = (0, 0, 0);
    for v in variants() {
        let (n, (a, fa), (b, fb)) = score(&v);
        table.push_str(&format!(
            "| {} ({} picture{}) | {n} | {a} | {fa} | {b} | {fb} |\n",
            v.name,
            v.pictures.len(),
            if v.pictures.len() == 1 { "" } else { "s" }
        ));
        faces += n;
        found_upright += a;
        found_turned += b;
        fp_upright += fa;
        fp_turned += fb;
        pictures += v.pictures.len();
    }
    table.push_str(&format!(
        "| **all** ({pictures} pictures) | {faces} | {found_upright} ({:.3}) | {fp_upright} | {found_turned} ({:.3}) | {fp_turned} |\n",
        found_upright as f64 / faces as f64,
        found_turned as f64 / faces as f64,
    ));
    println!("{table}");
    let recall = found_turned as f64 / faces as f64;
    assert!(
        recall >= 0.98,
        "recall {recall:.3} below 0.98 at the default threshold\n{table}"
    );
}
