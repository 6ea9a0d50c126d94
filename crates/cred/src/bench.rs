//! A self-contained timing run of the whole credential life cycle, for `masque bench cred`.
//!
//! Measures the median wall time of each step over `iterations` runs — the three
//! issuance steps (holder request, issuer blind signing, holder finalisation), proof
//! generation and verification — and the size of every serialised object. [`compare`]
//! measures the default ([`Fast`]) and the zkryptium backend in the same process, so
//! their ratio comes from one run. Figures are measurements of this process on this
//! machine, never assertions.

use std::fmt;
use std::time::{Duration, Instant};

use crate::attributes::{
    AttributeKind, CredentialAttributes, EnrolmentQuarter, EpochSchedule, Modalities, Modality,
    Timestamp,
};
use crate::backend::BbsBackend;
use crate::backend::fast::Fast;
use crate::backend::zkryptium::Zkryptium;
use crate::context::ContextId;
use crate::error::CredError;
use crate::holder::BbsHolder;
use crate::issuer::BbsIssuer;
use crate::roles::{Holder, Issuer, Verifier};
use crate::secrets::{IssuerSeed, RecordHandle, WalletSeed};
use crate::verifier::{BbsVerifier, VerifierPolicy};
use crate::wire::WireObject;

/// Median timings and sizes of one benchmark run.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Backend measured.
    pub backend: &'static str,
    /// Runs per step.
    pub iterations: usize,
    /// Median wall time of each step, in the order of [`STEP_NAMES`].
    pub medians: [Duration; 5],
    /// Median CPU time of the measuring thread for each step (insensitive to other
    /// processes competing for the cores; every backend here is single-threaded).
    pub cpu_medians: [Duration; 5],
    /// Serialised sizes as (object, core cryptographic bytes, compact form bytes).
    pub sizes: Vec<(&'static str, usize, usize)>,
}

/// Names of the timed steps.
pub const STEP_NAMES: [&str; 5] = [
    "issuance 1/3: holder request (commit)",
    "issuance 2/3: issuer blind sign",
    "issuance 3/3: holder finalise (verify)",
    "proof generation (present)",
    "verification",
];

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// CPU time consumed so far by the calling thread.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec and CLOCK_THREAD_CPUTIME_ID is supported
    // by Linux for the calling thread; on failure `ts` stays zero.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// Wall and thread-CPU time of one step.
#[derive(Debug, Clone, Copy)]
struct Timing {
    wall: Duration,
    cpu: Duration,
}

fn timed<T>(f: impl FnOnce() -> Result<T, CredError>) -> Result<(T, Timing), CredError> {
    let (start, cpu_start) = (Instant::now(), thread_cpu_time());
    let out = f()?;
    let timing = Timing {
        wall: start.elapsed(),
        cpu: thread_cpu_time().saturating_sub(cpu_start),
    };
    Ok((out, timing))
}

/// One issuer, holder and verifier on one backend, ready to run the life cycle.
struct Lifecycle<B: BbsBackend> {
    issuer: BbsIssuer<B>,
    holder: BbsHolder<B>,
    verifier: BbsVerifier<B>,
    record: RecordHandle,
    attributes: CredentialAttributes,
    now: Timestamp,
}

type Sizes = Vec<(&'static str, usize, usize)>;

impl<B: BbsBackend + Clone> Lifecycle<B> {
    fn new(backend: B) -> Result<Self, CredError> {
        let issuer = BbsIssuer::with_backend(backend.clone(), &IssuerSeed::random())?;
        let holder = BbsHolder::with_backend(backend.clone(), &WalletSeed::new(&[7; 64])?);
        let schedule = EpochSchedule::new(Timestamp(0), 86_400)?;
        let now = Timestamp(100);
        let attributes = CredentialAttributes {
            epoch: schedule.epoch_at(now),
            modalities: Modalities::new(&[Modality::Iris, Modality::Face])?,
            enrolment_quarter: EnrolmentQuarter::new(2026, 4)?,
        };
        let verifier = BbsVerifier::with_backend(
            backend,
            VerifierPolicy {
                context_id: ContextId::new("https://bench.example")?,
                issuer: issuer.public_key().clone(),
                required: vec![AttributeKind::Modalities],
                nonce_lifetime_secs: 300,
                schedule,
                enrolled_before: None,
            },
        )?;
        Ok(Self {
            issuer,
            holder,
            verifier,
            record: RecordHandle::new(b"bench-record")?,
            attributes,
            now,
        })
    }

    /// One pass: the time of each step, and the object sizes when `sizes` is empty.
    fn once(&mut self, sizes: &mut Sizes) -> Result<[Timing; 5], CredError> {
        let Self {
            issuer,
            holder,
            verifier,
            record,
            attributes,
            now,
        } = self;
        let offer = issuer.offer(record);
        let ((request, pending), t0) = timed(|| holder.request(issuer.public_key(), &offer))?;
        let (response, t1) = timed(|| issuer.issue(&request, record, attributes))?;
        let (credential, t2) = timed(|| holder.finalise(&pending, &response))?;
        let challenge = verifier.challenge(*now)?;
        let (presentation, t3) = timed(|| holder.present(&credential, &challenge))?;
        let (_, t4) = timed(|| verifier.verify(&presentation, *now))?;
        if sizes.is_empty() {
            let mut size =
                |name, raw: usize, compact: String| sizes.push((name, raw, compact.len()));
            let pk = issuer.public_key();
            size("issuer public key", pk.as_bytes().len(), pk.to_compact());
            size(
                "credential request",
                request.commitment_with_proof.len() + crate::objects::ANCHOR_LEN + 2 * 32,
                request.to_compact(),
            );
            size(
                "issuance response",
                response.signature.len(),
                response.to_compact(),
            );
            size(
                "credential (wallet)",
                credential.signature.len(),
                credential.to_compact(),
            );
            size("challenge", challenge.nonce.len(), challenge.to_compact());
            size(
                "presentation",
                presentation.proof.len(),
                presentation.to_compact(),
            );
        }
        Ok([t0, t1, t2, t3, t4])
    }
}

/// Samples of every step.
#[derive(Default)]
struct Samples {
    wall: [Vec<Duration>; 5],
    cpu: [Vec<Duration>; 5],
}

impl Samples {
    fn push(&mut self, times: [Timing; 5]) {
        for (i, t) in times.iter().enumerate() {
            self.wall[i].push(t.wall);
            self.cpu[i].push(t.cpu);
        }
    }

    fn report(self, backend: &'static str, sizes: Sizes) -> BenchReport {
        BenchReport {
            backend,
            iterations: self.wall[0].len(),
            medians: self.wall.map(median),
            cpu_medians: self.cpu.map(median),
            sizes,
        }
    }
}

/// Runs the life cycle `iterations` times (at least 1) on `backend`.
pub fn run<B: BbsBackend + Clone>(backend: B, iterations: usize) -> Result<BenchReport, CredError> {
    let name = backend.name();
    let mut lifecycle = Lifecycle::new(backend)?;
    let mut samples = Samples::default();
    let mut sizes = Sizes::new();
    for _ in 0..iterations.max(1) {
        samples.push(lifecycle.once(&mut sizes)?);
    }
    Ok(samples.report(name, sizes))
}

/// Both backends measured in one process, the default ([`Fast`]) first.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The default backend.
    pub fast: BenchReport,
    /// The zkryptium reference backend.
    pub reference: BenchReport,
}

/// Runs the life cycle `iterations` times on each backend, alternating the backends pass
/// by pass so that both see the same machine load.
pub fn compare(iterations: usize) -> Result<Comparison, CredError> {
    let mut fast = Lifecycle::new(Fast)?;
    let mut reference = Lifecycle::new(Zkryptium)?;
    let (mut fast_samples, mut reference_samples) = (Samples::default(), Samples::default());
    let (mut fast_sizes, mut reference_sizes) = (Sizes::new(), Sizes::new());
    for _ in 0..iterations.max(1) {
        fast_samples.push(fast.once(&mut fast_sizes)?);
        reference_samples.push(reference.once(&mut reference_sizes)?);
    }
    Ok(Comparison {
        fast: fast_samples.report(Fast.name(), fast_sizes),
        reference: reference_samples.report(Zkryptium.name(), reference_sizes),
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b) = (&self.fast, &self.reference);
        writeln!(
            f,
            "medians over {} alternating runs per backend, in ms: wall clock, and CPU time of \
             the measuring thread (load-independent); fast = {}, zkryptium = {}",
            a.iterations, a.backend, b.backend
        )?;
        writeln!(
            f,
            "  {:<38} {:>9} {:>9} {:>7}   {:>9} {:>9} {:>7}",
            "step", "wall fast", "zkryptium", "ratio", "cpu fast", "zkryptium", "ratio"
        )?;
        let issuance = |d: &[Duration; 5]| d[..3].iter().sum::<Duration>();
        let ratio = |x: Duration, y: Duration| ms(y) / ms(x).max(f64::MIN_POSITIVE);
        let steps = STEP_NAMES.iter().enumerate().map(|(i, name)| {
            (
                *name,
                [
                    a.medians[i],
                    b.medians[i],
                    a.cpu_medians[i],
                    b.cpu_medians[i],
                ],
            )
        });
        let total = (
            "issuance total (sum of medians)",
            [
                issuance(&a.medians),
                issuance(&b.medians),
                issuance(&a.cpu_medians),
                issuance(&b.cpu_medians),
            ],
        );
        for (name, [wx, wy, cx, cy]) in steps.chain([total]) {
            writeln!(
                f,
                "  {name:<38} {:>9.3} {:>9.3} {:>6.1}x   {:>9.3} {:>9.3} {:>6.1}x",
                ms(wx),
                ms(wy),
                ratio(wx, wy),
                ms(cx),
                ms(cy),
                ratio(cx, cy)
            )?;
        }
        writeln!(
            f,
            "sizes (core bytes = commitment/signature/nonce/proof; compact = base64url envelope):"
        )?;
        for ((name, raw, compact), (_, raw_b, compact_b)) in a.sizes.iter().zip(&b.sizes) {
            let same = if (raw, compact) == (raw_b, compact_b) {
                "same on both backends".to_owned()
            } else {
                format!("zkryptium: core {raw_b} B, compact {compact_b} B")
            };
            writeln!(
                f,
                "  {name:<24} core {raw:>5} B   compact {compact:>5} B   ({same})"
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "backend: {} ({} iterations, medians)",
            self.backend, self.iterations
        )?;
        for ((name, d), cpu) in STEP_NAMES.iter().zip(self.medians).zip(self.cpu_medians) {
            writeln!(
                f,
                "  {name:<42} {:>9.3} ms (cpu {:>7.3} ms)",
                ms(d),
                ms(cpu)
            )?;
        }
        let issuance: Duration = self.medians[..3].iter().sum();
        writeln!(
            f,
            "  {:<42} {:>9.3} ms",
            "issuance total (sum of medians)",
            issuance.as_secs_f64() * 1e3
        )?;
        writeln!(
            f,
            "sizes (core bytes = commitment/signature/nonce/proof; compact = base64url envelope):"
        )?;
        for (name, raw, compact) in &self.sizes {
            writeln!(f, "  {name:<24} core {raw:>5} B   compact {compact:>5} B")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_cpu_time_advances_with_work() {
        let before = thread_cpu_time();
        let mut x = 1u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(thread_cpu_time() > before);
    }

    #[test]
    fn comparison_reports_both_backends_with_equal_sizes() {
        let c = compare(1).unwrap();
        assert_eq!((c.fast.iterations, c.reference.iterations), (1, 1));
        assert_eq!(c.fast.sizes, c.reference.sizes);
        assert_eq!(c.fast.sizes.len(), 6);
        let text = c.to_string();
        assert!(text.contains("verification") && text.contains("presentation"));
    }
}
