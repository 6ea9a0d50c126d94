//! The example aid desk: one claim per person per distribution round, without a registry
//! of people.
//!
//! Each round of each desk is its own relying party: its context is
//! `aid-desk/<desk>/<round>`, so a person's pseudonym differs between rounds and between
//! desks, and claims cannot be linked across them (by the desk or anyone holding its
//! store). Within a round the same person always presents the same pseudonym, so a second
//! claim is refused. Claims are recorded durably ([`store`]): a refusal survives a
//! restart, and a crash never leaves a half-written claim.
//!
//! The operator opens a new round ([`AidDesk::open_round`]); the previous round's
//! outstanding challenges then fail with a message saying to fetch a fresh one. With the
//! default enrolment cutoff ([`Cutoff::RoundStart`]) only people enrolled before the
//! quarter in which the round opened may claim, so deleting one's record and enrolling
//! again (which gives new pseudonyms by design) does not give a second claim in a round.
//!
//! The desk stores no personal data: per round, the pseudonyms that claimed (meaningless
//! outside that round) and counts. Limits: one process per data directory; a person whose
//! wallet presents for two different records (two enrolments that the custodians' 1:N
//! check let through) would get two claims — uniqueness rests on enrolment.

pub mod http;
pub mod page;
pub mod store;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use masque_cred::{
    AttributeKind, Challenge, ContextId, CredError, EnrolmentQuarter, EpochSchedule,
    IssuerPublicKey, Presentation, Timestamp, VerifiedPresentation, VerifierPolicy,
};
use thiserror::Error;

use crate::clock::Clock;
use crate::config::Cutoff;
use crate::service::{Nonces, Service};
use store::{ClaimOutcome, Counter, DeskStore};

/// Why the desk refused or failed.
#[derive(Debug, Error)]
pub enum DeskError {
    /// The presentation was refused by the credential checks.
    #[error("{0}")]
    Refused(CredError),
    /// The person has already claimed in this round at this desk.
    #[error(
        "already claimed in round {round} at this desk: one claim per person per round; \
         come back when the next round opens"
    )]
    AlreadyClaimed {
        /// The round.
        round: u64,
    },
    /// The presentation answered a challenge of a round that has closed.
    #[error(
        "the challenge was for round {presented}, but round {current} is open now: \
         fetch a fresh challenge and present again"
    )]
    RoundClosed {
        /// The round of the challenge.
        presented: u64,
        /// The open round.
        current: u64,
    },
    /// The presentation was made for another context than the open round's.
    #[error(
        "the presentation was made for another context than this desk's open round \
         ({current}): fetch a fresh challenge from this desk and present again"
    )]
    WrongContext {
        /// The open round's context.
        current: String,
    },
    /// The desk id is unusable.
    #[error("invalid desk id: {0}")]
    InvalidDeskId(&'static str),
    /// The store failed; nothing was recorded.
    #[error(
        "aid desk store failure ({0}); nothing was recorded: check the data directory and retry"
    )]
    Store(String),
}

/// A desk's id: 1..=64 characters of `a-z`, `0-9`, `.`, `_`, `-`. Make it unique among
/// the desks that the same people might visit (e.g. `aid.example.org-north`): two desks
/// with the same id share pseudonyms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskId(String);

impl DeskId {
    /// Checks `raw`.
    pub fn new(raw: &str) -> Result<Self, DeskError> {
        if raw.is_empty() || raw.len() > 64 {
            return Err(DeskError::InvalidDeskId("must be 1 to 64 characters"));
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        {
            return Err(DeskError::InvalidDeskId(
                "only lower-case letters a-z, digits and . _ - are allowed",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The context of round `round` at this desk: `aid-desk/<desk>/<round>`.
    pub fn context(&self, round: u64) -> ContextId {
        // Valid by construction: printable ASCII, at most 9 + 64 + 1 + 20 bytes.
        ContextId::new(&format!("aid-desk/{}/{round}", self.0))
            .expect("desk contexts are always valid context ids")
    }
}

/// One round of a desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundInfo {
    /// 1 for the first round.
    pub number: u64,
    /// When it was opened.
    pub opened_at: Timestamp,
    /// Only people enrolled before this quarter may claim, if set.
    pub enrolled_before: Option<EnrolmentQuarter>,
}

/// The calendar quarter (UTC) containing `t`.
pub fn quarter_of(t: Timestamp) -> Option<EnrolmentQuarter> {
    let date = time::OffsetDateTime::from_unix_timestamp(i64::try_from(t.0).ok()?).ok()?;
    let year = u16::try_from(date.year()).ok()?;
    EnrolmentQuarter::new(year, (u8::from(date.month()) - 1) / 3 + 1).ok()
}

/// What a desk checks, besides its id and rounds.
#[derive(Debug, Clone)]
pub struct DeskPolicy {
    /// The issuer key presentations must verify under.
    pub issuer: IssuerPublicKey,
    /// The network's epochs.
    pub epochs: EpochSchedule,
    /// Attributes every presentation must disclose.
    pub required: Vec<AttributeKind>,
    /// Enrolment cutoff of each round.
    pub cutoff: Cutoff,
    /// How long a challenge stays valid.
    pub nonce_lifetime_secs: u64,
}

/// An accepted claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The round it was recorded in.
    pub round: u64,
    /// Its number in the round (1 for the first).
    pub number: u64,
    /// What the presentation proved.
    pub verified: VerifiedPresentation,
}

/// Counts of one round, for the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundSummary {
    /// The round.
    pub info: RoundInfo,
    /// Accepted claims.
    pub claims: u64,
    /// Refused because the person had already claimed in the round.
    pub duplicates: u64,
    /// Refused because the presentation did not verify.
    pub invalid: u64,
}

struct OpenRound {
    info: RoundInfo,
    service: Service,
}

/// An aid desk.
pub struct AidDesk {
    desk: DeskId,
    policy: DeskPolicy,
    store: DeskStore,
    nonces: Nonces,
    clock: Arc<dyn Clock>,
    current: Mutex<Arc<OpenRound>>,
}

impl std::fmt::Debug for AidDesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AidDesk")
            .field("desk", &self.desk)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The desk's store file in its data directory.
pub const DESK_STORE_FILE: &str = "desk.redb";
/// The nonce store file in a data directory.
pub const NONCE_STORE_FILE: &str = "nonces.redb";

impl AidDesk {
    /// Opens the desk whose state is in `data_dir` (created if missing), opening round 1
    /// if no round was ever opened.
    pub fn open(
        desk: DeskId,
        policy: DeskPolicy,
        data_dir: &Path,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, DeskError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| DeskError::Store(format!("cannot create {}: {e}", data_dir.display())))?;
        let store = DeskStore::open(&data_dir.join(DESK_STORE_FILE))?;
        let nonces = Nonces::open(&data_dir.join(NONCE_STORE_FILE)).map_err(DeskError::Refused)?;
        Self::with_stores(desk, policy, store, nonces, clock)
    }

    /// A desk on the given stores.
    pub fn with_stores(
        desk: DeskId,
        policy: DeskPolicy,
        store: DeskStore,
        nonces: Nonces,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, DeskError> {
        let info = match store.current_round()? {
            Some(info) => info,
            None => {
                let info = new_round(&policy, 1, clock.now());
                store.open_round(&info)?;
                info
            }
        };
        let service = round_service(&desk, &policy, &nonces, &clock, info)?;
        Ok(Self {
            desk,
            policy,
            store,
            nonces,
            clock,
            current: Mutex::new(Arc::new(OpenRound { info, service })),
        })
    }

    /// The desk's id.
    pub fn desk(&self) -> &DeskId {
        &self.desk
    }

    /// The open round.
    pub fn current_round(&self) -> RoundInfo {
        lock(&self.current).info
    }

    /// The open round's context.
    pub fn current_context(&self) -> ContextId {
        self.desk.context(self.current_round().number)
    }

    /// The id of the issuer key the desk trusts.
    pub fn issuer_key_id(&self) -> masque_cred::KeyId {
        self.policy.issuer.key_id()
    }

    /// A challenge for the open round.
    pub fn challenge(&self) -> Result<(RoundInfo, Challenge), DeskError> {
        let round = lock(&self.current).clone();
        let challenge = round.service.challenge().map_err(DeskError::Refused)?;
        Ok((round.info, challenge))
    }

    /// Checks `presentation` and records the claim, or says why not.
    pub fn claim(&self, presentation: &Presentation) -> Result<Claim, DeskError> {
        let round = lock(&self.current).clone();
        let number = round.info.number;
        let verified = match round.service.verify(presentation) {
            Ok(v) => v,
            Err(e @ (CredError::Store(_) | CredError::Backend(_))) => {
                return Err(DeskError::Refused(e));
            }
            Err(e) => {
                self.store.count(number, Counter::Invalid)?;
                return Err(match e {
                    CredError::ContextMismatch => DeskError::WrongContext {
                        current: round.service.context_id().as_str().to_owned(),
                    },
                    other => DeskError::Refused(other),
                });
            }
        };
        match self.store.record_claim(number, &verified.pseudonym)? {
            ClaimOutcome::Claimed(n) => Ok(Claim {
                round: number,
                number: n,
                verified,
            }),
            ClaimOutcome::Duplicate => Err(DeskError::AlreadyClaimed { round: number }),
            ClaimOutcome::RoundClosed { current } => Err(DeskError::RoundClosed {
                presented: number,
                current,
            }),
        }
    }

    /// Closes the open round and opens the next one.
    pub fn open_round(&self) -> Result<RoundInfo, DeskError> {
        let mut current = lock(&self.current);
        let number = current
            .info
            .number
            .checked_add(1)
            .ok_or_else(|| DeskError::Store("no round number left".into()))?;
        let info = new_round(&self.policy, number, self.clock.now());
        let service = round_service(&self.desk, &self.policy, &self.nonces, &self.clock, info)?;
        self.store.open_round(&info)?;
        *current = Arc::new(OpenRound { info, service });
        tracing::info!(
            desk = self.desk.as_str(),
            round = number,
            "opened a new round"
        );
        Ok(info)
    }

    /// Counts of round `number`, if it was opened.
    pub fn summary(&self, number: u64) -> Result<Option<RoundSummary>, DeskError> {
        let Some(info) = self.store.round(number)? else {
            return Ok(None);
        };
        Ok(Some(RoundSummary {
            info,
            claims: self.store.counter(number, Counter::Claims)?,
            duplicates: self.store.counter(number, Counter::Duplicates)?,
            invalid: self.store.counter(number, Counter::Invalid)?,
        }))
    }

    /// Counts of the open round and of up to `previous` rounds before it, newest first.
    pub fn recent(&self, previous: u64) -> Result<Vec<RoundSummary>, DeskError> {
        let current = self.current_round().number;
        let oldest = current.saturating_sub(previous).max(1);
        let mut out = Vec::new();
        for n in (oldest..=current).rev() {
            out.extend(self.summary(n)?);
        }
        Ok(out)
    }

    /// The store (for inspection in tests and tools).
    pub fn store(&self) -> &DeskStore {
        &self.store
    }
}

fn new_round(policy: &DeskPolicy, number: u64, now: Timestamp) -> RoundInfo {
    RoundInfo {
        number,
        opened_at: now,
        enrolled_before: match policy.cutoff {
            Cutoff::None => None,
            Cutoff::Quarter(q) => Some(q),
            Cutoff::RoundStart => quarter_of(now),
        },
    }
}

fn round_service(
    desk: &DeskId,
    policy: &DeskPolicy,
    nonces: &Nonces,
    clock: &Arc<dyn Clock>,
    info: RoundInfo,
) -> Result<Service, DeskError> {
    let verifier_policy = VerifierPolicy {
        context_id: desk.context(info.number),
        issuer: policy.issuer.clone(),
        required: policy.required.clone(),
        nonce_lifetime_secs: policy.nonce_lifetime_secs,
        schedule: policy.epochs,
        enrolled_before: info.enrolled_before,
    };
    Service::new(verifier_policy, nonces.clone(), clock.clone()).map_err(DeskError::Refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desk_ids_are_checked_and_give_per_round_contexts() {
        let d = DeskId::new("aid.example.org-north").unwrap();
        assert_eq!(d.context(3).as_str(), "aid-desk/aid.example.org-north/3");
        assert_ne!(d.context(3), d.context(4));
        assert_ne!(d.context(3), DeskId::new("south").unwrap().context(3));
        for bad in ["", "North", "a b", "a/b", &"x".repeat(65)] {
            assert!(DeskId::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn quarters_follow_the_utc_calendar() {
        let q = |t| quarter_of(Timestamp(t)).unwrap().to_string();
        assert_eq!(q(946_684_800), "2000-Q1"); // 2000-01-01T00:00:00Z
        assert_eq!(q(1_782_863_999), "2026-Q2"); // 2026-06-30T23:59:59Z
        assert_eq!(q(1_782_864_000), "2026-Q3"); // 2026-07-01T00:00:00Z
        assert_eq!(q(1_798_761_599), "2026-Q4"); // 2026-12-31T23:59:59Z
        assert!(quarter_of(Timestamp(0)).is_none()); // 1970 is before any enrolment
    }
}
