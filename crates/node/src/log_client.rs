//! Appending entries to the transparency log and building receipts from it.
//!
//! The log is a `masque log serve` process: `POST add-entries` (bearer token) appends and
//! answers `<first index> <count>` and the new checkpoint; witnesses cosign published
//! checkpoints shortly after. A receipt needs a checkpoint that carries the witness
//! quorum, so [`LogClient::receipt`] polls `checkpoint` until one verifies under the
//! network's policy and covers the entry, then computes the inclusion proof from the
//! public tiles.

use masque_client::{
    http::HttpClient,
    log::{HttpTiles, LogReader},
};
use masque_protocol::receipt::Receipt;
use masque_tlog::{
    checkpoint::Checkpoint, note::Note, policy::Policy, reader::TreeReader,
    verifier::verify_checkpoint,
};
use std::time::Duration;
use zeroize::Zeroizing;

/// Why an append or a receipt failed.
#[derive(Debug, thiserror::Error)]
pub enum LogClientError {
    /// The log did not answer, or refused.
    #[error("transparency log: {0}")]
    Log(String),
    /// No checkpoint with the witness quorum covered the entry in time.
    #[error(
        "transparency log: no witness-cosigned checkpoint covering entry {index} within {waited:?} (are the witnesses up?)"
    )]
    NotCosigned {
        /// The entry's index.
        index: u64,
        /// How long we waited.
        waited: Duration,
    },
}

/// A client of one log.
#[derive(Clone)]
pub struct LogClient {
    url: String,
    token: Option<std::sync::Arc<Zeroizing<String>>>,
    http: HttpClient,
    policy: std::sync::Arc<Policy>,
}

impl std::fmt::Debug for LogClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LogClient({})", self.url)
    }
}

impl LogClient {
    /// A client of the log at `url` (with the bearer `token` when it appends).
    pub fn new(
        url: &str,
        token: Option<Zeroizing<String>>,
        policy: Policy,
        http: HttpClient,
    ) -> Self {
        Self {
            url: url.trim_end_matches('/').to_owned(),
            token: token.map(std::sync::Arc::new),
            http,
            policy: std::sync::Arc::new(policy),
        }
    }

    /// Appends one entry; returns its index.
    pub async fn append(&self, entry: &[u8]) -> Result<u64, LogClientError> {
        let token = self
            .token
            .as_ref()
            .ok_or_else(|| LogClientError::Log("this custodian has no log token".into()))?;
        let mut body = (entry.len() as u16).to_be_bytes().to_vec();
        body.extend_from_slice(entry);
        let headers = [("authorization", format!("Bearer {}", token.as_str()))];
        let (status, answer) = self
            .http
            .call("POST", &format!("{}/add-entries", self.url), &headers, body)
            .await
            .map_err(|e| LogClientError::Log(e.to_string()))?;
        let text = String::from_utf8_lossy(&answer);
        if status != 200 {
            return Err(LogClientError::Log(format!(
                "append refused ({status}): {}",
                text.trim()
            )));
        }
        text.split_whitespace()
            .next()
            .and_then(|first| first.parse().ok())
            .ok_or_else(|| {
                LogClientError::Log(format!(
                    "unexpected append answer {:?}",
                    text.lines().next()
                ))
            })
    }

    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, LogClientError> {
        self.reader()
            .get(path)
            .await
            .map_err(|e| LogClientError::Log(e.to_string()))
    }

    /// A reader of the log's public files.
    fn reader(&self) -> LogReader {
        LogReader::new(&self.url, self.http.clone())
    }

    /// A receipt for `entry` at `index`, waiting at most `wait` for a cosigned
    /// checkpoint that covers it.
    pub async fn receipt(
        &self,
        entry: &[u8],
        index: u64,
        wait: Duration,
    ) -> Result<Receipt, LogClientError> {
        let start = tokio::time::Instant::now();
        let note = loop {
            if let Some(bytes) = self.get("checkpoint").await?
                && let Ok(verified) = verify_checkpoint(&self.policy, &bytes)
                && verified.checkpoint.size() > index
            {
                break bytes;
            }
            if start.elapsed() >= wait {
                return Err(LogClientError::NotCosigned {
                    index,
                    waited: wait,
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let parsed = Note::parse(&note).map_err(|e| LogClientError::Log(e.to_string()))?;
        let size = Checkpoint::parse(parsed.text())
            .map_err(|e| LogClientError::Log(e.to_string()))?
            .size();
        let tiles = HttpTiles::new(self.reader(), tokio::runtime::Handle::current());
        let proof = tokio::task::spawn_blocking(move || {
            TreeReader::new(&tiles, size).inclusion_proof(index)
        })
        .await
        .map_err(|e| LogClientError::Log(e.to_string()))?
        .map_err(|e| LogClientError::Log(format!("inclusion proof: {e}")))?;
        Ok(Receipt {
            entry: String::from_utf8_lossy(entry).into_owned(),
            index,
            proof: proof.iter().map(|h| h.to_base64()).collect(),
            checkpoint: String::from_utf8_lossy(&note).into_owned(),
        })
    }
}
