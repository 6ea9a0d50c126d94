//! A faster 1 x 1 convolution for tract, with its bias and ReLU folded in.
//!
//! The 1 x 1 convolutions are five sixths of CenterFace's multiply-adds (2.06 of 2.47
//! billion on a 640 x 640 tile). tract runs them as matrix products whose vectors run
//! along the output channels, so every result is stored one channel plane at a time, a
//! scattered store per value; the first expansion (16 to 96 channels on 320 x 320 pixels)
//! spent 31 ms on 0.16 billion multiply-adds, 5 per nanosecond, a third of tract's rate on
//! the other layers. Here vectors run along the pixels, which are contiguous in each
//! channel plane: a block of [`ROWS`] output channels times [`LANES`] pixels is summed in
//! registers over all input channels and stored once, contiguously, with its bias added
//! and negative values cut to zero where a ReLU followed. After [`Pointwise::use_int8`] the
//! same sums are made in 8-bit integers instead (`quantized.rs`); every operator that sums
//! through [`Pointwise::sums`] (the fused expansions and projections, the 3 x 3
//! convolutions, the upsampling) follows.
//!
//! **Guarantees**: [`replace`] swaps only what it computes exactly as tract does up to
//! float rounding: an `EinSum` `IHW,OI->OHW` (or with one image in or out, `NIHW`, `NOHW`) on float32
//! with constant weights, followed by the addition of a constant bias per output channel
//! and, where the sum goes nowhere else, by `max(x, 0)`. The unit tests compare it with
//! tract on random data, and the AVX2 and AVX-512 builds (chosen at run time) with the
//! portable one, value for value. With the sums in integers the results are within the
//! quantization's rounding of these (tested in `quantized.rs`), not float rounding.
//!
//! **Not done**: the residual additions after some projections stay tract's own operator.

use std::ops::Range;
use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::einsum::EinSum;

use crate::fusion;
use crate::kernel::{Kernel, Kernels, replace_each};
use crate::quantized::{self, Quantized, QuantizedWeights};

/// Output channels summed together.
pub(crate) const ROWS: usize = 4;
/// Pixels summed together: three vectors of 16 with AVX-512, six of 8 with AVX2, so that
/// the `ROWS` x `LANES` sums fill 12 vector registers.
pub(crate) const LANES: usize = 48;
/// The input columns of one pass over the weights stay within this many floats (256 KiB,
/// a quarter of a Zen 4 core's L2 cache), so every block of output channels reads them
/// from the cache.
const PANEL_FLOATS: usize = 64 * 1024;

/// A 1 x 1 convolution on float32 channel planes: `inputs` planes of `pixels` values in,
/// `outputs` planes out, each the weighted sum of the input planes plus a bias, cut at zero
/// when `relu`.
#[derive(Clone, Debug)]
pub(crate) struct Pointwise {
    /// The output's shape ([O, H, W], or [1, O, H, W]).
    pub(crate) output_shape: Vec<usize>,
    pub(crate) inputs: usize,
    pub(crate) outputs: usize,
    pub(crate) pixels: usize,
    /// Weights in blocks of [`ROWS`] output channels: block b holds, input channel after
    /// input channel, the weights of channels b * ROWS to b * ROWS + ROWS - 1 (zeros past
    /// the last channel).
    packed: Arc<Vec<f32>>,
    /// One bias per output channel, padded with zeros to whole blocks.
    bias: Arc<Vec<f32>>,
    relu: bool,
    /// The weights in signed bytes where the sums are made in 8-bit integers
    /// (`quantized.rs`) rather than float32.
    quantized: Option<Arc<QuantizedWeights>>,
}

impl Pointwise {
    /// The operator for `weights` (`outputs` rows of `inputs` values) and `bias`.
    pub(crate) fn new(
        output_shape: Vec<usize>,
        weights: &[f32],
        bias: &[f32],
        relu: bool,
    ) -> Pointwise {
        let planes = &output_shape[output_shape.len() - 3..];
        let (outputs, pixels) = (planes[0], planes[1] * planes[2]);
        let inputs = weights.len() / outputs;
        let blocks = outputs.div_ceil(ROWS);
        let mut packed = vec![0f32; blocks * ROWS * inputs];
        for (o, row) in weights.chunks_exact(inputs).enumerate() {
            let (block, r) = (o / ROWS, o % ROWS);
            for (i, &w) in row.iter().enumerate() {
                packed[(block * inputs + i) * ROWS + r] = w;
            }
        }
        let mut padded_bias = bias.to_vec();
        padded_bias.resize(blocks * ROWS, 0.0);
        Pointwise {
            output_shape,
            inputs,
            outputs,
            pixels,
            packed: Arc::new(packed),
            bias: Arc::new(padded_bias),
            relu,
            quantized: None,
        }
    }

    /// Makes the sums in 8-bit integers from now on (`quantized.rs`).
    pub(crate) fn use_int8(&mut self) {
        if self.quantized.is_some() {
            return;
        }
        let mut rows = vec![0f32; self.outputs * self.inputs];
        for (o, row) in rows.chunks_exact_mut(self.inputs).enumerate() {
            let (block, r) = (o / ROWS, o % ROWS);
            for (i, w) in row.iter_mut().enumerate() {
                *w = self.packed[(block * self.inputs + i) * ROWS + r];
            }
        }
        let weights = QuantizedWeights::new(&rows, self.inputs, self.outputs);
        self.quantized = Some(Arc::new(weights));
    }

    /// The sums of pixels `pixels` of `x` (this operator's `inputs` planes, each
    /// `self.pixels` long), made by `kernel`'s build, ready to be written block by block
    /// ([`Sums::block`]); `scratch` holds the quantized input where the sums are in
    /// integers.
    #[inline(always)]
    pub(crate) fn sums<'a>(
        &'a self,
        x: &'a [f32],
        pixels: Range<usize>,
        kernel: Kernel,
        scratch: &'a mut Quantized,
    ) -> Sums<'a> {
        if let Some(weights) = &self.quantized {
            scratch.fill(x, self.pixels, self.inputs, pixels, kernel);
            Sums::Int8 {
                op: self,
                weights,
                input: scratch,
                kernel,
            }
        } else {
            Sums::Float {
                op: self,
                x,
                pixels,
                kernel,
            }
        }
    }

    /// The same weights, bias and ReLU on planes of another size (`output_shape`'s last
    /// two axes): for an operator that feeds it a strip of rows at a time.
    pub(crate) fn reshaped(&self, output_shape: Vec<usize>) -> Pointwise {
        let planes = &output_shape[output_shape.len() - 3..];
        Pointwise {
            pixels: planes[1] * planes[2],
            output_shape,
            ..self.clone()
        }
    }

    /// How many blocks of [`ROWS`] output channels there are.
    pub(crate) fn blocks(&self) -> usize {
        self.outputs.div_ceil(ROWS)
    }

    /// Output channels in a block (the last block may have fewer).
    pub(crate) const BLOCK: usize = ROWS;
}

/// One range of pixels of a [`Pointwise`]'s input, ready for its sums.
pub(crate) enum Sums<'a> {
    /// Summed in float32.
    Float {
        op: &'a Pointwise,
        x: &'a [f32],
        pixels: Range<usize>,
        kernel: Kernel,
    },
    /// Quantized, summed in 8-bit integers.
    Int8 {
        op: &'a Pointwise,
        weights: &'a QuantizedWeights,
        input: &'a Quantized,
        kernel: Kernel,
    },
}

impl Sums<'_> {
    /// Output channels `block * BLOCK..` (the block's, as many as exist) of the range,
    /// channel r of the block written from `out[r * stride]` on.
    #[inline(always)]
    pub(crate) fn block(&self, block: usize, out: &mut [f32], stride: usize) {
        match self {
            Sums::Float {
                op,
                x,
                pixels,
                kernel,
            } => block_range(op, x, block, pixels.clone(), out, stride, *kernel),
            Sums::Int8 {
                op,
                weights,
                input,
                kernel,
            } => quantized::block_range(
                weights, &op.bias, op.outputs, op.relu, input, block, out, stride, *kernel,
            ),
        }
    }
}

impl Kernels for Pointwise {
    const NAME: &'static str = "MasquePointwise";

    fn use_int8(&mut self) {
        Pointwise::use_int8(self);
    }

    fn input_len(&self) -> usize {
        self.inputs * self.pixels
    }

    fn output_shape(&self) -> Vec<usize> {
        self.output_shape.clone()
    }

    /// The work itself, with the sums of [`block_range`] made by `kernel`.
    #[inline(always)]
    fn run_with(&self, x: &[f32], out: &mut [f32], kernel: Kernel) {
        let pixels = self.pixels;
        let panel = (PANEL_FLOATS / self.inputs / LANES).max(1) * LANES;
        let mut scratch = Quantized::default();
        for start in (0..pixels).step_by(panel) {
            let end = (start + panel).min(pixels);
            let sums = self.sums(x, start..end, kernel, &mut scratch);
            for block in 0..self.blocks() {
                sums.block(block, &mut out[block * ROWS * pixels + start..], pixels);
            }
        }
    }
}

/// Output channels `block * ROWS..` (the block's, as many as exist) at `pixels` of `x`,
/// written to `out`, channel r of the block from `out[r * stride]` on; whole runs of
/// [`LANES`] pixels by the build `kernel` names.
#[inline(always)]
fn block_range(
    op: &Pointwise,
    x: &[f32],
    block: usize,
    pixels: std::ops::Range<usize>,
    out: &mut [f32],
    stride: usize,
    kernel: Kernel,
) {
    let first = block * ROWS;
    let rows = (op.outputs - first).min(ROWS);
    let weights = &op.packed[block * ROWS * op.inputs..(block + 1) * ROWS * op.inputs];
    let bias: &[f32; ROWS] = op.bias[first..first + ROWS]
        .try_into()
        .expect("bias padded to whole blocks");
    let (start, end) = (pixels.start, pixels.end);
    let whole = Run {
        x,
        pixels: op.pixels,
        weights,
        bias,
        rows,
        relu: op.relu,
    };
    let mut p = start;
    while p + LANES <= end {
        whole.sum_and_store(kernel, p, out, stride, p - start);
        p += LANES;
    }
    if p == end {
        return;
    }
    // The last pixels, fewer than LANES. Where the range holds a whole run, the run ending
    // at `end` is computed again: the pixels it shares with the one before come out the
    // same (each pixel's sum is made in the same order on every path), and one pass of
    // the fast sums costs less than the pixels one at a time (up to 15 of them, each a
    // pass over every input channel: in strips of 17 rows of 40 pixels, more than all the
    // runs before them).
    if end - start >= LANES {
        whole.sum_and_store(kernel, end - LANES, out, stride, end - LANES - start);
        return;
    }
    // A range shorter than a run: vectors of 16, the last one ending at `end`, and one
    // pixel at a time only where the range is shorter than a vector.
    while p + 16 <= end {
        let sums = sum_block::<16>(x, op.pixels, p, weights, bias);
        store(&sums, rows, op.relu, out, stride, p - start);
        p += 16;
    }
    if p < end && end - start >= 16 {
        let sums = sum_block::<16>(x, op.pixels, end - 16, weights, bias);
        store(&sums, rows, op.relu, out, stride, end - 16 - start);
        return;
    }
    while p < end {
        let sums = sum_block::<1>(x, op.pixels, p, weights, bias);
        store(&sums, rows, op.relu, out, stride, p - start);
        p += 1;
    }
}

/// What one run of [`LANES`] pixels of a block reads.
struct Run<'a> {
    x: &'a [f32],
    pixels: usize,
    weights: &'a [f32],
    bias: &'a [f32; ROWS],
    rows: usize,
    relu: bool,
}

impl Run<'_> {
    /// The sums for pixels `p..p + LANES`, stored at `out[r * stride + at..]`, by the
    /// build `kernel` names. The SIMD builds are written with intrinsics, in functions
    /// of their own: left to the compiler, the same loops were vectorised in some callers
    /// and turned into scalar code, six times slower, in others (the 3 x 3 convolution's
    /// strips, a packed variant that was tried).
    #[inline(always)]
    fn sum_and_store(&self, kernel: Kernel, p: usize, out: &mut [f32], stride: usize, at: usize) {
        match kernel {
            // SAFETY: `Kernel::detect` chooses Avx512 only when the processor has
            // AVX-512F and FMA.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 | Kernel::Avx512Vnni => unsafe {
                self.sum_and_store_avx512(p, out, stride, at)
            },
            // SAFETY: `Kernel::detect` chooses Avx2 only when the processor has AVX2 and
            // FMA.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { self.sum_and_store_avx2(p, out, stride, at) },
            _ => self.sum_and_store_portable(p, out, stride, at),
        }
    }

    /// Checks that every value [`Run::sum_and_store_portable`] would read and write at
    /// `p` and `at` lies inside `x`, `weights` and `out`: what the SIMD builds, which read
    /// and write through pointers, need to be sound.
    #[cfg(target_arch = "x86_64")]
    fn assert_in_bounds(&self, p: usize, out: &[f32], stride: usize, at: usize) {
        let inputs = self.weights.len() / ROWS;
        assert!(self.weights.len() == inputs * ROWS && self.rows <= ROWS);
        assert!(inputs == 0 || (inputs - 1) * self.pixels + p + LANES <= self.x.len());
        assert!(self.rows == 0 || (self.rows - 1) * stride + at + LANES <= out.len());
    }

    /// [`Run::sum_and_store_portable`] with AVX-512 instructions: 4 x 3 sums of 16 in
    /// registers, one fused multiply-add each per input channel (the same single rounding
    /// as `mul_add`, in the same order, so the same floats).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,fma")]
    #[inline(never)]
    fn sum_and_store_avx512(&self, p: usize, out: &mut [f32], stride: usize, at: usize) {
        use std::arch::x86_64::*;
        self.assert_in_bounds(p, out, stride, at);
        let inputs = self.weights.len() / ROWS;
        let mut sums = [[_mm512_setzero_ps(); 3]; ROWS];
        for (s, &b) in sums.iter_mut().zip(self.bias) {
            *s = [_mm512_set1_ps(b); 3];
        }
        for k in 0..inputs {
            // SAFETY: assert_in_bounds checked that x holds LANES (48) values from
            // k * pixels + p for every k < inputs.
            let (x0, x1, x2) = unsafe {
                let base = self.x.as_ptr().add(k * self.pixels + p);
                (
                    _mm512_loadu_ps(base),
                    _mm512_loadu_ps(base.add(16)),
                    _mm512_loadu_ps(base.add(32)),
                )
            };
            for (s, &w) in sums.iter_mut().zip(&self.weights[k * ROWS..(k + 1) * ROWS]) {
                let w = _mm512_set1_ps(w);
                s[0] = _mm512_fmadd_ps(w, x0, s[0]);
                s[1] = _mm512_fmadd_ps(w, x1, s[1]);
                s[2] = _mm512_fmadd_ps(w, x2, s[2]);
            }
        }
        let zero = _mm512_setzero_ps();
        for (r, s) in sums.iter().take(self.rows).enumerate() {
            for (j, &v) in s.iter().enumerate() {
                let v = if self.relu { _mm512_max_ps(v, zero) } else { v };
                // SAFETY: assert_in_bounds checked that out holds LANES values from
                // r * stride + at for every r < rows.
                unsafe { _mm512_storeu_ps(out.as_mut_ptr().add(r * stride + at + 16 * j), v) };
            }
        }
    }

    /// [`Run::sum_and_store_portable`] with AVX2 instructions: 4 x 2 sums of 8 in
    /// registers (16 registers do not hold 4 x 6), three times along the run.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    #[inline(never)]
    fn sum_and_store_avx2(&self, p: usize, out: &mut [f32], stride: usize, at: usize) {
        use std::arch::x86_64::*;
        self.assert_in_bounds(p, out, stride, at);
        let inputs = self.weights.len() / ROWS;
        let zero = _mm256_setzero_ps();
        for part in (0..LANES).step_by(16) {
            let mut sums = [[_mm256_setzero_ps(); 2]; ROWS];
            for (s, &b) in sums.iter_mut().zip(self.bias) {
                *s = [_mm256_set1_ps(b); 2];
            }
            for k in 0..inputs {
                // SAFETY: assert_in_bounds checked that x holds LANES values from
                // k * pixels + p for every k < inputs, and part + 16 <= LANES.
                let (x0, x1) = unsafe {
                    let base = self.x.as_ptr().add(k * self.pixels + p + part);
                    (_mm256_loadu_ps(base), _mm256_loadu_ps(base.add(8)))
                };
                for (s, &w) in sums.iter_mut().zip(&self.weights[k * ROWS..(k + 1) * ROWS]) {
                    let w = _mm256_set1_ps(w);
                    s[0] = _mm256_fmadd_ps(w, x0, s[0]);
                    s[1] = _mm256_fmadd_ps(w, x1, s[1]);
                }
            }
            for (r, s) in sums.iter().take(self.rows).enumerate() {
                for (j, &v) in s.iter().enumerate() {
                    let v = if self.relu { _mm256_max_ps(v, zero) } else { v };
                    // SAFETY: assert_in_bounds checked that out holds LANES values from
                    // r * stride + at for every r < rows.
                    unsafe {
                        _mm256_storeu_ps(out.as_mut_ptr().add(r * stride + at + part + 8 * j), v)
                    };
                }
            }
        }
    }

    #[inline(always)]
    fn sum_and_store_portable(&self, p: usize, out: &mut [f32], stride: usize, at: usize) {
        let sums = sum_block::<LANES>(self.x, self.pixels, p, self.weights, self.bias);
        store(&sums, self.rows, self.relu, out, stride, at);
    }
}

/// The `ROWS` x `N` sums for pixels `p..p + N` of the block whose weights are `weights`
/// (input channel after input channel, `ROWS` each).
#[inline(always)]
fn sum_block<const N: usize>(
    x: &[f32],
    pixels: usize,
    p: usize,
    weights: &[f32],
    bias: &[f32; ROWS],
) -> [[f32; N]; ROWS] {
    let mut sums = [[0f32; N]; ROWS];
    for (s, &b) in sums.iter_mut().zip(bias) {
        *s = [b; N];
    }
    for (plane, w) in x.chunks_exact(pixels).zip(weights.chunks_exact(ROWS)) {
        let xs: &[f32; N] = plane[p..p + N].try_into().expect("N pixels");
        for (s, &w) in sums.iter_mut().zip(w) {
            for (s, &v) in s.iter_mut().zip(xs) {
                *s = w.mul_add(v, *s);
            }
        }
    }
    sums
}

/// Writes the first `rows` rows of `sums`, row r at `out[r * stride + at..]`.
#[inline(always)]
fn store<const N: usize>(
    sums: &[[f32; N]; ROWS],
    rows: usize,
    relu: bool,
    out: &mut [f32],
    stride: usize,
    at: usize,
) {
    for (r, s) in sums.iter().take(rows).enumerate() {
        let dst = &mut out[r * stride + at..r * stride + at + N];
        if relu {
            for (d, &v) in dst.iter_mut().zip(s) {
                *d = v.max(0.0);
            }
        } else {
            dst.copy_from_slice(s);
        }
    }
}

/// The [`Pointwise`] computing `node` (a tract `EinSum`) and what follows it, with the
/// outlet whose value it replaces, if it is one it handles.
fn pointwise_for(
    model: &TypedModel,
    node: &TypedNode,
) -> TractResult<Option<(Pointwise, OutletId)>> {
    let Some(einsum) = node.op_as::<EinSum>() else {
        return Ok(None);
    };
    let axes = einsum.axes.to_string();
    // With one output channel (the heatmap head) tract's import drops the weights' O
    // axis: "NIHW,I->NOHW", weights of rank 1.
    let one_output = match axes.as_str() {
        "IHW,OI->OHW" | "NIHW,OI->OHW" | "IHW,OI->NOHW" | "NIHW,OI->NOHW" => false,
        "IHW,I->OHW" | "NIHW,I->OHW" | "IHW,I->NOHW" | "NIHW,I->NOHW" => true,
        _ => return Ok(None),
    };
    if einsum.q_params.is_some()
        || einsum.operating_dt != f32::datum_type()
        || node.inputs.len() != 2
    {
        return Ok(None);
    }
    let input = model.outlet_fact(node.inputs[0])?;
    let weights = model.outlet_fact(node.inputs[1])?;
    let output = &node.outputs[0].fact;
    let (Some(input_shape), Some(weights), Some(output_shape)) = (
        input.shape.as_concrete(),
        weights.konst.as_ref(),
        output.shape.as_concrete(),
    ) else {
        return Ok(None);
    };
    let with_batch = input_shape.len() == 4;
    let planes = &output_shape[output_shape.len().saturating_sub(3)..];
    // [outputs, inputs], whichever form the weights came in.
    let weights_shape = match *weights.shape() {
        [inputs] if one_output => [1, inputs],
        [outputs, inputs] if !one_output => [outputs, inputs],
        _ => return Ok(None),
    };
    if input.datum_type != f32::datum_type()
        || (with_batch && input_shape[0] != 1)
        || !(output_shape.len() == 3 || (output_shape.len() == 4 && output_shape[0] == 1))
        || weights_shape[0] != planes[0]
        || weights_shape[1] != input_shape[usize::from(with_batch)]
        || input_shape[input_shape.len() - 2..] != planes[1..]
    {
        return Ok(None);
    }
    // The bias: a constant per output channel (or one for all) added next.
    let outputs = planes[0];
    let Some((bias, after_bias)) = fusion::constant_added(model, OutletId::new(node.id, 0))? else {
        return Ok(None);
    };
    let Some(bias) = fusion::per_channel(&bias, outputs)? else {
        return Ok(None);
    };
    let relu_after = fusion::relu_after(model, after_bias)?;
    let weights = weights.cast_to::<f32>()?;
    let op = Pointwise::new(
        output_shape.to_vec(),
        weights.as_slice::<f32>()?,
        &bias,
        relu_after.is_some(),
    );
    Ok(Some((op, relu_after.unwrap_or(after_bias))))
}

/// Replaces every 1 x 1 convolution of `model` (with its bias and ReLU) that
/// [`Pointwise`] handles; returns how many it replaced.
pub(crate) fn replace(model: &mut TypedModel) -> TractResult<usize> {
    replace_each(model, |model, node| {
        Ok(pointwise_for(model, node)?.map(|(op, last)| (op, node.inputs[0], last)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "x86_64")]
    use crate::kernel::{run_avx2, run_avx512};
    use crate::kernel::{run_both, run_portable, stream};

    /// The graph tract's ONNX import makes of a 1 x 1 convolution with a bias (and a ReLU
    /// when `relu`): an `EinSum`, an `Add` of a [O, 1, 1] constant ([1, O, 1, 1] where the
    /// output has a batch axis), a `Max` with zero. With one output channel, the weights
    /// come without their O axis, as tract imports the heatmap head.
    fn conv_model(
        inputs: usize,
        outputs: usize,
        (h, w): (usize, usize),
        (batch_in, batch_out): (bool, bool),
        relu: bool,
        seed: u64,
    ) -> TypedModel {
        use tract_onnx::tract_core::ops::math;
        let mut rand = stream(seed);
        let weights: Vec<f32> = (0..outputs * inputs).map(|_| rand()).collect();
        let bias: Vec<f32> = (0..outputs).map(|_| rand()).collect();
        let mut model = TypedModel::default();
        let shape = if batch_in {
            vec![1, inputs, h, w]
        } else {
            vec![inputs, h, w]
        };
        let axes = format!(
            "{}IHW,{}->{}OHW",
            if batch_in { "N" } else { "" },
            if outputs == 1 { "I" } else { "OI" },
            if batch_out { "N" } else { "" }
        );
        let weights_shape: &[usize] = if outputs == 1 {
            &[inputs]
        } else {
            &[outputs, inputs]
        };
        let bias_shape: &[usize] = if batch_out {
            &[1, outputs, 1, 1]
        } else {
            &[outputs, 1, 1]
        };
        let x = model.add_source("x", f32::fact(&shape)).unwrap();
        let k = model
            .add_const("k", Tensor::from_shape(weights_shape, &weights).unwrap())
            .unwrap();
        let b = model
            .add_const("b", Tensor::from_shape(bias_shape, &bias).unwrap())
            .unwrap();
        let einsum = EinSum::new(axes.parse().unwrap(), f32::datum_type());
        let y = model.wire_node("conv", einsum, &[x, k]).unwrap();
        let mut y = model.wire_node("bias", math::add(), &[y[0], b]).unwrap();
        if relu {
            let zero = model
                .add_const(
                    "zero",
                    Tensor::from_shape(&vec![1; bias_shape.len()], &[0f32]).unwrap(),
                )
                .unwrap();
            y = model.wire_node("relu", math::max(), &[y[0], zero]).unwrap();
        }
        model.set_output_outlets(&y).unwrap();
        model
    }

    #[test]
    fn it_computes_what_tract_computes() {
        let cases = [
            (16, 96, (20, 20), (true, false)),
            (24, 144, (7, 9), (false, false)),
            (144, 24, (16, 12), (false, false)),
            (5, 3, (3, 1), (false, false)),
            (40, 1, (11, 13), (false, false)),
            // The heatmap head: one output channel, weights of rank 1.
            (24, 1, (17, 16), (true, true)),
            // The lateral connections of CenterFace's neck: one image out.
            (32, 24, (9, 7), (false, true)),
            (96, 24, (5, 6), (true, true)),
        ];
        for ((inputs, outputs, hw, batch), relu) in
            cases.into_iter().flat_map(|c| [(c, false), (c, true)])
        {
            let model = conv_model(inputs, outputs, hw, batch, relu, (inputs * outputs) as u64);
            let mut mine = model.clone();
            assert_eq!(replace(&mut mine).unwrap(), 1, "{inputs} -> {outputs}");
            let mine = mine.into_decluttered().unwrap();
            let ops: Vec<_> = mine.nodes().iter().map(|n| n.op().name()).collect();
            assert!(
                !ops.iter()
                    .any(|op| ["EinSum", "Add", "Max"].contains(&op.as_ref())),
                "the bias and ReLU are computed by the kernel: {ops:?}"
            );
            let mut rand = stream(99);
            let len = inputs * hw.0 * hw.1;
            let shape: Vec<usize> = if batch.0 {
                vec![1, inputs, hw.0, hw.1]
            } else {
                vec![inputs, hw.0, hw.1]
            };
            let input: Vec<f32> = (0..len).map(|_| rand() * 10.0).collect();
            let input = Tensor::from_shape(&shape, &input).unwrap();
            let (theirs, ours) = run_both(model, mine, &input);
            assert!(!relu || ours.iter().all(|&v| v >= 0.0));
            assert!(ours.iter().any(|&v| v > 0.0), "not all zero");
            for (a, b) in theirs.iter().zip(&ours) {
                assert!(
                    (a - b).abs() < 1e-4 * inputs as f32,
                    "{inputs} -> {outputs}: {a} vs {b}"
                );
            }
        }
    }

    /// A constant added that is not one value per channel (here one per column) is not a
    /// bias: nothing is replaced.
    #[test]
    fn an_addition_per_column_is_left_to_tract() {
        use tract_onnx::tract_core::ops::math;
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact([4, 3, 5])).unwrap();
        let k = model
            .add_const("k", Tensor::zero::<f32>(&[2, 4]).unwrap())
            .unwrap();
        let b = model
            .add_const("b", Tensor::zero::<f32>(&[1, 1, 5]).unwrap())
            .unwrap();
        let einsum = EinSum::new("IHW,OI->OHW".parse().unwrap(), f32::datum_type());
        let y = model.wire_node("conv", einsum, &[x, k]).unwrap();
        let y = model.wire_node("bias", math::add(), &[y[0], b]).unwrap();
        model.set_output_outlets(&y).unwrap();
        assert_eq!(replace(&mut model).unwrap(), 0);
    }

    /// The AVX2 and AVX-512 builds give exactly the portable reference's floats, on random
    /// weights and inputs, channel counts that fill blocks and that do not, and pixel
    /// counts shorter and longer than [`LANES`].
    #[test]
    fn simd_builds_equal_the_portable_kernel() {
        use proptest::prelude::*;
        let shapes = (
            1usize..40,
            1usize..11,
            1usize..200,
            any::<bool>(),
            any::<u64>(),
        );
        proptest!(|((inputs, outputs, pixels, relu, seed) in shapes)| {
            let mut rand = stream(seed);
            let weights: Vec<f32> = (0..outputs * inputs).map(|_| rand()).collect();
            let bias: Vec<f32> = (0..outputs).map(|_| rand()).collect();
            let op = Pointwise::new(vec![outputs, pixels, 1], &weights, &bias, relu);
            let x: Vec<f32> = (0..inputs * pixels).map(|_| rand() * 100.0).collect();
            let mut reference = vec![0f32; outputs * pixels];
            run_portable(&op, &x, &mut reference);
            // The reference is the plain sum, up to rounding.
            for (o, row) in reference.chunks_exact(pixels).enumerate() {
                for (p, &v) in row.iter().enumerate() {
                    let sum: f32 = bias[o] + (0..inputs).map(|i| weights[o * inputs + i] * x[i * pixels + p]).sum::<f32>();
                    let want = if relu { sum.max(0.0) } else { sum };
                    prop_assert!((v - want).abs() < 1e-3 * inputs as f32, "{v} vs {want}");
                }
            }
            #[cfg(target_arch = "x86_64")]
            {
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    let mut out = vec![0f32; outputs * pixels];
                    // SAFETY: the processor supports AVX2 and FMA, checked just above.
                    unsafe { run_avx2(&op, &x, &mut out) };
                    prop_assert_eq!(&out, &reference);
                }
                if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("fma") {
                    let mut out = vec![0f32; outputs * pixels];
                    // SAFETY: the processor supports AVX-512F and FMA, checked just above.
                    unsafe { run_avx512(&op, &x, &mut out) };
                    prop_assert_eq!(&out, &reference);
                }
            }
        });
    }
}
