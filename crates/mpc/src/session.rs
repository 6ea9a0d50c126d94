//! Session ids that cannot repeat.
//!
//! Every PRF draw of a session is keyed by (pairwise seed, protocol, session id)
//! ([`crate::randomness`]). If a custodian ever ran two sessions with the same key, it could
//! subtract the two sessions' masked messages and recover the victim's unmasked values
//! (exact distances to every record at every rotation). So each engine keeps a
//! [`SessionLedger`]: a session id is *claimed* before anything is sent and never again,
//! and the claim is written to disk (atomically, fsynced) before the session starts, so a
//! restarted engine refuses every id it used before the crash too. A failed session burns
//! its id. The three custodians take ids from the request sequence they agree on (the
//! node's job).
//!
//! Sessions may run concurrently and start in a different order at each custodian (the
//! TLS transport multiplexes them), so ids need not arrive in order: the ledger keeps the
//! highest id claimed and every id claimed within [`WINDOW`] below it; an id further below
//! is refused as too old (it might have been used and forgotten).
//!
//! Guarantees: with a file-backed ledger, an engine never runs two sessions with the same
//! id, across restarts, as long as the file is not rolled back (restoring an old backup of
//! it re-opens old ids: keep the ledger with the custodian's key, not with its data).
//! An in-memory ledger (tests, tools) only protects one process lifetime.

use crate::randomness::SessionId;
use masque_files::{FileError, WriteOptions, write_atomic};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The first line of a ledger file.
const FORMAT: &str = "masque-mpc-sessions/1";

/// How far below the highest id claimed an id may still be claimed (if unused).
pub const WINDOW: u64 = 4096;

/// A session id that may not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The id was used before (a replay, a retry or a restart).
    #[error(
        "session {given} refused: this engine already ran it; session ids are never reused \
         (a reused id would let a custodian unmask another session's messages)"
    )]
    Reused {
        /// The refused id.
        given: u64,
    },
    /// The id is too far below the highest one claimed to know whether it was used.
    #[error(
        "session {given} refused: more than {WINDOW} below the newest session {newest}; \
         take a fresh id from the request sequence"
    )]
    TooOld {
        /// The refused id.
        given: u64,
        /// The highest id claimed.
        newest: u64,
    },
    /// The transport carries another session than the one asked for.
    #[error(
        "session {given} refused: the transport is bound to session {transport}; open the \
         transport session with the same id"
    )]
    TransportMismatch {
        /// The id asked for.
        given: u64,
        /// The transport's session id.
        transport: u64,
    },
    /// The ledger could not be read or written; no session runs without its claim on disk.
    #[error("session ledger: {0}")]
    Storage(String),
}

#[derive(Debug, Default, PartialEq, Eq)]
struct State {
    /// Ids claimed within the window below the newest (the newest included).
    used: BTreeSet<u64>,
}

impl State {
    fn newest(&self) -> Option<u64> {
        self.used.last().copied()
    }

    fn to_text(&self) -> String {
        let ids: Vec<String> = self.used.iter().map(u64::to_string).collect();
        format!("{FORMAT}\n{}\n", ids.join(" "))
    }

    fn parse(text: &str) -> Option<State> {
        let body = text
            .strip_prefix(FORMAT)?
            .strip_prefix('\n')?
            .strip_suffix('\n')?;
        if body.contains('\n') {
            return None;
        }
        let used = if body.is_empty() {
            BTreeSet::new()
        } else {
            body.split(' ')
                .map(|id| id.parse().ok())
                .collect::<Option<_>>()?
        };
        Some(State { used })
    }
}

/// The record of the session ids an engine has used.
#[derive(Debug)]
pub struct SessionLedger {
    state: Mutex<State>,
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
            state: Mutex::new(State::default()),
            file: None,
        }
    }

    /// A ledger kept in `path` (created at the first claim).
    ///
    /// # Errors
    /// [`SessionError::Storage`] if the file exists but cannot be read or is not a ledger.
    pub fn open(path: &Path) -> Result<Self, SessionError> {
        let state = match std::fs::read_to_string(path) {
            Ok(text) => State::parse(&text).ok_or_else(|| {
                SessionError::Storage(format!(
                    "{} is not a session ledger (expected \"{FORMAT}\" and a line of ids)",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => {
                return Err(SessionError::Storage(
                    FileError::io("read", path, e).to_string(),
                ));
            }
        };
        Ok(Self {
            state: Mutex::new(state),
            file: Some(path.to_owned()),
        })
    }

    /// The highest id claimed, if any.
    pub fn newest(&self) -> Option<SessionId> {
        self.lock().newest().map(SessionId)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Claims `session` for a run over `net`: refused if `net` is bound to another session,
    /// then as [`SessionLedger::claim`].
    pub fn claim_for(
        &self,
        session: SessionId,
        net: &dyn crate::net::Transport,
    ) -> Result<(), SessionError> {
        if let Some(bound) = net.session()
            && bound != session
        {
            return Err(SessionError::TransportMismatch {
                given: session.0,
                transport: bound.0,
            });
        }
        self.claim(session)
    }

    /// Claims `session`: refused if it was claimed before, or if it is more than
    /// [`WINDOW`] below the newest claim; on success the claim is durable (for a
    /// file-backed ledger) before this returns.
    pub fn claim(&self, session: SessionId) -> Result<(), SessionError> {
        let mut state = self.lock();
        let given = session.0;
        if state.used.contains(&given) {
            return Err(SessionError::Reused { given });
        }
        if let Some(newest) = state.newest()
            && given.saturating_add(WINDOW) <= newest
        {
            return Err(SessionError::TooOld { given, newest });
        }
        let mut next = State {
            used: state.used.clone(),
        };
        next.used.insert(given);
        let newest = next.newest().unwrap_or(given);
        next.used = next.used.split_off(&newest.saturating_sub(WINDOW - 1));
        if let Some(path) = &self.file {
            write_atomic(path, next.to_text().as_bytes(), WriteOptions::REPLACE)
                .map_err(|e| SessionError::Storage(e.to_string()))?;
        }
        *state = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_used_once_in_any_order_and_the_claims_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p0.sessions");
        let ledger = SessionLedger::open(&path).unwrap();
        assert_eq!(ledger.newest(), None);
        // Out of order is fine (concurrent sessions start in different orders).
        for id in [5, 7, 6] {
            ledger.claim(SessionId(id)).unwrap();
        }
        for again in [5, 6, 7] {
            assert_eq!(
                ledger.claim(SessionId(again)),
                Err(SessionError::Reused { given: again })
            );
        }
        drop(ledger);
        let restarted = SessionLedger::open(&path).unwrap();
        assert_eq!(restarted.newest(), Some(SessionId(7)));
        assert!(matches!(
            restarted.claim(SessionId(6)),
            Err(SessionError::Reused { given: 6 })
        ));
        restarted.claim(SessionId(4)).unwrap();
        restarted.claim(SessionId(8)).unwrap();
        assert_eq!(
            SessionLedger::open(&path).unwrap().newest(),
            Some(SessionId(8))
        );
    }

    #[test]
    fn ids_far_below_the_newest_are_refused_and_the_window_stays_bounded() {
        let ledger = SessionLedger::in_memory();
        ledger.claim(SessionId(10)).unwrap();
        ledger.claim(SessionId(10 + 2 * WINDOW)).unwrap();
        // 10 is out of the window now: refused as too old, not forgotten into reuse.
        assert_eq!(
            ledger.claim(SessionId(10)),
            Err(SessionError::TooOld {
                given: 10,
                newest: 10 + 2 * WINDOW
            })
        );
        assert_eq!(
            ledger.claim(SessionId(10 + WINDOW)),
            Err(SessionError::TooOld {
                given: 10 + WINDOW,
                newest: 10 + 2 * WINDOW
            })
        );
        ledger.claim(SessionId(11 + WINDOW)).unwrap();
        for id in 0..3 * WINDOW {
            let _ = ledger.claim(SessionId(id));
        }
        assert!(ledger.lock().used.len() as u64 <= WINDOW);
    }

    #[test]
    fn a_damaged_ledger_is_refused_not_reset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger");
        for bad in [
            "",
            "7\n",
            "masque-mpc-sessions/1\nx\n",
            "masque-mpc-sessions/1\n7",
            "masque-mpc-sessions/1\n7\n8\n",
        ] {
            std::fs::write(&path, bad).unwrap();
            let err = SessionLedger::open(&path).unwrap_err();
            assert!(
                err.to_string().contains("not a session ledger"),
                "{bad:?}: {err}"
            );
        }
        std::fs::write(&path, "masque-mpc-sessions/1\n\n").unwrap();
        assert_eq!(SessionLedger::open(&path).unwrap().newest(), None);
    }
}
