//! A 3 x 3 convolution over all input channels (one group), as masque's 1 x 1 kernel
//! computes it: on the input's nine shifted copies.
//!
//! CenterFace has two: the first layer (3 to 32 channels, stride 2, on the whole input)
//! and one in its neck (24 to 24 channels at a quarter of the input's size). tract ran
//! them as matrix products over its own lazily built shifted copies, about a fifth of a
//! tile's time once every other layer was masque's. Here the output is made a strip of
//! rows at a time: each input row the strip reads is copied once with its padding (and
//! split into even and odd columns for stride 2), the nine shifted copies of every input
//! channel are laid out as the planes of a [`Pointwise`] input that stays in the cache,
//! and [`Pointwise::sums`] sums them, bias and ReLU included.
//!
//! **Guarantees**: [`replace`] swaps only what it computes exactly as tract does up to
//! float rounding: float32, one image (NCHW with N = 1, or CHW), one group, a 3 x 3 kernel
//! and bias that are constants, no dilation, every dimension known. The unit tests compare
//! it with tract on random data, strides 1 and 2, padded and not.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat};
use tract_onnx::tract_core::ops::nn::DataFormat;

use crate::depthwise::{input_rows, pad_split};
use crate::kernel::{Kernel, Kernels, replace_each};
use crate::pointwise::Pointwise;
use crate::quantized::Quantized;

/// The kernel's height and width.
const K: usize = 3;
/// A strip's shifted copies stay within this many floats (256 KiB).
const STRIP_FLOATS: usize = 64 * 1024;

/// A 3 x 3 convolution with one group, its bias and, when one followed, a ReLU.
#[derive(Clone, Debug)]
pub(crate) struct Conv3x3 {
    /// The output's shape: [1, O, H, W] or [O, H, W], as the input has a batch axis or not.
    output_shape: Vec<usize>,
    /// Input channels, height and width.
    input: (usize, usize, usize),
    /// Output height and width.
    output: (usize, usize),
    strides: (usize, usize),
    /// Padding before the first row and the first column.
    pad: (usize, usize),
    /// Output rows per strip.
    strip: usize,
    /// The sums over the nine shifted copies of every input channel (channel c's copy for
    /// tap (ky, kx) is input plane (c * 3 + ky) * 3 + kx), one strip of output pixels long.
    sums: Pointwise,
}

impl Kernels for Conv3x3 {
    const NAME: &'static str = "MasqueConv3x3";

    fn input_len(&self) -> usize {
        let (c, h, w) = self.input;
        c * h * w
    }

    fn output_shape(&self) -> Vec<usize> {
        self.output_shape.clone()
    }

    fn use_int8(&mut self) {
        self.sums.use_int8();
    }

    /// The work itself, strip after strip, with the sums of [`Pointwise::sums`]
    /// made by `kernel`.
    #[inline(always)]
    fn run_with(&self, x: &[f32], out: &mut [f32], kernel: Kernel) {
        let (oh, ow) = self.output;
        let mut scratch = Scratch::default();
        for first_out in (0..oh).step_by(self.strip) {
            let end_out = (first_out + self.strip).min(oh);
            let rows = first_out..end_out;
            self.rows_into(
                x,
                rows,
                &mut out[first_out * ow..],
                oh * ow,
                kernel,
                &mut scratch,
            );
        }
    }
}

/// The buffers [`Conv3x3::rows_into`] reuses from one strip to the next.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Padded, split input rows.
    split: Vec<f32>,
    /// The nine shifted copies of every input channel.
    copies: Vec<f32>,
    /// The copies quantized, where the sums are in integers.
    quantized: Quantized,
}

impl Conv3x3 {
    /// Output channels, height and width.
    pub(crate) fn output_planes(&self) -> (usize, usize, usize) {
        let channels = self.output_shape[self.output_shape.len() - 3];
        (channels, self.output.0, self.output.1)
    }

    /// Whether the output has a batch axis ([1, O, H, W]).
    pub(crate) fn batch_axis(&self) -> bool {
        self.output_shape.len() == 4
    }

    /// Output rows per strip: what [`Conv3x3::rows_into`] makes at most at once.
    pub(crate) fn strip(&self) -> usize {
        self.strip
    }

    /// Output rows `rows` (at most [`Conv3x3::strip`] of them) of every channel, channel
    /// c's written from `out[c * stride..]`, with the sums made by `kernel`.
    #[inline(always)]
    pub(crate) fn rows_into(
        &self,
        x: &[f32],
        rows: std::ops::Range<usize>,
        out: &mut [f32],
        stride: usize,
        kernel: Kernel,
        scratch: &mut Scratch,
    ) {
        let (channels, ih, iw) = self.input;
        let ow = self.output.1;
        let (sh, sw) = self.strides;
        let (pt, pl) = self.pad;
        let strip_len = self.strip * ow;
        // Padded, split input rows: each phase long enough for the farthest tap.
        let phase_len = (ow + (K - 1) / sw).max((iw + pl) / sw + 1);
        let row_len = sw * phase_len;
        let (first_out, end_out) = (rows.start, rows.end);
        debug_assert!(end_out - first_out <= self.strip);
        let Scratch {
            split,
            copies,
            quantized,
        } = scratch;
        copies.resize(channels * K * K * strip_len, 0.0);
        // The input rows these output rows read, each split once.
        let input = input_rows(first_out..end_out, sh, pt, ih);
        let (first_row, end_row) = (input.start, input.end);
        split.resize((end_row - first_row) * row_len, 0.0);
        for c in 0..channels {
            let plane = &x[c * ih * iw..(c + 1) * ih * iw];
            let rows = &plane[first_row * iw..end_row * iw];
            for (irow, dst) in rows.chunks_exact(iw).zip(split.chunks_exact_mut(row_len)) {
                pad_split(irow, pl, sw, dst);
            }
            for oy in first_out..end_out {
                let at = (oy - first_out) * ow;
                for ky in 0..K {
                    let row = (oy * sh + ky).checked_sub(pt).filter(|&iy| iy < ih);
                    for kx in 0..K {
                        let copy = ((c * K + ky) * K + kx) * strip_len + at;
                        let dst = &mut copies[copy..copy + ow];
                        match row {
                            // Output column ox reads padded column ox * sw + kx.
                            Some(iy) => {
                                let start =
                                    (iy - first_row) * row_len + (kx % sw) * phase_len + kx / sw;
                                dst.copy_from_slice(&split[start..start + ow]);
                            }
                            None => dst.fill(0.0),
                        }
                    }
                }
            }
        }
        let count = (end_out - first_out) * ow;
        let sums = self.sums.sums(copies, 0..count, kernel, quantized);
        for block in 0..self.sums.blocks() {
            sums.block(block, &mut out[block * Pointwise::BLOCK * stride..], stride);
        }
    }
}

/// The [`Conv3x3`] computing `node` (a tract `Conv`) and the ReLU after it, if any, with
/// the outlet whose value it replaces, if it is a convolution it handles.
fn conv_for(model: &TypedModel, node: &TypedNode) -> TractResult<Option<(Conv3x3, OutletId)>> {
    let Some(conv) = node.op_as::<Conv>() else {
        return Ok(None);
    };
    let spec = &conv.pool_spec;
    if conv.q_params.is_some()
        || conv.group != 1
        || !matches!(spec.data_format, DataFormat::NCHW | DataFormat::CHW)
        || conv.kernel_fmt != KernelFormat::OIHW
        || spec.kernel_shape[..] != [K, K]
        || spec.dilations().iter().any(|&d| d != 1)
        || node.inputs.len() != 3
    {
        return Ok(None);
    }
    let input = model.outlet_fact(node.inputs[0])?;
    let kernel = model.outlet_fact(node.inputs[1])?;
    let bias = model.outlet_fact(node.inputs[2])?;
    let (Some(shape), Some(kernel), Some(bias), Some(output_shape)) = (
        input.shape.as_concrete(),
        kernel.konst.as_ref(),
        bias.konst.as_ref(),
        node.outputs[0].fact.shape.as_concrete(),
    ) else {
        return Ok(None);
    };
    let batch_axis = spec.data_format == DataFormat::NCHW;
    let shape = match (batch_axis, shape) {
        (true, [1, rest @ ..]) | (false, rest) => rest,
        _ => return Ok(None),
    };
    let (ci, co) = (spec.input_channels, spec.output_channels);
    if input.datum_type != f32::datum_type()
        || shape.len() != 3
        || shape[0] != ci
        || kernel.shape() != [co, ci, K, K]
    {
        return Ok(None);
    }
    let padding = spec.computed_padding(&shape[1..]);
    let strides = spec.strides();
    let (oh, ow) = (padding[0].convoluted, padding[1].convoluted);
    let expected: Vec<usize> = if batch_axis {
        vec![1, co, oh, ow]
    } else {
        vec![co, oh, ow]
    };
    if output_shape != &expected[..] || strides.contains(&0) || ow == 0 {
        return Ok(None);
    }
    let kernel = kernel.cast_to::<f32>()?;
    let Some(bias) = crate::fusion::per_channel(bias, co)? else {
        return Ok(None);
    };
    let conv_out = OutletId::new(node.id, 0);
    let relu = crate::fusion::relu_after(model, conv_out)?;
    let strip = crate::kernel::even_strips(STRIP_FLOATS / (ci * K * K * ow), oh);
    // OIHW weights are already, per output channel, the planes (c, ky, kx) in order.
    let sums = Pointwise::new(
        vec![co, strip, ow],
        kernel.as_slice::<f32>()?,
        &bias,
        relu.is_some(),
    );
    let op = Conv3x3 {
        output_shape: expected,
        input: (ci, shape[1], shape[2]),
        output: (oh, ow),
        strides: (strides[0], strides[1]),
        pad: (padding[0].pad_before, padding[1].pad_before),
        strip,
        sums,
    };
    Ok(Some((op, relu.unwrap_or(conv_out))))
}

/// Replaces every 3 x 3 convolution of `model` with one group (and its ReLU) that
/// [`Conv3x3`] handles; returns how many it replaced.
pub(crate) fn replace(model: &mut TypedModel) -> TractResult<usize> {
    replace_each(model, |model, node| {
        Ok(conv_for(model, node)?.map(|(op, last)| (op, node.inputs[0], last)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{run, run_model, run_portable, simd_mismatch, stream};
    use tract_onnx::tract_core::ops::cnn::{PaddingSpec, PoolSpec};
    use tract_onnx::tract_core::ops::math;

    struct Case {
        inputs: usize,
        outputs: usize,
        size: (usize, usize),
        stride: usize,
        pad: usize,
        batch: bool,
        relu: bool,
    }

    /// A 3 x 3 ONNX-style convolution tract builds itself, with a ReLU after it when
    /// `relu`.
    fn conv_model(case: &Case, rand: &mut impl FnMut() -> f32) -> TypedModel {
        let Case {
            inputs,
            outputs,
            size: (h, w),
            stride,
            pad,
            batch,
            relu,
        } = *case;
        let mut model = TypedModel::default();
        let shape: Vec<usize> = if batch {
            vec![1, inputs, h, w]
        } else {
            vec![inputs, h, w]
        };
        let x = model.add_source("x", f32::fact(&shape)).unwrap();
        let kernel: Vec<f32> = (0..outputs * inputs * 9).map(|_| rand()).collect();
        let bias: Vec<f32> = (0..outputs).map(|_| rand()).collect();
        let k = model
            .add_const(
                "k",
                Tensor::from_shape(&[outputs, inputs, 3, 3], &kernel).unwrap(),
            )
            .unwrap();
        let b = model
            .add_const("b", Tensor::from_shape(&[outputs], &bias).unwrap())
            .unwrap();
        let conv = Conv {
            pool_spec: PoolSpec {
                data_format: if batch {
                    DataFormat::NCHW
                } else {
                    DataFormat::CHW
                },
                kernel_shape: tvec!(3, 3),
                padding: PaddingSpec::Explicit(tvec!(pad, pad), tvec!(pad, pad)),
                dilations: None,
                strides: Some(tvec!(stride, stride)),
                input_channels: inputs,
                output_channels: outputs,
            },
            kernel_fmt: KernelFormat::OIHW,
            group: 1,
            q_params: None,
        };
        let mut y = model.wire_node("conv", conv, &[x, k, b]).unwrap();
        if relu {
            let zero_shape: Vec<usize> = vec![1; shape.len()];
            let zero = model
                .add_const("zero", Tensor::zero::<f32>(&zero_shape).unwrap())
                .unwrap();
            y = model.wire_node("relu", math::max(), &[y[0], zero]).unwrap();
        }
        model.set_output_outlets(&y).unwrap();
        model
    }

    /// On random kernels and inputs, strides 1 and 2, padded and not, with and without a
    /// batch axis and a ReLU, sizes odd and even: tract's values, and the convolution is
    /// masque's (tract's `Conv` and `Max` are gone).
    #[test]
    fn it_computes_what_tract_computes() {
        use proptest::prelude::*;
        let cases = (
            1usize..6,
            1usize..7,
            3usize..24,
            3usize..24,
            1usize..3,
            0usize..2,
            any::<(bool, bool)>(),
            any::<u64>(),
        );
        proptest!(ProptestConfig::with_cases(48), |((inputs, outputs, h, w, stride, pad, (batch, relu), seed) in cases)| {
            let case = Case { inputs, outputs, size: (h, w), stride, pad, batch, relu };
            let mut rand = stream(seed);
            let model = conv_model(&case, &mut rand);
            let mut mine = model.clone();
            prop_assert_eq!(replace(&mut mine).unwrap(), 1);
            let mine = mine.into_decluttered().unwrap();
            let ops: Vec<_> = mine.nodes().iter().map(|n| n.op().name().to_string()).collect();
            prop_assert!(!ops.iter().any(|op| op == "Conv" || op == "Max"), "{:?}", ops);
            let shape: Vec<usize> = if batch { vec![1, inputs, h, w] } else { vec![inputs, h, w] };
            let input: Vec<f32> = (0..inputs * h * w).map(|_| rand() * 10.0).collect();
            let input = Tensor::from_shape(&shape, &input).unwrap();
            let run = |m: TypedModel| run_model(m, &input);
            let (theirs, ours) = (run(model), run(mine));
            prop_assert_eq!(theirs.shape(), ours.shape());
            for (a, b) in theirs.as_slice::<f32>().unwrap().iter().zip(ours.as_slice::<f32>().unwrap()) {
                prop_assert!((a - b).abs() < 1e-3, "{} vs {}", a, b);
            }
        });
    }

    /// The strips: an output taller than one strip (a strip of 2 rows forced) gives the
    /// same values as one strip, and the SIMD builds the portable one's.
    #[test]
    fn strips_and_builds_agree() {
        let mut rand = stream(5);
        let case = Case {
            inputs: 3,
            outputs: 6,
            size: (17, 21),
            stride: 2,
            pad: 1,
            batch: true,
            relu: true,
        };
        let model = conv_model(&case, &mut rand);
        let node = model.nodes().iter().find(|n| n.op_is::<Conv>()).unwrap();
        let (whole, _) = conv_for(&model, node).unwrap().unwrap();
        let mut strips = whole.clone();
        strips.strip = 2;
        strips.sums = Pointwise::new(
            vec![6, 2, whole.output.1],
            &constant(&model, "k"),
            &constant(&model, "b"),
            true,
        );
        let x: Vec<f32> = (0..3 * 17 * 21).map(|_| rand() * 10.0).collect();
        let size = 6 * whole.output.0 * whole.output.1;
        for int8 in [false, true] {
            let (mut whole, mut strips) = (whole.clone(), strips.clone());
            if int8 {
                whole.use_int8();
                strips.use_int8();
            }
            let (mut a, mut b) = (vec![0f32; size], vec![0f32; size]);
            run_portable(&whole, &x, &mut a);
            run_portable(&strips, &x, &mut b);
            assert_eq!(a, b);
            assert!(a.iter().any(|&v| v > 0.0));
            let mut c = vec![0f32; size];
            run(&strips, &x, &mut c);
            assert_eq!(a, c);
            assert_eq!(simd_mismatch(&strips, &x, &a), None);
        }
    }

    /// The values of the constant named `name` in `model`.
    fn constant(model: &TypedModel, name: &str) -> Vec<f32> {
        let fact = &model.node_by_name(name).unwrap().outputs[0].fact;
        fact.konst
            .as_ref()
            .unwrap()
            .as_slice::<f32>()
            .unwrap()
            .to_vec()
    }
}
