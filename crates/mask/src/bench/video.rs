//! The video part of `masque bench mask`: a generated 1080p clip masked end to end as
//! `masque mask` masks a video file (ffmpeg decoding, detection on every frame, tracking,
//! covering, re-check, ffmpeg encoding).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use image::imageops;
use serde::Serialize;

use crate::video::{VideoOptions, mask_video};
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
/// `path` (an `.mp4`), with ffmpeg.
pub fn write_clip(path: &Path, frames: usize) -> Result<(), MaskError> {
    let wide = CLIP_WIDTH + PAN * frames as u32;
    let (crowd, _) = sample::crowd(wide, CLIP_HEIGHT)?;
    let mut child = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-y"])
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s"])
        .arg(format!("{CLIP_WIDTH}x{CLIP_HEIGHT}"))
        .args(["-r", &CLIP_FPS.to_string(), "-i", "pipe:0"])
        .args(["-c:v", "libx264", "-preset", "veryfast", "-crf", "18"])
        .args(["-pix_fmt", "yuv420p"])
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            MaskError::Ffmpeg(format!(
                "cannot run ffmpeg ({e}) for the video benchmark: install it (apt-get install ffmpeg) or pass --video-frames 0"
            ))
        })?;
    let mut stdin = child.stdin.take().expect("stdin was piped");
    for k in 0..frames as u32 {
        let frame = imageops::crop_imm(&crowd, k * PAN, 0, CLIP_WIDTH, CLIP_HEIGHT).to_image();
        stdin
            .write_all(frame.as_raw())
            .map_err(|e| MaskError::Video(format!("writing the benchmark clip: {e}")))?;
    }
    drop(stdin);
    let out = child
        .wait_with_output()
        .map_err(|e| MaskError::Video(format!("writing the benchmark clip: {e}")))?;
    if !out.status.success() {
        return Err(MaskError::Video(format!(
            "ffmpeg could not write the benchmark clip: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
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
