//! Criterion benchmarks of the credential life cycle on the default (zkryptium) backend:
//! the three issuance steps, proof generation and verification.

use std::cell::RefCell;

use criterion::{Criterion, criterion_group, criterion_main};
use masque_cred::{
    AttributeKind, BbsHolder, BbsIssuer, BbsVerifier, ContextId, CredentialAttributes,
    EnrolmentQuarter, EpochSchedule, Holder, Issuer, IssuerSeed, Modalities, Modality,
    RecordHandle, Timestamp, Verifier, VerifierPolicy, WalletSeed,
};

fn lifecycle(c: &mut Criterion) {
    let mut issuer = BbsIssuer::from_seed(&IssuerSeed::new(&[1; 32]).unwrap()).unwrap();
    let holder = BbsHolder::from_seed(&WalletSeed::new(&[2; 64]).unwrap());
    let record = RecordHandle::new(b"bench").unwrap();
    let schedule = EpochSchedule::new(Timestamp(0), 86_400).unwrap();
    let now = Timestamp(10);
    let attributes = CredentialAttributes {
        epoch: schedule.epoch_at(now),
        modalities: Modalities::new(&[Modality::Iris]).unwrap(),
        enrolment_quarter: EnrolmentQuarter::new(2026, 4).unwrap(),
    };
    let verifier = RefCell::new(
        BbsVerifier::new(VerifierPolicy {
            context_id: ContextId::new("https://bench.example").unwrap(),
            issuer: issuer.public_key().clone(),
            required: vec![AttributeKind::Modalities],
            nonce_lifetime_secs: 300,
            schedule,
        })
        .unwrap(),
    );

    let issuer_key = issuer.public_key().clone();
    let mut group = c.benchmark_group("cred");
    group.sample_size(20);
    group.bench_function("issuance_request", |b| {
        b.iter(|| holder.request(issuer.public_key()).unwrap())
    });
    group.bench_function("issuance_sign", |b| {
        b.iter_batched(
            || holder.request(&issuer_key).unwrap().0,
            |request| issuer.issue(&request, &record, &attributes).unwrap(),
            criterion::BatchSize::SmallInput,
        )
    });
    let (request, pending) = holder.request(issuer.public_key()).unwrap();
    let response = issuer.issue(&request, &record, &attributes).unwrap();
    group.bench_function("issuance_finalise", |b| {
        b.iter(|| holder.finalise(&pending, &response).unwrap())
    });
    let credential = holder.finalise(&pending, &response).unwrap();
    let challenge = verifier.borrow_mut().challenge(now);
    group.bench_function("proof_generation", |b| {
        b.iter(|| holder.present(&credential, &challenge).unwrap())
    });
    group.bench_function("verification", |b| {
        b.iter_batched(
            || {
                let challenge = verifier.borrow_mut().challenge(now);
                holder.present(&credential, &challenge).unwrap()
            },
            |presentation| verifier.borrow_mut().verify(&presentation, now).unwrap(),
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// Profiling aid: zkryptium re-derives its generators (hash-to-curve) on every call; this
/// is the cost of the 4 message + 3 blind generators one masque verification derives.
fn generator_derivation(c: &mut Criterion) {
    use zkryptium::bbsplus::ciphersuites::{BbsCiphersuite, Bls12381Sha256};
    use zkryptium::bbsplus::generators::Generators;
    let blind_api = [b"BLIND_", Bls12381Sha256::API_ID_NYM].concat();
    c.bench_function("cred/generators_per_call", |b| {
        b.iter(|| {
            (
                Generators::create::<Bls12381Sha256>(4, Some(Bls12381Sha256::API_ID_NYM)),
                Generators::create::<Bls12381Sha256>(3, Some(&blind_api)),
            )
        })
    });
}

criterion_group!(benches, lifecycle, generator_derivation);
criterion_main!(benches);
