//! `masque mask` as a user runs it: a folder in, a folder out, the `--json` report,
//! manual regions, the review image, and refusal to write onto an input.

use std::path::Path;
use std::process::{Command, Output};

pub(super) fn masque(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_masque"))
        .args(args)
        .output()
        .expect("the binary runs")
}

pub(super) fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub(super) fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn astronaut() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../mask/tests/data/astronaut.jpg"
    ))
    .unwrap()
}

/// A JPEG with an APP1 EXIF-looking segment and a comment carrying planted strings.
fn with_planted_metadata(jpeg: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    for (marker, body) in [
        (
            0xE1u8,
            &b"Exif\0\0MM\0*\0\0\0\x08\0\0\0\0\0\0PLANTED-SERIAL"[..],
        ),
        (0xFE, b"PLANTED-COMMENT"),
    ] {
        out.extend_from_slice(&[0xFF, marker]);
        out.extend_from_slice(&u16::try_from(body.len() + 2).unwrap().to_be_bytes());
        out.extend_from_slice(body);
    }
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn a_folder_is_masked_into_another_with_a_json_report() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    std::fs::create_dir_all(photos.join("day2")).unwrap();
    let original = with_planted_metadata(&astronaut());
    std::fs::write(photos.join("a.jpg"), &original).unwrap();
    std::fs::write(photos.join("day2/b.JPG"), astronaut()).unwrap();
    std::fs::write(photos.join("notes.txt"), b"not a photo").unwrap();
    std::fs::write(photos.join("broken.png"), b"\x89PNG\r\n\x1a\ntruncated").unwrap();
    let boxes = dir.path().join("boxes.json");
    std::fs::write(
        &boxes,
        br#"[{"file": "a.jpg", "x": 10, "y": 400, "width": 60, "height": 40}]"#,
    )
    .unwrap();
    let out = dir.path().join("out");

    let run = masque(&[
        "mask",
        path(&photos),
        "--out",
        path(&out),
        "--boxes",
        path(&boxes),
        "--review",
        "--json",
    ]);
    // broken.png fails (non-zero exit), the others are masked.
    assert!(!run.status.success(), "{}", text(&run));
    let report: serde_json::Value =
        serde_json::from_slice(&run.stdout).unwrap_or_else(|_| panic!("{}", text(&run)));
    assert_eq!(report["masked"], 2, "{report:#}");
    assert_eq!(report["failed"], 1);
    assert!(
        report["skipped"][0]
            .as_str()
            .unwrap()
            .ends_with("notes.txt")
    );
    let files = report["files"].as_array().unwrap();
    let a = files
        .iter()
        .find(|f| f["input"].as_str().unwrap().ends_with("a.jpg"))
        .unwrap();
    assert!(
        !a["report"]["faces"].as_array().unwrap().is_empty(),
        "{a:#}"
    );
    assert!(a["report"]["faces"][0]["score"].as_f64().unwrap() > 0.5);
    assert_eq!(a["report"]["manual_regions"].as_array().unwrap().len(), 1);
    let removed = a["report"]["metadata_removed"].to_string();
    assert!(
        removed.contains("EXIF") && removed.contains("comment"),
        "{removed}"
    );
    let broken = files
        .iter()
        .find(|f| f["input"].as_str().unwrap().ends_with("broken.png"))
        .unwrap();
    assert!(
        broken["error"].as_str().unwrap().contains("truncated"),
        "{broken:#}"
    );

    let masked_a = std::fs::read(out.join("photos/a.jpg")).unwrap();
    assert!(!masked_a.windows(14).any(|w| w == b"PLANTED-SERIAL"));
    assert!(!masked_a.windows(15).any(|w| w == b"PLANTED-COMMENT"));
    assert!(out.join("photos/day2/b.JPG").is_file());
    assert!(out.join("photos/a.jpg.review.png").is_file());
    assert!(
        !out.join("photos/broken.png").exists(),
        "no output for a failed file"
    );
    // The inputs are untouched.
    assert_eq!(std::fs::read(photos.join("a.jpg")).unwrap(), original);
    // The masked face is gone: around its centre one flat colour (give or take JPEG
    // noise) where the original shows eyes and nose.
    let spread = |img: &image::RgbImage| -> u8 {
        let patch: Vec<[u8; 3]> = (0..15 * 15)
            .map(|i| img.get_pixel(218 + i % 15, 113 + i / 15).0)
            .collect();
        (0..3)
            .map(|c| {
                let values = patch.iter().map(|p| p[c]);
                values.clone().max().unwrap() - values.min().unwrap()
            })
            .max()
            .unwrap()
    };
    let img = image::load_from_memory(&masked_a).unwrap().into_rgb8();
    let before = image::load_from_memory(&original).unwrap().into_rgb8();
    assert!(
        spread(&img) <= 16 && spread(&before) > 40,
        "{} {}",
        spread(&img),
        spread(&before)
    );
}

#[test]
fn writing_onto_an_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("a.jpg");
    std::fs::write(&photo, astronaut()).unwrap();
    // --out is the photo's own folder: the output would replace the input.
    let run = masque(&["mask", path(&photo), "--out", path(dir.path())]);
    assert!(!run.status.success());
    assert!(text(&run).contains("onto the input"), "{}", text(&run));
    assert_eq!(std::fs::read(&photo).unwrap(), astronaut());
    // --out inside an input folder.
    let run = masque(&[
        "mask",
        path(dir.path()),
        "--out",
        path(&dir.path().join("masked")),
    ]);
    assert!(!run.status.success());
    assert!(
        text(&run).contains("inside the input folder"),
        "{}",
        text(&run)
    );
    assert!(!dir.path().join("masked").exists());
}

/// An error is its message, without the library backtrace `RUST_BACKTRACE=1` would add
/// (it also made every network plan three times slower to build: tract's optimiser makes
/// thousands of errors); `RUST_LIB_BACKTRACE=1` still asks for it.
#[test]
fn errors_carry_no_library_backtrace_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("a.jpg");
    std::fs::write(&photo, astronaut()).unwrap();
    let out = dir.path().join("out");
    let args = [
        "mask",
        path(&photo),
        "--out",
        path(&out),
        "--threshold",
        "7",
    ];
    let run = |lib: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_masque"));
        command.args(args).env("RUST_BACKTRACE", "1");
        match lib {
            Some(value) => command.env("RUST_LIB_BACKTRACE", value),
            None => command.env_remove("RUST_LIB_BACKTRACE"),
        };
        command.output().expect("the binary runs")
    };
    let quiet = run(None);
    assert!(!quiet.status.success());
    assert!(text(&quiet).contains("--threshold"), "{}", text(&quiet));
    assert!(!text(&quiet).contains("backtrace"), "{}", text(&quiet));
    let asked = run(Some("1"));
    assert!(text(&asked).contains("Stack backtrace"), "{}", text(&asked));
}

#[test]
fn a_bad_threshold_or_regions_file_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("a.jpg");
    std::fs::write(&photo, astronaut()).unwrap();
    let out = dir.path().join("out");
    let run = masque(&[
        "mask",
        path(&photo),
        "--out",
        path(&out),
        "--threshold",
        "1.5",
    ]);
    assert!(!run.status.success());
    assert!(text(&run).contains("--threshold"), "{}", text(&run));
    let boxes = dir.path().join("boxes.json");
    std::fs::write(&boxes, b"[{\"x\": 1}]").unwrap();
    let run = masque(&[
        "mask",
        path(&photo),
        "--out",
        path(&out),
        "--boxes",
        path(&boxes),
    ]);
    assert!(!run.status.success());
    assert!(text(&run).contains("regions file"), "{}", text(&run));
    assert!(!out.exists());
}

#[test]
fn bench_mask_reports_its_figures_as_json() {
    // A tiny photo, one run, no 1080p frame: the figures' shape, not their values.
    let out = masque(&[
        "bench", "mask", "--width", "320", "--height", "240", "--runs", "1", "--frames", "0",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["width"], 320);
    assert_eq!(v["height"], 240);
    assert_eq!(v["seconds"].as_array().unwrap().len(), 1);
    assert!(v["seconds_per_image_median"].as_f64().unwrap() > 0.0);
    // At least the first pass: the whole photo on one 320 x 256 input.
    assert!(v["network_megapixels_per_image"][0].as_f64().unwrap() >= 0.08);
    assert!(v["faces_planted"].as_u64().unwrap() >= 1);
    // The photo says which way is up, so `auto` tries no turn.
    assert_eq!(v["rotations"], serde_json::json!([0]));
    assert!(v["frames_per_second_1080p"].is_null());
    let bad = masque(&["bench", "mask", "--width", "8", "--json"]);
    assert!(!bad.status.success());
    assert!(text(&bad).contains("at least 16 pixels"), "{}", text(&bad));
}
