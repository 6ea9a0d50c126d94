//! Reading the transparency log over HTTP, as a person or a watcher does: the latest
//! checkpoint, verified against the network's witness policy, and every entry up to it,
//! checked against the checkpoint's root.
//!
//! The log serves C2SP tiles: `checkpoint`, hash tiles `tile/<L>/<N>` and entry bundles
//! `tile/entries/<N>` (a partial last bundle as `tile/entries/<N>.p/<W>`; when that is
//! gone because the bundle filled up, the full bundle is read and cut to `W`).

use crate::http::HttpClient;
use masque_tlog::{
    hash::{Hash, leaf_hash},
    policy::Policy,
    reference,
    storage::{Storage, StorageError},
    tiles::{TILE_WIDTH, TileId, decode_bundle},
    verifier::{VerifiedCheckpoint, verify_checkpoint},
};

/// Why the log could not be read or did not check out.
#[derive(Debug, thiserror::Error)]
pub enum LogReadError {
    /// The log did not answer.
    #[error("transparency log unreachable: {0}")]
    Unreachable(String),
    /// The log answered with an error status.
    #[error("transparency log: GET {path} answered {status}")]
    Status {
        /// What was asked.
        path: String,
        /// The HTTP status.
        status: u16,
    },
    /// The checkpoint does not carry the log's signature and the witness quorum.
    #[error("the log's checkpoint does not verify against the network's policy: {0}")]
    Checkpoint(String),
    /// A bundle is malformed or has the wrong number of entries.
    #[error("the log's entry bundle {path} is malformed: {message}")]
    Bundle {
        /// The bundle's path.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// The entries served do not hash to the checkpoint's root: the log showed us
    /// something other than what it signed.
    #[error(
        "the log's entries do not match its signed checkpoint (root differs at size {size}); do not trust this copy"
    )]
    RootMismatch {
        /// The checkpoint's tree size.
        size: u64,
    },
}

/// The whole log as of one verified checkpoint.
#[derive(Debug)]
pub struct LogSnapshot {
    /// The checkpoint, with the witnesses that cosigned it.
    pub checkpoint: VerifiedCheckpoint,
    /// Every entry, in order (entry `i` at index `i`).
    pub entries: Vec<Vec<u8>>,
}

/// Checks that `entries` are exactly the tree of `size` entries with root `root`.
pub fn check_entries(size: u64, root: &Hash, entries: &[Vec<u8>]) -> Result<(), LogReadError> {
    let leaves: Vec<_> = entries.iter().map(|e| leaf_hash(e)).collect();
    if entries.len() as u64 != size || reference::root(&leaves) != *root {
        return Err(LogReadError::RootMismatch { size });
    }
    Ok(())
}

/// A reader of one log.
#[derive(Debug, Clone)]
pub struct LogReader {
    url: String,
    http: HttpClient,
}

impl LogReader {
    /// A reader of the log at `url`.
    pub fn new(url: &str, http: HttpClient) -> Self {
        Self {
            url: url.trim_end_matches('/').to_owned(),
            http,
        }
    }

    /// `GET <url>/<path>`: `Some(body)` on 200, `None` on 404.
    pub async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, LogReadError> {
        let (status, body) = self
            .http
            .call("GET", &format!("{}/{path}", self.url), &[], Vec::new())
            .await
            .map_err(|e| LogReadError::Unreachable(e.to_string()))?;
        match status {
            200 => Ok(Some(body)),
            404 => Ok(None),
            status => Err(LogReadError::Status {
                path: path.to_owned(),
                status,
            }),
        }
    }

    /// The latest checkpoint, verified under `policy`.
    pub async fn checkpoint(&self, policy: &Policy) -> Result<VerifiedCheckpoint, LogReadError> {
        let bytes = self
            .get("checkpoint")
            .await?
            .ok_or_else(|| LogReadError::Checkpoint("the log has no checkpoint".into()))?;
        verify_checkpoint(policy, &bytes).map_err(|e| LogReadError::Checkpoint(e.to_string()))
    }

    /// The entries of bundle `n` (entries `256n..`) of a tree of `size` entries.
    pub async fn bundle(&self, n: u64, size: u64) -> Result<Vec<Vec<u8>>, LogReadError> {
        let width = if n < size / TILE_WIDTH {
            TILE_WIDTH
        } else {
            size % TILE_WIDTH
        };
        let tile = TileId::entries(n, width as u16);
        let (bytes, stored_width) = match self.get(&tile.path()).await? {
            Some(bytes) => (bytes, width),
            None if width < TILE_WIDTH => {
                // The partial bundle was replaced by the full one.
                let full = TileId::entries(n, TILE_WIDTH as u16);
                let bytes = self
                    .get(&full.path())
                    .await?
                    .ok_or_else(|| LogReadError::Bundle {
                        path: tile.path(),
                        message: "missing".into(),
                    })?;
                (bytes, TILE_WIDTH)
            }
            None => {
                return Err(LogReadError::Bundle {
                    path: tile.path(),
                    message: "missing".into(),
                });
            }
        };
        let entries =
            decode_bundle(&bytes, stored_width as usize).map_err(|e| LogReadError::Bundle {
                path: tile.path(),
                message: e.to_string(),
            })?;
        Ok(entries
            .into_iter()
            .take(width as usize)
            .map(<[u8]>::to_vec)
            .collect())
    }

    /// The latest checkpoint (verified under `policy`) and every entry it covers,
    /// checked against its root hash.
    pub async fn snapshot(&self, policy: &Policy) -> Result<LogSnapshot, LogReadError> {
        let checkpoint = self.checkpoint(policy).await?;
        let size = checkpoint.checkpoint.size();
        let mut entries = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(1 << 20));
        for n in 0..size.div_ceil(TILE_WIDTH) {
            entries.extend(self.bundle(n, size).await?);
        }
        check_entries(size, checkpoint.checkpoint.root(), &entries)?;
        Ok(LogSnapshot {
            checkpoint,
            entries,
        })
    }
}

/// The log's public tiles as a read-only [`Storage`], fetched over HTTP by blocking on a
/// runtime: for [`masque_tlog::reader::TreeReader`] (inclusion proofs), used from a
/// blocking thread, never from the runtime's own threads.
pub struct HttpTiles {
    reader: LogReader,
    handle: tokio::runtime::Handle,
}

impl HttpTiles {
    /// Tiles of `reader`'s log, fetched on `handle`'s runtime.
    pub fn new(reader: LogReader, handle: tokio::runtime::Handle) -> Self {
        Self { reader, handle }
    }
}

impl Storage for HttpTiles {
    fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.handle
            .block_on(self.reader.get(key))
            .map_err(|e| StorageError::Unavailable(format!("{key}: {e}")))
    }

    fn write(&self, key: &str, _value: &[u8]) -> Result<(), StorageError> {
        Err(StorageError::Unavailable(format!(
            "{key}: the log's tiles are read-only here"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_must_be_exactly_the_signed_tree() {
        let entries: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 3]).collect();
        let leaves: Vec<_> = entries.iter().map(|e| leaf_hash(e)).collect();
        let root = reference::root(&leaves);
        check_entries(5, &root, &entries).unwrap();
        let mut altered = entries.clone();
        altered[2][0] ^= 1;
        assert!(matches!(
            check_entries(5, &root, &altered),
            Err(LogReadError::RootMismatch { size: 5 })
        ));
        assert!(
            check_entries(5, &root, &entries[..4]).is_err(),
            "one left out"
        );
        let mut swapped = entries.clone();
        swapped.swap(0, 1);
        assert!(check_entries(5, &root, &swapped).is_err(), "reordered");
    }
}
