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
    // The failure-to-enrol rate of the network's coverage gate (7,200 bits by default,
    // from --min-overlap) over every genuine capture.
    let gate = &report["coverage_gate"];
    assert_eq!(gate["min_bits"], 7_200);
    assert_eq!(gate["captures"], 24 * 2);
    assert_eq!(gate["eyes"], 24 * 4);
    // A gate above every synthetic eye's coverage refuses every capture.
    let out = masque(&[
        "eval",
        "--population",
        pop,
        "--plot",
        plot.to_str().unwrap(),
        "--coverage-gate-bits",
        "12800",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("refuses 48 of 48 captures (failure to enrol 100.000%)"),
        "{text}"
    );
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

/// SHA-256 (FIPS 180-4), for building population files with chosen headers; the CLI's
/// own dependencies do not include a hash crate.
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&(data.len() as u64 * 8).to_be_bytes());
    for block in message.chunks_exact(64) {
        let mut w = [0u32; 64];
        for t in 0..64 {
            w[t] = if t < 16 {
                u32::from_be_bytes(block[4 * t..4 * t + 4].try_into().unwrap())
            } else {
                let s0 = w[t - 15].rotate_right(7) ^ w[t - 15].rotate_right(18) ^ (w[t - 15] >> 3);
                let s1 = w[t - 2].rotate_right(17) ^ w[t - 2].rotate_right(19) ^ (w[t - 2] >> 10);
                w[t - 16]
                    .wrapping_add(s0)
                    .wrapping_add(w[t - 7])
                    .wrapping_add(s1)
            };
        }
        let mut v = h;
        for t in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[t])
                .wrapping_add(w[t]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [
                t1.wrapping_add(t2),
                v[0],
                v[1],
                v[2],
                v[3].wrapping_add(t1),
                v[4],
                v[5],
                v[6],
            ];
        }
        for (x, y) in h.iter_mut().zip(v) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// A population file with this header and no records, with a valid checksum.
fn population_file(header: &str) -> Vec<u8> {
    let mut bytes = b"MASQPOP1".to_vec();
    bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    let digest = sha256(&bytes);
    bytes.extend_from_slice(&digest);
    bytes
}

fn assert_clean_failure(out: &std::process::Output, expected: &[&str]) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "succeeded: {err}");
    assert_eq!(out.status.code(), Some(1), "a panic or abort: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for e in expected {
        assert!(err.contains(e), "missing {e:?} in {err}");
    }
    err
}

#[test]
fn the_test_hash_is_sha256() {
    let hex = |d: [u8; 32]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(
        hex(sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hex(sha256(&[b'a'; 64])),
        "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"
    );
}

#[test]
fn hostile_population_headers_get_a_clear_error() {
    // A checksummed file whose header promises 2^60 persons of zero captures used to
    // panic `masque match` and `masque eval` (capacity overflow); 2e7 persons aborted.
    let dir = tempfile::tempdir().unwrap();
    for (name, header) in [
        (
            "huge.bin",
            r#"{"persons":1152921504606846976,"captures":0,"seed":12345}"#,
        ),
        (
            "many.bin",
            r#"{"persons":20000000,"captures":0,"seed":null}"#,
        ),
        ("none.bin", r#"{"persons":0,"captures":0,"seed":null}"#),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, population_file(header)).unwrap();
        let path = path.to_str().unwrap();
        let out = masque(&["match", "--gallery", path, "--probes", path]);
        assert_clean_failure(&out, &[name, "the header says", "masque synth"]);
        let plot = dir.path().join("det.png");
        let out = masque(&[
            "eval",
            "--population",
            path,
            "--plot",
            plot.to_str().unwrap(),
        ]);
        assert_clean_failure(&out, &[name, "the header says", "masque synth"]);
        assert!(!plot.exists());
    }
}

#[test]
fn eval_refuses_populations_without_pairs() {
    // `masque eval` of no persons used to report `EER 0.0000%` and exit 0.
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("det.png");
    let plot = plot.to_str().unwrap();
    for modality in ["iris", "face"] {
        let out = masque(&[
            "eval",
            "--persons",
            "0",
            "--modality",
            modality,
            "--plot",
            plot,
        ]);
        let err = assert_clean_failure(&out, &["no genuine pairs", "at least two persons"]);
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("EER"),
            "{err}"
        );
        let out = masque(&[
            "eval",
            "--persons",
            "1",
            "--modality",
            modality,
            "--plot",
            plot,
        ]);
        assert_clean_failure(&out, &["no impostor pairs", "at least two persons"]);
    }
    assert!(!std::path::Path::new(plot).exists(), "no plot of nothing");
}

#[test]
fn a_damaged_two_eye_query_names_the_damaged_field() {
    // Used to report `unknown field 'IRIS_version'`: the two-eye error was dropped and
    // the query retried as a one-eye template.
    let dir = tempfile::tempdir().unwrap();
    let pop = dir.path().join("pop.bin");
    let pop = pop.to_str().unwrap();
    let out = masque(&["synth", "--persons", "3", "--out", pop]);
    assert!(out.status.success());
    let vector = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../template/tests/data/iris-mpc/iris_codes.json"
    );
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(vector).unwrap()).unwrap();
    let out = masque(&["match", "--gallery", pop, "--query", vector, "--json"]);
    assert!(
        out.status.success(),
        "the vendored vector is a valid query: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 1,599 bytes of base64 instead of 1,600.
    doc["left_iris_code"] = "A".repeat(2132).into();
    let query = dir.path().join("query.json");
    std::fs::write(&query, doc.to_string()).unwrap();
    let out = masque(&[
        "match",
        "--gallery",
        pop,
        "--query",
        query.to_str().unwrap(),
    ]);
    let err = assert_clean_failure(&out, &["left_iris_code", "1599", "1600"]);
    assert!(!err.contains("IRIS_version"), "{err}");
    doc["left_iris_code"] = "not base64!".into();
    std::fs::write(&query, doc.to_string()).unwrap();
    let out = masque(&[
        "match",
        "--gallery",
        pop,
        "--query",
        query.to_str().unwrap(),
    ]);
    let err = assert_clean_failure(&out, &["left_iris_code", "base64"]);
    assert!(!err.contains("IRIS_version"), "{err}");
}
