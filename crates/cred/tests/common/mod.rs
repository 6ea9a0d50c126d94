//! Shared set-up for the integration tests: one issuer, wallets, services, a clock.
#![allow(dead_code)]

use masque_cred::backend::BbsBackend;
use masque_cred::store::ReplayStore;
use masque_cred::{
    AttributeKind, BbsHolder, BbsIssuer, BbsVerifier, ContextId, Credential, CredentialAttributes,
    CredentialRequest, EnrolmentQuarter, Epoch, EpochSchedule, Holder, Issuer, IssuerSeed,
    Modalities, Modality, PendingIssuance, RecordHandle, Timestamp, VerifierPolicy, WalletSeed,
};

/// A backend the shared tests can build on their own.
pub trait TestBackend: BbsBackend + Default + Clone + 'static {}
impl<B: BbsBackend + Default + Clone + 'static> TestBackend for B {}

/// One-day epochs starting at t = 0.
pub const EPOCH_SECS: u64 = 86_400;

pub fn schedule() -> EpochSchedule {
    EpochSchedule::new(Timestamp(0), EPOCH_SECS).unwrap()
}

/// A time inside `epoch`.
pub fn time_in(epoch: u32) -> Timestamp {
    Timestamp(u64::from(epoch) * EPOCH_SECS + 100)
}

pub fn issuer<B: TestBackend>(seed_byte: u8) -> BbsIssuer<B> {
    BbsIssuer::with_backend(B::default(), &IssuerSeed::new(&[seed_byte; 32]).unwrap()).unwrap()
}

pub fn wallet<B: TestBackend>(seed_byte: u8) -> BbsHolder<B> {
    BbsHolder::with_backend(B::default(), &WalletSeed::new(&[seed_byte; 64]).unwrap())
}

pub fn attributes(epoch: u32) -> CredentialAttributes {
    CredentialAttributes {
        epoch: Epoch(epoch),
        modalities: Modalities::new(&[Modality::Iris]).unwrap(),
        enrolment_quarter: EnrolmentQuarter::new(2026, 4).unwrap(),
    }
}

/// The holder's request for `record`, made from the issuer's offer for it.
pub fn request_for<B: TestBackend, R: ReplayStore>(
    issuer: &BbsIssuer<B, R>,
    holder: &BbsHolder<B>,
    record: &[u8],
) -> (CredentialRequest, PendingIssuance) {
    let offer = issuer.offer(&RecordHandle::new(record).unwrap());
    holder.request(issuer.public_key(), &offer).unwrap()
}

/// All issuance steps: offer, request, blind signing, finalisation.
pub fn issue<B: TestBackend, R: ReplayStore>(
    issuer: &mut BbsIssuer<B, R>,
    holder: &BbsHolder<B>,
    record: &[u8],
    epoch: u32,
) -> Credential {
    let (request, pending) = request_for(issuer, holder, record);
    let response = issuer
        .issue(
            &request,
            &RecordHandle::new(record).unwrap(),
            &attributes(epoch),
        )
        .unwrap();
    holder.finalise(&pending, &response).unwrap()
}

pub fn service<B: TestBackend>(
    issuer: &BbsIssuer<B>,
    context: &str,
    required: &[AttributeKind],
) -> BbsVerifier<B> {
    BbsVerifier::with_backend(
        B::default(),
        VerifierPolicy {
            context_id: ContextId::new(context).unwrap(),
            issuer: issuer.public_key().clone(),
            required: required.to_vec(),
            nonce_lifetime_secs: 300,
            schedule: schedule(),
            enrolled_before: None,
        },
    )
    .unwrap()
}
