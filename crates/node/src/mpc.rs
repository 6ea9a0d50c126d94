//! The custodian's side of the three-party computation: the pinned TLS links to the two
//! other custodians, the engine with this custodian's gallery, and the checks one request
//! runs on its shares.
//!
//! Every request the coordinator sequences gets a sequence number `s`; its sessions are
//! `16·s + step` ([`Step`]), so the three custodians open the same sessions without
//! another message, and no id is ever reused (the engine's ledger is a file next to the
//! store). Each request starts with fresh pairwise PRF seeds agreed over the links, so a
//! custodian that restarted needs no start-up handshake with the others.
//!
//! One request or batch of enrolments runs at a time (the engine is behind a write
//! lock): the 1:N check of an enrolment sees every enrolment committed before it and,
//! in a batch, every member before it, which is what makes two concurrent enrolments of
//! one person end as one `enrolled` and one `duplicate`.

use crate::store::{Store, StoreError};
use indicatif::{ProgressBar, ProgressStyle};
use masque_mpc::{
    EngineError, PartyId,
    dealer::{EnrolmentShare, QueryShare},
    engine::PartyEngine,
    net::{
        NetError,
        tls::{TlsError, TlsNode, TlsOptions, load_party},
    },
    randomness::{PartySeeds, SessionId},
    session::SessionLedger,
};
use masque_template::{
    CoverageGate, FixedPointRule, Threshold,
    matcher::{EyeMode, RecordId},
};
use std::path::Path;
use std::sync::RwLock;
use std::time::Duration;

/// Why a computation did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum MpcError {
    /// The TLS network could not start (config, keys, sockets).
    #[error("MPC network: {0}")]
    Tls(#[from] TlsError),
    /// A peer was unreachable, too slow or sent garbage.
    #[error("MPC link: {0}")]
    Net(#[from] NetError),
    /// The engine refused (session reuse, a gallery that differs between custodians…).
    #[error("MPC engine: {0}")]
    Engine(#[from] EngineError),
    /// The session ledger could not be opened.
    #[error("MPC session ledger: {0}")]
    Ledger(String),
    /// Loading the gallery failed.
    #[error("loading the gallery: {0}")]
    Store(#[from] StoreError),
    /// Shares of the wrong party or shape.
    #[error("shares: {0}")]
    Shares(String),
}

/// The session steps of one request.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub enum Step {
    /// Fresh pairwise PRF seeds.
    Seeds = 0,
    /// Validation of the query shares.
    ValidateQuery = 1,
    /// Validation of the enrolment shares.
    ValidateEnrolment = 2,
    /// Query and enrolment shares encode one template.
    SameTemplate = 3,
    /// The mask-coverage gate.
    Gate = 4,
    /// 1:N search or 1:1 verification.
    Compare = 5,
}

fn session(sequence: u64, step: Step) -> SessionId {
    SessionId(sequence * 16 + step as u64)
}

/// What the checks of an enrolment found (the same at all three custodians).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Valid and unique (enrolment) or valid and matching (verification).
    Pass,
    /// Valid, but a duplicate (enrolment) or no match (verification).
    Fail,
    /// The shares are not a possible template, or the two forms differ.
    Invalid,
    /// Too few unmasked bits.
    LowCoverage,
}

/// This custodian's MPC endpoint and engine.
pub struct Mpc {
    party: PartyId,
    tls: TlsNode,
    engine: RwLock<PartyEngine>,
    gate: CoverageGate,
}

impl std::fmt::Debug for Mpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mpc({})", self.party)
    }
}

impl Mpc {
    /// Starts the links from the MPC network directory (`masque mpc net-init`), opens the
    /// session ledger in `data_dir`, and loads the stored gallery (with a progress bar on
    /// a terminal).
    pub fn start(
        party: PartyId,
        mpc_dir: &Path,
        data_dir: &Path,
        timeout: Duration,
        store: &dyn Store,
    ) -> Result<Self, MpcError> {
        let (config, key) = load_party(mpc_dir, party)?;
        let gate = config.coverage_gate();
        let ledger = SessionLedger::open(&data_dir.join("mpc-sessions"))
            .map_err(|e| MpcError::Ledger(e.to_string()))?;
        let mut engine = PartyEngine::new(
            party,
            PartySeeds::deal()[party.index()].clone(),
            EyeMode::TwoEyes,
            FixedPointRule::new(Threshold::DEFAULT),
        )
        .with_ledger(ledger);
        let total = store.record_count()?;
        // Room for the enrolments to come: growing the gallery later copies (and wipes)
        // all of it at twice the size, a pause and a memory peak under load.
        engine.reserve(total as usize + (total as usize / 16).max(256));
        let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) && total > 0 {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "loading gallery {bar:40} {pos}/{len} records ({eta})",
                )
                .expect("a valid template"),
            );
            bar
        } else {
            ProgressBar::hidden()
        };
        store.for_each_record(&mut |record| {
            let eyes = record
                .shares
                .iter()
                .map(|b| EnrolmentShare::from_bytes(b))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| StoreError::Corrupt {
                    path: data_dir.display().to_string(),
                    table: "shares",
                    message: e.to_string(),
                })?;
            engine
                .insert(RecordId(record.gallery_id), &eyes)
                .map_err(|e| StoreError::Corrupt {
                    path: data_dir.display().to_string(),
                    table: "shares",
                    message: e.to_string(),
                })?;
            bar.inc(1);
            Ok(())
        })?;
        bar.finish_and_clear();
        let tls = TlsNode::start(&config, party, &key, TlsOptions::with_timeout(timeout))?;
        Ok(Self {
            party,
            tls,
            engine: RwLock::new(engine),
            gate,
        })
    }

    /// This custodian.
    pub fn party(&self) -> PartyId {
        self.party
    }

    /// Records in the gallery.
    pub fn gallery_len(&self) -> usize {
        self.engine
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .gallery()
            .len()
    }

    /// Whether both links to the other custodians are up.
    pub fn links_up(&self) -> bool {
        PartyId::ALL
            .into_iter()
            .filter(|p| *p != self.party)
            .all(|p| self.tls.is_connected(p))
    }

    fn fresh_seeds(&self, engine: &mut PartyEngine, sequence: u64) -> Result<(), MpcError> {
        let id = session(sequence, Step::Seeds);
        engine
            .ledger()
            .claim(id)
            .map_err(|e| MpcError::Engine(EngineError::Session(e)))?;
        let seeds = PartySeeds::agree(&mut self.tls.session(id)?)?;
        engine.set_seeds(seeds);
        Ok(())
    }

    /// The checks of an enrolment with sequence number `sequence`: validation of both
    /// forms, that they encode one template, the coverage gate, then 1:N against every
    /// stored record. Opens one bit per check and nothing else.
    pub fn enrolment(
        &self,
        sequence: u64,
        query: &[QueryShare],
        enrolment: &[EnrolmentShare],
    ) -> Result<Verdict, MpcError> {
        let request = [(query.to_vec(), enrolment.to_vec())];
        Ok(self.enrolments(sequence, &request)?[0])
    }

    /// The checks of a batch of enrolments (each its query and enrolment shares), run in
    /// the sessions of sequence number `sequence` (the first member's): each check once
    /// for the whole batch over the members still in the running, then one 1:N over
    /// those that passed, in which each is also compared with the passing members
    /// before it (`PartyEngine::search_batch`). Which members are still in the running
    /// follows from opened bits, so the three custodians take the same steps.
    pub fn enrolments(
        &self,
        sequence: u64,
        requests: &[(Vec<QueryShare>, Vec<EnrolmentShare>)],
    ) -> Result<Vec<Verdict>, MpcError> {
        let mut engine = self.engine.write().unwrap_or_else(|p| p.into_inner());
        self.fresh_seeds(&mut engine, sequence)?;
        let net = |step| -> Result<_, MpcError> { Ok(self.tls.session(session(sequence, step))?) };
        let id = |step| session(sequence, step);
        let mut verdicts = vec![Verdict::Invalid; requests.len()];
        let queries: Vec<Vec<QueryShare>> = requests.iter().map(|(q, _)| q.clone()).collect();
        let enrolments: Vec<Vec<EnrolmentShare>> =
            requests.iter().map(|(_, e)| e.clone()).collect();
        let valid_q = engine.validate(
            &mut net(Step::ValidateQuery)?,
            id(Step::ValidateQuery),
            &queries,
        )?;
        let valid_e = engine.validate(
            &mut net(Step::ValidateEnrolment)?,
            id(Step::ValidateEnrolment),
            &enrolments,
        )?;
        let valid: Vec<usize> = (0..requests.len())
            .filter(|&i| valid_q[i] && valid_e[i])
            .collect();
        if valid.is_empty() {
            return Ok(verdicts);
        }
        let pairs: Vec<_> = valid.iter().map(|&i| requests[i].clone()).collect();
        let same = engine.same_templates(
            &mut net(Step::SameTemplate)?,
            id(Step::SameTemplate),
            &pairs,
        )?;
        let consistent: Vec<usize> = valid
            .iter()
            .zip(same)
            .filter_map(|(&i, same)| same.then_some(i))
            .collect();
        if consistent.is_empty() {
            return Ok(verdicts);
        }
        let gated: Vec<Vec<EnrolmentShare>> =
            consistent.iter().map(|&i| enrolments[i].clone()).collect();
        let covered = engine.gate(&mut net(Step::Gate)?, id(Step::Gate), &gated, self.gate)?;
        let mut passing = Vec::new();
        for (&i, covered) in consistent.iter().zip(covered) {
            if covered {
                passing.push(i);
            } else {
                verdicts[i] = Verdict::LowCoverage;
            }
        }
        if passing.is_empty() {
            return Ok(verdicts);
        }
        let batch: Vec<_> = passing.iter().map(|&i| requests[i].clone()).collect();
        let duplicate = engine.search_batch(&mut net(Step::Compare)?, id(Step::Compare), &batch)?;
        for (&i, duplicate) in passing.iter().zip(duplicate) {
            verdicts[i] = if duplicate {
                Verdict::Fail
            } else {
                Verdict::Pass
            };
        }
        Ok(verdicts)
    }

    /// The checks of a 1:1 verification against record `gallery_id`: validation, the
    /// coverage gate, then the comparison with that one record.
    pub fn verification(
        &self,
        sequence: u64,
        gallery_id: u64,
        query: &[QueryShare],
    ) -> Result<Verdict, MpcError> {
        let mut engine = self.engine.write().unwrap_or_else(|p| p.into_inner());
        self.fresh_seeds(&mut engine, sequence)?;
        let q = vec![query.to_vec()];
        let net = |step| -> Result<_, MpcError> { Ok(self.tls.session(session(sequence, step))?) };
        let id = |step| session(sequence, step);
        if !engine.validate(&mut net(Step::ValidateQuery)?, id(Step::ValidateQuery), &q)?[0] {
            return Ok(Verdict::Invalid);
        }
        if !engine.gate(&mut net(Step::Gate)?, id(Step::Gate), &q, self.gate)?[0] {
            return Ok(Verdict::LowCoverage);
        }
        let matched = engine.verify(
            &mut net(Step::Compare)?,
            id(Step::Compare),
            RecordId(gallery_id),
            query,
        )?;
        Ok(if matched {
            Verdict::Pass
        } else {
            Verdict::Fail
        })
    }

    /// Adds a committed enrolment to the in-memory gallery.
    pub fn insert(&self, gallery_id: u64, shares: &[Vec<u8>]) -> Result<(), MpcError> {
        let eyes = decode_enrolment(self.party, shares)?;
        let mut engine = self.engine.write().unwrap_or_else(|p| p.into_inner());
        engine.insert(RecordId(gallery_id), &eyes)?;
        Ok(())
    }

    /// Drops a deleted record from the in-memory gallery.
    pub fn remove(&self, gallery_id: u64) -> bool {
        let mut engine = self.engine.write().unwrap_or_else(|p| p.into_inner());
        engine.remove(RecordId(gallery_id))
    }
}

/// Decodes enrolment shares and checks they are this custodian's.
pub fn decode_enrolment(
    party: PartyId,
    shares: &[Vec<u8>],
) -> Result<Vec<EnrolmentShare>, MpcError> {
    shares
        .iter()
        .map(|b| {
            let share =
                EnrolmentShare::from_bytes(b).map_err(|e| MpcError::Shares(e.to_string()))?;
            if share.party() != party {
                return Err(MpcError::Shares(format!(
                    "an enrolment share of {} was sent to {party}",
                    share.party()
                )));
            }
            Ok(share)
        })
        .collect()
}

/// Decodes query shares and checks they are this custodian's.
pub fn decode_query(party: PartyId, shares: &[Vec<u8>]) -> Result<Vec<QueryShare>, MpcError> {
    shares
        .iter()
        .map(|b| {
            let share = QueryShare::from_bytes(b).map_err(|e| MpcError::Shares(e.to_string()))?;
            if share.party() != party {
                return Err(MpcError::Shares(format!(
                    "a query share of {} was sent to {party}",
                    share.party()
                )));
            }
            Ok(share)
        })
        .collect()
}
