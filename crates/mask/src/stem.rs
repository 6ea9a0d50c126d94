//! The network's first layers, a 3 x 3 convolution, the depthwise convolution reading it
//! and the 1 x 1 projection after that, computed strip by strip.
//!
//! CenterFace begins with a 3 x 3 convolution of the picture (3 to 32 channels, stride 2)
//! and a 3 x 3 depthwise convolution of its output, both at half the input's size: on a
//! 1,088 x 1,088 tile the tensor between them is 32 channels of 544 x 544 pixels (38 MB),
//! written fresh, then read back, and the two layers took a fifth of the tile at 11 and 3
//! multiply-adds per ns. Here the depthwise output is made a strip of rows at a time: the
//! convolution computes only the rows that strip reads, into a buffer that stays in the
//! cache, and the depthwise kernel consumes them at once; where a 1 x 1 projection (32 to
//! 16 channels) reads the depthwise output and nothing else does, the strip's depthwise
//! rows go to a second buffer and are projected from there, so neither 32-channel tensor
//! is ever written whole. The two rows shared by neighbouring strips are computed twice.
//!
//! **Guarantees**: the same floats as [`Conv3x3`] followed by [`Depthwise`] (and
//! [`Pointwise`]) apart (the same kernels, on the same values); [`replace`] fuses them
//! only where each is the sole reader of the one before and the shapes agree. The unit tests
//! compare the fused and unfused operators value for value, and the fused graph with
//! tract.

use tract_onnx::prelude::*;

use crate::conv3x3::{Conv3x3, Scratch};
use crate::depthwise::{self, Depthwise};
use crate::kernel::{Kernel, Kernels, even_strips, fuse_pairs};
use crate::pointwise::Pointwise;
use crate::quantized::Quantized;

/// A strip's convolution rows (every channel) stay within this many floats (1 MiB, a Zen 4
/// core's L2 cache).
const STRIP_FLOATS: usize = 256 * 1024;
/// At least this many output rows per strip, so that rows computed twice stay a small
/// share.
const MIN_STRIP: usize = 4;

/// A [`Conv3x3`] followed by a [`Depthwise`] convolution of its output, and optionally by
/// a 1 x 1 projection of that.
#[derive(Clone, Debug)]
pub(crate) struct Stem {
    conv: Conv3x3,
    depthwise: Depthwise,
    /// Depthwise output rows per strip.
    strip: usize,
    /// The projection, whole and on one strip's planes (`strip` rows of the output's
    /// width), where it is fused too.
    project: Option<(Pointwise, Pointwise)>,
}

impl Stem {
    /// The two fused, if the depthwise convolution reads exactly what the convolution makes.
    fn new(conv: Conv3x3, depthwise: Depthwise) -> Option<Stem> {
        let (ih, iw) = depthwise.input;
        if conv.output_planes() != (depthwise.channels, ih, iw)
            || conv.batch_axis() != depthwise.batch_axis
        {
            return None;
        }
        let sh = depthwise.strides.0;
        let rows = STRIP_FLOATS / (depthwise.channels * iw).max(1);
        let strip = (rows.saturating_sub(depthwise::K) / sh.max(1) + 1).max(MIN_STRIP);
        let strip = even_strips(strip, depthwise.output.0);
        Some(Stem {
            conv,
            depthwise,
            strip,
            project: None,
        })
    }

    /// The stem followed by `project`, if that reads exactly the stem's output.
    fn projected(&self, project: Pointwise) -> Option<Stem> {
        let dw = &self.depthwise;
        let (oh, ow) = dw.output;
        if self.project.is_some() || project.inputs != dw.channels || project.pixels != oh * ow {
            return None;
        }
        let on_strip = project.reshaped(vec![project.outputs, self.strip, ow]);
        Some(Stem {
            project: Some((project, on_strip)),
            ..self.clone()
        })
    }
}

impl Kernels for Stem {
    const NAME: &'static str = "MasqueStem";

    fn input_len(&self) -> usize {
        self.conv.input_len()
    }

    fn output_shape(&self) -> Vec<usize> {
        match &self.project {
            Some((whole, _)) => whole.output_shape.clone(),
            None => self.depthwise.output_shape(),
        }
    }

    fn use_int8(&mut self) {
        self.conv.use_int8();
        if let Some((whole, strip)) = &mut self.project {
            whole.use_int8();
            *strip = whole.reshaped(strip.output_shape.clone());
        }
    }

    /// The work itself, strip after strip, with the convolution's sums made by `kernel`.
    #[inline(always)]
    fn run_with(&self, x: &[f32], out: &mut [f32], kernel: Kernel) {
        let dw = &self.depthwise;
        let (ih, iw) = dw.input;
        let oh = dw.output.0;
        let (sh, pt) = (dw.strides.0, dw.pad.0);
        let mut wide = Vec::new();
        let mut phases = Vec::new();
        let mut scratch = Scratch::default();
        let mut projected = Vec::new();
        let mut quantized = Quantized::default();
        for first_out in (0..oh).step_by(self.strip) {
            let end_out = (first_out + self.strip).min(oh);
            let input = depthwise::input_rows(first_out..end_out, sh, pt, ih);
            let (first_row, end_row) = (input.start, input.end);
            let rows = end_row - first_row;
            wide.resize(dw.channels * rows * iw, 0.0);
            // The convolution's rows this strip reads, at most its own strip at a time.
            for start in (first_row..end_row).step_by(self.conv.strip()) {
                let end = (start + self.conv.strip()).min(end_row);
                let at = (start - first_row) * iw;
                let into = &mut wide[at..];
                self.conv
                    .rows_into(x, start..end, into, rows * iw, kernel, &mut scratch);
            }
            let input = depthwise::ChannelRows {
                values: &wide,
                plane_len: rows * iw,
                first_row,
            };
            let Some((_, project)) = &self.project else {
                let (channels, outputs) = (0..dw.channels, first_out..end_out);
                depthwise::channels_rows(dw, channels, input, out, outputs, &mut phases);
                continue;
            };
            // The depthwise rows of the strip into a buffer of `strip` rows per channel,
            // then projected into the output's planes.
            let ow = dw.output.1;
            let (plane, count) = (self.strip * ow, (end_out - first_out) * ow);
            projected.resize(dw.channels * plane, 0.0);
            for (c, rows_of_c) in input.values.chunks_exact(input.plane_len).enumerate() {
                let Some(into) = projected.get_mut(c * plane..c * plane + count) else {
                    break;
                };
                depthwise::channel_rows(dw, c, rows_of_c, first_row, into, first_out, &mut phases);
            }
            let whole = oh * ow;
            let sums = project.sums(&projected, 0..count, kernel, &mut quantized);
            for block in 0..project.blocks() {
                let at = block * Pointwise::BLOCK * whole + first_out * ow;
                sums.block(block, &mut out[at..], whole);
            }
        }
    }
}

/// Fuses every [`Depthwise`] of `model` that is the sole reader of a [`Conv3x3`] with it;
/// returns how many pairs it fused. Runs after [`depthwise::replace`] and
/// [`crate::conv3x3::replace`].
pub(crate) fn replace(model: &mut TypedModel) -> TractResult<usize> {
    let fused = fuse_pairs(model, |conv: &Conv3x3, dw: &Depthwise| {
        Stem::new(conv.clone(), dw.clone())
    })?;
    // The 1 x 1 projection reading a stem, where nothing else does.
    fuse_pairs(model, |stem: &Stem, project: &Pointwise| {
        stem.projected(project.clone())
    })?;
    Ok(fused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{MasqueOp, run_both, run_portable, simd_mismatch, stream};
    use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
    use tract_onnx::tract_core::ops::math;
    use tract_onnx::tract_core::ops::nn::DataFormat;

    /// CenterFace's stem as tract's ONNX import makes it: a 3 x 3 convolution of `inputs`
    /// to `channels` channels (stride `stride`, padding 1) with its ReLU, then a 3 x 3
    /// depthwise convolution (stride 1, padding 1) with its ReLU, and with `project` a
    /// 1 x 1 convolution to that many channels (no ReLU); one image, NCHW.
    fn stem_model(
        inputs: usize,
        channels: usize,
        (h, w): (usize, usize),
        stride: usize,
        project: Option<usize>,
        rand: &mut impl FnMut() -> f32,
    ) -> TypedModel {
        let mut model = TypedModel::default();
        let mut y = model.add_source("x", f32::fact([1, inputs, h, w])).unwrap();
        // (input channels, group, stride, kernel side, output channels)
        let mut layers = vec![
            (inputs, 1, stride, 3, channels),
            (channels, channels, 1, 3, channels),
        ];
        layers.extend(project.map(|outputs| (channels, 1, 1, 1, outputs)));
        for (layer, (ci, group, s, side, co)) in layers.into_iter().enumerate() {
            let kernel: Vec<f32> = (0..co * ci / group * side * side).map(|_| rand()).collect();
            let bias: Vec<f32> = (0..co).map(|_| rand()).collect();
            let k = Tensor::from_shape(&[co, ci / group, side, side], &kernel).unwrap();
            let k = model.add_const(format!("k{layer}"), k).unwrap();
            let b = Tensor::from_shape(&[co], &bias).unwrap();
            let b = model.add_const(format!("b{layer}"), b).unwrap();
            let pad = side / 2;
            let conv = Conv {
                pool_spec: PoolSpec {
                    data_format: DataFormat::NCHW,
                    kernel_shape: tvec!(side, side),
                    padding: PaddingSpec::Explicit(tvec!(pad, pad), tvec!(pad, pad)),
                    dilations: None,
                    strides: Some(tvec!(s, s)),
                    input_channels: ci,
                    output_channels: co,
                },
                kernel_fmt: KernelFormat::OIHW,
                group,
                q_params: None,
            };
            y = model
                .wire_node(format!("conv{layer}"), conv, &[y, k, b])
                .unwrap()[0];
            if side == 3 {
                let zero = Tensor::zero::<f32>(&[1, 1, 1, 1]).unwrap();
                let zero = model.add_const(format!("zero{layer}"), zero).unwrap();
                let relu = model.wire_node(format!("relu{layer}"), math::max(), &[y, zero]);
                y = relu.unwrap()[0];
            }
        }
        model.set_output_outlets(&[y]).unwrap();
        model
    }

    /// The graph with its layers replaced and fused into one operator.
    fn fused(model: &TypedModel) -> TypedModel {
        let mut mine = model.clone().into_decluttered().unwrap();
        assert_eq!(depthwise::replace(&mut mine).unwrap(), 1);
        assert_eq!(crate::conv3x3::replace(&mut mine).unwrap(), 1);
        crate::pointwise::replace(&mut mine).unwrap();
        assert_eq!(replace(&mut mine).unwrap(), 1);
        mine.into_decluttered().unwrap()
    }

    /// On random weights and inputs, strides 1 and 2, sizes odd and even, small and large
    /// enough for several strips, with and without the projection: tract's values,
    /// computed by the one fused operator.
    #[test]
    fn it_computes_what_tract_computes() {
        for (inputs, channels, hw, stride, project) in [
            (3, 8, (40, 36), 2, None),
            (3, 5, (9, 13), 1, Some(4)),
            (2, 32, (130, 70), 2, Some(16)),
            (1, 3, (3, 3), 2, Some(2)),
            (3, 6, (50, 20), 2, None),
        ] {
            let mut rand = stream((inputs * channels * hw.0) as u64);
            let model = stem_model(inputs, channels, hw, stride, project, &mut rand);
            let mine = fused(&model);
            let ops: Vec<String> = mine
                .nodes()
                .iter()
                .map(|n| n.op().name().to_string())
                .collect();
            assert!(ops.contains(&"MasqueStem".to_string()), "{ops:?}");
            let gone = [
                "Conv",
                "Max",
                "EinSum",
                "MasquePointwise",
                "MasqueDepthwise",
            ];
            assert!(!ops.iter().any(|op| gone.contains(&op.as_str())), "{ops:?}");
            let len = inputs * hw.0 * hw.1;
            let input: Vec<f32> = (0..len).map(|_| rand() * 10.0).collect();
            let input = Tensor::from_shape(&[1, inputs, hw.0, hw.1], &input).unwrap();
            let (theirs, ours) = run_both(model, mine, &input);
            assert!(ours.iter().any(|&v| v != 0.0));
            for (a, b) in theirs.iter().zip(&ours) {
                assert!((a - b).abs() < 1e-3 * (1.0 + a.abs()), "{a} vs {b}");
            }
        }
    }

    /// Fused, strip by strip, the operators give exactly the floats they give one after
    /// the other, whatever the strip heights, with and without the projection, and every
    /// SIMD build the portable one's, with the sums in float32 and in 8-bit integers.
    #[test]
    fn fused_equals_one_after_the_other() {
        let mut rand = stream(5);
        let model = stem_model(3, 6, (75, 41), 2, Some(5), &mut rand);
        let mut apart = model.into_decluttered().unwrap();
        depthwise::replace(&mut apart).unwrap();
        crate::conv3x3::replace(&mut apart).unwrap();
        crate::pointwise::replace(&mut apart).unwrap();
        fn find<T: Kernels>(model: &TypedModel) -> T {
            let op = model.nodes().iter().find_map(|n| n.op_as::<MasqueOp<T>>());
            op.unwrap().0.clone()
        }
        let x: Vec<f32> = (0..find::<Conv3x3>(&apart).input_len())
            .map(|_| rand() * 10.0)
            .collect();
        for int8 in [false, true] {
            let (mut conv, dw, mut project) = (
                find::<Conv3x3>(&apart),
                find::<Depthwise>(&apart),
                find::<Pointwise>(&apart),
            );
            if int8 {
                conv.use_int8();
                project.use_int8();
            }
            fused_cases(&conv, &dw, &project, &x);
        }
    }

    /// [`fused_equals_one_after_the_other`] for one set of operators.
    fn fused_cases(conv: &Conv3x3, dw: &Depthwise, project: &Pointwise, x: &[f32]) {
        let mut middle = vec![0f32; dw.input_len()];
        run_portable(conv, x, &mut middle);
        let mut filtered = vec![0f32; dw.output_shape().iter().product()];
        run_portable(dw, &middle, &mut filtered);
        let mut projected = vec![0f32; project.output_shape().iter().product()];
        run_portable(project, &filtered, &mut projected);
        for strip in [1, 2, 3, 7, 100] {
            let mut stem = Stem::new(conv.clone(), dw.clone()).unwrap();
            stem.strip = strip.min(dw.output.0);
            let with_projection = stem.projected(project.clone()).unwrap();
            for (op, want) in [(stem, &filtered), (with_projection, &projected)] {
                let mut got = vec![f32::NAN; want.len()];
                run_portable(&op, x, &mut got);
                assert_eq!(&got, want, "strips of {strip}");
                assert_eq!(simd_mismatch(&op, x, want), None, "strips of {strip}");
            }
        }
    }
}
