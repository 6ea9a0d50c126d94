//! Restoring a wallet from its recovery phrase restores every key: record keys, audit keys
//! and tags, and the credential seed, checked here down to the pseudonym a service sees.

use crate::common;

use common::*;
use masque_cred::{
    BbsHolder, BbsIssuer, BbsVerifier, ContextId, CredError, CredentialAttributes,
    EnrolmentQuarter, Epoch, EpochSchedule, Holder, Issuer, IssuerSeed, Modalities, Modality,
    RecordHandle, Timestamp, Verifier, VerifierPolicy,
};
use masque_wallet::{Protection, RecordIndex, RecoveryPhrase, Wallet, WalletKeys};

#[test]
fn a_restored_wallet_derives_every_key_again() {
    let dir = tempfile::tempdir().unwrap();
    let original = Wallet::create(
        &dir.path().join("a.json"),
        RecoveryPhrase::generate(),
        encrypted("first device"),
        1,
    )
    .unwrap();
    // The person writes the words down, loses the device, types them on a new one.
    let written: String = original.phrase().words().collect::<Vec<_>>().join("  ");
    let restored = Wallet::create(
        &dir.path().join("b.json"),
        RecoveryPhrase::parse(&written.to_uppercase()).unwrap(),
        Protection::None,
        2,
    )
    .unwrap();
    let (a, b) = (original.keys(), restored.keys());
    assert_eq!(a.fingerprint(), b.fingerprint());
    for i in [0, 1, 2, 1000, u32::MAX] {
        let i = RecordIndex(i);
        assert_eq!(a.record_key(i).public_key(), b.record_key(i).public_key());
        assert_eq!(
            a.record_key(i).signing_key().to_bytes(),
            b.record_key(i).signing_key().to_bytes()
        );
        assert_eq!(a.audit_key(i), b.audit_key(i));
        for n in [0, 1, 99] {
            assert_eq!(a.audit_key(i).tag(n), b.audit_key(i).tag(n));
        }
    }
    // Another phrase gives other keys.
    let other = WalletKeys::from_seed(&RecoveryPhrase::generate().seed());
    assert_ne!(
        other.record_key(RecordIndex(0)).public_key(),
        a.record_key(RecordIndex(0)).public_key()
    );
}

fn attributes() -> CredentialAttributes {
    CredentialAttributes {
        epoch: Epoch(1),
        modalities: Modalities::new(&[Modality::Iris]).unwrap(),
        enrolment_quarter: EnrolmentQuarter::new(2026, 4).unwrap(),
    }
}

fn issue(
    issuer: &mut BbsIssuer,
    keys: &WalletKeys,
    record: &[u8],
) -> Result<masque_cred::Credential, CredError> {
    let holder = BbsHolder::from_seed(&keys.cred_seed());
    let record = RecordHandle::new(record).unwrap();
    let (request, pending) = holder.request(issuer.public_key(), &issuer.offer(&record))?;
    let response = issuer.issue(&request, &record, &attributes())?;
    holder.finalise(&pending, &response)
}

#[test]
fn a_restored_wallet_keeps_its_pseudonyms() {
    let phrase = RecoveryPhrase::generate();
    let original = WalletKeys::from_seed(&phrase.seed());
    let restored =
        WalletKeys::from_seed(&RecoveryPhrase::parse(&phrase.to_phrase()).unwrap().seed());
    let mut issuer = BbsIssuer::from_seed(&IssuerSeed::new(&[5; 32]).unwrap()).unwrap();
    let schedule = EpochSchedule::new(Timestamp(0), 86_400).unwrap();
    let now = Timestamp(86_400 + 60);
    let mut shop = BbsVerifier::new(VerifierPolicy {
        context_id: ContextId::new("https://shop.example").unwrap(),
        issuer: issuer.public_key().clone(),
        required: vec![],
        nonce_lifetime_secs: 300,
        schedule,
        enrolled_before: None,
    })
    .unwrap();
    let mut pseudonym = |keys: &WalletKeys, credential: &masque_cred::Credential| {
        let challenge = shop.challenge(now).unwrap();
        let presentation = BbsHolder::from_seed(&keys.cred_seed())
            .present(credential, &challenge)
            .unwrap();
        shop.verify(&presentation, now).unwrap().pseudonym
    };
    let first = issue(&mut issuer, &original, b"record-1").unwrap();
    let before = pseudonym(&original, &first);
    // Re-issuance for the same record to the restored wallet: accepted, same pseudonym.
    let reissued = issue(&mut issuer, &restored, b"record-1").unwrap();
    assert_eq!(pseudonym(&restored, &reissued), before);
    // A different wallet cannot take the record over.
    let stranger = WalletKeys::from_seed(&RecoveryPhrase::generate().seed());
    assert_eq!(
        issue(&mut issuer, &stranger, b"record-1").unwrap_err(),
        CredError::NymMismatch
    );
}
