//! Seeding a generated network with a synthetic population, in bulk.
//!
//! `masque devnet` starts with people already enrolled so the 1:N check has a gallery
//! to search. Running every seeded enrolment through the MPC would take hours for
//! 10,000 people; instead, before the custodians start, the devnet (which generated all
//! their keys, so it plays every role here) deals each person's template into the three
//! custodians' shares, writes each custodian's shares straight into its store (one
//! transaction per batch, the same records in the same order at all three), and appends
//! one `enrol` entry per person, signed by all three custodians, to the log. So every
//! seeded record has its log entry, exactly as if it had been enrolled one by one; what
//! it skips is the uniqueness check (synthetic people are distinct by construction).
//!
//! The seeded people have no wallet: their record and audit keys are random and thrown
//! away.

use crate::node::{StartError, read_hex_key};
use crate::setup::Layout;
use crate::store::{Action, RecordMeta, RedbStore, Store};
use ed25519_dalek::SigningKey;
use masque_mpc::{PartyId, dealer};
use masque_protocol::{
    RequestId,
    audit::audit_tag,
    custodian_name,
    entry::{EntryBody, LogEntry, Operation, Outcome, hour_of},
    request::unix_now,
};
use masque_template::synth::{IrisPopulation, iris::IrisModel};
use masque_tlog::{
    keys::SecretKey,
    log::{CHECKPOINT_KEY, Log},
    storage::{FsStorage, Storage},
};
use std::sync::Arc;

/// People written per transaction.
const BATCH: usize = 500;

fn fail(what: &str, e: impl ToString) -> StartError {
    StartError::File {
        path: what.to_owned(),
        message: e.to_string(),
    }
}

/// Enrols `people` synthetic people (population seed `seed`) in the network of
/// `layout`, whose custodians and log must not be running. `progress` is called after
/// each person.
pub fn seed(
    layout: &Layout,
    people: usize,
    seed: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(), StartError> {
    let stores: Vec<RedbStore> = PartyId::ALL
        .iter()
        .map(|p| {
            let dir = layout
                .node_config(*p)
                .parent()
                .expect("a directory")
                .join("data");
            std::fs::create_dir_all(&dir).map_err(|e| fail(&dir.display().to_string(), e))?;
            Ok(RedbStore::open(&dir.join("custodian.redb"))?)
        })
        .collect::<Result<_, StartError>>()?;
    let keys: Vec<SigningKey> = PartyId::ALL
        .iter()
        .map(|p| {
            let path = layout
                .node_config(*p)
                .parent()
                .expect("a directory")
                .join("signing.key");
            let key = read_hex_key(&path)?;
            Ok(SigningKey::from_bytes(&key))
        })
        .collect::<Result<_, StartError>>()?;
    let keys: [SigningKey; 3] = keys.try_into().expect("one key per custodian");
    let log_key_path = layout.log_dir().join("log.key");
    let log_key_text = masque_files::read_secret(&log_key_path).map_err(|e| fail("log key", e))?;
    let log_key = SecretKey::from_skey(log_key_text.trim()).map_err(|e| fail("log key", e))?;
    let origin = log_key.name().as_str().to_owned();
    let storage =
        Arc::new(FsStorage::writer(layout.log_dir().join("data")).map_err(|e| fail("log", e))?);
    let mut log = if storage
        .read(CHECKPOINT_KEY)
        .map_err(|e| fail("log", e))?
        .is_some()
    {
        Log::open(storage.clone(), &origin, log_key).map_err(|e| fail("log", e))?
    } else {
        Log::create(storage.clone(), &origin, log_key).map_err(|e| fail("log", e))?
    };
    let first_id = stores[0].next_record_id()?;
    for (i, store) in stores.iter().enumerate() {
        if store.next_record_id()? != first_id {
            return Err(fail(
                custodian_name(PartyId::from_index(i)),
                "the custodians' stores hold different records; seed only a fresh network",
            ));
        }
    }
    let population = IrisPopulation::generate(&IrisModel::default(), seed, people, 1, &|| {});
    let hour = hour_of(unix_now());
    let mut done = 0u64;
    for chunk in population.persons.chunks(BATCH) {
        let mut actions: [Vec<Action>; 3] = Default::default();
        let mut entries = Vec::with_capacity(chunk.len());
        for person in chunk {
            let pair = &person.captures[0];
            let gallery_id = first_id + done;
            let mut shares: [Vec<Vec<u8>>; 3] = Default::default();
            for eye in [&pair.left, &pair.right] {
                let dealt = dealer::enrolment_shares(eye);
                for p in PartyId::ALL {
                    shares[p.index()].push(dealt[p.index()].to_bytes());
                }
            }
            let mut record_key = [0u8; 32];
            rand::fill(&mut record_key);
            let mut audit_key = [0u8; 32];
            rand::fill(&mut audit_key);
            for p in PartyId::ALL {
                actions[p.index()].push(Action::Enrol {
                    record_key,
                    meta: RecordMeta {
                        gallery_id,
                        audit_key,
                        operations: 1,
                        enrolled_hour: hour,
                        issued: false,
                        self_match_hour: None,
                    },
                    shares: std::mem::take(&mut shares[p.index()]),
                });
            }
            let body = EntryBody {
                station: Some("devnet-seed".into()),
                audit_tag: Some(hex::encode(audit_tag(&audit_key, 0))),
                ..EntryBody::new(
                    Operation::Enrol,
                    hour,
                    RequestId::random(),
                    Outcome::Enrolled,
                )
            };
            entries.push(LogEntry::signed(body, &keys).to_bytes());
            done += 1;
            progress(done);
        }
        for (store, batch) in stores.iter().zip(actions) {
            store.bulk_enrol(batch)?;
        }
        log.append_batch(&entries).map_err(|e| fail("log", e))?;
    }
    Ok(())
}
