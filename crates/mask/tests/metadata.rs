//! Metadata: planted EXIF (GPS, make, model, serial, dates, thumbnail), XMP, IPTC, APP11,
//! comments and trailing data must not survive masking; orientation must be applied.

use crate::common;

use common::*;
use image::{Rgb, RgbImage, Rgba, RgbaImage};
use masque_mask::{Options, mask_bytes};

const XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><rdf:Description photoshop:City=\"XMPSECRETCITY\"/></x:xmpmeta>";
const IPTC: &[u8] = b"Photoshop 3.0\08BIM\x04\x04\0\0\0\0\0\x14\x1c\x02\x50\0\x0fIPTCSECRETNAME!";
const APP11: &[u8] = b"JP\0\0\0\0\0\x01\0\0\0\x20jumbC2PASECRETMANIFEST";

fn planted_jpeg(width: u32, height: u32, orientation: u16) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x * 3) as u8, (y * 5) as u8, 90])
    });
    let exif = [b"Exif\0\0".as_slice(), &exif_blob(orientation)].concat();
    let mut file = with_segments(
        &jpeg(&image),
        &[
            segment(0xE1, &exif),
            segment(0xE1, XMP),
            segment(0xED, IPTC),
            segment(0xEB, APP11),
            segment(0xE2, b"MPF\0MPFSECRETINDEX"),
            segment(0xE5, b"APP5SECRETVENDOR"),
            segment(0xFE, b"COMMENTSECRET"),
        ],
    );
    file.extend_from_slice(b"TRAILINGSECRET second image");
    file
}

const PLANTED_OTHER: [&str; 8] = [
    "XMPSECRETCITY",
    "IPTCSECRETNAME",
    "C2PASECRETMANIFEST",
    "MPFSECRETINDEX",
    "APP5SECRETVENDOR",
    "COMMENTSECRET",
    "TRAILINGSECRET",
    "Exif\0",
];

#[test]
fn no_planted_jpeg_metadata_survives() {
    let input = planted_jpeg(120, 80, 1);
    for s in PLANTED_EXIF.iter().chain(PLANTED_OTHER.iter()) {
        assert!(contains(&input, s.as_bytes()), "the test plants {s:?}");
    }
    let masked = mask_bytes(detector(), &input, &[], &Options::default()).unwrap();
    for s in PLANTED_EXIF.iter().chain(PLANTED_OTHER.iter()) {
        assert!(
            !contains(&masked.bytes, s.as_bytes()),
            "{s:?} survived masking"
        );
    }
    let gps_latitude: Vec<u8> = [52u32, 1, 31, 1, 4567, 100]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert!(!contains(&masked.bytes, &gps_latitude));
    let removed = masked.report.metadata_removed.join("; ");
    for what in [
        "GPS position",
        "camera make",
        "camera model",
        "serial numbers",
        "dates",
        "embedded thumbnail",
        "XMP",
        "IPTC",
        "APP11",
        "MPF",
        "APP5",
        "comment",
        "after the end",
    ] {
        assert!(removed.contains(what), "report lacks {what:?}: {removed}");
    }
    let out = image::load_from_memory(&masked.bytes).unwrap();
    assert_eq!((out.width(), out.height()), (120, 80));
}

#[test]
fn orientation_is_applied_to_the_pixels() {
    // 6 = rotate 90 degrees clockwise: a 120 x 80 stored image is 80 x 120 upright.
    let input = planted_jpeg(120, 80, 6);
    let masked = mask_bytes(detector(), &input, &[], &Options::default()).unwrap();
    assert_eq!(masked.report.orientation, Some(6));
    let out = image::load_from_memory(&masked.bytes).unwrap();
    assert_eq!((out.width(), out.height()), (80, 120));
}

#[test]
fn a_damaged_exif_still_comes_out_upright() {
    // The EXIF is cut short after IFD0: sub-IFD and thumbnail offsets point past its end.
    let blob = exif_blob(8);
    let cut = &blob[..8 + 2 + 12 * 6 + 4];
    let image = RgbImage::from_pixel(60, 40, Rgb([1, 2, 3]));
    let input = with_segments(
        &jpeg(&image),
        &[segment(0xE1, &[b"Exif\0\0".as_slice(), cut].concat())],
    );
    let masked = mask_bytes(detector(), &input, &[], &Options::default()).unwrap();
    assert_eq!(masked.report.orientation, Some(8));
    let out = image::load_from_memory(&masked.bytes).unwrap();
    assert_eq!((out.width(), out.height()), (40, 60));
    // Pure garbage in the EXIF segment: no orientation, no failure.
    let input = with_segments(
        &jpeg(&image),
        &[segment(0xE1, b"Exif\0\0MM\0*\xff\xff\xff\xffgarbage")],
    );
    let masked = mask_bytes(detector(), &input, &[], &Options::default()).unwrap();
    assert_eq!(masked.report.orientation, None);
}

fn png_chunk(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut c = (body.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(body);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(body);
    c.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    c
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn no_planted_png_metadata_survives() {
    let image = RgbaImage::from_fn(64, 48, |x, y| Rgba([x as u8, y as u8, 7, 255]));
    let plain = png(&image);
    // Insert the chunks right after IHDR (8-byte signature + 25-byte IHDR chunk).
    let mut input = plain[..33].to_vec();
    input.extend(png_chunk(b"tEXt", b"Author\0PNGTEXTSECRET"));
    input.extend(png_chunk(
        b"iTXt",
        b"XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta>PNGXMPSECRET</x:xmpmeta>",
    ));
    input.extend(png_chunk(b"eXIf", &exif_blob(1)));
    input.extend(png_chunk(b"tIME", &[7, 230, 7, 4, 12, 34, 56]));
    input.extend_from_slice(&plain[33..]);
    image::load_from_memory(&input).expect("the planted PNG is valid");
    let masked = mask_bytes(detector(), &input, &[], &Options::default()).unwrap();
    for s in PLANTED_EXIF.iter().chain(
        [
            "PNGTEXTSECRET",
            "PNGXMPSECRET",
            "eXIf",
            "tIME",
            "tEXt",
            "iTXt",
        ]
        .iter(),
    ) {
        assert!(contains(&input, s.as_bytes()));
        assert!(
            !contains(&masked.bytes, s.as_bytes()),
            "{s:?} survived masking"
        );
    }
    let removed = masked.report.metadata_removed.join("; ");
    for what in [
        "PNG text (Author)",
        "XMP",
        "GPS position",
        "PNG modification time",
    ] {
        assert!(removed.contains(what), "report lacks {what:?}: {removed}");
    }
}
