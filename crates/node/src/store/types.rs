//! The values the store keeps.

use masque_protocol::{RequestId, consent::SignedConsent, entry::EntryBody};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A record's metadata at this custodian.
#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct RecordMeta {
    /// Its id in the gallery (the same at all three custodians; never leaves them).
    pub gallery_id: u64,
    /// The record's audit key `k_record`.
    pub audit_key: [u8; 32],
    /// Operations on the record so far (the next audit tag uses this `n`).
    pub operations: u64,
    /// Hour of enrolment (Unix seconds).
    pub enrolled_hour: u64,
    /// Whether a credential was issued for the record.
    #[serde(default)]
    pub issued: bool,
    /// Hour of the person's last own 1:1 match, which allows one re-issuance.
    #[serde(default)]
    pub self_match_hour: Option<u64>,
}

impl std::fmt::Debug for RecordMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordMeta")
            .field("gallery_id", &self.gallery_id)
            .field("operations", &self.operations)
            .finish_non_exhaustive()
    }
}

/// A record as loaded into the gallery at start.
pub struct StoredRecord {
    /// Its gallery id.
    pub gallery_id: u64,
    /// This custodian's enrolment shares, one per eye (`EyeShare::to_bytes`).
    pub shares: Vec<Vec<u8>>,
}

impl Drop for StoredRecord {
    fn drop(&mut self) {
        self.shares.zeroize();
    }
}

/// A consent the record gave, with its revocation state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConsentRecord {
    /// The consent as signed.
    pub consent: SignedConsent,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// What a committed transaction does.
#[derive(Clone, Serialize, Deserialize)]
pub enum Action {
    /// Store a new record.
    Enrol {
        /// The record's public key.
        record_key: [u8; 32],
        /// Its metadata.
        meta: RecordMeta,
        /// This custodian's enrolment shares.
        shares: Vec<Vec<u8>>,
    },
    /// Delete a record: shares and metadata dropped, consents forgotten.
    Delete {
        /// The record's public key.
        record_key: [u8; 32],
        /// Its gallery id.
        gallery_id: u64,
    },
    /// Count one more operation on a record (a 1:1 check, a refusal about it).
    Touch {
        /// The record's public key.
        record_key: [u8; 32],
    },
    /// Record a consent (and count the operation).
    GrantConsent {
        /// The consent.
        consent: SignedConsent,
    },
    /// Revoke a consent (and count the operation).
    RevokeConsent {
        /// The record's public key.
        record_key: [u8; 32],
        /// The consent id.
        consent_id: String,
    },
    /// The person's own 1:1 check matched at `hour` (and count the operation).
    SelfMatch {
        /// The record's public key.
        record_key: [u8; 32],
        /// The hour.
        hour: u64,
    },
    /// A credential was issued (and count the operation; the self match is used up).
    Issued {
        /// The record's public key.
        record_key: [u8; 32],
    },
    /// Nothing changes at this custodian (a duplicate, a refusal not about a record).
    Nothing,
}

impl Drop for Action {
    fn drop(&mut self) {
        if let Action::Enrol { shares, .. } = self {
            shares.zeroize();
        }
    }
}

impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Action::Enrol { .. } => "Enrol",
            Action::Delete { .. } => "Delete",
            Action::Touch { .. } => "Touch",
            Action::GrantConsent { .. } => "GrantConsent",
            Action::RevokeConsent { .. } => "RevokeConsent",
            Action::SelfMatch { .. } => "SelfMatch",
            Action::Issued { .. } => "Issued",
            Action::Nothing => "Nothing",
        };
        f.write_str(name)
    }
}

/// A transaction a custodian is ready to commit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Prepared {
    /// The request.
    pub request_id: RequestId,
    /// The coordinator's sequence number for it.
    pub sequence: u64,
    /// When it was prepared (Unix seconds).
    pub prepared_at: u64,
    /// What a commit does.
    pub action: Action,
    /// The log entry the three custodians sign for it.
    pub entry: EntryBody,
    /// The issuer's response, for an issuance at P0 (handed to the person after the
    /// commit).
    #[serde(default)]
    pub issued: Option<String>,
}

/// The coordinator's decision on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// Every custodian applies it.
    Commit,
    /// Every custodian forgets it.
    Abort,
}
