//! Detection on real faces (public-domain and CC0 photos vendored in tests/data), at full
//! size and scaled down to small faces, and the adversary's check: after masking, the
//! same detector finds no face inside any masked region.

use crate::common;

use common::*;
use image::imageops::{self, FilterType};
use image::{DynamicImage, Rgb, RgbImage, RgbaImage};
use masque_mask::cover::{Region, Style};
use masque_mask::{DEFAULT_THRESHOLD, Face, Options, Search, mask_frame, sample};

fn rect(face: &Face) -> (f32, f32, f32, f32) {
    (face.x, face.y, face.width, face.height)
}

fn found(faces: &[Face], expected: (f32, f32, f32, f32)) -> bool {
    faces.iter().any(|f| iou(rect(f), expected) > 0.4)
}

#[test]
fn faces_are_found_at_the_default_threshold() {
    for (name, face) in [
        ("astronaut.jpg", ASTRONAUT_FACE),
        ("camera.jpg", CAMERA_FACE),
    ] {
        let faces = detector().detect(&photo(name), DEFAULT_THRESHOLD).unwrap();
        assert!(found(&faces, face), "{name}: {faces:?}");
        // Strongest first, and the face is the strongest detection.
        assert!(iou(rect(&faces[0]), face) > 0.4, "{name}: {faces:?}");
    }
}

/// A canvas holding copies of `photo` scaled so its face is `heights` pixels high, in a
/// row; returns the canvas and where each face is.
fn pasted(
    photo: &RgbImage,
    face: (f32, f32, f32, f32),
    heights: &[f32],
) -> (RgbImage, Vec<(f32, f32, f32, f32)>) {
    let (pw, ph) = photo.dimensions();
    let copies: Vec<(f32, RgbImage)> = heights
        .iter()
        .map(|&h| {
            let s = h / face.3;
            let (w, hh) = (
                ((pw as f32) * s).round().max(1.0) as u32,
                ((ph as f32) * s).round().max(1.0) as u32,
            );
            (s, imageops::resize(photo, w, hh, FilterType::Lanczos3))
        })
        .collect();
    let width: u32 = copies.iter().map(|(_, c)| c.width() + 20).sum::<u32>() + 20;
    let height = copies.iter().map(|(_, c)| c.height()).max().unwrap() + 40;
    let mut canvas = RgbImage::from_pixel(width, height, Rgb([128, 128, 128]));
    let mut faces = Vec::new();
    let mut x = 20;
    for (s, copy) in &copies {
        imageops::replace(&mut canvas, copy, i64::from(x), 20);
        faces.push((
            x as f32 + face.0 * s,
            20.0 + face.1 * s,
            face.2 * s,
            face.3 * s,
        ));
        x += copy.width() + 20;
    }
    (canvas, faces)
}

#[test]
fn small_faces_are_found() {
    for (name, face) in [
        ("astronaut.jpg", ASTRONAUT_FACE),
        ("camera.jpg", CAMERA_FACE),
    ] {
        let (canvas, faces) = pasted(&photo(name), face, &[12.0, 16.0, 24.0, 40.0, 64.0]);
        let detected = detector().detect(&canvas, DEFAULT_THRESHOLD).unwrap();
        for f in &faces {
            assert!(
                found(&detected, *f),
                "{name}: face {f:?} missed; detected {detected:?}"
            );
        }
    }
}

#[test]
fn faces_across_tiles_and_levels_of_a_large_image_are_found() {
    // A 2600 x 1500 picture: faces of 30 to 700 pixels, some straddling tile borders.
    let astronaut = photo("astronaut.jpg");
    let (canvas, faces) = pasted(&astronaut, ASTRONAUT_FACE, &[30.0, 90.0, 200.0, 700.0]);
    assert!(canvas.width() > 1500, "{}", canvas.width());
    let detected = detector().detect(&canvas, DEFAULT_THRESHOLD).unwrap();
    for f in &faces {
        assert!(
            found(&detected, *f),
            "face {f:?} missed; detected {detected:?}"
        );
    }
}

#[test]
fn a_whole_frame_finds_faces_from_small_to_filling_it() {
    // A stream's 1080p frame is one input at full size, so its half-size level is not
    // searched (WHOLE_FACE): faces up to 256 pixels rest on the full-size input alone,
    // larger ones on the quarter-size level too.
    for (photo, face) in sample::photos().unwrap() {
        for height in [40.0, 120.0, 256.0, 400.0, 700.0, 1000.0] {
            let (scaled, (fx, fy, fw, fh)) = sample::scaled(&photo, face, height);
            // The face's centre at the frame's centre (the photo cut where it does not fit).
            let (x, y) = (
                (960.0 - fx - fw / 2.0) as i64,
                (540.0 - fy - fh / 2.0) as i64,
            );
            let mut frame = RgbImage::from_pixel(1920, 1080, Rgb([128, 128, 128]));
            imageops::replace(&mut frame, &scaled, x, y);
            let expected = (x as f32 + fx, y as f32 + fy, fw, fh);
            let detected = detector()
                .search(&frame, DEFAULT_THRESHOLD, Search::Stream)
                .unwrap();
            assert!(
                found(&detected, expected),
                "a face {height} px high at {expected:?} missed; detected {detected:?}"
            );
        }
    }
}

/// Masks `image` as `masque mask` does and checks the same detector then finds nothing
/// inside any covered region (the adversary's check). Returns how many detections the
/// first pass alone had and how many the built-in re-check added.
fn adversary(image: &RgbImage, style: Style) -> (usize, usize) {
    let first = detector().detect(image, DEFAULT_THRESHOLD).unwrap();
    assert!(!first.is_empty());
    let frame: RgbaImage = DynamicImage::ImageRgb8(image.clone()).into_rgba8();
    let options = Options {
        style,
        ..Options::default()
    };
    let (masked, covered) = mask_frame(detector(), &frame, &[], &options).unwrap();
    assert!(covered.len() >= first.len());
    let regions: Vec<Region> = covered.iter().map(Region::around).collect();
    let masked = DynamicImage::ImageRgba8(masked).into_rgb8();
    let again = detector().detect(&masked, DEFAULT_THRESHOLD).unwrap();
    for f in &again {
        let (cx, cy) = ((f.x + f.width / 2.0) as u32, (f.y + f.height / 2.0) as u32);
        let inside = regions.iter().any(|r| r.contains(cx, cy));
        assert!(
            !inside,
            "{style:?}: a face {f:?} is still found inside a masked region"
        );
    }
    (first.len(), covered.len() - first.len())
}

#[test]
fn no_face_is_found_inside_a_filled_region() {
    let (canvas, _) = pasted(
        &photo("astronaut.jpg"),
        ASTRONAUT_FACE,
        &[16.0, 40.0, 120.0],
    );
    for style in [Style::Fill, Style::Black] {
        for name in ["astronaut.jpg", "camera.jpg"] {
            adversary(&photo(name), style);
        }
        adversary(&canvas, style);
    }
}

#[test]
fn no_face_is_found_inside_a_pixelated_region() {
    for name in ["astronaut.jpg", "camera.jpg"] {
        adversary(&photo(name), Style::Pixelate);
    }
    let (canvas, _) = pasted(
        &photo("astronaut.jpg"),
        ASTRONAUT_FACE,
        &[16.0, 40.0, 120.0],
    );
    adversary(&canvas, Style::Pixelate);
}

#[test]
fn faces_in_dark_photos_are_found() {
    // An underexposed copy: every channel at 35 % of its value.
    for (name, face) in [
        ("astronaut.jpg", ASTRONAUT_FACE),
        ("camera.jpg", CAMERA_FACE),
    ] {
        let mut dark = photo(name);
        for p in dark.pixels_mut() {
            for c in p.0.iter_mut() {
                *c = (f32::from(*c) * 0.35) as u8;
            }
        }
        let faces = detector().detect(&dark, DEFAULT_THRESHOLD).unwrap();
        assert!(found(&faces, face), "{name} darkened: {faces:?}");
    }
}

#[test]
fn faces_in_turned_photos_are_found() {
    // The network alone, without the pipeline's turned copies (`--rotations`, see
    // rotations.rs): it finds these two faces turned by 90, 180 and 270 degrees (clockwise).
    for (name, (x, y, w, h)) in [
        ("astronaut.jpg", ASTRONAUT_FACE),
        ("camera.jpg", CAMERA_FACE),
    ] {
        let p = photo(name);
        let (pw, ph) = (p.width() as f32, p.height() as f32);
        for (turn, img, expected) in [
            (90, imageops::rotate90(&p), (ph - y - h, x, h, w)),
            (180, imageops::rotate180(&p), (pw - x - w, ph - y - h, w, h)),
            (270, imageops::rotate270(&p), (y, pw - x - w, h, w)),
        ] {
            let faces = detector().detect(&img, DEFAULT_THRESHOLD).unwrap();
            assert!(
                found(&faces, expected),
                "{name} turned {turn}: {faces:?}, expected {expected:?}"
            );
        }
    }
}
