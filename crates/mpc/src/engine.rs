//! The 1:N / 1:1 matching engine of one custodian.
//!
//! A [`PartyEngine`] holds this party's [`Gallery`], its PRF seeds and the decision rule.
//! All three parties call the same operation with their own shares of the same query;
//! each call runs one protocol session:
//!
//! 1. Local dot products of every query rotation (the query is rotated, never the
//!    gallery) against every stored eye ([`crate::kernel`]) → additive shares of
//!    `code_dot` and `mask_dot`, re-shared into replicated form.
//! 2. `D = code_dot·2^16 − A·lift(mask_dot) − 1` in Z_2^32; the comparison matches iff
//!    `D ≥ 0`, i.e. iff `code_dot·2^16 > mask_dot·A`; the match bit is `NOT msb(D)`.
//! 3. OR over rotations, AND over the two eyes, then (1:N) OR over records, all on shares.
//! 4. One bit per query (1:N) or per query–record pair (1:1) is opened.
//!
//! Comparisons are laid out `[rotation][eye][pair]` (for 1:N, pair = `row · nq + query`,
//! the rows being the stored records and, for a batch of enrolments, the batch's own
//! enrolments) so each reduction combines the outermost index. Nothing here is stored or
//! changed by a query, so a failed query (a [`NetError`]) leaves the engine as it was.

use crate::coverage::{CountableForm, gate_templates};
use crate::dealer::{EnrolmentShare, EyeShare, QueryShare};
use crate::encode::ELEMENTS;
use crate::gallery::{Gallery, GalleryError, RecordId, segment_value};
use crate::kernel::prepare_query;
use crate::matmul::Kernel;
use crate::net::{NetError, Transport};
use crate::party::PartyId;
use crate::profile::{Phase, timer};
use crate::protocol::Session;
use crate::protocol::arith::reshare;
use crate::protocol::binary::{and_groups, lift, msb, or_groups};
use crate::protocol::bits::{BitShares, bit, open_bits, words_for};
use crate::randomness::{CorrelatedRandomness, PartySeeds, Protocol, SessionId};
use crate::ring::{Z16, Z32};
use crate::session::{SessionError, SessionLedger};
use crate::share::ShareVec;
use crate::validate::{ElementForm, TemplatePair, same_templates, validate_templates};
use crate::wipe::Wiped;
use masque_template::iris::ROTATION_COUNT;
use masque_template::matcher::EyeMode;
use masque_template::{CoverageGate, FixedPointRule};
use std::ops::Range;

/// Why a query or gallery change failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EngineError {
    /// The network failed during the query; the engine is unchanged.
    #[error("query failed: {0}")]
    Net(#[from] NetError),
    /// The gallery refused the change or the query's shape.
    #[error(transparent)]
    Gallery(#[from] GalleryError),
    /// A 1:1 check named a record that is not enrolled.
    #[error("record {0} is not enrolled")]
    UnknownRecord(u64),
    /// The session id was used before (or its claim could not be recorded).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The parties' galleries do not hold the same records in the same slots (an
    /// operation applied at some custodians and not others, or in another order): the
    /// session is refused at every party before any share is used.
    #[error(
        "gallery mismatch: {peer} holds another record list than this party ({records} records \
         here); the custodians must resynchronise before matching"
    )]
    GalleryMismatch {
        /// A party whose list differs.
        peer: PartyId,
        /// This party's record count.
        records: usize,
    },
    /// The parties run with different coverage gates: refused at every party.
    #[error(
        "coverage gate mismatch: {peer} requires {theirs} valid bits, this party {ours}; all \
         custodians must use the network config's gate"
    )]
    GateMismatch {
        /// A party whose gate differs.
        peer: PartyId,
        /// Its minimum.
        theirs: u32,
        /// This party's minimum.
        ours: u32,
    },
    /// The transport belongs to another party than this engine.
    #[error("this engine is {engine} but its transport speaks as {transport}")]
    TransportParty {
        /// The engine's party.
        engine: PartyId,
        /// The transport's party.
        transport: PartyId,
    },
}

/// One custodian's engine.
pub struct PartyEngine {
    seeds: PartySeeds,
    ledger: SessionLedger,
    gallery: Gallery,
    rule: FixedPointRule,
}

impl std::fmt::Debug for PartyEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PartyEngine({:?}, a = {})", self.gallery, self.rule.a)
    }
}

impl PartyEngine {
    /// The engine of custodian `party` for records of `mode`, deciding with `rule`.
    pub fn new(party: PartyId, seeds: PartySeeds, mode: EyeMode, rule: FixedPointRule) -> Self {
        Self {
            seeds,
            ledger: SessionLedger::in_memory(),
            gallery: Gallery::new(party, mode),
            rule,
        }
    }

    /// Keeps the session ids this engine uses in `ledger` (a file-backed one in a
    /// custodian node, so ids stay unique across restarts); the default lives in memory.
    /// Every session (search, verify, gate, validation) claims its id there before
    /// sending anything: an id claimed before is refused with [`EngineError::Session`].
    pub fn with_ledger(mut self, ledger: SessionLedger) -> Self {
        self.ledger = ledger;
        self
    }

    /// The ledger of session ids used.
    pub fn ledger(&self) -> &SessionLedger {
        &self.ledger
    }

    /// Replaces the pairwise PRF seeds, for example with seeds the parties agreed over
    /// the network at startup ([`PartySeeds::agree`]); every party must switch together.
    pub fn set_seeds(&mut self, seeds: PartySeeds) {
        self.seeds = seeds;
    }

    /// This party's gallery.
    pub fn gallery(&self) -> &Gallery {
        &self.gallery
    }

    /// Runs the dot products on `kernel` (every kernel gives the same results; the
    /// default is [`Kernel::best`]), or returns `false` and keeps the current one if
    /// this machine cannot run it.
    pub fn set_kernel(&mut self, kernel: Kernel) -> bool {
        self.gallery.set_kernel(kernel)
    }

    /// Reserves room for `additional` more records, so loading a large gallery does not
    /// repeatedly grow (and copy) the share storage.
    pub fn reserve(&mut self, additional: usize) {
        self.gallery.reserve(additional);
    }

    /// Enrols a record's shares (local; the node does this after a unique outcome).
    pub fn insert(&mut self, id: RecordId, eyes: &[EnrolmentShare]) -> Result<(), EngineError> {
        Ok(self.gallery.insert(id, eyes)?)
    }

    /// Deletes a record's shares; `false` if it was not enrolled.
    pub fn remove(&mut self, id: RecordId) -> bool {
        self.gallery.remove(id)
    }

    /// 1:N for a batch: for each query (its eyes' shares), whether any record matches.
    ///
    /// `session` names this query's PRF keys. The three parties must pass the same id
    /// (the node derives it from its request sequence, which every custodian agrees on);
    /// an id this engine used before is refused ([`crate::session`]). A failed query
    /// burns its id.
    pub fn search(
        &self,
        net: &mut dyn Transport,
        session: SessionId,
        queries: &[Vec<QueryShare>],
    ) -> Result<Vec<bool>, EngineError> {
        let plan = Plan::Search {
            slots: 0..self.gallery.len(),
            batch: None,
        };
        self.run(net, session, queries, plan)
    }

    /// 1:N for a batch of enrolments, the batch's own members included: for each request
    /// (the query shares and the enrolment shares of one template), whether its query
    /// matches a stored record **or the enrolment of an earlier request of the batch**,
    /// so two requests of one person that arrive together cannot both pass as unique.
    ///
    /// The first request is judged against the stored records only; a later one that
    /// matches an earlier one is a duplicate even if the earlier one is itself refused
    /// (it matched a stored record, which this one then almost surely matches too): the
    /// conservative answer. The comparisons with earlier requests run in the same
    /// threshold pass as the stored ones and are ORed in before the single opening, so
    /// one bit per request is opened, as for [`PartyEngine::search`]: which record or
    /// which request matched stays hidden. The caller must already have checked that
    /// each request's two forms encode one template ([`PartyEngine::same_templates`]).
    /// `session` as for [`PartyEngine::search`].
    pub fn search_batch(
        &self,
        net: &mut dyn Transport,
        session: SessionId,
        requests: &[(Vec<QueryShare>, Vec<EnrolmentShare>)],
    ) -> Result<Vec<bool>, EngineError> {
        // The batch's enrolments as a small gallery of their own, so the same kernels
        // compare every query with them; it lives (and is wiped) with this call.
        let mut batch = Gallery::new(self.gallery.party(), self.gallery.mode());
        batch.set_kernel(self.gallery.kernel());
        for (index, (_, enrolment)) in requests.iter().enumerate() {
            batch.insert(RecordId(index as u64), enrolment)?;
        }
        let queries: Vec<Vec<QueryShare>> = requests.iter().map(|(q, _)| q.clone()).collect();
        let plan = Plan::Search {
            slots: 0..self.gallery.len(),
            batch: Some(batch),
        };
        self.run(net, session, &queries, plan)
    }

    /// 1:1: whether the query matches record `id` (`session` as for
    /// [`PartyEngine::search`]).
    pub fn verify(
        &self,
        net: &mut dyn Transport,
        session: SessionId,
        id: RecordId,
        query: &[QueryShare],
    ) -> Result<bool, EngineError> {
        let pair = [(id, query.to_vec())];
        Ok(self.verify_batch(net, session, &pair)?[0])
    }

    /// 1:1 for a batch in one session: for each `(record, query)` pair, whether the query
    /// matches that record. One bit per pair is opened.
    pub fn verify_batch(
        &self,
        net: &mut dyn Transport,
        session: SessionId,
        pairs: &[(RecordId, Vec<QueryShare>)],
    ) -> Result<Vec<bool>, EngineError> {
        let slots = pairs
            .iter()
            .map(|(id, _)| {
                self.gallery
                    .slot(*id)
                    .ok_or(EngineError::UnknownRecord(id.0))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let queries: Vec<Vec<QueryShare>> = pairs.iter().map(|(_, q)| q.clone()).collect();
        self.run(net, session, &queries, Plan::Pairs(slots))
    }

    /// The mask-coverage gate ([`crate::coverage`]) for a batch of templates (each a
    /// vector of eye shares, query or enrolment form): whether every eye of each keeps
    /// at least `gate`'s valid pairs. One bit per template is opened, nothing else. A
    /// custodian runs this on every query before [`PartyEngine::search`] or
    /// [`PartyEngine::verify`] and on every enrolment share before
    /// [`PartyEngine::insert`], and refuses a template that fails: without the gate a
    /// nearly masked query matches strangers and a fully masked one is never a duplicate.
    /// `gate` is a network parameter all three custodians agree on, never a request's.
    /// `session` as for [`PartyEngine::search`].
    pub fn gate<F: CountableForm>(
        &self,
        net: &mut dyn Transport,
        session: SessionId,
        templates: &[Vec<EyeShare<F>>],
        gate: CoverageGate,
    ) -> Result<Vec<bool>, EngineError> {
        for t in templates {
            self.gallery.check_shape(t)?;
        }
        let mut s = self.start(net, session, Protocol::CoverageGate)?;
        // The gate is a network parameter: a custodian with another one would let
        // through what the others refuse (or the reverse). Compared, never trusted.
        // Both answers first, then the verdict, so every party refuses on what it saw
        // and none leaves a peer waiting.
        let ours = gate.min_bits();
        for (peer, bytes) in s.exchange_with_peers(&ours.to_be_bytes())? {
            let theirs = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            if theirs != ours {
                return Err(EngineError::GateMismatch { peer, theirs, ours });
            }
        }
        Ok(gate_templates(&mut s, templates, gate)?)
    }

    /// Validates a batch of client templates on shares ([`crate::validate`]): for each,
    /// whether its three shares lie on one degree-1 polynomial and its elements are a
    /// possible iris encoding (code in {−1, 0, 1}, non-zero only where the mask is valid,
    /// mask in {0, 1}). A custodian runs this on every share a wallet sends, before
    /// [`PartyEngine::gate`], and refuses an invalid template without answering it.
    /// `session` as for [`PartyEngine::search`].
    pub fn validate<F: ElementForm>(
        &self,
        net: &mut dyn Transport,
        session: SessionId,
        templates: &[Vec<EyeShare<F>>],
    ) -> Result<Vec<bool>, EngineError> {
        for t in templates {
            self.gallery.check_shape(t)?;
        }
        let mut s = self.start(net, session, Protocol::Validation)?;
        Ok(validate_templates(&mut s, templates)?)
    }

    /// For each (query, enrolment) pair of one wallet's request, whether both forms
    /// encode the same template ([`crate::validate::same_templates`]), so what passed 1:N
    /// is what gets stored. Both must have passed [`PartyEngine::validate`] first.
    /// `session` as for [`PartyEngine::search`].
    pub fn same_templates(
        &self,
        net: &mut dyn Transport,
        session: SessionId,
        pairs: &[TemplatePair],
    ) -> Result<Vec<bool>, EngineError> {
        for (q, r) in pairs {
            self.gallery.check_shape(q)?;
            self.gallery.check_shape(r)?;
        }
        let mut s = self.start(net, session, Protocol::Validation)?;
        Ok(same_templates(&mut s, pairs)?)
    }

    /// Opens session `session` of `protocol` over `net`: checks the transport speaks for
    /// this engine's party and carries this session, claims the id in the ledger (before
    /// anything is sent) and keys the session's PRFs.
    fn start<'t>(
        &self,
        net: &'t mut dyn Transport,
        session: SessionId,
        protocol: Protocol,
    ) -> Result<Session<'t>, EngineError> {
        if net.party() != self.gallery.party() {
            return Err(EngineError::TransportParty {
                engine: self.gallery.party(),
                transport: net.party(),
            });
        }
        self.ledger.claim_for(session, &*net)?;
        let rand = CorrelatedRandomness::for_protocol(&self.seeds, protocol, session);
        Ok(Session::new(net, rand))
    }

    fn run(
        &self,
        net: &mut dyn Transport,
        session: SessionId,
        queries: &[Vec<QueryShare>],
        plan: Plan,
    ) -> Result<Vec<bool>, EngineError> {
        for q in queries {
            self.gallery.check_shape(q)?;
        }
        if queries.is_empty() {
            return Ok(Vec::new());
        }
        let protocol = match plan {
            Plan::Search { .. } => Protocol::Search,
            Plan::Pairs(_) => Protocol::Verify,
        };
        let mut s = self.start(net, session, protocol)?;
        // Before the empty-gallery shortcut: a party whose gallery is empty while the
        // others' are not must refuse with them, not return alone.
        self.check_aligned(&mut s)?;
        if plan.pairs(queries.len()) == 0 {
            return Ok(vec![false; queries.len()]);
        }
        let matched = self.decide(&mut s, queries, &plan)?;
        let opened = {
            let _t = timer(Phase::Threshold);
            open_bits(&mut s, &matched)?
        };
        Ok((0..queries.len()).map(|q| bit(&opened, q)).collect())
    }

    /// Exchanges gallery layout digests with both peers and refuses the session unless
    /// all three are equal. Every party sees both others' digests, so all three refuse
    /// together (no party is left waiting for a peer that stopped).
    fn check_aligned(&self, s: &mut Session<'_>) -> Result<(), EngineError> {
        let mine = self.gallery.layout_digest();
        for (peer, theirs) in s.exchange_with_peers(&mine)? {
            if theirs != mine {
                return Err(EngineError::GalleryMismatch {
                    peer,
                    records: self.gallery.len(),
                });
            }
        }
        Ok(())
    }

    /// Both dot products of every comparison, code then mask, in one vector (so one
    /// re-sharing message carries them all), in the layout `[rotation][eye][pair]`.
    fn dot_products(&self, queries: &[Vec<QueryShare>], plan: &Plan) -> Wiped<Z16> {
        let (eyes, nq) = (self.gallery.eyes(), queries.len());
        let pairs = plan.pairs(nq);
        let total = ROTATION_COUNT * eyes * pairs;
        let mut both = Wiped::zeroed(2 * total);
        for side in 0..eyes {
            match plan {
                Plan::Search { slots, batch } => {
                    let prepared: Vec<Wiped<u16>> = {
                        let _t = timer(Phase::QueryPreparation);
                        queries.iter().map(|q| prepare_query(&q[side])).collect()
                    };
                    // Query rows m = rotation · nq + query against every record at once.
                    let rows: Vec<&[u16]> = (0..ROTATION_COUNT * nq)
                        .map(|m| row(&prepared[m % nq], m / nq))
                        .collect();
                    // [segment][row][record] to [segment][rotation][eye][record · nq +
                    // query], run by run as the kernel's spans come out.
                    self.gallery.dot_products_each(
                        side,
                        &rows,
                        slots.clone(),
                        |segment, m, first, raw| {
                            let (r, q) = (m / nq, m % nq);
                            let base = segment * total + (r * eyes + side) * pairs + q;
                            for (k, &v) in raw.iter().enumerate() {
                                both[base + (first + k) * nq] = segment_value(segment, v);
                            }
                        },
                    );
                    // The batch's enrolments are rows `records + earlier`; only the
                    // pairs with an earlier request are kept, the others stay zero
                    // shares, whose comparison decides "no match".
                    let earlier_rows = plan.batch_rows(nq);
                    if let Some(batch) = batch.as_ref().filter(|_| earlier_rows > 0) {
                        let records = slots.len();
                        batch.dot_products_each(
                            side,
                            &rows,
                            0..earlier_rows,
                            |segment, m, first, raw| {
                                let (r, q) = (m / nq, m % nq);
                                let base = segment * total + (r * eyes + side) * pairs + q;
                                for (k, &v) in raw.iter().enumerate().take(q.saturating_sub(first))
                                {
                                    let row = records + first + k;
                                    both[base + row * nq] = segment_value(segment, v);
                                }
                            },
                        );
                    }
                }
                Plan::Pairs(slots) => {
                    for (pair, &slot) in slots.iter().enumerate() {
                        // Prepared one pair at a time: 1.2 MB of rows per query.
                        let prepared = prepare_query(&queries[pair][side]);
                        let rows: Vec<&[u16]> = prepared.chunks_exact(ELEMENTS).collect();
                        let (code, mask) = self.gallery.row_dot_products(side, &rows, slot);
                        for (r, (&c, &k)) in code.iter().zip(&mask).enumerate() {
                            let at = (r * eyes + side) * pairs + pair;
                            both[at] = c;
                            both[total + at] = k;
                        }
                    }
                }
            }
        }
        both
    }

    /// The shared decision bit of every query (1:N) or pair (1:1).
    fn decide(
        &self,
        s: &mut Session<'_>,
        queries: &[Vec<QueryShare>],
        plan: &Plan,
    ) -> Result<BitShares, NetError> {
        let (eyes, pairs) = (self.gallery.eyes(), plan.pairs(queries.len()));
        let total = ROTATION_COUNT * eyes * pairs;
        // The local additive shares of every dot product: wiped when done.
        let both = self.dot_products(queries, plan);
        let _t = timer(Phase::Threshold);
        // The comparisons are independent until the OR over rotations: re-share and
        // threshold them a chunk at a time, so every vector of the circuits stays a few
        // hundred kilobytes (reused by the allocator, in cache) instead of tens of
        // megabytes of fresh pages per step. Chunks are whole words of match bits.
        let mut this = Vec::with_capacity(words_for(total));
        let mut next = Vec::with_capacity(words_for(total));
        for start in (0..total).step_by(THRESHOLD_CHUNK) {
            let end = (start + THRESHOLD_CHUNK).min(total);
            let mut additive = Vec::with_capacity(2 * (end - start));
            additive.extend_from_slice(&both[start..end]);
            additive.extend_from_slice(&both[total + start..total + end]);
            // Re-shared in place: the additive shares become (and are wiped with) the
            // replicated ones.
            let (code_dot, mask_dot) = reshare(s, additive)?.split_at(end - start);
            let bits = Self::threshold_bits(s, self.rule, &code_dot, &mask_dot)?;
            this.extend_from_slice(&bits.this);
            next.extend_from_slice(&bits.next);
        }
        let matches = BitShares::from_components(this, next, total);
        let per_eye = or_groups(s, &matches, eyes * pairs)?;
        let per_pair = and_groups(s, &per_eye, pairs)?;
        match plan {
            Plan::Search { .. } => or_groups(s, &per_pair, queries.len()),
            Plan::Pairs(_) => Ok(per_pair),
        }
    }

    /// The shared match bit `code_dot·2^16 > mask_dot·A` of each comparison, from
    /// replicated shares of the two dot products (public so the rule can be checked
    /// against its plaintext twin on many values at once).
    pub fn threshold_bits(
        s: &mut Session<'_>,
        rule: FixedPointRule,
        code_dot: &ShareVec<Z16>,
        mask_dot: &ShareVec<Z16>,
    ) -> Result<BitShares, NetError> {
        let lifted = lift(s, mask_dot)?;
        // One pass per component (no intermediate vectors): `code·2^16 − A·mask`.
        let a = Z32(rule.a);
        let combine = |code: &[Z16], mask: &[Z32]| -> Vec<Z32> {
            code.iter()
                .zip(mask)
                .map(|(&c, &m)| Z32::shifted_z16(c) - m * a)
                .collect()
        };
        let mut d = ShareVec::from_components(
            combine(&code_dot.this, &lifted.this),
            combine(&code_dot.next, &lifted.next),
        );
        d.add_public(s.party(), Z32(u32::MAX));
        Ok(msb(s, &d)?.not(s.party()))
    }
}

/// Comparisons re-shared and thresholded together: a multiple of 64 (whole words of
/// match bits), small enough that a chunk's circuit vectors (4 bytes per value and
/// component, 32 bit planes) stay in the caches and come from the allocator's free
/// lists, large enough that the ~16 messages per chunk cost little.
const THRESHOLD_CHUNK: usize = 1 << 17;

/// Row `rotation` of a prepared query.
fn row(prepared: &[u16], rotation: usize) -> &[u16] {
    &prepared[rotation * ELEMENTS..(rotation + 1) * ELEMENTS]
}

/// Which comparisons a query session makes.
enum Plan {
    /// Every query against every record in `slots`, and with `batch` (the enrolment
    /// shares of the batch's requests, in query order) each query `q` also against the
    /// enrolments of the queries before it. Pairs are `row · nq + query`: rows
    /// `0..slots.len()` are the records, then [`Plan::batch_rows`] rows of the batch's
    /// enrolments (pair `(records + i, q)` is compared only when `i < q`).
    Search {
        slots: Range<usize>,
        batch: Option<Gallery>,
    },
    /// Query `i` against the record in slot `slots[i]` only.
    Pairs(Vec<usize>),
}

impl Plan {
    /// Query–record pairs laid out, for `nq` queries.
    fn pairs(&self, nq: usize) -> usize {
        match self {
            Plan::Search { slots, .. } => (slots.len() + self.batch_rows(nq)) * nq,
            Plan::Pairs(slots) => slots.len(),
        }
    }

    /// Rows of batch enrolments a 1:N of `nq` queries compares with: every request but
    /// the last is some later request's "earlier" one.
    fn batch_rows(&self, nq: usize) -> usize {
        match self {
            Plan::Search { batch: Some(_), .. } => nq.saturating_sub(1),
            _ => 0,
        }
    }
}
