//! Checkpoint verification for clients: log signature and witness quorum under a
//! [`Policy`], and a [`Verifier`] that remembers the last checkpoint it accepted and only
//! moves forward with a consistency proof.
//!
//! What a verified checkpoint guarantees: the log signed it and enough witnesses (per the
//! policy) cosigned it, so a split view needs the collusion of the log and a quorum of
//! witnesses. What it does not: freshness beyond the cosignature timestamps, which this
//! module reports but does not judge.

use std::collections::HashSet;

use thiserror::Error;

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::cosignature::CosignatureVerifier;
use crate::hash::Hash;
use crate::keys::KeyName;
use crate::note::{self, Ed25519Verifier, Note, NoteError, NoteVerifier};
use crate::policy::Policy;
use crate::tree::{self, VerifyError};

/// Why a checkpoint was not accepted.
#[derive(Debug, Error)]
pub enum CheckpointRejected {
    /// Malformed or badly signed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The origin is not a log the policy lists.
    #[error("checkpoint origin {0:?} is not a log of this policy")]
    UnknownLog(String),
    /// The log's own signature is missing.
    #[error("checkpoint is not signed by the log key for {0:?}")]
    NotSignedByLog(String),
    /// Too few witnesses cosigned it.
    #[error("witness quorum not met: cosigned by {0:?}")]
    QuorumNotMet(Vec<String>),
    /// Older than the checkpoint already accepted.
    #[error("checkpoint size {new} is older than the accepted size {accepted}")]
    Rollback {
        /// The accepted size.
        accepted: u64,
        /// The offered size.
        new: u64,
    },
    /// Not consistent with the accepted checkpoint: evidence of a split view (both notes
    /// are kept in the error).
    #[error(
        "checkpoint at size {new_size} is inconsistent with the accepted one at size {accepted_size}: {reason}"
    )]
    Inconsistent {
        /// Accepted size.
        accepted_size: u64,
        /// Offered size.
        new_size: u64,
        /// The proof failure.
        reason: VerifyError,
        /// The accepted checkpoint note.
        accepted_note: Vec<u8>,
        /// The offered checkpoint note.
        new_note: Vec<u8>,
    },
    /// The checkpoint belongs to another log than the accepted one.
    #[error("checkpoint origin {got:?} differs from the accepted origin {accepted:?}")]
    OriginChanged {
        /// Accepted origin.
        accepted: String,
        /// Offered origin.
        got: String,
    },
}

/// A checkpoint that passed a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The note bytes as received.
    pub note: Vec<u8>,
    /// Witnesses (policy names) whose cosignature verified, with their timestamps.
    pub cosigners: Vec<(String, u64)>,
}

/// Verifies a signed checkpoint against a policy: the log's signature (the log is chosen
/// by origin) and the witness quorum. Signatures by keys outside the policy are ignored;
/// a bad or duplicated signature by a policy key rejects the checkpoint.
pub fn verify_checkpoint(
    policy: &Policy,
    bytes: &[u8],
) -> Result<VerifiedCheckpoint, CheckpointRejected> {
    let parsed = Note::parse(bytes).map_err(CheckpointError::from)?;
    let checkpoint = Checkpoint::parse(parsed.text())?;
    let log = policy
        .logs()
        .iter()
        .find(|l| l.key.name().as_str() == checkpoint.origin())
        .ok_or_else(|| CheckpointRejected::UnknownLog(checkpoint.origin().to_owned()))?;
    let log_verifier = Ed25519Verifier::new(log.key.clone()).expect("policy checked the key type");
    let witness_verifiers: Vec<CosignatureVerifier> = policy
        .witnesses()
        .iter()
        .map(|w| CosignatureVerifier::new(w.key.clone()).expect("policy checked the key type"))
        .collect();
    let mut known: Vec<&dyn NoteVerifier> = vec![&log_verifier];
    known.extend(witness_verifiers.iter().map(|v| v as &dyn NoteVerifier));
    let opened = note::verify(parsed, &known).map_err(|e| match e {
        NoteError::NotSignedByKnownKey => {
            CheckpointRejected::NotSignedByLog(checkpoint.origin().to_owned())
        }
        other => CheckpointRejected::Checkpoint(other.into()),
    })?;
    let signed_by = |name: &KeyName, id| {
        opened
            .verified_signatures()
            .any(|s| s.name == *name && s.id == id)
    };
    if !signed_by(log_verifier.name(), log_verifier.id()) {
        return Err(CheckpointRejected::NotSignedByLog(
            checkpoint.origin().to_owned(),
        ));
    }
    let mut cosigners = Vec::new();
    for (w, v) in policy.witnesses().iter().zip(&witness_verifiers) {
        if let Some(s) = opened
            .verified_signatures()
            .find(|s| s.name == *v.name() && s.id == v.id())
        {
            let ts = CosignatureVerifier::timestamp(&s.bytes)
                .expect("verified cosignatures are 72 bytes");
            cosigners.push((w.name.clone(), ts));
        }
    }
    let names: HashSet<&str> = cosigners.iter().map(|(n, _)| n.as_str()).collect();
    if !policy.quorum_met(&names) {
        return Err(CheckpointRejected::QuorumNotMet(
            cosigners.into_iter().map(|(n, _)| n).collect(),
        ));
    }
    Ok(VerifiedCheckpoint {
        checkpoint,
        note: bytes.to_vec(),
        cosigners,
    })
}

/// A client's view of one log: the last checkpoint it accepted.
#[derive(Debug, Clone)]
pub struct Verifier {
    policy: Policy,
    last: Option<VerifiedCheckpoint>,
}

impl Verifier {
    /// A verifier that has seen nothing yet (the first checkpoint is trusted on first use,
    /// subject to the policy).
    pub fn new(policy: Policy) -> Verifier {
        Verifier { policy, last: None }
    }

    /// A verifier resuming from a checkpoint it saved earlier (re-verified now).
    pub fn resume(policy: Policy, saved: &[u8]) -> Result<Verifier, CheckpointRejected> {
        let last = verify_checkpoint(&policy, saved)?;
        Ok(Verifier {
            policy,
            last: Some(last),
        })
    }

    /// The last accepted checkpoint; save its `note` to resume later.
    pub fn last(&self) -> Option<&VerifiedCheckpoint> {
        self.last.as_ref()
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Accepts `bytes` if it passes the policy and `proof` shows the accepted checkpoint is
    /// a prefix of it. The same size needs the same root; a smaller size is a rollback.
    pub fn advance(
        &mut self,
        bytes: &[u8],
        proof: &[Hash],
    ) -> Result<&VerifiedCheckpoint, CheckpointRejected> {
        let new = verify_checkpoint(&self.policy, bytes)?;
        if let Some(last) = &self.last {
            let (old, cur) = (&last.checkpoint, &new.checkpoint);
            if old.origin() != cur.origin() {
                return Err(CheckpointRejected::OriginChanged {
                    accepted: old.origin().to_owned(),
                    got: cur.origin().to_owned(),
                });
            }
            if cur.size() < old.size() {
                return Err(CheckpointRejected::Rollback {
                    accepted: old.size(),
                    new: cur.size(),
                });
            }
            if let Err(reason) =
                tree::verify_consistency(old.size(), cur.size(), proof, old.root(), cur.root())
            {
                return Err(CheckpointRejected::Inconsistent {
                    accepted_size: old.size(),
                    new_size: cur.size(),
                    reason,
                    accepted_note: last.note.clone(),
                    new_note: new.note.clone(),
                });
            }
        }
        Ok(self.last.insert(new))
    }

    /// Checks that `leaf` (an RFC 6962 leaf hash) is entry `index` of the accepted tree.
    pub fn verify_inclusion(
        &self,
        leaf: &Hash,
        index: u64,
        proof: &[Hash],
    ) -> Result<(), VerifyError> {
        let Some(last) = &self.last else {
            return Err(VerifyError::RootMismatch);
        };
        tree::verify_inclusion(
            leaf,
            index,
            last.checkpoint.size(),
            proof,
            last.checkpoint.root(),
        )
    }
}
