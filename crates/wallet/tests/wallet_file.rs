//! The wallet file as a person's machine sees it: created once, reopened, encrypted or
//! not, mode 0600, one writer, and every kind of damage an error rather than a panic.

use crate::common;

use std::os::unix::fs::PermissionsExt;

use common::*;
use masque_wallet::{
    OpaqueBytes, Protection, Record, RecordIndex, RecoveryPhrase, StoredItem, Wallet, WalletError,
};
use proptest::prelude::*;
use serde_json::json;

const ZOO: &str = "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo vote";

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn encrypted_wallet_round_trips_and_hides_its_contents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wallet.json");
    let phrase = RecoveryPhrase::parse(ZOO).unwrap();
    let mut wallet =
        Wallet::create(&path, phrase.clone(), encrypted("correct horse"), 100).unwrap();
    let index = wallet.new_record_index().unwrap();
    wallet
        .add_record(Record {
            index,
            handle: OpaqueBytes(b"handle-at-custodians".to_vec()),
            enrolled_at: 200,
            ops: 0,
            details: json!({"private-detail-key": "private-detail-value"}),
        })
        .unwrap();
    let (n, tag) = wallet.next_operation(index).unwrap();
    assert_eq!((n, tag), (0, wallet.keys().audit_key(index).tag(0)));
    wallet.state_mut().receipts.push(StoredItem {
        kind: "enrol-receipt".into(),
        record: Some(index),
        stored_at: 201,
        value: json!({"outcome": "enrolled"}),
    });
    wallet.save().unwrap();
    assert_eq!(mode(&path), 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    // Markers long enough (or holding a space) never to turn up in random base64 by chance.
    for secret in [
        "zoo zoo",
        "vote",
        "handle-at-custodians",
        "enrolled",
        "private-detail",
    ] {
        assert!(!text.contains(secret), "{secret} readable in {text}");
    }
    assert!(text.contains("argon2id") && text.contains("xchacha20poly1305"));
    let state = wallet.state().clone();
    drop(wallet);

    let reopened = Wallet::open(&path).unwrap();
    assert!(reopened.is_encrypted());
    let reopened = reopened.unlock(Some(&passphrase("correct horse"))).unwrap();
    assert_eq!(reopened.state(), &state);
    assert_eq!(reopened.phrase(), &phrase);
    assert_eq!(reopened.record(index).unwrap().ops, 1);
    assert_eq!(reopened.kdf_cost(), Some(CHEAP));
}

#[test]
fn wrong_or_missing_passphrase_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.json");
    drop(Wallet::create(&path, RecoveryPhrase::generate(), encrypted("right"), 1).unwrap());
    let err = Wallet::load(&path)
        .unwrap()
        .unlock(Some(&passphrase("wrong")))
        .unwrap_err();
    assert!(
        matches!(err, WalletError::WrongPassphrase { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("wrong passphrase") && text.contains("w.json"),
        "{text}"
    );
    assert!(!text.contains("right"));
    let err = Wallet::load(&path).unwrap().unlock(None).unwrap_err();
    assert!(matches!(err, WalletError::PassphraseNeeded { .. }), "{err}");
}

#[test]
fn plain_wallet_is_0600_and_refuses_a_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain.json");
    let phrase = RecoveryPhrase::generate();
    drop(Wallet::create(&path, phrase.clone(), Protection::None, 1).unwrap());
    assert_eq!(mode(&path), 0o600);
    let sealed = Wallet::load(&path).unwrap();
    assert!(!sealed.is_encrypted());
    assert!(matches!(
        sealed.unlock(Some(&passphrase("x"))),
        Err(WalletError::NotEncrypted { .. })
    ));
    let wallet = Wallet::load(&path).unwrap().unlock(None).unwrap();
    assert_eq!(wallet.phrase(), &phrase);
}

#[test]
fn never_overwrites_one_writer_and_read_only_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.json");
    let mut first = Wallet::create(&path, RecoveryPhrase::generate(), Protection::None, 1).unwrap();
    // While `first` holds the lock, nobody else may open the wallet for update.
    let err = Wallet::open(&path).unwrap_err().to_string();
    assert!(
        err.contains("w.json.lock") && err.contains("locked"),
        "{err}"
    );
    drop(first.save());
    drop(first);
    // An existing wallet is never replaced by a new one.
    let err = Wallet::create(&path, RecoveryPhrase::generate(), Protection::None, 2).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    // A read-only load does not lock and cannot save.
    let _writer = Wallet::open(&path).unwrap().unlock(None).unwrap();
    let mut reader = Wallet::load(&path).unwrap().unlock(None).unwrap();
    assert!(matches!(reader.save(), Err(WalletError::ReadOnly { .. })));
}

#[test]
fn debug_output_shows_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.json");
    let pass = passphrase("open sesame");
    let phrase = RecoveryPhrase::parse(ZOO).unwrap();
    let wallet = Wallet::create(
        &path,
        phrase,
        Protection::Passphrase(pass.clone(), CHEAP),
        1,
    )
    .unwrap();
    let keys = wallet.keys();
    let text = format!(
        "{wallet:?} {:?} {keys:?} {pass:?} {:?} {:?} {:?}",
        wallet.phrase(),
        wallet.phrase().seed(),
        keys.audit_key(RecordIndex(0)),
        Wallet::load(&path).unwrap(),
    );
    assert!(!text.contains("zoo") && !text.contains("sesame"), "{text}");
    let secret_key: String = keys
        .record_key(RecordIndex(0))
        .signing_key()
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(!text.contains(&secret_key[..16]), "{text}");
}

#[test]
fn a_file_others_can_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.json");
    drop(Wallet::create(&path, RecoveryPhrase::generate(), Protection::None, 1).unwrap());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = Wallet::load(&path).unwrap_err().to_string();
    assert!(err.contains("chmod 600"), "{err}");
}

#[test]
fn passphrase_can_be_set_changed_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.json");
    let phrase = RecoveryPhrase::generate();
    let mut wallet = Wallet::create(&path, phrase.clone(), Protection::None, 1).unwrap();
    wallet.set_protection(encrypted("one")).unwrap();
    drop(wallet);
    let mut wallet = Wallet::open(&path)
        .unwrap()
        .unlock(Some(&passphrase("one")))
        .unwrap();
    wallet.set_protection(encrypted("two")).unwrap();
    drop(wallet);
    assert!(
        Wallet::load(&path)
            .unwrap()
            .unlock(Some(&passphrase("one")))
            .is_err()
    );
    let mut wallet = Wallet::open(&path)
        .unwrap()
        .unlock(Some(&passphrase("two")))
        .unwrap();
    wallet.set_protection(Protection::None).unwrap();
    drop(wallet);
    assert_eq!(
        Wallet::load(&path).unwrap().unlock(None).unwrap().phrase(),
        &phrase
    );
}

#[test]
fn damaged_files_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.json");
    drop(
        Wallet::create(
            &path,
            RecoveryPhrase::parse(ZOO).unwrap(),
            Protection::None,
            1,
        )
        .unwrap(),
    );
    let good = std::fs::read_to_string(&path).unwrap();
    let cases = [
        ("", "EOF"),
        ("{}", "missing field `header`"),
        (
            r#"{"header":{"format":"other"}}"#,
            "not say it is a masque wallet",
        ),
        (
            r#"{"header":{"format":"masque-wallet","version":9}}"#,
            "format version 9",
        ),
        (
            &good.replace("\"kind\":\"none\"", "\"kind\":\"rot13\""),
            "unknown variant",
        ),
        (
            &good.replace("zoo vote", "zoo zoo"),
            "recovery phrase is invalid",
        ),
        (
            &good.replace("\"records\":[]", "\"records\":7"),
            "expected a sequence",
        ),
    ];
    for (text, expected) in cases {
        overwrite(&path, text.as_bytes());
        let err = Wallet::load(&path)
            .and_then(|s| s.unlock(None))
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{expected:?} not in {err}");
        assert!(err.contains("w.json") && !err.contains("zoo zoo"), "{err}");
    }
    // A recovery phrase moved into a numeric field is not quoted back.
    let moved = good.replace("\"created_at\":1", &format!("\"created_at\":\"{ZOO}\""));
    overwrite(&path, moved.as_bytes());
    let err = Wallet::load(&path)
        .and_then(|s| s.unlock(None))
        .unwrap_err();
    assert!(
        !err.to_string().contains("zoo") && !format!("{err:?}").contains("zoo"),
        "{err}"
    );
}

#[test]
fn every_single_byte_change_and_every_truncation_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.json");
    drop(Wallet::create(&path, RecoveryPhrase::generate(), encrypted("pw"), 3).unwrap());
    let good = std::fs::read(&path).unwrap();
    let open = || Wallet::load(&path).and_then(|s| s.unlock(Some(&passphrase("pw"))));
    for at in 0..good.len() {
        for flip in [0x01, 0x20, 0x80] {
            let mut bad = good.clone();
            bad[at] ^= flip;
            overwrite(&path, &bad);
            assert!(open().is_err(), "byte {at} ^ {flip:#x} still opens");
        }
        overwrite(&path, &good[..at]);
        assert!(open().is_err(), "truncated to {at} bytes still opens");
    }
    overwrite(&path, &good);
    open().unwrap();
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<i64>().prop_map(serde_json::Value::from),
        ".{0,12}".prop_map(serde_json::Value::from),
        proptest::collection::vec(any::<u32>(), 0..4).prop_map(|v| json!({ "list": v })),
    ]
}

fn stored() -> impl Strategy<Value = StoredItem> {
    (
        "[a-z-]{1,12}",
        proptest::option::of(any::<u32>()),
        any::<u64>(),
        json_value(),
    )
        .prop_map(|(kind, record, stored_at, value)| StoredItem {
            kind,
            record: record.map(RecordIndex),
            stored_at,
            value,
        })
}

fn records() -> impl Strategy<Value = Vec<Record>> {
    proptest::collection::vec(
        (
            proptest::collection::vec(any::<u8>(), 0..40),
            any::<u64>(),
            any::<u64>(),
            json_value(),
        ),
        0..4,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (handle, enrolled_at, ops, details))| Record {
                index: RecordIndex(i as u32),
                handle: OpaqueBytes(handle),
                enrolled_at,
                ops,
                details,
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// state → JSON → encrypted file → decrypted → state, for any state.
    #[test]
    fn any_state_round_trips_through_an_encrypted_file(
        entropy in any::<[u8; 32]>(),
        records in records(),
        consents in proptest::collection::vec(stored(), 0..3),
        credentials in proptest::collection::vec(stored(), 0..3),
        receipts in proptest::collection::vec(stored(), 0..3),
        pass in "[ -~]{1,20}",
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.json");
        let phrase = RecoveryPhrase::from_entropy(&entropy);
        let mut wallet = Wallet::create(&path, phrase.clone(), encrypted(&pass), 9).unwrap();
        for _ in &records {
            wallet.new_record_index().unwrap();
        }
        for record in records {
            wallet.add_record(record).unwrap();
        }
        let state = wallet.state_mut();
        state.consents = consents;
        state.credentials = credentials;
        state.receipts = receipts;
        wallet.save().unwrap();
        let expected = wallet.state().clone();
        drop(wallet);
        let back = Wallet::open(&path).unwrap().unlock(Some(&passphrase(&pass))).unwrap();
        prop_assert_eq!(back.state(), &expected);
        prop_assert_eq!(back.phrase(), &phrase);
    }

    /// Any single changed byte of an encrypted file, and any truncation, is an error.
    #[test]
    fn any_damage_to_an_encrypted_file_is_an_error(
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
        truncate in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.json");
        let mut wallet = Wallet::create(&path, RecoveryPhrase::generate(), encrypted("pw"), 3).unwrap();
        wallet.new_record_index().unwrap();
        wallet.save().unwrap();
        drop(wallet);
        let mut bytes = std::fs::read(&path).unwrap();
        let at = position.index(bytes.len());
        if truncate {
            bytes.truncate(at);
        } else {
            bytes[at] ^= flip;
        }
        overwrite(&path, &bytes);
        let result = Wallet::load(&path).and_then(|s| s.unlock(Some(&passphrase("pw"))));
        prop_assert!(result.is_err());
    }
}
