//! Shared helpers of the wallet's integration tests.
#![allow(dead_code)]

use masque_wallet::{KdfCost, Passphrase, Protection};
use zeroize::Zeroizing;

/// Argon2id at its smallest, so tests that open many files stay fast (the parameters
/// are in each file's header, so this exercises the same code as the default).
pub const CHEAP: KdfCost = KdfCost {
    memory_kib: 8,
    iterations: 1,
    parallelism: 1,
};

pub fn passphrase(text: &str) -> Passphrase {
    Passphrase::new(Zeroizing::new(text.to_owned())).unwrap()
}

pub fn encrypted(text: &str) -> Protection {
    Protection::Passphrase(passphrase(text), CHEAP)
}

/// Writes `bytes` to `path` as a 0600 file (replacing it), as a damaged copy would be.
pub fn overwrite(path: &std::path::Path, bytes: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}
