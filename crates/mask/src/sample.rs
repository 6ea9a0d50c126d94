//! Test pictures with faces at known places, built from the two vendored photos (NASA's
//! public-domain portrait of Eileen Collins and Lav Varshney's CC0 cameraman, both from
//! scikit-image's sample data; see `tests/data/README.md`): `masque bench mask` masks them,
//! and the evaluation in `tests/evaluation.rs` derives its variants from them. Nothing is
//! downloaded.

use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};

use crate::MaskError;
use crate::detect::Rect;

/// `astronaut.jpg` (512 x 512).
pub static ASTRONAUT_JPG: &[u8] = include_bytes!("../tests/data/astronaut.jpg");
/// `camera.jpg` (512 x 512, grey).
pub static CAMERA_JPG: &[u8] = include_bytes!("../tests/data/camera.jpg");
/// Where the face is in `astronaut.jpg` (x, y, width, height), by inspection.
pub const ASTRONAUT_FACE: Rect = (181.0, 60.0, 89.0, 119.0);
/// Where the face is in `camera.jpg`.
pub const CAMERA_FACE: Rect = (203.0, 118.0, 55.0, 79.0);
/// The face heights (pixels) [`crowd`] cycles through.
pub const CROWD_FACE_HEIGHTS: [f32; 8] = [16.0, 24.0, 32.0, 48.0, 64.0, 96.0, 128.0, 160.0];

/// The two photos, decoded, with where their face is.
pub fn photos() -> Result<Vec<(RgbImage, Rect)>, MaskError> {
    [(ASTRONAUT_JPG, ASTRONAUT_FACE), (CAMERA_JPG, CAMERA_FACE)]
        .into_iter()
        .map(|(bytes, face)| {
            let image = image::load_from_memory(bytes)
                .map_err(|e| MaskError::Decode(e.to_string()))?
                .into_rgb8();
            Ok((image, face))
        })
        .collect()
}

/// `photo` scaled so that its face is `height` pixels high, and where the face then is.
pub fn scaled(photo: &RgbImage, face: Rect, height: f32) -> (RgbImage, Rect) {
    let s = height / face.3;
    let w = ((photo.width() as f32) * s).round().max(1.0) as u32;
    let h = ((photo.height() as f32) * s).round().max(1.0) as u32;
    (
        imageops::resize(photo, w, h, FilterType::Triangle),
        (face.0 * s, face.1 * s, face.2 * s, face.3 * s),
    )
}

/// A `width` x `height` grey picture filled, row by row, with copies of the two photos
/// whose faces are [`CROWD_FACE_HEIGHTS`] high in turn (a crowd of small and large faces
/// all over the picture, some near tile borders); returns it with where every face is.
pub fn crowd(width: u32, height: u32) -> Result<(RgbImage, Vec<Rect>), MaskError> {
    let photos = photos()?;
    let mut canvas = RgbImage::from_pixel(width, height, Rgb([128, 128, 128]));
    let mut faces = Vec::new();
    let (mut x, mut y, mut row_height) = (8u32, 8u32, 0u32);
    let mut i = 0usize;
    loop {
        let (photo, face) = &photos[i % photos.len()];
        let target = CROWD_FACE_HEIGHTS[i % CROWD_FACE_HEIGHTS.len()];
        let (copy, f) = scaled(photo, *face, target);
        if x + copy.width() + 8 > width {
            x = 8;
            y += row_height + 8;
            row_height = 0;
        }
        if y + copy.height() + 8 > height || copy.width() + 16 > width {
            break;
        }
        imageops::replace(&mut canvas, &copy, i64::from(x), i64::from(y));
        faces.push((x as f32 + f.0, y as f32 + f.1, f.2, f.3));
        x += copy.width() + 8;
        row_height = row_height.max(copy.height());
        i += 1;
    }
    Ok((canvas, faces))
}

/// An EXIF block (big-endian TIFF) holding only orientation 1, as a camera writes: a
/// photo carrying it says which way is up.
pub fn exif_upright() -> Vec<u8> {
    let mut tiff = b"MM\0*\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 1, 0, 0]);
    tiff.extend_from_slice(&[0; 4]);
    tiff
}

/// `image` as a JPEG (quality 90), with [`exif_upright`] in an APP1 segment if `exif`.
pub fn jpeg(image: &RgbImage, exif: bool) -> Result<Vec<u8>, MaskError> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(image)
        .map_err(|e| MaskError::Encode(e.to_string()))?;
    if !exif {
        return Ok(out);
    }
    let mut body = b"Exif\0\0".to_vec();
    body.extend_from_slice(&exif_upright());
    let mut with = out[..2].to_vec();
    with.extend_from_slice(&[0xFF, 0xE1]);
    with.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
    with.extend_from_slice(&body);
    with.extend_from_slice(&out[2..]);
    Ok(with)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crowd_fills_the_picture_with_faces_inside_it() {
        let (canvas, faces) = crowd(1200, 900).unwrap();
        assert_eq!(canvas.dimensions(), (1200, 900));
        assert!(faces.len() >= 4, "{}", faces.len());
        for f in &faces {
            assert!(f.0 >= 0.0 && f.1 >= 0.0 && f.0 + f.2 <= 1200.0 && f.1 + f.3 <= 900.0);
        }
        // A picture too small for any copy is just grey.
        assert!(crowd(10, 10).unwrap().1.is_empty());
    }

    #[test]
    fn the_upright_exif_reads_as_orientation_1() {
        assert_eq!(crate::metadata::orientation(&exif_upright()), Some(1));
    }
}
