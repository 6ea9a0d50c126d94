//! Where a log keeps its checkpoint, tiles and bundles.
//!
//! [`Storage`] is a key-value interface with atomic, durable writes, so object storage can
//! implement it later; [`FsStorage`] (the default) keeps every key as a file under a root
//! directory, and [`MemStorage`] keeps them in memory for tests and benchmarks.
//!
//! Guarantee of [`FsStorage`]: when a write returns `Ok`, the file has its complete new
//! contents on disk (written to a temporary file, fsynced, renamed over the old name, and
//! the directory fsynced). A reader never sees a half-written file. Leftover temporary
//! files from a crash are ignored (they never match a key) and removed by
//! [`FsStorage::remove_temp_files`].

use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use thiserror::Error;

/// A storage operation that failed.
#[derive(Debug, Error)]
pub enum StorageError {
    /// The key is not a safe relative path of `[A-Za-z0-9._-]` components.
    #[error("invalid storage key {0:?}")]
    InvalidKey(String),
    /// The underlying I/O failed.
    #[error("storage I/O error on {key}: {source}")]
    Io {
        /// The key being read or written.
        key: String,
        /// The error.
        source: io::Error,
    },
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

/// Files under a root directory, written atomically (temp, fsync, rename, fsync dir).
#[derive(Debug)]
pub struct FsStorage {
    root: PathBuf,
}

/// Suffix of temporary files; keys can never end with it because `~` is not a key character.
const TEMP_SUFFIX: &str = ".tmp~";

impl FsStorage {
    /// Uses (and creates) `root`.
    pub fn new(root: impl Into<PathBuf>) -> Result<FsStorage, StorageError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|source| StorageError::Io {
            key: root.display().to_string(),
            source,
        })?;
        Ok(FsStorage { root })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> Result<PathBuf, StorageError> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }

    /// Creates the parent directory of `path`, fsyncing every directory whose entry list
    /// changed so the new directories survive a crash.
    fn ensure_parent(&self, path: &Path, key: &str) -> Result<(), StorageError> {
        let io = |source| StorageError::Io {
            key: key.to_owned(),
            source,
        };
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
        fs::create_dir_all(parent).map_err(io)?;
        sync_dir(dir).map_err(io)?;
        for created in missing.iter().rev() {
            sync_dir(created).map_err(io)?;
        }
        Ok(())
    }

    /// Removes temporary files left by writes interrupted by a crash.
    pub fn remove_temp_files(&self) -> Result<usize, StorageError> {
        let mut removed = 0;
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            let entries = fs::read_dir(&dir).map_err(|source| StorageError::Io {
                key: dir.display().to_string(),
                source,
            })?;
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.to_string_lossy().ends_with(TEMP_SUFFIX) {
                    let _ = fs::remove_file(&path);
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// Writes `value` to a fresh temporary file next to `path` and fsyncs it.
    fn write_temp(&self, path: &Path, key: &str, value: &[u8]) -> Result<PathBuf, StorageError> {
        let io = |source| StorageError::Io {
            key: key.to_owned(),
            source,
        };
        self.ensure_parent(path, key)?;
        let mut temp_name = path.as_os_str().to_owned();
        temp_name.push(format!(".{:016x}{TEMP_SUFFIX}", rand::random::<u64>()));
        let temp = PathBuf::from(temp_name);
        let result = (|| {
            let mut file = File::create(&temp)?;
            file.write_all(value)?;
            file.sync_all()
        })();
        if let Err(source) = result {
            let _ = fs::remove_file(&temp);
            return Err(io(source));
        }
        Ok(temp)
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Storage for FsStorage {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let path = self.path(key)?;
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StorageError::Io {
                key: key.to_owned(),
                source,
            }),
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
            match self.write_temp(&path, key, value) {
                Ok(temp) => staged.push((temp, path, key)),
                Err(e) => {
                    for (temp, _, _) in &staged {
                        let _ = fs::remove_file(temp);
                    }
                    return Err(e);
                }
            }
        }
        let mut dirs = BTreeSet::new();
        for (temp, path, key) in &staged {
            fs::rename(temp, path).map_err(|source| StorageError::Io {
                key: (*key).clone(),
                source,
            })?;
            dirs.insert(path.parent().expect("under root").to_path_buf());
        }
        for dir in dirs {
            sync_dir(&dir).map_err(|source| StorageError::Io {
                key: dir.display().to_string(),
                source,
            })?;
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
        fs::write(dir.path().join("checkpoint.0123456789abcdef.tmp~"), b"half").unwrap();
        assert_eq!(s.remove_temp_files().unwrap(), 1);
        assert_eq!(s.read("checkpoint").unwrap().unwrap(), b"c");
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
