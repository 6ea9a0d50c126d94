//! Headless Chromium for the page tests of several crates (the aid desk's operator page,
//! the watchdog's explorer): finds the browser and runs it on a URL with the flags that
//! work on a machine without network access. Shared by path (`#[path = ...] mod`), so the
//! crates need no common test dependency.
//!
//! Needs chromium: `apt-get install -y chromium` (CI: `.ci/setup-chromium.sh`); set
//! `MASQUE_CHROMIUM` to use another Chromium-based browser binary, and
//! `MASQUE_BROWSER_LOG=1` to see the browser's log (console messages, script errors).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The browser binary: `MASQUE_CHROMIUM`, or the first Chromium on PATH.
pub fn browser() -> PathBuf {
    if let Some(path) = std::env::var_os("MASQUE_CHROMIUM") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "this test needs a headless Chromium and none was found on PATH: install it with \
         `sudo apt-get install -y chromium` (Debian/Ubuntu), or set MASQUE_CHROMIUM to a \
         Chromium-based browser binary"
    );
}

/// Runs the browser headless on `url` with `args`; its stdout. Fails the test (never
/// hangs it) if the browser does not finish within two minutes.
pub fn run_browser(profile: &Path, args: &[String], url: &str) -> String {
    // MASQUE_BROWSER_LOG=1: the browser's log (console messages, CSP reports) on stderr.
    let debug = std::env::var_os("MASQUE_BROWSER_LOG").is_some();
    let mut child = Command::new(browser())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--hide-scrollbars",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .args(
            debug
                .then_some(["--enable-logging=stderr", "--v=0"])
                .into_iter()
                .flatten(),
        )
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(if debug {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect("cannot start the browser");
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "the browser failed: {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the browser did not finish within two minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

/// A screenshot of `url` (with `args`: window size, time budget) written to
/// `<target>/tmp/<name>` for people to look at; its bytes, checked to be a PNG.
pub fn screenshot(profile: &Path, url: &str, name: &str, args: &[String]) -> Vec<u8> {
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_file(&shot);
    let mut all = vec![format!("--screenshot={}", shot.display())];
    all.extend_from_slice(args);
    run_browser(profile, &all, url);
    let png = std::fs::read(&shot).expect("the browser wrote no screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    eprintln!("screenshot: {}", shot.display());
    png
}
