//! Test data must live inside this package: an `include_str!`/`include_bytes!` that
//! reaches outside it builds only on machines that happen to have the same directory
//! layout around the repository.

use std::path::{Component, Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("the source directory is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `path` with `.` and `..` resolved lexically (the file need not exist).
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The path of every `include_str!` and `include_bytes!` with a literal path in `text`.
fn included_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for macro_name in ["include_str!(\"", "include_bytes!(\""] {
        let mut rest = text;
        while let Some(at) = rest.find(macro_name) {
            rest = &rest[at + macro_name.len()..];
            if let Some(end) = rest.find('"') {
                out.push(rest[..end].to_owned());
            }
        }
    }
    out
}

#[test]
fn included_files_are_inside_the_package() {
    let package = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches"] {
        if package.join(dir).is_dir() {
            rust_files(&package.join(dir), &mut files);
        }
    }
    let mut checked = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a readable source file");
        for included in included_paths(&text) {
            let target = normalise(&file.parent().expect("a file has a parent").join(&included));
            assert!(
                target.starts_with(package),
                "{} includes {included}, which is outside the package; vendor it under tests/data",
                file.display()
            );
            assert!(
                target.is_file(),
                "{} includes {included}, which does not exist",
                file.display()
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 2,
        "the known-answer files are included somewhere"
    );
}

#[test]
fn vendored_files_carry_their_licence_and_source() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/iris-mpc");
    let readme = std::fs::read_to_string(dir.join("README.md")).expect("README.md");
    assert!(readme.contains("worldcoin/iris-mpc") && readme.contains("LICENSE-MIT"));
    let licence = std::fs::read_to_string(dir.join("LICENSE-MIT")).expect("LICENSE-MIT");
    assert!(licence.starts_with("MIT License"));
}
