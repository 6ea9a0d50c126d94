//! A faster depthwise convolution for tract.
//!
//! Measured with `examples/profile_tile.rs`: tract 0.21's `DepthWiseConv` took about two
//! thirds of a 640 x 640 tile's time (1.14 of 1.8 s on this machine), the rest being the
//! matrix products. Its inner loop visits every output pixel through an iterator over the
//! valid kernel taps, one pixel and one channel at a time, so it is never vectorised. Here
//! each input row is copied once with its padding zeros around it (and, for a stride of
//! 2, split into even and odd columns), then every run of [`LANES`] output columns is
//! summed over the nine taps in registers, channel after channel.
//!
//! **Guarantees**: [`replace`] swaps only convolutions it computes exactly as tract does
//! up to float rounding: float32, one image (NCHW with N = 1, or CHW), one group per
//! channel with one output channel each, a 3 x 3 kernel, no dilation, the kernel and bias
//! constant, every dimension known. Anything else is left to tract. The unit tests
//! compare the two on random data, the portable kernel with the convolution written out
//! plainly, for strides 1 and 2, padded and not, and the AVX2 and AVX-512 builds of the
//! kernel (chosen at run time) with the portable one.

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat};
use tract_onnx::tract_core::ops::nn::DataFormat;

use crate::kernel::{Kernel, Kernels, replace_each};

/// A depthwise 2-D convolution on float32 NCHW data with one image.
#[derive(Clone, Debug)]
pub(crate) struct Depthwise {
    /// NCHW with N = 1 (true) or CHW (tract drops the batch axis when it can).
    pub(crate) batch_axis: bool,
    pub(crate) channels: usize,
    pub(crate) input: (usize, usize),
    pub(crate) output: (usize, usize),
    pub(crate) strides: (usize, usize),
    /// Padding before the first row and the first column.
    pub(crate) pad: (usize, usize),
    /// `channels` kernels of [`K`] x [`K`] weights, row-major.
    pub(crate) kernel: Arc<Vec<f32>>,
    pub(crate) bias: Arc<Vec<f32>>,
    /// Whether negative results are cut to zero (a ReLU followed the convolution).
    pub(crate) relu: bool,
}

impl Kernels for Depthwise {
    const NAME: &'static str = "MasqueDepthwise";

    fn input_len(&self) -> usize {
        self.channels * self.input.0 * self.input.1
    }

    fn output_shape(&self) -> Vec<usize> {
        let chw = [self.channels, self.output.0, self.output.1];
        if self.batch_axis {
            [&[1][..], &chw].concat()
        } else {
            chw.to_vec()
        }
    }

    /// Every channel, one after the other (the kernel's loops are left to the compiler
    /// to vectorise in each build).
    #[inline(always)]
    fn run_with(&self, x: &[f32], out: &mut [f32], _kernel: Kernel) {
        let (ih, iw) = self.input;
        let (oh, ow) = self.output;
        let mut phases = Vec::new();
        for (c, (xin, o)) in x
            .chunks_exact(ih * iw)
            .zip(out.chunks_exact_mut(oh * ow))
            .enumerate()
        {
            channel_rows(self, c, xin, 0, o, 0, &mut phases);
        }
    }
}

/// Output columns summed together, in registers, over all the kernel's taps (two
/// AVX-512 vectors; 16 was slower on rows 20 pixels wide, the same elsewhere).
const LANES: usize = 32;
/// The kernel's height and width: [`Depthwise`] takes only 3 x 3 kernels (all of
/// CenterFace's), so the taps are constants the compiler unrolls.
pub(crate) const K: usize = 3;

/// Output rows `first_out..` of channel `c` (as many as `out` holds whole rows), from
/// `rows`: input rows `first_row..` of that channel (as many as it holds), which must
/// include every row those outputs read. `phases` is scratch space.
///
/// Each input row is first copied with zeros around it (the padding) and, for a stride
/// of 2 or more, split into `sw` phases (columns congruent modulo sw), so that each
/// weight meets a contiguous run of every phase. Then each run of [`LANES`] output
/// columns is summed over all taps in registers and stored once: a pass per tap over the
/// whole output row, as before 2026-12-04, loaded and stored the row nine times and ran
/// at a fifth of the 1 x 1 kernel's rate.
#[inline(always)]
pub(crate) fn channel_rows(
    op: &Depthwise,
    c: usize,
    rows: &[f32],
    first_row: usize,
    out: &mut [f32],
    first_out: usize,
    phases: &mut Vec<f32>,
) {
    let (ih, iw) = op.input;
    let ow = op.output.1;
    let (sh, sw) = op.strides;
    let (pt, pl) = op.pad;
    let k = &op.kernel[c * K * K..(c + 1) * K * K];
    let runs = ow.div_ceil(LANES);
    // Each phase is long enough for the last run's farthest tap and for the whole row.
    let phase_len = (runs * LANES + (K - 1) / sw).max((iw + pl) / sw + 1);
    let row_len = sw * phase_len;
    phases.resize(rows.len() / iw * row_len, 0.0);
    for (irow, split) in rows.chunks_exact(iw).zip(phases.chunks_exact_mut(row_len)) {
        pad_split(irow, pl, sw, split);
    }
    // Where each column of taps starts in a split row: phase kx % sw, position kx / sw
    // (computed once: a division per tap in the inner loop cost more than the product).
    let starts: [usize; K] = std::array::from_fn(|kx| (kx % sw) * phase_len + kx / sw);
    let weights: [[f32; K]; K] = std::array::from_fn(|ky| std::array::from_fn(|kx| k[ky * K + kx]));
    let taps = Taps {
        weights,
        starts,
        bias: op.bias[c],
        relu: op.relu,
    };
    for (oy, orow) in (first_out..).zip(out.chunks_exact_mut(ow)) {
        // The split rows this output row reads (input row oy * sh + ky - pt), None where
        // that row is padding. A loop, not `array::from_fn`: its closure was called, not
        // inlined, in the SIMD builds (1 to 2 % of a tile in `perf`).
        let mut sources: [Option<&[f32]>; K] = [None; K];
        for (ky, source) in sources.iter_mut().enumerate() {
            if let Some(iy) = (oy * sh + ky).checked_sub(pt).filter(|&iy| iy < ih) {
                let at = (iy - first_row) * row_len;
                *source = Some(&phases[at..at + row_len]);
            }
        }
        let mut whole = orow.chunks_exact_mut(LANES);
        for (run, dst) in whole.by_ref().enumerate() {
            let dst: &mut [f32; LANES] = dst.try_into().expect("LANES");
            *dst = taps.sums(&sources, run * LANES);
        }
        let tail = whole.into_remainder();
        if !tail.is_empty() && ow >= LANES {
            // The last LANES columns again, overlapping the run before: the same sums in
            // the same order give the same floats, stored as one vector (copying the
            // tail's few values was a call to memcpy per row, 2 % of a video's CPU).
            let last: &mut [f32; LANES] = (&mut orow[ow - LANES..]).try_into().expect("LANES");
            *last = taps.sums(&sources, ow - LANES);
        } else if !tail.is_empty() {
            let acc = taps.sums(&sources, ow / LANES * LANES);
            let n = tail.len();
            tail.copy_from_slice(&acc[..n]);
        }
    }
}

/// Input rows of several channels, one channel's after another, as an operator that
/// makes a depthwise convolution's input strip by strip (`expand.rs`, `stem.rs`) hands
/// them to [`channels_rows`].
pub(crate) struct ChannelRows<'a> {
    /// The values (more may follow the last channel's).
    pub(crate) values: &'a [f32],
    /// Values per channel.
    pub(crate) plane_len: usize,
    /// The image row each channel's first row is.
    pub(crate) first_row: usize,
}

/// Output rows `outputs` of each of `channels`, written into their planes of `out`, from
/// `input`, which must hold every row those outputs read.
#[inline(always)]
pub(crate) fn channels_rows(
    op: &Depthwise,
    channels: std::ops::Range<usize>,
    input: ChannelRows<'_>,
    out: &mut [f32],
    outputs: std::ops::Range<usize>,
    phases: &mut Vec<f32>,
) {
    let (oh, ow) = op.output;
    let planes = input.values.chunks_exact(input.plane_len);
    for (c, rows_of_c) in channels.zip(planes) {
        let plane = &mut out[c * oh * ow..(c + 1) * oh * ow];
        let strip = &mut plane[outputs.start * ow..outputs.end * ow];
        channel_rows(
            op,
            c,
            rows_of_c,
            input.first_row,
            strip,
            outputs.start,
            phases,
        );
    }
}

/// The input rows (within the image) that output rows `outputs` of a [`K`] x [`K`]
/// convolution read, with `stride` rows between outputs and `pad` rows of padding above
/// an image `height` rows high.
pub(crate) fn input_rows(
    outputs: std::ops::Range<usize>,
    stride: usize,
    pad: usize,
    height: usize,
) -> std::ops::Range<usize> {
    let first = (outputs.start * stride).saturating_sub(pad).min(height);
    let end = ((outputs.end - 1) * stride + K)
        .saturating_sub(pad)
        .min(height);
    first..end
}

/// One channel's 3 x 3 kernel, as [`Taps::sums`] applies it.
struct Taps {
    weights: [[f32; K]; K],
    /// Where tap column kx starts in a split row.
    starts: [usize; K],
    bias: f32,
    relu: bool,
}

impl Taps {
    /// Output columns `x0..x0 + LANES` of the output row reading `sources`, summed over
    /// every tap in registers (the kernel's size a constant, so the taps unroll). A
    /// method, not a closure: a closure is compiled without the SIMD builds' target
    /// features and was called, not inlined.
    #[inline(always)]
    fn sums(&self, sources: &[Option<&[f32]>; K], x0: usize) -> [f32; LANES] {
        let mut acc = [self.bias; LANES];
        for (source, weights) in sources.iter().zip(&self.weights) {
            let Some(split) = source else {
                continue;
            };
            for (&w, &start) in weights.iter().zip(&self.starts) {
                let at = start + x0;
                let src: &[f32; LANES] = split[at..at + LANES].try_into().expect("LANES");
                for (a, &v) in acc.iter_mut().zip(src) {
                    *a += w * v;
                }
            }
        }
        if self.relu {
            for a in acc.iter_mut() {
                *a = a.max(0.0);
            }
        }
        acc
    }
}

/// Writes `row` with `pl` zeros before it (and zeros after) into `split`, in `sw`
/// phases of `split.len() / sw` values: phase p holds padded columns p, p + sw, ...
#[inline(always)]
pub(crate) fn pad_split(row: &[f32], pl: usize, sw: usize, split: &mut [f32]) {
    let phase_len = split.len() / sw;
    if sw == 1 {
        // Only the padding is zeroed: the row itself is overwritten at once.
        let (before, rest) = split.split_at_mut(pl);
        let (middle, after) = rest.split_at_mut(row.len());
        before.fill(0.0);
        middle.copy_from_slice(row);
        after.fill(0.0);
        return;
    }
    if sw == 2 {
        // Padded column x + pl lies in phase (x + pl) % 2 at (x + pl) / 2: the even input
        // columns all go to one phase, the odd ones to the other. Only the padding is
        // zeroed, and the columns are dealt out 32 at a time with `array::from_fn`, which
        // the compiler turns into shuffles (one value at a time they were 3 % of a tile;
        // a loop over the pairs was not vectorised and made a tile 10 % slower). Dealt 16
        // at a time, the AVX-512 builds read each 16 twice with masked loads, one of them
        // across a cache line, and shuffled in halves: 3.8 % of a 1080p input's samples,
        // mostly in those loads; 32 at a time they are two `VPERMT2PS` per two vectors
        // (about 1 % faster over the whole input, 2026-12-06).
        let (even, odd) = split.split_at_mut(phase_len);
        let (of_even, of_odd) = if pl.is_multiple_of(2) {
            (even, odd)
        } else {
            (odd, even)
        };
        let (a, b) = (pl / 2, pl.div_ceil(2));
        let (evens, odds) = (row.len().div_ceil(2), row.len() / 2);
        of_even[..a].fill(0.0);
        of_even[a + evens..].fill(0.0);
        of_odd[..b].fill(0.0);
        of_odd[b + odds..].fill(0.0);
        let (of_even, of_odd) = (&mut of_even[a..a + evens], &mut of_odd[b..b + odds]);
        const DEALT: usize = 32;
        let mut dealt = row.chunks_exact(DEALT);
        let whole = row.len() / DEALT * (DEALT / 2);
        for ((columns, e), o) in dealt
            .by_ref()
            .zip(of_even[..whole].chunks_exact_mut(DEALT / 2))
            .zip(of_odd[..whole].chunks_exact_mut(DEALT / 2))
        {
            let columns: &[f32; DEALT] = columns.try_into().expect("DEALT");
            let e: &mut [f32; DEALT / 2] = e.try_into().expect("DEALT / 2");
            let o: &mut [f32; DEALT / 2] = o.try_into().expect("DEALT / 2");
            *e = std::array::from_fn(|i| columns[2 * i]);
            *o = std::array::from_fn(|i| columns[2 * i + 1]);
        }
        for (x, &v) in dealt.remainder().iter().enumerate() {
            if x % 2 == 0 {
                of_even[whole + x / 2] = v;
            } else {
                of_odd[whole + x / 2] = v;
            }
        }
    } else {
        split.fill(0.0);
        for (x, &v) in row.iter().enumerate() {
            let padded = x + pl;
            split[(padded % sw) * phase_len + padded / sw] = v;
        }
    }
}

/// The [`Depthwise`] computing `node` (a tract `Conv`) and the ReLU after it, if any, with
/// the outlet whose value it replaces, if it is a convolution it handles.
fn depthwise_for(
    model: &TypedModel,
    node: &TypedNode,
) -> TractResult<Option<(Depthwise, OutletId)>> {
    let Some(conv) = node.op_as::<Conv>() else {
        return Ok(None);
    };
    let spec = &conv.pool_spec;
    let c = spec.input_channels;
    if conv.q_params.is_some()
        || conv.group != c
        || spec.output_channels != c
        || c < 2
        || !matches!(spec.data_format, DataFormat::NCHW | DataFormat::CHW)
        || conv.kernel_fmt != KernelFormat::OIHW
        || spec.kernel_shape.len() != 2
        || spec.kernel_shape[..] != [K, K]
        || spec.dilations().iter().any(|&d| d != 1)
        || node.inputs.len() != 3
    {
        return Ok(None);
    }
    let input = model.outlet_fact(node.inputs[0])?;
    let kernel = model.outlet_fact(node.inputs[1])?;
    let bias = model.outlet_fact(node.inputs[2])?;
    let (Some(shape), Some(kernel), Some(bias)) = (
        input.shape.as_concrete(),
        kernel.konst.as_ref(),
        bias.konst.as_ref(),
    ) else {
        return Ok(None);
    };
    let batch_axis = spec.data_format == DataFormat::NCHW;
    let shape = if batch_axis {
        if shape.len() != 4 || shape[0] != 1 {
            return Ok(None);
        }
        &shape[1..]
    } else {
        shape
    };
    if input.datum_type != f32::datum_type()
        || shape.len() != 3
        || shape[0] != c
        || kernel.shape() != [c, 1, K, K]
    {
        return Ok(None);
    }
    let padding = spec.computed_padding(&shape[1..]);
    let strides = spec.strides();
    let kernel = kernel.cast_to::<f32>()?;
    let Some(bias) = crate::fusion::per_channel(bias, c)? else {
        return Ok(None);
    };
    let op = Depthwise {
        batch_axis,
        channels: c,
        input: (shape[1], shape[2]),
        output: (padding[0].convoluted, padding[1].convoluted),
        strides: (strides[0], strides[1]),
        pad: (padding[0].pad_before, padding[1].pad_before),
        kernel: Arc::new(kernel.as_slice::<f32>()?.to_vec()),
        bias: Arc::new(bias),
        relu: false,
    };
    // What tract would compute must be what this computes.
    let theirs = node.outputs[0].fact.shape.as_concrete();
    if theirs != Some(&op.output_shape()[..]) || op.strides.0 == 0 || op.strides.1 == 0 {
        return Ok(None);
    }
    let conv = OutletId::new(node.id, 0);
    Ok(Some(match crate::fusion::relu_after(model, conv)? {
        Some(relu) => (Depthwise { relu: true, ..op }, relu),
        None => (op, conv),
    }))
}

/// Replaces every depthwise convolution of `model` that [`Depthwise`] handles; returns how
/// many it replaced.
pub(crate) fn replace(model: &mut TypedModel) -> TractResult<usize> {
    replace_each(model, |model, node| {
        Ok(depthwise_for(model, node)?.map(|(op, last)| (op, node.inputs[0], last)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "x86_64")]
    use crate::kernel::{run_avx2, run_avx512};
    use crate::kernel::{run_model, run_portable, stream};

    /// Every padded, split row is what the definition says: column x of the row at
    /// phase (x + pl) % sw, position (x + pl) / sw, zero everywhere else; every value is
    /// written (the buffer starts as NaN).
    #[test]
    fn pad_split_deals_every_column_to_its_phase() {
        for sw in 1..=3 {
            for pl in 0..=2 {
                for n in 0..100 {
                    for spare in 0..3 {
                        let phase_len = (n + pl) / sw + 1 + spare;
                        let row: Vec<f32> = (0..n).map(|x| x as f32 + 1.0).collect();
                        let mut want = vec![0f32; sw * phase_len];
                        for (x, &v) in row.iter().enumerate() {
                            want[(x + pl) % sw * phase_len + (x + pl) / sw] = v;
                        }
                        let mut got = vec![f32::NAN; sw * phase_len];
                        pad_split(&row, pl, sw, &mut got);
                        assert_eq!(got, want, "stride {sw}, padding {pl}, {n} columns");
                    }
                }
            }
        }
    }

    /// A depthwise ONNX-style convolution tract builds itself, and a ReLU after it when
    /// `relu`.
    fn conv_model(
        c: usize,
        hw: usize,
        stride: usize,
        pad: usize,
        seed: u64,
        relu: bool,
    ) -> TypedModel {
        use tract_onnx::tract_core::ops::cnn::{PaddingSpec, PoolSpec};
        let mut rand = stream(seed);
        let kernel: Vec<f32> = (0..c * 9).map(|_| rand()).collect();
        let bias: Vec<f32> = (0..c).map(|_| rand()).collect();
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact([1, c, hw, hw])).unwrap();
        let k = model
            .add_const("k", Tensor::from_shape(&[c, 1, 3, 3], &kernel).unwrap())
            .unwrap();
        let b = model
            .add_const("b", Tensor::from_shape(&[c], &bias).unwrap())
            .unwrap();
        let spec = PoolSpec {
            data_format: DataFormat::NCHW,
            kernel_shape: tvec!(3, 3),
            padding: PaddingSpec::Explicit(tvec!(pad, pad), tvec!(pad, pad)),
            dilations: None,
            strides: Some(tvec!(stride, stride)),
            input_channels: c,
            output_channels: c,
        };
        let conv = Conv {
            pool_spec: spec,
            kernel_fmt: KernelFormat::OIHW,
            group: c,
            q_params: None,
        };
        let mut y = model.wire_node("conv", conv, &[x, k, b]).unwrap();
        if relu {
            let zero = model
                .add_const("zero", Tensor::from_shape(&[1, 1, 1, 1], &[0f32]).unwrap())
                .unwrap();
            y = model
                .wire_node(
                    "relu",
                    tract_onnx::tract_core::ops::math::max(),
                    &[y[0], zero],
                )
                .unwrap();
        }
        model.set_output_outlets(&y).unwrap();
        model
    }

    /// The portable kernel computes the convolution (compared with the sum written out
    /// plainly), and the AVX2 and AVX-512 builds give exactly its floats (the same
    /// operations in the same order, only wider), on random weights and inputs, strides 1
    /// and 2, padded and not, rows shorter and longer than a vector.
    #[test]
    fn simd_builds_equal_the_portable_kernel() {
        use proptest::prelude::*;
        let shapes = (
            1usize..4,
            1usize..3,
            0usize..2,
            1usize..40,
            1usize..40,
            any::<u64>(),
        );
        proptest!(|((channels, stride, pad, ih, iw, seed) in shapes)| {
            let mut rand = stream(seed);
            let out_len = |len: usize| (len + 2 * pad).saturating_sub(3) / stride + 1;
            prop_assume!(ih + 2 * pad >= 3 && iw + 2 * pad >= 3);
            let op = Depthwise {
                batch_axis: true,
                channels,
                input: (ih, iw),
                output: (out_len(ih), out_len(iw)),
                strides: (stride, stride),
                pad: (pad, pad),
                kernel: Arc::new((0..channels * 9).map(|_| rand()).collect()),
                bias: Arc::new((0..channels).map(|_| rand()).collect()),
                relu: seed % 2 == 0,
            };
            let x: Vec<f32> = (0..channels * ih * iw).map(|_| rand() * 100.0).collect();
            let size = channels * op.output.0 * op.output.1;
            // NaN until written: every output value must be written.
            let mut reference = vec![f32::NAN; size];
            run_portable(&op, &x, &mut reference);
            // The portable kernel is the convolution written out plainly, up to rounding.
            let (oh, ow) = op.output;
            for c in 0..channels {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut sum = op.bias[c];
                        for ky in 0..3 {
                            for kx in 0..3 {
                                let (iy, ix) = (oy * stride + ky, ox * stride + kx);
                                if iy >= pad && ix >= pad && iy - pad < ih && ix - pad < iw {
                                    let v = x[(c * ih + iy - pad) * iw + ix - pad];
                                    sum += op.kernel[c * 9 + ky * 3 + kx] * v;
                                }
                            }
                        }
                        let want = if op.relu { sum.max(0.0) } else { sum };
                        let got = reference[(c * oh + oy) * ow + ox];
                        prop_assert!((got - want).abs() < 1e-3, "{} vs {}", got, want);
                    }
                }
            }
            #[cfg(target_arch = "x86_64")]
            {
                if std::is_x86_feature_detected!("avx2") {
                    let mut out = vec![f32::NAN; size];
                    // SAFETY: the processor supports AVX2, checked just above.
                    unsafe { run_avx2(&op, &x, &mut out) };
                    prop_assert_eq!(&out, &reference);
                }
                if std::is_x86_feature_detected!("avx512f") {
                    let mut out = vec![f32::NAN; size];
                    // SAFETY: the processor supports AVX-512F, checked just above.
                    unsafe { run_avx512(&op, &x, &mut out) };
                    prop_assert_eq!(&out, &reference);
                }
            }
        });
    }

    #[test]
    fn it_computes_what_tract_computes() {
        let shapes = [(1, 1, 13), (2, 1, 13), (2, 1, 12), (1, 0, 9), (2, 0, 10)];
        for ((stride, pad, hw), relu) in shapes.into_iter().flat_map(|s| [(s, false), (s, true)]) {
            let c = 5;
            let model = conv_model(c, hw, stride, pad, 7 + hw as u64, relu);
            let mut mine = model.clone();
            assert_eq!(replace(&mut mine).unwrap(), 1);
            let mine = mine.into_decluttered().unwrap();
            let ops: Vec<_> = mine.nodes().iter().map(|n| n.op().name()).collect();
            assert!(
                !ops.iter().any(|op| op == "Max" || op == "Conv"),
                "the ReLU is computed by the kernel: {ops:?}"
            );
            let input: Vec<f32> = (0..c * hw * hw)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
                .collect();
            let input = Tensor::from_shape(&[1, c, hw, hw], &input).unwrap();
            let run = |m: TypedModel| run_model(m, &input);
            let theirs = run(model);
            let ours = run(mine);
            assert_eq!(theirs.shape(), ours.shape(), "stride {stride} pad {pad}");
            for (a, b) in theirs
                .as_slice::<f32>()
                .unwrap()
                .iter()
                .zip(ours.as_slice::<f32>().unwrap())
            {
                assert!(
                    (a - b).abs() < 1e-4,
                    "stride {stride} pad {pad}: {a} vs {b}"
                );
            }
        }
    }
}
