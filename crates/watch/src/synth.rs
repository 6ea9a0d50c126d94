//! Synthetic log streams of a network: signed entries as custodians write them, for the
//! detectors' false-alert evaluation, the abuse scenarios of the tests and
//! `masque bench watch`.
//!
//! The benign stream models a network of stations open at fixed hours (some around the
//! clock), with volumes that follow the time of day, about 5 % of enrolments being
//! people already enrolled, consents given to services and 1:1 checks under them (about
//! 3 % failing), revocations, deletions and credential issuance. Every entry carries the
//! custodians' joint signature (made with [`SynthKeys::joint`]) and its record's audit
//! tags, so it passes the rules; only the injected scenarios break them.

use ed25519_dalek::Signer;
use ed25519_dalek::SigningKey;
use masque_protocol::{
    RequestId,
    audit::audit_tag,
    consent::ConsentId,
    entry::{EntryBody, LogEntry, Operation, Outcome},
    network::CustodianKeys,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, Poisson};

/// A record of the synthetic network.
#[derive(Debug, Clone)]
pub struct SynthRecord {
    /// Its audit key.
    pub audit_key: [u8; 32],
    /// Operations so far.
    pub n: u64,
    /// Live consents: (id, service, not_after).
    pub consents: Vec<(String, String, u64)>,
    /// Whether it was deleted.
    pub deleted: bool,
}

/// A station of the synthetic network.
#[derive(Debug, Clone)]
pub struct SynthStation {
    /// Its pseudonym.
    pub name: String,
    /// Mean operations in its busiest hour.
    pub peak: f64,
    /// Opening hour and closing hour (UTC); `(0, 24)` is around the clock.
    pub open: (u64, u64),
}

/// The secret keys of a synthetic network's custodians.
///
/// `joint` stands for the custodians' joint key. A FROST signature of the three
/// custodians is an ordinary Ed25519 signature under the joint key, indistinguishable
/// from one made with a whole key, so a synthetic log needs no signing rounds; only a
/// real network's custodians never hold the whole key.
#[derive(Clone)]
pub struct SynthKeys {
    /// Each custodian's own key, P0, P1, P2.
    pub each: [SigningKey; 3],
    /// The key that stands for the joint key.
    pub joint: SigningKey,
}

impl SynthKeys {
    /// Keys from 32-byte seeds: `seeds[i]` for Pi, `joint` for the joint key.
    pub fn from_seeds(seeds: [[u8; 32]; 3], joint: [u8; 32]) -> Self {
        Self {
            each: seeds.map(|s| SigningKey::from_bytes(&s)),
            joint: SigningKey::from_bytes(&joint),
        }
    }

    /// The public keys entries are checked against.
    pub fn public(&self) -> CustodianKeys {
        CustodianKeys {
            each: self.each.clone().map(|k| k.verifying_key()),
            joint: self.joint.verifying_key(),
        }
    }
}

impl std::fmt::Debug for SynthKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SynthKeys(..)")
    }
}

/// Writes signed entries for a synthetic network.
pub struct Stream {
    keys: SynthKeys,
    rng: ChaCha20Rng,
    /// The current hour (Unix seconds).
    pub hour: u64,
    /// Every record enrolled.
    pub records: Vec<SynthRecord>,
    /// The stations.
    pub stations: Vec<SynthStation>,
    services: Vec<String>,
    request: u64,
    /// Whether entries are left unsigned for [`Stream::sign_all`].
    defer_signing: bool,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Stream(hour {}, {} records)",
            self.hour,
            self.records.len()
        )
    }
}

impl Stream {
    /// A network signed by `keys` with `stations` stations, from `seed`, starting at
    /// `start_hour`.
    pub fn new(keys: SynthKeys, stations: usize, seed: u64, start_hour: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let stations = (0..stations)
            .map(|i| SynthStation {
                name: format!("station-{i:02}"),
                peak: rng.random_range(3.0..15.0),
                open: if i % 4 == 0 {
                    (0, 24)
                } else {
                    let from = rng.random_range(6..10);
                    (from, from + rng.random_range(8..12))
                },
            })
            .collect();
        Self {
            keys,
            rng,
            hour: start_hour - start_hour % 3600,
            records: Vec::new(),
            stations,
            services: (0..8).map(|i| format!("service-{i}.example")).collect(),
            request: 0,
            defer_signing: false,
        }
    }

    /// Leaves entries unsigned (no signatures at all) until [`Stream::sign_all`] signs
    /// them in parallel: for generating large logs quickly.
    pub fn defer_signing(mut self) -> Self {
        self.defer_signing = true;
        self
    }

    /// Signs entries written with [`Stream::defer_signing`], on every core.
    pub fn sign_all(&self, entries: &mut [Vec<u8>]) {
        use rayon::prelude::*;
        entries.par_iter_mut().for_each(|bytes| {
            if let Ok(entry) = LogEntry::parse(bytes)
                && entry.signatures.is_empty()
                && entry.joint_signature.is_none()
            {
                *bytes = self.sign_now(entry.body);
            }
        });
    }

    /// Signs `body` jointly (or leaves it unsigned, see [`Stream::defer_signing`]).
    pub fn sign(&self, body: EntryBody) -> Vec<u8> {
        if self.defer_signing {
            return LogEntry {
                body,
                joint_signature: None,
                signatures: Vec::new(),
            }
            .to_bytes();
        }
        self.sign_now(body)
    }

    fn sign_now(&self, body: EntryBody) -> Vec<u8> {
        let signature = self.keys.joint.sign(&body.signed_bytes());
        LogEntry::jointly_signed(body, &signature).to_bytes()
    }

    /// A blank body of `op` at the current hour with a fresh request id.
    pub fn body(&mut self, op: Operation, outcome: Outcome) -> EntryBody {
        self.request += 1;
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&self.request.to_be_bytes());
        id[8..].copy_from_slice(&self.rng.random::<[u8; 8]>());
        EntryBody::new(op, self.hour, RequestId(id), outcome)
    }

    /// The next audit tag of record `r` (and counts the operation).
    pub fn tag(&mut self, r: usize) -> String {
        let record = &mut self.records[r];
        let tag = hex::encode(audit_tag(&record.audit_key, record.n));
        record.n += 1;
        tag
    }

    /// An enrolment at `station`: a new record, or a duplicate (names no record).
    pub fn enrol(&mut self, station: &str, duplicate: bool) -> Vec<u8> {
        if duplicate {
            let mut body = self.body(Operation::Enrol, Outcome::Duplicate);
            body.station = Some(station.into());
            return self.sign(body);
        }
        self.records.push(SynthRecord {
            audit_key: self.rng.random(),
            n: 0,
            consents: Vec::new(),
            deleted: false,
        });
        let r = self.records.len() - 1;
        let mut body = self.body(Operation::Enrol, Outcome::Enrolled);
        body.station = Some(station.into());
        body.audit_tag = Some(self.tag(r));
        self.sign(body)
    }

    /// Record `r` grants a consent to `service` for `days` days; returns its id.
    pub fn grant(&mut self, r: usize, service: &str, days: u64) -> (String, Vec<u8>) {
        let id = hex::encode(self.rng.random::<[u8; 32]>());
        let not_after = self.hour + days * 86_400;
        let mut body = self.body(Operation::ConsentGrant, Outcome::Granted);
        body.service = Some(service.into());
        body.consent = Some(ConsentId(id.clone()));
        body.consent_not_after = Some(not_after);
        body.audit_tag = Some(self.tag(r));
        self.records[r]
            .consents
            .push((id.clone(), service.into(), not_after));
        (id, self.sign(body))
    }

    /// A 1:1 check of record `r` for `service` under `consent`.
    pub fn verify(&mut self, r: usize, service: &str, consent: &str, matched: bool) -> Vec<u8> {
        let outcome = if matched {
            Outcome::Match
        } else {
            Outcome::NoMatch
        };
        let not_after = self.records[r]
            .consents
            .iter()
            .find(|c| c.0 == consent)
            .map(|c| c.2);
        let mut body = self.body(Operation::Verify, outcome);
        body.service = Some(service.into());
        body.consent = Some(ConsentId(consent.into()));
        body.consent_not_after = not_after;
        body.audit_tag = Some(self.tag(r));
        self.sign(body)
    }

    /// Record `r` revokes its consent `consent`.
    pub fn revoke(&mut self, r: usize, consent: &str) -> Vec<u8> {
        let service = self.records[r]
            .consents
            .iter()
            .find(|c| c.0 == consent)
            .map(|c| c.1.clone());
        self.records[r].consents.retain(|c| c.0 != consent);
        let mut body = self.body(Operation::ConsentRevoke, Outcome::Revoked);
        body.consent = Some(ConsentId(consent.into()));
        body.service = service;
        body.audit_tag = Some(self.tag(r));
        self.sign(body)
    }

    /// Record `r` is deleted.
    pub fn delete(&mut self, r: usize) -> Vec<u8> {
        let mut body = self.body(Operation::Delete, Outcome::Deleted);
        body.audit_tag = Some(self.tag(r));
        self.records[r].deleted = true;
        self.records[r].consents.clear();
        self.sign(body)
    }

    /// A live record chosen at random, if any.
    fn live_record(&mut self) -> Option<usize> {
        for _ in 0..8 {
            if self.records.is_empty() {
                return None;
            }
            let r = self.rng.random_range(0..self.records.len());
            if !self.records[r].deleted {
                return Some(r);
            }
        }
        None
    }

    /// One hour of benign activity; then the clock moves to the next hour.
    pub fn benign_hour(&mut self, out: &mut Vec<Vec<u8>>) {
        let hour_of_day = self.hour % 86_400 / 3600;
        for s in 0..self.stations.len() {
            let station = self.stations[s].clone();
            let open = hour_of_day >= station.open.0 && hour_of_day < station.open.1;
            if !open {
                continue;
            }
            // Busiest in the middle of its opening hours.
            let span = (station.open.1 - station.open.0) as f64;
            let middle = station.open.0 as f64 + span / 2.0;
            let shape = 1.0 - 0.6 * ((hour_of_day as f64 + 0.5 - middle) / (span / 2.0)).powi(2);
            let mean = (station.peak * shape.max(0.2)).max(0.1);
            let count = Poisson::new(mean).map_or(0, |p| p.sample(&mut self.rng) as u64);
            for _ in 0..count {
                let duplicate = self.rng.random_bool(0.05);
                out.push(self.enrol(&station.name, duplicate));
            }
        }
        // Services and people, network-wide.
        let people_ops = Poisson::new(60.0).map_or(0, |p| p.sample(&mut self.rng) as u64);
        for _ in 0..people_ops {
            let Some(r) = self.live_record() else { break };
            let roll: f64 = self.rng.random();
            if roll < 0.25 || self.records[r].consents.is_empty() {
                let service = self.services[self.rng.random_range(0..self.services.len())].clone();
                let days = self.rng.random_range(1..60);
                out.push(self.grant(r, &service, days).1);
            } else if roll < 0.85 {
                let (id, service, not_after) = self.records[r].consents[0].clone();
                if not_after < self.hour {
                    out.push(self.revoke(r, &id));
                } else {
                    let matched = self.rng.random_bool(0.97);
                    out.push(self.verify(r, &service, &id, matched));
                }
            } else if roll < 0.92 {
                let (id, _, _) = self.records[r].consents[0].clone();
                out.push(self.revoke(r, &id));
            } else if roll < 0.97 {
                let mut body = self.body(Operation::Issue, Outcome::Issued);
                body.audit_tag = Some(self.tag(r));
                out.push(self.sign(body));
            } else {
                out.push(self.delete(r));
            }
        }
        self.hour += 3600;
    }

    /// At least `ops` entries of benign activity, whole hours.
    pub fn benign(&mut self, ops: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(ops + 512);
        while out.len() < ops {
            self.benign_hour(&mut out);
        }
        out
    }
}
