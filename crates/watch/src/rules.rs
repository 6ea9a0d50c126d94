//! Replaying the network's rules over the log, one entry at a time.
//!
//! The rules (DESIGN.md's audit flow, written down in `docs/watch.md`):
//! - every entry is signed by all three custodians: jointly, under their published joint
//!   key, or each with its own published key ([`Rule::RogueCustodian`] when only some
//!   did, [`Rule::UnsignedEntry`] when none did);
//! - every 1:1 check for a service (`op: verify`, `service` set, outcome `match` or
//!   `no-match`) names a consent that an earlier entry granted for that same service,
//!   that no earlier entry revoked, and whose expiry is not before the check's hour
//!   ([`Rule::NoConsent`], [`Rule::ConsentRevoked`], [`Rule::ConsentExpired`]). A check
//!   without a service is the person's own match, signed with their record key, and
//!   needs no consent;
//! - no entry is about a record after that record's deletion ([`Rule::AfterDeletion`]).
//!   Entries of one record are linkable only with its audit key, so this holds for the
//!   records whose keys the watcher was given;
//! - a station with a declared rate logs at most that many operations in one hour
//!   ([`Rule::StationRate`]).
//!
//! Signature checks are independent per entry and run in parallel
//! ([`check_signatures`]); the rules themselves run in log order ([`RuleBook::apply`]).

use std::collections::{HashMap, HashSet};

use ed25519_dalek::Signature;
use masque_protocol::{
    PartyId,
    audit::audit_tag,
    entry::{LogEntry, Operation, Outcome, parse_signature},
    network::CustodianKeys,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::alert::{Alert, Rule, format_hour};

/// An entry after parsing and checking its custodian signatures.
#[derive(Debug, Clone)]
pub struct CheckedEntry {
    /// The parsed entry, or why it does not parse.
    pub entry: Result<LogEntry, String>,
    /// Which custodians (P0, P1, P2) signed it: all three when the joint signature
    /// verifies, else those whose own signature verifies with their published key.
    pub signed_by: [bool; 3],
    /// Whether the three signed it jointly (its joint signature verifies).
    pub joint: bool,
}

/// Signatures verified together in one batch.
const BATCH: usize = 1024;

/// Parses `entries` and checks their signatures, in parallel.
///
/// Signatures are checked in batches of 1,024 (`BATCH`) with ed25519-zebra's batch verifier,
/// which coalesces the terms of one key: the batch is one multiscalar multiplication of
/// about one point per signature (ed25519-dalek's needs two), since every signature is
/// made with one of four keys (the joint key, in what the custodians write, and each
/// custodian's own). A batch that fails is checked again one signature at a time with
/// ed25519-dalek's `verify_strict`, which finds the bad ones; so a signature counts as
/// valid only if it verifies, and every invalid one is found. (Batch verification
/// follows ZIP 215, looser than `verify_strict` on degenerate encodings that only the
/// key's holders can make: no custodian could be framed with them.)
pub fn check_signatures(keys: &CustodianKeys, entries: &[Vec<u8>]) -> Vec<CheckedEntry> {
    let parsed: Vec<(Result<LogEntry, String>, Vec<u8>)> = entries
        .par_iter()
        .map(|bytes| match LogEntry::parse(bytes) {
            Ok(entry) => {
                let message = entry.body.signed_bytes();
                (Ok(entry), message)
            }
            Err(e) => (Err(e.to_string()), Vec::new()),
        })
        .collect();
    // Every signature that decodes: (entry, signer, signature); the signer is a
    // custodian, or `None` for the joint signature.
    let mut claims: Vec<(usize, Option<PartyId>, Signature)> = Vec::new();
    for (i, (entry, _)) in parsed.iter().enumerate() {
        let Ok(entry) = entry else { continue };
        if let Some(joint) = &entry.joint_signature
            && let Ok(signature) = parse_signature("joint_signature", joint)
        {
            claims.push((i, None, signature));
        }
        for s in &entry.signatures {
            if let Ok(signature) = parse_signature("signatures", &s.signature) {
                claims.push((i, Some(s.custodian), signature));
            }
        }
    }
    let key_of = |signer: &Option<PartyId>| match signer {
        Some(party) => &keys.each[party.index()],
        None => &keys.joint,
    };
    let key_bytes = |signer: &Option<PartyId>| {
        ed25519_zebra::VerificationKeyBytes::from(key_of(signer).to_bytes())
    };
    let messages: Vec<&[u8]> = parsed.iter().map(|(_, m)| m.as_slice()).collect();
    let messages = &messages;
    let valid: Vec<bool> = claims
        .par_chunks(BATCH)
        .flat_map_iter(|batch| {
            let mut verifier = ed25519_zebra::batch::Verifier::new();
            for (i, signer, signature) in batch {
                let signature = ed25519_zebra::Signature::from_bytes(&signature.to_bytes());
                verifier.queue((key_bytes(signer), signature, messages[*i]));
            }
            let all = verifier.verify(BatchRng::new()).is_ok();
            batch.iter().map(move |(i, signer, signature)| {
                all || key_of(signer)
                    .verify_strict(messages[*i], signature)
                    .is_ok()
            })
        })
        .collect();
    let mut signed_by = vec![[false; 3]; parsed.len()];
    let mut joint = vec![false; parsed.len()];
    for ((i, signer, _), ok) in claims.iter().zip(valid) {
        match (ok, signer) {
            (false, _) => {}
            (true, Some(party)) => signed_by[*i][party.index()] = true,
            (true, None) => {
                joint[*i] = true;
                signed_by[*i] = [true; 3];
            }
        }
    }
    parsed
        .into_iter()
        .zip(signed_by.into_iter().zip(joint))
        .map(|((entry, _), (signed_by, joint))| CheckedEntry {
            entry,
            signed_by,
            joint,
        })
        .collect()
}

/// The batch verifier's source of the random coefficients that make a forged batch fail:
/// ChaCha20 seeded from the operating system, one per batch. (ed25519-zebra takes a
/// `rand_core` 0.10 generator; the workspace's `rand` is 0.9, so this adapts one.) The
/// coefficients must be unpredictable to whoever wrote the entries, not secret after
/// the check.
struct BatchRng(rand_chacha::ChaCha20Rng);

impl BatchRng {
    fn new() -> Self {
        use rand::SeedableRng;
        BatchRng(rand_chacha::ChaCha20Rng::from_os_rng())
    }
}

impl rand_core_010::TryRng for BatchRng {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(rand::RngCore::next_u32(&mut self.0))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(rand::RngCore::next_u64(&mut self.0))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        rand::RngCore::fill_bytes(&mut self.0, dst);
        Ok(())
    }
}

impl rand_core_010::TryCryptoRng for BatchRng {}

/// [`check_signatures`] for one entry.
pub fn check_one(keys: &CustodianKeys, bytes: &[u8]) -> CheckedEntry {
    match LogEntry::parse(bytes) {
        Err(e) => CheckedEntry {
            entry: Err(e.to_string()),
            signed_by: [false; 3],
            joint: false,
        },
        Ok(entry) => {
            let joint = entry
                .joint_signature
                .as_ref()
                .is_some_and(|s| entry.body.verify_joint(s, &keys.joint).is_ok());
            let signed_by = PartyId::ALL.map(|p| {
                joint
                    || entry.signatures.iter().any(|s| {
                        s.custodian == p
                            && entry
                                .body
                                .verify_signature(s, &keys.each[p.index()])
                                .is_ok()
                    })
            });
            CheckedEntry {
                entry: Ok(entry),
                signed_by,
                joint,
            }
        }
    }
}

/// A consent as the log has shown it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    /// Index of the entry that granted it.
    pub granted_at: u64,
    /// The service it names.
    pub service: String,
    /// Its expiry (Unix seconds).
    pub not_after: u64,
    /// Index of the entry that revoked it.
    pub revoked_at: Option<u64>,
}

/// One record followed by its audit key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedRecord {
    /// Operations seen (the `n` of the next audit tag).
    pub next_n: u64,
    /// Index of its deletion entry.
    pub deleted_at: Option<u64>,
}

/// A station's operations in its current hour.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationHour {
    /// The hour.
    pub hour: u64,
    /// Entry indexes in that hour (at most the declared rate + 1 are kept).
    pub entries: Vec<u64>,
}

/// What the rules remember between entries (persisted by the store).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RuleState {
    /// Stations' current hours (only stations with a declared rate).
    pub station_hours: HashMap<String, StationHour>,
    /// Records followed by audit key, in the order of the keys.
    pub records: Vec<TrackedRecord>,
}

/// The network's rules, with what they need to know.
pub struct RuleBook {
    keys: CustodianKeys,
    rates: HashMap<String, u32>,
    audit_keys: Vec<Zeroizing<[u8; 32]>>,
    /// The next expected audit tag of each followed record → its position.
    expected: HashMap<[u8; 32], usize>,
}

impl std::fmt::Debug for RuleBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleBook")
            .field("rates", &self.rates)
            .field("audit_keys", &self.audit_keys.len())
            .finish_non_exhaustive()
    }
}

/// Consents seen so far: looked up by id, with the ids changed since the last save.
#[derive(Debug, Default)]
pub struct Consents {
    /// Every granted consent.
    pub map: HashMap<String, ConsentRecord>,
    /// Ids added or changed since [`Consents::take_dirty`].
    dirty: HashSet<String>,
}

impl Consents {
    /// Consents loaded from storage.
    pub fn from_map(map: HashMap<String, ConsentRecord>) -> Self {
        Self {
            map,
            dirty: HashSet::new(),
        }
    }

    /// The ids changed since the last call, with their records.
    pub fn take_dirty(&mut self) -> Vec<(String, ConsentRecord)> {
        self.dirty
            .drain()
            .filter_map(|id| self.map.get(&id).map(|c| (id.clone(), c.clone())))
            .collect()
    }
}

impl RuleBook {
    /// Rules for a network with these custodian keys, declared station rates and the
    /// audit keys of records to follow.
    pub fn new(
        keys: CustodianKeys,
        rates: HashMap<String, u32>,
        audit_keys: Vec<Zeroizing<[u8; 32]>>,
    ) -> Self {
        Self {
            keys,
            rates,
            audit_keys,
            expected: HashMap::new(),
        }
    }

    /// The custodians' keys.
    pub fn keys(&self) -> &CustodianKeys {
        &self.keys
    }

    /// The declared rates.
    pub fn rates(&self) -> &HashMap<String, u32> {
        &self.rates
    }

    /// The audit keys followed.
    pub fn audit_keys(&self) -> &[Zeroizing<[u8; 32]>] {
        &self.audit_keys
    }

    /// Prepares the expected tags from `state` (after loading or creating it); adds
    /// records for audit keys added since it was saved.
    pub fn attach(&mut self, state: &mut RuleState) {
        state.records.resize(
            self.audit_keys.len().max(state.records.len()),
            TrackedRecord::default(),
        );
        self.expected.clear();
        for (i, key) in self.audit_keys.iter().enumerate() {
            let n = state.records[i].next_n;
            self.expected.insert(audit_tag(key, n), i);
        }
    }

    /// Applies the rules to entry `index`; returns the alerts it raises.
    pub fn apply(
        &mut self,
        index: u64,
        checked: &CheckedEntry,
        state: &mut RuleState,
        consents: &mut Consents,
    ) -> Vec<Alert> {
        let mut alerts = Vec::new();
        let entry = match &checked.entry {
            Ok(entry) => entry,
            Err(message) => {
                let mut alert = Alert::new(
                    Rule::MalformedEntry,
                    index,
                    format!("Entry {index} is not a masque log entry: {message}."),
                );
                alert.entries = vec![index];
                alerts.push(alert);
                return alerts;
            }
        };
        let body = &entry.body;
        // Only an alert needs the entry in words.
        let what = || describe(entry);
        let mut raise = |rule: Rule, summary: String, entries: Vec<u64>| {
            let mut alert = Alert::new(rule, index, summary);
            alert.station = body.station.clone();
            alert.service = body.service.clone();
            alert.hour = body.hour;
            alert.entries = entries;
            alerts.push(alert);
        };

        // Signatures.
        let signers: Vec<String> = PartyId::ALL
            .iter()
            .filter(|p| checked.signed_by[p.index()])
            .map(PartyId::to_string)
            .collect();
        let missing: Vec<String> = PartyId::ALL
            .iter()
            .filter(|p| !checked.signed_by[p.index()])
            .map(PartyId::to_string)
            .collect();
        if signers.is_empty() {
            raise(
                Rule::UnsignedEntry,
                format!(
                    "Entry {index} ({}) carries no valid custodian signature (neither the \
                     custodians' joint one nor any custodian's own): the log took an entry no \
                     custodian vouches for.",
                    what()
                ),
                vec![index],
            );
        } else if !missing.is_empty() {
            raise(
                Rule::RogueCustodian,
                format!(
                    "Entry {index} ({}) is signed by {} but not by {}: a custodian wrote to \
                     the log without the others.",
                    what(),
                    signers.join(" and "),
                    missing.join(" and ")
                ),
                vec![index],
            );
        }

        // Consents.
        match (body.op, body.outcome) {
            (Operation::ConsentGrant, Outcome::Granted) => {
                if let (Some(id), Some(service), Some(not_after)) =
                    (&body.consent, &body.service, body.consent_not_after)
                    && !consents.map.contains_key(&id.0)
                {
                    consents.map.insert(
                        id.0.clone(),
                        ConsentRecord {
                            granted_at: index,
                            service: service.clone(),
                            not_after,
                            revoked_at: None,
                        },
                    );
                    consents.dirty.insert(id.0.clone());
                }
            }
            (Operation::ConsentRevoke, Outcome::Revoked) => {
                if let Some(id) = &body.consent
                    && let Some(record) = consents.map.get_mut(&id.0)
                    && record.revoked_at.is_none()
                {
                    record.revoked_at = Some(index);
                    consents.dirty.insert(id.0.clone());
                }
            }
            (Operation::Verify, Outcome::Match | Outcome::NoMatch) if body.service.is_some() => {
                let service = body.service.as_deref().unwrap_or_default();
                let hour = format_hour(body.hour);
                match body
                    .consent
                    .as_ref()
                    .map(|id| (id, consents.map.get(&id.0)))
                {
                    None => raise(
                        Rule::NoConsent,
                        format!(
                            "Entry {index}: a 1:1 check for {service} at {hour} names no consent."
                        ),
                        vec![index],
                    ),
                    Some((id, None)) => raise(
                        Rule::NoConsent,
                        format!(
                            "Entry {index}: a 1:1 check for {service} at {hour} under consent {}, \
                             which no earlier entry granted.",
                            short(&id.0)
                        ),
                        vec![index],
                    ),
                    Some((id, Some(c))) if c.service != service => raise(
                        Rule::NoConsent,
                        format!(
                            "Entry {index}: a 1:1 check for {service} at {hour} under consent {}, \
                             which was granted to {} (entry {}).",
                            short(&id.0),
                            c.service,
                            c.granted_at
                        ),
                        vec![c.granted_at, index],
                    ),
                    Some((id, Some(c))) if c.revoked_at.is_some() => {
                        let revoked = c.revoked_at.unwrap_or_default();
                        raise(
                            Rule::ConsentRevoked,
                            format!(
                                "Entry {index}: a 1:1 check for {service} at {hour} under consent \
                                 {}, revoked at entry {revoked}.",
                                short(&id.0)
                            ),
                            vec![c.granted_at, revoked, index],
                        )
                    }
                    Some((id, Some(c))) if body.hour > c.not_after => raise(
                        Rule::ConsentExpired,
                        format!(
                            "Entry {index}: a 1:1 check for {service} at {hour} under consent {}, \
                             which expired at {}.",
                            short(&id.0),
                            format_hour(c.not_after - c.not_after % 3600)
                        ),
                        vec![c.granted_at, index],
                    ),
                    Some(_) => {}
                }
            }
            _ => {}
        }

        // Records followed by audit key.
        if !self.expected.is_empty()
            && let Some(tag) = body.audit_tag.as_deref().and_then(parse_tag)
            && let Some(i) = self.expected.remove(&tag)
        {
            let record = &mut state.records[i];
            if let Some(deleted) = record.deleted_at {
                let mut alert = Alert::new(
                    Rule::AfterDeletion,
                    index,
                    format!(
                        "Entry {index} ({}) is about a record deleted at entry {deleted} \
                         (found with audit key {}).",
                        what(),
                        i + 1
                    ),
                );
                alert.station = body.station.clone();
                alert.service = body.service.clone();
                alert.hour = body.hour;
                alert.entries = vec![deleted, index];
                alert.audit_key = Some(i);
                alerts.push(alert);
            }
            if body.op == Operation::Delete && body.outcome == Outcome::Deleted {
                record.deleted_at.get_or_insert(index);
            }
            record.next_n += 1;
            self.expected
                .insert(audit_tag(&self.audit_keys[i], record.next_n), i);
        }

        // Declared station rates.
        if let Some(station) = &body.station
            && let Some(&rate) = self.rates.get(station)
        {
            let current = state.station_hours.entry(station.clone()).or_default();
            if body.hour > current.hour {
                *current = StationHour {
                    hour: body.hour,
                    entries: Vec::new(),
                };
            }
            if body.hour == current.hour && current.entries.len() <= rate as usize {
                current.entries.push(index);
                if current.entries.len() == rate as usize + 1 {
                    let entries = current.entries.clone();
                    let mut alert = Alert::new(
                        Rule::StationRate,
                        index,
                        format!(
                            "Station {station} logged more than its declared {rate} operations \
                             in the hour from {}.",
                            format_hour(body.hour)
                        ),
                    );
                    alert.station = Some(station.clone());
                    alert.hour = body.hour;
                    alert.entries = entries;
                    alerts.push(alert);
                }
            }
        }
        alerts
    }
}

/// `abcdef12…`: the first 8 hex digits of an id.
pub fn short(id: &str) -> String {
    format!("{}…", id.get(..8).unwrap_or(id))
}

fn parse_tag(hex_tag: &str) -> Option<[u8; 32]> {
    let mut tag = [0u8; 32];
    hex::decode_to_slice(hex_tag, &mut tag).ok()?;
    Some(tag)
}

/// An entry in a few words: `verify for shop.example, match`.
pub fn describe(entry: &LogEntry) -> String {
    let b = &entry.body;
    let op = serde_json::to_value(b.op)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let outcome = serde_json::to_value(b.outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut text = op;
    if let Some(service) = &b.service {
        text.push_str(&format!(" for {service}"));
    }
    if let Some(station) = &b.station {
        text.push_str(&format!(" at station {station}"));
    }
    text.push_str(&format!(", {outcome}"));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{Stream, SynthKeys};
    use ed25519_dalek::{Signer, SigningKey};
    use masque_protocol::entry::EntryBody;
    use proptest::prelude::*;

    fn keys() -> SynthKeys {
        SynthKeys::from_seeds([[1; 32], [2; 32], [3; 32]], [4; 32])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        /// Oracle: the batched check gives exactly what one check per entry gives, with
        /// forged and garbled joint signatures, entries signed one custodian at a time
        /// (all three, some, a rogue key, the wrong order) and changed bodies sprinkled
        /// over a stream.
        #[test]
        fn batched_checks_equal_one_by_one_checks(seed: u64, damage in proptest::collection::vec((0usize..700, 0u8..8), 0..40)) {
            let keys = keys();
            let public = keys.public();
            let mut stream = Stream::new(keys.clone(), 4, seed, 1_796_000_400);
            let mut entries = stream.benign(600);
            entries.push(b"not json".to_vec());
            let rogue = SigningKey::from_bytes(&[9; 32]);
            for (at, kind) in damage {
                let at = at % entries.len();
                let Ok(mut entry) = LogEntry::parse(&entries[at]) else { continue };
                let each = LogEntry::signed(entry.body.clone(), &keys.each).signatures;
                match kind {
                    0 => entry.joint_signature = Some(hex::encode(rogue.sign(&entry.body.signed_bytes()).to_bytes())),
                    1 => entry.joint_signature = Some("zz".into()),
                    2 => { entry.joint_signature = None; entry.signatures = each; }
                    3 => { entry.joint_signature = None; entry.signatures = vec![each[1].clone()]; }
                    4 => {
                        entry.joint_signature = None;
                        entry.signatures = each;
                        entry.signatures[0] = entry.body.sign(PartyId::P0, &rogue);
                    }
                    5 => { entry.joint_signature = None; entry.signatures = each; entry.signatures.swap(0, 2); }
                    6 => { entry.joint_signature = None; entry.signatures.clear(); }
                    _ => entry.body.hour += 3600,
                }
                entries[at] = entry.to_bytes();
            }
            let batched = check_signatures(&public, &entries);
            for (bytes, b) in entries.iter().zip(&batched) {
                let one = check_one(&public, bytes);
                prop_assert_eq!(one.signed_by, b.signed_by);
                prop_assert_eq!(one.joint, b.joint);
                prop_assert_eq!(one.entry.is_ok(), b.entry.is_ok());
            }
        }
    }

    #[test]
    fn a_joint_signature_counts_for_all_three_and_only_under_the_joint_key() {
        let keys = keys();
        let public = keys.public();
        let mut stream = Stream::new(keys.clone(), 2, 1, 1_796_000_400);
        let good = stream.body(Operation::Verify, Outcome::NoMatch);
        let good = stream.sign(good);
        let body = stream.body(Operation::Verify, Outcome::Match);
        // P0's own key standing in for the joint key: not the custodians' joint signature.
        let forged =
            LogEntry::jointly_signed(body.clone(), &keys.each[0].sign(&body.signed_bytes()));
        let checked = check_signatures(&public, &[good, forged.to_bytes()]);
        assert!(checked[0].joint);
        assert_eq!(checked[0].signed_by, [true; 3]);
        assert!(!checked[1].joint);
        assert_eq!(checked[1].signed_by, [false; 3]);
        let mut book = RuleBook::new(public, HashMap::new(), Vec::new());
        let alerts = book.apply(
            1,
            &checked[1],
            &mut RuleState::default(),
            &mut Consents::default(),
        );
        assert_eq!(alerts[0].rule, Rule::UnsignedEntry);
    }

    #[test]
    fn an_entry_signed_by_one_custodian_alone_is_flagged_by_name() {
        let keys = keys();
        let public = keys.public();
        let mut stream = Stream::new(keys.clone(), 2, 1, 1_796_000_400);
        let body: EntryBody = stream.body(Operation::Verify, Outcome::Match);
        let rogue = SigningKey::from_bytes(&[9; 32]);
        let entry = LogEntry {
            signatures: vec![
                body.sign(PartyId::P0, &rogue),
                body.sign(PartyId::P1, &keys.each[1]),
                body.sign(PartyId::P2, &rogue),
            ],
            joint_signature: None,
            body,
        };
        let checked = check_signatures(&public, &[entry.to_bytes()]);
        assert_eq!(checked[0].signed_by, [false, true, false]);
        let mut book = RuleBook::new(public, HashMap::new(), Vec::new());
        let alerts = book.apply(
            0,
            &checked[0],
            &mut RuleState::default(),
            &mut Consents::default(),
        );
        assert_eq!(alerts[0].rule, Rule::RogueCustodian);
        assert!(
            alerts[0]
                .summary
                .contains("signed by P1 but not by P0 and P2"),
            "{}",
            alerts[0].summary
        );
    }
}
