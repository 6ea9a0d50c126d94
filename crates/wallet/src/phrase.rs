//! The recovery phrase: 24 BIP-39 English words (256 bits of entropy and an 8-bit
//! checksum), and the 64-byte BIP-39 seed every wallet key derives from.
//!
//! The seed is BIP-39's `PBKDF2-HMAC-SHA512(phrase, "mnemonic", 2048)` with an empty BIP-39
//! passphrase: the file passphrase of [`crate::Wallet`] only encrypts the file, so the 24
//! words alone restore every key. The phrase and seed are zeroized on drop and print as
//! `<redacted>`.

use std::fmt;

use bip39::{Language, Mnemonic};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::PhraseError;

/// Number of words of a masque recovery phrase.
pub const WORDS: usize = 24;

/// A 24-word recovery phrase (checksum verified); zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryPhrase(Mnemonic);

impl fmt::Debug for RecoveryPhrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryPhrase(<redacted>)")
    }
}

impl RecoveryPhrase {
    /// A fresh phrase from 256 bits of the operating system's randomness (through
    /// `rand`'s thread generator, a CSPRNG seeded from the OS).
    pub fn generate() -> Self {
        let mut entropy = Zeroizing::new([0u8; 32]);
        rand::fill(entropy.as_mut());
        Self::from_entropy(&entropy)
    }

    /// The phrase that encodes 32 bytes of entropy (BIP-39).
    pub fn from_entropy(entropy: &[u8; 32]) -> Self {
        Self(
            Mnemonic::from_entropy_in(Language::English, entropy)
                .expect("32 bytes is a valid BIP-39 entropy length"),
        )
    }

    /// Parses a phrase as a person types it: words separated by any whitespace, in any
    /// letter case. Refuses anything but 24 words of the English list with a valid
    /// checksum, saying which word is unknown (by position, never the word itself).
    pub fn parse(text: &str) -> Result<Self, PhraseError> {
        let words: Vec<&str> = text.split_whitespace().collect();
        if words.len() != WORDS {
            return Err(PhraseError::WordCount(words.len()));
        }
        let mut normal = Zeroizing::new(String::with_capacity(text.len() * 2));
        for (i, word) in words.iter().enumerate() {
            if i > 0 {
                normal.push(' ');
            }
            // ASCII only: every English BIP-39 word is ASCII, and `to_lowercase` on other
            // text could allocate copies outside the zeroized buffer.
            if !word.is_ascii() {
                return Err(PhraseError::UnknownWord(i + 1));
            }
            normal.extend(word.chars().map(|c| c.to_ascii_lowercase()));
        }
        Mnemonic::parse_in_normalized(Language::English, &normal)
            .map(Self)
            .map_err(|e| match e {
                bip39::Error::UnknownWord(i) => PhraseError::UnknownWord(i + 1),
                bip39::Error::InvalidChecksum => PhraseError::Checksum,
                bip39::Error::BadWordCount(n) => PhraseError::WordCount(n),
                // Neither can happen for 24 words parsed in one language.
                bip39::Error::BadEntropyBitCount(_) | bip39::Error::AmbiguousLanguages(_) => {
                    PhraseError::WordCount(words.len())
                }
            })
    }

    /// The words, in order. They are the wallet's master secret: show them only to the
    /// person, once.
    pub fn words(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.words()
    }

    /// The words joined by single spaces, in a zeroized string.
    pub fn to_phrase(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(WORDS * 9));
        for (i, word) in self.words().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(word);
        }
        out
    }

    /// The BIP-39 seed (empty BIP-39 passphrase), from which [`crate::WalletKeys`]
    /// derives every key.
    pub fn seed(&self) -> Seed {
        self.seed_with_bip39_passphrase("")
    }

    /// The BIP-39 seed under a BIP-39 passphrase; masque uses the empty one, the published
    /// test vectors use "TREZOR".
    pub(crate) fn seed_with_bip39_passphrase(&self, passphrase: &str) -> Seed {
        let mut raw = self.0.to_seed_normalized(passphrase);
        let seed = Seed(raw);
        raw.zeroize();
        seed
    }
}

/// The 64-byte BIP-39 seed; zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Seed([u8; 64]);

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Seed(<redacted>)")
    }
}

impl Seed {
    /// The seed bytes. They are the wallet's master secret: never log or store them
    /// unencrypted.
    pub fn expose_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex32(text: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    /// The 24-word English vectors published with BIP-39 (entropy, phrase, seed under
    /// the BIP-39 passphrase "TREZOR").
    const BIP39_VECTORS: [(&str, &str, &str); 4] = [
        (
            "0000000000000000000000000000000000000000000000000000000000000000",
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art",
            "bda85446c68413707090a52022edd26a1c9462295029f2e60cd7c4f2bbd3097170af7a4d73245cafa9c3cca8d561a7c3de6f5d4a10be8ed2a5e608d68f92fcc8",
        ),
        (
            "8080808080808080808080808080808080808080808080808080808080808080",
            "letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic bless",
            "c0c519bd0e91a2ed54357d9d1ebef6f5af218a153624cf4f2da911a0ed8f7a09e2ef61af0aca007096df430022f7a2b6fb91661a9589097069720d015e4e982f",
        ),
        (
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo vote",
            "dd48c104698c30cfe2b6142103248622fb7bb0ff692eebb00089b32d22484e1613912f0a5b694407be899ffd31ed3992c456cdf60f5d4564b8ba3f05a69890ad",
        ),
        (
            "f585c11aec520db57dd353c69554b21a89b20fb0650966fa0a9d6f74fd989d8f",
            "void come effort suffer camp survey warrior heavy shoot primary clutch crush open amazing screen patrol group space point ten exist slush involve unfold",
            "01f5bced59dec48e362f2c45b5de68b9fd6c92c6634f44d6d40aab69056506f0e35524a518034ddc1192e1dacd32c1ed3eaa3c3b131c88ed8e7e54c49a5d0998",
        ),
    ];

    #[test]
    fn bip39_published_vectors() {
        for (entropy, phrase, seed) in BIP39_VECTORS {
            let from_entropy = RecoveryPhrase::from_entropy(&unhex32(entropy));
            assert_eq!(from_entropy.to_phrase().as_str(), phrase);
            let parsed = RecoveryPhrase::parse(phrase).unwrap();
            assert_eq!(parsed, from_entropy);
            let got = parsed.seed_with_bip39_passphrase("TREZOR");
            assert_eq!(hex(got.expose_bytes()), seed);
        }
    }

    #[test]
    fn masque_seed_uses_the_empty_bip39_passphrase() {
        // PBKDF2-HMAC-SHA512("abandon x23 art", "mnemonic", 2048), computed independently.
        let phrase = RecoveryPhrase::parse(BIP39_VECTORS[0].1).unwrap();
        assert_eq!(
            hex(phrase.seed().expose_bytes()),
            "408b285c123836004f4b8842c89324c1f01382450c0d439af345ba7fc49acf705489c6fc77dbd4e3dc1dd8cc6bc9f043db8ada1e243c4a0eafb290d399480840"
        );
    }

    #[test]
    fn typing_variations_are_accepted_and_mistakes_named() {
        let (_, phrase, _) = BIP39_VECTORS[1];
        let messy = format!("  {}\n", phrase.to_uppercase().replace(' ', " \t "));
        assert_eq!(
            RecoveryPhrase::parse(&messy).unwrap(),
            RecoveryPhrase::parse(phrase).unwrap()
        );
        let words: Vec<&str> = phrase.split(' ').collect();
        assert_eq!(
            RecoveryPhrase::parse(&words[..12].join(" ")),
            Err(PhraseError::WordCount(12))
        );
        let mut unknown = words.clone();
        unknown[4] = "amount\u{e9}";
        assert_eq!(
            RecoveryPhrase::parse(&unknown.join(" ")),
            Err(PhraseError::UnknownWord(5))
        );
        unknown[4] = "amounts";
        assert_eq!(
            RecoveryPhrase::parse(&unknown.join(" ")),
            Err(PhraseError::UnknownWord(5))
        );
        let mut swapped = words.clone();
        swapped.swap(0, 1);
        assert_eq!(
            RecoveryPhrase::parse(&swapped.join(" ")),
            Err(PhraseError::Checksum)
        );
        let err = PhraseError::UnknownWord(5).to_string();
        assert!(err.contains("word 5") && !err.contains("amounts"), "{err}");
    }

    #[test]
    fn generated_phrases_differ_and_round_trip() {
        let a = RecoveryPhrase::generate();
        let b = RecoveryPhrase::generate();
        assert_ne!(a, b);
        assert_eq!(a.words().count(), WORDS);
        assert_eq!(RecoveryPhrase::parse(&a.to_phrase()).unwrap(), a);
    }

    #[test]
    fn debug_never_prints_words_or_seed() {
        let phrase = RecoveryPhrase::parse(BIP39_VECTORS[2].1).unwrap();
        let text = format!("{phrase:?} {:?}", phrase.seed());
        assert!(!text.contains("zoo") && !text.contains("dd"), "{text}");
    }
}
