//! Reading secret key files: only when no one else can read them, into zeroized memory.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use zeroize::Zeroizing;

use crate::FileError;

/// Refuses a secret file that users other than its owner can read or write (any of the
/// group/other permission bits set), with a message saying how to fix it. On systems
/// without Unix permissions this checks nothing.
pub fn check_secret_mode(path: &Path) -> Result<(), FileError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| FileError::io("read", path, e))?
            .permissions()
            .mode()
            & 0o7777;
        if mode & 0o077 != 0 {
            return Err(FileError::TooOpen {
                path: path.to_owned(),
                mode,
            });
        }
    }
    Ok(())
}

/// Reads a secret text file (a key) after [`check_secret_mode`]. The text lives only in
/// zeroized buffers: the returned string and the bytes it was read into are wiped when
/// dropped.
pub fn read_secret(path: &Path) -> Result<Zeroizing<String>, FileError> {
    read_secret_up_to(path, MAX_SECRET)
}

/// The size limit of [`read_secret`]: 1 MiB, plenty for a key.
pub const MAX_SECRET: u64 = 1 << 20;

/// [`read_secret`] for a secret file that may be larger than a key (a wallet holding
/// credentials and receipts): files over `max_len` bytes are refused.
pub fn read_secret_up_to(path: &Path, max_len: u64) -> Result<Zeroizing<String>, FileError> {
    check_secret_mode(path)?;
    let mut file = File::open(path).map_err(|e| FileError::io("read", path, e))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    // A buffer sized up front never reallocates (a reallocation would leave a copy of the
    // secret in freed memory).
    if len > max_len {
        return Err(FileError::io(
            "read",
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{len} bytes is too large for this secret file (at most {max_len})"),
            ),
        ));
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(len as usize + 1));
    (&mut file)
        .take(max_len)
        .read_to_end(&mut bytes)
        .map_err(|e| FileError::io("read", path, e))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| FileError::NotText {
        path: path.to_owned(),
    })?;
    Ok(Zeroizing::new(text.to_owned()))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::{WriteOptions, write_atomic};
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn reads_a_0600_key_and_refuses_a_group_or_world_readable_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.key");
        write_atomic(&path, b"PRIVATE+KEY+x\n", WriteOptions::SECRET).unwrap();
        assert_eq!(read_secret(&path).unwrap().as_str(), "PRIVATE+KEY+x\n");
        for mode in [0o644, 0o640, 0o604, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = read_secret(&path).unwrap_err();
            assert!(matches!(err, FileError::TooOpen { mode: m, .. } if m == mode));
            let text = err.to_string();
            assert!(
                text.contains("chmod 600") && text.contains("log.key"),
                "{text}"
            );
        }
    }

    #[test]
    fn larger_secrets_are_read_up_to_the_given_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wallet.json");
        let big = "x".repeat(MAX_SECRET as usize + 10);
        write_atomic(&path, big.as_bytes(), WriteOptions::SECRET).unwrap();
        let err = read_secret(&path).unwrap_err().to_string();
        assert!(
            err.contains("too large") && err.contains("wallet.json"),
            "{err}"
        );
        assert_eq!(
            read_secret_up_to(&path, 2 * MAX_SECRET).unwrap().len(),
            big.len()
        );
    }

    #[test]
    fn missing_and_binary_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent.key");
        assert!(
            read_secret(&missing)
                .unwrap_err()
                .to_string()
                .contains("absent.key")
        );
        let binary = dir.path().join("bin.key");
        write_atomic(&binary, &[0xff, 0xfe], WriteOptions::SECRET).unwrap();
        assert!(matches!(
            read_secret(&binary),
            Err(FileError::NotText { .. })
        ));
    }
}
