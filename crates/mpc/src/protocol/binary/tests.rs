//! Every binary protocol against its plaintext twin.

use super::*;
use crate::protocol::bits::tests::reveal;
use crate::protocol::bits::{bit, pack};
use crate::protocol::testing::run3;
use crate::share::{reconstruct, share_vec_seeded};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn deal<R: Ring>(v: &[R], seed: u64) -> [ShareVec<R>; 3] {
    let d = share_vec_seeded(v, &mut ChaCha20Rng::seed_from_u64(seed));
    PartyId::ALL.map(|p| d.for_party(p))
}

fn reveal_values(planes: &[Vec<BitShares>; 3], n: usize) -> Vec<u64> {
    let k = planes[0].len();
    let opened: Vec<Vec<u64>> = (0..k)
        .map(|j| {
            reveal(&[
                planes[0][j].clone(),
                planes[1][j].clone(),
                planes[2][j].clone(),
            ])
        })
        .collect();
    (0..n)
        .map(|i| (0..k).map(|j| u64::from(bit(&opened[j], i)) << j).sum())
        .collect()
}

/// Values with the edge cases every test includes.
fn with_edges(mut v: Vec<u32>) -> Vec<u32> {
    v.extend([0, 1, u32::MAX, 1 << 31, (1 << 31) - 1, 65_535, 65_536]);
    v
}

proptest! {
    #[test]
    fn planes_are_the_bits_of_the_values(values in proptest::collection::vec(any::<u32>(), 0..300)) {
        let z: Vec<Z32> = values.iter().map(|&v| Z32(v)).collect();
        let planes = planes_of(&z);
        let words = values.len().div_ceil(64);
        prop_assert_eq!(planes.len(), 32 * words);
        for j in 0..32 {
            let plane = &planes[j * words..(j + 1) * words];
            for (k, &v) in values.iter().enumerate() {
                prop_assert_eq!(plane[k / 64] >> (k % 64) & 1, u64::from(v >> j & 1));
            }
            // Bits past the last value stay clear.
            if values.len() % 64 != 0 {
                prop_assert_eq!(plane[values.len() / 64] >> (values.len() % 64), 0);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn a2b_recovers_values(v in proptest::collection::vec(any::<u32>(), 0..100), seed: u64) {
        let v = with_edges(v);
        let x: Vec<Z32> = v.iter().map(|&a| Z32(a)).collect();
        let xs = deal(&x, seed);
        let out = run3(|p, s| a2b(s, &xs[p.index()]).unwrap());
        prop_assert_eq!(reveal_values(&out, v.len()), v.iter().map(|&a| u64::from(a)).collect::<Vec<_>>());
    }

    #[test]
    fn adder_adds(v in proptest::collection::vec(any::<(u16, u16)>(), 1..100), seed: u64, low_bits in 1usize..16) {
        let mut v = v;
        v.extend([(u16::MAX, 1), (u16::MAX, 0), (1 << 15, 1 << 15), (0, 0), (0x7fff, 0x8001)]);
        let a: Vec<Z16> = v.iter().map(|t| Z16(t.0)).collect();
        let b: Vec<Z16> = v.iter().map(|t| Z16(t.1)).collect();
        let (ab, bb) = (planes_of(&a), planes_of(&b));
        let n = v.len();
        let share_planes = |planes: &[u64], seed: u64| -> [Vec<BitShares>; 3] {
            let dealt: Vec<[BitShares; 3]> = planes
                .chunks(n.div_ceil(64))
                .enumerate()
                .map(|(j, pl)| crate::protocol::bits::tests::deal_bits(pl, n, seed + j as u64))
                .collect();
            [0, 1, 2].map(|i| dealt.iter().map(|d| d[i].clone()).collect())
        };
        let (sa, sb) = (share_planes(&ab, seed), share_planes(&bb, seed ^ 99));
        let out = run3(|p, s| {
            let i = p.index();
            let sum = add(s, &sa[i], &sb[i]).unwrap();
            let (pa, pb) = (Planes::from_bit_shares(&sa[i]), Planes::from_bit_shares(&sb[i]));
            // The full carry, and the carry out of the low bits only (the sign's use).
            let carry = carry_out(s, &pa, &pb, 16).unwrap();
            let low = carry_out(s, &pa, &pb, low_bits).unwrap();
            (sum, carry, low)
        });
        let sums = [out[0].0.clone(), out[1].0.clone(), out[2].0.clone()];
        let want: Vec<u64> = v.iter().map(|t| u64::from(t.0.wrapping_add(t.1))).collect();
        prop_assert_eq!(reveal_values(&sums, n), want);
        let carries = reveal(&[out[0].1.clone(), out[1].1.clone(), out[2].1.clone()]);
        let want_carry = pack(v.iter().map(|t| u32::from(t.0) + u32::from(t.1) > 0xffff)).0;
        prop_assert_eq!(carries, want_carry);
        let lows = reveal(&[out[0].2.clone(), out[1].2.clone(), out[2].2.clone()]);
        let low_mask = (1u32 << low_bits) - 1;
        let want_low = pack(v.iter().map(|t| (u32::from(t.0) & low_mask) + (u32::from(t.1) & low_mask) > low_mask)).0;
        prop_assert_eq!(lows, want_low);
    }

    #[test]
    fn msb_is_the_sign(v in proptest::collection::vec(any::<u32>(), 0..150), seed: u64) {
        let v = with_edges(v);
        let x: Vec<Z32> = v.iter().map(|&a| Z32(a)).collect();
        let xs = deal(&x, seed);
        let out = run3(|p, s| msb(s, &xs[p.index()]).unwrap());
        prop_assert_eq!(reveal(&out), pack(v.iter().map(|&a| (a as i32) < 0)).0);
    }

    #[test]
    fn lift_keeps_the_unsigned_value(v in proptest::collection::vec(any::<u16>(), 0..150), seed: u64) {
        let mut v = v;
        v.extend([0, 1, u16::MAX, 1 << 15, 12_800]);
        let x: Vec<Z16> = v.iter().map(|&a| Z16(a)).collect();
        let xs = deal(&x, seed);
        let out = run3(|p, s| lift(s, &xs[p.index()]).unwrap());
        let want: Vec<Z32> = v.iter().map(|&a| Z32(u32::from(a))).collect();
        prop_assert_eq!(reconstruct([&out[0], &out[1], &out[2]]), want);
    }

    #[test]
    fn injection_of_bits(b in proptest::collection::vec(any::<bool>(), 0..150), seed: u64) {
        let (w, n) = pack(b.iter().copied());
        let shares = crate::protocol::bits::tests::deal_bits(&w, n, seed);
        let out = run3(|p, s| inject(s, &shares[p.index()]).unwrap());
        let want: Vec<Z32> = b.iter().map(|&x| Z32(u32::from(x))).collect();
        prop_assert_eq!(reconstruct([&out[0], &out[1], &out[2]]), want);
    }

    #[test]
    fn or_and_trees(members in 1usize..40, groups in 1usize..9, seed: u64, density in 0u32..4) {
        use rand::Rng;
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        // Sparse or dense bits so both outcomes of OR and AND occur.
        let bits: Vec<bool> = (0..members * groups)
            .map(|_| rng.random_range(0..4) < density)
            .collect();
        let (w, n) = pack(bits.iter().copied());
        let shares = crate::protocol::bits::tests::deal_bits(&w, n, seed);
        let out = run3(|p, s| {
            let i = p.index();
            (or_groups(s, &shares[i], groups).unwrap(), and_groups(s, &shares[i], groups).unwrap())
        });
        let ors = reveal(&[out[0].0.clone(), out[1].0.clone(), out[2].0.clone()]);
        let ands = reveal(&[out[0].1.clone(), out[1].1.clone(), out[2].1.clone()]);
        for g in 0..groups {
            let column = (0..members).map(|m| bits[m * groups + g]);
            prop_assert_eq!(bit(&ors, g), column.clone().any(|b| b));
            prop_assert_eq!(bit(&ands, g), column.clone().all(|b| b));
        }
    }
}
