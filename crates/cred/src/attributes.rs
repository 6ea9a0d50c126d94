//! What a credential says: its epoch and the person's coarse attributes.
//!
//! A credential signs exactly three issuer-known messages, in this order:
//! 0. the credential [`Epoch`] (always disclosed, so services can refuse stale credentials),
//! 1. the enrolled [`Modalities`] (disclosed only when a service asks),
//! 2. the [`EnrolmentQuarter`] (disclosed only when a service asks).
//!
//! Each message is a short domain-separated byte string, so a value of one attribute can
//! never be read as a value of another. Nothing here identifies a person: the attributes
//! are coarse on purpose (no exact enrolment date, no station, no record handle).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::CredError;

/// A credential epoch: credentials are issued for one epoch and accepted during that epoch
/// and the next. Deleting a record means the issuer never signs a later epoch for it, so
/// its credentials die with the epoch (private revocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Epoch(pub u32);

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Seconds since the Unix epoch, as given by the caller's clock (the library never reads
/// the clock itself, so behaviour is testable and deterministic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub u64);

/// Maps time to epochs: epoch `n` covers `[origin + n*length, origin + (n+1)*length)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochSchedule {
    origin: Timestamp,
    length_secs: u64,
}

impl EpochSchedule {
    /// A schedule starting at `origin` with epochs of `length_secs` seconds (must be > 0).
    pub fn new(origin: Timestamp, length_secs: u64) -> Result<Self, CredError> {
        if length_secs == 0 {
            return Err(CredError::InvalidAttribute("epoch length must be positive"));
        }
        Ok(Self {
            origin,
            length_secs,
        })
    }

    /// The epoch containing `now`; times before the origin belong to epoch 0, and epochs
    /// past `u32::MAX` saturate.
    pub fn epoch_at(&self, now: Timestamp) -> Epoch {
        let elapsed = now.0.saturating_sub(self.origin.0);
        Epoch(u32::try_from(elapsed / self.length_secs).unwrap_or(u32::MAX))
    }
}

/// A biometric modality a person enrolled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Modality {
    /// Iris codes (both eyes).
    Iris,
    /// Face embedding.
    Face,
    /// Voice embedding.
    Voice,
    /// Fingerprint embedding.
    Fingerprint,
}

impl Modality {
    const ALL: [Modality; 4] = [Self::Iris, Self::Face, Self::Voice, Self::Fingerprint];

    fn bit(self) -> u8 {
        match self {
            Self::Iris => 1,
            Self::Face => 2,
            Self::Voice => 4,
            Self::Fingerprint => 8,
        }
    }
}

/// A non-empty set of modalities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Modalities(u8);

impl Modalities {
    /// The set of the given modalities; at least one is required.
    pub fn new(modalities: &[Modality]) -> Result<Self, CredError> {
        let bits = modalities.iter().fold(0u8, |acc, m| acc | m.bit());
        Self::try_from(bits)
    }

    /// Whether `modality` is in the set.
    pub fn contains(self, modality: Modality) -> bool {
        self.0 & modality.bit() != 0
    }

    /// The modalities in the set, in a fixed order.
    pub fn iter(self) -> impl Iterator<Item = Modality> {
        Modality::ALL.into_iter().filter(move |m| self.contains(*m))
    }
}

impl TryFrom<u8> for Modalities {
    type Error = CredError;
    fn try_from(bits: u8) -> Result<Self, CredError> {
        if bits == 0 || bits & !0x0f != 0 {
            return Err(CredError::InvalidAttribute(
                "modalities must be a non-empty set of iris, face, voice, fingerprint",
            ));
        }
        Ok(Self(bits))
    }
}

impl From<Modalities> for u8 {
    fn from(m: Modalities) -> u8 {
        m.0
    }
}

/// The calendar quarter in which a person enrolled (coarse on purpose).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "(u16, u8)", into = "(u16, u8)")]
pub struct EnrolmentQuarter {
    year: u16,
    quarter: u8,
}

impl EnrolmentQuarter {
    /// Quarter `quarter` (1..=4) of `year` (2000..=9999).
    pub fn new(year: u16, quarter: u8) -> Result<Self, CredError> {
        if !(2000..=9999).contains(&year) || !(1..=4).contains(&quarter) {
            return Err(CredError::InvalidAttribute(
                "enrolment quarter must be a year 2000..=9999 and a quarter 1..=4",
            ));
        }
        Ok(Self { year, quarter })
    }

    /// The year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The quarter, 1..=4.
    pub fn quarter(self) -> u8 {
        self.quarter
    }
}

impl fmt::Display for EnrolmentQuarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-Q{}", self.year, self.quarter)
    }
}

impl TryFrom<(u16, u8)> for EnrolmentQuarter {
    type Error = CredError;
    fn try_from((year, quarter): (u16, u8)) -> Result<Self, CredError> {
        Self::new(year, quarter)
    }
}

impl From<EnrolmentQuarter> for (u16, u8) {
    fn from(q: EnrolmentQuarter) -> (u16, u8) {
        (q.year, q.quarter)
    }
}

/// The attributes an issuer signs into one credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialAttributes {
    /// Epoch the credential is issued for.
    pub epoch: Epoch,
    /// Modalities the person enrolled with.
    pub modalities: Modalities,
    /// Quarter of enrolment.
    pub enrolment_quarter: EnrolmentQuarter,
}

/// An attribute a service may ask to see. The epoch is always disclosed and is not listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AttributeKind {
    /// [`CredentialAttributes::modalities`].
    Modalities,
    /// [`CredentialAttributes::enrolment_quarter`].
    EnrolmentQuarter,
}

impl fmt::Display for AttributeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Modalities => "modalities",
            Self::EnrolmentQuarter => "enrolment_quarter",
        })
    }
}

impl AttributeKind {
    /// Index of this attribute's message in the signed message list.
    pub(crate) fn message_index(self) -> usize {
        match self {
            Self::Modalities => MODALITIES_INDEX,
            Self::EnrolmentQuarter => QUARTER_INDEX,
        }
    }
}

/// Number of issuer-known messages in every credential.
pub(crate) const MESSAGE_COUNT: usize = 3;
pub(crate) const EPOCH_INDEX: usize = 0;
const MODALITIES_INDEX: usize = 1;
const QUARTER_INDEX: usize = 2;

const EPOCH_TAG: &[u8] = b"masque-cred/v1/epoch:";
const MODALITIES_TAG: &[u8] = b"masque-cred/v1/modalities:";
const QUARTER_TAG: &[u8] = b"masque-cred/v1/enrolment-quarter:";

/// Encodes the epoch message.
pub(crate) fn epoch_message(epoch: Epoch) -> Vec<u8> {
    [EPOCH_TAG, &epoch.0.to_be_bytes()[..]].concat()
}

/// Encodes the modalities message.
pub(crate) fn modalities_message(m: Modalities) -> Vec<u8> {
    [MODALITIES_TAG, &[m.0][..]].concat()
}

/// Encodes the enrolment-quarter message.
pub(crate) fn quarter_message(q: EnrolmentQuarter) -> Vec<u8> {
    [QUARTER_TAG, &q.year.to_be_bytes()[..], &[q.quarter][..]].concat()
}

impl CredentialAttributes {
    /// The signed messages, in signing order.
    pub(crate) fn messages(&self) -> Vec<Vec<u8>> {
        vec![
            epoch_message(self.epoch),
            modalities_message(self.modalities),
            quarter_message(self.enrolment_quarter),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_maps_time_to_epochs() {
        let s = EpochSchedule::new(Timestamp(1000), 100).unwrap();
        assert_eq!(s.epoch_at(Timestamp(0)), Epoch(0));
        assert_eq!(s.epoch_at(Timestamp(1099)), Epoch(0));
        assert_eq!(s.epoch_at(Timestamp(1100)), Epoch(1));
        assert_eq!(s.epoch_at(Timestamp(u64::MAX)), Epoch(u32::MAX));
        assert!(EpochSchedule::new(Timestamp(0), 0).is_err());
    }

    #[test]
    fn attribute_ranges_are_enforced() {
        assert!(Modalities::new(&[]).is_err());
        assert!(Modalities::try_from(0x10).is_err());
        let m = Modalities::new(&[Modality::Iris, Modality::Voice]).unwrap();
        assert_eq!(
            m.iter().collect::<Vec<_>>(),
            [Modality::Iris, Modality::Voice]
        );
        assert!(EnrolmentQuarter::new(2026, 0).is_err());
        assert!(EnrolmentQuarter::new(2026, 5).is_err());
        assert!(EnrolmentQuarter::new(1999, 1).is_err());
        assert_eq!(EnrolmentQuarter::new(2026, 4).unwrap().quarter(), 4);
        assert_eq!(
            EnrolmentQuarter::new(2026, 4).unwrap().to_string(),
            "2026-Q4"
        );
        // Ordered by year, then quarter (the enrolment cutoff relies on it).
        assert!(EnrolmentQuarter::new(2025, 4).unwrap() < EnrolmentQuarter::new(2026, 1).unwrap());
        assert!(EnrolmentQuarter::new(2026, 1).unwrap() < EnrolmentQuarter::new(2026, 2).unwrap());
    }

    #[test]
    fn messages_are_domain_separated_and_distinct() {
        let a = CredentialAttributes {
            epoch: Epoch(1),
            modalities: Modalities::try_from(1).unwrap(),
            enrolment_quarter: EnrolmentQuarter::new(2026, 1).unwrap(),
        };
        let msgs = a.messages();
        assert_eq!(msgs.len(), MESSAGE_COUNT);
        assert!(msgs[0].starts_with(EPOCH_TAG));
        assert!(msgs[1].starts_with(MODALITIES_TAG));
        assert!(msgs[2].starts_with(QUARTER_TAG));
        let b = CredentialAttributes {
            epoch: Epoch(2),
            ..a
        };
        assert_ne!(a.messages()[0], b.messages()[0]);
    }
}
