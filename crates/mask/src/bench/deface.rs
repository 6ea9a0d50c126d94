//! `deface` (the usual tool: the same CenterFace network through onnxruntime, Python) on
//! the benchmark's own photo and clip, in the same run, for the ratio.
//!
//! deface is not a dependency: the user installs it (`pip install deface`) and names its
//! executable with `masque bench mask --deface PATH`. It runs with its defaults
//! (threshold 0.2, blur, the whole picture at full size in one pass, onnxruntime's own
//! threads), so the comparison is of the two tools as people run them, not of equal work:
//! masque also looks at halved copies, tiles the full-size picture so 12 px faces stay 12
//! px, and re-checks every covered region.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::Serialize;

/// deface's figures, or why there are none.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DefaceBench {
    /// `deface --version`.
    pub version: Option<String>,
    /// Wall seconds for the photo.
    pub photo_seconds: Option<f64>,
    /// Wall seconds for the clip.
    pub video_seconds: Option<f64>,
    /// Frames per second for the clip.
    pub video_frames_per_second: Option<f64>,
    /// masque's seconds per photo divided by deface's (above 1: masque is slower).
    pub photo_ratio: Option<f64>,
    /// masque's seconds per clip divided by deface's.
    pub video_ratio: Option<f64>,
    /// What went wrong, if deface could not be run.
    pub errors: Vec<String>,
}

/// Runs `deface input -o output` and times it; the error says what deface printed.
fn time(deface: &Path, input: &Path, output: &Path) -> Result<f64, String> {
    let t = Instant::now();
    let out = Command::new(deface)
        .arg(input)
        .arg("-o")
        .arg(output)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", deface.display()))?;
    let seconds = t.elapsed().as_secs_f64();
    if !out.status.success() || !output.exists() {
        let said = String::from_utf8_lossy(&out.stderr);
        let tail: String = said
            .chars()
            .rev()
            .take(300)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(format!(
            "deface failed on {}: {}",
            input.display(),
            tail.trim()
        ));
    }
    Ok(seconds)
}

/// Runs deface on `photo` and, if given, `clip` (with `frames` frames), writing into
/// `dir`; masque's own times give the ratios.
pub fn run(
    deface: &Path,
    dir: &Path,
    photo: &Path,
    masque_photo_seconds: f64,
    clip: Option<(&Path, usize, f64)>,
) -> DefaceBench {
    let mut bench = DefaceBench {
        version: Command::new(deface)
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()),
        ..DefaceBench::default()
    };
    match time(deface, photo, &dir.join("deface-photo.jpg")) {
        Ok(s) => {
            bench.photo_seconds = Some(s);
            bench.photo_ratio = Some(masque_photo_seconds / s);
        }
        Err(e) => bench.errors.push(e),
    }
    if let Some((clip, frames, masque_seconds)) = clip {
        match time(deface, clip, &dir.join("deface-clip.mp4")) {
            Ok(s) => {
                bench.video_seconds = Some(s);
                bench.video_frames_per_second = Some(frames as f64 / s);
                bench.video_ratio = Some(masque_seconds / s);
            }
            Err(e) => bench.errors.push(e),
        }
    }
    bench
}
