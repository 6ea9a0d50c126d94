//! An expansion and the depthwise convolution reading it, computed strip by strip.
//!
//! Each block of CenterFace's backbone widens its channels with a 1 x 1 convolution
//! ([`Pointwise`]) and filters the wide result with a 3 x 3 depthwise convolution
//! ([`Depthwise`]). The wide tensor is the largest of the network: 96 channels of 320 x 320
//! pixels (39 MB) on a 640 x 640 tile. Written whole, then read back, it goes through main
//! memory; the expansion producing it ran at a quarter of the rate of the other 1 x 1
//! convolutions. Here the depthwise output is made a strip of rows at a time: the
//! expansion computes only the rows that strip reads (a few channels at a time, into a
//! buffer that stays in the cache) and the depthwise kernel consumes them at once. Rows
//! shared by two strips (the kernel's height less its stride) are expanded once and
//! carried over to the next strip (until 2026-12-06 they were expanded twice: with
//! strips of 4 rows and a stride of 1, half again the expansion's work). The
//! 1 x 1 projection that reads the depthwise output (back to fewer channels) is fused
//! too: each strip's depthwise rows go to a buffer and are projected from there (and
//! quantized there, where the sums are in integers), so the depthwise output (up to 144
//! channels of 160 x 160 on a 640 x 640 tile, 15 MB) is never written whole either.
//!
//! **Guarantees**: the same floats as [`Pointwise`] followed by [`Depthwise`] (and the
//! projection's [`Pointwise`]): the same kernels, on the same values; [`replace`] fuses
//! only where each operator is the sole reader of the one before, on one image, and the
//! shapes agree.
//! The unit tests compare the fused and unfused operators value for value, and both
//! with tract.

use tract_onnx::prelude::*;

use crate::depthwise::{self, Depthwise};
use crate::kernel::{Kernel, Kernels, even_strips, fuse_pairs};
use crate::pointwise::Pointwise;
use crate::quantized::Quantized;

/// The expansion's input rows of one strip stay within this many floats (256 KiB, a
/// quarter of a Zen 4 core's L2 cache).
const STRIP_FLOATS: usize = 64 * 1024;
/// At least this many output rows per strip, so that rows computed twice stay a small
/// share.
const MIN_STRIP: usize = 4;

/// A [`Pointwise`] expansion followed by a [`Depthwise`] convolution of its output.
#[derive(Clone, Debug)]
pub(crate) struct ExpandDepthwise {
    expand: Pointwise,
    depthwise: Depthwise,
    /// Output rows per strip.
    strip: usize,
    /// The 1 x 1 projection reading the depthwise output, where it is fused too: whole,
    /// and on one strip's planes (`strip` rows of the output's width).
    project: Option<(Pointwise, Pointwise)>,
}

impl ExpandDepthwise {
    /// The two fused, if the depthwise convolution reads exactly what the expansion makes.
    fn new(expand: Pointwise, depthwise: Depthwise) -> Option<ExpandDepthwise> {
        let (ih, iw) = depthwise.input;
        if expand.output_shape != [depthwise.channels, ih, iw] || depthwise.batch_axis {
            return None;
        }
        let (kh, sh) = (depthwise::K, depthwise.strides.0);
        let rows = STRIP_FLOATS / (expand.inputs * iw).max(1);
        let strip = (rows.saturating_sub(kh) / sh.max(1) + 1).max(MIN_STRIP);
        let strip = even_strips(strip, depthwise.output.0);
        Some(ExpandDepthwise {
            expand,
            depthwise,
            strip,
            project: None,
        })
    }

    /// The pair followed by `project`, if that reads exactly the pair's output.
    fn projected(&self, project: Pointwise) -> Option<ExpandDepthwise> {
        let (oh, ow) = self.depthwise.output;
        if self.project.is_some()
            || project.inputs != self.depthwise.channels
            || project.pixels != oh * ow
        {
            return None;
        }
        let on_strip = project.reshaped(vec![project.outputs, self.strip, ow]);
        Some(ExpandDepthwise {
            project: Some((project, on_strip)),
            ..self.clone()
        })
    }
}

impl Kernels for ExpandDepthwise {
    const NAME: &'static str = "MasqueExpandDepthwise";

    fn input_len(&self) -> usize {
        self.expand.inputs * self.expand.pixels
    }

    fn output_shape(&self) -> Vec<usize> {
        if let Some((whole, _)) = &self.project {
            return whole.output_shape.clone();
        }
        let (oh, ow) = self.depthwise.output;
        vec![self.depthwise.channels, oh, ow]
    }

    fn use_int8(&mut self) {
        self.expand.use_int8();
        if let Some((whole, strip)) = &mut self.project {
            whole.use_int8();
            *strip = whole.reshaped(strip.output_shape.clone());
        }
    }

    /// The work itself, strip after strip, with the expansion's sums made by `kernel`.
    #[inline(always)]
    fn run_with(&self, x: &[f32], out: &mut [f32], kernel: Kernel) {
        let dw = &self.depthwise;
        let (ih, iw) = dw.input;
        let (oh, ow) = dw.output;
        let (sh, pt) = (dw.strides.0, dw.pad.0);
        let block = Pointwise::BLOCK;
        let mut wide = Vec::new();
        let mut phases = Vec::new();
        let mut quantized = Quantized::default();
        // Where the projection is fused: the depthwise rows of a strip, `strip` rows per
        // channel, and that buffer's quantized copy.
        let mut filtered = Vec::new();
        let mut filtered_quantized = Quantized::default();
        if self.project.is_some() {
            filtered.resize(dw.channels * self.strip * ow, 0.0);
        }
        // The expanded rows the next strip shares with this one, every channel's (`kept`
        // rows each), carried over instead of expanded again (see the module
        // documentation).
        let (mut carried, mut carry, mut next_carry) = (0..0, Vec::new(), Vec::new());
        for first_out in (0..oh).step_by(self.strip) {
            let end_out = (first_out + self.strip).min(oh);
            let input = depthwise::input_rows(first_out..end_out, sh, pt, ih);
            let (first_row, end_row) = (input.start, input.end);
            let rows = end_row - first_row;
            // Rows first_row..from come from the carry; from..end_row are expanded.
            let from = if carried.start == first_row && carried.end <= end_row {
                carried.end
            } else {
                first_row
            };
            let next = (end_out < oh).then(|| {
                let next_end = (end_out + self.strip).min(oh);
                depthwise::input_rows(end_out..next_end, sh, pt, ih).start
            });
            let kept = next.map_or(end_row, |n| n.clamp(first_row, end_row))..end_row;
            next_carry.resize(dw.channels * kept.len() * iw, 0.0);
            wide.resize(block * rows * iw, 0.0);
            let pixels = from * iw..end_row * iw;
            let sums = self.expand.sums(x, pixels, kernel, &mut quantized);
            for b in 0..self.expand.blocks() {
                let channels = b * block..((b + 1) * block).min(dw.channels);
                let plane = rows * iw;
                for c in channels.clone() {
                    let into = &mut wide[(c - b * block) * plane..];
                    let reused = (from - first_row) * iw;
                    let from_carry = &carry[c * carried.len() * iw..][..reused];
                    into[..reused].copy_from_slice(from_carry);
                }
                sums.block(b, &mut wide[(from - first_row) * iw..], plane);
                for c in channels.clone() {
                    let rows_of_c = &wide[(c - b * block) * plane..(c - b * block + 1) * plane];
                    let at = (kept.start - first_row) * iw;
                    next_carry[c * kept.len() * iw..(c + 1) * kept.len() * iw]
                        .copy_from_slice(&rows_of_c[at..at + kept.len() * iw]);
                }
                let outputs = first_out..end_out;
                if self.project.is_none() {
                    let input = depthwise::ChannelRows {
                        values: &wide,
                        plane_len: rows * iw,
                        first_row,
                    };
                    depthwise::channels_rows(dw, channels, input, out, outputs, &mut phases);
                    continue;
                }
                let (plane, count) = (self.strip * ow, outputs.len() * ow);
                for (c, rows_of_c) in channels.zip(wide.chunks_exact(rows * iw)) {
                    let into = &mut filtered[c * plane..c * plane + count];
                    depthwise::channel_rows(
                        dw,
                        c,
                        rows_of_c,
                        first_row,
                        into,
                        first_out,
                        &mut phases,
                    );
                }
            }
            std::mem::swap(&mut carry, &mut next_carry);
            carried = kept;
            let Some((_, project)) = &self.project else {
                continue;
            };
            let count = (end_out - first_out) * ow;
            let sums = project.sums(&filtered, 0..count, kernel, &mut filtered_quantized);
            for b in 0..project.blocks() {
                let at = b * block * oh * ow + first_out * ow;
                sums.block(b, &mut out[at..], oh * ow);
            }
        }
    }
}

/// Fuses every [`Depthwise`] of `model` that is the sole reader of a [`Pointwise`] with
/// it, then the [`Pointwise`] that is the sole reader of such a pair with that; returns
/// how many pairs it fused. Runs after [`depthwise::replace`] and
/// [`crate::pointwise::replace`].
pub(crate) fn replace(model: &mut TypedModel) -> TractResult<usize> {
    let fused = fuse_pairs(model, |expand: &Pointwise, dw: &Depthwise| {
        ExpandDepthwise::new(expand.clone(), dw.clone())
    })?;
    // The 1 x 1 projection reading a pair, where nothing else does.
    fuse_pairs(model, |pair: &ExpandDepthwise, project: &Pointwise| {
        pair.projected(project.clone())
    })?;
    Ok(fused)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::kernel::MasqueOp;
    use crate::kernel::{run_model, run_portable, simd_mismatch, stream};
    use tract_onnx::tract_core::internal::EvalOp;

    struct Case {
        inputs: usize,
        channels: usize,
        size: (usize, usize),
        stride: usize,
        pad: usize,
        relu: (bool, bool),
    }

    fn ops(case: &Case, rand: &mut impl FnMut() -> f32) -> (Pointwise, Depthwise) {
        let Case {
            inputs,
            channels,
            size: (ih, iw),
            stride,
            pad,
            relu,
        } = *case;
        let weights: Vec<f32> = (0..channels * inputs).map(|_| rand()).collect();
        let bias: Vec<f32> = (0..channels).map(|_| rand()).collect();
        let expand = Pointwise::new(vec![channels, ih, iw], &weights, &bias, relu.0);
        let out_len = |len: usize| (len + 2 * pad - 3) / stride + 1;
        let depthwise = Depthwise {
            batch_axis: false,
            channels,
            input: (ih, iw),
            output: (out_len(ih), out_len(iw)),
            strides: (stride, stride),
            pad: (pad, pad),
            kernel: Arc::new((0..channels * 9).map(|_| rand()).collect()),
            bias: Arc::new((0..channels).map(|_| rand()).collect()),
            relu: relu.1,
        };
        (expand, depthwise)
    }

    fn eval(op: &dyn EvalOp, x: Tensor) -> Tensor {
        op.eval(tvec!(x.into_tvalue()))
            .unwrap()
            .remove(0)
            .into_tensor()
    }

    /// Fused, strip by strip, the two operators (and the projection after them, where
    /// fused too) give exactly the floats they give one after the other, and every SIMD
    /// build the portable one's, on random weights and inputs, strides 1 and 2, padded
    /// and not, strips of every height, with the sums in float32 and in 8-bit integers.
    #[test]
    fn fused_equals_one_after_the_other() {
        use proptest::prelude::*;
        let cases = (
            1usize..20,
            1usize..10,
            3usize..30,
            3usize..30,
            1usize..3,
            0usize..2,
            any::<(bool, bool)>(),
            1usize..8,
            any::<(u64, bool)>(),
            0usize..6,
        );
        proptest!(|((inputs, channels, ih, iw, stride, pad, relu, strip, (seed, int8), projected) in cases)| {
            let case = Case { inputs, channels, size: (ih, iw), stride, pad, relu };
            let mut rand = stream(seed);
            let (mut expand, depthwise) = ops(&case, &mut rand);
            if int8 {
                expand.use_int8();
            }
            let mut fused = ExpandDepthwise::new(expand.clone(), depthwise.clone()).unwrap();
            fused.strip = strip.min(depthwise.output.0);
            let x: Vec<f32> = (0..inputs * ih * iw).map(|_| rand() * 10.0).collect();
            let x = Tensor::from_shape(&[inputs, ih, iw], &x).unwrap();
            let mut apart = eval(
                &MasqueOp(depthwise.clone()),
                eval(&MasqueOp(expand.clone()), x.clone()),
            );
            // With `projected` output channels, the projection after them fused too.
            if projected > 0 {
                let (oh, ow) = depthwise.output;
                let weights: Vec<f32> = (0..projected * channels).map(|_| rand()).collect();
                let bias: Vec<f32> = (0..projected).map(|_| rand()).collect();
                let mut project = Pointwise::new(vec![projected, oh, ow], &weights, &bias, false);
                if int8 {
                    project.use_int8();
                }
                apart = eval(&MasqueOp(project.clone()), apart);
                fused = fused.projected(project).unwrap();
            }
            let together = eval(&MasqueOp(fused.clone()), x.clone());
            prop_assert_eq!(apart.shape(), together.shape());
            prop_assert_eq!(apart.as_slice::<f32>().unwrap(), together.as_slice::<f32>().unwrap());
            let x = x.as_slice::<f32>().unwrap();
            let mut reference = vec![0f32; together.len()];
            run_portable(&fused, x, &mut reference);
            prop_assert_eq!(simd_mismatch(&fused, x, &reference), None);
        });
    }

    /// On the graph tract's ONNX import makes (1 x 1 convolution, bias, ReLU, depthwise
    /// convolution, ReLU, and a 1 x 1 projection with its bias where there is one),
    /// [`replace`] fuses them all and the result is tract's.
    #[test]
    fn it_computes_what_tract_computes() {
        use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
        use tract_onnx::tract_core::ops::einsum::EinSum;
        use tract_onnx::tract_core::ops::math;
        use tract_onnx::tract_core::ops::nn::DataFormat;
        let cases = [
            (16, 96, (40, 36), 2),
            (24, 144, (21, 17), 1),
            (5, 6, (9, 12), 2),
        ];
        let with_projection = [false, true];
        for ((inputs, channels, (ih, iw), stride), project) in cases
            .into_iter()
            .flat_map(|c| with_projection.map(|p| (c, p)))
        {
            let mut rand = stream((inputs * channels) as u64);
            let mut model = TypedModel::default();
            let mut konst = |model: &mut TypedModel, name: &str, shape: &[usize]| {
                let values: Vec<f32> = (0..shape.iter().product()).map(|_| rand()).collect();
                model
                    .add_const(name, Tensor::from_shape(shape, &values).unwrap())
                    .unwrap()
            };
            let x = model.add_source("x", f32::fact([inputs, ih, iw])).unwrap();
            let k = konst(&mut model, "k", &[channels, inputs]);
            let b = konst(&mut model, "b", &[channels, 1, 1]);
            let dk = konst(&mut model, "dk", &[channels, 1, 3, 3]);
            let db = konst(&mut model, "db", &[channels]);
            let zero = model
                .add_const("zero", Tensor::zero::<f32>(&[1, 1, 1]).unwrap())
                .unwrap();
            let einsum = EinSum::new("IHW,OI->OHW".parse().unwrap(), f32::datum_type());
            let y = model.wire_node("expand", einsum, &[x, k]).unwrap();
            let y = model.wire_node("bias", math::add(), &[y[0], b]).unwrap();
            let y = model.wire_node("relu", math::max(), &[y[0], zero]).unwrap();
            let conv = Conv {
                pool_spec: PoolSpec {
                    data_format: DataFormat::CHW,
                    kernel_shape: tvec!(3, 3),
                    padding: PaddingSpec::Explicit(tvec!(1, 1), tvec!(1, 1)),
                    dilations: None,
                    strides: Some(tvec!(stride, stride)),
                    input_channels: channels,
                    output_channels: channels,
                },
                kernel_fmt: KernelFormat::OIHW,
                group: channels,
                q_params: None,
            };
            let y = model.wire_node("dw", conv, &[y[0], dk, db]).unwrap();
            let mut y = model
                .wire_node("relu2", math::max(), &[y[0], zero])
                .unwrap();
            if project {
                // CenterFace's projection: a 1 x 1 convolution to fewer channels, no ReLU.
                let pk = konst(&mut model, "pk", &[inputs + 1, channels]);
                let pb = konst(&mut model, "pb", &[inputs + 1, 1, 1]);
                let einsum = EinSum::new("IHW,OI->OHW".parse().unwrap(), f32::datum_type());
                y = model.wire_node("project", einsum, &[y[0], pk]).unwrap();
                y = model.wire_node("pbias", math::add(), &[y[0], pb]).unwrap();
            }
            model.set_output_outlets(&y).unwrap();

            let mut mine = model.clone();
            assert_eq!(depthwise::replace(&mut mine).unwrap(), 1);
            let pointwise = 1 + usize::from(project);
            assert_eq!(crate::pointwise::replace(&mut mine).unwrap(), pointwise);
            assert_eq!(replace(&mut mine).unwrap(), 1);
            let mine = mine.into_decluttered().unwrap();
            let names: Vec<_> = mine
                .nodes()
                .iter()
                .map(|n| n.op().name().to_string())
                .collect();
            assert!(
                names.contains(&"MasqueExpandDepthwise".to_string()),
                "{names:?}"
            );
            assert!(
                !names
                    .iter()
                    .any(|n| n == "MasquePointwise" || n == "MasqueDepthwise"),
                "{names:?}"
            );
            let input: Vec<f32> = (0..inputs * ih * iw).map(|_| rand() * 10.0).collect();
            let input = Tensor::from_shape(&[inputs, ih, iw], &input).unwrap();
            let run = |m: TypedModel| run_model(m, &input);
            let (theirs, ours) = (run(model), run(mine));
            assert_eq!(theirs.shape(), ours.shape());
            let ours = ours.as_slice::<f32>().unwrap();
            assert!(ours.iter().any(|&v| v > 0.0));
            for (a, b) in theirs.as_slice::<f32>().unwrap().iter().zip(ours) {
                assert!(
                    (a - b).abs() < 1e-3 * (1.0 + a.abs()),
                    "{inputs} -> {channels}, stride {stride}: {a} vs {b}"
                );
            }
        }
    }
}
