//! Every kernel the CPU supports must give exactly the reference kernel's counts.

use super::*;
use crate::matcher::gallery::{EyeMode, IrisGallery, RecordId};
use crate::matcher::layout::PackedRotations;
use crate::{Eye, IrisCode};
use proptest::prelude::*;

fn code_from(seed: &[u64; 4], density: u8) -> IrisCode {
    let bit = |i: usize, salt: u64| {
        let x = seed[i % 4]
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add((i as u64).wrapping_mul(salt))
            .rotate_left((i % 63) as u32);
        (x >> 56) as u8
    };
    IrisCode::from_fn(|i| bit(i, 31) & 1 == 1, |i| bit(i / 2 * 2, 77) < density).unwrap()
}

fn counts_with(kernel: Kernel, query: &IrisCode, gallery: &IrisGallery) -> Vec<HammingCounts> {
    let rotations = PackedRotations::new(query);
    let planes = gallery.planes(Eye::Left);
    let mut out = vec![HammingCounts::default(); planes.len() * ROTATION_COUNT];
    kernel.count(&rotations, planes, 0..planes.len(), &mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn simd_kernels_equal_reference(
        query in any::<[u64; 4]>(),
        stored in proptest::collection::vec(any::<[u64; 4]>(), 1..6),
        density in any::<u8>(),
    ) {
        let mut gallery = IrisGallery::new(EyeMode::SingleEye);
        for (i, s) in stored.iter().enumerate() {
            gallery.insert_eye(RecordId(i as u64), &code_from(s, density)).unwrap();
        }
        let query = code_from(&query, density.wrapping_add(40));
        let reference = counts_with(Kernel::Portable, &query, &gallery);
        note_skipped_kernels();
        for kernel in Kernel::available() {
            prop_assert_eq!(&counts_with(kernel, &query, &gallery), &reference, "{}", kernel.name());
        }
    }
}

#[test]
fn edge_masks_agree_and_reference_counts_are_right() {
    let all = IrisCode::from_fn(|_| true, |_| true).unwrap();
    let none = IrisCode::from_fn(|_| false, |_| false).unwrap();
    let zeros = IrisCode::from_fn(|_| false, |_| true).unwrap();
    let mut gallery = IrisGallery::new(EyeMode::SingleEye);
    for (i, c) in [&all, &none, &zeros].into_iter().enumerate() {
        gallery.insert_eye(RecordId(i as u64), c).unwrap();
    }
    let reference = counts_with(Kernel::Portable, &all, &gallery);
    // Rotation 0 against itself: everything valid, nothing differs.
    assert_eq!(
        reference[15],
        HammingCounts {
            differing: 0,
            overlap: 12_800
        }
    );
    // Against an all-masked eye: no overlap at all.
    assert!(
        reference[31..62]
            .iter()
            .all(|c| *c == HammingCounts::default())
    );
    // Against all-zero codes: every bit differs.
    assert_eq!(
        reference[62 + 15],
        HammingCounts {
            differing: 12_800,
            overlap: 12_800
        }
    );
    note_skipped_kernels();
    for kernel in Kernel::available() {
        assert_eq!(
            counts_with(kernel, &all, &gallery),
            reference,
            "{}",
            kernel.name()
        );
    }
}

#[test]
fn unsupported_kernels_are_reported_as_skipped() {
    let lines = skipped_kernels();
    let all = [Kernel::Portable, Kernel::Avx2, Kernel::Avx512];
    assert_eq!(lines.len(), all.len() - Kernel::available().len());
    for kernel in all.into_iter().filter(|k| !k.is_supported()) {
        assert!(
            lines.iter().any(|l| l.contains("skipped")
                && l.contains(kernel.name())
                && l.contains("not available on this CPU")
                && l.contains(requirement(kernel))),
            "{lines:?}"
        );
    }
    note_skipped_kernels();
}

#[test]
fn best_kernel_is_supported() {
    assert!(Kernel::best().is_supported());
    assert!(Kernel::available().contains(&Kernel::Portable));
}
