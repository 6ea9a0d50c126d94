//! `masque mask`: copies photos with faces covered and all metadata removed.
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
use masque_files::{WriteOptions, write_atomic};
use masque_mask::{DEFAULT_THRESHOLD, Detector, ManualRegion, Options, Report, Rotations, Style};
use serde::Serialize;

use crate::output::{print_json, progress};

/// File name extensions taken from folders (files named on the command line are always
/// tried, whatever their name).
const EXTENSIONS: [&str; 7] = ["jpg", "jpeg", "png", "webp", "gif", "tif", "tiff"];

#[derive(Args)]
pub struct MaskArgs {
    /// Photos and folders of photos (JPEG, PNG, WebP, GIF, TIFF); folders are walked
    /// recursively.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Folder for the masked copies (created if needed): a file keeps its name, a folder's
    /// files keep their path under the folder's name.
    #[arg(long, short)]
    out: PathBuf,
    /// How faces are covered: `fill` (opaque, the default), `pixelate` (coarse, about 8
    /// blocks across a face) or `blur` (weaker: a blur keeps low frequencies).
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
    /// default) unless the photo has an EXIF orientation tag, `all` always, `none` never.
    /// Each turn costs as much again as the photo as it is.
    #[arg(long, value_enum, default_value_t = RotationsArg::Auto)]
    rotations: RotationsArg,
    /// Keep a standard colour profile (sRGB or Display P3, recognised by its colorimetry)
    /// as masque's own copy of that profile; any other profile is dropped. Without it
    /// every profile is dropped.
    #[arg(long)]
    keep_icc: bool,
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
    error: Option<String>,
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

fn mask_one(
    detector: &Detector,
    input: &Path,
    output: &Path,
    manual: &[ManualRegion],
    options: &Options,
) -> anyhow::Result<(Report, Option<PathBuf>)> {
    let bytes = std::fs::read(input).with_context(|| format!("cannot read {}", input.display()))?;
    let name = input
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let regions: Vec<_> = manual
        .iter()
        .filter(|r| r.applies_to(name))
        .map(ManualRegion::region)
        .collect();
    let masked = masque_mask::mask_bytes(detector, &bytes, &regions, options)?;
    if let Some(parent) = output.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    write_atomic(output, &masked.bytes, WriteOptions::REPLACE)
        .with_context(|| format!("cannot write {}", output.display()))?;
    let review = match &masked.review {
        Some(png) => {
            let path = review_path(output);
            write_atomic(&path, png, WriteOptions::REPLACE)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Some(path)
        }
        None => None,
    };
    Ok((masked.report, review))
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
        "no photos found in the inputs (looked for {})",
        EXTENSIONS.join(", ")
    );
    let style = match args.style {
        StyleArg::Fill => Style::Fill,
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
    let bar = progress(jobs.len() as u64, "photos");
    let mut files = Vec::new();
    for (input, output) in &jobs {
        let result = mask_one(&detector, input, output, &manual, &options);
        bar.inc(1);
        files.push(match result {
            Ok((report, review)) => FileResult {
                input: input.display().to_string(),
                output: Some(output.display().to_string()),
                review: review.map(|p| p.display().to_string()),
                report: Some(report),
                error: None,
            },
            Err(e) => FileResult {
                input: input.display().to_string(),
                output: None,
                review: None,
                report: None,
                error: Some(format!("{e:#}")),
            },
        });
    }
    bar.finish_and_clear();
    let failed = files.iter().filter(|f| f.error.is_some()).count();
    let summary = Summary {
        masked: files.len() - failed,
        failed,
        faces: files
            .iter()
            .filter_map(|f| f.report.as_ref())
            .map(|r| r.faces.len())
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
            println!("{s}: skipped (not a photo by its name)");
        }
        println!(
            "{} masked, {} failed, {} face(s) covered in {:.1} s",
            summary.masked, summary.failed, summary.faces, summary.seconds
        );
    }
    anyhow::ensure!(
        summary.failed == 0,
        "{} of {} photos could not be masked (see above); their outputs were not written",
        summary.failed,
        summary.files.len()
    );
    Ok(())
}
