//! Criterion benchmarks of the credential life cycle — the three issuance steps, proof
//! generation and verification — on both backends (`cred/fast/*`, `cred/zkryptium/*`),
//! plus (with `--features test-vectors`) the generator derivation that zkryptium repeats
//! on every call and the fast backend caches.

use std::cell::RefCell;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use masque_cred::backend::BbsBackend;
use masque_cred::backend::fast::Fast;
use masque_cred::backend::zkryptium::Zkryptium;
use masque_cred::{
    AttributeKind, BbsHolder, BbsIssuer, BbsVerifier, ContextId, CredentialAttributes,
    EnrolmentQuarter, EpochSchedule, Holder, Issuer, IssuerSeed, Modalities, Modality,
    RecordHandle, Timestamp, Verifier, VerifierPolicy, WalletSeed,
};

fn lifecycle<B: BbsBackend + Clone>(c: &mut Criterion, label: &str, backend: B) {
    let mut issuer =
        BbsIssuer::with_backend(backend.clone(), &IssuerSeed::new(&[1; 32]).unwrap()).unwrap();
    let holder = BbsHolder::with_backend(backend.clone(), &WalletSeed::new(&[2; 64]).unwrap());
    let record = RecordHandle::new(b"bench").unwrap();
    let schedule = EpochSchedule::new(Timestamp(0), 86_400).unwrap();
    let now = Timestamp(10);
    let attributes = CredentialAttributes {
        epoch: schedule.epoch_at(now),
        modalities: Modalities::new(&[Modality::Iris]).unwrap(),
        enrolment_quarter: EnrolmentQuarter::new(2026, 4).unwrap(),
    };
    let verifier = RefCell::new(
        BbsVerifier::with_backend(
            backend,
            VerifierPolicy {
                context_id: ContextId::new("https://bench.example").unwrap(),
                issuer: issuer.public_key().clone(),
                required: vec![AttributeKind::Modalities],
                nonce_lifetime_secs: 300,
                schedule,
                enrolled_before: None,
            },
        )
        .unwrap(),
    );

    let issuer_key = issuer.public_key().clone();
    let offer = issuer.offer(&record);
    let mut group = c.benchmark_group(format!("cred/{label}"));
    group.sample_size(20);
    group.bench_function("issuance_request", |b| {
        b.iter(|| holder.request(&issuer_key, &offer).unwrap())
    });
    group.bench_function("issuance_sign", |b| {
        b.iter_batched(
            || holder.request(&issuer_key, &offer).unwrap().0,
            |request| issuer.issue(&request, &record, &attributes).unwrap(),
            BatchSize::SmallInput,
        )
    });
    let (request, pending) = holder.request(&issuer_key, &offer).unwrap();
    let response = issuer.issue(&request, &record, &attributes).unwrap();
    group.bench_function("issuance_finalise", |b| {
        b.iter(|| holder.finalise(&pending, &response).unwrap())
    });
    let credential = holder.finalise(&pending, &response).unwrap();
    let challenge = verifier.borrow_mut().challenge(now).unwrap();
    group.bench_function("proof_generation", |b| {
        b.iter(|| holder.present(&credential, &challenge).unwrap())
    });
    group.bench_function("verification", |b| {
        b.iter_batched(
            || {
                let challenge = verifier.borrow_mut().challenge(now).unwrap();
                holder.present(&credential, &challenge).unwrap()
            },
            |presentation| verifier.borrow_mut().verify(&presentation, now).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn backends(c: &mut Criterion) {
    lifecycle(c, "fast", Fast);
    lifecycle(c, "zkryptium", Zkryptium);
}

/// The 4 message + 3 blind generators one masque verification needs: derived from scratch
/// by zkryptium on every call, a cache lookup for the fast backend. The fast backend's
/// generators are internal, so this one needs `--features test-vectors`.
#[cfg(feature = "test-vectors")]
fn generator_derivation(c: &mut Criterion) {
    use masque_cred::backend::fast::test_vectors::{API_ID_NYM, API_ID_NYM_BLIND, generators};
    use zkryptium::bbsplus::ciphersuites::{BbsCiphersuite, Bls12381Sha256};
    use zkryptium::bbsplus::generators::Generators;
    let blind_api = [b"BLIND_", Bls12381Sha256::API_ID_NYM].concat();
    c.bench_function("cred/zkryptium/generators_per_call", |b| {
        b.iter(|| {
            (
                Generators::create::<Bls12381Sha256>(4, Some(Bls12381Sha256::API_ID_NYM)),
                Generators::create::<Bls12381Sha256>(3, Some(&blind_api)),
            )
        })
    });
    c.bench_function("cred/fast/generators_per_call", |b| {
        b.iter(|| {
            (
                generators(API_ID_NYM, 4).unwrap(),
                generators(API_ID_NYM_BLIND, 3).unwrap(),
            )
        })
    });
}

#[cfg(feature = "test-vectors")]
criterion_group!(benches, backends, generator_derivation);
#[cfg(not(feature = "test-vectors"))]
criterion_group!(benches, backends);
criterion_main!(benches);
