//! One pseudonym per person per service, across re-issuance (issue 14): the issuer binds
//! the prover nym to the record at its first issuance, so a second wallet seed for the
//! same record is refused — before and after an issuer restart, for a renewal as for a
//! re-issuance — while the same seed after a wallet restore passes and keeps every
//! pseudonym. Deletion and re-enrolment (a new record) start over with new pseudonyms.
//! Each behaviour runs once per backend.

use crate::common;

use common::*;
use masque_cred::backend::fast::Fast;
use masque_cred::backend::zkryptium::Zkryptium;
use masque_cred::store::RedbReplayStore;
use masque_cred::{
    AttributeKind, BbsHolder, BbsIssuer, BbsVerifier, CredError, Credential, CredentialAttributes,
    CredentialRequest, EnrolmentQuarter, Holder, Issuer, IssuerSeed, Pseudonym, RecordHandle,
    Timestamp, Verifier, VerifierPolicy,
};

fn record(bytes: &[u8]) -> RecordHandle {
    RecordHandle::new(bytes).unwrap()
}

fn pseudonym_at<B: TestBackend>(
    verifier: &mut BbsVerifier<B>,
    holder: &BbsHolder<B>,
    credential: &Credential,
    now: Timestamp,
) -> Pseudonym {
    let challenge = verifier.challenge(now).unwrap();
    let presentation = holder.present(credential, &challenge).unwrap();
    verifier.verify(&presentation, now).unwrap().pseudonym
}

/// `request` with one base64url character of `field` (in its `nym_binding`, or at the top
/// level) changed, so its decoded bytes differ.
fn tampered(request: &CredentialRequest, field: &str) -> CredentialRequest {
    let mut value = serde_json::to_value(request).unwrap();
    let slot = if field == "commitment_with_proof" {
        &mut value[field]
    } else {
        &mut value["nym_binding"][field]
    };
    let mut chars: Vec<char> = slot.as_str().unwrap().chars().collect();
    // A middle character: changing it changes whole bits, never only padding bits.
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    *slot = chars.into_iter().collect::<String>().into();
    serde_json::from_value(value).unwrap()
}

fn a_second_seed_for_the_same_record_is_refused<B: TestBackend>() {
    let mut issuer = issuer::<B>(1);
    let alice = wallet::<B>(10);
    let rec = record(b"record-alice");
    let cred = issue(&mut issuer, &alice, b"record-alice", 5);
    assert_eq!(issuer.nym_refusals(&rec).unwrap(), 0);

    // The same person with another seed: same record, re-issuance in the same epoch...
    let second = wallet::<B>(11);
    let (request, _) = request_for(&issuer, &second, b"record-alice");
    assert_eq!(
        issuer.issue(&request, &rec, &attributes(5)).unwrap_err(),
        CredError::NymMismatch
    );
    // ...and an epoch renewal with the new nym: both refused, both counted.
    let (renewal, _) = request_for(&issuer, &second, b"record-alice");
    assert_eq!(
        issuer.issue(&renewal, &rec, &attributes(6)).unwrap_err(),
        CredError::NymMismatch
    );
    assert_eq!(issuer.nym_refusals(&rec).unwrap(), 2);

    // The refusals did not disturb the record: its own wallet is still served, with the
    // same pseudonym, and other records are untouched.
    let mut shop = service(&issuer, "https://shop.example", &[]);
    let before = pseudonym_at(&mut shop, &alice, &cred, time_in(6));
    let renewed = issue(&mut issuer, &alice, b"record-alice", 6);
    assert_eq!(
        pseudonym_at(&mut shop, &alice, &renewed, time_in(6)),
        before
    );
    assert_eq!(issuer.nym_refusals(&record(b"record-bob")).unwrap(), 0);
}

fn a_restored_wallet_passes_and_keeps_every_pseudonym<B: TestBackend>() {
    let mut issuer = issuer::<B>(1);
    let original = wallet::<B>(42);
    let cred = issue(&mut issuer, &original, b"record-42", 1);
    let contexts = [
        "https://shop.example",
        "https://forum.example",
        "https://aid.example",
    ];
    let mut services: Vec<_> = contexts.iter().map(|c| service(&issuer, c, &[])).collect();
    let before: Vec<_> = services
        .iter_mut()
        .map(|s| pseudonym_at(s, &original, &cred, time_in(1)))
        .collect();
    drop((original, cred));

    // Phone lost: the wallet is restored from its mnemonic (same seed) and re-issued for
    // its record, in the same epoch and again at the next renewal.
    let restored = wallet::<B>(42);
    let reissued = issue(&mut issuer, &restored, b"record-42", 1);
    let renewed = issue(&mut issuer, &restored, b"record-42", 2);
    for (service, expected) in services.iter_mut().zip(&before) {
        assert_eq!(
            &pseudonym_at(service, &restored, &reissued, time_in(1)),
            expected
        );
        assert_eq!(
            &pseudonym_at(service, &restored, &renewed, time_in(2)),
            expected
        );
    }
    assert_eq!(issuer.nym_refusals(&record(b"record-42")).unwrap(), 0);
}

fn a_request_made_for_another_record_is_refused<B: TestBackend>() {
    let mut issuer = issuer::<B>(1);
    let alice = wallet::<B>(10);
    let bob = wallet::<B>(11);
    issue(&mut issuer, &bob, b"record-bob", 3);

    // Alice's request is bound to her record's salt. Offered for a fresh record, its
    // proof does not verify; offered for Bob's (bound) record, its anchor is not Bob's.
    let (request, _) = request_for(&issuer, &alice, b"record-alice");
    assert_eq!(
        issuer
            .issue(&request, &record(b"record-new"), &attributes(3))
            .unwrap_err(),
        CredError::InvalidNymBinding
    );
    assert_eq!(
        issuer
            .issue(&request, &record(b"record-bob"), &attributes(3))
            .unwrap_err(),
        CredError::NymMismatch
    );
    // Nothing was signed or recorded: the same request still works for its own record.
    issuer
        .issue(&request, &record(b"record-alice"), &attributes(3))
        .unwrap();
    // A request made from another issuer's offer is refused too: against a bound record
    // its anchor differs, on a fresh record its proof does not verify.
    let other = common::issuer::<B>(2);
    let (foreign, _) = request_for(&other, &alice, b"record-alice");
    assert_eq!(
        issuer
            .issue(&foreign, &record(b"record-alice"), &attributes(3))
            .unwrap_err(),
        CredError::NymMismatch
    );
    let (foreign, _) = request_for(&other, &alice, b"record-fresh");
    assert_eq!(
        issuer
            .issue(&foreign, &record(b"record-fresh"), &attributes(3))
            .unwrap_err(),
        CredError::InvalidNymBinding
    );
    // The holder refuses an offer that does not come from the key it asks.
    assert_eq!(
        alice
            .request(issuer.public_key(), &other.offer(&record(b"record-alice")))
            .unwrap_err(),
        CredError::UnknownIssuerKey
    );
}

fn a_tampered_binding_is_refused_and_nothing_is_signed<B: TestBackend>() {
    let mut issuer = issuer::<B>(1);
    let alice = wallet::<B>(10);
    let rec = record(b"record-alice");
    issue(&mut issuer, &alice, b"record-alice", 4);

    let (request, pending) = request_for(&issuer, &alice, b"record-alice");
    for (field, expected) in [
        ("challenge", CredError::InvalidNymBinding),
        ("response", CredError::InvalidNymBinding),
        ("anchor", CredError::NymMismatch),
    ] {
        let bad = tampered(&request, field);
        assert_ne!(bad, request);
        assert_eq!(
            issuer.issue(&bad, &rec, &attributes(4)).unwrap_err(),
            expected,
            "{field}"
        );
    }
    assert_eq!(issuer.nym_refusals(&rec).unwrap(), 3);
    // A corrupted commitment is a malformed request, not a nym refusal.
    assert_eq!(
        issuer
            .issue(
                &tampered(&request, "commitment_with_proof"),
                &rec,
                &attributes(4)
            )
            .unwrap_err(),
        CredError::MalformedRequest
    );
    assert_eq!(issuer.nym_refusals(&rec).unwrap(), 3);
    // Nothing was signed or recorded: the untampered request is answered once.
    let response = issuer.issue(&request, &rec, &attributes(4)).unwrap();
    alice.finalise(&pending, &response).unwrap();

    // On a record's first issuance there is no anchor to compare yet: a tampered anchor
    // fails the proof.
    let (first, _) = request_for(&issuer, &alice, b"record-fresh");
    assert_eq!(
        issuer
            .issue(
                &tampered(&first, "anchor"),
                &record(b"record-fresh"),
                &attributes(4)
            )
            .unwrap_err(),
        CredError::InvalidNymBinding
    );
}

fn deletion_and_re_enrolment_start_over<B: TestBackend>() {
    let mut issuer = issuer::<B>(1);
    let alice = wallet::<B>(10);
    let old = issue(&mut issuer, &alice, b"record-old", 2);
    let mut aid = service(&issuer, "https://aid.example", &[]);
    let old_nym = pseudonym_at(&mut aid, &alice, &old, time_in(2));

    // After deletion the custodian enrols her as a new record: a new seed is fine there
    // (the right to start over), and the pseudonym is new.
    let fresh_wallet = wallet::<B>(12);
    let new = issue(&mut issuer, &fresh_wallet, b"record-new", 2);
    assert_ne!(
        pseudonym_at(&mut aid, &fresh_wallet, &new, time_in(2)),
        old_nym
    );
    // The same seed on a new record also gets a new pseudonym (new signer entropy).
    let same_seed = issue(&mut issuer, &alice, b"record-newer", 2);
    assert_ne!(
        pseudonym_at(&mut aid, &alice, &same_seed, time_in(2)),
        old_nym
    );
}

/// An aid desk whose round starts in `round_start`: it admits only people enrolled in an
/// earlier quarter.
fn aid_desk<B: TestBackend>(
    issuer: &BbsIssuer<B>,
    round_start: EnrolmentQuarter,
) -> BbsVerifier<B> {
    BbsVerifier::with_backend(
        B::default(),
        VerifierPolicy {
            context_id: masque_cred::ContextId::new("https://aid.example/round-7").unwrap(),
            issuer: issuer.public_key().clone(),
            required: Vec::new(),
            nonce_lifetime_secs: 300,
            schedule: schedule(),
            enrolled_before: Some(round_start),
        },
    )
    .unwrap()
}

fn the_enrolment_cutoff_stops_a_second_claim_after_re_enrolment<B: TestBackend>() {
    let mut issuer = issuer::<B>(1);
    let alice = wallet::<B>(10);
    let round_start = EnrolmentQuarter::new(2027, 1).unwrap();
    // Enrolled before the round (attributes() says 2026-Q4): her claim is admitted, and
    // the challenge asks for the enrolment quarter without the desk listing it.
    let old = issue(&mut issuer, &alice, b"record-old", 3);
    let mut desk = aid_desk(&issuer, round_start);
    let challenge = desk.challenge(time_in(3)).unwrap();
    assert_eq!(challenge.required(), [AttributeKind::EnrolmentQuarter]);
    let seen = desk
        .verify(&alice.present(&old, &challenge).unwrap(), time_in(3))
        .unwrap();
    assert_eq!(
        seen.enrolment_quarter,
        Some(attributes(3).enrolment_quarter)
    );

    // During the round she deletes her record and re-enrols (new record, new wallet
    // seed): the issuer serves her, but the new credential says 2027-Q1.
    let again = wallet::<B>(12);
    let (request, pending) = request_for(&issuer, &again, b"record-new");
    let enrolled_in_round = CredentialAttributes {
        enrolment_quarter: round_start,
        ..attributes(3)
    };
    let response = issuer
        .issue(&request, &record(b"record-new"), &enrolled_in_round)
        .unwrap();
    let new = again.finalise(&pending, &response).unwrap();
    let challenge = desk.challenge(time_in(3)).unwrap();
    assert_eq!(
        desk.verify(&again.present(&new, &challenge).unwrap(), time_in(3)),
        Err(CredError::EnrolledTooLate {
            enrolled: round_start,
            cutoff: round_start,
        })
    );
    // Hiding the quarter does not help.
    let challenge = desk.challenge(time_in(3)).unwrap();
    let mut value = serde_json::to_value(&challenge).unwrap();
    value["required"] = serde_json::json!([]);
    let stripped: masque_cred::Challenge = serde_json::from_value(value).unwrap();
    assert_eq!(
        desk.verify(&again.present(&new, &stripped).unwrap(), time_in(3)),
        Err(CredError::RequiredAttributeMissing(
            AttributeKind::EnrolmentQuarter
        ))
    );
    // The next round admits her new record; a service without a cutoff admits it now.
    let mut next_round = aid_desk(&issuer, EnrolmentQuarter::new(2027, 2).unwrap());
    let challenge = next_round.challenge(time_in(3)).unwrap();
    next_round
        .verify(&again.present(&new, &challenge).unwrap(), time_in(3))
        .unwrap();
    let mut shop = service(&issuer, "https://shop.example", &[]);
    pseudonym_at(&mut shop, &again, &new, time_in(3));
}

macro_rules! for_each_backend {
    ($($test:ident),* $(,)?) => {
        mod fast {
            $(#[test] fn $test() { super::$test::<masque_cred::backend::fast::Fast>() })*
        }
        mod zkryptium {
            $(#[test] fn $test() { super::$test::<masque_cred::backend::zkryptium::Zkryptium>() })*
        }
    };
}

for_each_backend!(
    a_second_seed_for_the_same_record_is_refused,
    a_restored_wallet_passes_and_keeps_every_pseudonym,
    a_request_made_for_another_record_is_refused,
    a_tampered_binding_is_refused_and_nothing_is_signed,
    deletion_and_re_enrolment_start_over,
    the_enrolment_cutoff_stops_a_second_claim_after_re_enrolment,
);

fn durable_issuer<B: TestBackend>(path: &std::path::Path) -> BbsIssuer<B, RedbReplayStore> {
    BbsIssuer::with_store(
        B::default(),
        &IssuerSeed::new(&[1; 32]).unwrap(),
        RedbReplayStore::open(path).unwrap(),
    )
    .unwrap()
}

#[test]
fn a_second_seed_is_refused_after_the_issuer_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("issuer.redb");
    let rec = record(b"record-alice");
    let alice = wallet::<Fast>(10);
    let second = wallet::<Fast>(11);

    let mut issuer = durable_issuer::<Fast>(&path);
    let cred = issue(&mut issuer, &alice, b"record-alice", 5);
    let (before_restart, _) = request_for(&issuer, &second, b"record-alice");
    assert_eq!(
        issuer
            .issue(&before_restart, &rec, &attributes(5))
            .unwrap_err(),
        CredError::NymMismatch
    );
    drop(issuer); // restart, on the other backend: the binding is above the backend

    let mut restarted = durable_issuer::<Zkryptium>(&path);
    assert_eq!(restarted.nym_refusals(&rec).unwrap(), 1);
    let second = wallet::<Zkryptium>(11);
    let (after_restart, _) = request_for(&restarted, &second, b"record-alice");
    assert_eq!(
        restarted
            .issue(&after_restart, &rec, &attributes(6))
            .unwrap_err(),
        CredError::NymMismatch
    );
    assert_eq!(restarted.nym_refusals(&rec).unwrap(), 2);

    // The record's own seed, restored into a wallet on the other backend, passes after
    // the restart and keeps its pseudonym.
    let restored = wallet::<Zkryptium>(10);
    let renewed = issue(&mut restarted, &restored, b"record-alice", 6);
    let mut shop = BbsVerifier::with_backend(
        Fast,
        VerifierPolicy {
            context_id: masque_cred::ContextId::new("https://shop.example").unwrap(),
            issuer: restarted.public_key().clone(),
            required: Vec::new(),
            nonce_lifetime_secs: 300,
            schedule: schedule(),
            enrolled_before: None,
        },
    )
    .unwrap();
    let now = time_in(6);
    let challenge = shop.challenge(now).unwrap();
    let old = shop
        .verify(&alice.present(&cred, &challenge).unwrap(), now)
        .unwrap()
        .pseudonym;
    let challenge = shop.challenge(now).unwrap();
    let new = shop
        .verify(&restored.present(&renewed, &challenge).unwrap(), now)
        .unwrap()
        .pseudonym;
    assert_eq!(old, new);
}

#[test]
fn a_record_first_bound_on_one_backend_is_honoured_on_the_other() {
    let seed = IssuerSeed::new(&[3; 32]).unwrap();
    let mut fast = BbsIssuer::with_backend(Fast, &seed).unwrap();
    let zk_wallet = wallet::<Zkryptium>(20);
    // A zkryptium wallet's request, signed by the fast issuer, binds the record...
    let (request, pending) = zk_wallet
        .request(fast.public_key(), &fast.offer(&record(b"r")))
        .unwrap();
    let response = fast.issue(&request, &record(b"r"), &attributes(1)).unwrap();
    zk_wallet.finalise(&pending, &response).unwrap();
    // ...and the same seed in a fast wallet passes, another seed does not.
    issue(&mut fast, &wallet::<Fast>(20), b"r", 2);
    let (other, _) = request_for(&fast, &wallet::<Fast>(21), b"r");
    assert_eq!(
        fast.issue(&other, &record(b"r"), &attributes(2))
            .unwrap_err(),
        CredError::NymMismatch
    );
}
