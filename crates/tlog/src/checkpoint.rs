//! C2SP `tlog-checkpoint`: the note text that commits a log to its tree at one size.
//!
//! ```text
//! <origin>
//! <tree size, decimal, no leading zeroes>
//! <root hash, base64>
//! [extension lines, non-empty]
//! ```
//!
//! [`Checkpoint::parse`] is strict: exactly the format above, LF line endings, no empty
//! lines, a canonical size and a 32-byte root. Signatures are handled by [`crate::note`];
//! [`open`] does both.

use thiserror::Error;

use crate::hash::Hash;
use crate::note::{self, Note, NoteError, NoteVerifier, VerifiedNote};

/// What is wrong with a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckpointError {
    /// The note around it is malformed or not validly signed.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// Fewer than three lines, an empty line, or no final newline.
    #[error("checkpoint text must be at least three non-empty newline-terminated lines")]
    Lines,
    /// The origin line is empty or has control characters.
    #[error("checkpoint origin line is empty or invalid")]
    Origin,
    /// The size line is not a canonical decimal `u64`.
    #[error("checkpoint size line {0:?} is not a decimal number without leading zeroes")]
    Size(String),
    /// The root line is not base64 of 32 bytes.
    #[error("checkpoint root line is not the base64 of a 32-byte hash")]
    Root,
    /// A size-0 checkpoint whose root is not the empty tree's.
    #[error("a checkpoint of size 0 must carry the root of the empty tree")]
    EmptyTreeRoot,
    /// The checkpoint's origin is not the one expected.
    #[error("checkpoint origin {got:?} is not the expected {expected:?}")]
    WrongOrigin {
        /// Expected origin.
        expected: String,
        /// Origin found.
        got: String,
    },
}

/// A log's tree head: origin, size and root hash (plus opaque extension lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

/// Parses a canonical decimal (no sign, no leading zeroes unless the value is 0).
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty()
        || !text.bytes().all(|b| b.is_ascii_digit())
        || (text.len() > 1 && text.starts_with('0'))
    {
        return None;
    }
    text.parse().ok()
}

impl Checkpoint {
    /// A checkpoint without extension lines. A size-0 checkpoint must carry
    /// [`Hash::empty_root`].
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Checkpoint, CheckpointError> {
        if origin.is_empty() || origin.chars().any(char::is_control) {
            return Err(CheckpointError::Origin);
        }
        if size == 0 && root != Hash::empty_root() {
            return Err(CheckpointError::EmptyTreeRoot);
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// Parses checkpoint note text (without signatures).
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::Lines)?;
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() < 3 || lines.iter().any(|l| l.is_empty()) {
            return Err(CheckpointError::Lines);
        }
        let size =
            parse_decimal(lines[1]).ok_or_else(|| CheckpointError::Size(lines[1].to_owned()))?;
        let root = Hash::from_base64(lines[2]).ok_or(CheckpointError::Root)?;
        let mut checkpoint = Checkpoint::new(lines[0], size, root)?;
        if lines.iter().any(|l| l.chars().any(char::is_control)) {
            return Err(CheckpointError::Lines);
        }
        checkpoint.extensions = lines[3..].iter().map(|l| (*l).to_owned()).collect();
        Ok(checkpoint)
    }

    /// The note text: origin, size, root and extension lines, each ending in a newline.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Number of entries in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Root hash of the tree at this size.
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// Extension lines, if any (this crate never writes them).
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// Wraps the checkpoint in an unsigned note.
    pub fn to_note(&self) -> Note {
        Note::new(&self.to_text()).expect("checkpoint text is valid note text")
    }
}

/// A signed checkpoint with the note it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The parsed checkpoint.
    pub checkpoint: Checkpoint,
    /// The verified note (text and all signatures).
    pub note: VerifiedNote,
}

/// Parses a signed checkpoint, verifies it against `known` keys (signed-note rules) and
/// checks that its origin is `origin`.
pub fn open(
    bytes: &[u8],
    origin: &str,
    known: &[&dyn NoteVerifier],
) -> Result<SignedCheckpoint, CheckpointError> {
    let parsed = Note::parse(bytes)?;
    let checkpoint = Checkpoint::parse(parsed.text())?;
    if checkpoint.origin() != origin {
        return Err(CheckpointError::WrongOrigin {
            expected: origin.to_owned(),
            got: checkpoint.origin().to_owned(),
        });
    }
    let note = note::verify(parsed, known)?;
    Ok(SignedCheckpoint { checkpoint, note })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_TEXT: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn spec_example_round_trips() {
        let c = Checkpoint::parse(SPEC_TEXT).unwrap();
        assert_eq!(c.origin(), "example.com/behind-the-sofa");
        assert_eq!(c.size(), 20852163);
        assert_eq!(c.to_text(), SPEC_TEXT);
        let with_ext = format!("{SPEC_TEXT}ext one\n");
        assert_eq!(
            Checkpoint::parse(&with_ext).unwrap().extensions(),
            ["ext one"]
        );
    }

    #[test]
    fn malformed_checkpoints_are_refused() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        for bad in [
            String::new(),
            "example.com/x\n5\n".to_owned(),
            format!("example.com/x\n5\n{root}"),
            format!("example.com/x\n05\n{root}\n"),
            format!("example.com/x\n+5\n{root}\n"),
            format!("example.com/x\n-0\n{root}\n"),
            format!("example.com/x\n18446744073709551616\n{root}\n"),
            format!("example.com/x\n5\n{root}\n\n"),
            format!("example.com/x\n5\n{root}\n\next\n"),
            format!("\n5\n{root}\n"),
            format!("example.com/x\r\n5\n{root}\n"),
            "example.com/x\n5\nAAAA\n".to_owned(),
            "example.com/x\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n".to_owned(),
            format!("example.com/x\n0\n{root}\n"),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
        }
        let empty = format!("example.com/x\n0\n{}\n", Hash::empty_root().to_base64());
        assert_eq!(Checkpoint::parse(&empty).unwrap().size(), 0);
    }
}
