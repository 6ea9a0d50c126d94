//! The wallet side: splitting an eye into the three custodians' shares.
//!
//! An eye is encoded ([`crate::encode`]), packed into [`GROUPS`] Galois-ring elements and
//! Shamir-shared ([`crate::shamir`]). It is shared in two forms, which the types keep
//! apart:
//!
//! - [`EnrolmentShare`]: the plain packing, what a custodian stores in its gallery.
//! - [`QueryShare`]: the dual-basis packing ([`Gr4::from_dual`]), what a custodian
//!   compares against its gallery. With a stored share `g` and a query share `u`,
//!   `Tr(g·u)` is the dot product of the two eyes' four elements, which is what lets a
//!   custodian compute its part of a dot product with one multiply-add per element.
//!
//! A person's wallet sends both forms when enrolling (the query for the 1:N check, the
//! enrolment share to store if the check passes). Each share names its party; an engine
//! refuses a share meant for another party. One share alone is uniformly random.

use crate::encode::{GROUP, GROUPS, encode_iris};
use crate::galois::Gr4;
use crate::party::PartyId;
use crate::ring::Z16;
use crate::shamir;
use masque_template::IrisCode;
use rand::CryptoRng;
use std::marker::PhantomData;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Marker: the form stored in galleries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enrolment {}
/// Marker: the form compared against galleries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {}

/// A share form's tag on the wire, so bytes of one form never parse as the other.
pub trait ShareForm {
    /// The tag byte.
    const TAG: u8;
    /// The form's name in error messages.
    const NAME: &'static str;
}

impl ShareForm for Enrolment {
    const TAG: u8 = 0;
    const NAME: &'static str = "enrolment";
}

impl ShareForm for Query {
    const TAG: u8 = 1;
    const NAME: &'static str = "query";
}

/// Bytes of a share on the wire: party, form, coefficients.
const WIRE_BYTES: usize = 2 + GROUPS * GROUP * 2;

/// One party's Shamir share of one encoded eye, in the form `Form`.
#[derive(Clone, PartialEq, Eq)]
pub struct EyeShare<Form> {
    party: PartyId,
    groups: Vec<Gr4>,
    form: PhantomData<Form>,
}

/// A share to store in a gallery.
pub type EnrolmentShare = EyeShare<Enrolment>;
/// A share to search or verify with.
pub type QueryShare = EyeShare<Query>;

impl<Form> std::fmt::Debug for EyeShare<Form> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EyeShare({}, {} groups)", self.party, self.groups.len())
    }
}

impl<Form> Zeroize for EyeShare<Form> {
    fn zeroize(&mut self) {
        crate::wipe::wipe(&mut self.groups);
    }
}

impl<Form> Drop for EyeShare<Form> {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl<Form> ZeroizeOnDrop for EyeShare<Form> {}

impl<Form: ShareForm> EyeShare<Form> {
    /// Bytes on the wire: the party index, the form tag, then each coefficient
    /// little-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(WIRE_BYTES);
        out.push(self.party.index() as u8);
        out.push(Form::TAG);
        for g in &self.groups {
            for c in g.0 {
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
        out
    }

    /// Parses [`EyeShare::to_bytes`]' output, refusing the other form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ShareDecodeError> {
        if bytes.len() != WIRE_BYTES {
            return Err(ShareDecodeError::Length {
                expected: WIRE_BYTES,
                given: bytes.len(),
            });
        }
        let party = *PartyId::ALL
            .get(usize::from(bytes[0]))
            .ok_or(ShareDecodeError::Party(bytes[0]))?;
        if bytes[1] != Form::TAG {
            return Err(ShareDecodeError::Form {
                expected: Form::NAME,
                given: bytes[1],
            });
        }
        let groups = bytes[2..]
            .chunks_exact(GROUP * 2)
            .map(|c| {
                Gr4(std::array::from_fn(|i| {
                    u16::from_le_bytes([c[2 * i], c[2 * i + 1]])
                }))
            })
            .collect();
        Ok(Self {
            party,
            groups,
            form: PhantomData,
        })
    }
}

/// Why bytes are not an eye share.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShareDecodeError {
    /// Wrong number of bytes.
    #[error("an eye share is {expected} bytes, got {given}; was it truncated?")]
    Length {
        /// Bytes expected.
        expected: usize,
        /// Bytes given.
        given: usize,
    },
    /// The first byte names no party.
    #[error("the share names party {0}, but parties are 0, 1 and 2")]
    Party(u8),
    /// The share is of the other form (an enrolment share where a query share was
    /// expected, or the reverse) or of none.
    #[error("expected a {expected} share, but the form byte is {given} (0 enrolment, 1 query)")]
    Form {
        /// The form expected.
        expected: &'static str,
        /// The form byte found.
        given: u8,
    },
}

impl<Form> EyeShare<Form> {
    /// The party this share is for.
    pub fn party(&self) -> PartyId {
        self.party
    }

    /// The packed Galois-ring elements ([`GROUPS`] of them).
    pub fn groups(&self) -> &[Gr4] {
        &self.groups
    }

    fn deal(packed: Vec<Gr4>, rng: &mut (impl CryptoRng + ?Sized)) -> [Self; 3] {
        let mut packed = packed;
        let shares = shamir::share(&packed, rng);
        packed.zeroize();
        let mut shares = shares.map(Some);
        PartyId::ALL.map(|party| Self {
            party,
            groups: shares[party.index()].take().unwrap_or_default(),
            form: PhantomData,
        })
    }
}

/// Packs an encoded eye into Galois-ring elements, each group through `pack`.
fn packed(code: &IrisCode, pack: impl Fn([u16; GROUP]) -> Gr4) -> Vec<Gr4> {
    let mut encoded = encode_iris(code);
    let out = packed_elements(&encoded, pack);
    encoded.zeroize();
    out
}

/// Packs encoded elements (an iris encoding, or anything laid out like one) in groups.
fn packed_elements(elements: &[Z16], pack: impl Fn([u16; GROUP]) -> Gr4) -> Vec<Gr4> {
    elements
        .chunks_exact(GROUP)
        .map(|c| pack(std::array::from_fn(|i| c[i].0)))
        .collect()
}

/// The three parties' enrolment shares of `code`, indexed by [`PartyId::index`], with
/// randomness from the operating system (the only source a wallet can use).
pub fn enrolment_shares(code: &IrisCode) -> [EnrolmentShare; 3] {
    enrolment_shares_with(code, &mut crate::os_rng())
}

/// The three parties' query shares of `code`, indexed by [`PartyId::index`], with
/// randomness from the operating system.
pub fn query_shares(code: &IrisCode) -> [QueryShare; 3] {
    query_shares_with(code, &mut crate::os_rng())
}

pub(crate) fn enrolment_shares_with(
    code: &IrisCode,
    rng: &mut (impl CryptoRng + ?Sized),
) -> [EnrolmentShare; 3] {
    EyeShare::deal(packed(code, Gr4), rng)
}

pub(crate) fn query_shares_with(
    code: &IrisCode,
    rng: &mut (impl CryptoRng + ?Sized),
) -> [QueryShare; 3] {
    EyeShare::deal(packed(code, Gr4::from_dual), rng)
}

/// [`enrolment_shares`] from a caller's generator, for reproducible tests and benches
/// only (feature `seeded-rng`): a seeded generator deals predictable shares.
#[cfg(any(test, feature = "seeded-rng"))]
pub fn enrolment_shares_seeded(
    code: &IrisCode,
    rng: &mut (impl CryptoRng + ?Sized),
) -> [EnrolmentShare; 3] {
    enrolment_shares_with(code, rng)
}

/// [`query_shares`] from a caller's generator (tests and benches only, feature
/// `seeded-rng`).
#[cfg(any(test, feature = "seeded-rng"))]
pub fn query_shares_seeded(
    code: &IrisCode,
    rng: &mut (impl CryptoRng + ?Sized),
) -> [QueryShare; 3] {
    query_shares_with(code, rng)
}

#[cfg(any(test, feature = "seeded-rng"))]
/// Enrolment shares of arbitrary encoded elements ([`crate::encode::ELEMENTS`] of them),
/// what a faulty or hostile wallet could send; for testing the custodians' checks
/// ([`crate::validate`]). A wallet uses [`enrolment_shares`].
///
/// # Panics
/// If `elements` is not [`crate::encode::ELEMENTS`] long.
pub fn enrolment_shares_of_elements(
    elements: &[Z16],
    rng: &mut (impl CryptoRng + ?Sized),
) -> [EnrolmentShare; 3] {
    assert_eq!(elements.len(), crate::encode::ELEMENTS, "one encoded eye");
    EyeShare::deal(packed_elements(elements, Gr4), rng)
}

#[cfg(any(test, feature = "seeded-rng"))]
/// Query shares of arbitrary encoded elements; see [`enrolment_shares_of_elements`].
///
/// # Panics
/// If `elements` is not [`crate::encode::ELEMENTS`] long.
pub fn query_shares_of_elements(
    elements: &[Z16],
    rng: &mut (impl CryptoRng + ?Sized),
) -> [QueryShare; 3] {
    assert_eq!(elements.len(), crate::encode::ELEMENTS, "one encoded eye");
    EyeShare::deal(packed_elements(elements, Gr4::from_dual), rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{CODE_ELEMENTS, ELEMENTS};
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    /// Nothing masked: every code element of the encoding is +1 or -1.
    const UNMASKED: f64 = 1.0;

    #[test]
    fn zeroize_wipes_a_shares_groups() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let code = IrisCode::random(&mut rng, UNMASKED);
        let [mut share, ..] = query_shares_seeded(&code, &mut rng);
        assert!(share.groups().iter().any(|g| *g != Gr4::default()));
        share.zeroize();
        assert!(
            share.groups().is_empty(),
            "the groups are wiped and dropped"
        );
    }

    #[test]
    fn shares_reconstruct_to_the_encoding_and_round_trip_as_bytes() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let code = IrisCode::random(&mut rng, UNMASKED);
        let shares = enrolment_shares_seeded(&code, &mut rng);
        let back = shamir::reconstruct(
            (PartyId::P0, shares[0].groups()),
            (PartyId::P2, shares[2].groups()),
        );
        let flat: Vec<u16> = back.iter().flat_map(|g| g.0).collect();
        let expected: Vec<u16> = encode_iris(&code).iter().map(|z| z.0).collect();
        assert_eq!(flat, expected);
        for s in &shares {
            assert_eq!(&EnrolmentShare::from_bytes(&s.to_bytes()).unwrap(), s);
        }
        assert_eq!(shares[1].party(), PartyId::P1);
    }

    #[test]
    fn the_trace_of_enrolment_times_query_is_the_dot_product() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let (a, b) = (
            IrisCode::random(&mut rng, UNMASKED),
            IrisCode::random(&mut rng, UNMASKED),
        );
        let (ea, eb) = (encode_iris(&a), encode_iris(&b));
        let stored = enrolment_shares_seeded(&a, &mut rng);
        let query = query_shares_seeded(&b, &mut rng);
        let sg = shamir::reconstruct(
            (PartyId::P0, stored[0].groups()),
            (PartyId::P1, stored[1].groups()),
        );
        let qg = shamir::reconstruct(
            (PartyId::P0, query[0].groups()),
            (PartyId::P1, query[1].groups()),
        );
        let via_trace = sg
            .iter()
            .zip(&qg)
            .take(CODE_ELEMENTS / GROUP)
            .fold(crate::Z16(0), |s, (&g, &u)| s + (g * u).trace());
        let plain = (0..CODE_ELEMENTS).fold(crate::Z16(0), |s, k| s + ea[k] * eb[k]);
        assert_eq!(via_trace, plain);
        assert_eq!(ea.len(), ELEMENTS);
    }

    #[test]
    fn malformed_bytes_are_refused() {
        assert!(matches!(
            QueryShare::from_bytes(&[0; 10]),
            Err(ShareDecodeError::Length { given: 10, .. })
        ));
        let mut bytes = vec![0u8; WIRE_BYTES];
        bytes[0] = 3;
        assert_eq!(
            QueryShare::from_bytes(&bytes),
            Err(ShareDecodeError::Party(3))
        );
        // An enrolment share is not a query share, nor the reverse.
        let code = IrisCode::from_fn(|i| i % 2 == 0, |_| true).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let enrolment = enrolment_shares_seeded(&code, &mut rng)[0].to_bytes();
        assert!(matches!(
            QueryShare::from_bytes(&enrolment),
            Err(ShareDecodeError::Form {
                expected: "query",
                given: 0
            })
        ));
        let query = query_shares_seeded(&code, &mut rng)[0].to_bytes();
        assert!(matches!(
            EnrolmentShare::from_bytes(&query),
            Err(ShareDecodeError::Form {
                expected: "enrolment",
                given: 1
            })
        ));
        assert!(QueryShare::from_bytes(&query).is_ok());
    }
}
