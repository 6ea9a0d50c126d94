//! Serialisation: every object round-trips through its compact form, a restored object
//! still works, and malformed input gets its own typed error (never a panic).

use crate::common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use masque_cred::{
    Challenge, Credential, CredentialRequest, DecodeError, Holder, IssuanceResponse, Issuer,
    IssuerPublicKey, PendingIssuance, Presentation, RecordHandle, Verifier, WireObject,
};
use proptest::prelude::*;

fn roundtrip<T: WireObject + PartialEq + std::fmt::Debug>(value: &T) -> T {
    let back = T::from_compact(&value.to_compact()).unwrap();
    assert_eq!(&back, value);
    back
}

#[test]
fn every_object_roundtrips_and_stays_usable() {
    let mut issuer = issuer::<masque_cred::backend::fast::Fast>(1);
    let alice = wallet::<masque_cred::backend::fast::Fast>(10);
    let pk = roundtrip(issuer.public_key());
    let offer = roundtrip(&issuer.offer(&RecordHandle::new(b"r").unwrap()));
    let (request, pending) = alice.request(&pk, &offer).unwrap();
    let request = roundtrip(&request);
    let pending = PendingIssuance::from_compact(&pending.to_compact()).unwrap();
    let response = issuer
        .issue(&request, &RecordHandle::new(b"r").unwrap(), &attributes(4))
        .unwrap();
    let response = roundtrip(&response);
    let credential = alice.finalise(&pending, &response).unwrap();
    let stored = credential.to_compact();
    let credential = Credential::from_compact(&stored).unwrap();
    assert_eq!(credential.to_compact(), stored);

    let mut shop = service(
        &issuer,
        "https://shop.example",
        &[masque_cred::AttributeKind::Modalities],
    );
    let challenge = roundtrip(&shop.challenge(time_in(4)).unwrap());
    let presentation = roundtrip(&alice.present(&credential, &challenge).unwrap());
    assert!(shop.verify(&presentation, time_in(4)).is_ok());
}

fn envelope(kind: &str, v: u32, body: serde_json::Value) -> String {
    let json = serde_json::json!({"v": v, "kind": kind, "body": body}).to_string();
    URL_SAFE_NO_PAD.encode(json)
}

#[test]
fn malformed_input_gets_typed_errors() {
    let mut issuer = issuer::<masque_cred::backend::fast::Fast>(1);
    let alice = wallet::<masque_cred::backend::fast::Fast>(10);
    let (request, _) = request_for(&issuer, &alice, b"r");
    let mut shop = service(&issuer, "https://shop.example", &[]);
    let challenge = shop.challenge(time_in(0)).unwrap();
    let cred = issue(&mut issuer, &alice, b"r", 0);
    let presentation = alice.present(&cred, &challenge).unwrap();
    let body =
        |json: String| serde_json::from_str::<serde_json::Value>(&json).unwrap()["body"].clone();

    assert_eq!(
        Challenge::from_compact("not base64!"),
        Err(DecodeError::Base64)
    );
    assert!(matches!(
        Challenge::from_compact(&URL_SAFE_NO_PAD.encode("{")),
        Err(DecodeError::Json {
            kind: "challenge",
            ..
        })
    ));
    assert!(matches!(
        Challenge::from_compact(&envelope("challenge", 2, body(challenge.to_json()))),
        Err(DecodeError::UnsupportedVersion {
            found: 2,
            supported: 1,
            ..
        })
    ));
    assert!(matches!(
        Presentation::from_compact(&challenge.to_compact()),
        Err(DecodeError::WrongKind {
            expected: "presentation",
            ..
        })
    ));

    // A proof one scalar short: typed length error naming the field.
    let mut p = body(presentation.to_json());
    let mut proof = URL_SAFE_NO_PAD
        .decode(p["proof"].as_str().unwrap())
        .unwrap();
    proof.truncate(proof.len() - 32);
    p["proof"] = URL_SAFE_NO_PAD.encode(&proof).into();
    assert!(matches!(
        Presentation::from_compact(&envelope("presentation", 1, p)),
        Err(DecodeError::Length { field: "proof", .. })
    ));

    let mut r = body(request.to_json());
    r["commitment_with_proof"] = URL_SAFE_NO_PAD.encode([0u8; 10]).into();
    assert!(matches!(
        CredentialRequest::from_compact(&envelope("credential-request", 1, r)),
        Err(DecodeError::Length {
            field: "commitment_with_proof",
            expected: 144,
            found: 10
        })
    ));

    // Wrong fixed length, bad context id, out-of-range attribute, non-canonical scalar.
    let mut k = body(issuer.public_key().to_json());
    k["key"] = URL_SAFE_NO_PAD.encode([1u8; 95]).into();
    assert!(matches!(
        IssuerPublicKey::from_compact(&envelope("issuer-public-key", 1, k)),
        Err(DecodeError::Json { .. })
    ));
    let mut c = body(challenge.to_json());
    c["context_id"] = " ".into();
    assert!(Challenge::from_compact(&envelope("challenge", 1, c)).is_err());
    let mut resp = body(
        issuer
            .issue(
                &request_for(&issuer, &alice, b"r").0,
                &RecordHandle::new(b"r").unwrap(),
                &attributes(0),
            )
            .unwrap()
            .to_json(),
    );
    let good = resp.clone();
    resp["attributes"]["modalities"] = 0.into();
    assert!(IssuanceResponse::from_compact(&envelope("issuance-response", 1, resp)).is_err());
    let mut resp = good;
    resp["signer_nym_entropy"] = URL_SAFE_NO_PAD.encode([0xffu8; 32]).into();
    assert!(IssuanceResponse::from_compact(&envelope("issuance-response", 1, resp)).is_err());
}

#[test]
fn debug_output_hides_secrets() {
    let mut issuer = issuer::<masque_cred::backend::fast::Fast>(1);
    let alice = wallet::<masque_cred::backend::fast::Fast>(10);
    let (_, pending) = request_for(&issuer, &alice, b"r");
    let cred = issue(&mut issuer, &alice, b"r", 0);
    let secret_b64 = |json: String, key: &str| {
        serde_json::from_str::<serde_json::Value>(&json).unwrap()["body"][key]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let nym = secret_b64(cred.to_json(), "nym_secret");
    let blind = secret_b64(pending.to_json(), "prover_blind");
    let text = format!("{cred:?} {pending:?} {issuer:?} {alice:?}");
    assert!(!text.contains(&nym) && !text.contains(&blind), "{text}");
    assert!(!text.contains("nym_secret") && !text.contains("prover_blind"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn arbitrary_input_never_panics(text in ".{0,200}", raw in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Presentation::from_compact(&text);
        let _ = Credential::from_compact(&text);
        let _ = Presentation::from_json(&raw);
        let _ = Challenge::from_json(&raw);
        let _ = CredentialRequest::from_compact(&URL_SAFE_NO_PAD.encode(&raw));
        let _ = masque_cred::IssuanceOffer::from_json(&raw);
        let _ = CredentialRequest::from_json(&raw);
    }
}
