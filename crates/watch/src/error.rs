//! The watcher's errors.

/// Why the watcher could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The watcher's database could not be read or written.
    #[error("watcher state at {path}: {message}")]
    Store {
        /// The database file.
        path: String,
        /// What failed.
        message: String,
    },
    /// The log could not be read.
    #[error(transparent)]
    Log(#[from] masque_client::log::LogReadError),
    /// A configuration input (network description, audit key, peer list) is unusable.
    #[error("{what}: {message}")]
    Input {
        /// Which input.
        what: String,
        /// What is wrong with it and what to do.
        message: String,
    },
    /// An evidence bundle is malformed or does not prove what it claims.
    #[error("evidence does not check out: {0}")]
    Evidence(String),
    /// Something was asked that does not exist (an unknown alert id).
    #[error("{0}")]
    NotFound(String),
}

impl WatchError {
    /// An [`WatchError::Input`] error.
    pub fn input(what: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Input {
            what: what.into(),
            message: message.into(),
        }
    }
}
