//! The `masque` binary end to end: synth -> match -> eval, and bad input.

use std::process::Command;

fn masque(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_masque"))
        .args(args)
        .output()
        .expect("the binary runs")
}

#[test]
fn synth_match_eval() {
    let dir = tempfile::tempdir().unwrap();
    let pop = dir.path().join("pop.bin");
    let pop = pop.to_str().unwrap();
    let out = masque(&[
        "synth",
        "--persons",
        "24",
        "--seed",
        "5",
        "--out",
        pop,
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["eyes"], 96);

    let out = masque(&["match", "--gallery", pop, "--probes", pop, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.len(), 24);
    let mut own = 0;
    for (i, r) in results.iter().enumerate() {
        let matches: Vec<u64> = serde_json::from_value(r["matches"].clone()).unwrap();
        assert!(
            matches.iter().all(|&m| m == i as u64),
            "probe {i} matched someone else"
        );
        own += usize::from(matches == [i as u64]);
        assert_eq!(r["comparisons"], 24 * 2 * 31);
    }
    assert!(own >= 22, "only {own} of 24 genuine probes matched");

    let plot = dir.path().join("det.png");
    let out = masque(&[
        "eval",
        "--population",
        pop,
        "--plot",
        plot.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["sections"][0]["report"]["impostor_pairs"], 24 * 23);
    assert!(std::fs::read(&plot).unwrap().starts_with(b"\x89PNG"));
}

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, b"not a population").unwrap();
    let out = masque(&[
        "match",
        "--gallery",
        junk.to_str().unwrap(),
        "--probes",
        junk.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a masque population file") && err.contains("masque synth"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    let out = masque(&[
        "match",
        "--gallery",
        junk.to_str().unwrap(),
        "--probes",
        "x",
        "--threshold",
        "0.7",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("threshold 0.7 is out of range"),
        "{err}"
    );
}
