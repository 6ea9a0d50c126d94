//! Where a log keeps its checkpoint, tiles and bundles.
//!
//! [`Storage`] is a key-value interface with atomic, durable writes, so object storage can
//! implement it later; [`FsStorage`] (the default) keeps every key as a file under a root
//! directory, and [`MemStorage`] keeps them in memory for tests and benchmarks.
//!
//! Guarantee of [`FsStorage`]: when a write returns `Ok`, the file has its complete new
//! contents on disk (written to a temporary file, fsynced, renamed over the old name, and
//! the directory fsynced). A reader never sees a half-written file. Leftover temporary
//! files from a crash are ignored (they never match a key) and removed when a writer opens
//! the directory ([`FsStorage::writer`], which also makes it the directory's only writer).

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use masque_files::{FileError, Staged, WriteOptions, WriterLock};

use thiserror::Error;

/// A storage operation that failed.
#[derive(Debug, Error)]
pub enum StorageError {
    /// The key is not a safe relative path of `[A-Za-z0-9._-]` components.
    #[error("invalid storage key {0:?}")]
    InvalidKey(String),
    /// A file of the storage could not be read or written (the error names it), or its
    /// directory is locked by another writer.
    #[error(transparent)]
    File(#[from] FileError),
    /// A failure injected by a test wrapper or reported by a remote store.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// Durable key-value storage for a log. Keys are `/`-separated relative paths.
pub trait Storage: Send + Sync {
    /// The value of `key`, or `None` if it was never written.
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError>;

    /// Replaces the value of `key` atomically and durably.
    fn write(&self, key: &str, value: &[u8]) -> Result<(), StorageError>;

    /// Writes several keys; each write is atomic and all are durable on `Ok`. Not atomic
    /// as a group: after an error any subset may have been written.
    fn write_all(&self, items: &[(String, Vec<u8>)]) -> Result<(), StorageError> {
        items.iter().try_for_each(|(k, v)| self.write(k, v))
    }
}

impl<S: Storage + ?Sized> Storage for std::sync::Arc<S> {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        (**self).read(key)
    }
    fn write(&self, key: &str, value: &[u8]) -> Result<(), StorageError> {
        (**self).write(key, value)
    }
    fn write_all(&self, items: &[(String, Vec<u8>)]) -> Result<(), StorageError> {
        (**self).write_all(items)
    }
}

/// Checks that a key is a relative path of non-empty `[A-Za-z0-9._-]` components, none
/// of them `.` or `..`.
pub fn validate_key(key: &str) -> Result<(), StorageError> {
    let ok = !key.is_empty()
        && key.split('/').all(|c| {
            !c.is_empty()
                && c != "."
                && c != ".."
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(StorageError::InvalidKey(key.to_owned()))
    }
}

/// Files under a root directory, written atomically through [`masque_files`] (temp,
/// fsync, rename, fsync dir).
///
/// A storage opened with [`FsStorage::writer`] holds the directory's
/// [`WriterLock`]: a second writer, in this process or another, fails at once instead of
/// signing a second root for the same size.
#[derive(Debug)]
pub struct FsStorage {
    root: PathBuf,
    lock: Option<WriterLock>,
}

impl FsStorage {
    /// Uses (and creates) `root`, without taking its writer lock (a witness's state, a
    /// verifier's saved checkpoint). A log's writer uses [`FsStorage::writer`].
    pub fn new(root: impl Into<PathBuf>) -> Result<FsStorage, StorageError> {
        let root = root.into();
        fs::create_dir_all(&root)
            .map_err(|source| FileError::io("create directory", &root, source))?;
        Ok(FsStorage { root, lock: None })
    }

    /// Opens an existing directory for reading; creates nothing.
    pub fn open_existing(root: impl Into<PathBuf>) -> Result<FsStorage, StorageError> {
        let root = root.into();
        let meta =
            fs::metadata(&root).map_err(|source| FileError::io("open directory", &root, source))?;
        if !meta.is_dir() {
            let source = io::Error::new(io::ErrorKind::NotADirectory, "not a directory");
            return Err(FileError::io("open directory", root, source).into());
        }
        Ok(FsStorage { root, lock: None })
    }

    /// Uses (and creates) `root` as its only writer: takes the directory's
    /// [`WriterLock`] (failing at once with [`FileError::Locked`] if another writer holds
    /// it), then removes temporary files that a crashed writer left behind.
    pub fn writer(root: impl Into<PathBuf>) -> Result<FsStorage, StorageError> {
        let mut storage = FsStorage::new(root)?;
        storage.lock = Some(WriterLock::acquire(&storage.root)?);
        storage.remove_temp_files()?;
        Ok(storage)
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether this storage holds its directory's writer lock.
    pub fn is_writer(&self) -> bool {
        self.lock.is_some()
    }

    fn path(&self, key: &str) -> Result<PathBuf, StorageError> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }

    /// Creates the parent directory of `path`, fsyncing every directory whose entry list
    /// changed so the new directories survive a crash.
    fn ensure_parent(&self, path: &Path) -> Result<(), StorageError> {
        let parent = path.parent().expect("keys live under the root");
        if parent.is_dir() {
            return Ok(());
        }
        let mut missing = Vec::new();
        let mut dir = parent;
        while !dir.is_dir() {
            missing.push(dir.to_path_buf());
            dir = dir.parent().expect("root exists");
        }
        fs::create_dir_all(parent)
            .map_err(|source| FileError::io("create directory", parent, source))?;
        masque_files::sync_dir(dir)?;
        for created in missing.iter().rev() {
            masque_files::sync_dir(created)?;
        }
        Ok(())
    }

    /// Removes temporary files left by writes interrupted by a crash. Only safe while no
    /// other process writes here ([`FsStorage::writer`] calls it under the lock).
    pub fn remove_temp_files(&self) -> Result<usize, StorageError> {
        Ok(masque_files::remove_temp_files(&self.root, true)?)
    }
}

impl Storage for FsStorage {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let path = self.path(key)?;
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(FileError::io("read", path, source).into()),
        }
    }

    fn write(&self, key: &str, value: &[u8]) -> Result<(), StorageError> {
        self.write_all(&[(key.to_owned(), value.to_vec())])
    }

    /// All temporary files are written and fsynced first, then renamed into place, then
    /// each touched directory is fsynced once: one fsync per file plus one per directory.
    fn write_all(&self, items: &[(String, Vec<u8>)]) -> Result<(), StorageError> {
        let mut staged = Vec::with_capacity(items.len());
        for (key, value) in items {
            let path = self.path(key)?;
            self.ensure_parent(&path)?;
            // A failure drops (and so removes) the temporary files staged so far.
            staged.push(Staged::new(&path, value, WriteOptions::REPLACE)?);
        }
        let mut dirs = BTreeSet::new();
        for file in staged {
            dirs.insert(file.target().parent().expect("under root").to_path_buf());
            file.commit()?;
        }
        for dir in dirs {
            masque_files::sync_dir(&dir)?;
        }
        Ok(())
    }
}

/// In-memory storage for tests and benchmarks (durable only as long as the value lives).
#[derive(Debug, Default)]
pub struct MemStorage {
    map: Mutex<HashMap<String, Vec<u8>>>,
}

impl MemStorage {
    /// Empty storage.
    pub fn new() -> MemStorage {
        MemStorage::default()
    }

    /// Total bytes stored (values only).
    pub fn total_bytes(&self) -> usize {
        self.map
            .lock()
            .expect("not poisoned")
            .values()
            .map(Vec::len)
            .sum()
    }
}

impl Storage for MemStorage {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        validate_key(key)?;
        Ok(self.map.lock().expect("not poisoned").get(key).cloned())
    }
    fn write(&self, key: &str, value: &[u8]) -> Result<(), StorageError> {
        validate_key(key)?;
        self.map
            .lock()
            .expect("not poisoned")
            .insert(key.to_owned(), value.to_vec());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fs_writes_are_readable_and_replace_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let s = FsStorage::new(dir.path()).unwrap();
        assert_eq!(s.read("tile/0/x001/234").unwrap(), None);
        s.write("tile/0/x001/234", b"one").unwrap();
        s.write_all(&[
            ("tile/0/x001/234".into(), b"two".to_vec()),
            ("checkpoint".into(), b"c".to_vec()),
        ])
        .unwrap();
        assert_eq!(s.read("tile/0/x001/234").unwrap().unwrap(), b"two");
        assert_eq!(s.read("checkpoint").unwrap().unwrap(), b"c");
        // A leftover temp file (as after a crash) is not a key and gets cleaned up.
        fs::write(dir.path().join("checkpoint.1-2-3.tmp~"), b"half").unwrap();
        assert_eq!(s.remove_temp_files().unwrap(), 1);
        assert_eq!(s.read("checkpoint").unwrap().unwrap(), b"c");
    }

    #[test]
    fn one_writer_per_directory_and_the_writer_cleans_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("checkpoint.9-9-0.tmp~"), b"half").unwrap();
        let writer = FsStorage::writer(dir.path()).unwrap();
        assert!(writer.is_writer());
        assert!(!dir.path().join("checkpoint.9-9-0.tmp~").exists());
        let second = FsStorage::writer(dir.path()).unwrap_err();
        assert!(
            matches!(&second, StorageError::File(FileError::Locked { .. })),
            "{second}"
        );
        assert!(second.to_string().contains("writer.lock"), "{second}");
        // Readers need no lock.
        FsStorage::open_existing(dir.path()).unwrap();
        drop(writer);
        FsStorage::writer(dir.path()).unwrap();
    }

    #[test]
    fn open_existing_creates_nothing_and_errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-log");
        let err = FsStorage::open_existing(&missing).unwrap_err();
        assert!(err.to_string().contains("no-such-log"), "{err}");
        assert!(!missing.exists());
        // A read error names the file, not just the key.
        let s = FsStorage::new(dir.path()).unwrap();
        fs::create_dir(dir.path().join("checkpoint")).unwrap();
        let err = s.read("checkpoint").unwrap_err().to_string();
        assert!(
            err.contains(&dir.path().join("checkpoint").display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn unsafe_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let s = FsStorage::new(dir.path()).unwrap();
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a//b",
            "a/./b",
            "a/b/",
            "a b",
            "x.tmp~",
        ] {
            assert!(
                matches!(s.write(bad, b"x"), Err(StorageError::InvalidKey(_))),
                "{bad}"
            );
        }
    }
}
