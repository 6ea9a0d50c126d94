//! Session ids that cannot repeat.
//!
//! Every PRF draw of a session is keyed by (pairwise seed, protocol, session id)
//! ([`crate::randomness`]). If a custodian ever ran two sessions with the same key, it could
//! subtract the two sessions' masked messages and recover the victim's unmasked values
//! (exact distances to every record at every rotation). So each engine keeps a
//! [`SessionLedger`]: a session id is *claimed* before anything is sent, ids must strictly
//! increase, and the claim is written to disk (atomically, fsynced) before the session
//! starts, so a restarted engine refuses every id it used before the crash too. A failed
//! session burns its id. The three custodians take ids from the request sequence they
//! agree on (the node's job), so they claim the same ids in the same order.
//!
//! Guarantees: with a file-backed ledger, an engine never runs two sessions with the same
//! id, across restarts, as long as the file is not rolled back (restoring an old backup of
//! it re-opens old ids: keep the ledger with the custodian's key, not with its data).
//! An in-memory ledger (tests, tools) only protects one process lifetime.

use crate::randomness::SessionId;
use masque_files::{FileError, WriteOptions, write_atomic};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The first line of a ledger file.
const FORMAT: &str = "masque-mpc-sessions/1";

/// A session id that may not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The id is not above the last one claimed (a replay, a retry or a restart that
    /// forgot its counter).
    #[error(
        "session {given} refused: this engine already used session {last}; session ids must \
         increase and are never reused (a reused id would let a custodian unmask messages)"
    )]
    Reused {
        /// The refused id.
        given: u64,
        /// The last id claimed.
        last: u64,
    },
    /// The ledger could not be read or written; no session runs without its claim on disk.
    #[error("session ledger: {0}")]
    Storage(String),
}

/// The record of the session ids an engine has used.
#[derive(Debug)]
pub struct SessionLedger {
    last: Mutex<Option<u64>>,
    file: Option<PathBuf>,
}

impl Default for SessionLedger {
    fn default() -> Self {
        Self::in_memory()
    }
}

impl SessionLedger {
    /// A ledger that lives as long as the process (tests, benches, one-shot tools).
    pub fn in_memory() -> Self {
        Self {
            last: Mutex::new(None),
            file: None,
        }
    }

    /// A ledger kept in `path` (created at the first claim).
    ///
    /// # Errors
    /// [`SessionError::Storage`] if the file exists but cannot be read or is not a ledger.
    pub fn open(path: &Path) -> Result<Self, SessionError> {
        let last = match std::fs::read_to_string(path) {
            Ok(text) => Some(parse(&text).ok_or_else(|| {
                SessionError::Storage(format!(
                    "{} is not a session ledger (expected \"{FORMAT} <last id>\")",
                    path.display()
                ))
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(SessionError::Storage(
                    FileError::Io {
                        action: "read",
                        path: path.to_owned(),
                        source: e,
                    }
                    .to_string(),
                ));
            }
        };
        Ok(Self {
            last: Mutex::new(last),
            file: Some(path.to_owned()),
        })
    }

    /// The last id claimed, if any.
    pub fn last(&self) -> Option<SessionId> {
        self.last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(SessionId)
    }

    /// Claims `session`: refused unless it is above every id claimed before; on success
    /// the claim is durable (for a file-backed ledger) before this returns.
    pub fn claim(&self, session: SessionId) -> Result<(), SessionError> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = *last
            && session.0 <= l
        {
            return Err(SessionError::Reused {
                given: session.0,
                last: l,
            });
        }
        if let Some(path) = &self.file {
            let text = format!("{FORMAT} {}\n", session.0);
            write_atomic(path, text.as_bytes(), WriteOptions::REPLACE)
                .map_err(|e| SessionError::Storage(e.to_string()))?;
        }
        *last = Some(session.0);
        Ok(())
    }
}

fn parse(text: &str) -> Option<u64> {
    let rest = text
        .strip_suffix('\n')?
        .strip_prefix(FORMAT)?
        .strip_prefix(' ')?;
    rest.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_increase_and_the_claim_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p0.sessions");
        let ledger = SessionLedger::open(&path).unwrap();
        assert_eq!(ledger.last(), None);
        ledger.claim(SessionId(5)).unwrap();
        for again in [5, 4, 0] {
            assert_eq!(
                ledger.claim(SessionId(again)),
                Err(SessionError::Reused {
                    given: again,
                    last: 5
                })
            );
        }
        drop(ledger);
        let restarted = SessionLedger::open(&path).unwrap();
        assert_eq!(restarted.last(), Some(SessionId(5)));
        assert!(matches!(
            restarted.claim(SessionId(5)),
            Err(SessionError::Reused { .. })
        ));
        restarted.claim(SessionId(6)).unwrap();
        assert_eq!(
            SessionLedger::open(&path).unwrap().last(),
            Some(SessionId(6))
        );
    }

    #[test]
    fn a_damaged_ledger_is_refused_not_reset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger");
        for bad in [
            "",
            "7\n",
            "masque-mpc-sessions/1 x\n",
            "masque-mpc-sessions/1 7",
        ] {
            std::fs::write(&path, bad).unwrap();
            let err = SessionLedger::open(&path).unwrap_err();
            assert!(
                err.to_string().contains("not a session ledger"),
                "{bad:?}: {err}"
            );
        }
    }
}
