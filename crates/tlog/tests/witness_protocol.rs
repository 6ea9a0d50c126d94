//! tlog-witness add-checkpoint: every status code of the spec, the atomic per-origin
//! state, and the log-side client (409 recovery, cosignature checking) in-process.

use crate::common;

use std::sync::Arc;

use common::{ORIGIN, log_key};
use masque_tlog::cosignature::CosignatureVerifier;
use masque_tlog::cosigning::{CosignError, WitnessPeer, WitnessTransport};
use masque_tlog::hash::Hash;
use masque_tlog::keys::{KeyName, SecretKey, TYPE_ED25519};
use masque_tlog::log::Log;
use masque_tlog::note::Note;
use masque_tlog::policy::Policy;
use masque_tlog::reader::TreeReader;
use masque_tlog::storage::MemStorage;
use masque_tlog::storage::Storage;
use masque_tlog::verifier::verify_checkpoint;
use masque_tlog::witness::{AddCheckpoint, Witness, WitnessError, fork_evidence_key};

fn witness() -> Witness<MemStorage> {
    let key = SecretKey::from_seed(KeyName::new("witness.example/w1").unwrap(), &[3; 32]);
    Witness::new(
        key,
        vec![log_key().public_key(TYPE_ED25519)],
        MemStorage::new(),
    )
    .unwrap()
}

fn request(old: u64, proof: Vec<Hash>, checkpoint: &[u8]) -> Vec<u8> {
    AddCheckpoint {
        old_size: old,
        proof,
        checkpoint: checkpoint.to_vec(),
    }
    .to_bytes()
}

fn status(w: &Witness<MemStorage>, body: &[u8]) -> u16 {
    match w.add_checkpoint(body) {
        Ok(_) => 200,
        Err(e) => e.status(),
    }
}

#[test]
fn status_codes_follow_the_spec() {
    let w = witness();
    let mut log = Log::create(MemStorage::new(), ORIGIN, log_key()).unwrap();
    log.append_batch(&[b"a".as_slice(), b"b", b"c"]).unwrap();
    let cp3 = log.checkpoint().unwrap();
    // 400: malformed body, old size above the checkpoint size.
    assert_eq!(status(&w, b"old 1\n"), 400);
    assert_eq!(status(&w, b"old 01\n\nx"), 400);
    assert_eq!(status(&w, &request(4, vec![], &cp3)), 400);
    // 404: unknown origin.
    let stranger_key = SecretKey::from_seed(KeyName::new("other.example/log").unwrap(), &[8; 32]);
    let mut stranger = Log::create(MemStorage::new(), "other.example/log", stranger_key).unwrap();
    assert_eq!(
        status(&w, &request(0, vec![], &stranger.checkpoint().unwrap())),
        404
    );
    // 403: right origin, wrong key.
    let impostor = SecretKey::from_seed(KeyName::new(ORIGIN).unwrap(), &[9; 32]);
    let mut fake = Log::create(MemStorage::new(), ORIGIN, impostor).unwrap();
    assert_eq!(
        status(&w, &request(0, vec![], &fake.checkpoint().unwrap())),
        403
    );
    // 200 from 0 with an empty proof; the response verifies with the witness key.
    let response = w.add_checkpoint(&request(0, vec![], &cp3)).unwrap();
    assert!(response.starts_with("\u{2014} witness.example/w1 ".as_bytes()));
    // 409: the witness is at 3 now; body is the size.
    let err = w.add_checkpoint(&request(0, vec![], &cp3)).unwrap_err();
    assert_eq!(err.status(), 409);
    assert!(matches!(
        err,
        masque_tlog::witness::WitnessError::Conflict(3)
    ));
    // 422: bad proof; then 200 with the right one.
    log.append_batch(&[b"d".as_slice(), b"e"]).unwrap();
    let cp5 = log.checkpoint().unwrap();
    let proof = log.consistency_proof(3, 5).unwrap();
    let mut bad = proof.clone();
    bad[0].0[0] ^= 1;
    assert_eq!(status(&w, &request(3, bad, &cp5)), 422);
    assert_eq!(status(&w, &request(3, proof, &cp5)), 200);
    // 409: same size, different root (a fork), as tlog-witness specifies; the witness
    // keeps the forking signed note as evidence and stays at its cosigned checkpoint.
    let mut fork = Log::create(MemStorage::new(), ORIGIN, log_key()).unwrap();
    fork.append_batch(&[b"a".as_slice(), b"b", b"c", b"d", b"X"])
        .unwrap();
    let forked = fork.checkpoint().unwrap();
    let err = w.add_checkpoint(&request(5, vec![], &forked)).unwrap_err();
    assert!(matches!(err, WitnessError::Conflict(5)), "{err}");
    let kept = w
        .storage()
        .read(&fork_evidence_key(ORIGIN, &forked))
        .unwrap();
    assert_eq!(kept.as_deref(), Some(forked.as_slice()));
    assert_eq!(
        w.latest(ORIGIN).unwrap().unwrap().root(),
        Note::parse(&cp5)
            .map(|n| *masque_tlog::checkpoint::Checkpoint::parse(n.text())
                .unwrap()
                .root())
            .as_ref()
            .unwrap()
    );
    // 422: a non-empty proof from 0.
    let w2 = witness();
    assert_eq!(
        status(&w2, &request(0, vec![Hash::empty_root()], &cp3)),
        422
    );
    // 422: a size-0 checkpoint whose root is not the empty tree's.
    let mut bogus = Note::new(&format!("{ORIGIN}\n0\n{}\n", Hash([1; 32]).to_base64())).unwrap();
    bogus.sign(&masque_tlog::note::Ed25519Signer::new(&log_key()));
    assert_eq!(status(&w2, &request(0, vec![], &bogus.to_bytes())), 422);
    assert_eq!(w.latest(ORIGIN).unwrap().unwrap().size(), 5);
}

#[test]
fn concurrent_requests_never_roll_the_witness_back() {
    let w = Arc::new(witness());
    let mut log = Log::create(MemStorage::new(), ORIGIN, log_key()).unwrap();
    let mut requests = Vec::new();
    for i in 0..8u8 {
        log.append_batch(&[vec![i]]).unwrap();
        requests.push(request(0, vec![], &log.checkpoint().unwrap()));
    }
    let handles: Vec<_> = requests
        .into_iter()
        .map(|r| {
            let w = w.clone();
            std::thread::spawn(move || w.add_checkpoint(&r).is_ok())
        })
        .collect();
    let accepted = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|ok| *ok)
        .count();
    // All claim old size 0: exactly one can be accepted.
    assert_eq!(accepted, 1);
}

/// In-process transport straight into a witness.
struct Direct(Arc<Witness<MemStorage>>);

impl WitnessTransport for Direct {
    fn add_checkpoint(&self, body: &[u8]) -> Result<(u16, Vec<u8>), String> {
        Ok(match self.0.add_checkpoint(body) {
            Ok(b) => (200, b),
            Err(masque_tlog::witness::WitnessError::Conflict(size)) => {
                (409, format!("{size}\n").into_bytes())
            }
            Err(e) => (e.status(), e.to_string().into_bytes()),
        })
    }
}

#[test]
fn log_client_recovers_from_409_and_attaches_verified_cosignatures() {
    let w = Arc::new(witness());
    let wkey = w.public_key();
    let mut log = Log::create(MemStorage::new(), ORIGIN, log_key()).unwrap();
    log.append_batch(&[b"a".as_slice(), b"b"]).unwrap();
    // The witness already saw size 2 (e.g. from before a log restart).
    w.add_checkpoint(&request(0, vec![], &log.checkpoint().unwrap()))
        .unwrap();
    log.append_batch(&[b"c".as_slice()]).unwrap();
    let mut peer = WitnessPeer::new(
        CosignatureVerifier::new(wkey.clone()).unwrap(),
        Direct(w.clone()),
    );
    let cp = log.checkpoint().unwrap();
    let sig = {
        let mut reader = TreeReader::new(log.storage(), 3);
        peer.cosign(&cp, |old| {
            reader.consistency_proof(old).map_err(|e| e.to_string())
        })
        .unwrap()
    };
    assert_eq!(peer.known_size, 3);
    let text = Note::parse(&cp).unwrap().text().to_owned();
    assert!(log.add_cosignatures(&text, vec![sig]).unwrap());
    let policy = Policy::k_of_n(log_key().public_key(TYPE_ED25519), vec![wkey], 1).unwrap();
    assert!(verify_checkpoint(&policy, &log.checkpoint().unwrap()).is_ok());
    // A witness that answers with someone else's signature is caught.
    struct Liar(Vec<u8>);
    impl WitnessTransport for Liar {
        fn add_checkpoint(&self, _: &[u8]) -> Result<(u16, Vec<u8>), String> {
            Ok((200, self.0.clone()))
        }
    }
    let other = Arc::new(
        Witness::new(
            SecretKey::from_seed(KeyName::new("witness.example/w1").unwrap(), &[4; 32]),
            vec![log_key().public_key(TYPE_ED25519)],
            MemStorage::new(),
        )
        .unwrap(),
    );
    let lie = other.add_checkpoint(&request(0, vec![], &cp)).unwrap();
    let mut liar = WitnessPeer::new(CosignatureVerifier::new(w.public_key()).unwrap(), Liar(lie));
    assert!(matches!(
        liar.cosign(&cp, |_| Ok(vec![])),
        Err(CosignError::Response(_))
    ));
}
