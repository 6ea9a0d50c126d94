//! The wallet file: one JSON object, `{"header": ..., "body": ...}` when the file is not
//! encrypted, `{"header": ..., "ciphertext": ...}` when it is.
//!
//! The header names the format and its version and how the body is protected. With a
//! passphrase, the file key is `Argon2id(passphrase, salt, m, t, p)` (RFC 9106, version
//! 0x13, 32-byte output) with the parameters and the salt stored in the header, so they can
//! be raised later without breaking older files; the body's JSON is sealed with
//! XChaCha20-Poly1305 under that key and a fresh random 24-byte nonce per write, with the
//! header as associated data (`"masque-wallet/v1/header\n"` followed by the header's
//! compact JSON), so changing any header field (a parameter, the salt, the nonce) makes
//! the file fail to open. `ciphertext` is unpadded base64url of ciphertext and tag.
//!
//! Reading never panics: a file that is not this format, is truncated or altered gives
//! [`WalletError::Corrupt`] or [`WalletError::WrongPassphrase`]. Key-derivation
//! parameters are bounded ([`KdfCost::check`]) before any work, so a damaged header cannot
//! make masque allocate gigabytes.

use std::path::Path;

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::codec::{json_reason, to_zeroizing_json};
use crate::error::WalletError;
use crate::passphrase::Passphrase;
use crate::state::{Body, OpaqueBytes};

/// The `format` field of every wallet file.
pub const FORMAT: &str = "masque-wallet";
/// The file format version this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The largest wallet file masque reads (16 MiB).
pub const MAX_FILE_LEN: u64 = 16 << 20;
/// Prefix of the associated data (the header's JSON follows).
const AAD_PREFIX: &[u8] = b"masque-wallet/v1/header\n";
const KDF_ALGORITHM: &str = "argon2id";
const CIPHER: &str = "xchacha20poly1305";
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfCost {
    /// Memory in KiB (`m`).
    pub memory_kib: u32,
    /// Passes over the memory (`t`).
    pub iterations: u32,
    /// Lanes (`p`).
    pub parallelism: u32,
}

impl KdfCost {
    /// RFC 9106's second recommended option: 64 MiB, 3 passes, 4 lanes (measured: about
    /// 0.4 s and 70 MB peak for `masque wallet show` on the 2-core development machine;
    /// paid once per open).
    pub const DEFAULT: KdfCost = KdfCost {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 4,
    };
    /// The most memory a wallet file may ask for (4 GiB).
    pub const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
    /// The most passes a wallet file may ask for.
    pub const MAX_ITERATIONS: u32 = 256;
    /// The most lanes a wallet file may ask for.
    pub const MAX_PARALLELISM: u32 = 64;

    /// Refuses parameters Argon2 cannot use or above the maximums.
    pub fn check(&self) -> Result<(), WalletError> {
        let ok = (1..=Self::MAX_PARALLELISM).contains(&self.parallelism)
            && (1..=Self::MAX_ITERATIONS).contains(&self.iterations)
            && self.memory_kib >= 8 * self.parallelism
            && self.memory_kib <= Self::MAX_MEMORY_KIB;
        if ok {
            Ok(())
        } else {
            Err(WalletError::Passphrase(
                "Argon2id parameters out of range (1..=64 lanes, 1..=256 passes, 8 KiB per lane to 4 GiB)",
            ))
        }
    }
}

/// The key-derivation parameters as stored in the header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfParams {
    algorithm: String,
    version: u32,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    salt: OpaqueBytes,
}

impl KdfParams {
    fn new(cost: KdfCost) -> Self {
        let mut salt = vec![0u8; SALT_LEN];
        rand::fill(salt.as_mut_slice());
        Self {
            algorithm: KDF_ALGORITHM.to_owned(),
            version: 0x13,
            memory_kib: cost.memory_kib,
            iterations: cost.iterations,
            parallelism: cost.parallelism,
            salt: OpaqueBytes(salt),
        }
    }

    /// The cost parameters.
    pub fn cost(&self) -> KdfCost {
        KdfCost {
            memory_kib: self.memory_kib,
            iterations: self.iterations,
            parallelism: self.parallelism,
        }
    }
}

/// How the body is protected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Protection {
    /// Not encrypted (the file is still mode 0600).
    None,
    /// Encrypted under a key derived from the person's passphrase.
    Passphrase {
        /// How the key is derived.
        kdf: KdfParams,
        /// The AEAD (`xchacha20poly1305`).
        cipher: String,
        /// This write's nonce.
        nonce: OpaqueBytes,
    },
}

/// The file header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    format: String,
    version: u32,
    protection: Protection,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJson<B> {
    header: Header,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<B>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ciphertext: Option<OpaqueBytes>,
}

/// A file key: the Argon2id output and the parameters (with salt) it came from.
pub(crate) struct FileKey {
    kdf: KdfParams,
    key: Zeroizing<[u8; 32]>,
}

impl FileKey {
    /// Derives a key for a new salt (setting or changing the passphrase).
    pub(crate) fn new(passphrase: &Passphrase, cost: KdfCost) -> Result<Self, WalletError> {
        Self::derive(passphrase, KdfParams::new(cost))
    }

    fn derive(passphrase: &Passphrase, kdf: KdfParams) -> Result<Self, WalletError> {
        if kdf.algorithm != KDF_ALGORITHM || kdf.version != 0x13 || kdf.salt.0.len() != SALT_LEN {
            return Err(WalletError::Passphrase(
                "unsupported key derivation (this masque reads Argon2id v19 with a 16-byte salt)",
            ));
        }
        let cost = kdf.cost();
        cost.check()?;
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, Some(32))
            .map_err(|_| WalletError::Passphrase("Argon2id parameters out of range"))?;
        let mut key = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase.expose().as_bytes(), &kdf.salt.0, key.as_mut())
            .map_err(|_| WalletError::Passphrase("Argon2id could not derive the file key"))?;
        Ok(Self { kdf, key })
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new_from_slice(self.key.as_ref()).expect("the key is 32 bytes")
    }

    /// The cost this key was derived with.
    pub(crate) fn cost(&self) -> KdfCost {
        self.kdf.cost()
    }
}

/// A nonce of [`NONCE_LEN`] bytes (checked by the caller) as the cipher takes it.
fn xnonce(bytes: &[u8]) -> XNonce {
    let array: [u8; NONCE_LEN] = bytes.try_into().expect("nonces are checked to be 24 bytes");
    XNonce::from(array)
}

fn aad(header: &Header) -> Vec<u8> {
    let mut out = AAD_PREFIX.to_vec();
    serde_json::to_writer(&mut out, header).expect("headers always serialise");
    out
}

/// The file's bytes for `body`, sealed under `key` when there is one.
pub(crate) fn encode(body: &Body, key: Option<&FileKey>) -> Zeroizing<Vec<u8>> {
    let Some(key) = key else {
        let file = FileJson {
            header: Header {
                format: FORMAT.to_owned(),
                version: FORMAT_VERSION,
                protection: Protection::None,
            },
            body: Some(body),
            ciphertext: None,
        };
        return to_zeroizing_json(&file, 0);
    };
    let mut nonce = vec![0u8; NONCE_LEN];
    rand::fill(nonce.as_mut_slice());
    let header = Header {
        format: FORMAT.to_owned(),
        version: FORMAT_VERSION,
        protection: Protection::Passphrase {
            kdf: key.kdf.clone(),
            cipher: CIPHER.to_owned(),
            nonce: OpaqueBytes(nonce.clone()),
        },
    };
    let mut sealed = to_zeroizing_json(body, TAG_LEN);
    key.cipher()
        .encrypt_in_place(&xnonce(&nonce), &aad(&header), &mut *sealed)
        .expect("XChaCha20-Poly1305 seals any length below 256 GiB");
    let file: FileJson<Body> = FileJson {
        header,
        body: None,
        ciphertext: Some(OpaqueBytes(sealed.to_vec())),
    };
    Zeroizing::new(serde_json::to_vec(&file).expect("wallet files always serialise"))
}

/// A parsed wallet file, not yet decrypted.
pub(crate) enum Sealed {
    /// A file without a passphrase.
    Plain(Body),
    /// An encrypted file.
    Encrypted {
        header: Header,
        kdf: KdfParams,
        nonce: OpaqueBytes,
        ciphertext: OpaqueBytes,
    },
}

fn corrupt(path: &Path, reason: impl Into<String>) -> WalletError {
    WalletError::Corrupt {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// Parses a wallet file's text (from `path`, named in errors).
pub(crate) fn parse(path: &Path, text: &str) -> Result<Sealed, WalletError> {
    // The header alone first, so an unknown format or version is named as such.
    #[derive(Deserialize)]
    struct Probe {
        header: serde_json::Value,
    }
    if let Ok(Probe { header }) = serde_json::from_str::<Probe>(text) {
        if header.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(corrupt(
                path,
                "its header does not say it is a masque wallet",
            ));
        }
        if let Some(v) = header.get("version").and_then(|v| v.as_u64())
            && v != u64::from(FORMAT_VERSION)
        {
            return Err(corrupt(
                path,
                format!(
                    "it is format version {v}, this masque reads version {FORMAT_VERSION} (use a newer masque)"
                ),
            ));
        }
    }
    let file: FileJson<Body> =
        serde_json::from_str(text).map_err(|e| corrupt(path, json_reason(&e)))?;
    if file.header.format != FORMAT || file.header.version != FORMAT_VERSION {
        return Err(corrupt(path, "its header names another format or version"));
    }
    match (file.header.protection.clone(), file.body, file.ciphertext) {
        (Protection::None, Some(body), None) => Ok(Sealed::Plain(body)),
        (Protection::Passphrase { kdf, cipher, nonce }, None, Some(ciphertext)) => {
            if cipher != CIPHER || nonce.0.len() != NONCE_LEN || ciphertext.0.len() < TAG_LEN {
                return Err(corrupt(
                    path,
                    "its cipher, nonce or ciphertext is malformed",
                ));
            }
            Ok(Sealed::Encrypted {
                header: file.header,
                kdf,
                nonce,
                ciphertext,
            })
        }
        _ => Err(corrupt(
            path,
            "its header's protection does not match its contents",
        )),
    }
}

impl Sealed {
    /// Opens the body: with the passphrase for an encrypted file (returning the file key
    /// for later writes), without one for a plain file.
    pub(crate) fn open(
        self,
        path: &Path,
        passphrase: Option<&Passphrase>,
    ) -> Result<(Body, Option<FileKey>), WalletError> {
        match (self, passphrase) {
            (Sealed::Plain(body), None) => Ok((body, None)),
            (Sealed::Plain(_), Some(_)) => Err(WalletError::NotEncrypted {
                path: path.to_owned(),
            }),
            (Sealed::Encrypted { .. }, None) => Err(WalletError::PassphraseNeeded {
                path: path.to_owned(),
            }),
            (
                Sealed::Encrypted {
                    header,
                    kdf,
                    nonce,
                    ciphertext,
                },
                Some(passphrase),
            ) => {
                let key = FileKey::derive(passphrase, kdf)?;
                let mut plain = Zeroizing::new(ciphertext.0);
                key.cipher()
                    .decrypt_in_place(&xnonce(&nonce.0), &aad(&header), &mut *plain)
                    .map_err(|_| WalletError::WrongPassphrase {
                        path: path.to_owned(),
                    })?;
                // Authenticated, so written by someone with the key: still parsed with care.
                let body: Body = serde_json::from_slice(&plain)
                    .map_err(|e| corrupt(path, format!("its contents: {}", json_reason(&e))))?;
                Ok((body, Some(key)))
            }
        }
    }

    /// Whether opening needs a passphrase.
    pub(crate) fn is_encrypted(&self) -> bool {
        matches!(self, Sealed::Encrypted { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phrase::RecoveryPhrase;
    use crate::state::{SecretText, WalletState};
    use proptest::prelude::*;

    const CHEAP: KdfCost = KdfCost {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };

    fn body(entropy: [u8; 32], created_at: u64) -> Body {
        Body {
            recovery_phrase: SecretText(RecoveryPhrase::from_entropy(&entropy).to_phrase()),
            state: WalletState::new(created_at),
        }
    }

    fn pass(text: &str) -> Passphrase {
        Passphrase::new(Zeroizing::new(text.to_owned())).unwrap()
    }

    fn open(bytes: &[u8], passphrase: Option<&Passphrase>) -> Result<Body, WalletError> {
        let path = Path::new("w.json");
        let text = std::str::from_utf8(bytes).map_err(|_| corrupt(path, "not UTF-8"))?;
        parse(path, text)?.open(path, passphrase).map(|(b, _)| b)
    }

    #[test]
    fn every_header_field_is_authenticated() {
        let key = FileKey::new(&pass("pw"), CHEAP).unwrap();
        let file = encode(&body([1; 32], 5), Some(&key));
        let value: serde_json::Value = serde_json::from_slice(&file).unwrap();
        let edits: [(&str, serde_json::Value); 4] = [
            ("/header/protection/kdf/memory_kib", 16.into()),
            ("/header/protection/kdf/iterations", 2.into()),
            (
                "/header/protection/kdf/salt",
                "AAAAAAAAAAAAAAAAAAAAAA".into(),
            ),
            (
                "/header/protection/nonce",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
            ),
        ];
        for (pointer, new) in edits {
            let mut edited = value.clone();
            *edited.pointer_mut(pointer).unwrap() = new;
            let bytes = serde_json::to_vec(&edited).unwrap();
            let err = open(&bytes, Some(&pass("pw"))).err().unwrap();
            assert!(
                matches!(err, WalletError::WrongPassphrase { .. }),
                "{pointer}: {err}"
            );
        }
        assert!(open(&file, Some(&pass("pw"))).is_ok());
    }

    #[test]
    fn out_of_range_parameters_are_refused_before_any_work() {
        let key = FileKey::new(&pass("pw"), CHEAP).unwrap();
        let value: serde_json::Value =
            serde_json::from_slice(&encode(&body([1; 32], 5), Some(&key))).unwrap();
        for (field, huge) in [
            ("memory_kib", u64::from(u32::MAX)),
            ("iterations", 100_000),
            ("parallelism", 1000),
        ] {
            let mut edited = value.clone();
            edited["header"]["protection"]["kdf"][field] = huge.into();
            let err = open(&serde_json::to_vec(&edited).unwrap(), Some(&pass("pw")))
                .err()
                .unwrap();
            assert!(err.to_string().contains("out of range"), "{field}: {err}");
        }
        assert!(
            FileKey::new(
                &pass("pw"),
                KdfCost {
                    memory_kib: 7,
                    ..CHEAP
                }
            )
            .is_err()
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn encode_encrypt_decrypt_decode_round_trips(
            entropy in any::<[u8; 32]>(),
            created_at in any::<u64>(),
            next in any::<u32>(),
            password in "\\PC{1,24}",
            encrypted in any::<bool>(),
        ) {
            let mut original = body(entropy, created_at);
            original.state.next_record_index = next;
            let key = encrypted.then(|| FileKey::new(&pass(&password), CHEAP).unwrap());
            let file = encode(&original, key.as_ref());
            let given = encrypted.then(|| pass(&password));
            let back = open(&file, given.as_ref()).unwrap();
            prop_assert_eq!(&back.state, &original.state);
            prop_assert_eq!(&*back.recovery_phrase.0, &*original.recovery_phrase.0);
            if encrypted {
                // Two writes of the same body differ (fresh nonce); another passphrase fails.
                prop_assert_ne!(&*encode(&original, key.as_ref()), &*file);
                let wrong = pass(&format!("{password}x"));
                let is_wrong = matches!(open(&file, Some(&wrong)), Err(WalletError::WrongPassphrase { .. }));
                prop_assert!(is_wrong);
            }
        }
    }
}
