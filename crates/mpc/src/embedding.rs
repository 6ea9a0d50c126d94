//! The embedding (face, voice, fingerprint) mode: cosine threshold in fixed point.
//!
//! An embedding is the template crate's [`QuantizedEmbedding`] (`round(x · 2^14)` per
//! component) shared in Z_2^32. A comparison is the dot product `q · r` (two local
//! products per element with the query side prepared as in [`crate::kernel`]), re-shared,
//! and the match bit `q · r ≥ T` of the template's [`CosineRule`] is
//! `NOT msb(q · r − T)`; `|q · r − T| < 2^31` for unit vectors of up to 4,096 dimensions.
//! The OR over records and the one-bit opening are as for irises.
//!
//! # Norm gate
//!
//! The cosine rule assumes unit vectors; the custodians never see one. A zero vector is
//! never a duplicate, a scaled-up one matches everyone, and a component of `2^16` squares
//! to 0 in Z_2^32. So every query and enrolment goes through [`EmbeddingEngine::gate`]
//! first, the twin of the template crate's `norm_gate_passes`: every component within
//! `±2^14` (two comparisons each), and the squared norm `2^28` within
//! `norm_tolerance(d)`. The squares (one multiplication) are summed in blocks of
//! [`SQUARE_BLOCK`] with every prefix checked against the upper bound, so no sum can wrap
//! past 2^31 before it is checked (`7·2^28 < 2^31`); the last prefix is also checked
//! against the lower bound. All comparisons are `NOT msb`, ANDed per template; one bit
//! per template is opened.

use crate::gallery::{GalleryError, RecordId};
use crate::net::{NetError, Transport};
use crate::protocol::Session;
use crate::protocol::arith::{mul, reshare};
use crate::protocol::binary::{and_groups, msb, or_groups};
use crate::protocol::bits::{bit, open_bits};
use crate::randomness::{CorrelatedRandomness, PartySeeds, Protocol, SessionId};
use crate::ring::Z32;
use crate::session::SessionLedger;
use crate::share::ShareVec;
use crate::{EngineError, PartyId};
use masque_template::embedding::norm_tolerance;
use masque_template::{CosineRule, QuantizedEmbedding};
use rand::CryptoRng;
use zeroize::Zeroize;

/// Squares summed per block of the norm gate: `7·2^28 < 2^31`, so a prefix that passed
/// its check plus one block never wraps past the sign bit.
pub const SQUARE_BLOCK: usize = 7;

/// The wallet side: an embedding's replicated shares for the three parties, with
/// randomness from the operating system.
pub fn share_embedding(e: &QuantizedEmbedding) -> [ShareVec<Z32>; 3] {
    share_embedding_with(e, &mut crate::os_rng())
}

/// [`share_embedding`] from a caller's generator: reproducible tests and benches only
/// (feature `seeded-rng`).
#[cfg(any(test, feature = "seeded-rng"))]
pub fn share_embedding_seeded(
    e: &QuantizedEmbedding,
    rng: &mut impl CryptoRng,
) -> [ShareVec<Z32>; 3] {
    share_embedding_with(e, rng)
}

fn share_embedding_with(e: &QuantizedEmbedding, rng: &mut impl CryptoRng) -> [ShareVec<Z32>; 3] {
    let values: Vec<Z32> = e
        .values()
        .iter()
        .map(|&v| Z32::from_i64(v.into()))
        .collect();
    let dealt = crate::share::share_vec_with(&values, rng);
    PartyId::ALL.map(|p| dealt.for_party(p))
}

/// One custodian's embedding gallery and engine.
pub struct EmbeddingEngine {
    seeds: PartySeeds,
    ledger: SessionLedger,
    rule: CosineRule,
    dimensions: usize,
    ids: Vec<RecordId>,
    /// Per record: component `i` then component `i+1`, `2 * dimensions` elements.
    shares: Vec<Z32>,
}

impl std::fmt::Debug for EmbeddingEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "EmbeddingEngine({} records of {} dimensions)",
            self.ids.len(),
            self.dimensions
        )
    }
}

impl Drop for EmbeddingEngine {
    fn drop(&mut self) {
        self.shares.iter_mut().for_each(Zeroize::zeroize);
    }
}

impl EmbeddingEngine {
    /// An empty gallery of `dimensions`-dimensional embeddings deciding with `rule`.
    pub fn new(seeds: PartySeeds, dimensions: usize, rule: CosineRule) -> Self {
        Self {
            seeds,
            ledger: SessionLedger::in_memory(),
            rule,
            dimensions,
            ids: Vec::new(),
            shares: Vec::new(),
        }
    }

    /// Enrolled records.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no record is enrolled.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn check(&self, e: &ShareVec<Z32>) -> Result<(), GalleryError> {
        if e.len() == self.dimensions {
            Ok(())
        } else {
            Err(GalleryError::WrongShape {
                expected: 1,
                given: format!(
                    "an embedding of {} dimensions, not {}",
                    e.len(),
                    self.dimensions
                ),
            })
        }
    }

    /// Enrols a record's shares; nothing changes on error.
    pub fn insert(&mut self, id: RecordId, e: &ShareVec<Z32>) -> Result<(), EngineError> {
        self.check(e)?;
        if self.ids.contains(&id) {
            return Err(GalleryError::Duplicate(id.0).into());
        }
        let needed = self.shares.len() + 2 * self.dimensions;
        if needed > self.shares.capacity() {
            // Grow into a new buffer and wipe the old one: a plain `extend` would leave
            // the old copy (deleted records' shares included) in freed memory.
            let mut bigger = Vec::with_capacity(needed.max(2 * self.shares.capacity()));
            bigger.extend_from_slice(&self.shares);
            self.shares.zeroize();
            self.shares = bigger;
        }
        self.shares.extend_from_slice(&e.this);
        self.shares.extend_from_slice(&e.next);
        self.ids.push(id);
        Ok(())
    }

    /// Deletes a record's shares (moved over by the last record, tail zeroized).
    pub fn remove(&mut self, id: RecordId) -> bool {
        let Some(slot) = self.ids.iter().position(|&r| r == id) else {
            return false;
        };
        let (stride, last) = (2 * self.dimensions, self.ids.len() - 1);
        if slot != last {
            self.shares
                .copy_within(last * stride..(last + 1) * stride, slot * stride);
        }
        self.shares[last * stride..]
            .iter_mut()
            .for_each(Zeroize::zeroize);
        self.shares.truncate(last * stride);
        self.ids.swap_remove(slot);
        true
    }

    /// Keeps the session ids this engine uses in `ledger` (a file-backed one in a
    /// custodian node, so ids stay unique across restarts); the default lives in memory.
    pub fn with_ledger(mut self, ledger: SessionLedger) -> Self {
        self.ledger = ledger;
        self
    }

    /// 1:N for a batch of queries (`session` as for [`crate::engine::PartyEngine::search`]).
    pub fn search(
        &self,
        net: &mut dyn Transport,
        session: SessionId,
        queries: &[ShareVec<Z32>],
    ) -> Result<Vec<bool>, EngineError> {
        let slots: Vec<usize> = (0..self.ids.len()).collect();
        self.run(net, session, queries, &slots)
    }

    /// 1:1 against record `id`.
    pub fn verify(
        &self,
        net: &mut dyn Transport,
        session: SessionId,
        id: RecordId,
        query: &ShareVec<Z32>,
    ) -> Result<bool, EngineError> {
        let slot = self
            .ids
            .iter()
            .position(|&r| r == id)
            .ok_or(EngineError::UnknownRecord(id.0))?;
        Ok(self.run(net, session, std::slice::from_ref(query), &[slot])?[0])
    }

    fn run(
        &self,
        net: &mut dyn Transport,
        session: SessionId,
        queries: &[ShareVec<Z32>],
        slots: &[usize],
    ) -> Result<Vec<bool>, EngineError> {
        queries.iter().try_for_each(|q| self.check(q))?;
        if queries.is_empty() || slots.is_empty() {
            return Ok(vec![false; queries.len()]);
        }
        self.ledger.claim_for(session, &*net)?;
        let rand = CorrelatedRandomness::for_protocol(&self.seeds, Protocol::Embedding, session);
        let mut s = Session::new(net, rand);
        let decided = self.decide(&mut s, queries, slots)?;
        let opened = open_bits(&mut s, &decided)?;
        Ok((0..queries.len()).map(|q| bit(&opened, q)).collect())
    }

    /// The norm gate (module docs) for a batch of query or enrolment vectors: whether
    /// each is a quantised unit vector. One bit per vector is opened. A custodian runs it
    /// before searching, verifying or storing a vector, and refuses one that fails.
    /// `session` as for [`crate::engine::PartyEngine::search`].
    pub fn gate(
        &self,
        net: &mut dyn Transport,
        session: SessionId,
        vectors: &[ShareVec<Z32>],
    ) -> Result<Vec<bool>, EngineError> {
        vectors.iter().try_for_each(|v| self.check(v))?;
        if vectors.is_empty() {
            return Ok(Vec::new());
        }
        self.ledger.claim_for(session, &*net)?;
        let rand =
            CorrelatedRandomness::for_protocol(&self.seeds, Protocol::EmbeddingGate, session);
        let mut s = Session::new(net, rand);
        let (n, d, me) = (vectors.len(), self.dimensions, s.party());
        let limit = Z32(1 << QuantizedEmbedding::FRACTION_BITS);
        let one = Z32(1 << (2 * QuantizedEmbedding::FRACTION_BITS));
        let tolerance = Z32::from_i64(norm_tolerance(d));
        let all = ShareVec::from_components(
            vectors
                .iter()
                .flat_map(|v| v.this.iter().copied())
                .collect(),
            vectors
                .iter()
                .flat_map(|v| v.next.iter().copied())
                .collect(),
        );
        let squares = mul(&mut s, &all, &all)?;
        // Members (values that must be >= 0), member-major: bit m·n + t.
        let blocks = d.div_ceil(SQUARE_BLOCK);
        let members = 2 * d + blocks + 1;
        let (mut this, mut next) = (vec![Z32(0); members * n], vec![Z32(0); members * n]);
        let mut set = |m: usize, t: usize, v: (Z32, Z32)| {
            this[m * n + t] = v.0;
            next[m * n + t] = v.1;
        };
        for (t, v) in vectors.iter().enumerate() {
            for i in 0..d {
                set(2 * i, t, (v.this[i], v.next[i]));
                set(2 * i + 1, t, (-v.this[i], -v.next[i]));
            }
            let (mut p_this, mut p_next) = (Z32(0), Z32(0));
            for b in 0..blocks {
                for i in b * SQUARE_BLOCK..((b + 1) * SQUARE_BLOCK).min(d) {
                    p_this += squares.this[t * d + i];
                    p_next += squares.next[t * d + i];
                }
                set(2 * d + b, t, (-p_this, -p_next));
            }
            set(2 * d + blocks, t, (p_this, p_next));
        }
        let mut values = ShareVec::from_components(this, next);
        // Public offsets, per member: +limit for q + limit, +limit for limit − q,
        // one + tolerance − P, P − (one − tolerance).
        let offsets: Vec<Z32> = (0..members)
            .map(|m| match m {
                m if m < 2 * d => limit,
                m if m < 2 * d + blocks => one + tolerance,
                _ => tolerance - one,
            })
            .collect();
        values.add_public_each(me, |k| offsets[k / n]);
        let nonnegative = msb(&mut s, &values)?.not(me);
        let passed = and_groups(&mut s, &nonnegative, n)?;
        let opened = open_bits(&mut s, &passed)?;
        Ok((0..n).map(|t| bit(&opened, t)).collect())
    }

    fn decide(
        &self,
        s: &mut Session<'_>,
        queries: &[ShareVec<Z32>],
        slots: &[usize],
    ) -> Result<crate::protocol::bits::BitShares, NetError> {
        let d = self.dimensions;
        // `x_i + x_{i+1}` and `x_i` of each query: secret-dependent, wiped on drop.
        let prepared: Vec<zeroize::Zeroizing<Vec<Z32>>> = queries
            .iter()
            .map(|q| {
                let mut v = zeroize::Zeroizing::new(Vec::with_capacity(2 * d));
                v.extend(q.this.iter().zip(&q.next).map(|(&a, &b)| a + b));
                v.extend_from_slice(&q.this);
                v
            })
            .collect();
        let mut additive = Vec::with_capacity(slots.len() * queries.len());
        for &slot in slots {
            let stored = &self.shares[slot * 2 * d..(slot + 1) * 2 * d];
            for q in &prepared {
                additive.push(
                    q.iter()
                        .zip(stored)
                        .fold(Z32(0), |acc, (&a, &b)| acc + a * b),
                );
            }
        }
        let mut dots = reshare(s, additive)?;
        dots.add_public(s.party(), -Z32::from_i64(self.rule.dot_threshold.into()));
        let matches = msb(s, &dots)?.not(s.party());
        or_groups(s, &matches, queries.len())
    }
}
