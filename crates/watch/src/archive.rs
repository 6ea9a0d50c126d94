//! The watcher's copy of the log's entries: two append-only files, the entries back to
//! back (`entries.dat`) and the end offset of each (`entries.idx`, 8 bytes little-endian
//! per entry), so entry `i` is one positioned read.
//!
//! Written before the database commit that moves the watcher past them and made durable
//! first; at open, anything past the committed size (a batch whose commit never
//! happened) is cut off. So the archive always holds exactly the committed entries. A
//! flat file is a third the size of the same entries in a B-tree and ten times faster to
//! append (measured with `masque bench watch`, docs/BENCHMARKS.md).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::WatchError;

/// The archive of one watcher.
pub struct Archive {
    data: File,
    index: File,
    /// Entries and data bytes written, guarded for the (single) writer.
    end: Mutex<(u64, u64)>,
    dir: PathBuf,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Archive({})", self.dir.display())
    }
}

impl Archive {
    /// Opens (creating) the archive in `dir` and cuts it to `committed` entries.
    pub fn open(dir: &Path, committed: u64) -> Result<Self, WatchError> {
        let err = |e: std::io::Error| WatchError::Store {
            path: dir.display().to_string(),
            message: format!("entry archive: {e}"),
        };
        let open = |name: &str| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(dir.join(name))
                .map_err(err)
        };
        let data = open("entries.dat")?;
        let index = open("entries.idx")?;
        let entries = index.metadata().map_err(err)?.len() / 8;
        if entries < committed {
            return Err(WatchError::Store {
                path: dir.display().to_string(),
                message: format!(
                    "the entry archive holds {entries} entries but the state says {committed} \
                     were committed; the archive was truncated or replaced: move the state \
                     directory away to start over"
                ),
            });
        }
        let archive = Self {
            data,
            index,
            end: Mutex::new((0, 0)),
            dir: dir.to_owned(),
        };
        let bytes = if committed == 0 {
            0
        } else {
            archive.end_of(committed - 1)?
        };
        archive.index.set_len(committed * 8).map_err(err)?;
        archive.data.set_len(bytes).map_err(err)?;
        *archive.end.lock().unwrap_or_else(|p| p.into_inner()) = (committed, bytes);
        Ok(archive)
    }

    fn err(&self, e: std::io::Error) -> WatchError {
        WatchError::Store {
            path: self.dir.display().to_string(),
            message: format!("entry archive: {e}"),
        }
    }

    /// The end offset of entry `i` in the data file.
    fn end_of(&self, i: u64) -> Result<u64, WatchError> {
        let mut bytes = [0u8; 8];
        self.index
            .read_exact_at(&mut bytes, i * 8)
            .map_err(|e| self.err(e))?;
        Ok(u64::from_le_bytes(bytes))
    }

    /// Appends `entries` as entries `first..`, durably. `first` must be the archive's
    /// length.
    pub fn append(&self, first: u64, entries: &[Vec<u8>]) -> Result<(), WatchError> {
        let mut end = self.end.lock().unwrap_or_else(|p| p.into_inner());
        if first != end.0 {
            return Err(WatchError::Store {
                path: self.dir.display().to_string(),
                message: format!(
                    "entry archive: appending at {first}, but it holds {} entries",
                    end.0
                ),
            });
        }
        if entries.is_empty() {
            return Ok(());
        }
        let mut offsets = Vec::with_capacity(entries.len() * 8);
        let mut data = Vec::with_capacity(entries.iter().map(Vec::len).sum());
        let mut at = end.1;
        for e in entries {
            data.extend_from_slice(e);
            at += e.len() as u64;
            offsets.extend_from_slice(&at.to_le_bytes());
        }
        let write = |file: &File, offset: u64, bytes: &[u8]| -> std::io::Result<()> {
            file.write_all_at(bytes, offset)?;
            file.sync_data()
        };
        write(&self.data, end.1, &data).map_err(|e| self.err(e))?;
        write(&self.index, end.0 * 8, &offsets).map_err(|e| self.err(e))?;
        *end = (first + entries.len() as u64, at);
        Ok(())
    }

    /// Entries `from..from + limit`, fewer at the end.
    pub fn read(&self, from: u64, limit: u64) -> Result<Vec<Vec<u8>>, WatchError> {
        let len = self.end.lock().unwrap_or_else(|p| p.into_inner()).0;
        let to = from.saturating_add(limit).min(len);
        if from >= to {
            return Ok(Vec::new());
        }
        let mut ends = vec![0u8; ((to - from) * 8) as usize];
        self.index
            .read_exact_at(&mut ends, from * 8)
            .map_err(|e| self.err(e))?;
        let ends: Vec<u64> = ends
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        let start = if from == 0 { 0 } else { self.end_of(from - 1)? };
        let last = *ends.last().expect("at least one entry");
        let mut data = vec![0u8; (last - start) as usize];
        self.data
            .read_exact_at(&mut data, start)
            .map_err(|e| self.err(e))?;
        let mut out = Vec::with_capacity(ends.len());
        let mut at = start;
        for end in ends {
            out.push(data[(at - start) as usize..(end - start) as usize].to_vec());
            at = end;
        }
        Ok(out)
    }

    /// Calls `f` on each of the first `size` entries, in order.
    pub fn for_each(&self, size: u64, mut f: impl FnMut(u64, &[u8])) -> Result<(), WatchError> {
        let mut from = 0;
        while from < size {
            let chunk = self.read(from, (size - from).min(65_536))?;
            if chunk.is_empty() {
                break;
            }
            for (i, e) in chunk.iter().enumerate() {
                f(from + i as u64, e);
            }
            from += chunk.len() as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_reads_and_cuts_back_to_the_committed_size() {
        let dir = tempfile::tempdir().unwrap();
        let entries: Vec<Vec<u8>> = (0..100u8).map(|i| vec![i; i as usize + 1]).collect();
        {
            let a = Archive::open(dir.path(), 0).unwrap();
            a.append(0, &entries[..40]).unwrap();
            a.append(40, &entries[40..]).unwrap();
            assert!(a.append(3, &entries[..1]).is_err(), "not at the end");
            assert_eq!(a.read(0, 1000).unwrap(), entries);
            assert_eq!(a.read(37, 5).unwrap(), entries[37..42].to_vec());
            assert!(a.read(100, 5).unwrap().is_empty());
        }
        // Only 60 were committed: the rest is cut off and appended again.
        let a = Archive::open(dir.path(), 60).unwrap();
        assert_eq!(a.read(0, 1000).unwrap(), entries[..60].to_vec());
        a.append(60, &entries[60..]).unwrap();
        let mut seen = Vec::new();
        a.for_each(100, |i, e| seen.push((i, e.to_vec()))).unwrap();
        assert_eq!(seen.len(), 100);
        assert_eq!(seen[99].1, entries[99]);
        drop(a);
        // A state that claims more than the archive holds is refused.
        assert!(Archive::open(dir.path(), 101).is_err());
    }
}
