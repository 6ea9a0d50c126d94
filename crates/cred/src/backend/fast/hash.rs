//! Hashing into the scalar field and onto G1, as the BBS drafts define them.
//!
//! * `expand_message_xmd` (RFC 9380, section 5.3.1) with SHA-256 comes from RustCrypto's
//!   `elliptic-curve` `hash2curve` module; its RFC 9380 appendix K.1 known answers are
//!   checked below.
//! * `hash_to_scalar` (the BBS draft's) expands to 48 bytes and reduces
//!   `OS2IP(bytes) mod r`; the reduction here is done in the scalar field (Horner over
//!   64-bit words), so no big-integer code is involved; it is checked against blst's own
//!   `hash_to` below.
//! * hash-to-curve for G1 (`BLS12381G1_XMD:SHA-256_SSWU_RO_`) is blst's
//!   `blst_hash_to_g1`, reached through `blstrs`.

use blstrs::{G1Projective, Scalar};
use elliptic_curve::hash2curve::{ExpandMsg, ExpandMsgXmd, Expander};
use ff::Field;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::CredError;

/// Bytes of expanded output per scalar (`expand_len` of the ciphersuite).
pub const EXPAND_LEN: usize = 48;

/// `expand_message_xmd` with SHA-256: `out.len()` uniform bytes for `msg` under `dst`.
///
/// Fails (never panics) when RFC 9380 refuses the request: an empty `dst`, an empty
/// output or more than `255 * 32` bytes.
pub fn expand_message_xmd(msg: &[u8], dst: &[u8], out: &mut [u8]) -> Result<(), CredError> {
    let msgs = [msg];
    let dsts = [dst];
    let mut expander = ExpandMsgXmd::<Sha256>::expand_message(&msgs, &dsts, out.len())
        .map_err(|_| CredError::Backend("expand_message_xmd refused its parameters"))?;
    expander.fill_bytes(out);
    Ok(())
}

/// `OS2IP(okm) mod r` for 48 uniform bytes, computed in the field (constant time).
pub(crate) fn scalar_from_okm(okm: &[u8; EXPAND_LEN]) -> Scalar {
    let two_64 = Scalar::from(u64::MAX) + Scalar::ONE;
    okm.chunks_exact(8).fold(Scalar::ZERO, |acc, word| {
        let mut be = [0u8; 8];
        be.copy_from_slice(word);
        acc * two_64 + Scalar::from(u64::from_be_bytes(be))
    })
}

/// `hash_to_scalar(msg, dst)` of the BBS draft.
pub fn hash_to_scalar(msg: &[u8], dst: &[u8]) -> Result<Scalar, CredError> {
    let mut okm = Zeroizing::new([0u8; EXPAND_LEN]);
    expand_message_xmd(msg, dst, okm.as_mut())?;
    Ok(scalar_from_okm(&okm))
}

/// `hash_to_curve` onto G1 with the `BLS12381G1_XMD:SHA-256_SSWU_RO_` suite.
pub fn hash_to_g1(msg: &[u8], dst: &[u8]) -> G1Projective {
    G1Projective::hash_to_curve(msg, dst, &[])
}

/// `messages_to_scalars`: each message hashed with `api_id || "MAP_MSG_TO_SCALAR_AS_HASH_"`.
pub fn messages_to_scalars(messages: &[Vec<u8>], api_id: &[u8]) -> Result<Vec<Scalar>, CredError> {
    let dst = [api_id, b"MAP_MSG_TO_SCALAR_AS_HASH_"].concat();
    messages.iter().map(|m| hash_to_scalar(m, &dst)).collect()
}

/// `I2OSP(value, 8)`.
pub(crate) fn i2osp8(value: usize) -> [u8; 8] {
    (value as u64).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 9380 appendix K.1: expand_message_xmd(SHA-256), DST
    /// `QUUX-V01-CS02-with-expander-SHA256-128`.
    #[test]
    fn expand_message_xmd_matches_rfc9380_k1() {
        let dst = b"QUUX-V01-CS02-with-expander-SHA256-128";
        let q128 = format!("q128_{}", "q".repeat(128));
        let a512 = format!("a512_{}", "a".repeat(512));
        let cases: [(&[u8], &str); 6] = [
            (
                b"",
                "68a985b87eb6b46952128911f2a4412bbc302a9d759667f87f7a21d803f07235",
            ),
            (
                b"abc",
                "d8ccab23b5985ccea865c6c97b6e5b8350e794e603b4b97902f53a8a0d605615",
            ),
            (
                b"abcdef0123456789",
                "eff31487c770a893cfb36f912fbfcbff40d5661771ca4b2cb4eafe524333f5c1",
            ),
            (
                q128.as_bytes(),
                "b23a1d2b4d97b2ef7785562a7e8bac7eed54ed6e97e29aa51bfe3f12ddad1ff9",
            ),
            (
                a512.as_bytes(),
                "4623227bcc01293b8c130bf771da8c298dede7383243dc0993d2d94823958c4c",
            ),
            (
                b"",
                "af84c27ccfd45d41914fdff5df25293e221afc53d8ad2ac06d5e3e29485dadbe\
                 e0d121587713a3e0dd4d5e69e93eb7cd4f5df4cd103e188cf60cb02edc3edf18\
                 eda8576c412b18ffb658e3dd6ec849469b979d444cf7b26911a08e63cf31f9dc\
                 c541708d3491184472c2c29bb749d4286b004ceb5ee6b9a7fa5b646c993f0ced",
            ),
        ];
        for (msg, want) in cases {
            let want = unhex(want);
            let mut out = vec![0u8; want.len()];
            expand_message_xmd(msg, dst, &mut out).unwrap();
            assert_eq!(out, want, "msg {:?}", String::from_utf8_lossy(msg));
        }
    }

    #[test]
    fn expand_refuses_bad_lengths_without_panicking() {
        let mut empty = [];
        assert!(expand_message_xmd(b"m", b"dst", &mut empty).is_err());
        let mut huge = vec![0u8; 255 * 32 + 1];
        assert!(expand_message_xmd(b"m", b"dst", &mut huge).is_err());
    }

    #[test]
    fn okm_reduction_edge_cases() {
        assert_eq!(scalar_from_okm(&[0; 48]), Scalar::ZERO);
        let mut one = [0u8; 48];
        one[47] = 1;
        assert_eq!(scalar_from_okm(&one), Scalar::ONE);
        // 2^384 - 1 = -1 (mod r) + 2^384 (mod r): compare with blst's reduction.
        let all = [0xffu8; 48];
        let mut reduced = blst::blst_scalar::default();
        // SAFETY: `reduced` is a valid out-parameter and `all` is 48 readable bytes.
        unsafe { blst::blst_scalar_from_be_bytes(&mut reduced, all.as_ptr(), all.len()) };
        let mut be = reduced.b;
        be.reverse();
        assert_eq!(scalar_from_okm(&all).to_bytes_be(), be);
    }

    proptest! {
        /// blst's own `hash_to` (expand_message_xmd to 48 bytes, then reduction mod r)
        /// is an independent implementation of the draft's hash_to_scalar.
        #[test]
        fn hash_to_scalar_agrees_with_blst(
            msg in proptest::collection::vec(any::<u8>(), 0..200),
            dst in proptest::collection::vec(any::<u8>(), 1..80),
        ) {
            let ours = hash_to_scalar(&msg, &dst).unwrap().to_bytes_be();
            let theirs = blst::blst_scalar::hash_to(&msg, &dst).unwrap();
            let mut be = theirs.b;
            be.reverse();
            prop_assert_eq!(ours, be);
        }
    }
}
