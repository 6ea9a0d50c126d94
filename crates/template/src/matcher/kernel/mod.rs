//! The hot loop: Hamming counts of a query's 31 rotations against a run of gallery eyes.
//!
//! Three implementations behind one interface, all producing identical integer counts:
//! the portable reference (`portable`), AVX2 with a nibble-table popcount (`avx2`) and
//! AVX-512 with `VPOPCNTQ` and `VPTERNLOGQ` (`avx512`). [`Kernel::best`] picks the
//! fastest one the CPU supports at run time; tests check every available path against the
//! reference.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod portable;

use super::gallery::EyePlanes;
use super::layout::PackedRotations;
use crate::HammingCounts;
use crate::iris::ROTATION_COUNT;
use std::ops::Range;

/// A kernel implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Plain Rust on 64-bit words; runs everywhere; the reference.
    Portable,
    /// 256-bit AVX2, popcount by table lookup (`VPSHUFB`) and `VPSADBW`.
    Avx2,
    /// 512-bit AVX-512F with `VPOPCNTQ` (AVX512_VPOPCNTDQ) and `VPTERNLOGQ`.
    Avx512,
}

impl Kernel {
    /// Every kernel this CPU can run, slowest first.
    pub fn available() -> Vec<Kernel> {
        [Kernel::Portable, Kernel::Avx2, Kernel::Avx512]
            .into_iter()
            .filter(|k| k.is_supported())
            .collect()
    }

    /// The fastest kernel this CPU can run.
    pub fn best() -> Kernel {
        *Self::available()
            .last()
            .expect("the portable kernel is always available")
    }

    /// Whether this CPU can run the kernel.
    pub fn is_supported(self) -> bool {
        match self {
            Kernel::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
            }
            #[cfg(not(target_arch = "x86_64"))]
            Kernel::Avx2 | Kernel::Avx512 => false,
        }
    }

    /// A short lower-case name (`portable`, `avx2`, `avx512`).
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Portable => "portable",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512 => "avx512",
        }
    }

    /// Counts `query` (31 rotations) against gallery eyes `eyes`; `out[k * 31 + r]`
    /// receives eye `eyes.start + k` against rotation `r`.
    ///
    /// # Panics
    /// If `eyes` is out of the gallery's range, `out` is shorter than
    /// `eyes.len() * 31`, or the kernel is not supported by this CPU (check
    /// [`Kernel::is_supported`]; [`Kernel::best`] is always supported).
    pub fn count(
        self,
        query: &PackedRotations,
        gallery: &EyePlanes,
        eyes: Range<usize>,
        out: &mut [HammingCounts],
    ) {
        assert!(eyes.end <= gallery.len(), "eye range outside the gallery");
        assert!(out.len() >= eyes.len() * ROTATION_COUNT, "output too short");
        assert_eq!(query.eyes.len(), ROTATION_COUNT);
        assert!(self.is_supported(), "{} is not supported here", self.name());
        match self {
            Kernel::Portable => portable::count(query, gallery, eyes, out),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU supports AVX2 (asserted above).
            Kernel::Avx2 => unsafe { avx2::count(query, gallery, eyes, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the CPU supports AVX-512F and VPOPCNTDQ (asserted above).
            Kernel::Avx512 => unsafe { avx512::count(query, gallery, eyes, out) },
            #[cfg(not(target_arch = "x86_64"))]
            Kernel::Avx2 | Kernel::Avx512 => unreachable!("not supported off x86-64"),
        }
    }
}

/// What a kernel needs from the CPU, for messages.
#[cfg(test)]
fn requirement(kernel: Kernel) -> &'static str {
    match kernel {
        Kernel::Portable => "nothing",
        Kernel::Avx2 => "x86-64 with AVX2",
        Kernel::Avx512 => "x86-64 with AVX-512F and AVX512_VPOPCNTDQ",
    }
}

/// One line per kernel this CPU cannot run, saying so and what it needs.
#[cfg(test)]
pub(crate) fn skipped_kernels() -> Vec<String> {
    let tested: Vec<&str> = Kernel::available().iter().map(|k| k.name()).collect();
    [Kernel::Portable, Kernel::Avx2, Kernel::Avx512]
        .into_iter()
        .filter(|k| !k.is_supported())
        .map(|kernel| {
            format!(
                "masque-template kernel tests: skipped: {} not available on this CPU (needs {}); tested {} only",
                kernel.name(),
                requirement(kernel),
                tested.join(", ")
            )
        })
        .collect()
}

/// For tests that compare every available kernel: says once per test process which
/// kernels this CPU cannot run ([`skipped_kernels`]), so a green run on a machine without
/// AVX2 or AVX-512 shows that those kernels were not tested. Written to the stderr stream
/// itself: `eprintln!` output is captured by the test harness and hidden for passing
/// tests.
#[cfg(test)]
pub(crate) fn note_skipped_kernels() {
    use std::io::Write as _;
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let mut stderr = std::io::stderr().lock();
        for line in skipped_kernels() {
            let _ = writeln!(stderr, "{line}");
        }
    });
}

#[cfg(test)]
mod tests;
