//! The client verifier: log signature plus k-of-n witness quorum, remembered checkpoint,
//! consistency demanded to move forward, forks and rollbacks detected.

use crate::common;

use common::{ORIGIN, log_key};
use masque_tlog::cosignature::CosignatureSigner;
use masque_tlog::hash::leaf_hash;
use masque_tlog::keys::{KeyName, SecretKey, TYPE_COSIGNATURE_V1, TYPE_ED25519};
use masque_tlog::log::Log;
use masque_tlog::note::{Note, NoteSignature};
use masque_tlog::policy::Policy;
use masque_tlog::storage::MemStorage;
use masque_tlog::verifier::{CheckpointRejected, Verifier, verify_checkpoint};

fn witnesses() -> Vec<SecretKey> {
    (1..=3u8)
        .map(|i| {
            SecretKey::from_seed(
                KeyName::new(&format!("witness{i}.example")).unwrap(),
                &[i; 32],
            )
        })
        .collect()
}

fn policy(k: usize) -> Policy {
    let w = witnesses()
        .iter()
        .map(|w| w.public_key(TYPE_COSIGNATURE_V1))
        .collect();
    Policy::k_of_n(log_key().public_key(TYPE_ED25519), w, k).unwrap()
}

fn cosign(bytes: &[u8], by: &[&SecretKey]) -> Vec<u8> {
    let mut note = Note::parse(bytes).unwrap();
    for w in by {
        let sig = CosignatureSigner::new(w).sign_at(note.text(), 1_700_000_000);
        note.add_signature(sig);
    }
    note.to_bytes()
}

fn log_with(entries: &[&[u8]]) -> Log<MemStorage> {
    let mut log = Log::create(MemStorage::new(), ORIGIN, log_key()).unwrap();
    log.append_batch(entries).unwrap();
    log
}

#[test]
fn quorum_of_two_out_of_three() {
    let w = witnesses();
    let mut log = log_with(&[b"a", b"b"]);
    let cp = log.checkpoint().unwrap();
    let p = policy(2);
    assert!(matches!(
        verify_checkpoint(&p, &cp),
        Err(CheckpointRejected::QuorumNotMet(_))
    ));
    assert!(matches!(
        verify_checkpoint(&p, &cosign(&cp, &[&w[0]])),
        Err(CheckpointRejected::QuorumNotMet(_))
    ));
    let ok = verify_checkpoint(&p, &cosign(&cp, &[&w[0], &w[2]])).unwrap();
    assert_eq!(
        ok.cosigners,
        vec![
            ("w0".to_string(), 1_700_000_000),
            ("w2".to_string(), 1_700_000_000)
        ]
    );
    // quorum none accepts the log signature alone
    assert!(verify_checkpoint(&policy(0), &cp).is_ok());
    // A stranger's cosignature does not count.
    let stranger = SecretKey::from_seed(KeyName::new("witness1.example").unwrap(), &[99; 32]);
    assert!(matches!(
        verify_checkpoint(&p, &cosign(&cp, &[&w[0], &stranger])),
        Err(CheckpointRejected::QuorumNotMet(_))
    ));
}

#[test]
fn bad_or_duplicated_cosignatures_reject_the_checkpoint() {
    let w = witnesses();
    let mut log = log_with(&[b"a"]);
    let cp = cosign(&log.checkpoint().unwrap(), &[&w[0], &w[1]]);
    let p = policy(2);
    // Flip a bit in the last signature (witness 1's).
    let text = String::from_utf8(cp.clone()).unwrap();
    let last_line = text.trim_end().rsplit('\n').next().unwrap();
    let mut sig = NoteSignature::from_line(last_line).unwrap();
    sig.bytes[20] ^= 1;
    let tampered = text.replace(last_line, &sig.to_line());
    assert!(matches!(
        verify_checkpoint(&p, tampered.as_bytes()),
        Err(CheckpointRejected::Checkpoint(_))
    ));
    // The same cosignature twice.
    let doubled = format!("{text}{last_line}\n");
    assert!(verify_checkpoint(&p, doubled.as_bytes()).is_err());
    // A checkpoint from a log the policy does not list.
    let other = Log::create(
        MemStorage::new(),
        "other.example/log",
        SecretKey::from_seed(KeyName::new("other.example/log").unwrap(), &[5; 32]),
    );
    let mut other = other.unwrap();
    assert!(matches!(
        verify_checkpoint(&p, &other.checkpoint().unwrap()),
        Err(CheckpointRejected::UnknownLog(_))
    ));
}

#[test]
fn advancing_requires_consistency_and_detects_forks_and_rollbacks() {
    let w = witnesses();
    let p = policy(1);
    let mut log = log_with(&[b"a", b"b", b"c"]);
    let first = cosign(&log.checkpoint().unwrap(), &[&w[1]]);
    let mut v = Verifier::new(p.clone());
    v.advance(&first, &[]).unwrap();
    log.append_batch(&[b"d".as_slice(), b"e"]).unwrap();
    let second = cosign(&log.checkpoint().unwrap(), &[&w[1]]);
    let proof = log.consistency_proof(3, 5).unwrap();
    // No proof, or a wrong one: refused, and the verifier stays at size 3.
    assert!(matches!(
        v.advance(&second, &[]),
        Err(CheckpointRejected::Inconsistent { .. })
    ));
    assert!(matches!(
        v.advance(&second, &proof[1..]),
        Err(CheckpointRejected::Inconsistent { .. })
    ));
    assert_eq!(v.last().unwrap().checkpoint.size(), 3);
    v.advance(&second, &proof).unwrap();
    // Inclusion against the accepted tree.
    let inc = log.inclusion_proof(3, 5).unwrap();
    v.verify_inclusion(&leaf_hash(b"d"), 3, &inc).unwrap();
    assert!(v.verify_inclusion(&leaf_hash(b"x"), 3, &inc).is_err());
    // Rollback.
    assert!(matches!(
        v.advance(&first, &[]),
        Err(CheckpointRejected::Rollback {
            accepted: 5,
            new: 3
        })
    ));
    // A fork: same key, same size, other entries. The error carries both notes as evidence.
    let mut fork = log_with(&[b"a", b"b", b"c", b"d", b"EVIL"]);
    let forked = cosign(&fork.checkpoint().unwrap(), &[&w[1]]);
    match v.advance(&forked, &[]) {
        Err(CheckpointRejected::Inconsistent {
            accepted_note,
            new_note,
            ..
        }) => {
            assert_eq!(accepted_note, second);
            assert_eq!(new_note, forked);
        }
        other => panic!("fork not detected: {other:?}"),
    }
    // Resume from the saved checkpoint.
    let saved = v.last().unwrap().note.clone();
    let resumed = Verifier::resume(p, &saved).unwrap();
    assert_eq!(resumed.last().unwrap().checkpoint.size(), 5);
}
