//! Validation of a client's shares, on shares, opening nothing but zeros when the shares
//! are well formed.
//!
//! A custodian checked a query or enrolment share only for its party and length. A wallet
//! that deals anything else (three shares that lie on no degree-1 polynomial, or element
//! values outside the encoding) would get an answer computed from garbage: a code element
//! of 2 or 32,769 weighs its comparisons, a ±1 where the mask says "invalid" is counted in
//! `code_dot` but not in `mask_dot`, a mask element of 2 counts twice in the coverage
//! gate. So before a template is gated, searched or stored, the custodians check on shares:
//!
//! 1. **Degree 1.** The polynomial through the three parties' shares of a group has
//!    degree ≤ 1 iff its `x²` coefficient `Σ_j μ_j·u_j` is zero (`μ_j = 1/Π_{k≠j}(α_j −
//!    α_k)`). Each party takes `Σ_k ρ_k·μ_j·u_{j,k}` over the groups with public random
//!    `ρ_k ∈ GR(2^16, 4)`, adds a zero-sharing (re-share) and the sum is opened: zero for
//!    honest shares, and then nothing else is revealed. A non-zero coefficient survives a
//!    random combination except with probability at most 1/16 (the residue field has 16
//!    elements), so [`DEGREE_CHECKS`] = 8 independent combinations leave 2^-32.
//! 2. **Element ranges.** Each element's additive shares are local (a trace form of the
//!    query's dual packing, a coefficient of the enrolment's polynomial packing); they are
//!    re-shared and lifted to Z_2^32, where, for a value `x < 2^16`:
//!    mask elements must satisfy `x·(x − 1) = 0` (roots 0, 1 only, since the product is
//!    below 2^32); code elements `x·(x − 1)·(x − 65535) = 0` (roots 0, 1, 65535 = −1
//!    only; the product's 2-adic valuation is at most 16 elsewhere, checked exhaustively
//!    in the tests); and each code element is non-zero exactly where the mask element
//!    of its pair is 1: `(x − 1)(x − 65535) − 65535·(1 − m) = 0`. A random Z_2^32 linear
//!    combination of all these is opened, [`RANGE_CHECKS`] = 2 times: a non-zero term of
//!    valuation ≤ 16 survives with probability ≤ 2^-16 each.
//!
//! The public randomness `ρ` comes from a joint coin: each custodian contributes 32 fresh
//! bytes from the operating system's generator, so the wallet, which dealt its shares
//! before, cannot predict it. One bit per template (valid or not) is the result; what is
//! opened is zero for a valid template and a random-looking value about the invalid
//! client's own input otherwise.
//!
//! Semi-honest custodians, as everywhere in this crate: this protects the custodians
//! from a hostile or faulty *client*, not from a deviating custodian.

use crate::dealer::{Enrolment, EyeShare, Query};
use crate::encode::{CODE_ELEMENTS, ELEMENTS, mask_of_code_positions};
use crate::galois::{DEGREE, Gr4};
use crate::net::NetError;
use crate::party::PartyId;
use crate::protocol::Session;
use crate::protocol::arith::{mul, open, reshare};
use crate::protocol::binary::lift;
use crate::ring::{Z16, Z32};
use crate::shamir::{lagrange_at_zero, point};
use crate::share::ShareVec;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

/// Independent random combinations for the degree check (soundness 16^-8 = 2^-32).
pub const DEGREE_CHECKS: usize = 8;
/// Independent random combinations for the range checks (soundness (2^-16)^2 = 2^-32).
pub const RANGE_CHECKS: usize = 2;

/// A share form whose element values each party can take an additive share of.
pub trait ElementForm: Sized {
    /// This party's additive shares of the eye's [`ELEMENTS`] encoded elements.
    fn element_shares(eye: &EyeShare<Self>) -> Vec<Z16>;
}

impl ElementForm for Query {
    /// In the dual packing, element `i` of a group is `Tr(X^i·u)`: the trace form.
    fn element_shares(eye: &EyeShare<Self>) -> Vec<Z16> {
        let lambda = lagrange_at_zero(eye.party());
        eye.groups()
            .iter()
            .flat_map(|&u| (lambda * u).trace_form().map(Z16))
            .collect()
    }
}

impl ElementForm for Enrolment {
    /// In the polynomial packing, element `i` of a group is its coefficient `i`.
    fn element_shares(eye: &EyeShare<Self>) -> Vec<Z16> {
        let lambda = lagrange_at_zero(eye.party());
        eye.groups()
            .iter()
            .flat_map(|&g| (lambda * g).0.map(Z16))
            .collect()
    }
}

/// `1/Π_{k≠j}(α_j − α_k)`: party `j`'s weight in the `x²` coefficient of the polynomial
/// through the three parties' shares.
fn leading_weight(party: PartyId) -> Gr4 {
    let own = point(party);
    let product = PartyId::ALL
        .into_iter()
        .filter(|&p| p != party)
        .fold(Gr4::ONE, |acc, p| acc * (own - point(p)));
    product
        .inverse()
        .expect("the parties' points differ by units")
}

fn random_gr(rng: &mut ChaCha20Rng) -> Gr4 {
    let w = rng.next_u64();
    Gr4(std::array::from_fn(|i| (w >> (16 * i)) as u16))
}

/// The joint coin: every party's 32 fresh bytes, hashed in party order.
fn joint_coin(s: &mut Session<'_>) -> Result<ChaCha20Rng, NetError> {
    let mut mine = [0u8; 32];
    rand::rng().fill_bytes(&mut mine);
    let mut contributions = [[0u8; 32]; 3];
    contributions[s.party().index()] = mine;
    for (peer, bytes) in s.exchange_with_peers(&mine)? {
        contributions[peer.index()].copy_from_slice(&bytes);
    }
    let mut h = Sha256::new();
    h.update(b"masque-mpc/validate/v1\0");
    contributions.iter().for_each(|c| h.update(c));
    Ok(ChaCha20Rng::from_seed(h.finalize().into()))
}

/// Whether each template's shares are well formed (degree 1, elements in range, code
/// elements only where the mask is valid). `templates[t]` holds one template's eye
/// shares; all templates have the same number of eyes. Runs on `s`.
pub fn validate_templates<F: ElementForm>(
    s: &mut Session<'_>,
    templates: &[Vec<EyeShare<F>>],
) -> Result<Vec<bool>, NetError> {
    let n = templates.len();
    let eyes = templates.first().map_or(0, Vec::len);
    if n == 0 || eyes == 0 {
        return Ok(vec![true; n]);
    }
    let me = s.party();
    let mut rho = joint_coin(s)?;

    // 1. Degree: DEGREE_CHECKS random combinations of the x² coefficients per template.
    let mu = leading_weight(me);
    let mut degree = Vec::with_capacity(n * eyes * DEGREE_CHECKS * DEGREE);
    for template in templates {
        for eye in template {
            let weighted: Vec<Gr4> = eye.groups().iter().map(|&g| mu * g).collect();
            for _ in 0..DEGREE_CHECKS {
                let acc = weighted
                    .iter()
                    .fold(Gr4::ZERO, |acc, &w| acc + random_gr(&mut rho) * w);
                degree.extend(acc.0.map(Z16));
            }
        }
    }
    let degree = reshare(s, degree)?;
    let degree = open(s, &degree)?;
    let per_template = eyes * DEGREE_CHECKS * DEGREE;
    let degree_ok: Vec<bool> = degree
        .chunks(per_template)
        .map(|c| c.iter().all(|&z| z == Z16(0)))
        .collect();

    // 2. Ranges, on the elements lifted to Z_2^32. Layout per (template, eye): the
    //    ELEMENTS elements, code first then mask.
    let elements: Vec<Z16> = templates
        .iter()
        .flat_map(|t| t.iter().flat_map(F::element_shares))
        .collect();
    let shared = reshare(s, elements)?;
    let x = lift(s, &shared)?;
    let is_code = |i: usize| i % ELEMENTS < CODE_ELEMENTS;
    // First products, in x's layout: (x − 1)(x − 65535) at code elements (w), x(x − 1)
    // at mask elements.
    let mut left = x.clone();
    left.add_public_each(me, |i| if is_code(i) { -Z32(1) } else { Z32(0) });
    let mut right = x.clone();
    right.add_public_each(me, |i| if is_code(i) { -Z32(65_535) } else { -Z32(1) });
    let first = mul(s, &left, &right)?;
    // Second products at code elements only: x·w = x(x − 1)(x − 65535).
    let code_part = |v: &ShareVec<Z32>| {
        let pick = |c: &[Z32]| -> Vec<Z32> {
            c.iter()
                .enumerate()
                .filter(|&(i, _)| is_code(i))
                .map(|(_, &v)| v)
                .collect()
        };
        ShareVec::from_components(pick(&v.this), pick(&v.next))
    };
    let cubic = mul(s, &code_part(&x), &code_part(&first))?;
    let mask_of_code = mask_of_code_positions();

    // Terms per block (template eye) that must all be zero: the cubic (code), x(x − 1)
    // (mask), and the pairing w − 65535 + 65535·m (code), in random combinations.
    let mut combos = Vec::with_capacity(n * RANGE_CHECKS);
    for t in 0..n {
        for _ in 0..RANGE_CHECKS {
            let (mut this, mut next) = (Z32(0), Z32(0));
            let mut constant = Z32(0);
            for b in t * eyes..(t + 1) * eyes {
                let (eye, code) = (b * ELEMENTS, b * CODE_ELEMENTS);
                for k in code..code + CODE_ELEMENTS {
                    let r = Z32(rho.next_u32());
                    this += r * cubic.this[k];
                    next += r * cubic.next[k];
                }
                for k in eye + CODE_ELEMENTS..eye + ELEMENTS {
                    let r = Z32(rho.next_u32());
                    this += r * first.this[k];
                    next += r * first.next[k];
                }
                let mask = eye + CODE_ELEMENTS;
                for (k, &q) in mask_of_code.iter().enumerate() {
                    let r = Z32(rho.next_u32());
                    this += r * (first.this[eye + k] + Z32(65_535) * x.this[mask + q]);
                    next += r * (first.next[eye + k] + Z32(65_535) * x.next[mask + q]);
                    constant += r * -Z32(65_535);
                }
            }
            combos.push((this, next, constant));
        }
    }
    let mut shared_combos = ShareVec::from_components(
        combos.iter().map(|c| c.0).collect(),
        combos.iter().map(|c| c.1).collect(),
    );
    shared_combos.add_public_each(me, |k| combos[k].2);
    let opened = open(s, &shared_combos)?;
    Ok((0..n)
        .map(|t| {
            degree_ok[t]
                && opened[t * RANGE_CHECKS..(t + 1) * RANGE_CHECKS]
                    .iter()
                    .all(|&z| z == Z32(0))
        })
        .collect())
}

/// One wallet's template in both forms: the query shares (eye by eye) and the enrolment
/// shares of the same eyes.
pub type TemplatePair = (Vec<EyeShare<Query>>, Vec<EyeShare<Enrolment>>);

/// Whether each pair of templates (a query form and an enrolment form, eye by eye)
/// encodes the same iris code: what the custodians check before storing an enrolment
/// share, so a wallet cannot pass 1:N with one template and store another. Both must
/// have passed [`validate_templates`] (elements an iris encoding), which makes the check
/// exact: with `e ∈ {−1, 0, 1}` non-zero on the valid pairs only, `Σ e_q·e_r = 2·n_q =
/// 2·n_r` (`n` the valid pairs) holds iff the two codes and masks are equal. Each party's
/// additive shares of `code_dot − 2·n_q` and `n_q − n_r` per eye are linear in its shares;
/// they are re-shared and opened, so equal templates open zeros and nothing else.
pub fn same_templates(s: &mut Session<'_>, pairs: &[TemplatePair]) -> Result<Vec<bool>, NetError> {
    let me = s.party();
    let lambda = lagrange_at_zero(me);
    let mut differences = Vec::new();
    for (queries, enrolments) in pairs {
        for (q, r) in queries.iter().zip(enrolments) {
            let code_dot = q.groups()[..crate::encode::CODE_GROUPS]
                .iter()
                .zip(&r.groups()[..crate::encode::CODE_GROUPS])
                .fold(Z16(0), |acc, (&u, &g)| acc + (lambda * u * g).trace());
            let (n_q, n_r) = (
                crate::coverage::valid_pairs_share(q),
                crate::coverage::valid_pairs_share(r),
            );
            differences.push(code_dot - n_q - n_q);
            differences.push(n_q - n_r);
        }
    }
    let shared = reshare(s, differences)?;
    let opened = open(s, &shared)?;
    let mut at = 0;
    Ok(pairs
        .iter()
        .map(|(queries, _)| {
            let width = 2 * queries.len();
            let same = opened[at..at + width].iter().all(|&z| z == Z16(0));
            at += width;
            same
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The range polynomials have no spurious roots below 2^16, and their non-zero values
    /// have 2-adic valuation at most 16 (the soundness bound of one random combination).
    #[test]
    fn range_polynomials_are_exact_on_sixteen_bit_values() {
        let mut max_valuation = 0;
        for v in 0u32..=u32::from(u16::MAX) {
            let x = Z32(v);
            let cubic = x * (x - Z32(1)) * (x - Z32(65_535));
            let square = x * (x - Z32(1));
            assert_eq!(cubic == Z32(0), matches!(v, 0 | 1 | 65_535), "{v}");
            assert_eq!(square == Z32(0), matches!(v, 0 | 1), "{v}");
            for p in [cubic, square] {
                if p != Z32(0) {
                    max_valuation = max_valuation.max(p.0.trailing_zeros());
                }
            }
        }
        assert!(max_valuation <= 16, "{max_valuation}");
    }

    #[test]
    fn the_leading_weights_recover_the_x_squared_coefficient() {
        // f(x) = a + b·x + c·x² at the three points: Σ μ_j f(α_j) = c.
        let (a, b, c) = (Gr4([3, 1, 4, 1]), Gr4([5, 9, 2, 6]), Gr4([5, 3, 5, 8]));
        let sum = PartyId::ALL.into_iter().fold(Gr4::ZERO, |acc, p| {
            let x = point(p);
            acc + leading_weight(p) * (a + b * x + c * x * x)
        });
        assert_eq!(sum, c);
    }
}
