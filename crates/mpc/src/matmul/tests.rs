//! Tests of the matrix products: every kernel against the portable reference, the
//! storage's round trips and wiping, and every input error.

use super::layout::{BLOCK_ROWS, block_offset};
use super::*;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const EDGES: [u16; 5] = [0, 1, 0x7fff, 0x8000, 0xffff];

/// What a kernel needs from the machine, for messages.
fn requirement(kernel: Kernel) -> &'static str {
    match kernel {
        Kernel::Portable => "nothing",
        Kernel::Avx2 => "x86-64 with AVX2",
        Kernel::Vnni => "x86-64 with AVX-512 F, BW and VNNI",
        Kernel::Amx => "x86-64 Linux with AMX-TILE and AMX-INT8 and the tile-state permission",
    }
}

/// One line per kernel this machine cannot run, saying so and what it needs.
fn skipped_kernels() -> Vec<String> {
    let tested: Vec<&str> = Kernel::available().iter().map(|k| k.name()).collect();
    Kernel::ALL
        .into_iter()
        .filter(|k| !k.is_available())
        .map(|kernel| {
            format!(
                "masque-mpc matmul tests: skipped: {} not available on this machine (needs {}); tested {} only",
                kernel.name(),
                requirement(kernel),
                tested.join(", ")
            )
        })
        .collect()
}

/// Says once per test process which kernels were not tested here, so a green run on a
/// machine without AVX-512 VNNI or AMX shows it. Written to the stderr stream itself:
/// `eprintln!` output is captured by the test harness and hidden for passing tests.
fn note_skipped_kernels() {
    use std::io::Write as _;
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let mut stderr = std::io::stderr().lock();
        for line in skipped_kernels() {
            let _ = writeln!(stderr, "{line}");
        }
    });
}

/// Rows of random values, a share `edge_percent` of them drawn from the edge values.
fn rows(rng: &mut ChaCha8Rng, count: usize, width: usize, edge_percent: u32) -> Vec<Vec<u16>> {
    (0..count)
        .map(|_| {
            (0..width)
                .map(|_| {
                    if rng.random_range(0..100) < edge_percent {
                        EDGES[rng.random_range(0..EDGES.len())]
                    } else {
                        rng.random()
                    }
                })
                .collect()
        })
        .collect()
}

fn gallery_of(width: usize, rows: &[Vec<u16>]) -> PackedRows {
    let mut gallery = PackedRows::new(width).unwrap();
    rows.iter().for_each(|r| gallery.push(r).unwrap());
    gallery
}

fn queries_of(width: usize, rows: &[Vec<u16>]) -> QueryRows {
    let refs: Vec<&[u16]> = rows.iter().map(Vec::as_slice).collect();
    QueryRows::new(width, &refs).unwrap()
}

/// The products straight from the definition, on unpacked rows.
fn naive(
    queries: &[Vec<u16>],
    gallery: &[Vec<u16>],
    rows: Range<usize>,
    ends: &[usize],
) -> Vec<u16> {
    let mut out = Vec::new();
    let mut start = 0;
    for &end in ends {
        for q in queries {
            for g in &gallery[rows.clone()] {
                let dot = (start..end).fold(0u16, |s, k| s.wrapping_add(q[k].wrapping_mul(g[k])));
                out.push(dot);
            }
        }
        start = end;
    }
    out
}

/// Runs every available kernel and checks each against the definition.
fn check_all_kernels(
    queries: &[Vec<u16>],
    gallery: &[Vec<u16>],
    width: usize,
    rows: Range<usize>,
    ends: &[usize],
) {
    let expected = naive(queries, gallery, rows.clone(), ends);
    let (prepared, packed) = (queries_of(width, queries), gallery_of(width, gallery));
    // The one-row path gives the same products, row by row.
    let refs: Vec<&[u16]> = queries.iter().map(Vec::as_slice).collect();
    for j in rows.clone() {
        let mut one = vec![0xdead; ends.len() * queries.len()];
        row_products(&packed, j, &refs, ends, &mut one).unwrap();
        assert_eq!(
            one,
            naive(queries, gallery, j..j + 1, ends),
            "row_products, row {j}"
        );
    }
    note_skipped_kernels();
    for kernel in Kernel::available() {
        let mut out = vec![0xdead; expected.len()];
        products(kernel, &prepared, &packed, rows.clone(), ends, &mut out).unwrap();
        assert!(
            out == expected,
            "{kernel:?} differs from the definition: m {} rows {rows:?} ends {ends:?}",
            queries.len()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn kernels_match_the_definition(
        m in 1usize..=70,
        n in 1usize..=60,
        chunks in 1usize..=26,
        cut_mask in any::<u32>(),
        edge_percent in prop_oneof![Just(0u32), Just(30), Just(100)],
        seed in any::<u64>(),
        range_picks in (any::<u16>(), any::<u16>()),
    ) {
        let width = chunks * COLUMN_CHUNK;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let queries = rows(&mut rng, m, width, edge_percent);
        let gallery = rows(&mut rng, n, width, edge_percent);
        let ends: Vec<usize> = (1..=chunks)
            .filter(|&c| c == chunks || cut_mask >> (c % 32) & 1 == 1)
            .map(|c| c * COLUMN_CHUNK)
            .collect();
        let (a, b) = (range_picks.0 as usize % (n + 1), range_picks.1 as usize % (n + 1));
        check_all_kernels(&queries, &gallery, width, a.min(b)..a.max(b), &ends);
    }

    #[test]
    fn push_row_and_swap_remove_follow_a_vec(
        seed in any::<u64>(),
        ops in proptest::collection::vec(any::<(bool, u16)>(), 1..120),
    ) {
        let width = 128;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut model: Vec<Vec<u16>> = Vec::new();
        let mut packed = PackedRows::new(width).unwrap();
        for (push, pick) in ops {
            if push || model.is_empty() {
                let row = rows(&mut rng, 1, width, 20).pop().unwrap();
                packed.push(&row).unwrap();
                model.push(row);
            } else {
                let index = pick as usize % model.len();
                packed.swap_remove(index);
                model.swap_remove(index);
            }
            prop_assert_eq!(packed.len(), model.len());
            prop_assert_eq!(packed.stored_bytes(), model.len().div_ceil(BLOCK_ROWS) * BLOCK_ROWS * width * 2);
            assert_only_live_rows_stored(&packed);
        }
        for (i, row) in model.iter().enumerate() {
            prop_assert_eq!(&packed.row(i), row);
        }
    }
}

/// Every byte of the buffer (spare capacity included) that is not part of a live row is 0.
fn assert_only_live_rows_stored(packed: &PackedRows) {
    let raw = packed.raw_capacity_bytes();
    let block_bytes = packed.block_bytes();
    let mut live = vec![false; raw.len()];
    for index in 0..packed.len() {
        let base = index / BLOCK_ROWS * block_bytes;
        for k in 0..packed.width() {
            for plane in 0..2 {
                live[base + block_offset(index % BLOCK_ROWS, k, plane)] = true;
            }
        }
    }
    let stray = raw.iter().zip(&live).position(|(&b, &l)| b != 0 && !l);
    assert_eq!(stray, None, "bytes outside live rows must be zero");
    assert_eq!(packed.blocks(), packed.len().div_ceil(BLOCK_ROWS));
}

#[test]
fn reserved_rows_are_pushed_in_place() {
    let width = 64;
    let mut packed = PackedRows::new(width).unwrap();
    packed.push(&[7; 64]).unwrap();
    packed.reserve(40);
    let buffer = packed.raw_capacity_bytes().as_ptr();
    let capacity = packed.raw_capacity_bytes().len();
    assert_eq!(
        capacity,
        41usize.div_ceil(BLOCK_ROWS) * BLOCK_ROWS * width * 2
    );
    for i in 0..40u16 {
        packed.push(&[i; 64]).unwrap();
    }
    assert_eq!(
        packed.raw_capacity_bytes().as_ptr(),
        buffer,
        "no move after reserve"
    );
    assert_eq!(packed.row(0), vec![7; 64]);
    assert_eq!(packed.row(40), vec![39; 64]);
    packed.reserve(0);
    assert_eq!(
        packed.raw_capacity_bytes().len(),
        capacity,
        "enough room: nothing moves"
    );
    assert_only_live_rows_stored(&packed);
}

#[test]
fn removed_rows_leave_no_trace() {
    let width = 64;
    let marker = vec![0xa5c3u16; width];
    let mut packed = PackedRows::new(width).unwrap();
    for _ in 0..20 {
        packed.push(&vec![1u16; width]).unwrap();
    }
    packed.push(&marker).unwrap();
    packed.swap_remove(20); // the marker is the last row: its storage is wiped in place
    packed.swap_remove(3); // a middle row: the last row moves in
    packed.push(&marker).unwrap();
    packed.swap_remove(0); // the marker moves to row 0, its old place is wiped
    assert_eq!(packed.row(0), marker);
    packed.swap_remove(0);
    let raw = packed.raw_capacity_bytes();
    assert!(
        !raw.windows(2)
            .any(|w| w == [0xc3, 0xa5] || w == [0xa5, 0xa5] || w == [0xc3, 0xc3])
    );
    assert!(raw.contains(&1), "the remaining rows are still stored");
    for i in 0..packed.len() {
        assert_eq!(packed.row(i), vec![1u16; width]);
    }
    assert_only_live_rows_stored(&packed);
}

#[test]
fn long_rows_many_blocks_and_overflowing_sums() {
    // Whole panels and groups of the blocked kernels, an odd last block, a range with
    // partial blocks at both ends, and sums that overflow 32 bits (all 0x8000 / 0xffff).
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let width = 21 * COLUMN_CHUNK * 2;
    let queries = rows(&mut rng, 19, width, 60);
    let gallery = rows(&mut rng, 300, width, 60);
    check_all_kernels(
        &queries,
        &gallery,
        width,
        5..290,
        &[21 * COLUMN_CHUNK, width],
    );
    check_all_kernels(&queries, &gallery, width, 0..300, &[width]);
    for value in [0x8000u16, 0xffff] {
        let width = 19_200;
        let queries = vec![vec![value; width]; 17];
        let gallery = vec![vec![value; width]; 33];
        check_all_kernels(&queries, &gallery, width, 0..33, &[12_800, width]);
    }
}

#[test]
fn concurrent_calls_on_disjoint_ranges_agree() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let width = 256;
    let (queries, gallery) = (
        queries_of(width, &rows(&mut rng, 20, width, 10)),
        gallery_of(width, &rows(&mut rng, 96, width, 10)),
    );
    let kernel = Kernel::best();
    let ends = [128, 256];
    let mut whole = vec![0u16; 2 * 20 * 96];
    products(kernel, &queries, &gallery, 0..96, &ends, &mut whole).unwrap();
    let halves: Vec<Vec<u16>> = std::thread::scope(|scope| {
        let handles: Vec<_> = [0..48, 48..96]
            .into_iter()
            .map(|range| {
                let (queries, gallery) = (&queries, &gallery);
                scope.spawn(move || {
                    let mut out = vec![0u16; 2 * 20 * 48];
                    for _ in 0..20 {
                        products(kernel, queries, gallery, range.clone(), &ends, &mut out).unwrap();
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for s in 0..2 {
        for m in 0..20 {
            let row = (s * 20 + m) * 96;
            assert_eq!(&whole[row..row + 48], &halves[0][(s * 20 + m) * 48..][..48]);
            assert_eq!(
                &whole[row + 48..row + 96],
                &halves[1][(s * 20 + m) * 48..][..48]
            );
        }
    }
}

#[test]
fn unavailable_kernels_are_reported_as_skipped() {
    let lines = skipped_kernels();
    assert_eq!(lines.len(), Kernel::ALL.len() - Kernel::available().len());
    for kernel in Kernel::ALL.into_iter().filter(|k| !k.is_available()) {
        assert!(
            lines.iter().any(|l| l.contains("skipped")
                && l.contains(kernel.name())
                && l.contains("not available on this machine")
                && l.contains(requirement(kernel))),
            "{lines:?}"
        );
    }
    note_skipped_kernels();
}

#[test]
fn kernel_choice() {
    let available = Kernel::available();
    assert_eq!(available[0], Kernel::Portable);
    assert!(available.contains(&Kernel::best()));
    assert_eq!(
        Kernel::best(),
        *available.last().unwrap(),
        "best is the fastest available"
    );
    for kernel in Kernel::ALL {
        assert_eq!(kernel.is_available(), available.contains(&kernel));
    }
    #[cfg(not(target_arch = "x86_64"))]
    assert_eq!(available, vec![Kernel::Portable]);
}

#[test]
fn unavailable_kernels_are_refused() {
    let (queries, gallery) = (
        queries_of(64, &[vec![1; 64]]),
        gallery_of(64, &[vec![1; 64]]),
    );
    for kernel in Kernel::ALL.into_iter().filter(|k| !k.is_available()) {
        let mut out = [0u16; 1];
        assert_eq!(
            products(kernel, &queries, &gallery, 0..1, &[64], &mut out),
            Err(MatmulError::KernelUnavailable { kernel })
        );
    }
}

#[test]
fn measure_reports_a_rate() {
    let rate = measure(Kernel::best(), 2, 16).unwrap();
    assert!(rate.is_finite() && rate > 0.0);
}

#[test]
fn bad_inputs_get_typed_errors() {
    for width in [0, 63, 100] {
        assert_eq!(
            PackedRows::new(width).err(),
            Some(MatmulError::BadWidth { width })
        );
        assert_eq!(
            QueryRows::new(width, &[]).err(),
            Some(MatmulError::BadWidth { width })
        );
    }
    let mut gallery = PackedRows::new(128).unwrap();
    assert_eq!(
        gallery.push(&[0; 64]),
        Err(MatmulError::RowLength {
            index: 0,
            expected: 128,
            got: 64
        })
    );
    assert!(
        gallery.is_empty() && gallery.stored_bytes() == 0,
        "nothing stored after a bad push"
    );
    gallery.push(&[3; 128]).unwrap();
    gallery.push(&[4; 128]).unwrap();
    let short: &[u16] = &[1; 127];
    assert_eq!(
        QueryRows::new(128, &[&[1; 128], short]).err(),
        Some(MatmulError::RowLength {
            index: 1,
            expected: 128,
            got: 127
        })
    );
    let queries = QueryRows::new(128, &[&[1; 128]]).unwrap();
    let mut out = vec![0u16; 2];
    let run = |rows: Range<usize>, ends: &[usize], out: &mut [u16]| {
        products(Kernel::Portable, &queries, &gallery, rows, ends, out)
    };
    assert_eq!(run(0..2, &[128], &mut out), Ok(()));
    assert_eq!(out, [128 * 3, 128 * 4]);
    for ends in [
        &[][..],
        &[64][..],
        &[100, 128][..],
        &[64, 64, 128][..],
        &[128, 64][..],
        &[0, 128][..],
        &[64, 192][..],
    ] {
        assert_eq!(
            run(0..2, ends, &mut out),
            Err(MatmulError::BadSegments {
                ends: ends.to_vec(),
                width: 128
            })
        );
    }
    #[allow(clippy::reversed_empty_ranges)]
    let backwards = 2..1;
    assert_eq!(
        run(backwards, &[128], &mut out),
        Err(MatmulError::RowsOutOfRange {
            start: 2,
            end: 1,
            len: 2
        })
    );
    assert_eq!(
        run(1..3, &[128], &mut out),
        Err(MatmulError::RowsOutOfRange {
            start: 1,
            end: 3,
            len: 2
        })
    );
    assert_eq!(
        run(0..2, &[64, 128], &mut out),
        Err(MatmulError::OutputLength {
            expected: 4,
            got: 2
        })
    );
    assert_eq!(
        run(0..1, &[128], &mut out),
        Err(MatmulError::OutputLength {
            expected: 1,
            got: 2
        })
    );
    let narrow = QueryRows::new(64, &[&[1; 64]]).unwrap();
    assert_eq!(
        products(Kernel::Portable, &narrow, &gallery, 0..2, &[64], &mut out),
        Err(MatmulError::WidthMismatch {
            queries: 64,
            gallery: 128
        })
    );
    assert_eq!(out, [128 * 3, 128 * 4], "failed calls write nothing");
    assert_eq!(run(1..1, &[128], &mut []), Ok(()), "an empty range is fine");
}

#[test]
#[should_panic(expected = "out of range")]
fn swap_remove_out_of_range_panics() {
    let mut gallery = PackedRows::new(64).unwrap();
    gallery.push(&[0; 64]).unwrap();
    gallery.swap_remove(1);
}

#[test]
fn debug_shows_shape_only() {
    let gallery = gallery_of(64, &[vec![12345; 64]]);
    let queries = queries_of(64, &[vec![12345; 64]]);
    for text in [format!("{gallery:?}"), format!("{queries:?}")] {
        assert!(
            text.contains("width: 64") && !text.contains("12345"),
            "{text}"
        );
    }
}
