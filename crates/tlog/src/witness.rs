//! C2SP `tlog-witness`: the `add-checkpoint` protocol, as a witness (server side logic)
//! and as a log asking witnesses (request building and response checking).
//!
//! Request body: `old <size>\n`, up to 63 base64 consistency-proof lines, an empty line,
//! then the signed checkpoint. The witness answers with cosignature lines, or with the
//! spec's status codes: 400 malformed or old size above the checkpoint size, 403 not
//! signed by a trusted key of the origin (or a bad signature by one), 404 unknown origin,
//! 409 old size is not the size it last cosigned (body: that size and a newline,
//! `Content-Type: text/x.tlog.size`) or the checkpoint has that size but another root (a
//! fork: the signed note is kept under [`fork_evidence_key`]), 422 the proof does not
//! verify, or an empty tree with a non-empty root.
//!
//! The witness keeps, per origin, the last checkpoint it cosigned. Checking the old size
//! and recording the new checkpoint happen under one lock and the record is written
//! atomically and durably before the cosignature is returned, so concurrent requests can
//! never roll the witness back.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::checkpoint::{Checkpoint, CheckpointError, parse_decimal};
use crate::cosignature::{CosignatureSigner, CosignatureVerifier, now_unix};
use crate::hash::Hash;
use crate::keys::{PublicKey, SecretKey, TYPE_COSIGNATURE_V1};
use crate::note::{self, Ed25519Verifier, Note, NoteError, NoteSignature, NoteVerifier};
use crate::storage::{Storage, StorageError};
use crate::tree;

/// Most consistency-proof lines a request may carry.
pub const MAX_PROOF_LINES: usize = 63;

/// An `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// Size of the checkpoint the client believes the witness last cosigned.
    pub old_size: u64,
    /// Consistency proof from `old_size` to the checkpoint.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint: Vec<u8>,
}

impl AddCheckpoint {
    /// The request body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("old {}\n", self.old_size);
        for h in &self.proof {
            out.push_str(&h.to_base64());
            out.push('\n');
        }
        out.push('\n');
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.checkpoint);
        bytes
    }

    /// Parses a request body strictly.
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, WitnessError> {
        let bad = |m: &str| WitnessError::BadRequest(m.to_owned());
        let split = body
            .windows(2)
            .position(|w| w == b"\n\n")
            .ok_or_else(|| bad("missing empty line before the checkpoint"))?;
        let head = std::str::from_utf8(&body[..split + 1])
            .map_err(|_| bad("request header is not UTF-8"))?;
        let checkpoint = body[split + 2..].to_vec();
        let mut lines = head
            .strip_suffix('\n')
            .expect("ends with newline")
            .split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .ok_or_else(|| bad("first line must be \"old <size>\""))?;
        let old_size =
            parse_decimal(old).ok_or_else(|| bad("old size is not a canonical decimal"))?;
        let proof: Vec<Hash> = lines
            .map(|l| Hash::from_base64(l).ok_or_else(|| bad("proof line is not a base64 hash")))
            .collect::<Result<_, _>>()?;
        if proof.len() > MAX_PROOF_LINES {
            return Err(bad("more than 63 proof lines"));
        }
        Ok(AddCheckpoint {
            old_size,
            proof,
            checkpoint,
        })
    }
}

/// A refused `add-checkpoint`, with its HTTP status.
#[derive(Debug, Error)]
pub enum WitnessError {
    /// 400.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 403.
    #[error("checkpoint not signed by a trusted key of its origin: {0}")]
    Forbidden(String),
    /// 404.
    #[error("unknown log origin {0:?}")]
    UnknownOrigin(String),
    /// 409: the witness last cosigned this size.
    #[error("old size does not match; the witness last cosigned size {0}")]
    Conflict(u64),
    /// 422.
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    /// 500: the witness could not record its state (nothing was cosigned).
    #[error("witness storage failed: {0}")]
    Storage(#[from] StorageError),
}

impl WitnessError {
    /// The HTTP status code the spec assigns.
    pub fn status(&self) -> u16 {
        match self {
            WitnessError::BadRequest(_) => 400,
            WitnessError::Forbidden(_) => 403,
            WitnessError::UnknownOrigin(_) => 404,
            WitnessError::Conflict(_) => 409,
            WitnessError::Unprocessable(_) => 422,
            WitnessError::Storage(_) => 500,
        }
    }
}

/// A witness: its key, the logs it follows, and its per-origin state.
pub struct Witness<S: Storage> {
    key: SecretKey,
    logs: HashMap<String, Vec<Ed25519Verifier>>,
    storage: S,
    lock: Mutex<()>,
}

impl<S: Storage> std::fmt::Debug for Witness<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness")
            .field("name", self.key.name())
            .field("logs", &self.logs.keys())
            .finish_non_exhaustive()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Storage key of the state for one origin.
fn state_key(origin: &str) -> String {
    format!("witness/{}", hex(&Sha256::digest(origin.as_bytes())))
}

/// Storage key under which a checkpoint that forks the cosigned one is kept as evidence:
/// `witness-forks/<SHA-256 of the origin>/<SHA-256 of the signed note>`.
pub fn fork_evidence_key(origin: &str, signed_note: &[u8]) -> String {
    format!(
        "witness-forks/{}/{}",
        hex(&Sha256::digest(origin.as_bytes())),
        hex(&Sha256::digest(signed_note))
    )
}

impl<S: Storage> Witness<S> {
    /// A witness signing with `key` that follows the logs of `log_keys` (type `0x01` keys,
    /// named after their origin).
    pub fn new(
        key: SecretKey,
        log_keys: Vec<PublicKey>,
        storage: S,
    ) -> Result<Witness<S>, crate::keys::KeyError> {
        let mut logs: HashMap<String, Vec<Ed25519Verifier>> = HashMap::new();
        for k in log_keys {
            logs.entry(k.name().as_str().to_owned())
                .or_default()
                .push(Ed25519Verifier::new(k)?);
        }
        Ok(Witness {
            key,
            logs,
            storage,
            lock: Mutex::new(()),
        })
    }

    /// The witness's storage (its per-origin state and kept fork evidence).
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// The witness's cosignature public key.
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key(TYPE_COSIGNATURE_V1)
    }

    /// The checkpoint last cosigned for `origin`, if any.
    pub fn latest(&self, origin: &str) -> Result<Option<Checkpoint>, WitnessError> {
        let Some(bytes) = self.storage.read(&state_key(origin))? else {
            return Ok(None);
        };
        let text = String::from_utf8(bytes)
            .map_err(|_| WitnessError::Unprocessable("corrupt witness state".into()))?;
        Checkpoint::parse(&text)
            .map(Some)
            .map_err(|e| WitnessError::Unprocessable(format!("corrupt witness state: {e}")))
    }

    /// Handles an `add-checkpoint` body; returns the response body (cosignature lines).
    pub fn add_checkpoint(&self, body: &[u8]) -> Result<Vec<u8>, WitnessError> {
        let request = AddCheckpoint::parse(body)?;
        let note = Note::parse(&request.checkpoint)
            .map_err(|e| WitnessError::BadRequest(format!("checkpoint note: {e}")))?;
        let origin = note
            .text()
            .split('\n')
            .next()
            .unwrap_or_default()
            .to_owned();
        let verifiers = self
            .logs
            .get(&origin)
            .ok_or_else(|| WitnessError::UnknownOrigin(origin.clone()))?;
        let known: Vec<&dyn NoteVerifier> =
            verifiers.iter().map(|v| v as &dyn NoteVerifier).collect();
        let note = note::verify(note, &known)
            .map_err(|e| WitnessError::Forbidden(e.to_string()))?
            .note;
        let checkpoint = match Checkpoint::parse(note.text()) {
            Ok(c) => c,
            Err(CheckpointError::EmptyTreeRoot) => {
                return Err(WitnessError::Unprocessable(
                    "size 0 with a root other than the empty tree's".into(),
                ));
            }
            Err(e) => return Err(WitnessError::BadRequest(e.to_string())),
        };
        if request.old_size > checkpoint.size() {
            return Err(WitnessError::BadRequest(
                "old size is larger than the checkpoint size".into(),
            ));
        }
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let latest = self.latest(&origin)?;
        let (known_size, known_root) = latest
            .as_ref()
            .map_or((0, Hash::empty_root()), |c| (c.size(), *c.root()));
        if request.old_size != known_size {
            return Err(WitnessError::Conflict(known_size));
        }
        if checkpoint.size() == known_size && checkpoint.root() != &known_root {
            // The log signed two roots for one size: the equivocation witnesses exist to
            // catch. Keep the signed note as evidence and answer as for any size mismatch.
            let key = fork_evidence_key(&origin, &request.checkpoint);
            self.storage.write(&key, &request.checkpoint)?;
            tracing::error!(
                origin = %origin,
                size = known_size,
                evidence = %key,
                "log signed a second root for a size this witness already cosigned; kept the signed note as evidence"
            );
            return Err(WitnessError::Conflict(known_size));
        }
        if request.old_size == 0 && !request.proof.is_empty() {
            return Err(WitnessError::Unprocessable(
                "a proof from size 0 must be empty".into(),
            ));
        }
        tree::verify_consistency(
            known_size,
            checkpoint.size(),
            &request.proof,
            &known_root,
            checkpoint.root(),
        )
        .map_err(|e| WitnessError::Unprocessable(format!("consistency proof: {e}")))?;
        let text = note.text();
        // Record first (durably), then cosign: a cosignature never outruns the state.
        self.storage.write(&state_key(&origin), text.as_bytes())?;
        let signature = CosignatureSigner::new(&self.key).sign_at(text, now_unix());
        Ok(format!("{}\n", signature.to_line()).into_bytes())
    }
}

/// A witness response that a log cannot use.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CosignResponseError {
    /// Not signature lines.
    #[error("witness response is not a list of signature lines")]
    Malformed,
    /// No valid cosignature by the expected witness key.
    #[error("witness response has no valid cosignature by the expected key: {0}")]
    NoValidCosignature(NoteError),
}

/// Checks a witness's `200` response: appends its lines to the checkpoint and verifies
/// them with the witness key; returns the witness's cosignature.
pub fn check_cosign_response(
    checkpoint_text: &str,
    response: &[u8],
    witness: &CosignatureVerifier,
) -> Result<NoteSignature, CosignResponseError> {
    let mut note_bytes = format!("{checkpoint_text}\n").into_bytes();
    note_bytes.extend_from_slice(response);
    let parsed = Note::parse(&note_bytes).map_err(|_| CosignResponseError::Malformed)?;
    if parsed.text() != checkpoint_text {
        return Err(CosignResponseError::Malformed);
    }
    let opened =
        note::verify(parsed, &[witness]).map_err(CosignResponseError::NoValidCosignature)?;
    Ok(opened
        .verified_signatures()
        .next()
        .expect("at least one verified")
        .clone())
}

/// Parses a `409` response body (`<size>\n`).
pub fn parse_conflict_size(body: &[u8]) -> Option<u64> {
    std::str::from_utf8(body)
        .ok()?
        .strip_suffix('\n')
        .and_then(parse_decimal)
}
