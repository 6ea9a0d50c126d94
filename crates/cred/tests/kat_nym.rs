//! Known-answer tests of the BBS backend (zkryptium 0.8.0) against the published
//! BLS12-381-SHA-256 fixtures of `draft-irtf-cfrg-bbs-per-verifier-linkability`
//! (revisions -02/-03; source and licence in `tests/fixtures/README.md`).
//!
//! What is checked, per fixture family:
//! * `generators.json`: message and blind generators for the pseudonym API id.
//! * `nymSignature*`: `BlindSignWithNym` reproduces the signature byte for byte, and
//!   `VerifyFinalizeWithNym` accepts it and returns the published `nym_secrets`.
//! * `nymCommit*`: the published commitment with proof is accepted by the signer's
//!   commitment validation (inside `BlindSignWithNym`), and a one-byte change is refused.
//! * `nymProof*`: the published proof verifies with the published pseudonym; changing the
//!   presentation header, the context or the pseudonym makes it fail; and a fresh
//!   `ProofGenWithNym` from the published signature yields the published pseudonym (the
//!   pseudonym is deterministic) and a proof that verifies.
//!
//! Not checkable through zkryptium's public API, documented rather than skipped: byte
//! equality of *generated* commitments and proofs, because those fixtures use the draft's
//! mocked random scalars and zkryptium only exposes its seeded scalar generator to its own
//! unit tests. Its own test suite runs those mocked-RNG cases on a copy of these files.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use zkryptium::bbsplus::ciphersuites::{BbsCiphersuite, Bls12381Sha256};
use zkryptium::bbsplus::commitment::BlindFactor;
use zkryptium::bbsplus::generators::Generators;
use zkryptium::bbsplus::keys::{BBSplusPublicKey, BBSplusSecretKey};
use zkryptium::bbsplus::pseudonym::{BBSplusPseudonym, PseudonymSecret};
use zkryptium::schemes::algorithms::BbsBls12381Sha256;
use zkryptium::schemes::generics::{BlindSignature, PoKSignature};

type Suite = BbsBls12381Sha256;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bls12-381-sha-256")
}

fn fixtures(family: &str) -> Vec<(String, Value)> {
    let mut files: Vec<_> = fs::read_dir(fixture_dir().join(family))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no {family} fixtures found");
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (
                name,
                serde_json::from_str(&fs::read_to_string(&p).unwrap()).unwrap(),
            )
        })
        .collect()
}

/// Hex decoding for fixture data; odd-length strings (an upstream defect in some trace
/// fields, see the fixtures README) are left-padded with a zero nibble.
fn unhex(text: &str) -> Vec<u8> {
    let padded = if text.len() % 2 == 1 {
        format!("0{text}")
    } else {
        text.to_owned()
    };
    (0..padded.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&padded[i..i + 2], 16).unwrap())
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn bytes(v: &Value, key: &str) -> Vec<u8> {
    unhex(v[key].as_str().unwrap_or_else(|| panic!("missing {key}")))
}

fn byte_list(v: &Value, key: &str) -> Vec<Vec<u8>> {
    v[key].as_array().map_or_else(Vec::new, |a| {
        a.iter().map(|m| unhex(m.as_str().unwrap())).collect()
    })
}

fn scalar32(v: &[u8]) -> [u8; 32] {
    v.try_into().unwrap()
}

fn nyms(v: &Value, key: &str) -> Vec<PseudonymSecret> {
    byte_list(v, key)
        .iter()
        .map(|b| PseudonymSecret::from_bytes(&scalar32(b)).unwrap())
        .collect()
}

/// `{"index": "hex"}` maps of revealed messages, as (indexes, messages) in index order.
fn revealed(v: &Value, key: &str) -> (Vec<usize>, Vec<Vec<u8>>) {
    let map: BTreeMap<usize, Vec<u8>> = v[key]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, m)| (k.parse().unwrap(), unhex(m.as_str().unwrap())))
        .collect();
    (map.keys().copied().collect(), map.into_values().collect())
}

#[test]
fn generators_match() {
    let fixture: Value =
        serde_json::from_str(&fs::read_to_string(fixture_dir().join("generators.json")).unwrap())
            .unwrap();
    for (key, api_id) in [
        ("generators", Bls12381Sha256::API_ID_NYM.to_vec()),
        (
            "blindGenerators",
            [b"BLIND_", Bls12381Sha256::API_ID_NYM].concat(),
        ),
    ] {
        let expected = &fixture[key];
        assert_eq!(expected["api_id"].as_str().unwrap().as_bytes(), api_id);
        let msg: Vec<&str> = expected["MsgGenerators"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap())
            .collect();
        let created = Generators::create::<Bls12381Sha256>(msg.len() + 1, Some(&api_id));
        let created = serde_json::to_value(&created).unwrap();
        assert_eq!(created["BP"], expected["P1"], "{key} P1");
        let values: Vec<&str> = created["Generators"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap())
            .collect();
        assert_eq!(values[0], expected["Q1"].as_str().unwrap(), "{key} Q1");
        assert_eq!(&values[1..], &msg[..], "{key} message generators");
    }
}

#[test]
fn blind_signatures_match_and_finalise_to_published_nym_secrets() {
    for (name, f) in fixtures("nymSignature") {
        let sk = BBSplusSecretKey::from_bytes(&bytes(&f["signerKeyPair"], "secretKey")).unwrap();
        let pk = BBSplusPublicKey::from_bytes(&bytes(&f["signerKeyPair"], "publicKey")).unwrap();
        let prover_nyms = nyms(&f, "proverNyms");
        let entropy =
            PseudonymSecret::from_bytes(&scalar32(&bytes(&f, "signer_nym_entropy"))).unwrap();
        let blind = BlindFactor::from_bytes(&scalar32(&bytes(&f, "proverBlind"))).unwrap();
        let header = bytes(&f, "header");
        let messages = byte_list(&f, "messages");
        let committed = byte_list(&f, "committedMessages");
        let commitment = bytes(&f, "commitmentWithProof");

        let signature = BlindSignature::<Suite>::blind_sign_with_nym(
            &sk,
            &pk,
            Some(&commitment),
            prover_nyms.len(),
            Some(&header),
            &entropy,
            Some(&messages),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            hex(&signature.to_bytes()),
            f["signature"].as_str().unwrap(),
            "{name}"
        );

        let nym_secrets = signature
            .verify_finalize_with_nym(
                &pk,
                Some(&header),
                Some(&messages),
                Some(&committed),
                prover_nyms,
                Some(&entropy),
                Some(&blind),
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got: Vec<String> = nym_secrets.iter().map(|n| hex(&n.to_bytes())).collect();
        let want: Vec<String> = byte_list(&f, "nym_secrets")
            .iter()
            .map(|b| hex(b))
            .collect();
        assert_eq!(got, want, "{name}");
        assert_eq!(f["result"]["valid"], true, "{name}");
    }
}

#[test]
fn published_commitments_are_accepted_and_tampered_ones_refused() {
    let (_, key_fixture) = fixtures("nymSignature").remove(0);
    let sk =
        BBSplusSecretKey::from_bytes(&bytes(&key_fixture["signerKeyPair"], "secretKey")).unwrap();
    let pk = sk.public_key();
    let entropy = PseudonymSecret::from_bytes(&[1; 32]).unwrap();
    for (name, f) in fixtures("nymCommit") {
        let commitment = bytes(&f, "commitmentWithProof");
        let n = f["proverNyms"].as_array().unwrap().len();
        let sign = |c: &[u8]| {
            BlindSignature::<Suite>::blind_sign_with_nym(&sk, &pk, Some(c), n, None, &entropy, None)
        };
        assert!(
            sign(&commitment).is_ok(),
            "{name}: published commitment refused"
        );
        let mut tampered = commitment.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(
            sign(&tampered).is_err(),
            "{name}: tampered commitment accepted"
        );
    }
}

#[test]
fn published_proofs_verify_and_pseudonyms_are_reproduced() {
    for (name, f) in fixtures("nymProof") {
        let pk = BBSplusPublicKey::from_bytes(&bytes(&f, "signerPublicKey")).unwrap();
        let header = bytes(&f, "header");
        let ph = bytes(&f, "presentationHeader");
        let context_id = bytes(&f, "context_id");
        let pseudonym_bytes = bytes(&f, "pseudonym");
        let pseudonym = BBSplusPseudonym::from_bytes(&pseudonym_bytes).unwrap();
        let n = f["proverNyms"].as_array().unwrap().len();
        let l = usize::try_from(f["L"].as_u64().unwrap()).unwrap();
        let (idx, msgs) = revealed(&f, "revealedMessages");
        let (cidx, cmsgs) = revealed(&f, "revealedCommittedMessages");
        let verify =
            |proof: &PoKSignature<Suite>, ph: &[u8], ctx: &[u8], nym: &BBSplusPseudonym| {
                proof.proof_verify_with_nym(
                    &pk,
                    Some(&header),
                    Some(ph),
                    nym,
                    ctx,
                    n,
                    Some(l),
                    Some(&msgs),
                    Some(&cmsgs),
                    Some(&idx),
                    Some(&cidx),
                )
            };

        let proof = PoKSignature::<Suite>::from_bytes(&bytes(&f, "proof")).unwrap();
        verify(&proof, &ph, &context_id, &pseudonym)
            .unwrap_or_else(|e| panic!("{name}: published proof rejected: {e}"));
        assert!(
            verify(&proof, b"other ph", &context_id, &pseudonym).is_err(),
            "{name}: ph"
        );
        assert!(
            verify(&proof, &ph, b"other context", &pseudonym).is_err(),
            "{name}: context"
        );
        let other_nym = PoKSignature::<Suite>::proof_gen_with_nym(
            &pk,
            &bytes(&f, "signature"),
            Some(&header),
            Some(&ph),
            &nyms(&f, "nym_secrets"),
            b"other context",
            Some(&byte_list(&f, "messages")),
            Some(&byte_list(&f, "committedMessages")),
            Some(&idx),
            Some(&cidx),
            Some(&BlindFactor::from_bytes(&scalar32(&bytes(&f, "proverBlind"))).unwrap()),
        )
        .unwrap()
        .1;
        assert!(
            verify(&proof, &ph, &context_id, &other_nym).is_err(),
            "{name}: pseudonym"
        );

        let (fresh, fresh_nym) = PoKSignature::<Suite>::proof_gen_with_nym(
            &pk,
            &bytes(&f, "signature"),
            Some(&header),
            Some(&ph),
            &nyms(&f, "nym_secrets"),
            &context_id,
            Some(&byte_list(&f, "messages")),
            Some(&byte_list(&f, "committedMessages")),
            Some(&idx),
            Some(&cidx),
            Some(&BlindFactor::from_bytes(&scalar32(&bytes(&f, "proverBlind"))).unwrap()),
        )
        .unwrap_or_else(|e| panic!("{name}: proof generation failed: {e}"));
        assert_eq!(
            hex(&fresh_nym.to_bytes()),
            hex(&pseudonym_bytes),
            "{name}: pseudonym"
        );
        verify(&fresh, &ph, &context_id, &fresh_nym)
            .unwrap_or_else(|e| panic!("{name}: fresh proof rejected: {e}"));
        assert_eq!(
            fresh.to_bytes().len(),
            bytes(&f, "proof").len(),
            "{name}: proof length"
        );
    }
}
