//! Sealing a custodian's shares to it (HPKE, RFC 9180).
//!
//! Base mode with X25519-HKDF-SHA256, HKDF-SHA256 and ChaCha20-Poly1305. The HPKE `info`
//! names the protocol and the custodian (`masque/v1/shares/P1`), and the request id is
//! the associated data, so a blob opens only at the custodian it was sealed for and only
//! inside the request it was made for: a station cannot swap blobs between custodians or
//! replay one into another request.

use crate::{
    PartyId, ProtocolError, RequestId, custodian_name,
    keys::{HpkePublicKey, HpkeSecretKey},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use hpke::{
    Deserializable, OpModeR, OpModeS, Serializable, aead::ChaCha20Poly1305, kdf::HkdfSha256,
    kem::X25519HkdfSha256,
};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// A sealed blob: the HPKE encapsulated key and the ciphertext, base64 in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SealedBlob {
    /// The encapsulated key (32 bytes for X25519).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    #[serde(with = "b64")]
    pub enc: Vec<u8>,
    /// The ciphertext with its 16-byte tag.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    #[serde(with = "b64")]
    pub ciphertext: Vec<u8>,
}

fn info(audience: PartyId) -> Vec<u8> {
    format!("masque/v1/shares/{}", custodian_name(audience)).into_bytes()
}

/// Seals `plaintext` for custodian `audience` (whose HPKE key is `recipient`) inside
/// request `request_id`.
pub fn seal(
    recipient: &HpkePublicKey,
    audience: PartyId,
    request_id: &RequestId,
    plaintext: &[u8],
) -> Result<SealedBlob, ProtocolError> {
    let key = recipient.to_hpke()?;
    let mut rng = rand::rng();
    let (enc, ciphertext) =
        hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256, _>(
            &OpModeS::Base,
            &key,
            &info(audience),
            plaintext,
            &request_id.0,
            &mut rng,
        )
        .map_err(|e| ProtocolError::malformed("sealed shares", format!("sealing failed: {e}")))?;
    Ok(SealedBlob {
        enc: enc.to_bytes().to_vec(),
        ciphertext,
    })
}

/// Opens a blob as custodian `me` with its secret key, inside request `request_id`.
pub fn open(
    secret: &HpkeSecretKey,
    me: PartyId,
    request_id: &RequestId,
    blob: &SealedBlob,
) -> Result<Zeroizing<Vec<u8>>, ProtocolError> {
    let unsealable = || ProtocolError::Unsealable {
        custodian: custodian_name(me).to_owned(),
    };
    let enc =
        <X25519HkdfSha256 as hpke::Kem>::EncappedKey::from_bytes(&blob.enc).map_err(|_| {
            ProtocolError::malformed("sealed.enc", "expected a 32-byte X25519 encapsulated key")
        })?;
    let key = secret.to_hpke()?;
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
        &OpModeR::Base,
        &key,
        &enc,
        &info(me),
        &blob.ciphertext,
        &request_id.0,
    )
    .map(Zeroizing::new)
    .map_err(|_| unsealable())
}

/// Serde for bytes as standard base64.
pub mod b64 {
    use super::*;
    use serde::{Deserializer, Serializer};

    /// Writes base64.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    /// Reads base64.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map_err(|_| serde::de::Error::custom("expected standard base64"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_blob_opens_only_at_its_custodian_in_its_request() {
        let keys: Vec<_> = (0..3).map(|_| HpkeSecretKey::generate()).collect();
        let id = RequestId([5u8; 16]);
        let blob = seal(&keys[1].1, PartyId::P1, &id, b"shares of P1").unwrap();
        assert_eq!(
            &*open(&keys[1].0, PartyId::P1, &id, &blob).unwrap(),
            b"shares of P1"
        );
        // Another custodian's key, or the right key under another custodian's name.
        let err = open(&keys[0].0, PartyId::P0, &id, &blob).unwrap_err();
        assert!(matches!(err, ProtocolError::Unsealable { .. }), "{err}");
        assert!(open(&keys[1].0, PartyId::P2, &id, &blob).is_err());
        // Another request.
        assert!(open(&keys[1].0, PartyId::P1, &RequestId([6u8; 16]), &blob).is_err());
        // A blob sealed to P0's key but labelled for P1 does not open at P0.
        let relabelled = seal(&keys[0].1, PartyId::P1, &id, b"x").unwrap();
        assert!(open(&keys[0].0, PartyId::P0, &id, &relabelled).is_err());
    }

    #[test]
    fn blobs_round_trip_through_json() {
        let (secret, public) = HpkeSecretKey::generate();
        let id = RequestId::random();
        let blob = seal(&public, PartyId::P2, &id, &[1, 2, 3]).unwrap();
        let json = serde_json::to_string(&blob).unwrap();
        let back: SealedBlob = serde_json::from_str(&json).unwrap();
        assert_eq!(
            &*open(&secret, PartyId::P2, &id, &back).unwrap(),
            &[1, 2, 3]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn every_single_byte_change_is_refused(pos in 0usize..1000, flip in 1u8..=255) {
            let (secret, public) = HpkeSecretKey::generate();
            let id = RequestId([1u8; 16]);
            let mut blob = seal(&public, PartyId::P0, &id, b"the shares").unwrap();
            let total = blob.enc.len() + blob.ciphertext.len();
            let pos = pos % total;
            if pos < blob.enc.len() {
                blob.enc[pos] ^= flip;
            } else {
                blob.ciphertext[pos - 32] ^= flip;
            }
            prop_assert!(open(&secret, PartyId::P0, &id, &blob).is_err());
        }
    }
}
