//! The 1 x 1 sums in 8-bit integers, for processors with AVX-512 VNNI (and BW).
//!
//! Half of a tile's time goes to the 1 x 1 sums, and in float32 they already run at the
//! two FMA pipes' rate. `VPDPBUSD` multiplies 64 pairs of bytes and adds them into 16
//! 32-bit sums in one instruction, four times the multiply-adds of a float32 fused
//! multiply-add (measured on Zen 4: 232 against 58 per nanosecond on one core).
//!
//! **How**: each output channel's weights are rounded to 127 steps of their largest
//! magnitude (a scale per output channel). Each input pixel is quantized on its own: its
//! values over all input channels, with zero, span 255 steps from the lowest to the
//! highest, so a pixel keeps 8 bits of resolution whatever the values of the others (a
//! scale and a zero point per pixel, as in per-token quantization). The vectors run along
//! the pixels, so the per-pixel scales and zero points are vectors too, applied once per
//! sum after the integer accumulation:
//! `out = ((acc - zero * Σw) * scale) * weight_scale + bias`, then the ReLU where one
//! followed. Bytes are stored four input channels per 32-bit lane, the grouping
//! `VPDPBUSD` sums.
//!
//! **Guarantees**: the AVX-512 VNNI build gives exactly the floats of the portable build
//! (integer sums are exact; every float step is the same single rounding in the same
//! order); both are within the rounding bound of the float32 sums, which the tests check
//! on random and edge inputs (`int8_is_within_the_rounding_bound_of_float32`). A pixel
//! whose values are all zero gives the bias.
//!
//! **Not guaranteed**: the same floats as float32. On the test photos and the 12 MP
//! benchmark photo the detections' scores move by 0.005 on average and 0.055 at most (a
//! face scored 0.158 in float32 scores 0.213), and the evaluation finds the same faces
//! (`docs/mask.md`); processors without AVX-512 VNNI run the float32 sums, so the same
//! picture can get slightly different scores on two machines.

use std::ops::Range;

use crate::kernel::Kernel;
use crate::pointwise::{LANES, ROWS};

/// Whether the detector makes its 1 x 1 sums in 8-bit integers: where the processor has
/// AVX-512 VNNI (the build [`Kernel::detect`] chooses), unless the environment variable
/// `MASQUE_FLOAT32` is set (to anything): then in float32 everywhere.
pub(crate) fn chosen() -> bool {
    #[cfg(target_arch = "x86_64")]
    let vnni = Kernel::detect() == Kernel::Avx512Vnni;
    #[cfg(not(target_arch = "x86_64"))]
    let vnni = false;
    vnni && std::env::var_os("MASQUE_FLOAT32").is_none()
}

/// What the detector computes in, as reports print it.
pub(crate) fn arithmetic() -> &'static str {
    if chosen() {
        "float32 with 1 x 1 sums in 8-bit integers"
    } else {
        "float32"
    }
}

/// Input steps per pixel, between its lowest and highest value (with zero).
const STEPS: f32 = 255.0;
/// A weight's largest magnitude in steps (signed bytes, -127 to 127).
const WEIGHT_STEPS: f32 = 127.0;
/// Input channels per 32-bit lane: the four byte pairs `VPDPBUSD` multiplies and adds.
const GROUP: usize = 4;

/// A 1 x 1 convolution's weights in signed bytes, packed as the sums read them.
#[derive(Clone, Debug)]
pub(crate) struct QuantizedWeights {
    /// Per block of [`ROWS`] output channels, per group of [`GROUP`] input channels, per
    /// output channel of the block: its weights for the group's channels, one byte each
    /// (two's complement), first channel in the lowest byte; zero past the last channel.
    packed: Vec<u32>,
    /// Groups of [`GROUP`] input channels.
    groups: usize,
    /// Per output channel, padded with zeros to whole blocks: the value of one step.
    scale: Vec<f32>,
    /// Per output channel, padded: the sum of its weights in steps (an integer, exact).
    sum: Vec<f32>,
}

impl QuantizedWeights {
    /// `weights` (`outputs` rows of `inputs` values) rounded to steps, each output
    /// channel on its own scale.
    pub(crate) fn new(weights: &[f32], inputs: usize, outputs: usize) -> QuantizedWeights {
        let (blocks, groups) = (outputs.div_ceil(ROWS), inputs.div_ceil(GROUP));
        let mut packed = vec![0u32; blocks * groups * ROWS];
        let mut scale = vec![0f32; blocks * ROWS];
        let mut sum = vec![0f32; blocks * ROWS];
        for (o, row) in weights.chunks_exact(inputs).enumerate() {
            let largest = row.iter().fold(0f32, |m, w| m.max(w.abs()));
            if !(largest > 0.0 && largest.is_finite()) {
                continue;
            }
            let step = largest / WEIGHT_STEPS;
            let (block, r) = (o / ROWS, o % ROWS);
            let mut steps = 0i32;
            for (i, &w) in row.iter().enumerate() {
                let q = nearest(w / step).clamp(-WEIGHT_STEPS, WEIGHT_STEPS) as i8;
                steps += i32::from(q);
                packed[(block * groups + i / GROUP) * ROWS + r] |=
                    u32::from(q as u8) << (8 * (i % GROUP));
            }
            scale[o] = step;
            sum[o] = steps as f32;
        }
        QuantizedWeights {
            packed,
            groups,
            scale,
            sum,
        }
    }
}

/// One range of pixels of a 1 x 1 convolution's input in bytes, each pixel on its own
/// scale; reused from one range to the next.
#[derive(Default)]
pub(crate) struct Quantized {
    /// Per group of [`GROUP`] input channels, per pixel: the group's bytes (zero past
    /// the last channel).
    bytes: Vec<u8>,
    /// Per pixel: the value of one step (zero where all the pixel's values are zero).
    scale: Vec<f32>,
    /// Per pixel: the step that stands for zero (an integer, 0 to 255).
    zero: Vec<f32>,
    /// Pixels in the range.
    len: usize,
}

impl Quantized {
    /// Quantizes pixels `range` of the `inputs` planes of `x`, each `plane` values long,
    /// with the build `kernel` names.
    #[inline(always)]
    pub(crate) fn fill(
        &mut self,
        x: &[f32],
        plane: usize,
        inputs: usize,
        range: Range<usize>,
        kernel: Kernel,
    ) {
        let len = range.len();
        assert!(inputs > 0 && range.end <= plane && inputs * plane <= x.len());
        self.len = len;
        // Every byte is written below: no need to clear what the last range left.
        self.bytes.resize(inputs.div_ceil(GROUP) * GROUP * len, 0);
        self.scale.resize(len, 0.0);
        self.zero.resize(len, 0.0);
        let done = match kernel {
            // SAFETY: `Kernel::detect` chooses Avx512Vnni only when the processor has
            // AVX-512F, AVX-512BW and FMA (and VNNI).
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni => unsafe { self.fill_avx512(x, plane, inputs, range.start) },
            _ => 0,
        };
        for p in done..len {
            self.fill_pixel(x, plane, inputs, range.start, p);
        }
    }

    /// Pixel `p` of the range starting at `start`: the portable reference.
    fn fill_pixel(&mut self, x: &[f32], plane: usize, inputs: usize, start: usize, p: usize) {
        let value = |c: usize| x[c * plane + start + p];
        let (mut lo, mut hi) = (0f32, 0f32);
        for c in 0..inputs {
            lo = lo.min(value(c));
            hi = hi.max(value(c));
        }
        let (inv, scale, zero) = steps(lo, hi);
        self.scale[p] = scale;
        self.zero[p] = zero;
        for c in 0..inputs.div_ceil(GROUP) * GROUP {
            let byte = if c < inputs {
                nearest(value(c).mul_add(inv, zero)).clamp(0.0, STEPS) as u8
            } else {
                0
            };
            self.bytes[((c / GROUP) * self.len + p) * GROUP + c % GROUP] = byte;
        }
    }

    /// [`Quantized::fill_pixel`] for every run of 16 pixels, with AVX-512 instructions;
    /// returns how many pixels it did.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,fma")]
    #[inline(never)]
    fn fill_avx512(&mut self, x: &[f32], plane: usize, inputs: usize, start: usize) -> usize {
        use std::arch::x86_64::*;
        let len = self.len;
        let groups = inputs.div_ceil(GROUP);
        assert!(inputs > 0 && (inputs - 1) * plane + start + len <= x.len());
        assert!(self.bytes.len() == groups * GROUP * len);
        assert!(self.scale.len() == len && self.zero.len() == len);
        let (zero_ps, steps_ps) = (_mm512_setzero_ps(), _mm512_set1_ps(STEPS));
        let zero_epi = _mm512_setzero_si512();
        let by_pixel = _mm512_broadcast_i32x4(_mm_setr_epi8(
            0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
        ));
        let mut p = 0;
        while p + 16 <= len {
            let at = start + p;
            // SAFETY (every load from x): the assertion above checked that x holds the
            // range's len pixels from c * plane + start for every c < inputs, and
            // p + 16 <= len.
            let load = |c: usize| unsafe { _mm512_loadu_ps(x.as_ptr().add(c * plane + at)) };
            let (mut lo, mut hi) = (zero_ps, zero_ps);
            for c in 0..inputs {
                let v = load(c);
                lo = _mm512_min_ps(lo, v);
                hi = _mm512_max_ps(hi, v);
            }
            let range = _mm512_sub_ps(hi, lo);
            let all = _mm512_div_ps(steps_ps, range);
            let ok = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(range, zero_ps)
                & _mm512_cmp_ps_mask::<_CMP_LT_OQ>(all, _mm512_set1_ps(f32::INFINITY));
            let inv = _mm512_maskz_mov_ps(ok, all);
            let scale = _mm512_maskz_mov_ps(ok, _mm512_div_ps(range, steps_ps));
            let minus_lo = _mm512_mul_ps(lo, _mm512_set1_ps(-1.0));
            let zero = _mm512_maskz_mov_ps(
                ok,
                _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
                    _mm512_mul_ps(minus_lo, inv),
                ),
            );
            // SAFETY: scale and zero hold len values and p + 16 <= len (asserted).
            unsafe {
                _mm512_storeu_ps(self.scale.as_mut_ptr().add(p), scale);
                _mm512_storeu_ps(self.zero.as_mut_ptr().add(p), zero);
            }
            for g in 0..groups {
                // The group's four channels in steps (-1 to 256 before saturation), zero
                // past the last channel.
                let mut steps = [zero_epi; GROUP];
                for (k, s) in steps.iter_mut().enumerate().take(inputs - g * GROUP) {
                    *s = _mm512_cvtps_epi32(_mm512_fmadd_ps(load(g * GROUP + k), inv, zero));
                }
                // Packed with unsigned saturation (the clamp to 0..=255), within each
                // 128-bit lane (pixels 4l to 4l + 3): channel 0's four pixels, channel
                // 1's, 2's, 3's; then each pixel's four channels gathered.
                let low = _mm512_packus_epi32(steps[0], steps[1]);
                let high = _mm512_packus_epi32(steps[2], steps[3]);
                let word = _mm512_shuffle_epi8(_mm512_packus_epi16(low, high), by_pixel);
                // SAFETY: bytes holds groups * len lanes of GROUP bytes (asserted) and
                // g < groups, p + 16 <= len.
                unsafe {
                    let to = self.bytes.as_mut_ptr().add((g * len + p) * GROUP);
                    _mm512_storeu_si512(to.cast(), word);
                }
            }
            p += 16;
        }
        p
    }
}

/// `v` rounded to the nearest integer, ties to even (as `VCVTPS2DQ` rounds), for |v|
/// below 2^22 (every value rounded here is within 256): adding and subtracting 1.5 x 2^23
/// leaves no fraction bits. `round_ties_even` is a call to libm's `rintf` on x86-64
/// without SSE4.1, which made quantizing a plan's weights a few percent of a video's
/// first frame.
#[inline(always)]
fn nearest(v: f32) -> f32 {
    const SHIFT: f32 = 12_582_912.0;
    (v + SHIFT) - SHIFT
}

/// A pixel's quantization from its lowest and highest values (each with zero): the
/// steps per unit, the value of a step and the step standing for zero; all zero where
/// the values span nothing (or too little for a finite number of steps per unit).
#[inline(always)]
fn steps(lo: f32, hi: f32) -> (f32, f32, f32) {
    let range = hi - lo;
    let inv = STEPS / range;
    if !(range > 0.0 && inv < f32::INFINITY) {
        return (0.0, 0.0, 0.0);
    }
    (inv, range / STEPS, nearest(-lo * inv))
}

/// Output channels `block * ROWS..` (the block's, as many as `outputs` leaves) of the
/// quantized range `q`, written to `out`, channel r of the block from `out[r * stride]`
/// on, cut at zero when `relu`; whole runs of [`LANES`] pixels by the build `kernel`
/// names.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn block_range(
    weights: &QuantizedWeights,
    bias: &[f32],
    outputs: usize,
    relu: bool,
    q: &Quantized,
    block: usize,
    out: &mut [f32],
    stride: usize,
    kernel: Kernel,
) {
    let first = block * ROWS;
    let chans = |v: &[f32]| -> [f32; ROWS] { v[first..first + ROWS].try_into().expect("padded") };
    let per_block = weights.groups * ROWS;
    let run = Run {
        q,
        weights: &weights.packed[block * per_block..(block + 1) * per_block],
        scale: chans(&weights.scale),
        sum: chans(&weights.sum),
        bias: chans(bias),
        rows: (outputs - first).min(ROWS),
        relu,
    };
    let len = q.len;
    let mut p = 0;
    while p + LANES <= len {
        run.sum_and_store(kernel, p, out, stride);
        p += LANES;
    }
    if p == len {
        return;
    }
    // The last pixels: where more than two vectors of 16 are left, the run ending at the
    // range's end (the pixels it shares with the run before come out the same); else
    // vectors of 16, the last one ending at the range's end where the range holds one,
    // and single pixels where it does not (a 64-pixel range is a run and a vector, not
    // two runs).
    if len >= LANES && len - p > 32 {
        run.sum_and_store(kernel, len - LANES, out, stride);
        return;
    }
    while p + 16 <= len {
        run.sum_and_store_16(kernel, p, out, stride);
        p += 16;
    }
    if p < len && len >= 16 {
        run.sum_and_store_16(kernel, len - 16, out, stride);
        return;
    }
    for p in p..len {
        run.store::<1>(&run.sums::<1>(p), p, out, stride);
    }
}

/// What the sums of one block read.
struct Run<'a> {
    q: &'a Quantized,
    /// The block's packed weights: per group, [`ROWS`] lanes.
    weights: &'a [u32],
    scale: [f32; ROWS],
    sum: [f32; ROWS],
    bias: [f32; ROWS],
    rows: usize,
    relu: bool,
}

impl Run<'_> {
    /// Pixels `p..p + LANES`, stored at `out[r * stride + p..]`.
    #[inline(always)]
    fn sum_and_store(&self, kernel: Kernel, p: usize, out: &mut [f32], stride: usize) {
        match kernel {
            // SAFETY: `Kernel::detect` chooses Avx512Vnni only when the processor has
            // AVX-512F, AVX-512 VNNI and FMA (the features `sum_and_store_vnni` enables).
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni => unsafe { self.sum_and_store_vnni::<3>(p, out, stride) },
            _ => self.store::<LANES>(&self.sums::<LANES>(p), p, out, stride),
        }
    }

    /// Pixels `p..p + 16`, as [`Run::sum_and_store`] does: the runs of a range shorter
    /// than [`LANES`] (the deepest layers of a small input: 32 pixels in a 256 x 128
    /// input's, where the portable sums made those layers half of the run's time).
    #[inline(always)]
    fn sum_and_store_16(&self, kernel: Kernel, p: usize, out: &mut [f32], stride: usize) {
        match kernel {
            // SAFETY: as in `sum_and_store`.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni => unsafe { self.sum_and_store_vnni::<1>(p, out, stride) },
            _ => self.store::<16>(&self.sums::<16>(p), p, out, stride),
        }
    }

    /// The integer sums of pixels `p..p + N`: the portable reference.
    #[inline(always)]
    fn sums<const N: usize>(&self, p: usize) -> [[i32; N]; ROWS] {
        let mut acc = [[0i32; N]; ROWS];
        let len = self.q.len;
        for (g, lanes) in self.weights.chunks_exact(ROWS).enumerate() {
            let bytes = &self.q.bytes[(g * len + p) * GROUP..(g * len + p + N) * GROUP];
            for (a, w) in acc.iter_mut().zip(lanes) {
                let w = w.to_le_bytes().map(|b| i32::from(b as i8));
                for (a, x) in a.iter_mut().zip(bytes.chunks_exact(GROUP)) {
                    *a += (0..GROUP).map(|k| i32::from(x[k]) * w[k]).sum::<i32>();
                }
            }
        }
        acc
    }

    /// Writes the first `rows` rows of `acc` (pixels `p..p + N`), scaled back to floats,
    /// with the bias and the ReLU: the portable reference.
    #[inline(always)]
    fn store<const N: usize>(
        &self,
        acc: &[[i32; N]; ROWS],
        p: usize,
        out: &mut [f32],
        stride: usize,
    ) {
        for (r, a) in acc.iter().take(self.rows).enumerate() {
            let dst = &mut out[r * stride + p..r * stride + p + N];
            for (i, (d, &a)) in dst.iter_mut().zip(a).enumerate() {
                let (scale, zero) = (self.q.scale[p + i], self.q.zero[p + i]);
                let v = ((-zero).mul_add(self.sum[r], a as f32) * scale)
                    .mul_add(self.scale[r], self.bias[r]);
                *d = if self.relu { v.max(0.0) } else { v };
            }
        }
    }

    /// [`Run::sums`] and [`Run::store`] for pixels `p..p + 16 * V` with AVX-512 VNNI:
    /// 4 x `V` sums of 16 in registers (12 for a run of [`LANES`]), one `VPDPBUSD` each
    /// per group of four input channels.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512vnni,fma")]
    #[inline(never)]
    fn sum_and_store_vnni<const V: usize>(&self, p: usize, out: &mut [f32], stride: usize) {
        use std::arch::x86_64::*;
        let len = self.q.len;
        let groups = self.weights.len() / ROWS;
        let n = 16 * V;
        assert!(self.weights.len() == groups * ROWS && self.rows <= ROWS && p + n <= len);
        assert!(self.q.bytes.len() >= groups * len * GROUP);
        assert!(self.q.scale.len() == len && self.q.zero.len() == len);
        assert!(self.rows == 0 || (self.rows - 1) * stride + p + n <= out.len());
        let mut acc = [[_mm512_setzero_si512(); V]; ROWS];
        for g in 0..groups {
            // SAFETY: bytes holds groups * len lanes of GROUP bytes and p + n <= len
            // (asserted), so the V x 64 bytes from lane g * len + p are inside.
            let mut x = [_mm512_setzero_si512(); V];
            for (v, x) in x.iter_mut().enumerate() {
                *x = unsafe {
                    let base = self.q.bytes.as_ptr().add((g * len + p) * GROUP);
                    _mm512_loadu_si512(base.add(64 * v).cast())
                };
            }
            for (a, &w) in acc.iter_mut().zip(&self.weights[g * ROWS..(g + 1) * ROWS]) {
                let w = _mm512_set1_epi32(w as i32);
                for v in 0..V {
                    a[v] = _mm512_dpbusd_epi32(a[v], x[v], w);
                }
            }
        }
        let zero_ps = _mm512_setzero_ps();
        for j in 0..V {
            // SAFETY: scale and zero hold len values and p + n <= len (asserted).
            let (scale, zero) = unsafe {
                (
                    _mm512_loadu_ps(self.q.scale.as_ptr().add(p + 16 * j)),
                    _mm512_loadu_ps(self.q.zero.as_ptr().add(p + 16 * j)),
                )
            };
            for (r, a) in acc.iter().take(self.rows).enumerate() {
                let a = _mm512_cvtepi32_ps(a[j]);
                let t = _mm512_fnmadd_ps(zero, _mm512_set1_ps(self.sum[r]), a);
                let u = _mm512_mul_ps(t, scale);
                let v = _mm512_fmadd_ps(
                    u,
                    _mm512_set1_ps(self.scale[r]),
                    _mm512_set1_ps(self.bias[r]),
                );
                let v = if self.relu {
                    _mm512_max_ps(v, zero_ps)
                } else {
                    v
                };
                // SAFETY: out holds n values from r * stride + p for every r < rows
                // (asserted).
                unsafe { _mm512_storeu_ps(out.as_mut_ptr().add(r * stride + p + 16 * j), v) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{run_portable, simd_mismatch, stream};
    use crate::pointwise::Pointwise;

    /// A 1 x 1 convolution of `outputs` x `inputs` weights summed in integers.
    fn int8_op(weights: &[f32], bias: &[f32], pixels: usize, relu: bool) -> Pointwise {
        let mut op = Pointwise::new(vec![bias.len(), pixels, 1], weights, bias, relu);
        op.use_int8();
        op
    }

    /// Weights round to 127 steps of each row's largest magnitude (ties to even), packed
    /// four input channels per lane, the first in the lowest byte.
    #[test]
    fn weights_are_packed_as_vpdpbusd_reads_them() {
        let q = QuantizedWeights::new(&[1.0, -0.5, 0.25, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0], 5, 2);
        let step = 2.0 / 127.0;
        // 1.0 / step = 63.5 -> 64, -0.5 -> -31.75 -> -32, 0.25 -> 15.875 -> 16, 2.0 -> 127.
        let first = 64 | (u32::from(-32i8 as u8) << 8) | (16 << 16);
        assert_eq!(q.groups, 2);
        assert_eq!(q.packed[..ROWS], [first, 0, 0, 0]);
        assert_eq!(q.packed[ROWS..2 * ROWS], [127, 0, 0, 0]);
        assert_eq!(q.scale[..2], [step, 0.0]);
        assert_eq!(q.sum[..2], [175.0, 0.0]);
    }

    /// `nearest` rounds as `round_ties_even` (and `VCVTPS2DQ`) on every quarter and on
    /// random values within the range it serves, ties included.
    #[test]
    fn nearest_rounds_ties_to_even() {
        let quarters = (-1200..=1200).map(|k| k as f32 / 4.0);
        let mut rand = stream(3);
        let random = (0..10_000).map(|_| rand() * 300.0);
        for v in quarters.chain(random) {
            assert_eq!(nearest(v), v.round_ties_even(), "{v}");
        }
    }

    /// Inputs of the kinds the network feeds the sums: both signs; zero or more (after a
    /// ReLU); pixels all zero or all negative among others; magnitudes from 1e-42
    /// (subnormal) to 1e30, one per pixel.
    fn inputs(
        kind: usize,
        inputs: usize,
        pixels: usize,
        rand: &mut impl FnMut() -> f32,
    ) -> Vec<f32> {
        let mut x: Vec<f32> = (0..inputs * pixels).map(|_| rand() * 10.0).collect();
        let magnitudes = [1e-42, 1e-20, 1e-3, 1.0, 1e4, 1e30];
        for p in 0..pixels {
            let mut pixel = |f: &dyn Fn(f32) -> f32| {
                for c in 0..inputs {
                    x[c * pixels + p] = f(x[c * pixels + p]);
                }
            };
            match (kind, p % 3) {
                (1, _) => pixel(&|v| v.max(0.0)),
                (2, 0) => pixel(&|_| 0.0),
                (2, 1) => pixel(&|v| -v.abs()),
                (3, _) => pixel(&|v| v * magnitudes[p % magnitudes.len()]),
                _ => {}
            }
        }
        x
    }

    /// The oracle: on random weights and inputs of every kind, each output is within the
    /// rounding bound of the exact sum (computed in f64): per input channel, the weight
    /// times one input step (a half step of rounding, and up to a half more where the
    /// zero point's rounding meets the top of the range), the input times half a weight
    /// step, and their product; plus float32 rounding. And the VNNI build gives the
    /// portable build's floats exactly.
    #[test]
    fn int8_is_within_the_rounding_bound_of_float32() {
        use proptest::prelude::*;
        let shapes = (
            1usize..70,
            1usize..11,
            1usize..150,
            any::<bool>(),
            0usize..4,
            any::<u64>(),
        );
        proptest!(|((n_in, n_out, pixels, relu, kind, seed) in shapes)| {
            let mut rand = stream(seed);
            let weights: Vec<f32> = (0..n_out * n_in).map(|i| rand() * [0.01, 1.0, 30.0][i % 3]).collect();
            let bias: Vec<f32> = (0..n_out).map(|_| rand()).collect();
            let x = inputs(kind, n_in, pixels, &mut rand);
            let op = int8_op(&weights, &bias, pixels, relu);
            let mut got = vec![f32::NAN; n_out * pixels];
            run_portable(&op, &x, &mut got);
            for p in 0..pixels {
                let column: Vec<f64> = (0..n_in).map(|c| f64::from(x[c * pixels + p])).collect();
                let lo = column.iter().fold(0f64, |m, &v| m.min(v));
                let hi = column.iter().fold(0f64, |m, &v| m.max(v));
                let step = (hi - lo) / 255.0;
                for o in 0..n_out {
                    let row: Vec<f64> = weights[o * n_in..(o + 1) * n_in].iter().map(|&w| f64::from(w)).collect();
                    let weight_step = row.iter().fold(0f64, |m, &w| m.max(w.abs())) / 127.0;
                    let exact = f64::from(bias[o]) + row.iter().zip(&column).map(|(w, v)| w * v).sum::<f64>();
                    let want = if relu { exact.max(0.0) } else { exact };
                    let bound: f64 = row.iter().zip(&column)
                        .map(|(w, v)| w.abs() * step + v.abs() * weight_step / 2.0 + step * weight_step / 2.0)
                        .sum();
                    let magnitude: f64 = f64::from(bias[o].abs()) + row.iter().zip(&column).map(|(w, v)| (w * v).abs()).sum::<f64>();
                    let slack = 1e-5 * magnitude + 1e-30;
                    let value = f64::from(got[o * pixels + p]);
                    prop_assert!((value - want).abs() <= bound * 1.0001 + slack,
                        "kind {} output {} pixel {}: {} vs {} (bound {})", kind, o, p, value, want, bound);
                }
            }
            prop_assert_eq!(simd_mismatch(&op, &x, &got), None);
        });
    }

    /// A pixel whose values are all zero gives the bias, cut at zero after a ReLU.
    #[test]
    fn a_pixel_of_zeros_gives_the_bias() {
        let (weights, bias) = ([0.5, -2.0, 1.0, 3.0, 0.25, -1.0], [0.75, -0.5]);
        for relu in [false, true] {
            let op = int8_op(&weights, &bias, 20, relu);
            let mut x = vec![1.5f32; 3 * 20];
            for c in 0..3 {
                x[c * 20 + 7] = 0.0;
            }
            let mut got = vec![f32::NAN; 2 * 20];
            run_portable(&op, &x, &mut got);
            assert_eq!(got[7], 0.75);
            assert_eq!(got[20 + 7], if relu { 0.0 } else { -0.5 });
            assert_eq!(simd_mismatch(&op, &x, &got), None);
        }
    }
}

/// The whole network in 8-bit integers against float32, on the test photos.
#[cfg(test)]
mod network_tests {
    use tract_onnx::prelude::*;

    use crate::detect::plans::model_for;

    /// The network's heatmap (its first output, a score per cell of 4 x 4 pixels) for the
    /// photo `name` of `tests/data`, with the 1 x 1 sums in integers or in float32.
    fn heatmap(name: &str, int8: bool) -> Vec<f32> {
        let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
        let photo = image::open(path).unwrap().to_rgb8();
        let (w, h) = (photo.width() / 32 * 32, photo.height() / 32 * 32);
        let mut input = tract_ndarray::Array4::<f32>::zeros((1, 3, h as usize, w as usize));
        for (x, y, p) in photo
            .enumerate_pixels()
            .filter(|(x, y, _)| *x < w && *y < h)
        {
            for c in 0..3 {
                input[[0, c, y as usize, x as usize]] = f32::from(p.0[c]);
            }
        }
        let plan = model_for(w, h, int8).unwrap().into_runnable().unwrap();
        let outputs = plan.run(tvec!(Tensor::from(input).into())).unwrap();
        outputs[0].as_slice::<f32>().unwrap().to_vec()
    }

    /// On both photos, every cell's score with the sums in integers is within 0.05 of
    /// float32's (measured: at most 0.024 on each), and the face's cell scores above the
    /// default threshold both ways.
    #[test]
    fn the_network_in_integers_scores_as_float32_does() {
        for name in ["astronaut.jpg", "camera.jpg"] {
            let (float, int8) = (heatmap(name, false), heatmap(name, true));
            assert_eq!(float.len(), int8.len());
            let worst = float
                .iter()
                .zip(&int8)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            let best = |h: &[f32]| h.iter().copied().fold(0f32, f32::max);
            eprintln!(
                "{name}: largest difference {worst}, best cell {} and {}",
                best(&float),
                best(&int8)
            );
            assert!(worst <= 0.05, "{name}: {worst}");
            assert!(
                best(&float) > crate::DEFAULT_THRESHOLD && best(&int8) > crate::DEFAULT_THRESHOLD
            );
        }
    }
}
