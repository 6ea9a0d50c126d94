//! One writer per directory: an exclusive advisory lock on a lock file.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::FileError;

/// An exclusive lock on a directory, held until dropped (or until the process ends, even
/// by a crash: the operating system releases it). A second [`WriterLock::acquire`] on the
/// same directory, from any process, fails at once with [`FileError::Locked`] naming the
/// lock file and the holder's process id.
#[derive(Debug)]
pub struct WriterLock {
    file: File,
    path: PathBuf,
}

impl WriterLock {
    /// Name of the lock file inside the locked directory.
    pub const FILE_NAME: &'static str = "writer.lock";

    /// Takes the lock of `dir` (which must exist), writing this process's id into the lock
    /// file for whoever finds it held.
    pub fn acquire(dir: &Path) -> Result<WriterLock, FileError> {
        Self::acquire_file(&dir.join(Self::FILE_NAME))
    }

    /// Takes the lock held on the lock file `path` itself (created if missing; its
    /// directory must exist), for one file that shares its directory with others: a
    /// wallet locks `wallet.json.lock`, so two wallets in one directory do not exclude
    /// each other. Fails like [`WriterLock::acquire`] when another process holds it.
    pub fn acquire_file(path: &Path) -> Result<WriterLock, FileError> {
        let path = path.to_owned();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| FileError::io("open lock file", &path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(FileError::Locked {
                    lock_file: path,
                    holder: (!holder.is_empty()).then(|| holder.to_owned()),
                });
            }
            Err(TryLockError::Error(e)) => return Err(FileError::io("lock", &path, e)),
        }
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "pid {}", std::process::id()))
            .map_err(|e| FileError::io("write lock file", &path, e))?;
        Ok(WriterLock { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_fails_naming_the_file_and_holder_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = WriterLock::acquire(dir.path()).unwrap();
        let err = WriterLock::acquire(dir.path()).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, FileError::Locked { .. }));
        assert!(text.contains("writer.lock"), "{text}");
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        drop(first);
        WriterLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn file_locks_are_per_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.json.lock");
        let held = WriterLock::acquire_file(&a).unwrap();
        assert_eq!(held.path(), a);
        let err = WriterLock::acquire_file(&a).unwrap_err();
        assert!(err.to_string().contains("a.json.lock"), "{err}");
        // Another file's lock, and the directory's lock, are independent of it.
        let _b = WriterLock::acquire_file(&dir.path().join("b.json.lock")).unwrap();
        let _dir = WriterLock::acquire(dir.path()).unwrap();
        drop(held);
        WriterLock::acquire_file(&a).unwrap();
    }
}
