//! Atomic, durable file writes: temporary file, fsync, rename (or link), fsync the
//! directory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::FileError;

/// Suffix of temporary files. A crash can leave such files behind; they never have the
/// name of a real file, and [`remove_temp_files`] cleans them up.
pub const TEMP_SUFFIX: &str = ".tmp~";

/// What to do when the target file already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Replace it atomically (readers see the old or the new contents, never a mix).
    Replace,
    /// Fail with [`FileError::Exists`], even if another process creates the file between
    /// any check and the write.
    Refuse,
}

/// How a file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// Whether an existing file may be replaced.
    pub overwrite: Overwrite,
    /// A secret: created with mode 0600 (owner read/write only), whatever the umask.
    pub secret: bool,
}

impl WriteOptions {
    /// A public file that replaces any existing one (state, data, configuration).
    pub const REPLACE: WriteOptions = WriteOptions {
        overwrite: Overwrite::Replace,
        secret: false,
    };
    /// A public file that must not exist yet.
    pub const CREATE_NEW: WriteOptions = WriteOptions {
        overwrite: Overwrite::Refuse,
        secret: false,
    };
    /// A secret key file: mode 0600 and never overwritten.
    pub const SECRET: WriteOptions = WriteOptions {
        overwrite: Overwrite::Refuse,
        secret: true,
    };
    /// A secret file that is rewritten in place of its previous version (a wallet's
    /// state): the new contents are created with mode 0600 and atomically replace the old
    /// file, so the file is 0600 after every write whatever mode the old one had. Create
    /// the first version with [`WriteOptions::SECRET`], so an existing file is never
    /// silently taken over.
    pub const SECRET_REPLACE: WriteOptions = WriteOptions {
        overwrite: Overwrite::Replace,
        secret: true,
    };
}

/// A file whose new contents are written and fsynced under a temporary name next to it,
/// waiting for [`Staged::commit`]. Dropped without committing, the temporary file is
/// removed.
#[derive(Debug)]
pub struct Staged {
    temp: PathBuf,
    target: PathBuf,
    overwrite: Overwrite,
    committed: bool,
    /// Written by someone else ([`Staged::reserve`]): not fsynced yet.
    filled_elsewhere: bool,
}

/// A fresh temporary name next to `path`: `<name>.<pid>-<counter><TEMP_SUFFIX>`.
fn temp_path(path: &Path, attempt: u64) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = path.as_os_str().to_owned();
    name.push(format!(
        ".{}-{n}-{attempt}{TEMP_SUFFIX}",
        std::process::id()
    ));
    PathBuf::from(name)
}

fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

impl Staged {
    /// Writes `bytes` to a new temporary file next to `path` and fsyncs it. The parent
    /// directory must exist.
    pub fn new(path: &Path, bytes: &[u8], options: WriteOptions) -> Result<Staged, FileError> {
        let (staged, mut file) = Staged::create(path, options)?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| FileError::io("write", path, e))?;
        Ok(staged)
    }

    /// Creates an empty temporary file next to `path` for another writer to fill (a child
    /// process such as ffmpeg, given [`Staged::temp`]); [`Staged::commit`] fsyncs it before
    /// putting it in place. The parent directory must exist.
    pub fn reserve(path: &Path, options: WriteOptions) -> Result<Staged, FileError> {
        let (mut staged, _file) = Staged::create(path, options)?;
        staged.filled_elsewhere = true;
        Ok(staged)
    }

    /// A new, empty temporary file next to `path`, removed again if the [`Staged`] is
    /// dropped uncommitted.
    fn create(path: &Path, options: WriteOptions) -> Result<(Staged, File), FileError> {
        if path.file_name().is_none() {
            return Err(FileError::io(
                "write",
                path,
                io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"),
            ));
        }
        let mut attempt = 0;
        let (temp, file) = loop {
            let temp = temp_path(path, attempt);
            let mut open = OpenOptions::new();
            open.write(true).create_new(true);
            #[cfg(unix)]
            if options.secret {
                std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
            }
            match open.open(&temp) {
                Ok(file) => break (temp, file),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 16 => {
                    attempt += 1;
                }
                Err(e) => return Err(FileError::io("write", path, e)),
            }
        };
        let staged = Staged {
            temp,
            target: path.to_owned(),
            overwrite: options.overwrite,
            committed: false,
            filled_elsewhere: false,
        };
        Ok((staged, file))
    }

    /// The temporary file (for [`Staged::reserve`]'s writer).
    pub fn temp(&self) -> &Path {
        &self.temp
    }

    /// The file this will become.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Puts the new contents in place under the target name. The directory entry is
    /// durable only after [`sync_dir`] of the target's directory.
    pub fn commit(mut self) -> Result<(), FileError> {
        if self.filled_elsewhere {
            File::open(&self.temp)
                .and_then(|f| f.sync_all())
                .map_err(|e| FileError::io("write", &self.target, e))?;
        }
        match self.overwrite {
            Overwrite::Replace => fs::rename(&self.temp, &self.target)
                .map_err(|e| FileError::io("write", &self.target, e))?,
            Overwrite::Refuse => {
                // link(2) fails if the name exists: no window for a racing creator.
                match fs::hard_link(&self.temp, &self.target) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        return Err(FileError::Exists {
                            path: self.target.clone(),
                        });
                    }
                    Err(e) => return Err(FileError::io("write", &self.target, e)),
                }
                let _ = fs::remove_file(&self.temp);
            }
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Fsyncs a directory, so that entries created or renamed in it survive a crash.
pub fn sync_dir(dir: &Path) -> Result<(), FileError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| FileError::io("sync directory", dir, e))
}

/// Writes `bytes` to `path` atomically and durably (see the crate docs). The parent
/// directory must exist.
pub fn write_atomic(path: &Path, bytes: &[u8], options: WriteOptions) -> Result<(), FileError> {
    Staged::new(path, bytes, options)?.commit()?;
    sync_dir(parent_of(path))
}

/// Removes the temporary files (ending in [`TEMP_SUFFIX`]) that interrupted writes left in
/// `dir` and, if `recursive`, in its subdirectories. Only call this where no other process
/// is writing (under a [`crate::WriterLock`]). Returns how many were removed.
pub fn remove_temp_files(dir: &Path, recursive: bool) -> Result<usize, FileError> {
    let mut removed = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| FileError::io("list", &dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| FileError::io("list", &dir, e))?;
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|e| FileError::io("inspect", &path, e))?;
            if kind.is_dir() {
                if recursive {
                    stack.push(path);
                }
            } else if path.to_string_lossy().ends_with(TEMP_SUFFIX) {
                fs::remove_file(&path).map_err(|e| FileError::io("remove", &path, e))?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replace_writes_and_replaces_leaving_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        write_atomic(&path, b"one", WriteOptions::REPLACE).unwrap();
        write_atomic(&path, b"two", WriteOptions::REPLACE).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(names(dir.path()), ["state"]);
    }

    #[test]
    fn refuse_never_overwrites_and_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        write_atomic(&path, b"first", WriteOptions::SECRET).unwrap();
        let err = write_atomic(&path, b"second", WriteOptions::SECRET).unwrap_err();
        assert!(matches!(&err, FileError::Exists { path: p } if p == &path));
        assert!(err.to_string().contains("key"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"first");
        assert_eq!(names(dir.path()), ["key"]);
    }

    #[test]
    fn a_reserved_file_filled_by_another_writer_is_put_in_place_or_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clip.mp4");
        let staged = Staged::reserve(&path, WriteOptions::CREATE_NEW).unwrap();
        assert!(staged.temp().exists() && !path.exists());
        fs::write(staged.temp(), b"frames").unwrap();
        staged.commit().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"frames");
        assert_eq!(names(dir.path()), ["clip.mp4"]);
        // A writer that failed: dropping the reservation leaves nothing behind.
        let other = dir.path().join("other.mp4");
        let staged = Staged::reserve(&other, WriteOptions::REPLACE).unwrap();
        fs::write(staged.temp(), b"half").unwrap();
        drop(staged);
        assert_eq!(names(dir.path()), ["clip.mp4"]);
    }

    #[test]
    fn a_file_created_after_staging_is_not_overwritten() {
        // The race the old check-then-rename code lost: the name appears between the
        // existence check (here: staging) and putting the file in place.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        let staged = Staged::new(&path, b"ours", WriteOptions::SECRET).unwrap();
        fs::write(&path, b"theirs").unwrap();
        assert!(matches!(staged.commit(), Err(FileError::Exists { .. })));
        assert_eq!(fs::read(&path).unwrap(), b"theirs");
        assert_eq!(names(dir.path()), ["key"]);
    }

    #[cfg(unix)]
    #[test]
    fn secrets_are_0600_whatever_the_umask_and_public_files_are_not_forced() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        write_atomic(&secret, b"s", WriteOptions::SECRET).unwrap();
        let mode = fs::metadata(&secret).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let public = dir.path().join("public");
        write_atomic(&public, b"p", WriteOptions::CREATE_NEW).unwrap();
        let mode = fs::metadata(&public).unwrap().permissions().mode() & 0o777;
        assert_ne!(mode & 0o444, 0, "{mode:o}");
    }

    #[cfg(unix)]
    #[test]
    fn secret_replace_rewrites_an_existing_secret_and_leaves_it_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wallet.json");
        write_atomic(&path, b"first", WriteOptions::SECRET).unwrap();
        write_atomic(&path, b"second", WriteOptions::SECRET_REPLACE).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        // Even a file someone opened up is 0600 again after the next write.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&path, b"third", WriteOptions::SECRET_REPLACE).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"third");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(names(dir.path()), ["wallet.json"]);
    }

    #[test]
    fn dropped_stage_leaves_nothing_and_missing_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        drop(Staged::new(&path, b"x", WriteOptions::REPLACE).unwrap());
        assert!(names(dir.path()).is_empty());
        let missing = dir.path().join("no/such/dir/file");
        let err = write_atomic(&missing, b"x", WriteOptions::REPLACE).unwrap_err();
        assert!(err.to_string().contains("no/such/dir/file"), "{err}");
    }

    #[test]
    fn leftover_temp_files_are_removed_recursively() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("a.1-2-0.tmp~"), b"half").unwrap();
        fs::write(dir.path().join("sub/b.1-2-0.tmp~"), b"half").unwrap();
        fs::write(dir.path().join("keep"), b"k").unwrap();
        assert_eq!(remove_temp_files(dir.path(), false).unwrap(), 1);
        assert_eq!(remove_temp_files(dir.path(), true).unwrap(), 1);
        assert_eq!(names(dir.path()), ["keep", "sub"]);
    }
}
