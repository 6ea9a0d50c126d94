//! C2SP `signed-note`: text signed by one or more keys.
//!
//! ```text
//! <text, ending in a newline>
//! <blank line>
//! — <key name> base64(key ID || signature)
//! ```
//!
//! [`Note::parse`] is strict: valid UTF-8, no control characters but newline (so CRLF line
//! endings are refused), text ending in a newline, every signature line well formed with
//! canonical base64, at most [`MAX_SIGNATURES`] signatures and [`MAX_NOTE_SIZE`] bytes.
//! [`open`] then applies the spec's verification rules: signatures by unknown keys are
//! ignored, a signature by a known key that fails to verify rejects the whole note, a
//! known key that signs twice rejects the note (a well-behaved signer never does, and a
//! duplicate must never count twice towards a quorum), and at least one known key must
//! have signed.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signature as DalekSignature;
use thiserror::Error;

use crate::keys::{KeyId, KeyName, PublicKey, SecretKey, TYPE_ED25519, is_valid_name};

/// Largest note accepted, in bytes.
pub const MAX_NOTE_SIZE: usize = 1 << 20;
/// Most signature lines accepted in one note (the spec asks for at least 16).
pub const MAX_SIGNATURES: usize = 100;
/// The em dash and space that open every signature line.
const SIG_PREFIX: &str = "\u{2014} ";

/// What is wrong with a note.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NoteError {
    /// Larger than [`MAX_NOTE_SIZE`].
    #[error("note is larger than {MAX_NOTE_SIZE} bytes")]
    TooLarge,
    /// Not valid UTF-8.
    #[error("note is not valid UTF-8")]
    NotUtf8,
    /// A control character other than newline (a CR from CRLF line endings, a tab, NUL).
    #[error(
        "note contains control character U+{char:04X} at byte {offset}; only LF line endings are allowed"
    )]
    ControlCharacter {
        /// The character's code point.
        char: u32,
        /// Byte offset in the note.
        offset: usize,
    },
    /// No blank line followed by signature lines.
    #[error("note has no signature block (a blank line followed by signature lines)")]
    MissingSignatures,
    /// The text is empty or does not end in a newline.
    #[error("note text must be non-empty and end with a newline")]
    BadText,
    /// A line after the blank line is not `— <name> <base64>`.
    #[error("malformed signature line {line}: expected \"— <key name> <base64 signature>\"")]
    BadSignatureLine {
        /// 1-based line number within the signature block.
        line: usize,
    },
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// A known key's signature does not verify.
    #[error("signature by known key {name} ({id}) does not verify")]
    InvalidSignature {
        /// Key name.
        name: KeyName,
        /// Key ID.
        id: KeyId,
    },
    /// A known key signed twice.
    #[error("known key {name} ({id}) signed the note more than once")]
    DuplicateSignature {
        /// Key name.
        name: KeyName,
        /// Key ID.
        id: KeyId,
    },
    /// No known key signed the note.
    #[error("note is not signed by any trusted key")]
    NotSignedByKnownKey,
}

/// One signature line: key name, key ID and the signature bytes after the ID.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: KeyName,
    /// Key ID.
    pub id: KeyId,
    /// Signature bytes (after the 4-byte key ID).
    pub bytes: Vec<u8>,
}

impl fmt::Debug for NoteSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteSignature({} {})", self.name, self.id)
    }
}

impl NoteSignature {
    /// The signature line, without its final newline.
    pub fn to_line(&self) -> String {
        let mut raw = self.id.0.to_be_bytes().to_vec();
        raw.extend_from_slice(&self.bytes);
        format!("{SIG_PREFIX}{} {}", self.name, STANDARD.encode(raw))
    }

    /// Parses one signature line (without its newline).
    pub fn from_line(line: &str) -> Option<NoteSignature> {
        let rest = line.strip_prefix(SIG_PREFIX)?;
        let (name, b64) = rest.split_once(' ')?;
        if !is_valid_name(name) || b64.is_empty() {
            return None;
        }
        let raw = STANDARD.decode(b64).ok()?;
        if raw.len() < 5 {
            return None;
        }
        Some(NoteSignature {
            name: KeyName::new(name).ok()?,
            id: KeyId(u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]])),
            bytes: raw[4..].to_vec(),
        })
    }
}

/// A note: text plus signature lines, parsed but not yet verified.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

/// Checks the byte-level rules shared by note text and whole notes.
fn check_chars(text: &str) -> Result<(), NoteError> {
    if let Some((offset, c)) = text
        .char_indices()
        .find(|&(_, c)| c.is_control() && c != '\n' && (c as u32) < 0x20)
    {
        return Err(NoteError::ControlCharacter {
            char: c as u32,
            offset,
        });
    }
    Ok(())
}

impl Note {
    /// An unsigned note with this text (non-empty, ending in newline, no control
    /// characters but newline).
    pub fn new(text: &str) -> Result<Note, NoteError> {
        check_chars(text)?;
        if text.is_empty() || !text.ends_with('\n') || text.len() > MAX_NOTE_SIZE {
            return Err(NoteError::BadText);
        }
        Ok(Note {
            text: text.to_owned(),
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note without verifying any signature.
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        if bytes.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge);
        }
        let all = std::str::from_utf8(bytes).map_err(|_| NoteError::NotUtf8)?;
        check_chars(all)?;
        let split = all.rfind("\n\n").ok_or(NoteError::MissingSignatures)?;
        let (text, sigs) = (&all[..split + 1], &all[split + 2..]);
        if sigs.is_empty() || !sigs.ends_with('\n') {
            return Err(NoteError::MissingSignatures);
        }
        let mut signatures = Vec::new();
        for (i, line) in sigs[..sigs.len() - 1].split('\n').enumerate() {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            signatures.push(
                NoteSignature::from_line(line)
                    .ok_or(NoteError::BadSignatureLine { line: i + 1 })?,
            );
        }
        let mut note = Note::new(text)?;
        note.signatures = signatures;
        Ok(note)
    }

    /// The signed text, including its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// All signature lines, known or not, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature, replacing any earlier one with the same key name and ID (so a
    /// note never carries two signatures by one key).
    pub fn add_signature(&mut self, signature: NoteSignature) {
        self.signatures
            .retain(|s| !(s.name == signature.name && s.id == signature.id));
        self.signatures.push(signature);
    }

    /// Signs the text with `signer` and adds the signature.
    pub fn sign(&mut self, signer: &dyn NoteSigner) {
        let signature = signer.sign(self.text.as_bytes());
        self.add_signature(signature);
    }

    /// The serialized note: text, blank line, signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.to_line());
            out.push('\n');
        }
        out.into_bytes()
    }
}

/// Something that can produce a note signature line.
pub trait NoteSigner {
    /// Signs `text` (the note text, final newline included).
    fn sign(&self, text: &[u8]) -> NoteSignature;
}

/// Something that can check signatures of one key (name and ID).
pub trait NoteVerifier {
    /// The key's name.
    fn name(&self) -> &KeyName;
    /// The key's ID.
    fn id(&self) -> KeyId;
    /// True when `signature` (bytes after the key ID) is valid over `text`.
    fn verify(&self, text: &[u8], signature: &[u8]) -> bool;
}

/// Ed25519 note signatures (signature type `0x01`) by a named secret key.
#[derive(Debug)]
pub struct Ed25519Signer<'a> {
    key: &'a SecretKey,
    id: KeyId,
}

impl<'a> Ed25519Signer<'a> {
    /// Signs notes with `key` under its name.
    pub fn new(key: &'a SecretKey) -> Ed25519Signer<'a> {
        Ed25519Signer {
            id: key.public_key(TYPE_ED25519).id(),
            key,
        }
    }
}

impl NoteSigner for Ed25519Signer<'_> {
    fn sign(&self, text: &[u8]) -> NoteSignature {
        NoteSignature {
            name: self.key.name().clone(),
            id: self.id,
            bytes: self.key.sign_raw(text).to_vec(),
        }
    }
}

/// Verifies Ed25519 note signatures (type `0x01`) by one public key.
#[derive(Debug, Clone)]
pub struct Ed25519Verifier {
    key: PublicKey,
}

impl Ed25519Verifier {
    /// A verifier for `key`, which must be of type `0x01`.
    pub fn new(key: PublicKey) -> Result<Ed25519Verifier, crate::keys::KeyError> {
        if key.signature_type() != TYPE_ED25519 {
            return Err(crate::keys::KeyError::UnsupportedType(key.signature_type()));
        }
        Ok(Ed25519Verifier { key })
    }

    /// The public key.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }
}

impl NoteVerifier for Ed25519Verifier {
    fn name(&self) -> &KeyName {
        self.key.name()
    }
    fn id(&self) -> KeyId {
        self.key.id()
    }
    fn verify(&self, text: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = DalekSignature::from_slice(signature) else {
            return false;
        };
        self.key.verifying_key().verify_strict(text, &sig).is_ok()
    }
}

/// A note whose signatures by known keys all verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNote {
    /// The note as parsed (all signature lines, including unknown ones).
    pub note: Note,
    /// Indices into `note.signatures()` of the lines that verified with a known key.
    pub verified: Vec<usize>,
}

impl VerifiedNote {
    /// The signatures that verified with a known key.
    pub fn verified_signatures(&self) -> impl Iterator<Item = &NoteSignature> {
        self.verified.iter().map(|&i| &self.note.signatures()[i])
    }
}

/// Parses `bytes` and verifies it against `known` under the signed-note rules (see the
/// module documentation).
pub fn open(bytes: &[u8], known: &[&dyn NoteVerifier]) -> Result<VerifiedNote, NoteError> {
    let note = Note::parse(bytes)?;
    verify(note, known)
}

/// Verifies an already parsed note (see [`open`]).
pub fn verify(note: Note, known: &[&dyn NoteVerifier]) -> Result<VerifiedNote, NoteError> {
    let mut verified: Vec<usize> = Vec::new();
    for (i, sig) in note.signatures().iter().enumerate() {
        let Some(verifier) = known
            .iter()
            .find(|v| *v.name() == sig.name && v.id() == sig.id)
        else {
            continue;
        };
        if verified.iter().any(|&j| {
            let other = &note.signatures()[j];
            other.name == sig.name && other.id == sig.id
        }) {
            return Err(NoteError::DuplicateSignature {
                name: sig.name.clone(),
                id: sig.id,
            });
        }
        if !verifier.verify(note.text().as_bytes(), &sig.bytes) {
            return Err(NoteError::InvalidSignature {
                name: sig.name.clone(),
                id: sig.id,
            });
        }
        verified.push(i);
    }
    if verified.is_empty() {
        return Err(NoteError::NotSignedByKnownKey);
    }
    Ok(VerifiedNote { note, verified })
}
