//! `masque bench mask`: how fast `masque mask` masks a 12-megapixel photo, a 1080p frame
//! and a 1080p clip, its peak memory, and the same photo and clip through deface. The measurement itself is
//! `masque_mask::bench` (a generated photo from the vendored test photos, masked in this
//! process exactly as `masque mask` does); this prints it.

use clap::Args;
use masque_mask::bench::{BenchOptions, run as measure};

use crate::mask::RotationsArg;

/// Arguments of `masque bench mask`.
#[derive(Args)]
pub struct BenchMaskArgs {
    /// Width of the generated photo, in pixels (4000 x 3000 is 12 megapixels).
    #[arg(long, default_value_t = 4000)]
    width: u32,
    /// Height of the generated photo.
    #[arg(long, default_value_t = 3000)]
    height: u32,
    /// Times the photo is masked (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// 1920 x 1080 frames masked after the photos, without decoding or encoding (0: none).
    #[arg(long, default_value_t = 3)]
    frames: usize,
    /// Turns tried, as `masque mask --rotations`; the photo has an orientation tag, so
    /// `auto` tries none (`all` measures the cost of the turns).
    #[arg(long, value_enum, default_value_t = RotationsArg::Auto)]
    rotations: RotationsArg,
    /// Frames of a generated 1920 x 1080 MP4 clip masked file to file through ffmpeg, as
    /// `masque mask` masks a video (0: none; needs ffmpeg).
    #[arg(long, default_value_t = 0)]
    video_frames: usize,
    /// deface's executable (`pip install deface`): it masks the same photo and clip in
    /// this run, and the ratios are printed.
    #[arg(long)]
    deface: Option<std::path::PathBuf>,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the benchmark.
pub fn run(a: BenchMaskArgs) -> anyhow::Result<()> {
    let r = measure(&BenchOptions {
        width: a.width,
        height: a.height,
        runs: a.runs,
        frames: a.frames,
        rotations: a.rotations.rotations(),
        video_frames: a.video_frames,
        deface: a.deface.clone(),
    })?;
    if a.json {
        return crate::output::print_json(&r);
    }
    println!(
        "masque bench mask: {} x {} JPEG ({:.1} MP), {} run(s), {} thread(s)",
        r.width,
        r.height,
        r.megapixels,
        r.seconds.len(),
        r.threads
    );
    println!(
        "  {:.2} s per image (median), {:.3} images/s; network input per image {} MP; turns {:?}",
        r.seconds_per_image_median,
        r.images_per_second,
        megapixels(&r.network_megapixels_per_image),
        r.rotations
    );
    println!(
        "  {} of {} planted faces found ({} detections covered)",
        r.faces_found, r.faces_planted, r.detections
    );
    match r.peak_memory_mib {
        Some(mib) => println!(
            "  peak memory {mib} MiB (model loaded in {:.2} s)",
            r.model_load_seconds
        ),
        None => println!("  peak memory not available on this system"),
    }
    if let (Some(s), Some(fps)) = (r.seconds_per_1080p_frame_median, r.frames_per_second_1080p) {
        println!(
            "  1920 x 1080 frame: {s:.2} s (median of {}), {fps:.2} frames/s, network input {:.1} MP",
            r.frames_1080p, r.network_megapixels_per_1080p_frame
        );
    }
    println!(
        "  network plans built for other input sizes: {} for the photos, {} for the frames",
        r.plans_built.0, r.plans_built.1
    );
    if let Some(v) = &r.video {
        println!(
            "  {} x {} clip, {} frames, file to file: {:.1} s, {:.3} frames/s ({} faces, {} tracked boxes)",
            v.width, v.height, v.frames, v.seconds, v.frames_per_second, v.faces, v.tracked_boxes
        );
    }
    if let Some(d) = &r.deface {
        println!(
            "  deface {}: photo {} s (masque/deface {}), clip {} s (masque/deface {})",
            d.version.as_deref().unwrap_or("(version unknown)"),
            fmt(d.photo_seconds),
            fmt(d.photo_ratio),
            fmt(d.video_seconds),
            fmt(d.video_ratio)
        );
        for e in &d.errors {
            println!("  deface: {e}");
        }
    }
    println!("  detector: {}", r.detector);
    Ok(())
}

fn fmt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.2}"))
}

/// Megapixels, one decimal each: "26.4, 26.4".
fn megapixels(values: &[f64]) -> String {
    let shown: Vec<String> = values.iter().map(|v| format!("{v:.1}")).collect();
    shown.join(", ")
}
