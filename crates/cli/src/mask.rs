//! `masque mask`: copies photos and videos with faces covered and all metadata removed.
//!
//! Guarantees at this edge: no input is ever written to (outputs go under `--out`, which
//! may not be an input or lie inside an input folder, and an output path equal to an
//! input is refused before anything is written); every output is written atomically (a
//! reader sees the whole masked file or nothing); a file that fails gets no output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use indicatif::MultiProgress;
use masque_files::{Staged, WriteOptions, sync_dir, write_atomic};
use masque_mask::video::{VideoOptions, VideoReport};
use masque_mask::{DEFAULT_THRESHOLD, Detector, ManualRegion, Options, Report, Rotations, Style};
use serde::Serialize;

use crate::output::{print_json, progress};

/// File name extensions taken from folders (files named on the command line are always
/// tried, whatever their name: photo or video is told by the first bytes).
const EXTENSIONS: [&str; 12] = [
    "jpg", "jpeg", "png", "webp", "gif", "tif", "tiff", "mp4", "m4v", "mov", "webm", "mkv",
];

#[derive(Args)]
pub struct MaskArgs {
    /// Photos (JPEG, PNG, WebP, GIF, TIFF), videos (MP4, MOV, WebM; needs ffmpeg) and
    /// folders of them; folders are walked recursively.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Folder for the masked copies (created if needed): a file keeps its name, a folder's
    /// files keep their path under the folder's name.
    #[arg(long, short)]
    out: PathBuf,
    /// How faces are covered: `fill` (the default: one opaque colour, the mean of a ring
    /// just around the region), `black` (opaque black), `pixelate` (coarse, about 8 blocks
    /// across a face) or `blur` (weaker: a blur keeps low frequencies).
    #[arg(long, value_enum, default_value_t = StyleArg::Fill)]
    style: StyleArg,
    /// Detection threshold between 0 and 1: lower covers more (including false alarms),
    /// higher misses more faces.
    #[arg(long, default_value_t = DEFAULT_THRESHOLD)]
    threshold: f32,
    /// Extra regions to cover: a JSON list of {"file": "a.jpg", "x", "y", "width",
    /// "height"} in pixels of the upright photo ("file" omitted: every photo).
    #[arg(long)]
    boxes: Option<PathBuf>,
    /// Also write NAME.review.png beside each output: the original with boxes and scores
    /// next to the masked result, to check before publishing (never publish it: it shows
    /// the faces).
    #[arg(long)]
    review: bool,
    /// Also look for faces in the photo turned by 90, 180 and 270 degrees: `auto` (the
    /// default) unless the photo has an EXIF orientation tag (videos: never, their rotation
    /// is applied), `all` always, `none` never. Each turn costs as much again as the
    /// picture as it is.
    #[arg(long, value_enum, default_value_t = RotationsArg::Auto)]
    rotations: RotationsArg,
    /// Keep a standard colour profile (sRGB or Display P3, recognised by its colorimetry)
    /// as masque's own copy of that profile; any other profile is dropped. Without it
    /// every profile is dropped.
    #[arg(long)]
    keep_icc: bool,
    /// Keep a video's sound (its first audio stream, re-encoded without its metadata).
    /// Dropped by default: voices and names spoken identify people too.
    #[arg(long)]
    keep_audio: bool,
    /// In videos, how long (seconds) a face stays covered after the detector last saw it
    /// and before it first saw it, and the longest gap between two detections bridged by
    /// moving the cover from one to the other. 0 covers each frame's own detections only.
    #[arg(long, default_value_t = masque_mask::video::DEFAULT_HOLD_SECONDS)]
    hold: f32,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum RotationsArg {
    Auto,
    All,
    None,
}

impl RotationsArg {
    pub(crate) fn rotations(self) -> Rotations {
        match self {
            RotationsArg::Auto => Rotations::Auto,
            RotationsArg::All => Rotations::All,
            RotationsArg::None => Rotations::None,
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum StyleArg {
    Fill,
    Black,
    Pixelate,
    Blur,
}

#[derive(Serialize)]
struct FileResult {
    input: String,
    output: Option<String>,
    review: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<Report>,
    #[serde(skip_serializing_if = "Option::is_none")]
    video: Option<VideoReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// What masking one file gave.
enum Outcome {
    Photo(Report),
    Video(VideoReport),
}

#[derive(Serialize)]
struct Summary {
    files: Vec<FileResult>,
    masked: usize,
    failed: usize,
    skipped: Vec<String>,
    faces: usize,
    style: Style,
    threshold: f32,
    seconds: f64,
}

/// The input files and where each goes; files skipped in folders.
/// (input, output) pairs.
type Jobs = Vec<(PathBuf, PathBuf)>;

fn plan(inputs: &[PathBuf], out: &Path) -> anyhow::Result<(Jobs, Vec<String>)> {
    let out_abs = absolute(out)?;
    let mut jobs = Vec::new();
    let mut skipped = Vec::new();
    for input in inputs {
        let meta =
            std::fs::metadata(input).with_context(|| format!("cannot read {}", input.display()))?;
        let input_abs = absolute(input)?;
        if meta.is_dir() {
            anyhow::ensure!(
                !out_abs.starts_with(&input_abs),
                "--out {} is inside the input folder {}: choose an output folder outside the inputs",
                out.display(),
                input.display()
            );
            let name = input_abs
                .file_name()
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("input"));
            walk(input, &mut |file| {
                let rel = file.strip_prefix(input).unwrap_or(file);
                let ext = file
                    .extension()
                    .and_then(|e| e.to_str())
                    .map(str::to_ascii_lowercase);
                if ext.is_some_and(|e| EXTENSIONS.contains(&e.as_str())) {
                    jobs.push((file.to_path_buf(), out.join(&name).join(rel)));
                } else {
                    skipped.push(file.display().to_string());
                }
            })?;
        } else {
            let name = input
                .file_name()
                .with_context(|| format!("{} has no file name", input.display()))?;
            jobs.push((input.clone(), out.join(name)));
        }
    }
    let mut targets = BTreeMap::new();
    for (input, output) in &jobs {
        let output_abs = absolute(output)?;
        if let Some(other) = targets.insert(output_abs.clone(), input) {
            anyhow::bail!(
                "{} and {} would both be written to {}: mask them in separate runs or rename one",
                other.display(),
                input.display(),
                output.display()
            );
        }
    }
    for (input, _) in &jobs {
        let input_abs = absolute(input)?;
        anyhow::ensure!(
            !targets.contains_key(&input_abs),
            "the output for some input would be written onto the input {}: choose another --out",
            input.display()
        );
    }
    Ok((jobs, skipped))
}

/// An absolute path with symbolic links resolved as far as the path exists.
fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    let abs =
        std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))?;
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        let Some(parent) = existing.parent() else {
            break;
        };
        rest.push(existing.file_name().map(PathBuf::from).unwrap_or_default());
        existing = parent;
    }
    let mut resolved = std::fs::canonicalize(existing).unwrap_or_else(|_| existing.to_path_buf());
    for part in rest.iter().rev() {
        resolved.push(part);
    }
    Ok(resolved)
}

fn walk(dir: &Path, visit: &mut dyn FnMut(&Path)) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot list {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry
            .file_type()
            .with_context(|| format!("cannot read {}", path.display()))?;
        if kind.is_dir() {
            walk(&path, visit)?;
        } else if kind.is_file() {
            visit(&path);
        }
    }
    Ok(())
}

fn review_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(".review.png");
    output.with_file_name(name)
}

/// Everything `mask_one` needs besides the file.
struct Settings<'a> {
    detector: &'a Detector,
    manual: &'a [ManualRegion],
    options: Options,
    video: VideoOptions,
    bars: &'a MultiProgress,
}

/// The first bytes of a file, enough to tell its format.
fn head(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(32);
    std::fs::File::open(path)
        .and_then(|f| f.take(32).read_to_end(&mut head))
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(head)
}

fn mask_one(
    settings: &Settings,
    input: &Path,
    output: &Path,
) -> anyhow::Result<(Outcome, Option<PathBuf>)> {
    let name = input
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let regions: Vec<_> = settings
        .manual
        .iter()
        .filter(|r| r.applies_to(name))
        .map(ManualRegion::region)
        .collect();
    let ensure_parent = || -> anyhow::Result<()> {
        if let Some(parent) = output.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        Ok(())
    };
    let (outcome, review) = if masque_mask::video::is_video(&head(input)?) {
        // ffmpeg writes a temporary file next to the output, put in place only once whole.
        ensure_parent()?;
        let staged = Staged::reserve(output, WriteOptions::REPLACE)
            .with_context(|| format!("cannot write {}", output.display()))?;
        let frames = settings.bars.add(progress(0, "frames"));
        let masked = masque_mask::video::mask_video(
            settings.detector,
            input,
            staged.temp(),
            &regions,
            &settings.options,
            &settings.video,
            &mut |done, total| {
                if let Some(total) = total {
                    frames.set_length(total.max(done));
                }
                frames.set_position(done);
            },
        );
        frames.finish_and_clear();
        let masked = masked?;
        staged
            .commit()
            .with_context(|| format!("cannot write {}", output.display()))?;
        sync_dir(output.parent().unwrap_or(Path::new(".")))
            .with_context(|| format!("cannot write {}", output.display()))?;
        (Outcome::Video(masked.report), masked.review)
    } else {
        let bytes =
            std::fs::read(input).with_context(|| format!("cannot read {}", input.display()))?;
        let masked =
            masque_mask::mask_bytes(settings.detector, &bytes, &regions, &settings.options)?;
        ensure_parent()?;
        write_atomic(output, &masked.bytes, WriteOptions::REPLACE)
            .with_context(|| format!("cannot write {}", output.display()))?;
        (Outcome::Photo(masked.report), masked.review)
    };
    let review = match review {
        Some(png) => {
            let path = review_path(output);
            write_atomic(&path, &png, WriteOptions::REPLACE)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Some(path)
        }
        None => None,
    };
    Ok((outcome, review))
}

pub fn run(args: MaskArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.threshold.is_finite() && args.threshold > 0.0 && args.threshold < 1.0,
        "--threshold must be between 0 and 1 (exclusive), got {}",
        args.threshold
    );
    let start = Instant::now();
    let manual = match &args.boxes {
        Some(path) => masque_mask::load_regions(path)?,
        None => Vec::new(),
    };
    let (jobs, skipped) = plan(&args.inputs, &args.out)?;
    anyhow::ensure!(
        !jobs.is_empty(),
        "no photos or videos found in the inputs (looked for {})",
        EXTENSIONS.join(", ")
    );
    anyhow::ensure!(
        args.hold.is_finite() && (0.0..=10.0).contains(&args.hold),
        "--hold must be between 0 and 10 seconds, got {}",
        args.hold
    );
    let style = match args.style {
        StyleArg::Fill => Style::Fill,
        StyleArg::Black => Style::Black,
        StyleArg::Pixelate => Style::Pixelate,
        StyleArg::Blur => Style::Blur,
    };
    let options = Options {
        style,
        threshold: args.threshold,
        review: args.review,
        rotations: args.rotations.rotations(),
        keep_icc: args.keep_icc,
    };
    let detector = Detector::new()?;
    let bars = MultiProgress::new();
    let settings = Settings {
        detector: &detector,
        manual: &manual,
        options,
        video: VideoOptions {
            keep_audio: args.keep_audio,
            hold_seconds: args.hold,
        },
        bars: &bars,
    };
    let bar = bars.add(progress(jobs.len() as u64, "files"));
    let mut files = Vec::new();
    for (input, output) in &jobs {
        let result = mask_one(&settings, input, output);
        bar.inc(1);
        let mut file = FileResult {
            input: input.display().to_string(),
            output: None,
            review: None,
            report: None,
            video: None,
            error: None,
        };
        match result {
            Ok((outcome, review)) => {
                file.output = Some(output.display().to_string());
                file.review = review.map(|p| p.display().to_string());
                match outcome {
                    Outcome::Photo(report) => file.report = Some(report),
                    Outcome::Video(report) => file.video = Some(report),
                }
            }
            Err(e) => file.error = Some(format!("{e:#}")),
        }
        files.push(file);
    }
    bar.finish_and_clear();
    let failed = files.iter().filter(|f| f.error.is_some()).count();
    let summary = Summary {
        masked: files.len() - failed,
        failed,
        faces: files
            .iter()
            .map(|f| {
                f.report.as_ref().map_or(0, |r| r.faces.len())
                    + f.video.as_ref().map_or(0, |v| v.faces)
            })
            .sum(),
        files,
        skipped,
        style,
        threshold: args.threshold,
        seconds: start.elapsed().as_secs_f64(),
    };
    if args.json {
        print_json(&summary)?;
    } else {
        for f in &summary.files {
            if let Some(v) = &f.video {
                println!(
                    "{} -> {}: {} frames, {} face(s) found, {} more box(es) covered by tracking, {} manual region(s) per frame; audio {:?}; metadata removed: {}",
                    f.input,
                    f.output.as_deref().unwrap_or_default(),
                    v.frames,
                    v.faces,
                    v.tracked_boxes,
                    v.manual_regions.len(),
                    v.audio,
                    if v.metadata_removed.is_empty() {
                        "none found".to_owned()
                    } else {
                        v.metadata_removed.join("; ")
                    }
                );
                continue;
            }
            match (&f.report, &f.error) {
                (Some(r), _) => {
                    let removed = if r.metadata_removed.is_empty() {
                        "none found".to_owned()
                    } else {
                        r.metadata_removed.join("; ")
                    };
                    println!(
                        "{} -> {}: {} face(s), {} manual region(s); metadata removed: {}",
                        f.input,
                        f.output.as_deref().unwrap_or_default(),
                        r.faces.len(),
                        r.manual_regions.len(),
                        removed
                    );
                }
                (None, Some(e)) => println!("{}: FAILED, no output written: {e}", f.input),
                (None, None) => {}
            }
        }
        for s in &summary.skipped {
            println!("{s}: skipped (not a photo or video by its name)");
        }
        println!(
            "{} masked, {} failed, {} face(s) covered in {:.1} s",
            summary.masked, summary.failed, summary.faces, summary.seconds
        );
    }
    anyhow::ensure!(
        summary.failed == 0,
        "{} of {} files could not be masked (see above); their outputs were not written",
        summary.failed,
        summary.files.len()
    );
    Ok(())
}
