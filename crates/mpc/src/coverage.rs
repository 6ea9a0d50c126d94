//! The mask-coverage gate on shares ([`masque_template::CoverageGate`] is its plaintext
//! twin): for each eye of each template, whether it keeps at least the gate's number of
//! valid mask pairs, with only one pass/fail bit per template opened.
//!
//! The count is linear in the shares, so each custodian computes its part locally. The
//! mask elements of an encoded eye ([`crate::encode`]) are 1 for a valid real/imaginary
//! pair and 0 otherwise, so the count is the dot product of the eye with a public "all
//! valid" eye. A public value is its own Shamir share (a constant polynomial), so party
//! `Pj`'s additive share of the count is `Σ_k Tr(λ_j · x_k · c)` over the mask groups
//! `k`, with `c` the all-ones group packed in the form opposite to the share's (the
//! polynomial basis against a query share, the dual basis against an enrolment share).
//! The three additive shares are re-shared, lifted to Z_2^32, and compared with the
//! gate as `NOT msb(count − min)`; the eyes of a template are ANDed; one bit per
//! template is opened.
//!
//! Cost: one Z_2^16 product and trace per mask group (1,600 per eye) and one comparison
//! per eye: per template, not per comparison.
//!
//! Not covered here: a client that sends mask elements outside {0, 1} (a 2 counts twice).
//! Checking the shares' ranges and degree is a separate validation.

use crate::dealer::{Enrolment, EyeShare, Query};
use crate::encode::CODE_GROUPS;
use crate::galois::Gr4;
use crate::net::NetError;
use crate::protocol::Session;
use crate::protocol::arith::reshare;
use crate::protocol::binary::{and_groups, lift, msb};
use crate::protocol::bits::{bit, open_bits};
use crate::ring::{Z16, Z32};
use crate::shamir::lagrange_at_zero;
use masque_template::CoverageGate;

/// A share form whose valid-pair count can be taken on shares.
pub trait CountableForm {
    /// The all-valid group in the opposite packing.
    fn all_valid() -> Gr4;
}

impl CountableForm for Query {
    fn all_valid() -> Gr4 {
        Gr4([1; 4])
    }
}

impl CountableForm for Enrolment {
    fn all_valid() -> Gr4 {
        Gr4::from_dual([1; 4])
    }
}

/// This party's additive share of the number of valid mask pairs of one eye.
pub fn valid_pairs_share<F: CountableForm>(eye: &EyeShare<F>) -> Z16 {
    let weight = lagrange_at_zero(eye.party()) * F::all_valid();
    let sum = eye.groups()[CODE_GROUPS..]
        .iter()
        .fold(0u16, |acc, &g| acc.wrapping_add((g * weight).trace().0));
    Z16(sum)
}

/// Whether every eye of each template passes `gate`, opened: `templates[t]` holds one
/// template's eye shares (all templates with the same number of eyes). Runs one
/// protocol session on `s`.
pub fn gate_templates<F: CountableForm>(
    s: &mut Session<'_>,
    templates: &[Vec<EyeShare<F>>],
    gate: CoverageGate,
) -> Result<Vec<bool>, NetError> {
    let n = templates.len();
    let eyes = templates.first().map_or(0, Vec::len);
    if n == 0 || eyes == 0 {
        return Ok(vec![true; n]);
    }
    // Layout [eye][template], so the AND over eyes reduces the outer index.
    let counts: Vec<Z16> = (0..eyes)
        .flat_map(|e| templates.iter().map(move |t| valid_pairs_share(&t[e])))
        .collect();
    let counts = reshare(s, counts)?;
    let mut d = lift(s, &counts)?;
    d.add_public(s.party(), Z32(gate.min_pairs().wrapping_neg()));
    let passes = msb(s, &d)?.not(s.party());
    let per_template = and_groups(s, &passes, n)?;
    let opened = open_bits(s, &per_template)?;
    Ok((0..n).map(|t| bit(&opened, t)).collect())
}
