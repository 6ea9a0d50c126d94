//! The redb store against its definition: commits apply exactly once, aborts leave
//! nothing, the gallery order follows the MPC gallery's swap-remove, replays are seen.

use super::*;
use masque_protocol::entry::{EntryBody, Operation, Outcome};
use proptest::prelude::*;

fn body(id: RequestId) -> EntryBody {
    EntryBody::new(Operation::Enrol, 0, id, Outcome::Enrolled)
}

fn enrol(store: &RedbStore, n: u8, gallery_id: u64) -> [u8; 32] {
    let id = RequestId([n; 16]);
    let record_key = [n; 32];
    store
        .prepare(&Prepared {
            request_id: id,
            sequence: n as u64,
            prepared_at: 0,
            action: Action::Enrol {
                record_key,
                meta: RecordMeta {
                    gallery_id,
                    audit_key: [n; 32],
                    operations: 1,
                    enrolled_hour: 0,
                    issued: false,
                    self_match_hour: None,
                },
                shares: vec![vec![n; 8], vec![n; 4]],
            },
            entry: body(id),
            issued: None,
        })
        .unwrap();
    store.commit(&id).unwrap();
    record_key
}

fn delete(store: &RedbStore, n: u8, record_key: [u8; 32], gallery_id: u64) {
    let id = RequestId([n; 16]);
    store
        .prepare(&Prepared {
            request_id: id,
            sequence: n as u64,
            prepared_at: 0,
            action: Action::Delete {
                record_key,
                gallery_id,
            },
            entry: body(id),
            issued: None,
        })
        .unwrap();
    store.commit(&id).unwrap();
}

fn order(store: &RedbStore) -> Vec<u64> {
    let mut ids = Vec::new();
    store
        .for_each_record(&mut |r| {
            ids.push(r.gallery_id);
            Ok(())
        })
        .unwrap();
    ids
}

#[test]
fn commit_applies_once_abort_leaves_nothing_and_state_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    {
        let store = RedbStore::open(&path).unwrap();
        let key = enrol(&store, 1, 0);
        assert!(matches!(
            store.commit(&RequestId([1; 16])),
            Err(StoreError::NotPrepared(_))
        ));
        let id = RequestId([2; 16]);
        store
            .prepare(&Prepared {
                request_id: id,
                sequence: 2,
                prepared_at: 0,
                action: Action::Touch { record_key: key },
                entry: body(id),
                issued: None,
            })
            .unwrap();
        assert_eq!(store.prepared().unwrap().len(), 1);
        store.abort(&id).unwrap();
        assert!(store.prepared().unwrap().is_empty());
        assert_eq!(store.record(&key).unwrap().unwrap().operations, 1);
        store.decide(&id, Decision::Abort, None).unwrap();
        store
            .decide(&RequestId([1; 16]), Decision::Commit, Some(b"entry"))
            .unwrap();
        assert!(store.first_sight(&id, 10).unwrap());
        assert!(!store.first_sight(&id, 11).unwrap());
        assert_eq!(store.take_sequence().unwrap(), 1);
        assert_eq!(store.take_sequence().unwrap(), 2);
    }
    let store = RedbStore::open(&path).unwrap();
    assert_eq!(store.record_count().unwrap(), 1);
    assert_eq!(store.next_record_id().unwrap(), 1);
    assert_eq!(
        store.decision(&RequestId([2; 16])).unwrap(),
        Some(Decision::Abort)
    );
    assert_eq!(
        store.queued_entries().unwrap(),
        vec![(RequestId([1; 16]), b"entry".to_vec())]
    );
    store.entry_appended(&RequestId([1; 16]), 7).unwrap();
    assert!(store.queued_entries().unwrap().is_empty());
    assert_eq!(store.entry_index(&RequestId([1; 16])).unwrap(), Some(7));
    assert!(
        !store.first_sight(&RequestId([2; 16]), 12).unwrap(),
        "seen ids survive a restart"
    );
    assert_eq!(
        store.take_sequence().unwrap(),
        3,
        "sequence numbers are never handed out twice"
    );
    assert_eq!(store.forget_seen_before(11).unwrap(), 1);
}

#[test]
fn deletion_drops_shares_metadata_and_consents() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(&dir.path().join("s.redb")).unwrap();
    let key = enrol(&store, 1, 0);
    delete(&store, 2, key, 0);
    assert!(store.record(&key).unwrap().is_none());
    assert_eq!(store.record_count().unwrap(), 0);
    assert!(order(&store).is_empty());
    store.compact().unwrap();
    assert_eq!(
        store.next_record_id().unwrap(),
        1,
        "a deleted id is never reused"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// The stored order is the MPC gallery's order after any inserts and deletes, so a
    /// restarted custodian reloads the layout its peers still have in memory.
    #[test]
    fn stored_order_matches_the_mpc_gallerys_swap_remove(ops in proptest::collection::vec(any::<(bool, u8)>(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(&dir.path().join("s.redb")).unwrap();
        let mut oracle: Vec<u64> = Vec::new();
        let mut keys = std::collections::HashMap::new();
        let mut next = 0u64;
        for (n, (insert, pick)) in ops.into_iter().enumerate() {
            let n = (n % 250) as u8 + 1;
            if insert || oracle.is_empty() {
                let key = enrol(&store, n, next);
                keys.insert(next, key);
                oracle.push(next);
                next += 1;
            } else {
                let slot = pick as usize % oracle.len();
                let gid = oracle.swap_remove(slot);
                delete(&store, n, keys[&gid], gid);
            }
            prop_assert_eq!(order(&store), oracle.clone());
        }
    }
}
