//! `masque wallet` as a person runs it, in real processes: a new wallet printed once,
//! shown without secrets, restored elsewhere from the printed phrase with the same keys;
//! 0600 files, passphrases only from the environment (never argv), clear errors.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// Runs `masque wallet ARGS` with `stdin`, extra environment variables, and neither
/// MASQUE_WALLET nor HOME unless given.
fn wallet(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_masque"));
    command
        .arg("wallet")
        .args(args)
        .env_remove("MASQUE_WALLET")
        .env_remove("HOME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("the binary runs");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn ok_json(out: Output) -> Value {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn err(out: &Output) -> String {
    assert!(!out.status.success(), "unexpectedly succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

const PASS: (&str, &str) = ("WALLET_PASS", "a long passphrase");

#[test]
fn new_show_restore_elsewhere_gives_the_same_keys() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("phone/wallet.json");
    let created = ok_json(wallet(
        &[
            "new",
            "--wallet",
            p(&first),
            "--passphrase-env",
            PASS.0,
            "--json",
        ],
        b"",
        &[PASS],
    ));
    assert_eq!(mode(&first), 0o600);
    assert_eq!(created["encrypted"], true);
    let phrase = created["recovery_phrase"].as_str().unwrap().to_owned();
    assert_eq!(phrase.split(' ').count(), 24);
    // The file is encrypted: no two neighbouring words of the phrase are in it. (A single
    // word can be: "salt" and "kind" are BIP39 words and also the file's field names.)
    let text = std::fs::read_to_string(&first).unwrap();
    let words: Vec<&str> = phrase.split(' ').collect();
    for pair in words.windows(2) {
        let together = format!("{} {}", pair[0], pair[1]);
        assert!(
            !text.contains(&together),
            "the wallet file holds {together:?}"
        );
    }

    let shown = ok_json(wallet(
        &[
            "show",
            "--wallet",
            p(&first),
            "--passphrase-env",
            PASS.0,
            "--json",
        ],
        b"",
        &[PASS],
    ));
    assert_eq!(shown["fingerprint"], created["fingerprint"]);
    assert_eq!(shown["records"], serde_json::json!([]));
    assert_eq!(shown["kdf"]["memory_kib"], 65536);
    let shown_text = serde_json::to_string(&shown).unwrap();
    assert!(
        !shown_text.contains(&phrase[..20]),
        "show printed the phrase"
    );

    // Restore in another directory from the printed words, typed untidily, unencrypted.
    let second = dir.path().join("laptop/wallet.json");
    let messy = format!("\n{}\n", phrase.replace(' ', "  \n"));
    let restored = ok_json(wallet(
        &[
            "restore",
            "--wallet",
            p(&second),
            "--no-passphrase",
            "--json",
        ],
        messy.as_bytes(),
        &[],
    ));
    assert_eq!(restored["fingerprint"], created["fingerprint"]);
    assert_eq!(mode(&second), 0o600);
    let shown_again = ok_json(wallet(
        &["show", "--wallet", p(&second), "--json"],
        b"",
        &[],
    ));
    assert_eq!(shown_again["encrypted"], false);
    for field in ["fingerprint", "next_record_index", "next_record_public_key"] {
        assert_eq!(shown_again[field], shown[field], "{field}");
    }
    assert_eq!(shown["next_record_public_key"].as_str().unwrap().len(), 64);
}

#[test]
fn wrong_or_missing_passphrase_and_no_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.json");
    ok_json(wallet(
        &[
            "new",
            "--wallet",
            p(&path),
            "--passphrase-env",
            PASS.0,
            "--json",
        ],
        b"",
        &[PASS],
    ));
    let before = std::fs::read(&path).unwrap();
    let e = err(&wallet(
        &["show", "--wallet", p(&path), "--passphrase-env", "BAD"],
        b"",
        &[("BAD", "not it")],
    ));
    assert!(e.contains("wrong passphrase"), "{e}");
    assert!(!e.contains("not it"));
    let e = err(&wallet(&["show", "--wallet", p(&path)], b"", &[]));
    assert!(e.contains("--passphrase-env"), "{e}");
    let e = err(&wallet(
        &[
            "show",
            "--wallet",
            p(&path),
            "--passphrase-env",
            "UNSET_VAR",
        ],
        b"",
        &[],
    ));
    assert!(e.contains("UNSET_VAR is not set"), "{e}");
    // Neither `new` nor `restore` replaces an existing wallet.
    let e = err(&wallet(
        &["new", "--wallet", p(&path), "--no-passphrase"],
        b"",
        &[],
    ));
    assert!(e.contains("already exists"), "{e}");
    let e = err(&wallet(
        &["restore", "--wallet", p(&path), "--no-passphrase"],
        b"",
        &[],
    ));
    assert!(e.contains("already exists"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // A new wallet needs an explicit choice when there is no terminal to ask on.
    let e = err(&wallet(
        &["new", "--wallet", p(&dir.path().join("x.json"))],
        b"",
        &[],
    ));
    assert!(
        e.contains("--no-passphrase") && e.contains("--passphrase-env"),
        "{e}"
    );
    assert!(!dir.path().join("x.json").exists());
}

#[test]
fn bad_recovery_phrases_are_named_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.json");
    let zoo = "zoo ".repeat(23);
    let cases = [
        (format!("{zoo}zoo"), "checksum"),
        ("abandon ".repeat(12), "12 words"),
        (
            format!("{zoo}zooo"),
            "word 24 is not in the BIP-39 English word list",
        ),
        (String::new(), "no recovery phrase on stdin"),
    ];
    for (phrase, expected) in cases {
        let e = err(&wallet(
            &["restore", "--wallet", p(&path), "--no-passphrase"],
            phrase.as_bytes(),
            &[],
        ));
        assert!(e.contains(expected), "{expected:?} not in {e}");
        assert!(!e.contains("zooo"), "{e}");
        assert!(!path.exists());
    }
    // The valid phrase restores.
    let out = wallet(
        &["restore", "--wallet", p(&path), "--no-passphrase"],
        format!("{zoo}vote").as_bytes(),
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("8084-751e-805d-782d"), "{text}");
}

#[test]
fn default_path_is_masque_wallet_then_home() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let out = wallet(&["new", "--no-passphrase"], b"", &[("HOME", p(&home))]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Write the 24 words down") && text.contains("24. "),
        "{text}"
    );
    let default = home.join(".masque/wallet.json");
    assert_eq!(mode(&default), 0o600);
    assert_eq!(mode(&home.join(".masque")), 0o700);

    let elsewhere = dir.path().join("env.json");
    let out = wallet(
        &["new", "--no-passphrase", "--json"],
        b"",
        &[("HOME", p(&home)), ("MASQUE_WALLET", p(&elsewhere))],
    );
    assert_eq!(ok_json(out)["wallet"], p(&elsewhere));
    let shown = ok_json(wallet(
        &["show", "--json"],
        b"",
        &[("MASQUE_WALLET", p(&elsewhere))],
    ));
    assert_eq!(shown["wallet"], p(&elsewhere));
    let e = err(&wallet(&["show"], b"", &[]));
    assert!(e.contains("HOME is not set"), "{e}");
}
