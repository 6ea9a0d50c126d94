//! Interop: checkpoints, tiles, proofs and cosignatures written by this crate are checked
//! by an independent implementation, Go's `golang.org/x/mod/sumdb/note` and `sumdb/tlog`
//! (`tests/interop/verify.go`), and a note signed by Go verifies here.
//!
//! Needs `go` and Debian's `golang-golang-x-mod-dev` (CI installs both with
//! `.ci/setup-go.sh`). Builds offline in GOPATH mode against `/usr/share/gocode`. When
//! `go` is not installed locally the test prints why and passes without checking; in
//! CI (`CI` set) a missing `go` is a failure.

use crate::common;

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use common::{ORIGIN, log_key};
use masque_tlog::cosignature::CosignatureSigner;
use masque_tlog::hash::leaf_hash;
use masque_tlog::keys::{KeyName, PublicKey, SecretKey, TYPE_ED25519};
use masque_tlog::log::Log;
use masque_tlog::note::{self, Ed25519Verifier, Note};
use masque_tlog::storage::FsStorage;

fn hashes(list: &[masque_tlog::hash::Hash]) -> String {
    if list.is_empty() {
        "-".into()
    } else {
        list.iter()
            .map(|h| h.to_base64())
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[test]
fn go_sumdb_verifies_our_log() {
    let go_ok = Command::new("go")
        .arg("version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    let gocode = Path::new("/usr/share/gocode/src/golang.org/x/mod/sumdb/tlog");
    if !go_ok || !gocode.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have go and golang-golang-x-mod-dev (.ci/setup-go.sh)"
        );
        eprintln!(
            "SKIPPED go_sumdb_verifies_our_log: `go` or /usr/share/gocode golang.org/x/mod is not installed; run .ci/setup-go.sh"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let logdir = dir.path().join("log");
    let mut log = Log::create(FsStorage::new(&logdir).unwrap(), ORIGIN, log_key()).unwrap();
    let entries: Vec<Vec<u8>> = (0..70_000u32)
        .map(|i| format!("masque interop entry {i}").into_bytes())
        .collect();
    log.append_batch(&entries[..1000]).unwrap();
    let old = log.checkpoint().unwrap();
    log.append_batch(&entries[1000..]).unwrap();
    let size = log.size().unwrap();
    // Cosign as a witness and attach.
    let witness = SecretKey::from_seed(KeyName::new("witness.example/w1").unwrap(), &[5; 32]);
    let text = Note::parse(&log.checkpoint().unwrap())
        .unwrap()
        .text()
        .to_owned();
    let sig = CosignatureSigner::new(&witness).sign_at(&text, 1_763_000_000);
    assert!(log.add_cosignatures(&text, vec![sig]).unwrap());

    let mut proofs = String::new();
    for index in [0u64, 1, 255, 256, 999, 1000, 65535, 65536, 69_999] {
        let proof = log.inclusion_proof(index, size).unwrap();
        let leaf = leaf_hash(&entries[index as usize]);
        proofs.push_str(&format!(
            "inclusion {index} {} {}\n",
            leaf.to_base64(),
            hashes(&proof)
        ));
    }
    proofs.push_str(&format!(
        "consistency {}\n",
        hashes(&log.consistency_proof(1000, size).unwrap())
    ));
    std::fs::write(dir.path().join("old"), &old).unwrap();
    std::fs::write(dir.path().join("proofs"), proofs).unwrap();
    let go_key = SecretKey::from_seed(KeyName::new("go.example/signer").unwrap(), &[6; 32]);

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/verify.go");
    let output = Command::new("go")
        .arg("run")
        .arg(&script)
        .arg(&logdir)
        .arg(log_key().public_key(TYPE_ED25519).to_vkey())
        .arg(dir.path().join("old"))
        .arg(dir.path().join("proofs"))
        .arg(
            witness
                .public_key(masque_tlog::keys::TYPE_COSIGNATURE_V1)
                .to_vkey(),
        )
        .arg(&*go_key.to_skey())
        .env("GO111MODULE", "off")
        .env("GOPATH", "/usr/share/gocode")
        .env("GOCACHE", dir.path().join("gocache"))
        .env("GOFLAGS", "")
        .env("GOPROXY", "off")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "go verifier failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("OK 10 proofs checked"), "{stdout}");
    // The note Go signed verifies here.
    let signed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("SIGNED "))
        .expect("Go printed a signed note");
    let signed = base64::engine::general_purpose::STANDARD
        .decode(signed)
        .unwrap();
    let v = Ed25519Verifier::new(
        PublicKey::from_vkey(&go_key.public_key(TYPE_ED25519).to_vkey()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        note::open(&signed, &[&v]).unwrap().note.text(),
        "signed by Go\n"
    );
}
