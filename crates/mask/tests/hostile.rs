//! Hostile input: truncated and malformed files of every format and decompression bombs
//! give a clear error (never a panic, never the original passed through), quickly.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use image::{DynamicImage, Rgb, RgbImage};
use masque_mask::{MaskError, Options, mask_bytes};

fn sample(format: image::ImageFormat) -> Vec<u8> {
    let image = RgbImage::from_fn(96, 64, |x, y| {
        Rgb([(x * 2) as u8, (y * 3) as u8, ((x + y) % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(image)
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

const FORMATS: [image::ImageFormat; 5] = [
    image::ImageFormat::Jpeg,
    image::ImageFormat::Png,
    image::ImageFormat::Gif,
    image::ImageFormat::WebP,
    image::ImageFormat::Tiff,
];

#[test]
fn every_format_round_trips() {
    for format in FORMATS {
        let input = sample(format);
        let masked = mask_bytes(detector(), &input, &[], &Options::default()).unwrap();
        assert_eq!(image::guess_format(&masked.bytes).unwrap(), format);
        let out = image::load_from_memory(&masked.bytes).unwrap();
        assert_eq!((out.width(), out.height()), (96, 64), "{format:?}");
    }
}

#[test]
fn truncated_files_give_a_clear_error() {
    for format in FORMATS {
        let input = sample(format);
        for keep in [input.len() / 2, input.len() / 5, 40, 12] {
            let err = mask_bytes(detector(), &input[..keep], &[], &Options::default())
                .expect_err(&format!("{format:?} cut to {keep} bytes must fail"));
            let message = err.to_string();
            assert!(
                matches!(
                    err,
                    MaskError::Decode(_) | MaskError::UnsupportedFormat { .. }
                ),
                "{format:?} cut to {keep}: {message}"
            );
            assert!(
                message.contains("truncated") || message.contains("JPEG, PNG"),
                "{message}"
            );
        }
    }
}

#[test]
fn corrupted_files_never_panic() {
    for format in FORMATS {
        let input = sample(format);
        // Overwrite a stretch of bytes at several places past the header.
        for start in [16usize, 30, 60, 100, input.len() / 2] {
            let mut bad = input.clone();
            for (i, b) in bad.iter_mut().skip(start).take(24).enumerate() {
                *b = (i as u8).wrapping_mul(37) ^ 0xA5;
            }
            // Either decoded (some damage is harmless) or a clear error; never a panic.
            if let Err(e) = mask_bytes(detector(), &bad, &[], &Options::default()) {
                assert!(!e.to_string().is_empty());
            }
        }
    }
}

#[test]
fn unknown_formats_are_refused() {
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heicmore bytes of a HEIC file";
    let err = mask_bytes(detector(), heic, &[], &Options::default()).unwrap_err();
    assert!(matches!(err, MaskError::UnsupportedFormat { .. }), "{err}");
    assert!(err.to_string().contains("HEIC"), "{err}");
    for junk in [&b""[..], b"II*", b"not an image at all, but text"] {
        assert!(mask_bytes(detector(), junk, &[], &Options::default()).is_err());
    }
}

fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut crc_input = b"IHDR".to_vec();
    crc_input.extend_from_slice(&ihdr);
    let mut crc = 0xFFFF_FFFFu32;
    for &b in &crc_input {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    let mut file = b"\x89PNG\r\n\x1a\n".to_vec();
    file.extend_from_slice(&13u32.to_be_bytes());
    file.extend_from_slice(&crc_input);
    file.extend_from_slice(&(!crc).to_be_bytes());
    // An IDAT of zlib-compressed zeros would follow; the header alone must be refused.
    file.extend_from_slice(&[0, 0, 0, 0, b'I', b'D', b'A', b'T', 0x35, 0xAF, 0x06, 0x1E]);
    file
}

#[test]
fn a_decompression_bomb_is_refused_quickly() {
    let start = Instant::now();
    let err = mask_bytes(
        detector(),
        &png_header(100_000, 100_000),
        &[],
        &Options::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            MaskError::TooLarge {
                width: 100_000,
                height: 100_000,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("decompression bomb"), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    // Just over the limit in one dimension only.
    let err = mask_bytes(
        detector(),
        &png_header(1, 200_000_000),
        &[],
        &Options::default(),
    )
    .unwrap_err();
    assert!(matches!(err, MaskError::TooLarge { .. }), "{err}");
}

#[test]
fn every_frame_of_an_animated_gif_is_kept() {
    use image::AnimationDecoder;
    let frames: Vec<image::Frame> = (0..3u8)
        .map(|i| {
            let buffer = image::RgbaImage::from_pixel(40, 30, image::Rgba([i * 80, 20, 200, 255]));
            image::Frame::from_parts(buffer, 0, 0, image::Delay::from_numer_denom_ms(100, 1))
        })
        .collect();
    let mut input = Vec::new();
    image::codecs::gif::GifEncoder::new(&mut input)
        .encode_frames(frames)
        .unwrap();
    let masked = mask_bytes(detector(), &input, &[], &Options::default()).unwrap();
    assert_eq!(masked.report.frames, 3);
    let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(&masked.bytes)).unwrap();
    let out: Vec<_> = decoder.into_frames().collect::<Result<_, _>>().unwrap();
    assert_eq!(out.len(), 3);
    assert_eq!(out[2].buffer().get_pixel(5, 5).0[0], 160);
}
