//! `masque eval`: accuracy on a population, with a DET plot.

use crate::output::{print_json, progress};
use anyhow::Context;
use clap::{Args, ValueEnum};
use masque_template::coverage::GateReport;
use masque_template::eval::ScoreSet;
use masque_template::eval::det::{DetSeries, write_det_png};
use masque_template::eval::metrics::{AccuracyReport, curve, report};
use masque_template::eval::population::{FACE_COSINE_THRESHOLD, face_scores, population_scores};
use masque_template::eval::unlinkability::unlinkability;
use masque_template::iris::ROTATION_COUNT;
use masque_template::synth::IrisPopulation;
use masque_template::synth::face::FaceModel;
use masque_template::synth::iris::IrisModel;
use masque_template::{CoverageGate, IrisCode, MinOverlap, Threshold};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Args)]
pub struct EvalArgs {
    /// Population file (from `masque synth`, two or more captures); without it a
    /// population of --persons is generated from --seed.
    #[arg(long)]
    population: Option<PathBuf>,
    /// Persons to generate when no --population is given.
    #[arg(long, default_value_t = 1500)]
    persons: usize,
    /// Seed for the generated population.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Iris codes, or face-like embeddings (always generated).
    #[arg(long, value_enum, default_value_t = Modality::Iris)]
    modality: Modality,
    /// Operating threshold to report: a fractional Hamming distance for iris, a cosine
    /// similarity for faces [default: 0.345 for iris, 0.4 for faces].
    #[arg(long)]
    threshold: Option<f64>,
    /// Fewest overlapping valid bits for a decision (iris).
    #[arg(long, default_value_t = MinOverlap::DEFAULT.bits())]
    min_overlap: u32,
    /// Mask-coverage gate to report the failure-to-enrol rate of (valid bits per eye)
    /// [default: the gate that guarantees --min-overlap between any two gated eyes].
    #[arg(long)]
    coverage_gate_bits: Option<u32>,
    /// Where to write the DET plot (PNG).
    #[arg(long, default_value = "det.png")]
    plot: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum Modality {
    Iris,
    Face,
}

#[derive(Serialize)]
struct Section {
    name: &'static str,
    report: AccuracyReport,
    /// ISO/IEC 24745 D<->sys of the unprotected templates (1 = fully linkable).
    unlinkability_d_sys: f64,
}

#[derive(Serialize)]
struct EvalReport {
    modality: &'static str,
    threshold: f64,
    sections: Vec<Section>,
    /// Iris: what the network's mask-coverage gate refuses among these genuine captures.
    #[serde(skip_serializing_if = "Option::is_none")]
    coverage_gate: Option<GateReport>,
    plot: String,
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    // `asked` is the threshold as the user states it; `threshold` the same on the
    // distance scale the scores use.
    let mut gate = None;
    let (modality, asked, threshold, sets) = match args.modality {
        Modality::Iris => {
            let t = match args.threshold {
                Some(t) => Threshold::new(t)?,
                None => Threshold::DEFAULT,
            }
            .value();
            let pop = iris_population(&args)?;
            let coverage = coverage_gate(&args)?;
            gate = Some(coverage.report(&pop));
            ("iris", t, t, iris_scores(&pop, &args))
        }
        Modality::Face => {
            let t = args.threshold.unwrap_or(FACE_COSINE_THRESHOLD);
            anyhow::ensure!(
                (-1.0..1.0).contains(&t),
                "--threshold must be a cosine in (-1, 1)"
            );
            // Scores are distances 1 - cosine.
            let pop = FaceModel::default().generate(args.seed, args.persons, 2);
            (
                "face",
                t,
                1.0 - t,
                vec![("face (cosine)", face_scores(&pop)?)],
            )
        }
    };
    let sections: Vec<Section> = sets
        .iter()
        .map(|(name, scores)| {
            Ok(Section {
                name,
                report: report(scores, threshold)
                    .with_context(|| format!("cannot evaluate the {modality} population"))?,
                unlinkability_d_sys: unlinkability(&scores.genuine, &scores.impostor, 100, 1.0)
                    .d_sys,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let curves: Vec<_> = sets.iter().map(|(_, s)| curve(s)).collect();
    let series: Vec<DetSeries> = sets
        .iter()
        .zip(&curves)
        .map(|((name, _), points)| DetSeries {
            label: name,
            points,
        })
        .collect();
    write_det_png(
        &args.plot,
        &format!("DET, synthetic {modality} population"),
        &series,
    )?;
    let out = EvalReport {
        modality,
        threshold: asked,
        sections,
        coverage_gate: gate,
        plot: args.plot.display().to_string(),
    };
    if args.json {
        return print_json(&out);
    }
    print_report(&out);
    Ok(())
}

fn print_report(out: &EvalReport) {
    for s in &out.sections {
        let r = &s.report;
        println!(
            "== {} ({} genuine, {} impostor pairs)",
            s.name, r.genuine_pairs, r.impostor_pairs
        );
        println!(
            "   EER {:.4}% at threshold {:.4}",
            100.0 * r.eer,
            r.eer_threshold
        );
        println!(
            "   at threshold {}: FMR {:.3e}, FNMR {:.3e}",
            out.threshold, r.at_threshold.fmr, r.at_threshold.fnmr
        );
        for p in &r.operating_points {
            println!(
                "   FNMR at FMR {:.0e}: {:.4e} ({} false non-matches of {}; {} false matches of {}){}",
                p.target_fmr,
                p.fnmr,
                p.false_non_matches,
                p.genuine_pairs,
                p.false_matches,
                p.impostor_pairs,
                if p.supported {
                    ""
                } else {
                    " -- too few impostor pairs to support this FMR"
                }
            );
        }
        println!(
            "   unlinkability D<->sys of plaintext templates: {:.3}",
            s.unlinkability_d_sys
        );
    }
    if let Some(g) = &out.coverage_gate {
        println!(
            "coverage gate ({} valid bits per eye, c = {:.4}): refuses {} of {} captures \
             (failure to enrol {:.3}%), {} of {} eyes",
            g.min_bits,
            f64::from(g.min_bits) / f64::from(IrisCode::BITS as u32),
            g.refused_captures,
            g.captures,
            100.0 * g.failure_to_enrol(),
            g.refused_eyes,
            g.eyes
        );
    }
    println!("DET plot written to {}", out.plot);
}

/// The gate to report: `--coverage-gate-bits`, or the one that guarantees
/// `--min-overlap` between any two gated eyes.
fn coverage_gate(args: &EvalArgs) -> anyhow::Result<CoverageGate> {
    Ok(match args.coverage_gate_bits {
        Some(bits) => {
            anyhow::ensure!(
                bits <= IrisCode::BITS as u32,
                "--coverage-gate-bits is at most {} (every bit valid)",
                IrisCode::BITS
            );
            CoverageGate::from_bits(bits)
        }
        None => CoverageGate::guaranteeing(MinOverlap::new(args.min_overlap)),
    })
}

fn iris_population(args: &EvalArgs) -> anyhow::Result<IrisPopulation> {
    Ok(match &args.population {
        Some(path) => {
            let (pop, header) = IrisPopulation::read_file(path)?;
            anyhow::ensure!(
                header.captures >= 2,
                "{} has one capture per person; evaluation needs two (masque synth --captures 2)",
                path.display()
            );
            pop
        }
        None => {
            let bar = progress(args.persons as u64, "persons");
            let pop = IrisPopulation::generate(
                &IrisModel::default(),
                args.seed,
                args.persons,
                2,
                &|| bar.inc(1),
            );
            bar.finish_and_clear();
            pop
        }
    })
}

fn iris_scores(pop: &IrisPopulation, args: &EvalArgs) -> Vec<(&'static str, ScoreSet)> {
    let n = pop.persons.len() as u64;
    let bar = progress(2 * n * n * ROTATION_COUNT as u64, "comparisons");
    let scores = population_scores(pop, MinOverlap::new(args.min_overlap), &|k| bar.inc(k));
    bar.finish_and_clear();
    vec![("two eyes", scores.persons), ("single eye", scores.eyes)]
}
