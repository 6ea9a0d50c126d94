//! What a sealed blob holds: one custodian's shares of one template, and for an
//! enrolment the record's audit key.
//!
//! Binary layout (big-endian lengths), chosen over JSON because shares are large
//! (38.4 KB per eye per form):
//!
//! ```text
//! "MSP1" | flags: u8 (bit 0: audit key present)
//!        | [audit key: 32 bytes]
//!        | enrolment count: u8 | { len: u32 | share bytes }*
//!        | query count: u8     | { len: u32 | share bytes }*
//! ```
//!
//! The share bytes are the MPC crate's `EyeShare::to_bytes`; this module does not look
//! inside them. The whole payload is wiped on drop.

use crate::ProtocolError;
use zeroize::{Zeroize, ZeroizeOnDrop};

const MAGIC: &[u8; 4] = b"MSP1";
/// At most this many eyes per form (two irises; embeddings use one).
pub const MAX_EYES: usize = 2;

/// One custodian's part of a template.
#[derive(Clone, Default, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SharePayload {
    /// The record's audit key `k_record` (enrolments only): the custodians compute the
    /// audit tag of every entry about the record with it.
    pub audit_key: Option<[u8; 32]>,
    /// Enrolment shares, one per eye (enrolments only).
    pub enrolment: Vec<Vec<u8>>,
    /// Query shares, one per eye.
    pub query: Vec<Vec<u8>>,
}

impl std::fmt::Debug for SharePayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SharePayload {{ audit_key: {}, enrolment: {} eyes, query: {} eyes }}",
            if self.audit_key.is_some() {
                "present"
            } else {
                "absent"
            },
            self.enrolment.len(),
            self.query.len()
        )
    }
}

impl SharePayload {
    /// Encodes the payload.
    pub fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let mut out = zeroize::Zeroizing::new(Vec::new());
        out.extend_from_slice(MAGIC);
        out.push(u8::from(self.audit_key.is_some()));
        if let Some(key) = &self.audit_key {
            out.extend_from_slice(key);
        }
        for form in [&self.enrolment, &self.query] {
            out.push(form.len() as u8);
            for share in form.iter() {
                out.extend_from_slice(&(share.len() as u32).to_be_bytes());
                out.extend_from_slice(share);
            }
        }
        out
    }

    /// Decodes a payload, refusing anything but the exact layout.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let bad = |problem: &str| ProtocolError::malformed("sealed payload", problem);
        let mut rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| bad("does not start with the MSP1 magic"))?;
        let mut take = |n: usize| -> Result<&[u8], ProtocolError> {
            if rest.len() < n {
                return Err(bad("truncated"));
            }
            let (head, tail) = rest.split_at(n);
            rest = tail;
            Ok(head)
        };
        let mut payload = SharePayload::default();
        match take(1)?[0] {
            0 => {}
            1 => payload.audit_key = Some(take(32)?.try_into().expect("32 bytes")),
            _ => return Err(bad("unknown flags")),
        }
        for form in 0..2 {
            let count = take(1)?[0] as usize;
            if count > MAX_EYES {
                return Err(bad("more than two eyes"));
            }
            for _ in 0..count {
                let len = u32::from_be_bytes(take(4)?.try_into().expect("4 bytes")) as usize;
                let share = take(len)?.to_vec();
                if form == 0 {
                    payload.enrolment.push(share);
                } else {
                    payload.query.push(share);
                }
            }
        }
        if !rest.is_empty() {
            return Err(bad("trailing bytes after the shares"));
        }
        Ok(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> SharePayload {
        SharePayload {
            audit_key: Some([4u8; 32]),
            enrolment: vec![vec![1, 2, 3], vec![4]],
            query: vec![vec![5; 10], vec![]],
        }
    }

    #[test]
    fn round_trip_and_debug_shows_no_bytes() {
        let p = sample();
        assert_eq!(SharePayload::from_bytes(&p.to_bytes()).unwrap(), p);
        let mut none = sample();
        none.audit_key = None;
        assert_eq!(SharePayload::from_bytes(&none.to_bytes()).unwrap(), none);
        assert!(!format!("{p:?}").contains("4, 4"));
    }

    #[test]
    fn trailing_and_truncated_bytes_are_refused() {
        let mut bytes = sample().to_bytes().to_vec();
        bytes.push(0);
        assert!(SharePayload::from_bytes(&bytes).is_err());
        bytes.truncate(bytes.len() - 2);
        assert!(SharePayload::from_bytes(&bytes).is_err());
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut with_magic = MAGIC.to_vec();
            with_magic.extend_from_slice(&bytes);
            let _ = SharePayload::from_bytes(&bytes);
            if let Ok(p) = SharePayload::from_bytes(&with_magic) {
                prop_assert_eq!(&*p.to_bytes(), &with_magic[..]);
            }
        }
    }
}
