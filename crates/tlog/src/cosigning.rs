//! The log's side of `tlog-witness`: asking witnesses to cosign a new checkpoint.
//!
//! For each witness the log remembers the size it last got cosigned (starting from 0, as
//! the spec allows for a client with no information). A `409 Conflict` tells it the
//! witness's real size; it rebuilds the consistency proof from there and retries once.
//! Every returned cosignature is verified with the witness's key before the log attaches
//! it to its checkpoint. The network is behind [`WitnessTransport`], so the protocol is
//! tested in-process and served over HTTP by [`crate::http`].

use thiserror::Error;

use crate::checkpoint::Checkpoint;
use crate::cosignature::CosignatureVerifier;
use crate::hash::Hash;
use crate::note::{Note, NoteSignature};
use crate::witness::{
    AddCheckpoint, CosignResponseError, check_cosign_response, parse_conflict_size,
};

/// Sends an `add-checkpoint` body to one witness and returns the status and body.
pub trait WitnessTransport {
    /// Performs the POST; `Err` for transport failures (no HTTP status).
    fn add_checkpoint(&self, body: &[u8]) -> Result<(u16, Vec<u8>), String>;
}

/// Why a witness did not cosign.
#[derive(Debug, Error)]
pub enum CosignError {
    /// The request could not be delivered.
    #[error("witness unreachable: {0}")]
    Transport(String),
    /// The witness refused.
    #[error("witness answered {status}: {body}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Response body (lossy UTF-8).
        body: String,
    },
    /// The witness's size is beyond the checkpoint: it saw a larger tree from this origin.
    #[error("witness has cosigned size {witness_size}, beyond this checkpoint's {size}")]
    WitnessAhead {
        /// The witness's size.
        witness_size: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The response was not a valid cosignature.
    #[error(transparent)]
    Response(#[from] CosignResponseError),
    /// The log could not build a proof.
    #[error("could not build consistency proof: {0}")]
    Proof(String),
    /// The checkpoint to cosign is malformed.
    #[error("checkpoint to cosign is malformed")]
    Checkpoint,
}

/// One witness as seen by the log.
#[derive(Debug)]
pub struct WitnessPeer<T> {
    /// The witness's cosignature key.
    pub verifier: CosignatureVerifier,
    /// How to reach it.
    pub transport: T,
    /// Size the witness last cosigned, as far as the log knows.
    pub known_size: u64,
}

impl<T: WitnessTransport> WitnessPeer<T> {
    /// A witness the log has never talked to.
    pub fn new(verifier: CosignatureVerifier, transport: T) -> WitnessPeer<T> {
        WitnessPeer {
            verifier,
            transport,
            known_size: 0,
        }
    }

    /// Asks the witness to cosign `checkpoint` (signed note bytes); `proof(old)` builds the
    /// consistency proof from `old` to the checkpoint's size.
    pub fn cosign(
        &mut self,
        checkpoint: &[u8],
        mut proof: impl FnMut(u64) -> Result<Vec<Hash>, String>,
    ) -> Result<NoteSignature, CosignError> {
        let note = Note::parse(checkpoint).map_err(|_| CosignError::Checkpoint)?;
        let size = Checkpoint::parse(note.text())
            .map_err(|_| CosignError::Checkpoint)?
            .size();
        let mut old = self.known_size;
        for attempt in 0..2 {
            if old > size {
                return Err(CosignError::WitnessAhead {
                    witness_size: old,
                    size,
                });
            }
            let request = AddCheckpoint {
                old_size: old,
                proof: if old == 0 {
                    Vec::new()
                } else {
                    proof(old).map_err(CosignError::Proof)?
                },
                checkpoint: checkpoint.to_vec(),
            };
            let (status, body) = self
                .transport
                .add_checkpoint(&request.to_bytes())
                .map_err(CosignError::Transport)?;
            match status {
                200 => {
                    let signature = check_cosign_response(note.text(), &body, &self.verifier)?;
                    self.known_size = size;
                    return Ok(signature);
                }
                409 if attempt == 0 => match parse_conflict_size(&body) {
                    Some(witness_size) => {
                        self.known_size = witness_size;
                        old = witness_size;
                    }
                    None => {
                        return Err(CosignError::Refused {
                            status,
                            body: String::from_utf8_lossy(&body).into_owned(),
                        });
                    }
                },
                _ => {
                    return Err(CosignError::Refused {
                        status,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                }
            }
        }
        Err(CosignError::Refused {
            status: 409,
            body: "size kept changing".into(),
        })
    }
}
