use super::*;

fn pseudonym(byte: u8) -> Pseudonym {
    // Any 48 bytes deserialise; the store treats pseudonyms as opaque keys.
    let b64: String = std::iter::repeat_n(char::from(b'A' + byte % 26), 64).collect();
    serde_json::from_value(serde_json::Value::String(b64)).unwrap()
}

fn round(number: u64) -> RoundInfo {
    RoundInfo {
        number,
        opened_at: Timestamp(1_800_000_000 + number),
        enrolled_before: EnrolmentQuarter::new(2026, 3).ok(),
    }
}

#[test]
fn claims_are_unique_per_round_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("desk.redb");
    let store = DeskStore::open(&path).unwrap();
    assert_eq!(store.current_round().unwrap(), None);
    store.open_round(&round(1)).unwrap();
    let (a, b) = (pseudonym(0), pseudonym(1));
    assert_eq!(store.record_claim(1, &a).unwrap(), ClaimOutcome::Claimed(1));
    assert_eq!(store.record_claim(1, &b).unwrap(), ClaimOutcome::Claimed(2));
    assert_eq!(store.record_claim(1, &a).unwrap(), ClaimOutcome::Duplicate);
    drop(store);

    let store = DeskStore::open(&path).unwrap();
    assert_eq!(store.current_round().unwrap(), Some(round(1)));
    assert_eq!(store.record_claim(1, &a).unwrap(), ClaimOutcome::Duplicate);
    assert_eq!(store.counter(1, Counter::Claims).unwrap(), 2);
    assert_eq!(store.counter(1, Counter::Duplicates).unwrap(), 2);
    store.open_round(&round(2)).unwrap();
    // The old round is closed: nothing is recorded in it any more.
    assert_eq!(
        store.record_claim(1, &pseudonym(5)).unwrap(),
        ClaimOutcome::RoundClosed { current: 2 }
    );
    assert!(!store.has_claimed(1, &pseudonym(5)).unwrap());
    assert_eq!(store.record_claim(2, &a).unwrap(), ClaimOutcome::Claimed(1));
    assert_eq!(store.total_claims().unwrap(), 3);
    store.count(2, Counter::Invalid).unwrap();
    assert_eq!(store.counter(2, Counter::Invalid).unwrap(), 1);
}

#[test]
fn rounds_open_in_order_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = DeskStore::open(&dir.path().join("desk.redb")).unwrap();
    assert!(store.open_round(&round(2)).is_err());
    store.open_round(&round(1)).unwrap();
    assert!(store.open_round(&round(1)).is_err());
    assert!(store.open_round(&round(3)).is_err());
    store.open_round(&round(2)).unwrap();
    assert_eq!(store.round(1).unwrap(), Some(round(1)));
    assert_eq!(store.current_round().unwrap().unwrap().number, 2);
}

#[test]
fn a_second_process_cannot_open_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("desk.redb");
    let _first = DeskStore::open(&path).unwrap();
    let e = DeskStore::open(&path).unwrap_err().to_string();
    assert!(e.contains("another aid desk"), "{e}");
}
