//! Message transport between the three parties.
//!
//! A [`Transport`] moves opaque byte messages between this party and the other two, in
//! order per direction. Protocols need only that; the transport decides how (in-process
//! channels in [`local`], TCP with TLS 1.3 and pinned certificates in [`tls`]). A peer that disconnects, stalls past the timeout, or sends a
//! message of the wrong size surfaces as a [`NetError`]: the protocol step that needed it
//! fails with that error and the engine's state is left as it was.

pub mod local;
pub mod tls;

use crate::party::PartyId;
use std::time::Duration;

/// Why a message could not be exchanged.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum NetError {
    /// The peer's end is gone.
    #[error("{peer} disconnected; check that the party is running and reachable")]
    Disconnected {
        /// The peer.
        peer: PartyId,
    },
    /// The peer sent nothing within the timeout.
    #[error("{peer} sent nothing for {timeout:?}; the query was abandoned")]
    Timeout {
        /// The peer.
        peer: PartyId,
        /// The timeout that passed.
        timeout: Duration,
    },
    /// The peer's message was not what the protocol step expects.
    #[error("{peer} sent a malformed message: {reason}")]
    Malformed {
        /// The peer.
        peer: PartyId,
        /// What was wrong.
        reason: String,
    },
    /// A party tried to talk to itself.
    #[error("a party cannot send to itself")]
    SelfMessage,
    /// The TLS handshake with the peer failed or was refused (for example a certificate
    /// that is not the one pinned for that party).
    #[error("TLS with {peer} failed: {reason}")]
    Tls {
        /// The peer.
        peer: PartyId,
        /// What went wrong (never key material).
        reason: String,
    },
    /// A message is larger than the transport's frame limit; nothing was sent.
    #[error(
        "a message of {len} bytes for {peer} exceeds the frame limit of {max} bytes; raise max_frame_len at all parties or send smaller batches"
    )]
    TooLarge {
        /// The intended receiver.
        peer: PartyId,
        /// The message's length.
        len: u64,
        /// The limit.
        max: u32,
    },
    /// The peer ended the session (its side of the query failed or finished) while this
    /// party still waits for a message from it.
    #[error(
        "{peer} left the query before sending what this party waits for; the query failed there"
    )]
    PeerLeft {
        /// The peer.
        peer: PartyId,
    },
    /// A session id that is open, or was used before, on this node.
    #[error(
        "session {session} is already open or was used before on this node; session ids are never reused"
    )]
    SessionInUse {
        /// The session id.
        session: u64,
    },
}

/// Ordered, reliable message delivery to and from the two other parties.
pub trait Transport: Send {
    /// This party.
    fn party(&self) -> PartyId;
    /// Sends one message to `to`; does not wait for the receiver.
    fn send(&mut self, to: PartyId, message: Vec<u8>) -> Result<(), NetError>;
    /// Receives the next message from `from`, waiting at most the transport's timeout.
    fn recv(&mut self, from: PartyId) -> Result<Vec<u8>, NetError>;
    /// Payload bytes sent so far.
    fn bytes_sent(&self) -> u64;
    /// The protocol session this transport carries, if it is bound to one (the TLS
    /// transport's sessions are; the in-process network is not). The engines refuse to
    /// run a session whose id differs from its transport's, so the PRF keys and the
    /// frames on the wire always name the same session.
    fn session(&self) -> Option<crate::randomness::SessionId> {
        None
    }
}
