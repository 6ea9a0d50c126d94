//! Every key of a wallet, derived from its BIP-39 seed with HKDF-SHA-256 (RFC 5869).
//!
//! One extract step turns the seed into the wallet's pseudorandom key:
//! `PRK = HKDF-Extract(salt = "masque-wallet/v1/seed", IKM = seed)`. Each key is then one
//! expand step, `HKDF-Expand(PRK, info, 32)`, under its own label:
//!
//! | key | info |
//! | --- | --- |
//! | record `i` signing key (Ed25519 secret key bytes) | `"masque-wallet/v1/record-signing-key"` ‖ `u32be(i)` |
//! | record `i` audit key `k_record` | `"masque-wallet/v1/record-audit-key"` ‖ `u32be(i)` |
//! | credential seed (given to masque-cred as its `WalletSeed`) | `"masque-wallet/v1/cred-seed"` |
//! | wallet fingerprint (first 8 bytes) | `"masque-wallet/v1/fingerprint"` |
//!
//! No label is a prefix of another, so `label ‖ index` never collides across kinds. The
//! `v1` is the derivation's version: a new scheme gets new labels, never new meanings for
//! old ones. masque-cred derives the holder's nym secret and anchor blinds from the
//! credential seed under its own labels, so a wallet restored from its phrase gets the same
//! pseudonyms.
//!
//! The per-record audit tag of the n-th operation on a record (n = 0 for the enrolment)
//! is `HMAC-SHA256(k_record, u64be(n))`: the log carries it, and only someone holding
//! `k_record` (the person, and the custodians it is given to) can recognise the record's
//! entries.
//!
//! Limits: the HKDF and HMAC states of the `hkdf`/`hmac` crates are not zeroized (only the
//! keys held here are).

use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::phrase::Seed;

/// HKDF-Extract salt of the wallet's pseudorandom key.
pub const SEED_SALT: &[u8] = b"masque-wallet/v1/seed";
/// HKDF-Expand label of a record's Ed25519 signing key (followed by the index).
pub const RECORD_SIGNING_LABEL: &[u8] = b"masque-wallet/v1/record-signing-key";
/// HKDF-Expand label of a record's audit key (followed by the index).
pub const RECORD_AUDIT_LABEL: &[u8] = b"masque-wallet/v1/record-audit-key";
/// HKDF-Expand label of the seed given to masque-cred.
pub const CRED_SEED_LABEL: &[u8] = b"masque-wallet/v1/cred-seed";
/// HKDF-Expand label of the wallet fingerprint.
pub const FINGERPRINT_LABEL: &[u8] = b"masque-wallet/v1/fingerprint";

/// The index of one of the person's records (one enrolment). Each index has its own
/// record key and audit key; a re-enrolment after deletion takes a new index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordIndex(pub u32);

impl fmt::Display for RecordIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The keys of one wallet: its HKDF pseudorandom key, from which every key is expanded
/// on demand. Zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct WalletKeys {
    prk: [u8; 32],
}

impl fmt::Debug for WalletKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WalletKeys(<redacted>)")
    }
}

impl WalletKeys {
    /// The keys of the wallet whose BIP-39 seed is `seed`.
    pub fn from_seed(seed: &Seed) -> Self {
        let (mut prk, _) = Hkdf::<Sha256>::extract(Some(SEED_SALT), seed.expose_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(&prk);
        let prk_bytes: &mut [u8] = &mut prk;
        prk_bytes.zeroize();
        Self { prk: out }
    }

    /// 32 bytes under `label ‖ index` (index omitted when `None`).
    fn expand(&self, label: &[u8], index: Option<RecordIndex>) -> Zeroizing<[u8; 32]> {
        let hk = Hkdf::<Sha256>::from_prk(&self.prk).expect("a 32-byte PRK is long enough");
        let mut out = Zeroizing::new([0u8; 32]);
        let index = index.map(|i| i.0.to_be_bytes());
        let info: &[&[u8]] = match &index {
            Some(i) => &[label, i],
            None => &[label],
        };
        hk.expand_multi_info(info, out.as_mut())
            .expect("32 bytes is a valid HKDF-SHA-256 output length");
        out
    }

    /// The Ed25519 key of record `index`, which signs the person's operations on it
    /// (verify, delete, consent, re-issuance).
    pub fn record_key(&self, index: RecordIndex) -> RecordKey {
        let bytes = self.expand(RECORD_SIGNING_LABEL, Some(index));
        RecordKey(SigningKey::from_bytes(&bytes))
    }

    /// The audit key `k_record` of record `index`.
    pub fn audit_key(&self, index: RecordIndex) -> AuditKey {
        AuditKey(*self.expand(RECORD_AUDIT_LABEL, Some(index)))
    }

    /// The seed of this wallet's credentials, as masque-cred takes it: a restored wallet
    /// gets the same one, so the same prover nym and the same pseudonyms.
    pub fn cred_seed(&self) -> masque_cred::WalletSeed {
        masque_cred::WalletSeed::new(self.expand(CRED_SEED_LABEL, None).as_ref())
            .expect("32 bytes is masque-cred's minimum seed length")
    }

    /// A short public fingerprint of the wallet (8 bytes, as `xxxx-xxxx-xxxx-xxxx`), for
    /// a person to check that a restored wallet is the one they meant. It reveals nothing
    /// about the keys and is never sent anywhere by masque.
    pub fn fingerprint(&self) -> String {
        let bytes = self.expand(FINGERPRINT_LABEL, None);
        bytes[..8]
            .chunks(2)
            .map(|pair| format!("{:02x}{:02x}", pair[0], pair[1]))
            .collect::<Vec<_>>()
            .join("-")
    }
}

/// A record's Ed25519 signing key (ed25519-dalek, zeroized on drop).
#[derive(Clone)]
pub struct RecordKey(SigningKey);

impl fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordKey(public {})", hex(self.public_key().as_bytes()))
    }
}

impl RecordKey {
    /// The public key the custodians check the record's signed operations against.
    pub fn public_key(&self) -> VerifyingKey {
        self.0.verifying_key()
    }

    /// Signs `message` (Ed25519, RFC 8032).
    pub fn sign(&self, message: &[u8]) -> Signature {
        self.0.sign(message)
    }

    /// The underlying ed25519-dalek key, for protocols that need more than [`Self::sign`].
    pub fn signing_key(&self) -> &SigningKey {
        &self.0
    }
}

/// A record's audit key `k_record`; zeroized on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct AuditKey([u8; 32]);

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditKey(<redacted>)")
    }
}

impl AuditKey {
    /// Wraps key bytes (a custodian holds the key it was given at enrolment).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The audit tag of the `n`-th operation on the record.
    pub fn tag(&self, n: u64) -> AuditTag {
        audit_tag(&self.0, n)
    }

    /// The key bytes, to hand to the custodians (sealed) at enrolment. Secret: whoever
    /// has them can find the record's entries in the log.
    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The per-record audit tag of the `n`-th operation on a record (n = 0 is the
/// enrolment), as the custodians write it into the log:
/// [`masque_protocol::audit::audit_tag`], `HMAC-SHA256(k_record, "masque-audit/v1" ‖ u64be(n))`.
pub fn audit_tag(k_record: &[u8; 32], n: u64) -> AuditTag {
    AuditTag(masque_protocol::audit::audit_tag(k_record, n))
}

/// A per-record audit tag, as the log carries it. Public.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuditTag(pub [u8; 32]);

impl fmt::Debug for AuditTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditTag({})", hex(&self.0))
    }
}

impl fmt::Display for AuditTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

/// Lower-case hex of public bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phrase::RecoveryPhrase;
    use ed25519_dalek::Verifier;
    use proptest::prelude::*;

    const ZOO: &str = "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo vote";

    fn zoo_keys() -> WalletKeys {
        WalletKeys::from_seed(&RecoveryPhrase::parse(ZOO).unwrap().seed())
    }

    /// Expected values computed independently of this code (Python's hashlib/hmac for
    /// HKDF and HMAC, the `cryptography` package for the Ed25519 public keys) from the
    /// labels in the module docs. A change here changes every person's keys.
    #[test]
    fn derivation_known_answers() {
        let keys = zoo_keys();
        assert_eq!(hex(&keys.prk), KAT_PRK);
        assert_eq!(
            hex(keys.record_key(RecordIndex(0)).signing_key().as_bytes()),
            KAT_SIGNING_0
        );
        assert_eq!(
            hex(keys.record_key(RecordIndex(0)).public_key().as_bytes()),
            KAT_PUBLIC_0
        );
        assert_eq!(
            hex(keys.record_key(RecordIndex(7)).public_key().as_bytes()),
            KAT_PUBLIC_7
        );
        assert_eq!(
            hex(keys.audit_key(RecordIndex(0)).expose_bytes()),
            KAT_AUDIT_0
        );
        assert_eq!(
            keys.audit_key(RecordIndex(0)).tag(0).to_string(),
            KAT_TAG_0_0
        );
        assert_eq!(
            keys.audit_key(RecordIndex(0)).tag(5).to_string(),
            KAT_TAG_0_5
        );
        assert_eq!(keys.fingerprint(), KAT_FINGERPRINT);
        assert_eq!(
            hex(keys.expand(CRED_SEED_LABEL, None).as_ref()),
            KAT_CRED_SEED
        );
    }

    #[test]
    fn record_keys_sign_and_debug_shows_only_public_parts() {
        let keys = zoo_keys();
        let key = keys.record_key(RecordIndex(3));
        let sig = key.sign(b"delete record 3");
        key.public_key().verify(b"delete record 3", &sig).unwrap();
        assert!(key.public_key().verify(b"delete record 4", &sig).is_err());
        let text = format!("{key:?} {keys:?} {:?}", keys.audit_key(RecordIndex(3)));
        let secret = hex(key.signing_key().as_bytes());
        assert!(!text.contains(&secret), "{text}");
        assert!(!text.contains(&hex(keys.audit_key(RecordIndex(3)).expose_bytes())));
        assert!(text.contains(&hex(key.public_key().as_bytes())));
    }

    proptest! {
        #[test]
        fn keys_are_deterministic_and_separated(
            entropy in any::<[u8; 32]>(),
            i in any::<u32>(),
            j in any::<u32>(),
            n in any::<u64>(),
        ) {
            let phrase = RecoveryPhrase::from_entropy(&entropy);
            let a = WalletKeys::from_seed(&phrase.seed());
            let b = WalletKeys::from_seed(&RecoveryPhrase::parse(&phrase.to_phrase()).unwrap().seed());
            let (ri, rj) = (RecordIndex(i), RecordIndex(j));
            prop_assert_eq!(a.record_key(ri).public_key(), b.record_key(ri).public_key());
            prop_assert_eq!(a.audit_key(ri), b.audit_key(ri));
            prop_assert_eq!(a.fingerprint(), b.fingerprint());
            // Signing key, audit key and credential seed of one index are unrelated bytes.
            prop_assert_ne!(a.record_key(ri).signing_key().to_bytes(), *a.audit_key(ri).expose_bytes());
            prop_assert_ne!(a.audit_key(ri).tag(n), a.audit_key(ri).tag(n.wrapping_add(1)));
            if i != j {
                prop_assert_ne!(a.record_key(ri).public_key(), a.record_key(rj).public_key());
                prop_assert_ne!(a.audit_key(ri), a.audit_key(rj));
                prop_assert_ne!(a.audit_key(ri).tag(n), a.audit_key(rj).tag(n));
            }
            let other = WalletKeys::from_seed(&RecoveryPhrase::from_entropy(&[!entropy[0]; 32]).seed());
            prop_assert_ne!(a.record_key(ri).public_key(), other.record_key(ri).public_key());
        }
    }

    // Pinned below: see `derivation_known_answers`.
    const KAT_PRK: &str = "207af5710bb037cb334b7bfcdf73685e2ce0f6c6d916988da46366f0f093f0a1";
    const KAT_SIGNING_0: &str = "061a2136d7eb844fe2b48523b7929ef42972e5ce550d37e0935f8867737ec834";
    const KAT_PUBLIC_0: &str = "7f2cc738f81c934082fac1c23a60e3a19686d5daefc4faa6dbbb8d7b355efbca";
    const KAT_PUBLIC_7: &str = "b54edb5f1ebe721374cf28f7df36abf4b9f3704687d51d870ac42e429dd2dd6c";
    const KAT_AUDIT_0: &str = "e4b068238b157a0089ea73b38163ab9bd2d2b227483bb7efc53321f03e475df9";
    const KAT_TAG_0_0: &str = "7a393c4636e711cd187e6bfc4cd335fbec675bcc8700a3e76e949925818ef896";
    const KAT_TAG_0_5: &str = "8f8c80f4ab0163dd37580250d76b303e61e88ee7a1ef6972d4754b79280990fc";
    const KAT_CRED_SEED: &str = "f4eb61b6dc0ff973345a544167c5968790716dfd570357317590fc8f5d50f149";
    const KAT_FINGERPRINT: &str = "8084-751e-805d-782d";
}
