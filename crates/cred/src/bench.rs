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
    /// Median of each step, in the order of [`STEP_NAMES`].
    pub medians: [Duration; 5],
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

fn timed<T>(f: impl FnOnce() -> Result<T, CredError>) -> Result<(T, Duration), CredError> {
    let start = Instant::now();
    let out = f()?;
    Ok((out, start.elapsed()))
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
    fn once(&mut self, sizes: &mut Sizes) -> Result<[Duration; 5], CredError> {
        let Self {
            issuer,
            holder,
            verifier,
            record,
            attributes,
            now,
        } = self;
        let ((request, pending), t0) = timed(|| holder.request(issuer.public_key()))?;
        let (response, t1) = timed(|| issuer.issue(&request, record, attributes))?;
        let (credential, t2) = timed(|| holder.finalise(&pending, &response))?;
        let challenge = verifier.challenge(*now);
        let (presentation, t3) = timed(|| holder.present(&credential, &challenge))?;
        let (_, t4) = timed(|| verifier.verify(&presentation, *now))?;
        if sizes.is_empty() {
            let mut size =
                |name, raw: usize, compact: String| sizes.push((name, raw, compact.len()));
            let pk = issuer.public_key();
            size("issuer public key", pk.as_bytes().len(), pk.to_compact());
            size(
                "credential request",
                request.commitment_with_proof.len(),
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

fn report(
    backend: &'static str,
    samples: [Vec<Duration>; 5],
    sizes: Sizes,
) -> BenchReport {
    BenchReport {
        backend,
        iterations: samples[0].len(),
        medians: samples.map(median),
        sizes,
    }
}

fn push(samples: &mut [Vec<Duration>; 5], times: [Duration; 5]) {
    for (s, t) in samples.iter_mut().zip(times) {
        s.push(t);
    }
}

/// Runs the life cycle `iterations` times (at least 1) on `backend`.
pub fn run<B: BbsBackend + Clone>(backend: B, iterations: usize) -> Result<BenchReport, CredError> {
    let name = backend.name();
    let mut lifecycle = Lifecycle::new(backend)?;
    let mut samples: [Vec<Duration>; 5] = Default::default();
    let mut sizes = Sizes::new();
    for _ in 0..iterations.max(1) {
        push(&mut samples, lifecycle.once(&mut sizes)?);
    }
    Ok(report(name, samples, sizes))
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
    let (mut fast_samples, mut reference_samples): ([Vec<Duration>; 5], [Vec<Duration>; 5]) =
        Default::default();
    let (mut fast_sizes, mut reference_sizes) = (Sizes::new(), Sizes::new());
    for _ in 0..iterations.max(1) {
        push(&mut fast_samples, fast.once(&mut fast_sizes)?);
        push(&mut reference_samples, reference.once(&mut reference_sizes)?);
    }
    Ok(Comparison {
        fast: report(Fast.name(), fast_samples, fast_sizes),
        reference: report(Zkryptium.name(), reference_samples, reference_sizes),
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
            "medians over {} alternating runs per backend (ms); speed-up = {} / {}",
            a.iterations, b.backend, a.backend
        )?;
        writeln!(
            f,
            "  {:<42} {:>12} {:>12} {:>9}",
            "step", "fast", "zkryptium", "speed-up"
        )?;
        let issuance = |r: &BenchReport| r.medians[..3].iter().sum::<Duration>();
        let rows = STEP_NAMES
            .iter()
            .zip(a.medians.iter().zip(&b.medians))
            .map(|(name, (x, y))| (*name, *x, *y))
            .chain([("issuance total (sum of medians)", issuance(a), issuance(b))]);
        for (name, x, y) in rows {
            writeln!(
                f,
                "  {name:<42} {:>12.3} {:>12.3} {:>8.1}x",
                ms(x),
                ms(y),
                ms(y) / ms(x).max(f64::MIN_POSITIVE)
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
        for (name, d) in STEP_NAMES.iter().zip(self.medians) {
            writeln!(f, "  {name:<42} {:>9.3} ms", d.as_secs_f64() * 1e3)?;
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
