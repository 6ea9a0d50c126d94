//! The issue's behaviour: stable per-service pseudonyms, unlinkability across services,
//! wallet restoration, and one distinct error per kind of rejection — each test run once
//! per backend (`fast::*`, `zkryptium::*`) — plus property tests that the two backends
//! interoperate (commit on one, sign on the other, prove on either, verify on either) and
//! compute the same pseudonyms.

use crate::common;

use common::*;
use masque_cred::{
    AttributeKind, BbsHolder, BbsIssuer, BbsVerifier, CredError, Holder, Issuer, Pseudonym,
    RecordHandle, Timestamp, Verifier,
};

fn pseudonym_at<B: TestBackend>(
    verifier: &mut BbsVerifier<B>,
    holder: &BbsHolder<B>,
    credential: &masque_cred::Credential,
    now: Timestamp,
) -> Pseudonym {
    let challenge = verifier.challenge(now).unwrap();
    let presentation = holder.present(credential, &challenge).unwrap();
    verifier.verify(&presentation, now).unwrap().pseudonym
}

fn pseudonym_is_stable_per_service_across_presentations_epochs_and_reissuance<B: TestBackend>() {
    let mut issuer = issuer::<B>(1);
    let alice = wallet::<B>(10);
    let mut shop = service(&issuer, "https://shop.example", &[]);

    let cred_e5 = issue(&mut issuer, &alice, b"record-alice", 5);
    let first = pseudonym_at(&mut shop, &alice, &cred_e5, time_in(5));
    let second = pseudonym_at(&mut shop, &alice, &cred_e5, time_in(5));
    assert_eq!(first, second, "two presentations of one credential");

    // Next epoch: a new credential for the same record (re-issuance).
    let cred_e6 = issue(&mut issuer, &alice, b"record-alice", 6);
    assert_eq!(pseudonym_at(&mut shop, &alice, &cred_e6, time_in(6)), first);
    // The previous epoch's credential is still accepted in epoch 6, same pseudonym.
    assert_eq!(pseudonym_at(&mut shop, &alice, &cred_e5, time_in(6)), first);
    // Lost credential re-issued within the same epoch.
    let reissued = issue(&mut issuer, &alice, b"record-alice", 6);
    assert_eq!(
        pseudonym_at(&mut shop, &alice, &reissued, time_in(6)),
        first
    );
}

fn different_services_and_people_get_different_pseudonyms<B: TestBackend>() {
    let mut issuer = issuer::<B>(1);
    let alice = wallet::<B>(10);
    let bob = wallet::<B>(11);
    let cred_a = issue(&mut issuer, &alice, b"record-alice", 3);
    let cred_b = issue(&mut issuer, &bob, b"record-bob", 3);
    let mut shop = service(&issuer, "https://shop.example", &[]);
    let mut forum = service(&issuer, "https://forum.example", &[]);
    let now = time_in(3);

    let alice_shop = pseudonym_at(&mut shop, &alice, &cred_a, now);
    let alice_forum = pseudonym_at(&mut forum, &alice, &cred_a, now);
    let bob_shop = pseudonym_at(&mut shop, &bob, &cred_b, now);
    assert_ne!(alice_shop, alice_forum);
    assert_ne!(alice_shop, bob_shop);

    // A differently spelled but equivalent context is the same service.
    let mut shop_again = service(&issuer, "HTTPS://Shop.Example/", &[]);
    assert_eq!(
        pseudonym_at(&mut shop_again, &alice, &cred_a, now),
        alice_shop
    );
}

fn restored_wallet_keeps_its_pseudonyms<B: TestBackend>() {
    let mut issuer = issuer::<B>(1);
    let original = wallet::<B>(42);
    let cred = issue(&mut issuer, &original, b"record-42", 1);
    let mut shop = service(&issuer, "https://shop.example", &[]);
    let before = pseudonym_at(&mut shop, &original, &cred, time_in(1));
    drop((original, cred));

    // Phone lost: the wallet is restored from the same seed and re-issued for its record.
    let restored = wallet::<B>(42);
    let cred = issue(&mut issuer, &restored, b"record-42", 1);
    assert_eq!(
        pseudonym_at(&mut shop, &restored, &cred, time_in(1)),
        before
    );
}

fn holder_discloses_exactly_what_the_service_requires<B: TestBackend>() {
    let mut issuer = issuer::<B>(1);
    let alice = wallet::<B>(10);
    let cred = issue(&mut issuer, &alice, b"r", 2);
    let mut bare = service(&issuer, "https://bare.example", &[]);
    let challenge = bare.challenge(time_in(2)).unwrap();
    let p = alice.present(&cred, &challenge).unwrap();
    let seen = bare.verify(&p, time_in(2)).unwrap();
    assert_eq!((seen.modalities, seen.enrolment_quarter), (None, None));

    let mut strict = service(
        &issuer,
        "https://strict.example",
        &[AttributeKind::EnrolmentQuarter, AttributeKind::Modalities],
    );
    let challenge = strict.challenge(time_in(2)).unwrap();
    let p = alice.present(&cred, &challenge).unwrap();
    let seen = strict.verify(&p, time_in(2)).unwrap();
    assert_eq!(seen.modalities, Some(attributes(2).modalities));
    assert_eq!(
        seen.enrolment_quarter,
        Some(attributes(2).enrolment_quarter)
    );
}

/// One fresh world for each rejection test.
struct World<B: TestBackend> {
    issuer: BbsIssuer<B>,
    alice: BbsHolder<B>,
    cred: masque_cred::Credential,
    shop: BbsVerifier<B>,
}

fn world<B: TestBackend>() -> World<B> {
    let mut issuer = issuer::<B>(1);
    let alice = wallet::<B>(10);
    let cred = issue(&mut issuer, &alice, b"record-alice", 7);
    let shop = service(&issuer, "https://shop.example", &[]);
    World {
        issuer,
        alice,
        cred,
        shop,
    }
}

fn wrong_context_id_is_rejected<B: TestBackend>() {
    let mut w = world::<B>();
    let mut forum = service(&w.issuer, "https://forum.example", &[]);
    let forum_challenge = forum.challenge(time_in(7)).unwrap();
    let p = w.alice.present(&w.cred, &forum_challenge).unwrap();
    assert_eq!(
        w.shop.verify(&p, time_in(7)),
        Err(CredError::ContextMismatch)
    );

    // Relabelling the presentation with the shop's context and a live shop nonce does not
    // help: the proof is bound to the forum's context and nonce.
    let shop_challenge = w.shop.challenge(time_in(7)).unwrap();
    let forum_presentation = w
        .alice
        .present(&w.cred, &forum.challenge(time_in(7)).unwrap())
        .unwrap();
    let mut value = serde_json::to_value(&forum_presentation).unwrap();
    value["context_id"] = "https://shop.example".into();
    value["nonce"] = serde_json::to_value(&shop_challenge).unwrap()["nonce"].clone();
    let relabelled: masque_cred::Presentation = serde_json::from_value(value).unwrap();
    assert_eq!(
        w.shop.verify(&relabelled, time_in(7)),
        Err(CredError::InvalidProof)
    );
}

fn replayed_nonce_is_rejected<B: TestBackend>() {
    let mut w = world::<B>();
    let challenge = w.shop.challenge(time_in(7)).unwrap();
    let p = w.alice.present(&w.cred, &challenge).unwrap();
    assert!(w.shop.verify(&p, time_in(7)).is_ok());
    assert_eq!(
        w.shop.verify(&p, time_in(7)),
        Err(CredError::NonceUnknownOrUsed)
    );
    assert_eq!(w.shop.outstanding_nonces().unwrap(), 0);
}

fn expired_nonce_is_rejected<B: TestBackend>() {
    let mut w = world::<B>();
    let challenge = w.shop.challenge(time_in(7)).unwrap();
    let p = w.alice.present(&w.cred, &challenge).unwrap();
    let late = Timestamp(challenge.expires_at().0 + 1);
    assert_eq!(w.shop.verify(&p, late), Err(CredError::NonceExpired));
}

fn tampered_proof_is_rejected<B: TestBackend>() {
    let mut w = world::<B>();
    for position in [0usize, 100, 200, 300] {
        let challenge = w.shop.challenge(time_in(7)).unwrap();
        let p = w.alice.present(&w.cred, &challenge).unwrap();
        let mut value = serde_json::to_value(&p).unwrap();
        let proof = value["proof"].as_str().unwrap().to_owned();
        let mut chars: Vec<char> = proof.chars().collect();
        chars[position] = if chars[position] == 'A' { 'B' } else { 'A' };
        value["proof"] = chars.into_iter().collect::<String>().into();
        let tampered: masque_cred::Presentation = serde_json::from_value(value).unwrap();
        assert_eq!(
            w.shop.verify(&tampered, time_in(7)),
            Err(CredError::InvalidProof)
        );
    }
    // A disclosed attribute changed after the fact is caught by the proof as well.
    let challenge = w.shop.challenge(time_in(7)).unwrap();
    let p = w.alice.present(&w.cred, &challenge).unwrap();
    let mut value = serde_json::to_value(&p).unwrap();
    value["modalities"] = 15.into();
    let tampered: masque_cred::Presentation = serde_json::from_value(value).unwrap();
    assert_eq!(
        w.shop.verify(&tampered, time_in(7)),
        Err(CredError::InvalidProof)
    );
}

fn wrong_issuer_key_is_rejected<B: TestBackend>() {
    let mut w = world::<B>();
    // A credential from another issuer.
    let mut rogue = issuer::<B>(2);
    let rogue_cred = issue(&mut rogue, &w.alice, b"record-alice", 7);
    let challenge = w.shop.challenge(time_in(7)).unwrap();
    let p = w.alice.present(&rogue_cred, &challenge).unwrap();
    assert_eq!(
        w.shop.verify(&p, time_in(7)),
        Err(CredError::UnknownIssuerKey)
    );
    // The holder refuses a response signed by a key it did not ask.
    let (_, pending) = request_for(&w.issuer, &w.alice, b"x");
    let (rogue_request, _) = request_for(&rogue, &w.alice, b"x");
    let response = rogue
        .issue(
            &rogue_request,
            &RecordHandle::new(b"x").unwrap(),
            &attributes(7),
        )
        .unwrap();
    assert_eq!(
        w.alice.finalise(&pending, &response).unwrap_err(),
        CredError::UnknownIssuerKey
    );
}

fn expired_epoch_is_rejected<B: TestBackend>() {
    let mut w = world::<B>();
    // Credential of epoch 7: fine in 7 and 8, refused in 9 and before 7.
    for (epoch, ok) in [(6u32, false), (7, true), (8, true), (9, false)] {
        let challenge = w.shop.challenge(time_in(epoch)).unwrap();
        let p = w.alice.present(&w.cred, &challenge).unwrap();
        let result = w.shop.verify(&p, time_in(epoch));
        if ok {
            assert!(result.is_ok(), "epoch {epoch}: {result:?}");
        } else {
            assert!(
                matches!(result, Err(CredError::EpochNotAccepted { .. })),
                "epoch {epoch}: {result:?}"
            );
        }
    }
}

fn undisclosed_required_attribute_is_rejected<B: TestBackend>() {
    let w = world::<B>();
    let mut strict = service(
        &w.issuer,
        "https://strict.example",
        &[AttributeKind::Modalities],
    );
    // The holder answers a challenge stripped of the requirement (old or forged).
    let strict_challenge = strict.challenge(time_in(7)).unwrap();
    let mut value = serde_json::to_value(&strict_challenge).unwrap();
    value["required"] = serde_json::json!([]);
    let stripped: masque_cred::Challenge = serde_json::from_value(value).unwrap();
    let p = w.alice.present(&w.cred, &stripped).unwrap();
    assert_eq!(
        strict.verify(&p, time_in(7)),
        Err(CredError::RequiredAttributeMissing(
            AttributeKind::Modalities
        ))
    );
}

fn issuer_refuses_malformed_and_replayed_requests<B: TestBackend>() {
    let mut issuer = issuer::<B>(1);
    let alice = wallet::<B>(10);
    let record = RecordHandle::new(b"r").unwrap();
    let (request, _pending) = request_for(&issuer, &alice, b"r");
    assert!(issuer.issue(&request, &record, &attributes(1)).is_ok());
    assert_eq!(
        issuer.issue(&request, &record, &attributes(1)).unwrap_err(),
        CredError::ReplayedRequest
    );

    // Flip one byte of the commitment proof's challenge: the proof no longer verifies.
    let (request, _pending) = request_for(&issuer, &alice, b"r");
    let mut value = serde_json::to_value(&request).unwrap();
    let text = value["commitment_with_proof"].as_str().unwrap().to_owned();
    let mut chars: Vec<char> = text.chars().collect();
    let last = chars.len() - 3;
    chars[last] = if chars[last] == 'A' { 'B' } else { 'A' };
    value["commitment_with_proof"] = chars.into_iter().collect::<String>().into();
    let bad: masque_cred::CredentialRequest = serde_json::from_value(value).unwrap();
    assert_eq!(
        issuer.issue(&bad, &record, &attributes(1)).unwrap_err(),
        CredError::MalformedRequest
    );
}

/// Every behaviour test above, once per backend.
macro_rules! for_each_backend {
    ($($test:ident),* $(,)?) => {
        mod fast {
            $( #[test] fn $test() { super::$test::<masque_cred::backend::fast::Fast>() } )*
        }
        mod zkryptium {
            $( #[test] fn $test() { super::$test::<masque_cred::backend::zkryptium::Zkryptium>() } )*
        }
    };
}

for_each_backend!(
    pseudonym_is_stable_per_service_across_presentations_epochs_and_reissuance,
    different_services_and_people_get_different_pseudonyms,
    restored_wallet_keeps_its_pseudonyms,
    holder_discloses_exactly_what_the_service_requires,
    wrong_context_id_is_rejected,
    replayed_nonce_is_rejected,
    expired_nonce_is_rejected,
    tampered_proof_is_rejected,
    wrong_issuer_key_is_rejected,
    expired_epoch_is_rejected,
    undisclosed_required_attribute_is_rejected,
    issuer_refuses_malformed_and_replayed_requests,
);

mod properties {
    use super::*;
    use masque_cred::WalletSeed;
    use masque_cred::backend::fast::Fast;
    use masque_cred::backend::zkryptium::Zkryptium;
    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;

    fn stable_and_distinct<B: TestBackend>(
        seed: &[u8],
        record: &[u8],
        ctx_a: &str,
        ctx_b: &str,
        epoch: u32,
    ) -> Result<(), TestCaseError> {
        let mut issuer = issuer::<B>(3);
        let holder = BbsHolder::with_backend(B::default(), &WalletSeed::new(seed).unwrap());
        let first = issue(&mut issuer, &holder, record, epoch);
        let second = issue(&mut issuer, &holder, record, epoch + 1);
        let mut a = service(&issuer, ctx_a, &[]);
        let mut b = service(&issuer, ctx_b, &[]);
        let now = time_in(epoch + 1);
        let a1 = pseudonym_at(&mut a, &holder, &first, now);
        let a2 = pseudonym_at(&mut a, &holder, &second, now);
        prop_assert_eq!(a1, a2);
        let b1 = pseudonym_at(&mut b, &holder, &second, now);
        prop_assert_eq!(a1 == b1, a.context_id() == b.context_id());
        Ok(())
    }

    proptest! {
        // Each case runs two issuances and six presentations: keep the count small.
        #![proptest_config(ProptestConfig::with_cases(6))]
        #[test]
        fn pseudonyms_are_stable_per_context_and_distinct_across_contexts(
            seed in proptest::collection::vec(any::<u8>(), 32..64),
            record in proptest::collection::vec(any::<u8>(), 1..24),
            ctx_a in "[a-z0-9.:/-]{1,30}",
            ctx_b in "[a-z0-9.:/-]{1,30}",
            epoch in 1u32..1000,
        ) {
            prop_assume!(usable(&ctx_a) && usable(&ctx_b));
            stable_and_distinct::<Fast>(&seed, &record, &ctx_a, &ctx_b, epoch)?;
            stable_and_distinct::<Zkryptium>(&seed, &record, &ctx_a, &ctx_b, epoch)?;
        }

        /// The two backends are interchangeable: a request committed on one is signed on
        /// the other, finalised on the first, presented on either and verified on either,
        /// and the same seeds give the same pseudonym whichever backend computes it.
        #[test]
        fn backends_interoperate_and_agree_on_pseudonyms(
            wallet_seed in proptest::collection::vec(any::<u8>(), 32..64),
            issuer_seed in proptest::collection::vec(any::<u8>(), 32..48),
            record in proptest::collection::vec(any::<u8>(), 1..24),
            ctx in "[a-z0-9.-]{1,20}",
            epoch in 1u32..1000,
            fast_signs in any::<bool>(),
        ) {
            prop_assume!(usable(&ctx));
            let seed = masque_cred::IssuerSeed::new(&issuer_seed).unwrap();
            let wallet = WalletSeed::new(&wallet_seed).unwrap();
            let mut fast_issuer = BbsIssuer::with_backend(Fast, &seed).unwrap();
            let mut zk_issuer = BbsIssuer::with_backend(Zkryptium, &seed).unwrap();
            // Same seed, same key on both backends.
            prop_assert_eq!(fast_issuer.public_key(), zk_issuer.public_key());
            let fast_holder = BbsHolder::with_backend(Fast, &wallet);
            let zk_holder = BbsHolder::with_backend(Zkryptium, &wallet);
            let record = RecordHandle::new(&record).unwrap();

            // Commit on one backend, sign on the other, finalise on the first.
            let (cred_fast, cred_zk) = if fast_signs {
                let (req, pending) = zk_holder.request(fast_issuer.public_key(), &fast_issuer.offer(&record)).unwrap();
                let resp = fast_issuer.issue(&req, &record, &attributes(epoch)).unwrap();
                let c1 = zk_holder.finalise(&pending, &resp).unwrap();
                let (req, pending) = fast_holder.request(zk_issuer.public_key(), &zk_issuer.offer(&record)).unwrap();
                let resp = zk_issuer.issue(&req, &record, &attributes(epoch)).unwrap();
                (fast_holder.finalise(&pending, &resp).unwrap(), c1)
            } else {
                let (req, pending) = fast_holder.request(zk_issuer.public_key(), &zk_issuer.offer(&record)).unwrap();
                let resp = zk_issuer.issue(&req, &record, &attributes(epoch)).unwrap();
                let c1 = fast_holder.finalise(&pending, &resp).unwrap();
                let (req, pending) = zk_holder.request(fast_issuer.public_key(), &fast_issuer.offer(&record)).unwrap();
                let resp = fast_issuer.issue(&req, &record, &attributes(epoch)).unwrap();
                (c1, zk_holder.finalise(&pending, &resp).unwrap())
            };

            // Proofs from either backend verify on either; the pseudonym is the same.
            let now = time_in(epoch);
            let mut fast_service = service(&fast_issuer, &ctx, &[AttributeKind::Modalities]);
            let mut zk_service = service(&zk_issuer, &ctx, &[AttributeKind::Modalities]);
            let mut seen = Vec::new();
            for credential in [&cred_fast, &cred_zk] {
                let challenge = fast_service.challenge(now).unwrap();
                let p = zk_holder.present(credential, &challenge).unwrap();
                seen.push(fast_service.verify(&p, now).unwrap().pseudonym);
                let challenge = zk_service.challenge(now).unwrap();
                let p = fast_holder.present(credential, &challenge).unwrap();
                seen.push(zk_service.verify(&p, now).unwrap().pseudonym);
            }
            prop_assert!(seen.windows(2).all(|w| w[0] == w[1]), "{:?}", seen);
        }
    }

    fn usable(raw: &str) -> bool {
        masque_cred::ContextId::new(raw).is_ok()
    }
}
