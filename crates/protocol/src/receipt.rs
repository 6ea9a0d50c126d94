//! Receipts: what the person keeps for each operation.
//!
//! A receipt holds the log entry exactly as appended (so its leaf hash can be
//! recomputed), its index, the inclusion proof, and the witness-cosigned checkpoint the
//! proof is against. [`Receipt::verify`] checks all of it: the three custodians'
//! signature on the entry (their joint signature of the outcome, or each one's), the checkpoint's log
//! signature and witness quorum under a `tlog-policy`, and the inclusion of the entry in
//! the checkpoint's tree.

use crate::{ProtocolError, entry::LogEntry, network::CustodianKeys};
use masque_tlog::{
    hash::{Hash, leaf_hash},
    policy::Policy,
    tree::verify_inclusion,
    verifier::{VerifiedCheckpoint, verify_checkpoint},
};
use serde::{Deserialize, Serialize};

/// The proof that an operation was logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Receipt {
    /// The entry, exactly as appended (JSON text).
    pub entry: String,
    /// Its index in the log.
    pub index: u64,
    /// The inclusion proof, base64 hashes.
    pub proof: Vec<String>,
    /// The signed, cosigned checkpoint (note text) the proof is against.
    pub checkpoint: String,
}

/// What a receipt proves.
#[derive(Debug, Clone)]
pub struct VerifiedReceipt {
    /// The entry.
    pub entry: LogEntry,
    /// The checkpoint, with the witnesses that cosigned it.
    pub checkpoint: VerifiedCheckpoint,
}

impl Receipt {
    /// Verifies the receipt against the custodians' keys and a log and witness policy.
    pub fn verify(
        &self,
        keys: &CustodianKeys,
        policy: &Policy,
    ) -> Result<VerifiedReceipt, ProtocolError> {
        let entry = LogEntry::parse(self.entry.as_bytes())?;
        entry.verify(keys)?;
        let checkpoint = verify_checkpoint(policy, self.checkpoint.as_bytes())
            .map_err(|e| ProtocolError::Receipt(format!("the checkpoint does not verify: {e}")))?;
        let proof = self
            .proof
            .iter()
            .map(|h| Hash::from_base64(h))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ProtocolError::Receipt("a proof hash is not base64 SHA-256".into()))?;
        verify_inclusion(
            &leaf_hash(self.entry.as_bytes()),
            self.index,
            checkpoint.checkpoint.size(),
            &proof,
            checkpoint.checkpoint.root(),
        )
        .map_err(|e| {
            ProtocolError::Receipt(format!(
                "the entry is not at index {} of the checkpoint's tree: {e}",
                self.index
            ))
        })?;
        Ok(VerifiedReceipt { entry, checkpoint })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RequestId;
    use crate::entry::{EntryBody, Operation, Outcome, hour_of};
    use ed25519_dalek::SigningKey;
    use masque_tlog::cosignature::CosignatureSigner;
    use masque_tlog::keys::{KeyName, SecretKey, TYPE_COSIGNATURE_V1, TYPE_ED25519};
    use masque_tlog::log::Log;
    use masque_tlog::note::Note;
    use masque_tlog::storage::MemStorage;

    const ORIGIN: &str = "log.masque.example/receipts";

    fn entry(keys: &[SigningKey; 3], n: u8) -> LogEntry {
        let body = EntryBody {
            audit_tag: Some(hex::encode([n; 32])),
            ..EntryBody::new(
                Operation::Delete,
                hour_of(1_800_000_000),
                RequestId([n; 16]),
                Outcome::Deleted,
            )
        };
        LogEntry::signed(body, keys)
    }

    /// A log of five entries, a checkpoint cosigned by one witness, and a receipt for
    /// entry 3; plus the policy and custodian keys.
    fn fixture() -> (Receipt, Policy, CustodianKeys, [SigningKey; 3]) {
        let custodians = [1u8, 2, 3].map(|b| SigningKey::from_bytes(&[b; 32]));
        let log_key = SecretKey::from_seed(KeyName::new(ORIGIN).unwrap(), &[42; 32]);
        let witness = SecretKey::from_seed(KeyName::new("witness.example").unwrap(), &[7; 32]);
        let entries: Vec<Vec<u8>> = (0..5).map(|n| entry(&custodians, n).to_bytes()).collect();
        let log_public = log_key.public_key(TYPE_ED25519);
        let mut log = Log::create(MemStorage::new(), ORIGIN, log_key).unwrap();
        log.append_batch(&entries).unwrap();
        let mut note = Note::parse(&log.checkpoint().unwrap()).unwrap();
        note.add_signature(CosignatureSigner::new(&witness).sign_at(note.text(), 1_800_000_000));
        let policy =
            Policy::k_of_n(log_public, vec![witness.public_key(TYPE_COSIGNATURE_V1)], 1).unwrap();
        let proof = log.inclusion_proof(3, 5).unwrap();
        let receipt = Receipt {
            entry: String::from_utf8(entries[3].clone()).unwrap(),
            index: 3,
            proof: proof.iter().map(|h| h.to_base64()).collect(),
            checkpoint: String::from_utf8(note.to_bytes()).unwrap(),
        };
        let public = CustodianKeys {
            each: custodians.clone().map(|k| k.verifying_key()),
            joint: SigningKey::from_bytes(&[4; 32]).verifying_key(),
        };
        (receipt, policy, public, custodians)
    }

    #[test]
    fn a_receipt_verifies() {
        let (receipt, policy, keys, _) = fixture();
        let verified = receipt.verify(&keys, &policy).unwrap();
        assert_eq!(verified.entry.body.request_id, RequestId([3; 16]));
        assert_eq!(verified.checkpoint.cosigners.len(), 1);
    }

    #[test]
    fn a_wrong_index_proof_entry_or_checkpoint_fails_with_a_reason() {
        let (receipt, policy, keys, custodians) = fixture();
        let mut r = receipt.clone();
        r.index = 2;
        assert!(
            r.verify(&keys, &policy)
                .unwrap_err()
                .to_string()
                .contains("index 2")
        );
        let mut r = receipt.clone();
        r.proof.swap(0, 1);
        assert!(r.verify(&keys, &policy).is_err());
        let mut r = receipt.clone();
        r.entry = String::from_utf8(entry(&custodians, 4).to_bytes()).unwrap();
        assert!(
            r.verify(&keys, &policy).is_err(),
            "another (validly signed) entry"
        );
        let mut r = receipt.clone();
        r.checkpoint = r.checkpoint.replace("\n5\n", "\n6\n");
        assert!(
            r.verify(&keys, &policy)
                .unwrap_err()
                .to_string()
                .contains("checkpoint")
        );
        let other = CustodianKeys {
            each: [4u8, 5, 6].map(|b| SigningKey::from_bytes(&[b; 32]).verifying_key()),
            ..keys
        };
        assert!(matches!(
            receipt.verify(&other, &policy),
            Err(ProtocolError::BadSignature { .. })
        ));
    }
}
