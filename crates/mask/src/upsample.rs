//! CenterFace's upsampling: a 2 x 2 transposed convolution of stride 2, with the batch
//! normalisation and ReLU after it, as four 1 x 1 convolutions.
//!
//! The network's neck doubles its feature maps three times with `ConvTranspose` (24 to 24
//! channels, kernel 2 x 2, stride 2, no padding). With a kernel as large as its stride,
//! each output pixel comes from exactly one input pixel: output pixel (2y + dy, 2x + dx)
//! is a 1 x 1 convolution of input pixel (y, x) with the kernel's tap (dy, dx). tract ran
//! it as a matrix product followed by a general scatter-add (`DeconvSum`): 8 ms of a
//! 640 x 640 tile's 91, the largest share left to tract. Here the four taps are one
//! [`Pointwise`] of four times the output channels, run a strip of input rows at a time
//! into a buffer that stays in the cache, then interleaved into the output rows; the
//! per-channel scale and shift that follow (the batch normalisation) are folded into its
//! weights and bias, and the ReLU into its stores.
//!
//! **Guarantees**: [`replace`] swaps only a `Deconv` it computes exactly as tract does up
//! to float rounding: float32 channel planes of one image, a constant 2 x 2 kernel of
//! stride 2, no padding, dilation or adjustment, one group, a constant bias, then
//! (optionally, each only where the value before it goes nowhere else) a multiplication
//! and an addition by constants per channel and a `max(x, 0)`. The unit tests compare it
//! with tract on random data, with a plain formula, and its SIMD builds with the portable
//! one, value for value.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{Deconv, KernelFormat, PaddingSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;

use crate::fusion;
use crate::kernel::{Kernel, Kernels, replace_each};
use crate::pointwise::Pointwise;
use crate::quantized::Quantized;

/// The taps of the kernel, each 2 x 2 cell of the output having one pixel per tap.
const TAPS: usize = 4;
/// Input pixels per strip: the strip's four taps of all output channels (24 x 4 x 1,024
/// floats, 384 KiB) stay in a Zen 4 core's L2 cache until they are interleaved.
const STRIP_PIXELS: usize = 1024;

/// A 2 x 2 transposed convolution of stride 2 on `inputs` planes of `height` x `width`
/// pixels, making `outputs` planes twice as high and wide.
#[derive(Clone, Debug)]
pub(crate) struct Upsample {
    outputs: usize,
    height: usize,
    width: usize,
    /// The four taps as one 1 x 1 convolution: output row `tap * outputs + o` is output
    /// channel `o` at tap `tap` (`dy * 2 + dx`), with its bias and ReLU.
    taps: Pointwise,
    /// Input rows per strip.
    strip: usize,
}

impl Upsample {
    /// The operator for `kernel` (`[outputs, inputs, 2, 2]`, tract's layout for `Deconv`:
    /// output channel, input channel, dy, dx) and one `bias` per output channel, followed
    /// by a ReLU when `relu`.
    fn new(
        (inputs, height, width): (usize, usize, usize),
        kernel: &[f32],
        bias: &[f32],
        relu: bool,
    ) -> Upsample {
        let outputs = bias.len();
        let mut weights = vec![0f32; TAPS * outputs * inputs];
        for i in 0..inputs {
            for o in 0..outputs {
                for tap in 0..TAPS {
                    weights[(tap * outputs + o) * inputs + i] =
                        kernel[(o * inputs + i) * TAPS + tap];
                }
            }
        }
        let biases: Vec<f32> = (0..TAPS).flat_map(|_| bias.iter().copied()).collect();
        let taps = Pointwise::new(vec![TAPS * outputs, height, width], &weights, &biases, relu);
        Upsample {
            outputs,
            height,
            width,
            taps,
            strip: crate::kernel::even_strips(STRIP_PIXELS / width.max(1), height),
        }
    }
}

impl Kernels for Upsample {
    const NAME: &'static str = "MasqueUpsample";

    fn input_len(&self) -> usize {
        self.taps.inputs * self.height * self.width
    }

    fn output_shape(&self) -> Vec<usize> {
        vec![1, self.outputs, 2 * self.height, 2 * self.width]
    }

    fn use_int8(&mut self) {
        self.taps.use_int8();
    }

    /// The work itself, strip after strip, with the taps' sums made by `kernel`.
    #[inline(always)]
    fn run_with(&self, x: &[f32], out: &mut [f32], kernel: Kernel) {
        let (w, outputs) = (self.width, self.outputs);
        let mut taps = vec![0f32; TAPS * outputs * self.strip * w];
        let mut quantized = Quantized::default();
        for y0 in (0..self.height).step_by(self.strip) {
            let y1 = (y0 + self.strip).min(self.height);
            let len = (y1 - y0) * w;
            let sums = self.taps.sums(x, y0 * w..y1 * w, kernel, &mut quantized);
            for block in 0..self.taps.blocks() {
                sums.block(block, &mut taps[block * Pointwise::BLOCK * len..], len);
            }
            for o in 0..outputs {
                let plane = &mut out[o * 4 * self.height * w..(o + 1) * 4 * self.height * w];
                for y in y0..y1 {
                    for dy in 0..2 {
                        let row = (2 * y + dy) * 2 * w;
                        let from = |dx: usize| {
                            let start = ((dy * 2 + dx) * outputs + o) * len + (y - y0) * w;
                            start..start + w
                        };
                        let (left, right) = (&taps[from(0)], &taps[from(1)]);
                        let pairs = plane[row..row + 2 * w].chunks_exact_mut(2);
                        for ((pair, &l), &r) in pairs.zip(left).zip(right) {
                            pair[0] = l;
                            pair[1] = r;
                        }
                    }
                }
            }
        }
    }
}

/// The [`Upsample`] computing `node` (a tract `Deconv`) and what follows it, with the
/// outlet whose value it replaces, if it is one it handles.
fn upsample_for(model: &TypedModel, node: &TypedNode) -> TractResult<Option<(Upsample, OutletId)>> {
    let Some(deconv) = node.op_as::<Deconv>() else {
        return Ok(None);
    };
    let spec = &deconv.pool_spec;
    let no_padding = match &spec.padding {
        PaddingSpec::Valid => true,
        PaddingSpec::Explicit(before, after) | PaddingSpec::ExplicitOnnxPool(before, after, _) => {
            before.iter().chain(after).all(|&p| p == 0)
        }
        _ => false,
    };
    if spec.data_format != DataFormat::NCHW
        || spec.kernel_shape[..] != [2, 2]
        || spec.strides().iter().any(|&s| s != 2)
        || spec.dilations().iter().any(|&d| d != 1)
        || !no_padding
        || deconv.adjustments.iter().any(|&a| a != 0)
        || deconv.group != 1
        || deconv.kernel_format != KernelFormat::OIHW
        || node.inputs.len() != 3
    {
        return Ok(None);
    }
    let input = model.outlet_fact(node.inputs[0])?;
    let kernel = model.outlet_fact(node.inputs[1])?;
    let bias = model.outlet_fact(node.inputs[2])?;
    let output = &node.outputs[0].fact;
    let (Some(shape), Some(out_shape), Some(kernel), Some(bias)) = (
        input.shape.as_concrete(),
        output.shape.as_concrete(),
        kernel.konst.as_ref(),
        bias.konst.as_ref(),
    ) else {
        return Ok(None);
    };
    let &[1, inputs, height, width] = shape else {
        return Ok(None);
    };
    let outputs = spec.output_channels;
    if input.datum_type != f32::datum_type()
        || output.datum_type != f32::datum_type()
        || spec.input_channels != inputs
        || kernel.shape() != [outputs, inputs, 2, 2]
        || out_shape != [1, outputs, 2 * height, 2 * width]
    {
        return Ok(None);
    }
    let Some(mut bias) = fusion::per_channel(bias, outputs)? else {
        return Ok(None);
    };
    let mut kernel = kernel.cast_to::<f32>()?.as_slice::<f32>()?.to_vec();
    let mut last = OutletId::new(node.id, 0);
    // The batch normalisation after it: a scale, then a shift, per channel.
    if let Some((scale, after)) = fusion::constant_multiplied(model, last)?
        && let Some(scale) = fusion::per_channel(&scale, outputs)?
    {
        // The kernel holds, output channel after output channel, each input channel's taps.
        for (o, weights) in kernel.chunks_exact_mut(inputs * TAPS).enumerate() {
            weights.iter_mut().for_each(|w| *w *= scale[o]);
        }
        bias.iter_mut().zip(&scale).for_each(|(b, s)| *b *= s);
        last = after;
    }
    if let Some((shift, after)) = fusion::constant_added(model, last)?
        && let Some(shift) = fusion::per_channel(&shift, outputs)?
    {
        bias.iter_mut().zip(&shift).for_each(|(b, s)| *b += s);
        last = after;
    }
    let relu = fusion::relu_after(model, last)?;
    let op = Upsample::new((inputs, height, width), &kernel, &bias, relu.is_some());
    Ok(Some((op, relu.unwrap_or(last))))
}

/// Replaces every transposed convolution of `model` (with the scale, shift and ReLU after
/// it) that [`Upsample`] handles; returns how many it replaced.
pub(crate) fn replace(model: &mut TypedModel) -> TractResult<usize> {
    replace_each(model, |model, node| {
        Ok(upsample_for(model, node)?.map(|(op, last)| (op, node.inputs[0], last)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{run_both, run_portable, simd_mismatch, stream};
    use tract_onnx::tract_core::ops::cnn::PoolSpec;
    use tract_onnx::tract_core::ops::math;

    /// The graph tract's ONNX import makes of CenterFace's upsampling: a `Deconv` with a
    /// bias, a scale and a shift per channel (the batch normalisation), a `Max` with zero.
    fn upsample_model(
        inputs: usize,
        outputs: usize,
        (h, w): (usize, usize),
        seed: u64,
    ) -> TypedModel {
        let mut rand = stream(seed);
        let mut values = |n: usize| -> Vec<f32> { (0..n).map(|_| rand()).collect() };
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact([1, inputs, h, w])).unwrap();
        let kernel = Tensor::from_shape(&[outputs, inputs, 2, 2], &values(inputs * outputs * 4));
        let k = model.add_const("k", kernel.unwrap()).unwrap();
        let b = model.add_const(
            "b",
            Tensor::from_shape(&[outputs], &values(outputs)).unwrap(),
        );
        let channel = |v: Vec<f32>| Tensor::from_shape(&[1, outputs, 1, 1], &v).unwrap();
        let scale = model.add_const("scale", channel(values(outputs))).unwrap();
        let shift = model.add_const("shift", channel(values(outputs))).unwrap();
        let zero = model.add_const("zero", tensor4(&[[[[0f32]]]])).unwrap();
        let spec = PoolSpec::new(
            DataFormat::NCHW,
            tvec![2, 2],
            PaddingSpec::Explicit(tvec![0, 0], tvec![0, 0]),
            Some(tvec![1, 1]),
            Some(tvec![2, 2]),
            inputs,
            outputs,
        );
        let deconv = Deconv::new(spec, KernelFormat::OIHW, tvec![0, 0], 1);
        let y = model
            .wire_node("deconv", deconv, &[x, k, b.unwrap()])
            .unwrap();
        let y = model
            .wire_node("scaled", math::mul(), &[y[0], scale])
            .unwrap();
        let y = model
            .wire_node("shifted", math::add(), &[y[0], shift])
            .unwrap();
        let y = model.wire_node("relu", math::max(), &[y[0], zero]).unwrap();
        model.set_output_outlets(&y).unwrap();
        model
    }

    #[test]
    fn it_computes_what_tract_computes() {
        for (inputs, outputs, hw) in [(24, 24, (20, 20)), (5, 3, (7, 9)), (8, 1, (1, 70))] {
            let model = upsample_model(inputs, outputs, hw, (inputs * outputs) as u64);
            let mut mine = model.clone();
            assert_eq!(replace(&mut mine).unwrap(), 1);
            let mine = mine.into_decluttered().unwrap();
            let ops: Vec<_> = mine.nodes().iter().map(|n| n.op().name()).collect();
            assert!(
                !ops.iter()
                    .any(|op| ["Deconv", "Mul", "Add", "Max"].contains(&op.as_ref())),
                "the scale, shift and ReLU are computed by the kernel: {ops:?}"
            );
            let mut rand = stream(7);
            let len = inputs * hw.0 * hw.1;
            let input: Vec<f32> = (0..len).map(|_| rand() * 10.0).collect();
            let input = Tensor::from_shape(&[1, inputs, hw.0, hw.1], &input).unwrap();
            let (theirs, ours) = run_both(model, mine, &input);
            assert!(ours.iter().any(|&v| v > 0.0) && ours.iter().all(|&v| v >= 0.0));
            for (a, b) in theirs.iter().zip(&ours) {
                assert!((a - b).abs() < 1e-4 * inputs as f32, "{a} vs {b}");
            }
        }
    }

    /// Each output pixel is its input pixel's 1 x 1 convolution with its tap (the plain
    /// formula, checked on the portable build), and the AVX2 and AVX-512 builds give
    /// exactly the portable build's floats.
    #[test]
    fn it_computes_the_formula_and_simd_builds_equal_the_portable_one() {
        use proptest::prelude::*;
        let shapes = (
            1usize..30,
            1usize..9,
            1usize..12,
            1usize..80,
            any::<bool>(),
            any::<u64>(),
        );
        proptest!(|((inputs, outputs, h, w, relu, seed) in shapes)| {
            let mut rand = stream(seed);
            let kernel: Vec<f32> = (0..inputs * outputs * TAPS).map(|_| rand()).collect();
            let bias: Vec<f32> = (0..outputs).map(|_| rand()).collect();
            let op = Upsample::new((inputs, h, w), &kernel, &bias, relu);
            let x: Vec<f32> = (0..inputs * h * w).map(|_| rand() * 100.0).collect();
            let mut reference = vec![f32::NAN; outputs * 4 * h * w];
            run_portable(&op, &x, &mut reference);
            for o in 0..outputs {
                for (oy, ox) in (0..2 * h).flat_map(|y| (0..2 * w).map(move |x| (y, x))) {
                    let (y, x0, tap) = (oy / 2, ox / 2, (oy % 2) * 2 + ox % 2);
                    let sum = bias[o] + (0..inputs)
                        .map(|i| kernel[(o * inputs + i) * TAPS + tap] * x[(i * h + y) * w + x0])
                        .sum::<f32>();
                    let want = if relu { sum.max(0.0) } else { sum };
                    let got = reference[(o * 2 * h + oy) * 2 * w + ox];
                    prop_assert!((got - want).abs() < 1e-3 * inputs as f32, "{got} vs {want}");
                }
            }
            prop_assert_eq!(simd_mismatch(&op, &x, &reference), None);
            // With the sums in 8-bit integers too, every build gives the portable floats.
            let mut op = op;
            op.use_int8();
            run_portable(&op, &x, &mut reference);
            prop_assert_eq!(simd_mismatch(&op, &x, &reference), None);
        });
    }
}
