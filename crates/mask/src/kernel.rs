//! What masque's own network operators (`depthwise.rs`, `pointwise.rs`, `conv3x3.rs`,
//! `upsample.rs`, `expand.rs`, `stem.rs`) share: the SIMD build chosen at run time, the one place each operator's
//! work is compiled for every build, and tract's operator plumbing around it.
//!
//! **Guarantees**: a SIMD build runs only on a processor that has its instructions
//! ([`Kernel::detect`]); every operator's portable build is the reference its SIMD builds
//! are tested equal to.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::{EvalOp, Op, TypedOp, ensure, format_err};

/// A build of masque's kernels, as [`Kernel::detect`] chooses it for this processor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kernel {
    /// [`run_avx512_vnni`]: only made when the processor has AVX-512F, AVX-512BW,
    /// AVX-512 VNNI and FMA. The same as [`Kernel::Avx512`], except that operators whose 1 x 1 sums are
    /// quantized (`quantized.rs`) make them with `VPDPBUSD`.
    #[cfg(target_arch = "x86_64")]
    Avx512Vnni,
    /// [`run_avx512`]: only made when the processor has AVX-512F and FMA.
    #[cfg(target_arch = "x86_64")]
    Avx512,
    /// [`run_avx2`]: only made when the processor has AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// [`run_portable`].
    Portable,
}

impl Kernel {
    /// The fastest build this processor runs.
    pub(crate) fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vnni")
            && std::is_x86_feature_detected!("fma")
        {
            return Kernel::Avx512Vnni;
        }
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("fma") {
            return Kernel::Avx512;
        }
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return Kernel::Avx2;
        }
        Kernel::Portable
    }

    fn name(self) -> &'static str {
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni => "avx512-vnni",
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => "avx512",
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => "avx2",
            Kernel::Portable => "portable",
        }
    }
}

/// The build of the kernels chosen on this processor: `avx512-vnni`, `avx512`, `avx2` or
/// `portable`
/// (benchmarks say which ran).
pub(crate) fn kernel_name() -> &'static str {
    Kernel::detect().name()
}

/// An operator masque computes itself: one float32 input, one float32 output.
pub(crate) trait Kernels: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// Its name in tract's graph.
    const NAME: &'static str;

    /// How many values its input holds.
    fn input_len(&self) -> usize;

    /// Its output's shape.
    fn output_shape(&self) -> Vec<usize>;

    /// The work, with the sums made by `kernel`'s build: writes every value of `out`
    /// (which may hold anything, [`MasqueOp`] hands it uninitialised) and reads none of
    /// it before writing it. Compiled into each build's
    /// function below, so it must be `#[inline(always)]`; and no closure may hold the
    /// hot loops (a closure is compiled without the build's target features).
    fn run_with(&self, x: &[f32], out: &mut [f32], kernel: Kernel);

    /// Makes its 1 x 1 sums, if it has any, in 8-bit integers (`quantized.rs`).
    fn use_int8(&mut self) {}
}

/// Makes the 1 x 1 sums of every operator of `model` that has any in 8-bit integers
/// (`quantized.rs`); returns how many operators it changed.
pub(crate) fn use_int8(model: &mut TypedModel) -> usize {
    fn one<T: Kernels>(node: &mut TypedNode) -> bool {
        node.op_as_mut::<MasqueOp<T>>()
            .map(|MasqueOp(op)| op.use_int8())
            .is_some()
    }
    let mut changed = 0;
    for node in model.nodes_mut() {
        let made = one::<crate::pointwise::Pointwise>(node)
            || one::<crate::expand::ExpandDepthwise>(node)
            || one::<crate::conv3x3::Conv3x3>(node)
            || one::<crate::upsample::Upsample>(node)
            || one::<crate::stem::Stem>(node);
        changed += usize::from(made);
    }
    changed
}

/// Runs `op` with the build [`Kernel::detect`] chooses.
pub(crate) fn run<T: Kernels>(op: &T, x: &[f32], out: &mut [f32]) {
    match Kernel::detect() {
        // SAFETY: `detect` chooses Avx512Vnni only when the processor has AVX-512F,
        // AVX-512BW, AVX-512 VNNI and FMA.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512Vnni => unsafe { run_avx512_vnni(op, x, out) },
        // SAFETY: `detect` chooses Avx512 only when the processor has AVX-512F and FMA.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => unsafe { run_avx512(op, x, out) },
        // SAFETY: `detect` chooses Avx2 only when the processor has AVX2 and FMA.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => unsafe { run_avx2(op, x, out) },
        _ => run_portable(op, x, out),
    }
}

/// `op`'s work compiled for AVX2 with fused multiply-adds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(crate) fn run_avx2<T: Kernels>(op: &T, x: &[f32], out: &mut [f32]) {
    op.run_with(x, out, Kernel::Avx2);
}

/// `op`'s work compiled for AVX-512F with fused multiply-adds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
pub(crate) fn run_avx512<T: Kernels>(op: &T, x: &[f32], out: &mut [f32]) {
    op.run_with(x, out, Kernel::Avx512);
}

/// `op`'s work compiled for AVX-512F with fused multiply-adds and VNNI.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,fma")]
pub(crate) fn run_avx512_vnni<T: Kernels>(op: &T, x: &[f32], out: &mut [f32]) {
    op.run_with(x, out, Kernel::Avx512Vnni);
}

/// `op`'s portable build: the reference the SIMD builds are tested against.
pub(crate) fn run_portable<T: Kernels>(op: &T, x: &[f32], out: &mut [f32]) {
    op.run_with(x, out, Kernel::Portable);
}

/// The height of strips of at most `rows` rows that cut `total` rows into the fewest
/// strips, all of about one height: a last strip of a row or two would leave the 1 x 1
/// sums runs shorter than their vectors (a 20-row output cut 18 + 2 took 40 % longer).
pub(crate) fn even_strips(rows: usize, total: usize) -> usize {
    let (rows, total) = (rows.max(1), total.max(1));
    total.div_ceil(total.div_ceil(rows))
}

/// A float32 tensor of `shape` whose values are not written (zeroing a large tensor
/// only to overwrite it costs a `memset` of it); filled with NaN under debug
/// assertions, so in the tests a value the caller leaves unwritten shows up.
///
/// # Safety
///
/// The caller writes every value before anything reads it.
pub(crate) unsafe fn unwritten(shape: &[usize]) -> TractResult<Tensor> {
    // SAFETY: the caller's promise: no value is read before it is written.
    let mut tensor = unsafe { Tensor::uninitialized::<f32>(shape)? };
    if cfg!(debug_assertions) {
        tensor.as_slice_mut::<f32>()?.fill(f32::NAN);
    }
    Ok(tensor)
}

/// A [`Kernels`] as an operator of tract's graph.
#[derive(Clone, Debug)]
pub(crate) struct MasqueOp<T>(pub T);

impl<T: Kernels> Op for MasqueOp<T> {
    fn name(&self) -> std::borrow::Cow<'_, str> {
        T::NAME.into()
    }

    tract_onnx::tract_core::op_as_typed_op!();
}

impl<T: Kernels> EvalOp for MasqueOp<T> {
    fn is_stateless(&self) -> bool {
        true
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = inputs.first().ok_or_else(|| format_err!("no input"))?;
        let x = input.as_slice::<f32>()?;
        let expected = self.0.input_len();
        ensure!(
            x.len() == expected,
            "input of {} values, expected {expected}",
            x.len()
        );
        // Written in place: building the tensor from a Vec copied every output again, and
        // zeroing it first cost 3 to 4 % of a tile (memset, as tract's own operators avoid
        // too).
        // SAFETY: every operator writes each value of its output and reads none before
        // (`Kernels::run_with`'s contract); a value left unwritten shows up as NaN, a
        // mismatch, in every graph test against tract.
        let mut tensor = unsafe { unwritten(&self.0.output_shape())? };
        run(&self.0, x, tensor.as_slice_mut::<f32>()?);
        Ok(tvec!(tensor.into_tvalue()))
    }
}

impl<T: Kernels> TypedOp for MasqueOp<T> {
    fn output_facts(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(f32::fact(self.0.output_shape())))
    }

    tract_onnx::tract_core::as_op!();
}

/// Replaces, in order, every node `matcher` recognises by the operator it returns, wired
/// to the given input, in place of the given outlet (the node's own, or a later one when
/// the operator also computes what followed it); returns how many it replaced.
pub(crate) fn replace_each<T: Kernels>(
    model: &mut TypedModel,
    matcher: impl Fn(&TypedModel, &TypedNode) -> TractResult<Option<(T, OutletId, OutletId)>>,
) -> TractResult<usize> {
    let mut replaced = 0;
    for id in model.eval_order()? {
        let node = model.node(id);
        let Some((op, input, last)) = matcher(model, node)? else {
            continue;
        };
        let mut patch = TypedModelPatch::default();
        let x = patch.tap_model(model, input)?;
        let out = patch.wire_node(&node.name, MasqueOp(op), &[x])?;
        patch.shunt_outside(model, last, out[0])?;
        patch.apply(model)?;
        replaced += 1;
    }
    Ok(replaced)
}

/// Replaces every operator `C` of `model` that is the sole reader of an operator `P` by
/// `fuse(producer, consumer)`, where that gives an operator, wired to the producer's
/// input; returns how many pairs it fused (`expand.rs`, `stem.rs`). Runs after the
/// replacements that make `P` and `C`.
pub(crate) fn fuse_pairs<P: Kernels, C: Kernels, F: Kernels>(
    model: &mut TypedModel,
    fuse: impl Fn(&P, &C) -> Option<F>,
) -> TractResult<usize> {
    replace_each(model, |model, node| {
        let Some(MasqueOp(consumer)) = node.op_as::<MasqueOp<C>>() else {
            return Ok(None);
        };
        let Some(&source) = node.inputs.first() else {
            return Ok(None);
        };
        let producer = model.node(source.node);
        let Some(MasqueOp(made)) = producer.op_as::<MasqueOp<P>>() else {
            return Ok(None);
        };
        if crate::fusion::sole_reader(model, source).map(|(n, _)| n.id) != Some(node.id) {
            return Ok(None);
        }
        Ok(fuse(made, consumer).map(|op| (op, producer.inputs[0], OutletId::new(node.id, 0))))
    })
}

/// The first SIMD build this processor runs whose output for `op` on `x` is not exactly
/// `want` (the portable build's), for the operators' tests; `None` when all agree.
#[cfg(test)]
pub(crate) fn simd_mismatch<T: Kernels>(op: &T, x: &[f32], want: &[f32]) -> Option<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        let mut out = vec![f32::NAN; want.len()];
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the processor supports AVX2 and FMA, checked just above.
            unsafe { run_avx2(op, x, &mut out) };
            if out != want {
                return Some("avx2");
            }
        }
        if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("fma") {
            out.fill(f32::NAN);
            // SAFETY: the processor supports AVX-512F and FMA, checked just above.
            unsafe { run_avx512(op, x, &mut out) };
            if out != want {
                return Some("avx512");
            }
            if std::is_x86_feature_detected!("avx512vnni")
                && std::is_x86_feature_detected!("avx512bw")
            {
                out.fill(f32::NAN);
                // SAFETY: the processor supports AVX-512F, BW, VNNI and FMA, checked
                // above.
                unsafe { run_avx512_vnni(op, x, &mut out) };
                if out != want {
                    return Some("avx512-vnni");
                }
            }
        }
    }
    let _ = (op, x, want);
    None
}

/// A xorshift stream of values in [-1, 1], for the operators' tests.
#[cfg(test)]
pub(crate) fn stream(seed: u64) -> impl FnMut() -> f32 {
    let mut state = seed | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 2001) as f32 / 1000.0 - 1.0
    }
}

/// `model` optimised by tract and run on `input`: its first output (for the operators'
/// tests, which compare a graph with masque's operators against tract's own).
#[cfg(test)]
pub(crate) fn run_model(model: TypedModel, input: &Tensor) -> TValue {
    model
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap()
        .run(tvec!(input.clone().into()))
        .unwrap()
        .remove(0)
}

/// tract's graph `theirs` and the graph with masque's operators `ours`, each run on
/// `input` as [`run_model`] does: their first outputs' values, once their shapes are
/// checked equal.
#[cfg(test)]
pub(crate) fn run_both(
    theirs: TypedModel,
    ours: TypedModel,
    input: &Tensor,
) -> (Vec<f32>, Vec<f32>) {
    let (theirs, ours) = (run_model(theirs, input), run_model(ours, input));
    assert_eq!(theirs.shape(), ours.shape());
    let values = |t: TValue| t.as_slice::<f32>().unwrap().to_vec();
    (values(theirs), values(ours))
}
