//! The video part of `masque bench mask`: a generated 1080p clip masked end to end as
//! `masque mask` masks a video file (ffmpeg decoding, detection on every frame, tracking,
//! covering, re-check, ffmpeg encoding).

use std::path::Path;
use std::time::Instant;

use image::imageops;
use serde::Serialize;

use crate::video::ffmpeg::{Encoder, EncoderSettings};
use crate::video::{Container, VideoOptions, mask_video};
use crate::{Detector, MaskError, Options, sample};

/// Frame size of the clip.
pub const CLIP_WIDTH: u32 = 1920;
/// Frame size of the clip.
pub const CLIP_HEIGHT: u32 = 1080;
/// Frame rate of the clip.
const CLIP_FPS: u32 = 25;
/// How far the picture pans each frame, in pixels (the faces move).
const PAN: u32 = 4;

/// The figures of the clip.
#[derive(Clone, Debug, Serialize)]
pub struct VideoBench {
    /// Frames in the clip.
    pub frames: usize,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Wall seconds for the whole clip, file to file.
    pub seconds: f64,
    /// Frames per second, file to file.
    pub frames_per_second: f64,
    /// Faces found over all frames.
    pub faces: usize,
    /// Boxes covered by tracking.
    pub tracked_boxes: usize,
}

/// Writes a `frames`-frame 1080p H.264 clip of [`sample::crowd`] panning sideways to
/// `path` (an `.mp4`), with the encoder `masque mask` writes videos with.
pub fn write_clip(path: &Path, frames: usize) -> Result<(), MaskError> {
    let wide = CLIP_WIDTH + PAN * frames as u32;
    let (crowd, _) = sample::crowd(wide, CLIP_HEIGHT)?;
    let rate = CLIP_FPS.to_string();
    let mut encoder = Encoder::start(
        path,
        &EncoderSettings {
            container: Container::Mp4,
            width: CLIP_WIDTH,
            height: CLIP_HEIGHT,
            frame_rate: &rate,
            audio_from: None,
        },
    )?;
    for k in 0..frames as u32 {
        let frame = imageops::crop_imm(&crowd, k * PAN, 0, CLIP_WIDTH, CLIP_HEIGHT).to_image();
        encoder.write_frame(frame.as_raw())?;
    }
    encoder.finish()
}

/// Masks `clip` into `output` and times it.
pub fn run(
    detector: &Detector,
    clip: &Path,
    output: &Path,
    options: &Options,
) -> Result<VideoBench, MaskError> {
    let t = Instant::now();
    let masked = mask_video(
        detector,
        clip,
        output,
        &[],
        options,
        &VideoOptions::default(),
        &mut |_, _| {},
    )?;
    let seconds = t.elapsed().as_secs_f64();
    let r = masked.report;
    Ok(VideoBench {
        frames: r.frames,
        width: r.width,
        height: r.height,
        seconds,
        frames_per_second: r.frames as f64 / seconds,
        faces: r.faces,
        tracked_boxes: r.tracked_boxes,
    })
}
