//! `masque mask` on videos as a user runs it, through Debian's ffmpeg: faces covered in
//! every frame (checked again by the detector, as an adversary would), the cover held
//! over a frame where the detector saw nothing, no metadata or sound left unless asked
//! for, and damaged input refused with nothing written.
//!
//! Needs `ffmpeg` and `ffprobe` on PATH (`apt-get install ffmpeg`; CI installs them with
//! `.ci/setup-ffmpeg.sh`).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use image::RgbImage;
use masque_mask::{DEFAULT_THRESHOLD, Detector};

use super::mask_cli::{masque, path, text};

const SIDE: u32 = 320;
const FRAMES: u32 = 6;
/// The frame replaced by a plain grey picture: the detector finds nothing there.
const BLANK: u32 = 3;
const PLANTED: [&str; 4] = [
    "PLANTED-TITLE",
    "PLANTED-COMMENT",
    "+48.8577+002.2950",
    "PLANTED-AUDIO",
];

fn ffmpeg() -> Command {
    let probe = Command::new("ffmpeg").arg("-version").output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "these tests need ffmpeg on PATH: apt-get install ffmpeg (CI runs .ci/setup-ffmpeg.sh)"
    );
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-nostdin", "-v", "error", "-y"]);
    cmd
}

/// Copies the streams of `input` into `output` unchanged but for `options`.
fn remux(input: &Path, options: &[&str], output: &Path) {
    let out = ffmpeg()
        .arg("-i")
        .arg(input)
        .args(["-c", "copy"])
        .args(options)
        .arg(output)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

/// The test frames: the astronaut's face panning right, one frame plain grey.
fn frames() -> Vec<RgbImage> {
    let photo = image::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../mask/tests/data/astronaut.jpg"
    ))
    .unwrap()
    .into_rgb8();
    let photo = image::imageops::resize(&photo, 400, 400, image::imageops::FilterType::Triangle);
    (0..FRAMES)
        .map(|k| {
            if k == BLANK {
                RgbImage::from_pixel(SIDE, SIDE, image::Rgb([128, 128, 128]))
            } else {
                image::imageops::crop_imm(&photo, 10 * k, 20, SIDE, SIDE).to_image()
            }
        })
        .collect()
}

/// Writes the frames as a video with a tone and planted metadata (`mov` or `webm`).
fn write_video(file: &Path) {
    let mov = file.extension().is_some_and(|e| e == "mov");
    let mut cmd = ffmpeg();
    cmd.args([
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "320x320", "-r", "8",
    ])
    .args([
        "-i",
        "pipe:0",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=1",
    ])
    .args(["-map", "0:v", "-map", "1:a", "-shortest"])
    .args([
        "-metadata",
        "title=PLANTED-TITLE",
        "-metadata",
        "comment=PLANTED-COMMENT",
    ])
    .args(["-metadata", "location=+48.8577+002.2950/"])
    .args(["-metadata:s:a:0", "title=PLANTED-AUDIO"]);
    if mov {
        cmd.args(["-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p"])
            .args(["-c:a", "aac", "-movflags", "use_metadata_tags"]);
    } else {
        cmd.args(["-c:v", "libvpx-vp9", "-crf", "20", "-b:v", "0"])
            .args(["-deadline", "realtime", "-c:a", "libopus"]);
    }
    let mut child = cmd
        .arg(file)
        .stdin(Stdio::piped())
        .spawn()
        .expect("ffmpeg runs");
    let mut stdin = child.stdin.take().unwrap();
    for frame in frames() {
        stdin.write_all(frame.as_raw()).unwrap();
    }
    drop(stdin);
    assert!(child.wait().unwrap().success(), "ffmpeg wrote {file:?}");
    let bytes = std::fs::read(file).unwrap();
    let planted = PLANTED.iter().filter(|s| contains(&bytes, s)).count();
    assert!(planted >= 3, "the test video carries its planted metadata");
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The codec types of a file's streams, in order.
fn streams(file: &Path) -> Vec<String> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type",
            "-of",
            "csv=p=0",
        ])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The decoded frames of a file whose frames are SIDE x SIDE.
fn decode(file: &Path) -> Vec<RgbImage> {
    decode_sized(file, SIDE, SIDE)
}

/// The decoded frames of a file whose frames are `w` x `h`.
fn decode_sized(file: &Path, w: u32, h: u32) -> Vec<RgbImage> {
    let out = ffmpeg()
        .arg("-i")
        .arg(file)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    out.stdout
        .chunks_exact((w * h * 3) as usize)
        .map(|c| RgbImage::from_raw(w, h, c.to_vec()).unwrap())
        .collect()
}

/// Every file under `dir` (none if it does not exist).
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn black_pixels(frame: &RgbImage) -> usize {
    frame
        .pixels()
        .filter(|p| p.0.iter().all(|&c| c < 24))
        .count()
}

/// Writes the test video as `name` in a new temporary folder and masks it into `out`
/// there with `options`, which must succeed; returns the folder and masque's output.
fn mask_test_video(name: &str, options: &[&str]) -> (tempfile::TempDir, std::process::Output) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join(name);
    write_video(&input);
    let out_dir = dir.path().join("out");
    let mut args = vec!["mask", path(&input), "--out", path(&out_dir)];
    args.extend_from_slice(options);
    let out = masque(&args);
    assert!(out.status.success(), "{}", text(&out));
    (dir, out)
}

#[test]
fn a_video_is_masked_in_every_frame_without_its_metadata_or_sound() {
    // Black covers, so the held cover shows on the grey frame (the default fill takes
    // the colour around a region: grey there).
    let (dir, out) = mask_test_video("march.mov", &["--json", "--style", "black"]);
    let out_dir = dir.path().join("out");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let video = &report["files"][0]["video"];
    assert_eq!(video["container"], "mov");
    assert_eq!(video["frames"], FRAMES);
    assert_eq!(video["audio"], "dropped");
    let per_frame: Vec<u64> = video["faces_per_frame"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    for (k, &n) in per_frame.iter().enumerate() {
        if k as u32 == BLANK {
            assert_eq!(n, 0, "the grey frame has no face");
        } else {
            assert!(n >= 1, "frame {k}: the face is found ({per_frame:?})");
        }
    }
    assert!(
        video["tracked_boxes"].as_u64().unwrap() >= 1,
        "the grey frame gets the held cover: {video}"
    );
    let removed = video["metadata_removed"].to_string();
    assert!(
        removed.contains("title") && removed.contains("location"),
        "{removed}"
    );

    let output = out_dir.join("march.mov");
    let bytes = std::fs::read(&output).unwrap();
    for planted in PLANTED {
        assert!(!contains(&bytes, planted), "{planted} survived");
    }
    assert_eq!(streams(&output), ["video"], "the sound is dropped");
    let masked = decode(&output);
    assert_eq!(masked.len(), FRAMES as usize);
    // The held cover lies over the grey frame too (a grey frame has no black pixel).
    assert!(black_pixels(&masked[BLANK as usize]) > 2000);
    // The adversary's check: the same detector finds no face in any output frame.
    let detector = Detector::new().unwrap();
    for (k, frame) in masked.iter().enumerate() {
        let faces = detector.detect(frame, DEFAULT_THRESHOLD).unwrap();
        assert!(faces.is_empty(), "frame {k}: {faces:?}");
    }
    let names: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["march.mov"], "no temporary file is left behind");
}

#[test]
fn a_video_review_shows_a_frame_beside_its_masked_copy() {
    // The default fill: covers in the colour around them.
    let (dir, _) = mask_test_video("march.mp4", &["--review"]);
    let review = image::open(dir.path().join("out").join("march.mp4.review.png"))
        .unwrap()
        .into_rgb8();
    assert_eq!(review.height(), SIDE);
    assert!(review.width() > 2 * SIDE, "{}", review.width());
    // The original on the left (boxes drawn, nothing covered), the masked frame on the
    // right: the face replaced by a flat colour, so thousands of pixels differ.
    let half = |x: u32| image::imageops::crop_imm(&review, x, 0, SIDE, SIDE).to_image();
    let (left, right) = (half(0), half(review.width() - SIDE));
    let far = |l: &image::Rgb<u8>, r: &image::Rgb<u8>| {
        l.0.iter().zip(r.0).any(|(&a, b)| a.abs_diff(b) > 40)
    };
    let changed = left
        .pixels()
        .zip(right.pixels())
        .filter(|(l, r)| far(l, r))
        .count();
    assert!(changed > 2000, "{changed}");
    // The adversary's check on the default fill: no face in any output frame.
    let detector = Detector::new().unwrap();
    for (k, frame) in decode(&dir.path().join("out").join("march.mp4"))
        .iter()
        .enumerate()
    {
        let faces = detector.detect(frame, DEFAULT_THRESHOLD).unwrap();
        assert!(faces.is_empty(), "frame {k}: {faces:?}");
    }
}

#[test]
fn keep_audio_keeps_the_sound_but_not_its_metadata() {
    // Without a hold: every frame only its own detections.
    let options = ["--keep-audio", "--hold", "0", "--json", "--style", "black"];
    let (dir, out) = mask_test_video("clip.webm", &options);
    let out_dir = dir.path().join("out");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let video = &report["files"][0]["video"];
    assert_eq!(video["container"], "webm");
    assert_eq!(video["audio"], "kept");
    assert_eq!(video["tracked_boxes"], 0);
    let output = out_dir.join("clip.webm");
    assert_eq!(streams(&output), ["video", "audio"]);
    let bytes = std::fs::read(&output).unwrap();
    for planted in PLANTED {
        assert!(!contains(&bytes, planted), "{planted} survived");
    }
    let masked = decode(&output);
    assert_eq!(
        black_pixels(&masked[BLANK as usize]),
        0,
        "no hold, no cover"
    );
}

#[test]
fn a_video_with_a_display_rotation_comes_out_upright() {
    let dir = tempfile::tempdir().unwrap();
    // The first three frames, cropped to 320 x 240 and stored turned a quarter clockwise,
    // with the display matrix that turns them back (ffmpeg's `rotate=90` tag), as a phone
    // held upright writes them; ffmpeg itself shows this file upright.
    let upright: Vec<RgbImage> = frames()
        .into_iter()
        .take(3)
        .map(|f| image::imageops::crop_imm(&f, 0, 0, SIDE, 240).to_image())
        .collect();
    let stored = dir.path().join("stored.mp4");
    let mut child = ffmpeg()
        .args([
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "240x320", "-r", "8",
        ])
        .args([
            "-i", "pipe:0", "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p",
        ])
        .arg(&stored)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for f in &upright {
        stdin
            .write_all(image::imageops::rotate90(f).as_raw())
            .unwrap();
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
    let input = dir.path().join("phone.mp4");
    remux(&stored, &["-metadata:s:v:0", "rotate=90"], &input);

    let out_dir = dir.path().join("out");
    let out = masque(&["mask", path(&input), "--out", path(&out_dir), "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let video = &report["files"][0]["video"];
    assert_eq!(
        (&video["width"], &video["height"]),
        (&SIDE.into(), &240.into())
    );
    assert!(
        video["metadata_removed"].to_string().contains("rotation"),
        "{video}"
    );
    let per_frame = video["faces_per_frame"].as_array().unwrap();
    assert!(per_frame.iter().all(|n| n.as_u64() >= Some(1)), "{video}");
    // The right way up, not upside down: the output is close to the upright frames.
    let output = out_dir.join("phone.mp4");
    let masked = decode_sized(&output, SIDE, 240);
    assert_eq!(masked.len(), upright.len());
    let distance = |a: &RgbImage, b: &RgbImage| -> u64 {
        a.as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(&x, &y)| u64::from(x.abs_diff(y)))
            .sum()
    };
    for (m, u) in masked.iter().zip(&upright) {
        let upside_down = image::imageops::rotate180(u);
        assert!(distance(m, u) * 2 < distance(m, &upside_down));
    }
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .args([
            "stream=width,height:stream_side_data=rotation",
            "-of",
            "json",
        ])
        .arg(&output)
        .output()
        .unwrap();
    let probe: serde_json::Value = serde_json::from_slice(&probe.stdout).unwrap();
    let stream = &probe["streams"][0];
    assert_eq!(
        (&stream["width"], &stream["height"]),
        (&SIDE.into(), &240.into())
    );
    assert!(
        stream.get("side_data_list").is_none(),
        "no rotation left: {stream}"
    );
}

#[test]
fn a_damaged_video_or_a_missing_ffmpeg_gives_a_clear_error_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("whole.mov");
    write_video(&input);
    let webm = dir.path().join("whole.webm");
    write_video(&webm);
    // MOV with its index at the end (cut: no index), MOV with the index first (cut: the
    // frames end midway), WebM (cut: clusters end midway), and ISO media of garbage.
    let faststart = dir.path().join("faststart.mov");
    remux(&input, &["-movflags", "+faststart"], &faststart);
    let damaged = dir.path().join("damaged");
    std::fs::create_dir(&damaged).unwrap();
    for (source, name) in [
        (&input, "cut.mov"),
        (&faststart, "cut-faststart.mov"),
        (&webm, "cut.webm"),
    ] {
        let bytes = std::fs::read(source).unwrap();
        std::fs::write(damaged.join(name), &bytes[..bytes.len() * 6 / 10]).unwrap();
    }
    let mut garbage = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2".to_vec();
    garbage.extend((0..4000u32).map(|i| (i * 7919 % 251) as u8));
    std::fs::write(damaged.join("garbage.mp4"), garbage).unwrap();
    let out_dir = dir.path().join("out");
    let out = masque(&["mask", path(&damaged), "--out", path(&out_dir), "--json"]);
    assert!(!out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["failed"], 4, "{report}");
    for file in report["files"].as_array().unwrap() {
        let error = file["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("the video could not be masked")
                && error.contains("No output was written"),
            "{file}"
        );
    }
    let mut left = Vec::new();
    for entry in walk(&out_dir) {
        left.push(entry);
    }
    assert!(left.is_empty(), "nothing written: {left:?}");

    let empty_path = dir.path().join("bin");
    std::fs::create_dir(&empty_path).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_masque"))
        .args(["mask", path(&input), "--out", path(&out_dir)])
        .env("PATH", &empty_path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = text(&out);
    assert!(said.contains("apt-get install ffmpeg"), "{said}");
    assert!(!out_dir.join("whole.mov").exists());
}
