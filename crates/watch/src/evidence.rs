//! Evidence bundles: what an alert rests on, in a form anyone can check offline with
//! nothing but the network's public keys (the log's and witnesses' keys in its policy,
//! the custodians' joint key and their own).
//!
//! Format `masque-evidence/v1` (one JSON object, documented in `docs/watch.md`):
//! the alert's id and rule, a signed and cosigned checkpoint, the entries behind the
//! alert each with its inclusion proof against that checkpoint, and per rule what else
//! it needs: the conflicting checkpoint notes of a fork (with a consistency proof when
//! the sizes differ), or the audit key that links a deleted record's entries.
//!
//! [`check`] re-derives everything from those bytes and says in plain words what they
//! prove. Nothing in a bundle is taken on trust: there is no free-text claim in it, and
//! any change to any byte makes [`check`] fail with the reason. What a bundle cannot
//! prove (an absence, such as "no entry ever granted this consent", or a detector's
//! statistical judgement over the whole log) is said as such, apart from what it proves.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use masque_protocol::PartyId;
use masque_protocol::audit::audit_tag;
use masque_protocol::entry::{LogEntry, Operation, Outcome};
use masque_protocol::network::NetworkDescription;
use masque_tlog::hash::{Hash, leaf_hash};
use masque_tlog::tree::{verify_consistency, verify_inclusion};
use masque_tlog::verifier::{VerifiedCheckpoint, verify_checkpoint};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::WatchError;
use crate::alert::{Alert, Rule, format_hour};
use crate::follow::{network_policy, network_rules};
use crate::proofs;
use crate::rules::{CheckedEntry, check_one, describe, short};
use crate::store::Store;

/// The format name and version.
pub const FORMAT: &str = "masque-evidence/v1";

/// A bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// [`FORMAT`].
    pub format: String,
    /// The alert's id.
    pub id: String,
    /// The rule broken or the detector that fired.
    pub rule: Rule,
    /// A checkpoint (signed note) that includes every entry below.
    pub checkpoint: String,
    /// The entries behind the alert, ascending.
    pub entries: Vec<ProvenEntry>,
    /// Fork: the other checkpoint(s). Bad log: the checkpoint that did not verify.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Fork between different sizes: the watcher's root at the other note's size,
    /// proved consistent with `checkpoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<Consistency>,
    /// After deletion: the record's audit key and the operation number of each entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditLink>,
}

/// One entry with its inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenEntry {
    /// Its index in the log.
    pub index: u64,
    /// The entry bytes, base64.
    pub entry: String,
    /// Inclusion proof hashes, base64.
    pub proof: Vec<String>,
}

/// A root at an earlier size, proved consistent with the bundle's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consistency {
    /// The earlier size.
    pub old_size: u64,
    /// The root at it, base64.
    pub old_root: String,
    /// Consistency proof hashes, base64.
    pub proof: Vec<String>,
}

/// What links entries to one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditLink {
    /// The record's audit key, 64 lowercase hex digits. Whoever has the bundle can find
    /// every entry about this record.
    pub key: String,
    /// The operation number `n` of each entry's audit tag, in the order of `entries`.
    pub n: Vec<u64>,
}

/// What a bundle proves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The alert's id.
    pub id: String,
    /// The rule.
    pub rule: Rule,
    /// Facts established by signatures and proofs, in plain words.
    pub proves: Vec<String>,
    /// What the bundle cannot establish by itself, said plainly.
    pub does_not_prove: Vec<String>,
}

fn b64(h: &Hash) -> String {
    h.to_base64()
}

/// Builds the bundle of `alert` from the watcher's store. `audit_keys` are the
/// watcher's (needed for after-deletion alerts).
pub fn export(
    store: &Store,
    alert: &Alert,
    audit_keys: &[Zeroizing<[u8; 32]>],
) -> Result<Bundle, WatchError> {
    let state = store.state()?;
    let checkpoint = state
        .checkpoint
        .clone()
        .ok_or_else(|| WatchError::NotFound("the watcher has verified no checkpoint yet".into()))?;
    let size = state.frontier.size();
    let needs_leaves = !alert.entries.is_empty() || alert.rule == Rule::Fork;
    let leaves = if needs_leaves {
        proofs::leaves(store, size)?
    } else {
        Vec::new()
    };
    let mut entries = Vec::new();
    for &index in &alert.entries {
        let bytes = store
            .entries(index, 1)?
            .pop()
            .ok_or_else(|| WatchError::NotFound(format!("entry {index} is not stored")))?;
        entries.push(ProvenEntry {
            index,
            entry: B64.encode(&bytes),
            proof: proofs::inclusion(&leaves, index)?.iter().map(b64).collect(),
        });
    }
    let mut bundle = Bundle {
        format: FORMAT.into(),
        id: alert.id.clone(),
        rule: alert.rule,
        checkpoint,
        entries,
        notes: Vec::new(),
        consistency: None,
        audit: None,
    };
    match alert.rule {
        Rule::Fork => {
            // notes[0] is the watcher's view when it was raised, notes[1] the other.
            let other = alert.notes.get(1).cloned().unwrap_or_default();
            let other_size = crate::follow::parse_note(&other).map_or(0, |c| c.size());
            let ours = crate::follow::parse_note(&alert.notes[0]).map(|c| c.size());
            if ours == Some(other_size) {
                bundle.checkpoint = alert.notes[0].clone();
            } else {
                bundle.consistency = Some(Consistency {
                    old_size: other_size,
                    old_root: b64(&masque_tlog::reference::root(
                        &leaves[..other_size as usize],
                    )),
                    proof: proofs::consistency(&leaves, other_size)?
                        .iter()
                        .map(b64)
                        .collect(),
                });
            }
            bundle.notes = vec![other];
        }
        Rule::BadLog => bundle.notes = alert.notes.clone(),
        Rule::AfterDeletion => {
            let key = alert
                .audit_key
                .and_then(|i| audit_keys.get(i))
                .ok_or_else(|| {
                    WatchError::input(
                        "audit keys",
                        "this alert was found with an audit key the watcher no longer has; \
                         start it with the same --audit-key files",
                    )
                })?;
            let mut n = Vec::new();
            for e in &bundle.entries {
                let entry = LogEntry::parse(&B64.decode(&e.entry).unwrap_or_default())
                    .map_err(|x| WatchError::Evidence(x.to_string()))?;
                let tag = entry.body.audit_tag.unwrap_or_default();
                let found = (0..1_000_000u64)
                    .find(|k| hex::encode(audit_tag(key, *k)) == tag)
                    .ok_or_else(|| WatchError::Evidence("an entry's audit tag".into()))?;
                n.push(found);
            }
            bundle.audit = Some(AuditLink {
                key: hex::encode(key.as_slice()),
                n,
            });
        }
        _ => {}
    }
    Ok(bundle)
}

fn fail(message: impl Into<String>) -> WatchError {
    WatchError::Evidence(message.into())
}

fn hash64(text: &str, what: &str) -> Result<Hash, WatchError> {
    B64.decode(text)
        .ok()
        .and_then(|b| Hash::from_slice(&b))
        .ok_or_else(|| fail(format!("{what} is not a 32-byte base64 hash")))
}

fn cosigned(c: &VerifiedCheckpoint) -> String {
    let names: Vec<&str> = c.cosigners.iter().map(|(n, _)| n.as_str()).collect();
    if names.is_empty() {
        format!("size {}", c.checkpoint.size())
    } else {
        format!(
            "size {}, cosigned by {}",
            c.checkpoint.size(),
            names.join(", ")
        )
    }
}

/// A checked entry of a bundle.
struct Shown {
    index: u64,
    checked: CheckedEntry,
}

impl Shown {
    fn entry(&self) -> Result<&LogEntry, WatchError> {
        self.checked
            .entry
            .as_ref()
            .map_err(|e| fail(format!("entry {} does not parse: {e}", self.index)))
    }

    fn signers(&self) -> String {
        let names: Vec<String> = PartyId::ALL
            .iter()
            .filter(|p| self.checked.signed_by[p.index()])
            .map(ToString::to_string)
            .collect();
        match names.len() {
            0 => "no custodian".into(),
            3 if self.checked.joint => "all three custodians (P0, P1, P2), jointly".into(),
            3 => "all three custodians (P0, P1, P2)".into(),
            _ => format!("custodian {} alone", names.join(" and ")),
        }
    }
}

/// Checks a bundle against `network`'s public keys; what it proves, or why it fails.
pub fn check(bytes: &[u8], network: &NetworkDescription) -> Result<Verdict, WatchError> {
    let bundle: Bundle =
        serde_json::from_slice(bytes).map_err(|e| fail(format!("not a {FORMAT} bundle: {e}")))?;
    if bundle.format != FORMAT {
        return Err(fail(format!(
            "format {:?} is not known (this build reads {FORMAT})",
            bundle.format
        )));
    }
    let policy = network_policy(network)?;
    let rules = network_rules(network, Vec::new());
    let checkpoint = verify_checkpoint(&policy, bundle.checkpoint.as_bytes())
        .map_err(|e| fail(format!("its checkpoint does not verify: {e}")))?;
    let size = checkpoint.checkpoint.size();
    let root = *checkpoint.checkpoint.root();
    let mut shown = Vec::new();
    let mut last = None;
    for e in &bundle.entries {
        if last.is_some_and(|l| e.index <= l) {
            return Err(fail("entries are not in ascending order"));
        }
        last = Some(e.index);
        let bytes = B64
            .decode(&e.entry)
            .map_err(|_| fail(format!("entry {} is not base64", e.index)))?;
        let proof = e
            .proof
            .iter()
            .map(|h| hash64(h, "an inclusion proof hash"))
            .collect::<Result<Vec<_>, _>>()?;
        verify_inclusion(&leaf_hash(&bytes), e.index, size, &proof, &root).map_err(|x| {
            fail(format!(
                "entry {} is not in the log at the checkpoint: {x}",
                e.index
            ))
        })?;
        shown.push(Shown {
            index: e.index,
            checked: check_one(rules.keys(), &bytes),
        });
    }
    if bundle.rule != Rule::AfterDeletion && bundle.audit.is_some() {
        return Err(fail("an audit key is only part of after-deletion evidence"));
    }
    if !matches!(bundle.rule, Rule::Fork | Rule::BadLog) && !bundle.notes.is_empty() {
        return Err(fail("extra checkpoint notes"));
    }
    if bundle.rule != Rule::Fork && bundle.consistency.is_some() {
        return Err(fail("a consistency proof is only part of fork evidence"));
    }
    let expect_id = |key: u64| {
        let id = format!("{}-{key}", bundle.rule.name());
        if bundle.id == id {
            Ok(())
        } else {
            Err(fail(format!("its id {:?} should be {id:?}", bundle.id)))
        }
    };
    let at = format!("in the log at {}", cosigned(&checkpoint));
    let mut proves = Vec::new();
    let mut does_not_prove = Vec::new();
    let last_index = shown.last().map(|s| s.index);
    match bundle.rule {
        Rule::Fork => {
            let [other] = bundle.notes.as_slice() else {
                return Err(fail("fork evidence carries exactly one other checkpoint"));
            };
            let other = verify_checkpoint(&policy, other.as_bytes())
                .map_err(|e| fail(format!("the other checkpoint does not verify: {e}")))?;
            let other_size = other.checkpoint.size();
            expect_id(other_size)?;
            let our_root = match &bundle.consistency {
                None if other_size == size => root,
                None => {
                    return Err(fail(
                        "checkpoints of different sizes need a consistency proof",
                    ));
                }
                Some(c) => {
                    if c.old_size != other_size {
                        return Err(fail("the consistency proof is for another size"));
                    }
                    let old_root = hash64(&c.old_root, "the earlier root")?;
                    let proof = c
                        .proof
                        .iter()
                        .map(|h| hash64(h, "a consistency proof hash"))
                        .collect::<Result<Vec<_>, _>>()?;
                    verify_consistency(other_size, size, &proof, &old_root, &root)
                        .map_err(|e| fail(format!("the consistency proof fails: {e}")))?;
                    old_root
                }
            };
            if our_root == *other.checkpoint.root() {
                return Err(fail("the two views agree: no fork"));
            }
            proves.push(format!(
                "The log {:?} signed two different trees of size {other_size}: one in the \
                 checkpoint at {}{}, another in the checkpoint at {}. A log never signs two \
                 roots for one size; it showed different histories to different people.",
                checkpoint.checkpoint.origin(),
                cosigned(&checkpoint),
                if other_size == size {
                    ""
                } else {
                    " (by a consistency proof)"
                },
                cosigned(&other)
            ));
        }
        Rule::BadLog => {
            let [note] = bundle.notes.as_slice() else {
                return Err(fail(
                    "bad-log evidence carries exactly the checkpoint at issue",
                ));
            };
            let Err(reason) = verify_checkpoint(&policy, note.as_bytes()) else {
                return Err(fail(
                    "the checkpoint at issue verifies: nothing is wrong with it",
                ));
            };
            expect_id(crate::follow::note_key(note.as_bytes()))?;
            proves.push(format!(
                "The checkpoint at issue does not verify: {reason}."
            ));
            does_not_prove.push(
                "That the log served it: the note carries no valid log signature, so only the \
                 watcher's word says where it came from."
                    .into(),
            );
        }
        Rule::MalformedEntry => {
            let [s] = shown.as_slice() else {
                return Err(fail("malformed-entry evidence carries one entry"));
            };
            expect_id(s.index)?;
            let Err(reason) = &s.checked.entry else {
                return Err(fail("the entry parses: nothing is malformed"));
            };
            proves.push(format!(
                "Entry {} {at} is not a masque log entry: {reason}.",
                s.index
            ));
        }
        Rule::RogueCustodian | Rule::UnsignedEntry => {
            let [s] = shown.as_slice() else {
                return Err(fail("signature evidence carries one entry"));
            };
            expect_id(s.index)?;
            let count = s.checked.signed_by.iter().filter(|b| **b).count();
            let fits = match bundle.rule {
                Rule::UnsignedEntry => count == 0,
                _ => (1..3).contains(&count),
            };
            if !fits {
                return Err(fail(format!(
                    "entry {} is signed by {}, which is not what {} means",
                    s.index,
                    s.signers(),
                    bundle.rule.name()
                )));
            }
            let entry = s.entry()?;
            proves.push(format!(
                "Entry {} {at} ({}, hour {}) is signed by {}: the log carries an operation on \
                 biometric data that the three custodians did not all sign.",
                s.index,
                describe(entry),
                format_hour(entry.body.hour),
                s.signers()
            ));
        }
        Rule::NoConsent | Rule::ConsentRevoked | Rule::ConsentExpired => {
            consent_evidence(&bundle, &shown, &at, &mut proves, &mut does_not_prove)?;
            expect_id(last_index.unwrap_or_default())?;
        }
        Rule::AfterDeletion => {
            let link = bundle
                .audit
                .as_ref()
                .ok_or_else(|| fail("after-deletion evidence needs the record's audit key"))?;
            let key: [u8; 32] = canonical_hex(&link.key)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| fail("the audit key is not 64 lowercase hex digits"))?;
            let key = Zeroizing::new(key);
            let ([deleted, later], [n_deleted, n_later]) = (shown.as_slice(), link.n.as_slice())
            else {
                return Err(fail(
                    "after-deletion evidence carries two entries and two numbers",
                ));
            };
            expect_id(later.index)?;
            for (s, n) in [(deleted, n_deleted), (later, n_later)] {
                let tag = s.entry()?.body.audit_tag.clone().unwrap_or_default();
                if tag != hex::encode(audit_tag(&key, *n)) {
                    return Err(fail(format!(
                        "entry {}'s audit tag is not operation {n} of this record",
                        s.index
                    )));
                }
            }
            let d = deleted.entry()?;
            if d.body.op != Operation::Delete || d.body.outcome != Outcome::Deleted {
                return Err(fail(format!("entry {} is not a deletion", deleted.index)));
            }
            if n_later <= n_deleted {
                return Err(fail(
                    "the later entry's operation number is not after the deletion",
                ));
            }
            proves.push(format!(
                "Entry {} {at} ({}, signed by {}) is about a record that entry {} deleted \
                 (signed by {}): the record was still kept and used after its deletion.",
                later.index,
                describe(later.entry()?),
                later.signers(),
                deleted.index,
                deleted.signers()
            ));
            does_not_prove.push(
                "Nothing else about the person: but this bundle's audit key links every log \
                 entry about this record; share it only as the person wishes."
                    .into(),
            );
        }
        Rule::StationRate => {
            let first = shown.first().ok_or_else(|| fail("no entries"))?.entry()?;
            let station = first.body.station.clone().unwrap_or_default();
            let hour = first.body.hour;
            for s in &shown {
                let b = &s.entry()?.body;
                if b.station.as_deref() != Some(station.as_str()) || b.hour != hour {
                    return Err(fail("the entries are not one station's in one hour"));
                }
            }
            let rate = network
                .stations
                .iter()
                .find(|s| s.name == station)
                .and_then(|s| s.max_per_hour)
                .ok_or_else(|| fail(format!("station {station} declares no rate")))?;
            if shown.len() as u64 <= u64::from(rate) {
                return Err(fail("the entries do not exceed the declared rate"));
            }
            expect_id(last_index.unwrap_or_default())?;
            proves.push(format!(
                "Station {station} has {} operations {at} in the hour from {}, above its \
                 declared {rate} per hour.",
                shown.len(),
                format_hour(hour)
            ));
        }
        Rule::Probing => {
            let first = shown.first().ok_or_else(|| fail("no entries"))?.entry()?;
            let consent = first
                .body
                .consent
                .clone()
                .ok_or_else(|| fail("no consent"))?;
            let start = first.body.hour;
            for s in &shown {
                let b = &s.entry()?.body;
                if b.op != Operation::Verify
                    || b.outcome != Outcome::NoMatch
                    || b.consent.as_ref() != Some(&consent)
                    || b.hour >= start + 86_400
                {
                    return Err(fail(
                        "the entries are not failing checks under one consent within 24 h",
                    ));
                }
            }
            expect_id(last_index.unwrap_or_default())?;
            proves.push(format!(
                "{} failing 1:1 checks under consent {} for {} within 24 h {at}.",
                shown.len(),
                short(&consent.0),
                first.body.service.as_deref().unwrap_or("(no service)")
            ));
            does_not_prove.push(
                "Intent: that this many failures is probing is the watcher's judgement \
                 (threshold in docs/watch.md)."
                    .into(),
            );
        }
        Rule::DuplicateHarvesting | Rule::Burst | Rule::OffHours | Rule::RefusalCluster => {
            let [s] = shown.as_slice() else {
                return Err(fail("detector evidence carries its triggering entry"));
            };
            expect_id(s.index)?;
            proves.push(format!(
                "Entry {} {at}: {}, hour {}, signed by {}.",
                s.index,
                describe(s.entry()?),
                format_hour(s.entry()?.body.hour),
                s.signers()
            ));
            does_not_prove.push(format!(
                "The anomaly itself: {} is a statistical judgement over the station's whole \
                 history in the log; re-run `masque watch follow` on the log to reproduce it.",
                bundle.rule.name()
            ));
        }
    }
    Ok(Verdict {
        id: bundle.id.clone(),
        rule: bundle.rule,
        proves,
        does_not_prove,
    })
}

/// Lowercase hex only (an uppercase digit would decode the same and let a changed byte
/// pass unnoticed).
fn canonical_hex(text: &str) -> Option<Vec<u8>> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    hex::decode(text).ok()
}

fn consent_evidence(
    bundle: &Bundle,
    shown: &[Shown],
    at: &str,
    proves: &mut Vec<String>,
    does_not_prove: &mut Vec<String>,
) -> Result<(), WatchError> {
    let check = shown.last().ok_or_else(|| fail("no entries"))?;
    let body = &check.entry()?.body;
    let service = body
        .service
        .clone()
        .filter(|_| {
            body.op == Operation::Verify
                && matches!(body.outcome, Outcome::Match | Outcome::NoMatch)
        })
        .ok_or_else(|| {
            fail(format!(
                "entry {} is not a 1:1 check for a service",
                check.index
            ))
        })?;
    let what = format!(
        "{} signed a 1:1 verification of one record for {service} at {} (entry {} {at}, \
         outcome {})",
        check.signers(),
        format_hour(body.hour),
        check.index,
        describe(check.entry()?)
            .rsplit(", ")
            .next()
            .unwrap_or_default()
    );
    let grant = |s: &Shown| -> Result<(String, u64, String), WatchError> {
        let b = &s.entry()?.body;
        match (b.op, b.outcome, &b.consent, b.consent_not_after, &b.service) {
            (Operation::ConsentGrant, Outcome::Granted, Some(id), Some(na), Some(sv)) => {
                Ok((id.0.clone(), na, sv.clone()))
            }
            _ => Err(fail(format!("entry {} is not a consent grant", s.index))),
        }
    };
    match (bundle.rule, shown) {
        (Rule::NoConsent, [_]) => match &body.consent {
            None => proves.push(format!("{what} with no consent at all.")),
            Some(id) => {
                proves.push(format!("{what} under consent {}.", short(&id.0)));
                does_not_prove.push(format!(
                    "That no earlier entry granted consent {}: an absence cannot be shown by a \
                     bundle; check it by following the log up to size {} with `masque watch`.",
                    short(&id.0),
                    check.index
                ));
            }
        },
        (Rule::NoConsent, [g, _]) => {
            let (id, _, granted_for) = grant(g)?;
            if body.consent.as_ref().map(|c| &c.0) != Some(&id) || granted_for == service {
                return Err(fail(
                    "the grant is not another service's grant of this consent",
                ));
            }
            proves.push(format!(
                "{what} under consent {}, which entry {} granted to {granted_for}, not to \
                 {service}.",
                short(&id),
                g.index
            ));
        }
        (Rule::ConsentRevoked, [g, r, _]) => {
            let (id, _, _) = grant(g)?;
            let rb = &r.entry()?.body;
            if rb.op != Operation::ConsentRevoke
                || rb.outcome != Outcome::Revoked
                || rb.consent.as_ref().map(|c| &c.0) != Some(&id)
                || body.consent.as_ref().map(|c| &c.0) != Some(&id)
            {
                return Err(fail(
                    "the entries are not a grant, its revocation and a check under it",
                ));
            }
            proves.push(format!(
                "{what} under consent {}, which entry {} granted and entry {} (signed by {}) \
                 revoked before it.",
                short(&id),
                g.index,
                r.index,
                r.signers()
            ));
        }
        (Rule::ConsentExpired, [g, _]) => {
            let (id, not_after, _) = grant(g)?;
            if body.consent.as_ref().map(|c| &c.0) != Some(&id) || body.hour <= not_after {
                return Err(fail("the check is not after its consent's expiry"));
            }
            proves.push(format!(
                "{what} under consent {}, which entry {} granted only until {}.",
                short(&id),
                g.index,
                format_hour(not_after - not_after % 3600)
            ));
        }
        _ => return Err(fail("the entries do not fit the rule")),
    }
    Ok(())
}
