//! Secret material and its deterministic derivation.
//!
//! * The holder's *prover nym* (its share of the pseudonym secret) is derived from the
//!   wallet seed with HKDF-SHA-256 under a masque-specific salt and label, so a wallet
//!   restored from its mnemonic derives the same value and keeps every pseudonym.
//! * The issuer's *signer nym entropy* for a record is derived from the issuer's entropy
//!   key and the record handle, so re-issuing for the same record (new epoch, lost
//!   credential) reproduces the same final nym secret, while different records get
//!   independent entropy, as the pseudonym draft asks ("reissue" case, and a different
//!   `signer_nym_entropy` per prover).
//! * The holder's *anchor blind* for one record is derived from the wallet seed, the
//!   issuer's key id and the record's public binding salt (which the issuer derives from
//!   its entropy key and the record handle and sends in its [`crate::IssuanceOffer`]), so
//!   a restored wallet recomputes the commitment to its prover nym that the issuer kept at
//!   the record's first issuance ([`crate::binding`]), while a new record (after deletion
//!   and re-enrolment) gets an unrelated one.
//!
//! Scalars are drawn by rejection: HKDF output blocks are taken until one is a canonical
//! non-zero BLS12-381 scalar (big-endian, below the group order `r`), which keeps the
//! result uniform. Every type here is zeroized on drop and prints as `<redacted>`.

use std::fmt;

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::CredError;
use crate::objects::{BindingSalt, KeyId};
use crate::store::RecordKey;

/// The BLS12-381 scalar group order `r`, big-endian.
const GROUP_ORDER_BE: [u8; 32] = [
    0x73, 0xed, 0xa7, 0x53, 0x29, 0x9d, 0x7d, 0x48, 0x33, 0x39, 0xd8, 0x08, 0x09, 0xa1, 0xd8, 0x05,
    0x53, 0xbd, 0xa4, 0x02, 0xff, 0xfe, 0x5b, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
];

const NYM_SALT: &[u8] = b"masque-cred/v1/wallet-seed-salt";
const NYM_INFO: &[u8] = b"masque-cred/v1/prover-nym";
const ISSUER_SALT: &[u8] = b"masque-cred/v1/issuer-seed-salt";
const ISSUER_KEY_INFO: &[u8] = b"masque-cred/v1/bbs-key-material";
const ISSUER_ENTROPY_INFO: &[u8] = b"masque-cred/v1/nym-entropy-key";
const ENTROPY_INFO: &[u8] = b"masque-cred/v1/signer-nym-entropy";
const ANCHOR_KEY_INFO: &[u8] = b"masque-cred/v1/nym-anchor-key";
const ANCHOR_BLIND_INFO: &[u8] = b"masque-cred/v1/nym-anchor-blind";
const BINDING_SALT_INFO: &[u8] = b"masque-cred/v1/nym-binding-salt";
const RECORD_KEY_INFO: &[u8] = b"masque-cred/v1/record-key";

/// Minimum length of a wallet or issuer seed.
pub const MIN_SEED_LEN: usize = 32;

macro_rules! redacted_debug {
    ($t:ty) => {
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($t), "(<redacted>)"))
            }
        }
    };
}

/// A big-endian BLS12-381 scalar held as bytes; zeroized on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SecretScalar(pub(crate) [u8; 32]);
redacted_debug!(SecretScalar);

impl SecretScalar {
    /// The big-endian bytes.
    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A scalar from canonical big-endian bytes (strictly below the group order), for
    /// callers of [`crate::backend::BbsBackend`] and known-answer tests.
    pub fn from_be_bytes(bytes: [u8; 32]) -> Result<Self, CredError> {
        if !is_canonical_scalar(&bytes) {
            return Err(CredError::Backend("non-canonical scalar"));
        }
        Ok(Self(bytes))
    }

    /// The big-endian bytes. They are secret: never log or store them unencrypted.
    pub fn expose_be_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Whether `bytes` is a canonical big-endian scalar (strictly below the group order).
pub(crate) fn is_canonical_scalar(bytes: &[u8; 32]) -> bool {
    bytes < &GROUP_ORDER_BE
}

/// Draws a uniform non-zero scalar from HKDF output labelled `info || counter`.
fn derive_scalar(hk: &Hkdf<Sha256>, info: &[&[u8]]) -> SecretScalar {
    for counter in 0u32.. {
        let mut block = Zeroizing::new([0u8; 32]);
        let counter_bytes = counter.to_be_bytes();
        let mut parts: Vec<&[u8]> = info.to_vec();
        parts.push(&counter_bytes);
        hk.expand_multi_info(&parts, block.as_mut())
            .expect("32 bytes is a valid HKDF-SHA-256 output length");
        if is_canonical_scalar(&block) && block.iter().any(|&b| b != 0) {
            return SecretScalar(*block);
        }
    }
    unreachable!("a 32-bit counter cannot be exhausted: each try succeeds with probability > 0.45")
}

/// The wallet seed (e.g. the BIP-39 seed of the person's mnemonic); zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct WalletSeed(Vec<u8>);
redacted_debug!(WalletSeed);

impl WalletSeed {
    /// Wraps seed bytes; at least [`MIN_SEED_LEN`] bytes are required.
    pub fn new(bytes: &[u8]) -> Result<Self, CredError> {
        if bytes.len() < MIN_SEED_LEN {
            return Err(CredError::InvalidAttribute(
                "wallet seed must be at least 32 bytes",
            ));
        }
        Ok(Self(bytes.to_vec()))
    }

    /// The holder's share of the pseudonym secret for credentials of this wallet.
    pub(crate) fn prover_nym(&self) -> SecretScalar {
        let hk = Hkdf::<Sha256>::new(Some(NYM_SALT), &self.0);
        derive_scalar(&hk, &[NYM_INFO])
    }

    /// The key from which the wallet's per-record anchor blinds are derived.
    pub(crate) fn anchor_key(&self) -> AnchorKey {
        let mut out = [0u8; 32];
        Hkdf::<Sha256>::new(Some(NYM_SALT), &self.0)
            .expand(ANCHOR_KEY_INFO, &mut out)
            .expect("32 bytes is a valid HKDF-SHA-256 output length");
        AnchorKey(out)
    }
}

/// The wallet's key for anchor blinds (derived from the seed); zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct AnchorKey([u8; 32]);
redacted_debug!(AnchorKey);

impl AnchorKey {
    /// The blind of the wallet's nym anchor for the record behind `salt` at the issuer
    /// with key id `issuer`: the same inputs give the same blind, on any device restored
    /// from the same seed.
    pub(crate) fn anchor_blind(&self, issuer: &KeyId, salt: &BindingSalt) -> SecretScalar {
        let hk = Hkdf::<Sha256>::from_prk(&self.0).expect("32-byte PRK is long enough");
        derive_scalar(&hk, &[ANCHOR_BLIND_INFO, &issuer.0, &salt.0])
    }
}

/// The issuer's root secret, from which its BBS key and its nym-entropy key are derived.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct IssuerSeed(Vec<u8>);
redacted_debug!(IssuerSeed);

impl IssuerSeed {
    /// Wraps seed bytes; at least [`MIN_SEED_LEN`] bytes are required.
    pub fn new(bytes: &[u8]) -> Result<Self, CredError> {
        if bytes.len() < MIN_SEED_LEN {
            return Err(CredError::InvalidAttribute(
                "issuer seed must be at least 32 bytes",
            ));
        }
        Ok(Self(bytes.to_vec()))
    }

    /// A fresh random seed from the operating system's CSPRNG (through `rand`).
    pub fn random() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::fill(bytes.as_mut());
        Self(bytes.to_vec())
    }

    fn hkdf(&self) -> Hkdf<Sha256> {
        Hkdf::<Sha256>::new(Some(ISSUER_SALT), &self.0)
    }

    /// Key material for the BBS `KeyGen` operation.
    pub(crate) fn bbs_key_material(&self) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        self.hkdf()
            .expand(ISSUER_KEY_INFO, out.as_mut())
            .expect("32 bytes is a valid HKDF-SHA-256 output length");
        out
    }

    /// The key from which per-record signer nym entropy is derived.
    pub(crate) fn entropy_key(&self) -> EntropyKey {
        let mut out = [0u8; 32];
        self.hkdf()
            .expand(ISSUER_ENTROPY_INFO, &mut out)
            .expect("32 bytes is a valid HKDF-SHA-256 output length");
        EntropyKey(out)
    }
}

/// The issuer's key for per-record signer nym entropy; zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct EntropyKey([u8; 32]);
redacted_debug!(EntropyKey);

impl EntropyKey {
    /// The signer nym entropy for `record`.
    pub(crate) fn signer_nym_entropy(&self, record: &RecordHandle) -> SecretScalar {
        let hk = Hkdf::<Sha256>::from_prk(&self.0).expect("32-byte PRK is long enough");
        let len = (record.0.len() as u64).to_be_bytes();
        derive_scalar(&hk, &[ENTROPY_INFO, &len, &record.0])
    }

    /// 32 bytes for `record` under the HKDF label `info`.
    fn record_bytes(&self, info: &[u8], record: &RecordHandle) -> [u8; 32] {
        let hk = Hkdf::<Sha256>::from_prk(&self.0).expect("32-byte PRK is long enough");
        let len = (record.0.len() as u64).to_be_bytes();
        let mut out = [0u8; 32];
        hk.expand_multi_info(&[info, &len, &record.0], &mut out)
            .expect("32 bytes is a valid HKDF-SHA-256 output length");
        out
    }

    /// The public binding salt of `record`, sent to the holder in the issuance offer. It
    /// is a PRF output, so salts of different records are unrelated.
    pub(crate) fn binding_salt(&self, record: &RecordHandle) -> BindingSalt {
        BindingSalt(self.record_bytes(BINDING_SALT_INFO, record))
    }

    /// The key under which the issuer's store keeps per-record state (the store never
    /// holds a record handle).
    pub(crate) fn record_key(&self, record: &RecordHandle) -> RecordKey {
        RecordKey(self.record_bytes(RECORD_KEY_INFO, record))
    }
}

/// The issuer's opaque handle of an enrolment record (given by the custodian node after the
/// uniqueness check). It never leaves the issuer; it only makes re-issuance for the same
/// record keep the person's pseudonyms.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct RecordHandle(Vec<u8>);
redacted_debug!(RecordHandle);

impl RecordHandle {
    /// Wraps the handle bytes (must not be empty).
    pub fn new(bytes: &[u8]) -> Result<Self, CredError> {
        if bytes.is_empty() {
            return Err(CredError::InvalidAttribute(
                "record handle must not be empty",
            ));
        }
        Ok(Self(bytes.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn canonical_check_matches_the_group_order() {
        assert!(!is_canonical_scalar(&GROUP_ORDER_BE));
        let mut below = GROUP_ORDER_BE;
        below[31] = 0;
        assert!(is_canonical_scalar(&below));
        assert!(!is_canonical_scalar(&[0xff; 32]));
    }

    #[test]
    fn debug_never_prints_secrets() {
        let seed = WalletSeed::new(&[0xab; 32]).unwrap();
        let text = format!("{seed:?} {:?}", seed.prover_nym());
        assert!(!text.contains("ab") && !text.contains("171"), "{text}");
        assert!(text.contains("redacted"));
    }

    #[test]
    fn short_seeds_are_refused() {
        assert!(WalletSeed::new(&[1; 31]).is_err());
        assert!(IssuerSeed::new(&[1; 31]).is_err());
        assert!(RecordHandle::new(&[]).is_err());
    }

    proptest! {
        #[test]
        fn prover_nym_is_deterministic_canonical_and_seed_specific(
            a in proptest::collection::vec(any::<u8>(), 32..64),
            b in proptest::collection::vec(any::<u8>(), 32..64),
        ) {
            let na = WalletSeed::new(&a).unwrap().prover_nym();
            prop_assert_eq!(&na, &WalletSeed::new(&a).unwrap().prover_nym());
            prop_assert!(is_canonical_scalar(na.bytes()));
            if a != b {
                prop_assert_ne!(na, WalletSeed::new(&b).unwrap().prover_nym());
            }
        }

        #[test]
        fn anchor_blinds_are_deterministic_and_per_seed_issuer_and_salt(
            a in proptest::collection::vec(any::<u8>(), 32..64),
            b in proptest::collection::vec(any::<u8>(), 32..64),
            issuer in any::<[u8; 32]>(),
            salt in any::<[u8; 32]>(),
            bit in 0usize..256,
        ) {
            let (issuer, salt) = (KeyId(issuer), BindingSalt(salt));
            let key = WalletSeed::new(&a).unwrap().anchor_key();
            let blind = key.anchor_blind(&issuer, &salt);
            // A restored wallet (same seed) derives the same blind.
            prop_assert_eq!(&blind, &WalletSeed::new(&a).unwrap().anchor_key().anchor_blind(&issuer, &salt));
            prop_assert!(is_canonical_scalar(blind.bytes()));
            prop_assert_ne!(&blind, &WalletSeed::new(&a).unwrap().prover_nym());
            let flip = |mut x: [u8; 32]| { x[bit / 8] ^= 1 << (bit % 8); x };
            prop_assert_ne!(&blind, &key.anchor_blind(&KeyId(flip(issuer.0)), &salt));
            prop_assert_ne!(&blind, &key.anchor_blind(&issuer, &BindingSalt(flip(salt.0))));
            if a != b {
                prop_assert_ne!(blind, WalletSeed::new(&b).unwrap().anchor_key().anchor_blind(&issuer, &salt));
            }
        }

        #[test]
        fn binding_salts_and_record_keys_are_per_record_and_separated(
            r1 in proptest::collection::vec(any::<u8>(), 1..16),
            r2 in proptest::collection::vec(any::<u8>(), 1..16),
        ) {
            let key = IssuerSeed::new(&[7; 32]).unwrap().entropy_key();
            let (h1, h2) = (RecordHandle::new(&r1).unwrap(), RecordHandle::new(&r2).unwrap());
            let (salt, rkey) = (key.binding_salt(&h1), key.record_key(&h1));
            prop_assert_eq!(salt, key.binding_salt(&h1));
            prop_assert_eq!(rkey, key.record_key(&h1));
            prop_assert_ne!(salt.0, rkey.0);
            let entropy = key.signer_nym_entropy(&h1);
            prop_assert_ne!(&salt.0, entropy.bytes());
            if r1 != r2 {
                prop_assert_ne!(salt, key.binding_salt(&h2));
                prop_assert_ne!(rkey, key.record_key(&h2));
            }
            let other = IssuerSeed::new(&[8; 32]).unwrap().entropy_key();
            prop_assert_ne!(salt, other.binding_salt(&h1));
        }

        #[test]
        fn signer_entropy_is_per_record(
            r1 in proptest::collection::vec(any::<u8>(), 1..16),
            r2 in proptest::collection::vec(any::<u8>(), 1..16),
        ) {
            let key = IssuerSeed::new(&[7; 32]).unwrap().entropy_key();
            let e1 = key.signer_nym_entropy(&RecordHandle::new(&r1).unwrap());
            prop_assert_eq!(&e1, &key.signer_nym_entropy(&RecordHandle::new(&r1).unwrap()));
            prop_assert!(is_canonical_scalar(e1.bytes()));
            if r1 != r2 {
                prop_assert_ne!(e1, key.signer_nym_entropy(&RecordHandle::new(&r2).unwrap()));
            }
        }
    }
}
