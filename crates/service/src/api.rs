//! The JSON bodies of the HTTP API that are not credential objects (those travel in
//! `masque-cred`'s versioned envelope, see [`masque_cred::WireObject`]).

use masque_cred::{EnrolmentQuarter, Epoch, KeyId, Modalities, Pseudonym, VerifiedPresentation};
use serde::{Deserialize, Serialize};

/// The answer to an accepted presentation (`POST /v1/presentations`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// The person's pseudonym at this service (unpadded base64url of the point).
    pub pseudonym: Pseudonym,
    /// The credential's epoch.
    pub epoch: Epoch,
    /// Modalities, if the service required them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modalities: Option<Modalities>,
    /// Enrolment quarter, if the service required it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolment_quarter: Option<EnrolmentQuarter>,
    /// Aid desk only: the round the claim was recorded in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<u64>,
    /// Aid desk only: the claim's number within its round (1 for the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<u64>,
}

impl From<&VerifiedPresentation> for Accepted {
    fn from(v: &VerifiedPresentation) -> Self {
        Self {
            pseudonym: v.pseudonym,
            epoch: v.epoch,
            modalities: v.modalities,
            enrolment_quarter: v.enrolment_quarter,
            round: None,
            claim: None,
        }
    }
}

/// What a service says about itself (`GET /v1/info`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// `"service"` or `"aid-desk"`.
    pub kind: String,
    /// The context of the challenges it issues now.
    pub context_id: String,
    /// The issuer key it trusts.
    pub issuer_key_id: KeyId,
    /// Aid desk only: its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desk: Option<String>,
    /// Aid desk only: the current round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<u64>,
}

/// The answer to `POST /v1/rounds` (aid desk).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundOpened {
    /// The new round's number.
    pub round: u64,
    /// Its context (the scope of its pseudonyms).
    pub context_id: String,
    /// When it was opened (Unix seconds).
    pub opened_at: u64,
    /// Only people enrolled before this quarter may claim in it (e.g. `2026-Q3`), if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolled_before: Option<String>,
}
