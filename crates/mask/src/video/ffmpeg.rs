//! Driving Debian's `ffmpeg` and `ffprobe` over pipes: the probe, a decoder that hands out
//! upright RGB frames, an encoder that takes them back.
//!
//! Nothing is downloaded: the programs are looked up on `PATH` (Debian: `apt-get install
//! ffmpeg`), and their absence is a clear error. Only raw pixels cross the pipes, so the
//! encoder's input carries no metadata at all; the one other input it may be given (the
//! original file, for `--keep-audio`) has its metadata and chapters mapped away.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};

use crate::MaskError;

/// The largest frame masque mask takes from a video, in pixels (8K UHD is 33.2 million):
/// the frames waiting for the tracker are held in memory.
pub const MAX_VIDEO_PIXELS: u64 = 36_000_000;

/// How much of a program's error output is kept for the error message.
const STDERR_TAIL: usize = 2000;

/// The containers masque mask writes (each the same as its input's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Container {
    /// MP4, with H.264 video and AAC audio.
    Mp4,
    /// QuickTime MOV, with H.264 video and AAC audio.
    Mov,
    /// WebM (also for a `.mkv` input), with VP9 video and Opus audio.
    Webm,
}

impl Container {
    /// The container of a probed file: ffprobe's format name, with the file's extension
    /// telling MP4 from MOV (one demuxer reads both).
    pub fn recognise(format_name: &str, extension: Option<&str>) -> Option<Container> {
        let ext = extension.map(str::to_ascii_lowercase);
        if format_name.split(',').any(|f| f == "mov" || f == "mp4") {
            Some(if ext.as_deref() == Some("mov") {
                Container::Mov
            } else {
                Container::Mp4
            })
        } else if format_name
            .split(',')
            .any(|f| f == "matroska" || f == "webm")
        {
            Some(Container::Webm)
        } else {
            None
        }
    }

    /// ffmpeg's muxer name.
    fn muxer(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::Mov => "mov",
            Container::Webm => "webm",
        }
    }

    /// The encoder arguments for the video stream.
    fn video_codec(self) -> &'static [&'static str] {
        match self {
            // filter_units drops the SEI messages, where x264 writes its version and
            // settings.
            Container::Mp4 | Container::Mov => &[
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-crf",
                "20",
                "-bsf:v",
                "filter_units=remove_types=6",
            ],
            Container::Webm => &[
                "-c:v",
                "libvpx-vp9",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
                "-row-mt",
                "1",
                "-crf",
                "32",
                "-b:v",
                "0",
            ],
        }
    }

    /// The encoder arguments for the audio stream (re-encoded, so any codec the input had
    /// fits the container).
    fn audio_codec(self) -> &'static [&'static str] {
        match self {
            Container::Mp4 | Container::Mov => &["-c:a", "aac", "-b:a", "160k"],
            Container::Webm => &["-c:a", "libopus", "-b:a", "128k"],
        }
    }
}

/// What ffprobe says about a video.
#[derive(Clone, Debug)]
pub struct Probe {
    /// ffprobe's format name (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`, ...).
    pub format_name: String,
    /// Width of the upright frames (after the rotation is applied).
    pub width: u32,
    /// Height of the upright frames.
    pub height: u32,
    /// The display rotation in the file, in degrees, applied to the frames by the decoder.
    pub rotation: Option<i32>,
    /// The frame rate as ffmpeg writes it (`30000/1001`).
    pub frame_rate: String,
    /// The same, as a number.
    pub fps: f64,
    /// The number of frames, if the container says.
    pub frames: Option<u64>,
    /// Whether the file has an audio stream.
    pub has_audio: bool,
    /// The metadata and extra streams found (none of which reaches the output).
    pub found: Vec<String>,
}

#[derive(Deserialize)]
struct ProbeJson {
    #[serde(default)]
    streams: Vec<StreamJson>,
    format: Option<FormatJson>,
    #[serde(default)]
    chapters: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct StreamJson {
    index: u32,
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    avg_frame_rate: Option<String>,
    r_frame_rate: Option<String>,
    nb_frames: Option<String>,
    #[serde(default)]
    tags: std::collections::BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    side_data_list: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct FormatJson {
    format_name: String,
    #[serde(default)]
    tags: std::collections::BTreeMap<String, serde_json::Value>,
}

/// `path` as an ffmpeg URL of the file protocol, so that no name is ever taken for another
/// protocol (`concat:`, `http:`) or an option.
fn file_url(path: &Path) -> std::ffi::OsString {
    let mut url = std::ffi::OsString::from("file:");
    url.push(path.as_os_str());
    url
}

/// `num/den` as a number, if both are positive.
fn rate(text: &str) -> Option<f64> {
    let (n, d) = text.split_once('/').unwrap_or((text, "1"));
    let (n, d): (f64, f64) = (n.trim().parse().ok()?, d.trim().parse().ok()?);
    (n > 0.0 && d > 0.0 && (n / d).is_finite()).then_some(n / d)
}

fn ffmpeg_missing(program: &str, e: &std::io::Error) -> MaskError {
    MaskError::Ffmpeg(format!(
        "cannot run {program} ({e}); video needs ffmpeg on PATH: install it (Debian or Ubuntu: apt-get install ffmpeg) and try again"
    ))
}

/// Runs ffprobe on `input`.
pub fn probe(input: &Path) -> Result<Probe, MaskError> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-of",
            "json",
            "-show_chapters",
            "-show_entries",
        ])
        .arg(
            "stream=index,codec_type,codec_name,width,height,avg_frame_rate,r_frame_rate,nb_frames:\
             stream_tags:stream_side_data=rotation:format=format_name:format_tags",
        )
        .arg(file_url(input))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| ffmpeg_missing("ffprobe", &e))?;
    if !out.status.success() {
        return Err(MaskError::Video(format!(
            "ffprobe cannot read it: {}",
            tail(&out.stderr)
        )));
    }
    let json: ProbeJson = serde_json::from_slice(&out.stdout)
        .map_err(|e| MaskError::Video(format!("ffprobe's answer was not understood: {e}")))?;
    let format = json
        .format
        .ok_or_else(|| MaskError::Video("ffprobe found no container".into()))?;
    let video = json
        .streams
        .iter()
        .find(|s| s.codec_type.as_deref() == Some("video"))
        .ok_or_else(|| MaskError::Video("the file has no video stream".into()))?;
    let (Some(w), Some(h)) = (video.width, video.height) else {
        return Err(MaskError::Video(
            "the video stream has no frame size".into(),
        ));
    };
    if w == 0 || h == 0 {
        return Err(MaskError::Video(format!("the frames are {w} x {h} pixels")));
    }
    let rotation = video
        .side_data_list
        .iter()
        .find_map(|d| d.get("rotation").and_then(|r| r.as_f64()))
        .map(|r| r.round() as i32)
        .filter(|&r| r != 0);
    let sideways = rotation.is_some_and(|r| r.rem_euclid(180) == 90);
    let (width, height) = if sideways { (h, w) } else { (w, h) };
    if u64::from(width) * u64::from(height) > MAX_VIDEO_PIXELS {
        return Err(MaskError::TooLarge {
            width,
            height,
            limit: MAX_VIDEO_PIXELS / 1_000_000,
        });
    }
    let (frame_rate, fps) = [&video.avg_frame_rate, &video.r_frame_rate]
        .into_iter()
        .flatten()
        .find_map(|r| rate(r).map(|fps| (r.clone(), fps)))
        .ok_or_else(|| MaskError::Video("the video stream has no frame rate".into()))?;
    let mut found = Vec::new();
    for key in format.tags.keys() {
        found.push(format!("container tag {key}"));
    }
    if !json.chapters.is_empty() {
        found.push(format!("{} chapter(s)", json.chapters.len()));
    }
    if let Some(r) = rotation {
        found.push(format!("display rotation {r} (applied to the pixels)"));
    }
    let mut has_audio = false;
    for s in &json.streams {
        let kind = s.codec_type.as_deref().unwrap_or("unknown");
        let codec = s.codec_name.as_deref().unwrap_or("unknown codec");
        has_audio |= kind == "audio";
        if s.index != video.index && kind != "audio" {
            found.push(format!("stream {} ({kind}, {codec}): dropped", s.index));
        }
        for key in s.tags.keys() {
            found.push(format!("stream {} ({kind}) tag {key}", s.index));
        }
    }
    Ok(Probe {
        format_name: format.format_name,
        width,
        height,
        rotation,
        frame_rate,
        fps,
        frames: video.nb_frames.as_deref().and_then(|n| n.parse().ok()),
        has_audio,
        found,
    })
}

/// The last [`STDERR_TAIL`] bytes of a program's error output, as one line.
fn tail(stderr: &[u8]) -> String {
    let start = stderr.len().saturating_sub(STDERR_TAIL);
    let text = String::from_utf8_lossy(&stderr[start..]);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        "no message".into()
    } else {
        text
    }
}

/// Reads a child's error output on a thread (so a chatty child never blocks on a full
/// pipe) and keeps its end.
fn drain(child: &mut Child) -> Option<JoinHandle<Vec<u8>>> {
    let mut stderr = child.stderr.take()?;
    Some(std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            kept.extend_from_slice(&buf[..n]);
            if kept.len() > 4 * STDERR_TAIL {
                kept.drain(..kept.len() - STDERR_TAIL);
            }
        }
        kept
    }))
}

/// Waits for a child and turns a failure into an error naming `what` it was doing.
fn finish(
    child: &mut Child,
    stderr: Option<JoinHandle<Vec<u8>>>,
    what: &str,
) -> Result<(), MaskError> {
    let status = child
        .wait()
        .map_err(|e| MaskError::Video(format!("{what}: {e}")))?;
    let stderr = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
    if status.success() {
        Ok(())
    } else {
        Err(MaskError::Video(format!(
            "{what} failed ({status}): {}",
            tail(&stderr)
        )))
    }
}

/// ffmpeg decoding the first video stream of a file into upright RGB frames.
pub struct Decoder {
    child: Child,
    stdout: Option<ChildStdout>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    frame_bytes: usize,
}

impl Decoder {
    /// Starts decoding `input`, whose frames are `width` x `height` once upright.
    pub fn start(input: &Path, width: u32, height: u32) -> Result<Decoder, MaskError> {
        let mut child = Command::new("ffmpeg")
            .args(["-hide_banner", "-nostdin", "-v", "error", "-xerror", "-i"])
            .arg(file_url(input))
            .args(["-map", "0:v:0", "-an", "-sn", "-dn"])
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| ffmpeg_missing("ffmpeg", &e))?;
        let stderr = drain(&mut child);
        let stdout = child.stdout.take();
        Ok(Decoder {
            child,
            stdout,
            stderr,
            frame_bytes: width as usize * height as usize * 3,
        })
    }

    /// The next frame's RGB bytes, or `None` at the end of the video.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, MaskError> {
        let stdout = self
            .stdout
            .as_mut()
            .ok_or_else(|| MaskError::Video("the decoder's output is closed".into()))?;
        let mut frame = vec![0u8; self.frame_bytes];
        let mut filled = 0;
        while filled < frame.len() {
            match stdout.read(&mut frame[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(MaskError::Video(format!("reading decoded frames: {e}"))),
            }
        }
        match filled {
            0 => Ok(None),
            n if n == frame.len() => Ok(Some(frame)),
            n => Err(MaskError::Video(format!(
                "the decoder stopped inside a frame ({n} of {} bytes)",
                frame.len()
            ))),
        }
    }

    /// Waits for ffmpeg; an error if it reported one (a damaged or truncated file).
    pub fn finish(mut self) -> Result<(), MaskError> {
        self.stdout = None;
        finish(&mut self.child, self.stderr.take(), "decoding the video")
    }
}

/// ffmpeg encoding RGB frames into the output file.
pub struct Encoder {
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Option<JoinHandle<Vec<u8>>>,
}

/// What the encoder writes besides the frames.
pub struct EncoderSettings<'a> {
    /// The container (its codecs follow).
    pub container: Container,
    /// Frame size.
    pub width: u32,
    /// Frame size.
    pub height: u32,
    /// The frame rate, as ffmpeg writes it.
    pub frame_rate: &'a str,
    /// The original file, whose first audio stream is re-encoded into the output (its
    /// metadata is not copied); `None` drops the audio.
    pub audio_from: Option<&'a Path>,
}

impl Encoder {
    /// Starts writing `output` (overwritten if it exists).
    pub fn start(output: &Path, settings: &EncoderSettings) -> Result<Encoder, MaskError> {
        let mut cmd = Command::new("ffmpeg");
        cmd.args(["-hide_banner", "-nostdin", "-v", "error", "-y"])
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s"])
            .arg(format!("{}x{}", settings.width, settings.height))
            .args(["-r", settings.frame_rate, "-i", "pipe:0"]);
        if let Some(original) = settings.audio_from {
            cmd.arg("-i").arg(file_url(original));
        }
        cmd.args(["-map", "0:v:0"]);
        if settings.audio_from.is_some() {
            cmd.args(["-map", "1:a:0"]);
            cmd.args(settings.container.audio_codec());
        }
        // 4:2:0 needs even sides: one black row or column is added where one is odd.
        cmd.args([
            "-vf",
            "pad=ceil(iw/2)*2:ceil(ih/2)*2",
            "-pix_fmt",
            "yuv420p",
        ])
        .args(settings.container.video_codec())
        // No metadata of any input (global, per stream, chapters), no encoder names.
        .args(["-map_metadata", "-1", "-map_metadata:s", "-1"])
        .args(["-map_chapters", "-1", "-fflags", "+bitexact"])
        .args(["-flags:v", "+bitexact", "-flags:a", "+bitexact"])
        .args(["-f", settings.container.muxer()])
        .arg(file_url(output))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| ffmpeg_missing("ffmpeg", &e))?;
        let stderr = drain(&mut child);
        let stdin = child.stdin.take();
        Ok(Encoder {
            child,
            stdin,
            stderr,
        })
    }

    /// Sends one frame's RGB bytes.
    pub fn write_frame(&mut self, rgb: &[u8]) -> Result<(), MaskError> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| MaskError::Video("the encoder's input is closed".into()))?;
        if let Err(e) = stdin.write_all(rgb) {
            // The encoder died: its own message says why.
            self.stdin = None;
            let why = finish_child(&mut self.child, self.stderr.take());
            return Err(MaskError::Video(format!(
                "the encoder stopped taking frames ({e}): {why}"
            )));
        }
        Ok(())
    }

    /// Closes the input and waits for the file to be written.
    pub fn finish(mut self) -> Result<(), MaskError> {
        drop(self.stdin.take());
        finish(&mut self.child, self.stderr.take(), "encoding the video")
    }
}

/// Waits for a child that failed and returns its message.
fn finish_child(child: &mut Child, stderr: Option<JoinHandle<Vec<u8>>>) -> String {
    let _ = child.wait();
    tail(&stderr.and_then(|h| h.join().ok()).unwrap_or_default())
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // Abandoned midway (an error elsewhere): stop ffmpeg rather than leave it blocked.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_are_recognised_from_ffprobes_names() {
        let mov = "mov,mp4,m4a,3gp,3g2,mj2";
        assert_eq!(Container::recognise(mov, Some("MP4")), Some(Container::Mp4));
        assert_eq!(Container::recognise(mov, Some("mov")), Some(Container::Mov));
        assert_eq!(Container::recognise(mov, None), Some(Container::Mp4));
        assert_eq!(
            Container::recognise("matroska,webm", Some("mkv")),
            Some(Container::Webm)
        );
        assert_eq!(Container::recognise("avi", Some("avi")), None);
    }

    #[test]
    fn frame_rates_are_read_as_fractions() {
        assert_eq!(rate("30/1"), Some(30.0));
        assert!((rate("30000/1001").unwrap() - 29.97).abs() < 0.01);
        assert_eq!(rate("25"), Some(25.0));
        assert_eq!(rate("0/0"), None);
        assert_eq!(rate("x/2"), None);
    }

    #[test]
    fn error_output_is_cut_to_its_end_on_one_line() {
        let long = format!("{}\nlast words", "a".repeat(3 * STDERR_TAIL));
        let t = tail(long.as_bytes());
        assert!(t.ends_with("last words") && t.len() <= STDERR_TAIL);
        assert_eq!(tail(b""), "no message");
    }
}
