//! The credential issuer at P0: blind BBS signatures for enrolled records
//! (`masque-cred`), with the issuer's replay state in redb next to the custodian's store.
//!
//! The issuer's record handle is derived from the record's gallery id, which every
//! custodian assigns identically and which never leaves them, so a re-issuance for the
//! same record (after the person's own 1:1 match) keeps the person's pseudonyms.

use crate::store::RecordMeta;
use masque_cred::{
    BbsIssuer, CredentialAttributes, EnrolmentQuarter, EpochSchedule, Issuer, IssuerSeed,
    Modalities, Modality, RecordHandle, Timestamp,
    backend::fast::Fast,
    objects::{CredentialRequest, IssuerPublicKey},
    store::RedbReplayStore,
    wire::WireObject,
};
use std::path::Path;
use std::sync::Mutex;

/// The issuer and its epoch schedule.
pub struct Issuing {
    issuer: Mutex<BbsIssuer<Fast, RedbReplayStore>>,
    schedule: EpochSchedule,
}

impl std::fmt::Debug for Issuing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Issuing")
    }
}

/// Why an issuance failed.
#[derive(Debug, thiserror::Error)]
#[error("credential issuance: {0}")]
pub struct IssueError(pub String);

fn err(e: impl ToString) -> IssueError {
    IssueError(e.to_string())
}

/// The calendar quarter (year, 1..=4) of a Unix time.
pub fn quarter_of(unix_seconds: u64) -> (u16, u8) {
    let date = time::OffsetDateTime::from_unix_timestamp(unix_seconds as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let quarter = (u8::from(date.month()) - 1) / 3 + 1;
    (date.year().clamp(0, u16::MAX as i32) as u16, quarter)
}

impl Issuing {
    /// The issuer from its seed (hex file contents), keeping its replay state in
    /// `store`, with epochs from `origin` of `epoch_secs` each.
    pub fn open(
        seed_hex: &str,
        store: &Path,
        origin: u64,
        epoch_secs: u64,
    ) -> Result<Self, IssueError> {
        let bytes = zeroize::Zeroizing::new(
            hex::decode(seed_hex.trim()).map_err(|_| err("the issuer seed file holds hex"))?,
        );
        let seed = IssuerSeed::new(&bytes).map_err(err)?;
        let replay = RedbReplayStore::open(store).map_err(err)?;
        let issuer = BbsIssuer::with_store(Fast, &seed, replay).map_err(err)?;
        let schedule = EpochSchedule::new(Timestamp(origin), epoch_secs).map_err(err)?;
        Ok(Self {
            issuer: Mutex::new(issuer),
            schedule,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BbsIssuer<Fast, RedbReplayStore>> {
        self.issuer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The public key services verify against (masque-cred JSON).
    pub fn public_key(&self) -> IssuerPublicKey {
        self.lock().public_key().clone()
    }

    /// The offer for a record (masque-cred JSON).
    pub fn offer(&self, meta: &RecordMeta) -> Result<String, IssueError> {
        Ok(self.lock().offer(&handle(meta)?).to_json())
    }

    /// Blind-signs `request` (masque-cred JSON) for the record, at `now`.
    pub fn issue(&self, meta: &RecordMeta, request: &str, now: u64) -> Result<String, IssueError> {
        let request = CredentialRequest::from_json(request.as_bytes()).map_err(err)?;
        let (year, quarter) = quarter_of(meta.enrolled_hour);
        let attributes = CredentialAttributes {
            epoch: self.schedule.epoch_at(Timestamp(now)),
            modalities: Modalities::new(&[Modality::Iris]).map_err(err)?,
            enrolment_quarter: EnrolmentQuarter::new(year, quarter).map_err(err)?,
        };
        let response = self
            .lock()
            .issue(&request, &handle(meta)?, &attributes)
            .map_err(err)?;
        Ok(response.to_json())
    }
}

fn handle(meta: &RecordMeta) -> Result<RecordHandle, IssueError> {
    RecordHandle::new(format!("masque-node/record/{}", meta.gallery_id).as_bytes()).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters() {
        assert_eq!(quarter_of(0), (1970, 1));
        assert_eq!(quarter_of(1_764_633_600), (2025, 4)); // 2025-12-02
        assert_eq!(quarter_of(1_743_465_600), (2025, 2)); // 2025-04-01
    }
}
