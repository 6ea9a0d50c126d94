//! File handling that every masque crate shares, so there is exactly one way to put bytes
//! on disk:
//!
//! * [`write_atomic`] writes a file so that a reader or a crash never sees it half
//!   written: the bytes go to a temporary file in the same directory, which is fsynced,
//!   renamed into place, and the directory fsynced. [`WriteOptions`] chooses whether an
//!   existing file may be replaced and whether the file is a secret (mode 0600).
//!   [`Staged`] splits the same steps for callers that write several files and fsync
//!   each directory once.
//! * [`read_secret`] reads a key file into zeroized memory, and refuses one that others
//!   can read, saying how to fix it; [`read_secret_up_to`] does the same for larger
//!   secret files (a wallet).
//! * [`WriterLock`] is an exclusive, process-wide lock on a directory (an advisory
//!   `flock` on a lock file), so only one process writes a log or a store at a time;
//!   [`WriterLock::acquire_file`] locks one file's own lock file instead.
//!
//! Guarantees: when a write returns `Ok`, the file has its complete new contents and its
//! name is durable; with [`Overwrite::Refuse`] an existing file is never replaced, even one
//! created by another process between the check and the write (the file is put in place
//! with a hard link, which fails if the name exists). Every error names the file.
//!
//! Not provided: atomicity across several files (after an error some may be written), and
//! any guarantee on file systems that do not honour `fsync` or hard links.

#![deny(missing_docs)]

mod error;
mod lock;
mod secret;
mod write;

pub use error::FileError;
pub use lock::WriterLock;
pub use secret::{MAX_SECRET, check_secret_mode, read_secret, read_secret_up_to};
pub use write::{
    Overwrite, Staged, TEMP_SUFFIX, WriteOptions, remove_temp_files, sync_dir, write_atomic,
};
