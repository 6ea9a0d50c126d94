//! Shared helpers for masque-mask's integration tests: the detector (loaded once per test
//! binary), the vendored photos, and hand-built EXIF and JPEG segments.
#![allow(dead_code)]

use std::sync::OnceLock;

use image::{RgbImage, RgbaImage};
use masque_mask::Detector;

/// The detector, loaded once per test binary.
pub fn detector() -> &'static Detector {
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    DETECTOR.get_or_init(|| Detector::new().expect("the embedded model loads"))
}

/// A vendored test photo.
pub fn photo(name: &str) -> RgbImage {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    image::open(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .into_rgb8()
}

/// Where the face is in each vendored photo (x, y, width, height), by inspection.
pub const ASTRONAUT_FACE: (f32, f32, f32, f32) = (181.0, 60.0, 89.0, 119.0);
/// The cameraman's face.
pub const CAMERA_FACE: (f32, f32, f32, f32) = (203.0, 118.0, 55.0, 79.0);

/// Intersection over union of two (x, y, w, h) boxes.
pub fn iou(a: (f32, f32, f32, f32), b: (f32, f32, f32, f32)) -> f32 {
    let x1 = a.0.max(b.0);
    let y1 = a.1.max(b.1);
    let x2 = (a.0 + a.2).min(b.0 + b.2);
    let y2 = (a.1 + a.3).min(b.1 + b.3);
    let inter = (x2 - x1).max(0.0) * (y2 - y1).max(0.0);
    inter / (a.2 * a.3 + b.2 * b.3 - inter)
}

/// Encodes an image as a plain JPEG (no metadata).
pub fn jpeg(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92)
        .encode_image(image)
        .unwrap();
    out
}

/// Encodes an image as a plain PNG.
pub fn png(image: &RgbaImage) -> Vec<u8> {
    let mut out = Vec::new();
    image
        .write_with_encoder(image::codecs::png::PngEncoder::new(&mut out))
        .unwrap();
    out
}

/// A JPEG segment: marker, big-endian length, body.
pub fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&u16::try_from(body.len() + 2).unwrap().to_be_bytes());
    s.extend_from_slice(body);
    s
}

/// Inserts segments right after a JPEG's SOI marker.
pub fn with_segments(jpeg: &[u8], segments: &[Vec<u8>]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    for s in segments {
        out.extend_from_slice(s);
    }
    out.extend_from_slice(&jpeg[2..]);
    out
}

struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    data: Vec<u8>,
}

fn ascii(tag: u16, s: &str) -> Entry {
    let mut data = s.as_bytes().to_vec();
    data.push(0);
    Entry {
        tag,
        kind: 2,
        count: data.len() as u32,
        data,
    }
}

fn long(tag: u16, v: u32) -> Entry {
    Entry {
        tag,
        kind: 4,
        count: 1,
        data: v.to_le_bytes().to_vec(),
    }
}

fn short(tag: u16, v: u16) -> Entry {
    Entry {
        tag,
        kind: 3,
        count: 1,
        data: [v.to_le_bytes(), [0, 0]].concat(),
    }
}

fn ifd_size(entries: &[Entry]) -> usize {
    6 + 12 * entries.len()
        + entries
            .iter()
            .filter(|e| e.data.len() > 4)
            .map(|e| e.data.len() + (e.data.len() & 1))
            .sum::<usize>()
}

fn write_ifd(out: &mut Vec<u8>, entries: &[Entry], next: u32) {
    let start = out.len();
    let mut data_at = start + 6 + 12 * entries.len();
    let mut data = Vec::new();
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for e in entries {
        out.extend_from_slice(&e.tag.to_le_bytes());
        out.extend_from_slice(&e.kind.to_le_bytes());
        out.extend_from_slice(&e.count.to_le_bytes());
        if e.data.len() <= 4 {
            let mut inline = e.data.clone();
            inline.resize(4, 0);
            out.extend_from_slice(&inline);
        } else {
            out.extend_from_slice(&(data_at as u32).to_le_bytes());
            data.extend_from_slice(&e.data);
            if e.data.len() & 1 == 1 {
                data.push(0);
            }
            data_at += e.data.len() + (e.data.len() & 1);
        }
    }
    out.extend_from_slice(&next.to_le_bytes());
    out.extend_from_slice(&data);
}

/// The identifying strings planted in [`exif_blob`].
pub const PLANTED_EXIF: [&str; 7] = [
    "PlantedMakeCorp",
    "PlantedModel X9",
    "SN-0123456789",
    "2019:07:04 12:34:56",
    "1999:12:31 23:59:58",
    "PLANTED-GPS-DATUM",
    "THUMBSECRET",
];

/// A little-endian EXIF (TIFF) block with make, model, date, orientation, an Exif IFD
/// (original date, body serial number), a GPS IFD (latitude, datum) and IFD1 with a JPEG
/// thumbnail (which carries "THUMBSECRET" in a comment).
pub fn exif_blob(orientation: u16) -> Vec<u8> {
    let thumb_image = RgbImage::from_pixel(32, 24, image::Rgb([10, 200, 30]));
    let thumb = with_segments(&jpeg(&thumb_image), &[segment(0xFE, b"THUMBSECRET")]);
    let ifd0 = |exif: u32, gps: u32| {
        vec![
            ascii(0x010F, "PlantedMakeCorp"),
            ascii(0x0110, "PlantedModel X9"),
            short(0x0112, orientation),
            ascii(0x0132, "2019:07:04 12:34:56"),
            long(0x8769, exif),
            long(0x8825, gps),
        ]
    };
    let exif_ifd = vec![
        ascii(0x9003, "1999:12:31 23:59:58"),
        ascii(0xA431, "SN-0123456789"),
    ];
    let lat: Vec<u8> = [52u32, 1, 31, 1, 4567, 100]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let gps_ifd = vec![
        ascii(0x0001, "N"),
        Entry {
            tag: 0x0002,
            kind: 5,
            count: 3,
            data: lat,
        },
        ascii(0x0012, "PLANTED-GPS-DATUM"),
    ];
    let ifd1 = |at: u32| {
        vec![
            short(0x0103, 6),
            long(0x0201, at),
            long(0x0202, thumb.len() as u32),
        ]
    };
    let o0 = 8;
    let o_exif = o0 + ifd_size(&ifd0(0, 0));
    let o_gps = o_exif + ifd_size(&exif_ifd);
    let o1 = o_gps + ifd_size(&gps_ifd);
    let o_thumb = o1 + ifd_size(&ifd1(0));
    let mut out = b"II*\0\x08\0\0\0".to_vec();
    write_ifd(&mut out, &ifd0(o_exif as u32, o_gps as u32), o1 as u32);
    write_ifd(&mut out, &exif_ifd, 0);
    write_ifd(&mut out, &gps_ifd, 0);
    write_ifd(&mut out, &ifd1(o_thumb as u32), 0);
    assert_eq!(out.len(), o_thumb);
    out.extend_from_slice(&thumb);
    out
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
