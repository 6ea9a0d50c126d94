//! Replay protection survives a restart when the issuer and the verifier keep their state
//! in redb stores: a request answered before the restart is refused after it, a nonce
//! used before it stays used, a nonce issued before it can still be used once, and
//! expired nonces are pruned.

use crate::common;

use common::*;
use masque_cred::backend::fast::Fast;
use masque_cred::store::{RedbNonceStore, RedbReplayStore};
use masque_cred::{
    BbsIssuer, BbsVerifier, ContextId, CredError, Holder, Issuer, IssuerSeed, RecordHandle,
    Timestamp, Verifier, VerifierPolicy,
};

fn durable_issuer(path: &std::path::Path) -> BbsIssuer<Fast, RedbReplayStore> {
    BbsIssuer::with_store(
        Fast,
        &IssuerSeed::new(&[1; 32]).unwrap(),
        RedbReplayStore::open(path).unwrap(),
    )
    .unwrap()
}

fn durable_verifier(
    issuer: &BbsIssuer<Fast, RedbReplayStore>,
    path: &std::path::Path,
) -> BbsVerifier<Fast, RedbNonceStore> {
    BbsVerifier::with_store(
        Fast,
        VerifierPolicy {
            context_id: ContextId::new("https://shop.example").unwrap(),
            issuer: issuer.public_key().clone(),
            required: Vec::new(),
            nonce_lifetime_secs: 300,
            schedule: schedule(),
            enrolled_before: None,
        },
        RedbNonceStore::open(path).unwrap(),
    )
    .unwrap()
}

#[test]
fn a_replayed_request_is_refused_after_the_issuer_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("issuer.redb");
    let alice = wallet::<Fast>(10);
    let record = RecordHandle::new(b"record-alice").unwrap();
    let mut issuer = durable_issuer(&path);
    let (request, pending) = request_for(&issuer, &alice, b"record-alice");
    let response = issuer.issue(&request, &record, &attributes(3)).unwrap();
    drop(issuer); // restart

    let mut restarted = durable_issuer(&path);
    assert_eq!(
        restarted
            .issue(&request, &record, &attributes(3))
            .unwrap_err(),
        CredError::ReplayedRequest
    );
    // The credential issued before the restart is good, and fresh requests are served.
    alice.finalise(&pending, &response).unwrap();
    let (fresh, _) = request_for(&restarted, &alice, b"record-alice");
    assert!(restarted.issue(&fresh, &record, &attributes(3)).is_ok());
}

#[test]
fn nonces_stay_single_use_across_a_verifier_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (issuer_path, nonce_path) = (dir.path().join("i.redb"), dir.path().join("n.redb"));
    let mut issuer = durable_issuer(&issuer_path);
    let alice = wallet::<Fast>(10);
    let cred = issue(&mut issuer, &alice, b"record-alice", 5);
    let now = time_in(5);

    let mut shop = durable_verifier(&issuer, &nonce_path);
    let used = alice.present(&cred, &shop.challenge(now).unwrap()).unwrap();
    shop.verify(&used, now).unwrap();
    let pending = alice.present(&cred, &shop.challenge(now).unwrap()).unwrap();
    let stale = shop.challenge(now).unwrap();
    drop(shop); // restart

    let mut restarted = durable_verifier(&issuer, &nonce_path);
    assert_eq!(restarted.outstanding_nonces().unwrap(), 2);
    assert_eq!(
        restarted.verify(&used, now).unwrap_err(),
        CredError::NonceUnknownOrUsed
    );
    // A challenge issued before the restart can be answered once after it.
    restarted.verify(&pending, now).unwrap();
    assert_eq!(
        restarted.verify(&pending, now).unwrap_err(),
        CredError::NonceUnknownOrUsed
    );
    // An expired nonce is pruned by the next challenge.
    let later = Timestamp(stale.expires_at().0 + 1);
    restarted.challenge(later).unwrap();
    assert_eq!(restarted.outstanding_nonces().unwrap(), 1);
}
