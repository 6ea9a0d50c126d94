//! `--rotations`: faces found in turned copies are mapped back to the picture's pixels,
//! and which turns are tried for which picture (`auto`: all four unless the photo has an
//! EXIF orientation tag).

use crate::common;

use common::*;
use image::{DynamicImage, GenericImageView, RgbImage};
use masque_mask::{DEFAULT_THRESHOLD, Options, Rotations, Search, Turn, mask_bytes, sample};

#[test]
fn boxes_found_in_a_turned_copy_land_on_the_face() {
    for (name, face) in [
        ("astronaut.jpg", ASTRONAUT_FACE),
        ("camera.jpg", CAMERA_FACE),
    ] {
        let upright = photo(name);
        let (w, h) = (upright.width() as f32, upright.height() as f32);
        for turn in [Turn::Quarter, Turn::Half, Turn::ThreeQuarters] {
            // A sideways picture, looked at only through the turn that makes it upright
            // again: the box must come back onto the face in the sideways picture.
            let sideways = turn.apply(&upright);
            let expected = turn.forward(face, w, h);
            let undo = match turn {
                Turn::Quarter => Turn::ThreeQuarters,
                Turn::ThreeQuarters => Turn::Quarter,
                t => t,
            };
            let faces = detector()
                .search_turned(&sideways, DEFAULT_THRESHOLD, Search::Picture, &[undo])
                .unwrap();
            assert!(
                faces
                    .iter()
                    .any(|f| iou((f.x, f.y, f.width, f.height), expected) > 0.4),
                "{name} turned {}: {faces:?}, expected {expected:?}",
                turn.degrees()
            );
        }
    }
}

#[test]
fn a_sideways_photo_is_masked_where_its_face_is() {
    let upright = photo("astronaut.jpg");
    let sideways = Turn::Quarter.apply(&upright);
    let expected = Turn::Quarter.forward(
        ASTRONAUT_FACE,
        upright.width() as f32,
        upright.height() as f32,
    );
    let masked = mask_bytes(
        detector(),
        &sample::jpeg(&sideways, false).unwrap(),
        &[],
        &Options::default(),
    )
    .unwrap();
    assert_eq!(masked.report.rotations, vec![0, 90, 180, 270]);
    let out = image::load_from_memory(&masked.bytes).unwrap();
    assert_eq!(out.dimensions(), sideways.dimensions());
    // The face's centre is covered: one flat colour around it (give or take JPEG noise)
    // where the original shows the face.
    let (cx, cy) = (expected.0 + expected.2 / 2.0, expected.1 + expected.3 / 2.0);
    let spread = |img: &RgbImage| -> u8 {
        let at = |i: u32| {
            img.get_pixel(cx as u32 - 7 + i % 15, cy as u32 - 7 + i / 15)
                .0
        };
        (0..3)
            .map(|c| {
                let values = (0..15 * 15).map(|i| at(i)[c]);
                values.clone().max().unwrap() - values.min().unwrap()
            })
            .max()
            .unwrap()
    };
    let out = DynamicImage::to_rgb8(&out);
    assert!(spread(&out) <= 16, "{} at the face's centre", spread(&out));
    assert!(spread(&sideways) > 40, "{}", spread(&sideways));
}

#[test]
fn auto_tries_the_turns_only_without_an_orientation_tag() {
    let small = image::imageops::resize(
        &photo("camera.jpg"),
        128,
        128,
        image::imageops::FilterType::Triangle,
    );
    let cases = [
        (Rotations::Auto, false, vec![0, 90, 180, 270]),
        (Rotations::Auto, true, vec![0]),
        (Rotations::All, true, vec![0, 90, 180, 270]),
        (Rotations::None, false, vec![0]),
    ];
    for (rotations, exif, expected) in cases {
        let options = Options {
            rotations,
            ..Options::default()
        };
        let input = sample::jpeg(&small, exif).unwrap();
        let masked = mask_bytes(detector(), &input, &[], &options).unwrap();
        assert_eq!(
            masked.report.rotations, expected,
            "{rotations:?}, EXIF orientation tag: {exif}"
        );
        if exif {
            assert_eq!(
                masked.report.orientation, None,
                "orientation 1 needs no turn"
            );
        }
    }
}
