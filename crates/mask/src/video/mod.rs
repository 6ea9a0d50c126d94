//! Videos: every frame decoded by ffmpeg, faces found in each, kept covered between
//! detections by a tracker, and the frames re-encoded into a new file without the
//! original's metadata.
//!
//! The pipeline: [`ffmpeg::Decoder`] hands out upright RGB frames (the file's display
//! rotation applied); the detector runs on every frame (in [`Search::Stream`]'s wide
//! tiles: a 1080p frame is one input); [`track::Tracker`] links the
//! detections into tracks and gives each frame the boxes to cover (its own detections,
//! boxes interpolated across a gap, boxes held for a while before and after a track), so a
//! frame is written once the next `hold` frames have been looked at; each frame is covered
//! and re-checked as a photo is ([`crate::cover_and_recheck`]) and goes to
//! [`ffmpeg::Encoder`], which writes only those pixels (and, with `keep_audio`, the
//! original's audio re-encoded). Two frames are detected at once, each a job of rayon's
//! pool, while the settled frames are covered, re-checked and written (their re-check's
//! windows are jobs of the same pool): a frame's full-size input is one long job, and with
//! one frame at a time a core waited whenever the other work ran out first. Detections
//! reach the tracker in the frames' order whichever finishes first, so the output is the
//! same as one frame at a time.
//!
//! **Guarantees**: the output holds the masked frames and at most the re-encoded audio:
//! no metadata of the input (container and stream tags, chapters, data, subtitle and
//! attachment streams, the encoder's own version strings); frames at the input's average
//! frame rate. A video that cannot be decoded completely gives an error, and the caller
//! writes no output (the file is written under a temporary name and put in place only
//! after success).
//!
//! **Not guaranteed**: what [`crate::detect`] does not guarantee, frame by frame; a face
//! missed for longer than the hold is uncovered in those frames; variable frame rates
//! become constant (the timing of individual frames may shift); sound can identify
//! people (voices, names spoken), which is why audio is dropped unless asked for.

pub mod ffmpeg;
pub mod track;

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use image::buffer::ConvertBuffer;
use image::{RgbImage, RgbaImage};
use rayon::prelude::*;
use serde::Serialize;

use crate::cover::Region;
use crate::detect::Face;
use crate::{Detector, MaskError, Options, Search, cover_and_recheck, review};
pub use ffmpeg::{Container, Probe};
use track::Tracker;

/// The default time a box is held after a face was last seen (and before it was first
/// seen), and the longest gap bridged between two detections, in seconds.
pub const DEFAULT_HOLD_SECONDS: f32 = 0.5;

/// The longest hold in frames, whatever the frame rate says.
pub const MAX_HOLD_FRAMES: usize = 60;
/// The most pixel bytes held waiting for the tracker or being detected (the hold is
/// shortened to fit).
const HELD_BYTES: usize = 1 << 30;

/// What to do with each video, besides the photo [`Options`].
#[derive(Clone, Copy, Debug)]
pub struct VideoOptions {
    /// Keep the first audio stream (re-encoded, without its metadata).
    pub keep_audio: bool,
    /// How long boxes are held and gaps bridged, in seconds (0: each frame's own
    /// detections only).
    pub hold_seconds: f32,
}

impl Default for VideoOptions {
    fn default() -> Self {
        VideoOptions {
            keep_audio: false,
            hold_seconds: DEFAULT_HOLD_SECONDS,
        }
    }
}

/// What happened to the sound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Audio {
    /// The input had none.
    None,
    /// Dropped (the default).
    Dropped,
    /// Re-encoded into the output.
    Kept,
}

/// What was done to one video.
#[derive(Clone, Debug, Serialize)]
pub struct VideoReport {
    /// The container read and written.
    pub container: Container,
    /// Width of the upright frames.
    pub width: u32,
    /// Height of the upright frames.
    pub height: u32,
    /// Frames written.
    pub frames: usize,
    /// The frame rate written.
    pub frame_rate: String,
    /// Faces the detector found, frame by frame (re-check included).
    pub faces_per_frame: Vec<usize>,
    /// Faces found in all frames.
    pub faces: usize,
    /// Boxes covered in frames where the detector did not find that face (interpolated
    /// across a gap or held).
    pub tracked_boxes: usize,
    /// How many frames boxes were held and gaps bridged.
    pub hold_frames: usize,
    /// Manual regions covered in every frame.
    pub manual_regions: Vec<Region>,
    /// What happened to the sound.
    pub audio: Audio,
    /// The metadata and extra streams found in the input, all of them absent from the
    /// output.
    pub metadata_removed: Vec<String>,
}

/// A masked video, written.
#[derive(Debug)]
pub struct MaskedVideo {
    /// What was done.
    pub report: VideoReport,
    /// The side-by-side review PNG of the frame with the most faces, if asked for.
    pub review: Option<Vec<u8>>,
}

/// Whether `head` (a file's first bytes) looks like a video masque mask reads: an ISO
/// media file (MP4, MOV) that is not a HEIF image, or a Matroska/WebM file.
pub fn is_video(head: &[u8]) -> bool {
    if head.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        return true;
    }
    if head.len() < 12 {
        return false;
    }
    let atom = &head[4..8];
    if atom == b"ftyp" {
        return !crate::codec::HEIF_BRANDS
            .iter()
            .any(|b| b[..] == head[8..12]);
    }
    // QuickTime files written without an ftyp atom.
    [&b"moov"[..], b"mdat", b"wide", b"free"].contains(&atom)
}

/// The hold in frames for `seconds` at `fps`: the frames waiting for the tracker stay in
/// memory (`hold + 1` of them, besides the [`IN_FLIGHT`] being detected), so at most
/// [`MAX_HOLD_FRAMES`] and at most [`HELD_BYTES`] of pixels with those.
fn hold_frames(fps: f64, seconds: f32, frame_bytes: usize) -> usize {
    ((fps * f64::from(seconds)).round() as usize)
        .min(MAX_HOLD_FRAMES)
        .min((HELD_BYTES / frame_bytes.max(1)).saturating_sub(1 + IN_FLIGHT))
}

/// Frames detected at once: one each core of a two-core machine keeps busy, while the
/// frames the tracker has settled are covered, re-checked and written in between.
const IN_FLIGHT: usize = 2;

/// The decoded frames, numbered.
struct Frames<'a> {
    decoder: &'a mut ffmpeg::Decoder,
    width: u32,
    height: u32,
    /// The decoder has no more frames.
    finished: bool,
    /// Frames handed out so far.
    started: usize,
}

impl Frames<'_> {
    /// The next frame and its index, or `None` once the decoder has no more.
    fn next(&mut self) -> Result<Option<(usize, RgbImage)>, MaskError> {
        let Some(bytes) = self.decoder.next_frame()? else {
            self.finished = true;
            return Ok(None);
        };
        let rgb = RgbImage::from_raw(self.width, self.height, bytes)
            .ok_or_else(|| MaskError::Video("a frame of the wrong size".into()))?;
        self.started += 1;
        Ok(Some((self.started - 1, rgb)))
    }
}

/// A frame waiting for the tracker to know its boxes.
struct Pending {
    rgb: RgbImage,
    detected: usize,
}

/// Masks the video `input` into `output` (a file the caller created; it is overwritten),
/// writing the same container as the input's. `on_frame(done, total)` is called after
/// each frame written (`total` when the container says).
pub fn mask_video(
    detector: &Detector,
    input: &Path,
    output: &Path,
    manual: &[Region],
    options: &Options,
    video: &VideoOptions,
    on_frame: &mut dyn FnMut(u64, Option<u64>),
) -> Result<MaskedVideo, MaskError> {
    if !(video.hold_seconds.is_finite() && (0.0..=10.0).contains(&video.hold_seconds)) {
        return Err(MaskError::Video(format!(
            "the hold of {} s is not between 0 and 10 seconds",
            video.hold_seconds
        )));
    }
    let probe = ffmpeg::probe(input)?;
    let extension = input.extension().and_then(|e| e.to_str());
    let container = Container::recognise(&probe.format_name, extension).ok_or_else(|| {
        MaskError::UnsupportedFormat {
            what: format!("a {} video", probe.format_name),
        }
    })?;
    let frame_bytes = probe.width as usize * probe.height as usize * 3;
    let hold = hold_frames(probe.fps, video.hold_seconds, frame_bytes);
    let audio = match (probe.has_audio, video.keep_audio) {
        (false, _) => Audio::None,
        (true, false) => Audio::Dropped,
        (true, true) => Audio::Kept,
    };
    let mut decoder = ffmpeg::Decoder::start(input, probe.width, probe.height)?;
    let mut encoder = ffmpeg::Encoder::start(
        output,
        &ffmpeg::EncoderSettings {
            container,
            width: probe.width,
            height: probe.height,
            frame_rate: &probe.frame_rate,
            audio_from: (audio == Audio::Kept).then_some(input),
        },
    )?;
    // The decoder applied the file's rotation, so up is known: `auto` looks upright only
    // (`all` still turns, for a clip filmed sideways without a rotation).
    let turns = options.rotations.turns(true);
    let mut tracker = Tracker::new(hold);
    let mut pending: VecDeque<Pending> = VecDeque::new();
    let mut written = Written {
        faces_per_frame: Vec::new(),
        tracked_boxes: 0,
        review: None,
        review_faces: 0,
    };
    let mut frames = Frames {
        decoder: &mut decoder,
        width: probe.width,
        height: probe.height,
        finished: false,
        started: 0,
    };
    rayon::in_place_scope(|scope| -> Result<(), MaskError> {
        let (done, arrivals) = std::sync::mpsc::channel();
        // Detected frames that arrived before an earlier one, by index.
        let mut early: BTreeMap<usize, (RgbImage, Result<Vec<Face>, MaskError>)> = BTreeMap::new();
        let mut pushed = 0;
        loop {
            // In the frames' order, whichever finished first.
            while let Some((rgb, faces)) = early.remove(&pushed) {
                let faces = faces?;
                tracker.push(&faces);
                pending.push_back(Pending {
                    rgb,
                    detected: faces.len(),
                });
                pushed += 1;
            }
            // Up to IN_FLIGHT frames detected at once, each a job of the pool: the pool
            // always has a frame's one long input to work on while the rest waits.
            while !frames.finished && frames.started - pushed - early.len() < IN_FLIGHT {
                let Some((index, rgb)) = frames.next()? else {
                    break;
                };
                let done = done.clone();
                scope.spawn(move |_| {
                    // Every job answers, even one that panics, or the loop would wait for
                    // it forever.
                    let detect =
                        || detector.search_turned(&rgb, options.threshold, Search::Stream, turns);
                    let faces = std::panic::catch_unwind(std::panic::AssertUnwindSafe(detect))
                        .unwrap_or_else(|_| {
                            Err(MaskError::Model(format!(
                                "an internal error (a panic) on frame {index}"
                            )))
                        });
                    // The receiver is gone only if the loop returned with an error already.
                    let _ = done.send((index, rgb, faces));
                });
            }
            // Every settled frame covered, re-checked and written, its re-check's windows
            // run in the pool beside the frames being detected.
            let all_pushed = frames.finished && pushed == frames.started;
            // Once every frame is detected, two at a time: the cores have nothing else.
            let at_once = if all_pushed { 2 } else { 1 };
            loop {
                let (first, waiting) = (written.faces_per_frame.len(), pending.len());
                let ready: Vec<(Pending, Vec<Face>)> = (first..first + at_once.min(waiting))
                    .take_while(|&k| tracker.ready(k, all_pushed))
                    .map(|k| (pending.pop_front().expect("counted"), tracker.boxes(k)))
                    .collect();
                if ready.is_empty() {
                    break;
                }
                let cover = |(frame, boxes)| cover_frame(detector, frame, boxes, manual, options);
                for done in ready.into_par_iter().map(cover).collect::<Vec<_>>() {
                    written.write(&mut encoder, done?, manual)?;
                    on_frame(written.faces_per_frame.len() as u64, probe.frames);
                }
            }
            if all_pushed {
                return Ok(());
            }
            let (index, rgb, faces) = arrivals
                .recv()
                .map_err(|_| MaskError::Video("a frame's detection was lost".into()))?;
            early.insert(index, (rgb, faces));
        }
    })?;
    decoder.finish()?;
    encoder.finish()?;
    if written.faces_per_frame.is_empty() {
        return Err(MaskError::Video("the file holds no video frames".into()));
    }
    Ok(MaskedVideo {
        report: VideoReport {
            container,
            width: probe.width,
            height: probe.height,
            frames: written.faces_per_frame.len(),
            frame_rate: probe.frame_rate,
            faces: written.faces_per_frame.iter().sum(),
            faces_per_frame: written.faces_per_frame,
            tracked_boxes: written.tracked_boxes,
            hold_frames: hold,
            manual_regions: manual.to_vec(),
            audio,
            metadata_removed: probe.found,
        },
        review: if options.review { written.review } else { None },
    })
}

/// What has been written so far.
struct Written {
    faces_per_frame: Vec<usize>,
    tracked_boxes: usize,
    /// The review image of the frame with the most faces so far, and their number.
    review: Option<Vec<u8>>,
    review_faces: usize,
}

/// A frame covered and re-checked, waiting for its turn to be written.
struct CoveredFrame {
    /// The masked frame with alpha (for the review) and without (for the encoder).
    masked: RgbaImage,
    rgb: RgbImage,
    /// The frame as decoded, kept only for a review image.
    original: Option<RgbaImage>,
    /// Every box covered: the tracker's, then the re-check's.
    covered: Vec<Face>,
    /// Faces the detector found in this frame (the re-check's included).
    faces: usize,
    /// The tracker's boxes that were not this frame's own detections.
    tracked: usize,
}

/// Covers `frame`'s `boxes` (the tracker's: its own detections and the tracked ones) and
/// the manual regions, and re-checks.
fn cover_frame(
    detector: &Detector,
    frame: Pending,
    boxes: Vec<Face>,
    manual: &[Region],
    options: &Options,
) -> Result<CoveredFrame, MaskError> {
    let given = boxes.len();
    let original: Option<RgbaImage> = options.review.then(|| frame.rgb.convert());
    let (masked, rgb, covered) = cover_and_recheck(detector, frame.rgb, boxes, manual, options)?;
    Ok(CoveredFrame {
        masked,
        rgb,
        original,
        faces: frame.detected + (covered.len() - given),
        tracked: given.saturating_sub(frame.detected),
        covered,
    })
}

impl Written {
    /// Sends `frame` to the encoder, and keeps it as the review image if it has the most
    /// faces so far.
    fn write(
        &mut self,
        encoder: &mut ffmpeg::Encoder,
        frame: CoveredFrame,
        manual: &[Region],
    ) -> Result<(), MaskError> {
        if let Some(original) = &frame.original
            && (self.review.is_none() || frame.faces > self.review_faces)
        {
            let side = review::side_by_side(original, &frame.masked, &frame.covered, manual);
            self.review = Some(crate::codec::encode(crate::Format::Png, &[side], &[])?);
            self.review_faces = frame.faces;
        }
        encoder.write_frame(frame.rgb.as_raw())?;
        self.faces_per_frame.push(frame.faces);
        self.tracked_boxes += frame.tracked;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hold_follows_the_frame_rate_within_its_memory_bounds() {
        let hd = 1920 * 1080 * 3;
        assert_eq!(hold_frames(25.0, 0.5, hd), 13);
        assert_eq!(hold_frames(30_000.0 / 1001.0, 0.5, hd), 15);
        assert_eq!(hold_frames(25.0, 0.0, hd), 0);
        assert_eq!(
            hold_frames(1000.0, 10.0, hd),
            MAX_HOLD_FRAMES,
            "a bogus rate"
        );
        // 8K frames: the held pixels (and the frames being detected) stay within a gibibyte.
        let uhd8k = 7680 * 4320 * 3;
        let hold = hold_frames(60.0, 1.0, uhd8k);
        assert!(
            (hold + 1 + IN_FLIGHT) * uhd8k <= HELD_BYTES && hold >= 6,
            "{hold}"
        );
    }

    #[test]
    fn videos_are_told_from_photos_by_their_first_bytes() {
        let mp4 = b"\0\0\0\x20ftypisom\0\0\x02\0";
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0";
        assert!(is_video(mp4));
        assert!(!is_video(heic));
        assert!(is_video(&[0x1a, 0x45, 0xdf, 0xa3, 0x01]));
        assert!(is_video(b"\0\0\0\x08wide\0\0\0\0"));
        assert!(!is_video(b"\x89PNG\r\n\x1a\n\0\0\0\x0d"));
        assert!(!is_video(b"\0\0"));
    }
}
