//! `masque mask`: makes a copy of a photo that is safer to publish. Faces are found with an
//! embedded CenterFace network and covered irreversibly; every piece of metadata is
//! dropped by re-encoding the pixels.
//!
//! **Guarantees**: the output holds nothing of the input but its (upright) pixels with the
//! detected faces and the manual regions covered ([`codec`] for metadata, [`cover`] for
//! what covering means); an input that cannot be read safely gives an error and no output,
//! never the original passed through; hostile headers are refused before allocation.
//!
//! **Not guaranteed**: that every face is found (the detector's recall is measured, not
//! perfect: see [`detect`] and `docs/mask.md`; check the review image and add manual
//! regions); nor protection against recognition by anything but the face: gait,
//! clothing, tattoos, body shape, the place, other people in the picture, or the pixels
//! themselves (a unique scene) can still identify someone.

#![deny(missing_docs)]

pub mod bench;
pub mod codec;
mod conv3x3;
pub mod cover;
mod depthwise;
pub mod detect;
mod error;
mod expand;
mod fusion;
pub mod icc;
mod kernel;
pub mod metadata;
mod pointwise;
mod quantized;
pub mod review;
pub mod sample;
mod stem;
mod upsample;
pub mod video;

use std::path::Path;

use image::buffer::ConvertBuffer;
use image::{Pixel, RgbImage, RgbaImage};
use serde::{Deserialize, Serialize};

pub use codec::Format;
pub use cover::{Region, Style};
pub use detect::{DEFAULT_THRESHOLD, Detector, Face, Search, Turn};
pub use error::MaskError;
pub use icc::StandardProfile;

/// What to do with each picture.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// How faces and regions are covered.
    pub style: Style,
    /// Detection threshold (0..1); lower finds more faces and more false alarms.
    pub threshold: f32,
    /// Whether to draw the side-by-side review image.
    pub review: bool,
    /// Whether faces are also looked for in the picture turned by 90, 180 and 270 degrees.
    pub rotations: Rotations,
    /// Whether a standard colour profile (sRGB, Display P3) of the input is kept (as
    /// masque's own copy of that profile; any other profile is dropped).
    pub keep_icc: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            style: Style::Fill,
            threshold: DEFAULT_THRESHOLD,
            review: false,
            rotations: Rotations::Auto,
            keep_icc: false,
        }
    }
}

/// When the detector also looks at the picture turned by 90, 180 and 270 degrees (the
/// network finds upright faces best; a picture without an orientation tag may be sideways).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rotations {
    /// Only the picture as it is (after the EXIF orientation, if any, is applied).
    None,
    /// The default: the turned copies too, unless the photo has an EXIF orientation tag
    /// (the camera said which way is up). [`mask_frame`] alone cannot know, so it tries
    /// them.
    #[default]
    Auto,
    /// Always the turned copies too.
    All,
}

impl Rotations {
    /// The turns tried for a picture; `oriented` says whether it had an orientation tag.
    pub fn turns(self, oriented: bool) -> &'static [Turn] {
        match self {
            Rotations::None => &Turn::ALL[..1],
            Rotations::Auto if oriented => &Turn::ALL[..1],
            Rotations::Auto | Rotations::All => &Turn::ALL,
        }
    }
}

/// A manual region from a `--boxes` file: a rectangle in pixels of the upright image,
/// for one file (matched by file name) or, without `file`, for every file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualRegion {
    /// The file name it applies to (just the name, not the folder); every file if absent.
    #[serde(default)]
    pub file: Option<String>,
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
}

impl ManualRegion {
    /// Whether it applies to the file called `name`.
    pub fn applies_to(&self, name: &str) -> bool {
        self.file.as_deref().is_none_or(|f| f == name)
    }

    /// The region to cover.
    pub fn region(&self) -> Region {
        Region {
            x: self.x,
            y: self.y,
            width: self.width,
            height: self.height,
            ellipse: false,
        }
    }
}

/// Reads a `--boxes` file: a JSON list of [`ManualRegion`]s.
pub fn load_regions(path: &Path) -> Result<Vec<ManualRegion>, MaskError> {
    let bad = |reason: String| MaskError::Regions {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let regions: Vec<ManualRegion> = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    for r in &regions {
        let finite = [r.x, r.y, r.width, r.height].iter().all(|v| v.is_finite());
        if !finite || r.width <= 0.0 || r.height <= 0.0 {
            return Err(bad(format!(
                "region {r:?} needs finite numbers and a positive width and height"
            )));
        }
    }
    Ok(regions)
}

/// What was done to one picture.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The format read and written.
    pub format: Format,
    /// Width of the upright image.
    pub width: u32,
    /// Height of the upright image.
    pub height: u32,
    /// Frames (more than one for an animated GIF).
    pub frames: usize,
    /// Detected faces (of every frame, in frame order), before enlargement.
    pub faces: Vec<Face>,
    /// Manual regions covered.
    pub manual_regions: Vec<Region>,
    /// The EXIF orientation that was applied to the pixels, if any.
    pub orientation: Option<u16>,
    /// The turns the detector looked at, in degrees clockwise (0 alone, or 0, 90, 180
    /// and 270).
    pub rotations: Vec<u16>,
    /// The standard colour profile written with the output (masque's own copy), if
    /// `keep_icc` was asked for and the input had one masque recognises.
    pub colour_profile: Option<StandardProfile>,
    /// The metadata found in the input, all of it absent from the output.
    pub metadata_removed: Vec<String>,
}

/// A masked picture, ready to be written.
#[derive(Debug)]
pub struct Masked {
    /// The encoded output, in the input's format.
    pub bytes: Vec<u8>,
    /// The side-by-side review PNG (first frame), if asked for.
    pub review: Option<Vec<u8>>,
    /// What was done.
    pub report: Report,
}

/// How many times a masked frame is checked again with the detector (see [`mask_frame`]).
pub const RECHECK_ROUNDS: usize = 3;

/// Covers the faces found in `frame` and the `manual` regions, then runs the detector on
/// the result where pixels changed and covers whatever it still finds (a head's outline
/// around a small covered face, a face that only stood out once a neighbour was covered),
/// up to [`RECHECK_ROUNDS`] times: the adversary's check, built in. Returns the masked
/// frame and every detection covered (the re-check's ones after the first pass's).
///
/// Faces are looked for in the turns `options.rotations` asks for, [`Rotations::Auto`]
/// counting as [`Rotations::All`] here (a bare frame has no orientation tag); see
/// [`mask_frame_turned`].
pub fn mask_frame(
    detector: &Detector,
    frame: &RgbaImage,
    manual: &[Region],
    options: &Options,
) -> Result<(RgbaImage, Vec<Face>), MaskError> {
    mask_frame_turned(
        detector,
        frame,
        manual,
        options,
        options.rotations.turns(false),
    )
}

/// [`mask_frame`] with the turns given.
///
/// The first pass looks at every turn in `turns`; the re-check looks at the picture as it
/// is, as the adversary's check does (with the turns too, the black ellipses seen sideways
/// kept answering just above the threshold: 14 regions after three rounds on the test
/// canvas instead of 4, and a face still found inside one). It runs the network only on
/// windows around what the previous round changed, at the levels that show faces from a
/// quarter of a changed region's longer side to all of it: every such face whose centre
/// lies in the region is looked at again whole, with [`detect::LEVEL_FACE`] pixels of
/// the level around it.
pub fn mask_frame_turned(
    detector: &Detector,
    frame: &RgbaImage,
    manual: &[Region],
    options: &Options,
    turns: &[Turn],
) -> Result<(RgbaImage, Vec<Face>), MaskError> {
    let rgb: RgbImage = frame.convert();
    let faces = detector.search_turned(&rgb, options.threshold, Search::Picture, turns)?;
    let (masked, _, faces) = recheck(
        detector,
        (frame.clone(), rgb),
        faces,
        manual,
        options,
        |a| Search::Near(a),
    )?;
    Ok((masked, faces))
}

/// Covers `faces` (enlarged, see [`Region::around`]) and the `manual` regions of `frame`
/// (a frame of a stream, decoded to RGB), then runs the re-check of [`mask_frame`] where
/// pixels changed, as for a frame of a stream ([`Search::StreamNear`]). Returns the masked
/// frame with and without alpha (the same pixels), and `faces` followed by the re-check's
/// detections.
pub fn cover_and_recheck(
    detector: &Detector,
    frame: RgbImage,
    faces: Vec<Face>,
    manual: &[Region],
    options: &Options,
) -> Result<(RgbaImage, RgbImage, Vec<Face>), MaskError> {
    let masked: RgbaImage = frame.convert();
    recheck(detector, (masked, frame), faces, manual, options, |a| {
        Search::StreamNear(a)
    })
}

/// [`cover_and_recheck`] on `masked` and `rgb`, the same picture with and without alpha:
/// both are covered alike, the detector runs on `rgb` (no conversion per round), and both
/// are returned; `near` makes the search of each round ([`Search::Near`] for a picture,
/// [`Search::StreamNear`] for a frame of a stream).
fn recheck(
    detector: &Detector,
    (mut masked, mut rgb): (RgbaImage, RgbImage),
    mut faces: Vec<Face>,
    manual: &[Region],
    options: &Options,
    near: fn(&[detect::Rect]) -> Search<'_>,
) -> Result<(RgbaImage, RgbImage, Vec<Face>), MaskError> {
    let style = options.style;
    for face in &faces {
        cover_both(&mut masked, &mut rgb, &Region::around(face), style);
    }
    for region in manual {
        cover_both(&mut masked, &mut rgb, region, style);
    }
    let mut changed: Vec<Region> = faces
        .iter()
        .map(Region::around)
        .chain(manual.iter().copied())
        .collect();
    for _ in 0..RECHECK_ROUNDS {
        if changed.is_empty() {
            break;
        }
        let areas: Vec<detect::Rect> = changed
            .iter()
            .map(|r| (r.x, r.y, r.width, r.height))
            .collect();
        let again = detector.search(&rgb, options.threshold, near(&areas))?;
        for face in &again {
            cover_both(&mut masked, &mut rgb, &Region::around(face), style);
        }
        changed = again.iter().map(Region::around).collect();
        faces.extend(again);
    }
    Ok((masked, rgb, faces))
}

/// Covers `region` of `masked` in `style`, and copies what changed into `rgb` (the same
/// picture without alpha).
fn cover_both(masked: &mut RgbaImage, rgb: &mut RgbImage, region: &Region, style: Style) {
    cover::cover(masked, region, style);
    let (x0, y0, x1, y1) = region.bounds(masked.width(), masked.height());
    for y in y0..y1 {
        for x in x0..x1 {
            rgb.put_pixel(x, y, masked.get_pixel(x, y).to_rgb());
        }
    }
}

/// Masks one picture given as bytes.
pub fn mask_bytes(
    detector: &Detector,
    input: &[u8],
    manual: &[Region],
    options: &Options,
) -> Result<Masked, MaskError> {
    let format = Format::sniff(input)?;
    let scan = metadata::scan(format, input);
    let tagged = scan.exif.as_deref().and_then(metadata::orientation);
    let orientation = tagged.filter(|&o| o != 1);
    let decoded = codec::decode(input, orientation)?;
    let turns = options.rotations.turns(tagged.is_some());
    let mut faces = Vec::new();
    let mut masked_frames = Vec::with_capacity(decoded.frames.len());
    let mut review = None;
    for (i, frame) in decoded.frames.iter().enumerate() {
        let (masked, found) = mask_frame_turned(detector, frame, manual, options, turns)?;
        if i == 0 && options.review {
            let side = review::side_by_side(frame, &masked, &found, manual);
            review = Some(codec::encode(Format::Png, &[side], &[])?);
        }
        faces.extend(found);
        masked_frames.push(masked);
    }
    let colour_profile = if options.keep_icc {
        decoded.icc.as_deref().and_then(icc::recognise)
    } else {
        None
    };
    let icc_bytes = colour_profile.map(StandardProfile::bytes);
    let bytes = codec::encode_with_icc(
        format,
        &masked_frames,
        &decoded.delays,
        icc_bytes.as_deref(),
    )?;
    let mut metadata_removed = scan.found;
    if let Some(p) = colour_profile {
        for m in &mut metadata_removed {
            if m == metadata::ICC_FOUND {
                *m = format!(
                    "{} (replaced by masque's own {} profile: nothing of the input's is kept)",
                    metadata::ICC_FOUND,
                    p.name()
                );
            }
        }
    }
    let (width, height) = decoded
        .frames
        .first()
        .map(|f| f.dimensions())
        .unwrap_or_default();
    let report = Report {
        format,
        width,
        height,
        frames: decoded.frames.len(),
        faces,
        manual_regions: manual.to_vec(),
        orientation,
        rotations: turns.iter().map(|t| t.degrees()).collect(),
        colour_profile,
        metadata_removed,
    };
    Ok(Masked {
        bytes,
        review,
        report,
    })
}
