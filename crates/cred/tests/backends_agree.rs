//! The fast backend against the zkryptium backend, through [`BbsBackend`], on random
//! inputs: the deterministic operations (key generation, blind signing, finalisation,
//! pseudonyms) give identical bytes, and everything one backend produces is accepted by
//! the other — or refused by both when it was tampered with.

use masque_cred::backend::fast::Fast;
use masque_cred::backend::zkryptium::Zkryptium;
use masque_cred::backend::{BbsBackend, proof_len};
use masque_cred::secrets::SecretScalar;
use proptest::prelude::*;

fn scalar(seed: u8) -> SecretScalar {
    // Below the group order: the top byte is small.
    let mut b = [seed; 32];
    b[0] = 0x11;
    SecretScalar::from_be_bytes(b).unwrap()
}

fn backends() -> [&'static dyn BbsBackend; 2] {
    [&Fast, &Zkryptium]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]
    #[test]
    fn backends_agree_on_random_inputs(
        key_material in proptest::collection::vec(any::<u8>(), 32..64),
        messages in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..6),
        header in proptest::collection::vec(any::<u8>(), 0..20),
        ph in proptest::collection::vec(any::<u8>(), 0..20),
        ctx in proptest::collection::vec(any::<u8>(), 1..30),
        nym_byte in any::<u8>(),
        entropy_byte in any::<u8>(),
        disclose_mask in any::<u8>(),
        committer in 0usize..2,
        prover in 0usize..2,
    ) {
        let [fast, zk] = backends();
        let (sk, pk) = fast.keygen(&key_material).unwrap();
        let (sk_zk, pk_zk) = zk.keygen(&key_material).unwrap();
        prop_assert_eq!(&sk, &sk_zk);
        prop_assert_eq!(pk, pk_zk);

        let prover_nym = scalar(nym_byte);
        let entropy = scalar(entropy_byte);
        let (commitment, blind) = backends()[committer].commit(&prover_nym).unwrap();
        // Blind signing is deterministic: both backends produce the same signature.
        let sig = fast.blind_sign(&sk, &pk, &commitment, &header, &entropy, &messages).unwrap();
        let sig_zk = zk.blind_sign(&sk, &pk, &commitment, &header, &entropy, &messages).unwrap();
        prop_assert_eq!(sig, sig_zk);
        let mut nym_secrets = Vec::new();
        for b in backends() {
            nym_secrets.push(
                b.verify_finalize(&pk, &sig, &header, &messages, &prover_nym, &entropy, &blind).unwrap(),
            );
            // A signature over other messages is refused by both.
            let mut other = messages.clone();
            other[0].push(1);
            prop_assert!(b.verify_finalize(&pk, &sig, &header, &other, &prover_nym, &entropy, &blind).is_err());
        }
        prop_assert_eq!(&nym_secrets[0], &nym_secrets[1]);

        let disclosed: Vec<usize> = (0..messages.len()).filter(|i| disclose_mask >> i & 1 == 1).collect();
        let (proof, pseudonym) = backends()[prover]
            .proof_gen(&pk, &sig, &header, &ph, &nym_secrets[0], &ctx, &messages, &disclosed, &blind)
            .unwrap();
        prop_assert_eq!(proof.len(), proof_len(messages.len(), disclosed.len()));
        let (_, pseudonym_other) = backends()[1 - prover]
            .proof_gen(&pk, &sig, &header, &ph, &nym_secrets[0], &ctx, &messages, &disclosed, &blind)
            .unwrap();
        prop_assert_eq!(pseudonym, pseudonym_other);
        let shown: Vec<(usize, Vec<u8>)> = disclosed.iter().map(|&i| (i, messages[i].clone())).collect();
        let mut tampered = proof.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        for b in backends() {
            prop_assert!(b.proof_verify(&pk, &proof, &header, &ph, &pseudonym, &ctx, messages.len(), &shown).is_ok(), "{}", b.name());
            prop_assert!(b.proof_verify(&pk, &tampered, &header, &ph, &pseudonym, &ctx, messages.len(), &shown).is_err());
            prop_assert!(b.proof_verify(&pk, &proof, &header, b"other", &pseudonym, &ctx, messages.len(), &shown).is_err());
        }
    }
}

/// Every field of a valid proof replaced by an invalid encoding (identity or off-curve
/// point, non-canonical or zero scalar), and an identity pseudonym: both backends refuse
/// each one with `InvalidProof`, without panicking.
#[test]
fn malformed_proofs_are_refused_by_both_backends() {
    let (sk, pk) = Fast.keygen(&[9; 32]).unwrap();
    let nym = scalar(3);
    let entropy = scalar(4);
    let messages = vec![
        b"epoch".to_vec(),
        b"modalities".to_vec(),
        b"quarter".to_vec(),
    ];
    let (commitment, blind) = Fast.commit(&nym).unwrap();
    let sig = Fast
        .blind_sign(&sk, &pk, &commitment, b"h", &entropy, &messages)
        .unwrap();
    let nym_secret = Fast
        .verify_finalize(&pk, &sig, b"h", &messages, &nym, &entropy, &blind)
        .unwrap();
    let (proof, pseudonym) = Fast
        .proof_gen(
            &pk,
            &sig,
            b"h",
            b"ph",
            &nym_secret,
            b"ctx",
            &messages,
            &[0],
            &blind,
        )
        .unwrap();
    let shown = vec![(0, messages[0].clone())];

    let mut identity = [0u8; 48];
    identity[0] = 0xc0;
    // The group order r itself: the smallest non-canonical scalar.
    let order_r: [u8; 32] = [
        0x73, 0xed, 0xa7, 0x53, 0x29, 0x9d, 0x7d, 0x48, 0x33, 0x39, 0xd8, 0x08, 0x09, 0xa1, 0xd8,
        0x05, 0x53, 0xbd, 0xa4, 0x02, 0xff, 0xfe, 0x5b, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00,
        0x00, 0x01,
    ];
    let mut bad_proofs = Vec::new();
    for point in 0..3 {
        for replacement in [&identity[..], &[0xff; 48][..]] {
            let mut p = proof.clone();
            p[point * 48..(point + 1) * 48].copy_from_slice(replacement);
            bad_proofs.push(p);
        }
    }
    for scalar_index in 0..(proof.len() - 144) / 32 {
        let at = 144 + 32 * scalar_index;
        for replacement in [&order_r[..], &[0xff; 32][..]] {
            let mut p = proof.clone();
            p[at..at + 32].copy_from_slice(replacement);
            bad_proofs.push(p);
        }
    }
    for b in backends() {
        for (i, bad) in bad_proofs.iter().enumerate() {
            assert!(
                b.proof_verify(&pk, bad, b"h", b"ph", &pseudonym, b"ctx", 3, &shown)
                    .is_err(),
                "{} accepted malformed proof {i}",
                b.name()
            );
        }
        assert!(
            b.proof_verify(&pk, &proof, b"h", b"ph", &identity, b"ctx", 3, &shown)
                .is_err(),
            "{} accepted the identity as pseudonym",
            b.name()
        );
        assert!(
            b.proof_verify(&pk, &proof, b"h", b"ph", &pseudonym, b"ctx", 3, &shown)
                .is_ok()
        );
    }
}
