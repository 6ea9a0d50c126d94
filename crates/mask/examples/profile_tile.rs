//! Times one tile (640 x 640 unless told) through the embedded CenterFace network, node by node, and
//! prints where the time goes (by operator) and the datum types of the costly nodes'
//! outputs. Diagnosis only: `cargo run --release -p masque-mask --example profile_tile
//! [RUNS]`; with `TRACT_DEPTHWISE=1`, tract's own depthwise convolutions (the comparison);
//! with `BY_NODE=1`, one line per node instead of per operator; `WIDTH` and `HEIGHT` set
//! the input's size (640 x 640 by default), `THREADS` lets tract's matrix products use
//! that many threads. Prints the process's peak resident memory at the end.

use std::collections::HashMap;
use std::time::Instant;

use tract_onnx::prelude::*;

fn main() -> TractResult<()> {
    let env_side = |name: &str| -> usize {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(masque_mask::detect::TILE as usize)
    };
    let (width, height) = (env_side("WIDTH"), env_side("HEIGHT"));
    if let Some(n) = std::env::var("THREADS").ok().and_then(|v| v.parse().ok()) {
        use tract_onnx::tract_core::tract_linalg::multithread;
        multithread::set_default_executor(multithread::Executor::multithread(n));
    }
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    let t = Instant::now();
    // TRACT_DEPTHWISE=1: the model as tract alone optimises it (the comparison).
    let model = if std::env::var_os("TRACT_DEPTHWISE").is_some() {
        tract_onnx::onnx()
            .model_for_read(&mut std::io::Cursor::new(masque_mask::detect::MODEL))?
            .with_input_fact(0, f32::fact([1, 3, height, width]).into())?
            .into_optimized()?
    } else {
        masque_mask::detect::optimized_model_for(width as u32, height as u32)?
    };
    let dts: HashMap<String, usize> = model.nodes().iter().fold(HashMap::new(), |mut m, n| {
        for o in &n.outputs {
            *m.entry(format!("{:?}", o.fact.datum_type)).or_default() += 1;
        }
        m
    });
    println!(
        "optimised model: {} nodes, output datum types {dts:?}",
        model.nodes().len()
    );
    let plan = model.into_runnable()?;
    println!("load {:.2} s", t.elapsed().as_secs_f64());
    let input = Tensor::from(tract_ndarray::Array4::<f32>::from_elem(
        (1, 3, height, width),
        100.0,
    ));
    let mut by_op: HashMap<String, (f64, usize)> = HashMap::new();
    let mut state = SimpleState::new(&plan)?;
    for run in 0..runs {
        let t = Instant::now();
        let _ = state.run_plan_with_eval(tvec!(input.clone().into()), |s, st, node, inputs| {
            let t = Instant::now();
            let r = tract_onnx::tract_core::plan::eval(s, st, node, inputs);
            if run > 0 {
                let key = if std::env::var_os("BY_NODE").is_some() {
                    format!("{} {:?}", node.op().name(), node.outputs[0].fact.shape)
                } else {
                    format!(
                        "{} -> {:?}",
                        node.op().name(),
                        node.outputs.first().map(|o| o.fact.datum_type)
                    )
                };
                let e = by_op.entry(key).or_default();
                e.0 += t.elapsed().as_secs_f64();
                e.1 += 1;
            }
            r
        })?;
        println!("run {run}: {:.3} s", t.elapsed().as_secs_f64());
    }
    let mut rows: Vec<_> = by_op.into_iter().collect();
    rows.sort_by(|a, b| b.1.0.total_cmp(&a.1.0));
    let n = (runs.max(2) - 1) as f64;
    for (op, (secs, count)) in rows.iter().take(if std::env::var_os("BY_NODE").is_some() {
        40
    } else {
        15
    }) {
        println!("{:>8.1} ms  {:>4}  {op}", secs / n * 1e3, *count as f64 / n);
    }
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        let peak = status.lines().find(|l| l.starts_with("VmHWM"));
        println!(
            "{width} x {height}: peak resident {}",
            peak.unwrap_or("unknown")
        );
    }
    Ok(())
}
