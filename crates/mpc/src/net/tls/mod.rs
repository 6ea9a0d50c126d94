//! The TLS 1.3 transport between custodians: TCP, rustls with the `ring` provider,
//! certificates pinned per party, one connection per pair of parties with every query's
//! messages multiplexed over it.
//!
//! - [`config`]: the network config (`network.json`: addresses and pinned certificates)
//!   and [`generate_network`], which writes a fresh config and keys into a directory.
//! - [`identity`]: a party's private key and self-signed certificate (rcgen).
//! - [`verify`]: the pinned-certificate verifiers and the rustls configurations.
//! - [`frame`]: the frame format `[u32 len][u64 session][payload]`.
//! - [`TlsNode`] / [`TlsSession`]: a party's node and the per-query [`Transport`].
//! - [`loopback`]: three connected nodes on 127.0.0.1 in one process (tests, benches).
//!
//! Guarantees: only a peer holding the private key of the certificate pinned for it can
//! connect or be connected to; messages are confidential and integrity-protected in
//! transit, in order per session and direction. A peer that disconnects, stalls past the
//! timeout, or sends a malformed or oversized frame makes the sessions using it fail with
//! [`NetError::Disconnected`], [`NetError::Timeout`] or [`NetError::Malformed`]; a
//! refused handshake is [`NetError::Tls`]. A session that ends at one party (failed or
//! done) is announced to its peers, so a peer still waiting on it fails at once with
//! [`NetError::PeerLeft`]. Links are redialled, so the next query works
//! once the peer is back. Nothing panics on peer input.
//!
//! Not guaranteed: TLS hides contents, not traffic shape (message sizes and timing reveal
//! the query's shape, which is public anyway); a party's private key is protected only
//! by file permissions on disk and is held by rustls/ring in memory that is not zeroized.
//! See `docs/mpc-transport.md`.
//!
//! [`Transport`]: crate::net::Transport

mod checks;
pub mod config;
pub mod frame;
mod hub;
pub mod identity;
mod link;
mod node;
pub mod verify;

#[cfg(test)]
mod tests;

pub use config::{
    NetworkConfig, PartyEntry, assemble_network, generate_network, generate_party, load_party,
};
pub use identity::{PartyCertificate, PartyKey};
pub use node::{LINGER, TlsNode, TlsOptions, TlsSession};

use crate::net::NetError;
use crate::party::PartyId;
use std::time::Duration;

/// Why a TLS node or its configuration could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The network config or a key is unusable (the message says what to fix).
    #[error("network config: {0}")]
    Config(String),
    /// A file or socket operation failed.
    #[error("{what}: {reason}")]
    Io {
        /// What was being done (a path or an address).
        what: String,
        /// The system's reason.
        reason: String,
    },
    /// The nodes did not connect.
    #[error(transparent)]
    Net(#[from] NetError),
}

/// Three connected nodes on 127.0.0.1 (ephemeral ports) with fresh certificates, receive
/// timeout `timeout`, indexed by party. Returns once every link is up.
pub fn loopback(timeout: Duration) -> Result<[TlsNode; 3], TlsError> {
    loopback_with(TlsOptions::with_timeout(timeout))
}

/// [`loopback`] with explicit options.
pub fn loopback_with(options: TlsOptions) -> Result<[TlsNode; 3], TlsError> {
    let (config, keys, listeners) = loopback_config()?;
    let mut nodes = Vec::with_capacity(3);
    for ((p, key), listener) in PartyId::ALL.into_iter().zip(&keys).zip(listeners) {
        nodes.push(TlsNode::start_with(
            &config,
            p,
            key,
            options.clone(),
            Some(listener),
        )?);
    }
    for node in &nodes {
        node.wait_connected(options.timeout)?;
    }
    nodes
        .try_into()
        .map_err(|_| TlsError::Config("three nodes were expected".into()))
}

/// A config for three parties on bound 127.0.0.1 listeners, with their keys.
pub(crate) fn loopback_config()
-> Result<(NetworkConfig, Vec<PartyKey>, Vec<std::net::TcpListener>), TlsError> {
    let mut entries = Vec::with_capacity(3);
    let mut keys = Vec::with_capacity(3);
    let mut listeners = Vec::with_capacity(3);
    for p in PartyId::ALL {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| TlsError::Io {
            what: "binding a loopback port".into(),
            reason: e.to_string(),
        })?;
        let address = listener
            .local_addr()
            .map_err(|e| TlsError::Io {
                what: "a loopback port".into(),
                reason: e.to_string(),
            })?
            .to_string();
        let (key, certificate) = identity::generate(p)?;
        entries.push(PartyEntry {
            address,
            certificate,
        });
        keys.push(key);
        listeners.push(listener);
    }
    let entries: [PartyEntry; 3] = entries
        .try_into()
        .map_err(|_| TlsError::Config("three parties were expected".into()))?;
    Ok((NetworkConfig::new(entries)?, keys, listeners))
}
