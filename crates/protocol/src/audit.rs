//! The per-record audit tag.
//!
//! Every log entry about a record carries `HMAC-SHA256(k_record, "masque-audit/v1" || n)`,
//! where `k_record` is the record's audit key (made by the wallet at enrolment and known
//! only to the person and the custodians) and `n` counts the operations on the record
//! (0 for the enrolment). Without `k_record` the tags of one record look random and
//! unrelated; with it the person finds exactly their own entries.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The audit tag of the `n`-th operation on the record with audit key `key`.
pub fn audit_tag(key: &[u8; 32], n: u64) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(b"masque-audit/v1");
    mac.update(&n.to_be_bytes());
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_differ_per_operation_and_key_and_match_the_hmac_definition() {
        let key = [1u8; 32];
        assert_ne!(audit_tag(&key, 0), audit_tag(&key, 1));
        assert_ne!(audit_tag(&key, 0), audit_tag(&[2u8; 32], 0));
        // Oracle: HMAC over the concatenated message in one call.
        let mut message = b"masque-audit/v1".to_vec();
        message.extend_from_slice(&7u64.to_be_bytes());
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(&message);
        assert_eq!(
            audit_tag(&key, 7),
            <[u8; 32]>::from(mac.finalize().into_bytes())
        );
    }

    #[test]
    fn known_answer() {
        // RFC 4231 test case 2 style check of the HMAC itself would pin the hmac crate;
        // this pins our message layout: key = 32 zero bytes, n = 0.
        let tag = audit_tag(&[0u8; 32], 0);
        let mut mac = Hmac::<Sha256>::new_from_slice(&[0u8; 32]).unwrap();
        mac.update(b"masque-audit/v1\0\0\0\0\0\0\0\0");
        assert_eq!(tag, <[u8; 32]>::from(mac.finalize().into_bytes()));
    }
}
