//! The custodians' check of a client's shares (`PartyEngine::validate`): honest shares of
//! any iris code pass in both forms; shares off a degree-1 polynomial, and consistent
//! shares of values no iris encoding has, are refused, each in a batch with honest ones.

use crate::common;

use common::{on_three, share_person};
use masque_mpc::PartyId;
use masque_mpc::dealer::{
    EnrolmentShare, EyeShare, QueryShare, ShareForm, enrolment_shares_of_elements,
    enrolment_shares_seeded, query_shares_of_elements, query_shares_seeded,
};
use masque_mpc::encode::{CODE_ELEMENTS, ELEMENTS, encode_iris, mask_of_code_positions};
use masque_mpc::engine::PartyEngine;
use masque_mpc::randomness::{PartySeeds, SessionId};
use masque_mpc::ring::Z16;
use masque_mpc::validate::ElementForm;
use masque_template::matcher::EyeMode;
use masque_template::{FixedPointRule, IrisCode, Threshold};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

static SESSIONS: AtomicU64 = AtomicU64::new(1);

fn engines() -> [PartyEngine; 3] {
    let seeds = PartySeeds::deal_seeded(&mut ChaCha20Rng::seed_from_u64(8));
    PartyId::ALL.map(|p| {
        PartyEngine::new(
            p,
            seeds[p.index()].clone(),
            EyeMode::SingleEye,
            FixedPointRule::new(Threshold::DEFAULT),
        )
    })
}

fn validate<F: ElementForm + Send + Sync>(templates: &[[EyeShare<F>; 3]]) -> Vec<bool>
where
    EyeShare<F>: Sync + Clone,
{
    let engines = engines();
    let per_party: [Vec<Vec<EyeShare<F>>>; 3] = PartyId::ALL.map(|p| {
        templates
            .iter()
            .map(|t| vec![t[p.index()].clone()])
            .collect()
    });
    let sid = SessionId(SESSIONS.fetch_add(1, Ordering::Relaxed));
    let got = on_three(&engines, sid, Duration::from_secs(60), |p, e, net, sid| {
        e.validate(net, sid, &per_party[p.index()]).unwrap()
    });
    assert!(
        got.iter().all(|g| g == &got[0]),
        "parties disagree: {got:?}"
    );
    got[0].clone()
}

fn codes(rng: &mut ChaCha20Rng) -> Vec<IrisCode> {
    [0.0, 0.3, 0.75, 1.0]
        .iter()
        .map(|&density| IrisCode::random(rng, density))
        .collect()
}

#[test]
fn honest_shares_of_any_code_are_valid_in_both_forms() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let codes = codes(&mut rng);
    let queries: Vec<[QueryShare; 3]> = codes
        .iter()
        .map(|c| query_shares_seeded(c, &mut rng))
        .collect();
    assert_eq!(validate(&queries), vec![true; codes.len()]);
    let enrolments: Vec<[EnrolmentShare; 3]> = codes
        .iter()
        .map(|c| enrolment_shares_seeded(c, &mut rng))
        .collect();
    assert_eq!(validate(&enrolments), vec![true; codes.len()]);
    // The element-level dealer gives the same shares' validity for a real encoding.
    let encoded = encode_iris(&codes[2]);
    assert_eq!(
        validate(&[query_shares_of_elements(&encoded, &mut rng)]),
        vec![true]
    );
}

/// Tampers one coefficient of one party's share: the three shares then lie on no
/// degree-1 polynomial.
fn off_the_line<F: ShareForm>(
    mut shares: [EyeShare<F>; 3],
    group: usize,
    party: usize,
) -> [EyeShare<F>; 3]
where
    EyeShare<F>: Clone,
{
    let mut bytes = shares[party].to_bytes();
    let at = 2 + group * 8;
    bytes[at] ^= 1;
    shares[party] = EyeShare::<F>::from_bytes(&bytes).unwrap();
    shares
}

#[test]
fn shares_off_a_degree_one_polynomial_are_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let code = IrisCode::random(&mut rng, 0.8);
    let honest = query_shares_seeded(&code, &mut rng);
    let batch = vec![
        honest.clone(),
        off_the_line(honest.clone(), 0, 0),
        off_the_line(honest.clone(), 4_799, 2),
        off_the_line(honest.clone(), 3_200, 1),
        honest,
    ];
    assert_eq!(validate(&batch), vec![true, false, false, false, true]);
    let enrolment = enrolment_shares_seeded(&code, &mut rng);
    let batch = vec![off_the_line(enrolment.clone(), 17, 1), enrolment];
    assert_eq!(validate(&batch), vec![false, true]);
}

#[test]
fn elements_no_iris_encoding_has_are_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let code = IrisCode::random(&mut rng, 0.6);
    let encoded = encode_iris(&code);
    let mask_of = mask_of_code_positions();
    // A code position whose mask is valid, and one whose mask is not.
    let valid_at = (0..CODE_ELEMENTS)
        .find(|&p| encoded[CODE_ELEMENTS + mask_of[p]] == Z16(1))
        .unwrap();
    let masked_at = (0..CODE_ELEMENTS)
        .find(|&p| encoded[CODE_ELEMENTS + mask_of[p]] == Z16(0))
        .unwrap();
    let masked_mask = (CODE_ELEMENTS..ELEMENTS)
        .find(|&q| encoded[q] == Z16(0))
        .unwrap();
    let with = |position: usize, value: u16| {
        let mut e = encoded.clone();
        e[position] = Z16(value);
        e
    };
    let cases = [
        ("honest", encoded.clone(), true),
        ("code 2", with(valid_at, 2), false),
        ("code 32769 (2^15 + 1)", with(valid_at, 32_769), false),
        ("code 32767 (2^15 - 1)", with(valid_at, 32_767), false),
        (
            "code +1 where the mask is invalid",
            with(masked_at, 1),
            false,
        ),
        (
            "code -1 where the mask is invalid",
            with(masked_at, 65_535),
            false,
        ),
        ("code 0 where the mask is valid", with(valid_at, 0), false),
        ("mask 2", with(CODE_ELEMENTS + 5, 2), false),
        ("mask 65535", with(masked_mask, 65_535), false),
    ];
    for form in ["query", "enrolment"] {
        let got = if form == "query" {
            let batch: Vec<_> = cases
                .iter()
                .map(|(_, e, _)| query_shares_of_elements(e, &mut rng))
                .collect();
            validate(&batch)
        } else {
            let batch: Vec<_> = cases
                .iter()
                .map(|(_, e, _)| enrolment_shares_of_elements(e, &mut rng))
                .collect();
            validate(&batch)
        };
        for ((name, _, want), got) in cases.iter().zip(got) {
            assert_eq!(got, *want, "{form}: {name}");
        }
    }
}

#[test]
fn two_eye_templates_are_refused_if_either_eye_is_malformed() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let seeds = PartySeeds::deal_seeded(&mut ChaCha20Rng::seed_from_u64(8));
    let engines = PartyId::ALL.map(|p| {
        PartyEngine::new(
            p,
            seeds[p.index()].clone(),
            EyeMode::TwoEyes,
            FixedPointRule::new(Threshold::DEFAULT),
        )
    });
    let (left, right) = (
        IrisCode::random(&mut rng, 0.8),
        IrisCode::random(&mut rng, 0.8),
    );
    let honest = share_person(&[&left, &right], &mut rng, query_shares_seeded);
    let mut bad_right = encode_iris(&right);
    bad_right[CODE_ELEMENTS] = Z16(3);
    let bad = query_shares_of_elements(&bad_right, &mut rng);
    let mut per_party: [Vec<Vec<QueryShare>>; 3] = Default::default();
    for (p, honest_eyes) in honest.into_iter().enumerate() {
        per_party[p].push(honest_eyes.clone());
        per_party[p].push(vec![honest_eyes[0].clone(), bad[p].clone()]);
    }
    let sid = SessionId(SESSIONS.fetch_add(1, Ordering::Relaxed));
    let got = on_three(&engines, sid, Duration::from_secs(60), |p, e, net, sid| {
        e.validate(net, sid, &per_party[p.index()]).unwrap()
    });
    for g in got {
        assert_eq!(g, vec![true, false]);
    }
}

/// What passed 1:N is what gets stored: a wallet's enrolment shares must encode the same
/// template as its query shares.
#[test]
fn enrolment_shares_must_encode_the_queried_template() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let engines = engines();
    let code = IrisCode::random(&mut rng, 0.8);
    let other = IrisCode::random(&mut rng, 0.8);
    // Same code bits, one valid pair fewer in the mask.
    let mut fewer = encode_iris(&code);
    let q = (CODE_ELEMENTS..ELEMENTS)
        .find(|&q| fewer[q] == Z16(1))
        .unwrap();
    fewer[q] = Z16(0);
    for (p, &m) in mask_of_code_positions().iter().enumerate() {
        if m == q - CODE_ELEMENTS {
            fewer[p] = Z16(0);
        }
    }
    // One code element flipped where the mask is valid.
    let mut flipped = encode_iris(&code);
    let at = (0..CODE_ELEMENTS).find(|&p| flipped[p] != Z16(0)).unwrap();
    flipped[at] = Z16(0) - flipped[at];
    let queried = query_shares_seeded(&code, &mut rng);
    let stored = [
        enrolment_shares_seeded(&code, &mut rng),
        enrolment_shares_seeded(&other, &mut rng),
        enrolment_shares_of_elements(&fewer, &mut rng),
        enrolment_shares_of_elements(&flipped, &mut rng),
    ];
    let per_party: [Vec<(Vec<QueryShare>, Vec<EnrolmentShare>)>; 3] = PartyId::ALL.map(|p| {
        stored
            .iter()
            .map(|r| (vec![queried[p.index()].clone()], vec![r[p.index()].clone()]))
            .collect()
    });
    let sid = SessionId(SESSIONS.fetch_add(1, Ordering::Relaxed));
    let got = on_three(&engines, sid, Duration::from_secs(60), |p, e, net, sid| {
        e.same_templates(net, sid, &per_party[p.index()]).unwrap()
    });
    for g in got {
        assert_eq!(g, vec![true, false, false, false]);
    }
}
