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
