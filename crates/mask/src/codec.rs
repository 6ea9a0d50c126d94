//! Decoding photos to pixels and encoding the masked pixels again.
//!
//! **Guarantees**: only JPEG, PNG, WebP, GIF and TIFF are read (by their first bytes, not
//! their names); anything else is refused with an error, never passed through. The header's
//! dimensions are checked against [`MAX_PIXELS`] before any pixel buffer is allocated, and
//! the decoder runs under [`MAX_ALLOC`] bytes, so a decompression bomb costs neither time
//! nor memory. The output is encoded from pixels alone: no EXIF, XMP, IPTC, ICC, comment,
//! thumbnail or any other ancillary block of the input can reach it. The EXIF orientation
//! is applied to the pixels first, so the output needs no orientation tag.
//!
//! **Not guaranteed**: 16-bit and float images come out as 8 bits per channel; an
//! animated GIF keeps its frames and delays but not its loop count; colour profiles are
//! dropped unless asked to keep a standard one (colours may shift slightly for wide-gamut
//! photos otherwise).

use std::io::Cursor;

use image::codecs::gif::{GifDecoder, GifEncoder, Repeat};
use image::codecs::png::PngEncoder;
use image::codecs::tiff::TiffEncoder;
use image::codecs::webp::WebPEncoder;
use image::metadata::Orientation;
use image::{
    AnimationDecoder, DynamicImage, Frame, ImageDecoder, ImageEncoder, ImageFormat, ImageReader,
    Limits, RgbaImage,
};

use crate::MaskError;

/// The largest image accepted, in pixels (100 megapixels), per frame and for all the frames
/// of an animation together.
pub const MAX_PIXELS: u64 = 100_000_000;
/// The most memory the decoder may allocate, in bytes.
pub const MAX_ALLOC: u64 = 1 << 30;
/// The JPEG quality of masked JPEG outputs.
pub const JPEG_QUALITY: u8 = 90;

/// The formats masque mask reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JPEG (written at quality [`JPEG_QUALITY`]).
    Jpeg,
    /// PNG.
    Png,
    /// WebP (written lossless).
    Webp,
    /// GIF, animated or not.
    Gif,
    /// TIFF.
    Tiff,
}

impl Format {
    /// Recognises a supported format from the file's first bytes.
    pub fn sniff(bytes: &[u8]) -> Result<Format, MaskError> {
        match image::guess_format(bytes) {
            Ok(ImageFormat::Jpeg) => Ok(Format::Jpeg),
            Ok(ImageFormat::Png) => Ok(Format::Png),
            Ok(ImageFormat::WebP) => Ok(Format::Webp),
            Ok(ImageFormat::Gif) => Ok(Format::Gif),
            Ok(ImageFormat::Tiff) => Ok(Format::Tiff),
            Ok(other) => Err(MaskError::UnsupportedFormat {
                what: format!("a {other:?} image"),
            }),
            Err(_) => Err(MaskError::UnsupportedFormat {
                what: describe_unknown(bytes),
            }),
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Format::Jpeg => ImageFormat::Jpeg,
            Format::Png => ImageFormat::Png,
            Format::Webp => ImageFormat::WebP,
            Format::Gif => ImageFormat::Gif,
            Format::Tiff => ImageFormat::Tiff,
        }
    }
}

/// The ISO media brands of HEIF images (HEIC, AVIF): neither a photo masque reads nor a
/// video.
pub(crate) const HEIF_BRANDS: [&[u8; 4]; 6] =
    [b"heic", b"heix", b"mif1", b"msf1", b"hevc", b"avif"];

fn describe_unknown(bytes: &[u8]) -> String {
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        let brand = String::from_utf8_lossy(&bytes[8..12]).into_owned();
        if HEIF_BRANDS.iter().any(|b| b[..] == bytes[8..12]) {
            return format!("a HEIF/HEIC/AVIF image (brand {brand:?})");
        }
        return format!(
            "an ISO media file of brand {brand:?}, neither a photo nor a video masque reads"
        );
    }
    if bytes.is_empty() {
        return "an empty file".into();
    }
    "not a recognised image (a RAW photo, a document or a damaged file)".into()
}

/// A decoded picture: one frame for a still image, every frame of an animated GIF.
#[derive(Debug)]
pub struct Decoded {
    /// The format it was read from (and is written back to).
    pub format: Format,
    /// The frames, upright, as 8-bit RGBA.
    pub frames: Vec<RgbaImage>,
    /// Each frame's delay as (numerator, denominator) milliseconds (animations only).
    pub delays: Vec<(u32, u32)>,
    /// The embedded ICC colour profile, if the decoder found one (never written out as
    /// is: see [`crate::icc`]).
    pub icc: Option<Vec<u8>>,
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

fn check_size(width: u32, height: u32) -> Result<(), MaskError> {
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(MaskError::TooLarge {
            width,
            height,
            limit: MAX_PIXELS / 1_000_000,
        });
    }
    Ok(())
}

fn decode_err(e: impl std::fmt::Display) -> MaskError {
    MaskError::Decode(e.to_string())
}

/// Decodes `bytes`, refusing oversized headers before allocating, and turns the pixels
/// upright with `orientation` (an EXIF orientation value; anything but 2..=8 is ignored).
pub fn decode(bytes: &[u8], orientation: Option<u16>) -> Result<Decoded, MaskError> {
    let format = Format::sniff(bytes)?;
    let header = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    let (width, height) = header.into_dimensions().map_err(decode_err)?;
    check_size(width, height)?;
    if width == 0 || height == 0 {
        return Err(MaskError::Decode("the image has no pixels".into()));
    }
    if format == Format::Gif {
        return decode_gif(bytes, width, height);
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    reader.limits(limits());
    let mut decoder = reader.into_decoder().map_err(decode_err)?;
    // As `ImageReader::decode` does: the pixel buffer counts against the limit too.
    let mut budget = limits();
    budget
        .reserve(ImageDecoder::total_bytes(&decoder))
        .map_err(decode_err)?;
    ImageDecoder::set_limits(&mut decoder, budget).map_err(decode_err)?;
    // A profile that cannot be read is dropped like any unknown one.
    let icc = ImageDecoder::icc_profile(&mut decoder).ok().flatten();
    let mut image = DynamicImage::from_decoder(decoder).map_err(decode_err)?;
    if let Some(o) = orientation
        .and_then(|o| u8::try_from(o).ok())
        .and_then(Orientation::from_exif)
    {
        image.apply_orientation(o);
    }
    Ok(Decoded {
        format,
        frames: vec![image.into_rgba8()],
        delays: vec![(0, 1)],
        icc,
    })
}

fn decode_gif(bytes: &[u8], width: u32, height: u32) -> Result<Decoded, MaskError> {
    let mut decoder = GifDecoder::new(Cursor::new(bytes)).map_err(decode_err)?;
    ImageDecoder::set_limits(&mut decoder, limits()).map_err(decode_err)?;
    let per_frame = u64::from(width) * u64::from(height);
    let (mut frames, mut delays) = (Vec::new(), Vec::new());
    for frame in decoder.into_frames() {
        let frame = frame.map_err(decode_err)?;
        if per_frame * (frames.len() as u64 + 1) > MAX_PIXELS {
            return Err(MaskError::Decode(format!(
                "the animation has more than {} frames of {width} x {height}, above the limit of {} megapixels in all",
                frames.len(),
                MAX_PIXELS / 1_000_000
            )));
        }
        delays.push(frame.delay().numer_denom_ms());
        frames.push(frame.into_buffer());
    }
    if frames.is_empty() {
        return Err(MaskError::Decode("the GIF has no frames".into()));
    }
    Ok(Decoded {
        format: Format::Gif,
        frames,
        delays,
        icc: None,
    })
}

/// Encodes masked frames in `format`, from pixels only.
pub fn encode(
    format: Format,
    frames: &[RgbaImage],
    delays: &[(u32, u32)],
) -> Result<Vec<u8>, MaskError> {
    encode_with_icc(format, frames, delays, None)
}

/// Like [`encode`], with the colour profile `icc` embedded (JPEG, PNG, WebP and TIFF; a GIF
/// gets none). Only masque's own standard profiles are passed here ([`crate::icc`]).
pub fn encode_with_icc(
    format: Format,
    frames: &[RgbaImage],
    delays: &[(u32, u32)],
    icc: Option<&[u8]>,
) -> Result<Vec<u8>, MaskError> {
    let enc_err = |e: image::ImageError| MaskError::Encode(e.to_string());
    let first = frames
        .first()
        .ok_or_else(|| MaskError::Encode("no frames".into()))?;
    let mut out = Vec::new();
    match format {
        Format::Gif => {
            let mut encoder = GifEncoder::new_with_speed(&mut out, 10);
            if frames.len() > 1 {
                encoder.set_repeat(Repeat::Infinite).map_err(enc_err)?;
            }
            let frames = frames
                .iter()
                .zip(delays.iter().chain(std::iter::repeat(&(0, 1))))
                .map(|(f, &(n, d))| {
                    Frame::from_parts(
                        f.clone(),
                        0,
                        0,
                        image::Delay::from_numer_denom_ms(n, d.max(1)),
                    )
                });
            encoder.encode_frames(frames).map_err(enc_err)?;
        }
        Format::Jpeg => {
            let side = |s: u32| {
                u16::try_from(s).map_err(|_| {
                    MaskError::Encode(format!(
                        "a JPEG is at most 65,535 pixels a side; this picture is {} x {}",
                        first.width(),
                        first.height()
                    ))
                })
            };
            let (w, h) = (side(first.width())?, side(first.height())?);
            let jpeg_err = |e: jpeg_encoder::EncodingError| MaskError::Encode(e.to_string());
            let mut encoder = jpeg_encoder::Encoder::new(&mut out, JPEG_QUALITY);
            if let Some(icc) = icc {
                encoder.add_icc_profile(icc).map_err(jpeg_err)?;
            }
            // Alpha is dropped: JPEG has none (the covers are opaque already).
            encoder
                .encode(first.as_raw(), w, h, jpeg_encoder::ColorType::Rgba)
                .map_err(jpeg_err)?;
        }
        _ => {
            let image = if first.pixels().all(|p| p.0[3] == 255) {
                DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(first.clone()).into_rgb8())
            } else {
                DynamicImage::ImageRgba8(first.clone())
            };
            match format {
                Format::Png => write(PngEncoder::new(&mut out), &image, icc)?,
                Format::Webp => write(WebPEncoder::new_lossless(&mut out), &image, icc)?,
                _ => write(TiffEncoder::new(Cursor::new(&mut out)), &image, icc)?,
            }
        }
    }
    Ok(out)
}

/// Encodes `image` with `encoder`, embedding `icc` first if given.
fn write<E: ImageEncoder>(
    mut encoder: E,
    image: &DynamicImage,
    icc: Option<&[u8]>,
) -> Result<(), MaskError> {
    if let Some(icc) = icc {
        encoder
            .set_icc_profile(icc.to_vec())
            .map_err(|e| MaskError::Encode(e.to_string()))?;
    }
    image
        .write_with_encoder(encoder)
        .map_err(|e| MaskError::Encode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heic_and_unknown_files_are_refused_by_name() {
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
        let e = Format::sniff(heic).unwrap_err().to_string();
        assert!(e.contains("HEIC"), "{e}");
        let e = Format::sniff(b"hello, this is text")
            .unwrap_err()
            .to_string();
        assert!(e.contains("JPEG, PNG"), "{e}");
    }
}
