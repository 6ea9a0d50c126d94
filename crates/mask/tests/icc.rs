//! `--keep-icc`: a standard profile planted in the input (with identifying strings in its
//! description) comes out as masque's own copy of that profile, nothing of the planted one
//! surviving; an unknown profile is dropped; without the option every profile is dropped.

use crate::common;

use std::io::Cursor;

use common::*;
use image::{ImageDecoder, ImageFormat, ImageReader, Rgba, RgbaImage};
use masque_mask::codec::{Format, encode_with_icc};
use masque_mask::icc::{StandardProfile, rgb_profile};
use masque_mask::{Options, Rotations, mask_bytes};

const PLANTED: &str = "PLANTED-ICC Calibrated by Jane Doe, Nikon D850 SN 3001234";

/// sRGB's and Display P3's colorants, as a camera's profile would state them (rounded
/// like the common sRGB IEC61966-2.1 profile).
const SRGB_ROUNDED: [[f64; 3]; 3] = [
    [0.4361, 0.2225, 0.0139],
    [0.3851, 0.7169, 0.0971],
    [0.1431, 0.0606, 0.7141],
];
const P3: [[f64; 3]; 3] = [
    [0.5151, 0.2412, -0.0011],
    [0.2919, 0.6922, 0.0419],
    [0.1571, 0.0666, 0.7841],
];
/// A wide-gamut camera's own (made-up) colorants: not a standard space.
const CAMERA: [[f64; 3]; 3] = [
    [0.7100, 0.2700, 0.0000],
    [0.1500, 0.8200, -0.1000],
    [0.1000, -0.0900, 0.9200],
];

/// The formats whose profile the decoder reads back. TIFF is not among them: image 0.25's
/// TIFF decoder does not return the profile its encoder writes, so a TIFF's profile is
/// always dropped (checked below with the others).
const FORMATS: [(Format, ImageFormat); 3] = [
    (Format::Jpeg, ImageFormat::Jpeg),
    (Format::Png, ImageFormat::Png),
    (Format::Webp, ImageFormat::WebP),
];

fn picture() -> RgbaImage {
    RgbaImage::from_fn(96, 64, |x, y| Rgba([(x * 2) as u8, (y * 3) as u8, 90, 255]))
}

fn output_icc(bytes: &[u8], format: ImageFormat) -> Option<Vec<u8>> {
    let mut decoder = ImageReader::with_format(Cursor::new(bytes), format)
        .into_decoder()
        .unwrap();
    decoder.icc_profile().unwrap()
}

fn options(keep_icc: bool) -> Options {
    Options {
        keep_icc,
        rotations: Rotations::None,
        ..Options::default()
    }
}

#[test]
fn a_standard_profile_is_replaced_by_masques_own() {
    for (colorants, standard) in [
        (SRGB_ROUNDED, StandardProfile::Srgb),
        (P3, StandardProfile::DisplayP3),
    ] {
        let planted = rgb_profile(PLANTED, colorants);
        for (format, image_format) in FORMATS {
            let input = encode_with_icc(format, &[picture()], &[], Some(&planted)).unwrap();
            assert_eq!(
                output_icc(&input, image_format).as_deref(),
                Some(&planted[..]),
                "{format:?}: the profile was planted"
            );
            let masked = mask_bytes(detector(), &input, &[], &options(true)).unwrap();
            assert_eq!(
                output_icc(&masked.bytes, image_format),
                Some(standard.bytes()),
                "{format:?} {standard:?}"
            );
            assert_eq!(masked.report.colour_profile, Some(standard));
            // The planted description is UTF-16 in the profile; neither form survives.
            let utf16: Vec<u8> = PLANTED.encode_utf16().flat_map(u16::to_be_bytes).collect();
            assert!(!contains(&masked.bytes, &utf16), "{format:?}");
            assert!(!contains(&masked.bytes, PLANTED.as_bytes()), "{format:?}");
            // The report says the input's profile was replaced.
            assert!(
                masked
                    .report
                    .metadata_removed
                    .iter()
                    .any(|m| m.contains("replaced by masque's own")),
                "{format:?}: {:?}",
                masked.report.metadata_removed
            );
        }
    }
}

#[test]
fn an_unknown_profile_is_dropped_and_without_the_option_every_profile_is() {
    let unknown = rgb_profile(PLANTED, CAMERA);
    let standard = rgb_profile(PLANTED, SRGB_ROUNDED);
    let all = FORMATS
        .into_iter()
        .chain([(Format::Tiff, ImageFormat::Tiff)]);
    for (format, image_format) in all {
        for (profile, keep) in [(&unknown, true), (&unknown, false), (&standard, false)] {
            let input = encode_with_icc(format, &[picture()], &[], Some(profile)).unwrap();
            let masked = mask_bytes(detector(), &input, &[], &options(keep)).unwrap();
            assert_eq!(output_icc(&masked.bytes, image_format), None, "{format:?}");
            assert_eq!(masked.report.colour_profile, None);
        }
    }
}

#[test]
fn a_malformed_profile_is_dropped_without_error() {
    let mut broken = rgb_profile(PLANTED, SRGB_ROUNDED);
    broken.truncate(200);
    let input = encode_with_icc(Format::Png, &[picture()], &[], Some(&broken)).unwrap();
    let masked = mask_bytes(detector(), &input, &[], &options(true)).unwrap();
    assert_eq!(output_icc(&masked.bytes, ImageFormat::Png), None);
    assert_eq!(masked.report.colour_profile, None);
}
