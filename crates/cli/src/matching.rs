//! `masque match`: plaintext 1:N search of queries against a gallery.

use crate::output::print_json;
use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use masque_template::matcher::{
    DecisionRule, EyeMode, IrisGallery, IrisQuery, Matcher, RecordId, SearchOutcome,
};
use masque_template::synth::IrisPopulation;
use masque_template::{Eye, EyePair, FixedPointRule, IrisDocument, MinOverlap, Threshold};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args)]
pub struct MatchArgs {
    /// Gallery: a population file; capture 0 of person i is enrolled as record i.
    #[arg(long)]
    gallery: PathBuf,
    /// One query: iris-mpc two-eye JSON, or open-iris template JSON with --eye.
    #[arg(long, conflicts_with = "probes")]
    query: Option<PathBuf>,
    /// Many queries: a population file; every person's --probe-capture is searched.
    #[arg(long)]
    probes: Option<PathBuf>,
    /// Which capture of --probes to search with.
    #[arg(long, default_value_t = 1)]
    probe_capture: usize,
    /// Match on one eye only (default: both eyes must match).
    #[arg(long, value_enum)]
    eye: Option<EyeArg>,
    /// Fractional Hamming distance threshold.
    #[arg(long, default_value_t = Threshold::DEFAULT.value())]
    threshold: f64,
    /// Fewest overlapping valid bits for a decision.
    #[arg(long, default_value_t = MinOverlap::DEFAULT.bits())]
    min_overlap: u32,
    /// Decide with the MPC engine's fixed-point rule instead of the float distance.
    #[arg(long)]
    fixed_point: bool,
    /// Print results as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum EyeArg {
    Left,
    Right,
}

impl From<EyeArg> for Eye {
    fn from(e: EyeArg) -> Self {
        match e {
            EyeArg::Left => Eye::Left,
            EyeArg::Right => Eye::Right,
        }
    }
}

#[derive(Serialize)]
struct QueryResult {
    query: String,
    is_match: bool,
    matches: Vec<u64>,
    best_record: Option<u64>,
    best_distance: Option<f64>,
    comparisons: u64,
    milliseconds: f64,
}

pub fn run(args: MatchArgs) -> anyhow::Result<()> {
    let threshold = Threshold::new(args.threshold)?;
    let rule = if args.fixed_point {
        DecisionRule::FixedPoint(FixedPointRule::new(threshold))
    } else {
        DecisionRule::Fractional {
            threshold,
            min_overlap: MinOverlap::new(args.min_overlap),
        }
    };
    let matcher = Matcher::new(rule);
    let (gallery_pop, _) = IrisPopulation::read_file(&args.gallery)?;
    let mode = if args.eye.is_some() {
        EyeMode::SingleEye
    } else {
        EyeMode::TwoEyes
    };
    let mut gallery = IrisGallery::new(mode);
    gallery.reserve(gallery_pop.persons.len());
    for (i, pair) in gallery_pop.capture(0) {
        match args.eye {
            Some(e) => gallery.insert_eye(RecordId(i as u64), pair.eye(e.into()))?,
            None => gallery.insert_pair(RecordId(i as u64), pair)?,
        }
    }
    drop(gallery_pop);

    let queries = load_queries(&args)?;
    let mut results = Vec::with_capacity(queries.len());
    for (name, query) in queries {
        let start = Instant::now();
        let outcome = matcher.search(&gallery, &query)?;
        results.push(result(name, outcome, start.elapsed().as_secs_f64() * 1e3));
    }
    if args.json {
        return print_json(&results);
    }
    println!(
        "gallery: {} records ({} eyes), kernel {}, rule {}",
        gallery.len(),
        gallery.eye_count(),
        matcher.kernel.name(),
        if args.fixed_point {
            "fixed-point"
        } else {
            "fractional"
        }
    );
    for r in &results {
        let best = match (r.best_record, r.best_distance) {
            (Some(rec), Some(d)) => format!("closest record {rec} at {d:.4}"),
            _ => "no decidable comparison".to_owned(),
        };
        println!(
            "{}: {} ({best}; matches {:?}; {} comparisons in {:.1} ms)",
            r.query,
            if r.is_match { "MATCH" } else { "no match" },
            r.matches,
            r.comparisons,
            r.milliseconds
        );
    }
    Ok(())
}

fn result(query: String, outcome: SearchOutcome, milliseconds: f64) -> QueryResult {
    QueryResult {
        query,
        is_match: outcome.is_match,
        matches: outcome.matches.iter().map(|r| r.0).collect(),
        best_record: outcome.best.as_ref().map(|b| b.record.0),
        best_distance: outcome.best.as_ref().map(|b| b.distance),
        comparisons: outcome.comparisons,
        milliseconds,
    }
}

fn load_queries(args: &MatchArgs) -> anyhow::Result<Vec<(String, IrisQuery)>> {
    let make = |pair: &EyePair| match args.eye {
        Some(e) => IrisQuery::single(pair.eye(e.into())),
        None => IrisQuery::pair(pair),
    };
    if let Some(path) = &args.query {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading query {}", path.display()))?;
        let name = path.display().to_string();
        let document =
            IrisDocument::from_json(&text).with_context(|| format!("reading query {name}"))?;
        return match document {
            IrisDocument::Pair(pair) => Ok(vec![(name, make(&pair))]),
            IrisDocument::Eye(_) if args.eye.is_none() => {
                bail!("{name} holds one eye; say which with --eye left|right")
            }
            IrisDocument::Eye(eye) => Ok(vec![(name, IrisQuery::single(&eye))]),
        };
    }
    let Some(path) = &args.probes else {
        bail!("give a query with --query FILE or --probes FILE");
    };
    let (pop, _) = IrisPopulation::read_file(path)?;
    let queries: Vec<_> = pop
        .capture(args.probe_capture)
        .map(|(i, pair)| (format!("probe {i}"), make(pair)))
        .collect();
    if queries.is_empty() {
        bail!(
            "{} has no capture {}; use --probe-capture with an index below its capture count",
            path.display(),
            args.probe_capture
        );
    }
    Ok(queries)
}
