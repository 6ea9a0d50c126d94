//! The one error type of this crate; every variant names the file it is about.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// A file operation that failed.
#[derive(Debug, Error)]
pub enum FileError {
    /// An I/O operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done ("write", "read", "create directory", ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The file exists and the write was asked not to replace it.
    #[error(
        "{} already exists; not overwriting it (move it away or choose another path)",
        path.display()
    )]
    Exists {
        /// The existing file.
        path: PathBuf,
    },
    /// Another process holds the directory's writer lock.
    #[error(
        "{} is locked by another writer{}; stop that process first (only one process may write here)",
        lock_file.display(),
        holder.as_ref().map(|h| format!(" ({h})")).unwrap_or_default()
    )]
    Locked {
        /// The lock file.
        lock_file: PathBuf,
        /// What the holder wrote into the lock file (its process id), if readable.
        holder: Option<String>,
    },
    /// A secret file can be read by users other than its owner.
    #[error(
        "{} holds a secret key but its mode is {mode:04o} (readable by others); run `chmod 600 {}` and try again",
        path.display(),
        path.display()
    )]
    TooOpen {
        /// The secret file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A secret file is not UTF-8 text.
    #[error("{} is not a UTF-8 text key file", path.display())]
    NotText {
        /// The file.
        path: PathBuf,
    },
}

impl FileError {
    /// An [`FileError::Io`]: `action` ("read", "create directory", ...) failed on `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        FileError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
