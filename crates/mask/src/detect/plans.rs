//! The network's plans: one per input size, made from the graph read and simplified once.
//!
//! tract optimises a graph for one input size. The tiles and re-check windows of a
//! picture need several (15 for the 12 MP benchmark photo), so the graph is read and
//! simplified once with symbolic sides 32 a x 32 b ([`optimized_model_for`] then sets a
//! and b, replaces the convolutions masque computes itself and optimises: 10 to 20 ms a
//! size), and the plans are kept in a small cache that drops the least recently used.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::format_err;

use super::{MODEL, TILE};
use crate::MaskError;

/// A runnable network for one input size.
pub(crate) type Plan = TypedSimplePlan<TypedModel>;

/// The embedded network for a [`TILE`] x [`TILE`] input, optimised as
/// [`super::Detector`] runs it: float32 (the float16 weights are cast once, when the graph
/// is built) except for the 1 x 1 sums, made in 8-bit integers where the processor has
/// AVX-512 VNNI (`quantized.rs`); its depthwise, 1 x 1 and 3 x 3 convolutions (with their
/// biases and ReLUs) and its upsamplings computed by masque's own kernels, each expansion
/// and the first convolution fused with the depthwise convolution reading it and the
/// projection after that (`depthwise.rs`, `pointwise.rs`, `conv3x3.rs`, `upsample.rs`,
/// `expand.rs`, `stem.rs`). A 640 x 640 tile takes 0.038 to 0.041 s on one Zen 4 core
/// with the integer sums, 0.065 to 0.070 s in float32, 0.24 s with tract's matrix
/// products and 0.38 to 0.40 s with tract alone (`examples/profile_tile.rs`). Public for
/// that example.
pub fn optimized_model() -> Result<TypedModel, MaskError> {
    optimized_model_for(TILE, TILE)
}

/// The network read and simplified once, for an input of 32 a x 32 b pixels (a and b
/// symbols): a plan for a given size is then this graph with a and b set (about 5 ms),
/// masque's replacements and tract's optimisation (10 to 20 ms in all), instead of the
/// file read and simplified again (about 70 ms, 15 times for a 12 MP photo's tiles and
/// re-check windows). Every size the detector asks for is a multiple of 32.
struct Symbolic {
    model: TypedModel,
    rows: Symbol,
    columns: Symbol,
}

static SYMBOLIC: std::sync::OnceLock<Result<Symbolic, String>> = std::sync::OnceLock::new();

fn symbolic() -> Result<&'static Symbolic, String> {
    let build = || -> TractResult<Symbolic> {
        let scope = SymbolScope::default();
        let (rows, columns) = (scope.sym("rows"), scope.sym("columns"));
        let shape = tvec![
            1.to_dim(),
            3.to_dim(),
            rows.to_dim() * 32,
            columns.to_dim() * 32
        ];
        let model = tract_onnx::onnx()
            .model_for_read(&mut std::io::Cursor::new(MODEL))?
            .with_input_fact(0, InferenceFact::dt_shape(f32::datum_type(), shape))?
            .into_typed()?
            .into_decluttered()?;
        Ok(Symbolic {
            model,
            rows,
            columns,
        })
    };
    SYMBOLIC
        .get_or_init(|| build().map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(Clone::clone)
}

/// [`optimized_model`] for a `width` x `height` input (multiples of 32), its 1 x 1 sums
/// in 8-bit integers where this processor makes them so (`quantized.rs`).
pub fn optimized_model_for(width: u32, height: u32) -> Result<TypedModel, MaskError> {
    model_for(width, height, crate::quantized::chosen())
}

/// [`optimized_model_for`], with the 1 x 1 sums in 8-bit integers when `int8`.
pub(crate) fn model_for(width: u32, height: u32, int8: bool) -> Result<TypedModel, MaskError> {
    if !width.is_multiple_of(32) || !height.is_multiple_of(32) || width == 0 || height == 0 {
        return Err(MaskError::Model(format!(
            "the network takes inputs whose sides are multiples of 32, not {width} x {height}"
        )));
    }
    let model = || -> TractResult<TypedModel> {
        let symbolic = symbolic().map_err(|e| format_err!("{e}"))?;
        let values = SymbolValues::default()
            .with(&symbolic.rows, i64::from(height / 32))
            .with(&symbolic.columns, i64::from(width / 32));
        let mut model = symbolic
            .model
            .concretize_dims(&values)?
            .into_decluttered()?;
        crate::depthwise::replace(&mut model)?;
        crate::conv3x3::replace(&mut model)?;
        crate::upsample::replace(&mut model)?;
        crate::pointwise::replace(&mut model)?;
        crate::expand::replace(&mut model)?;
        crate::stem::replace(&mut model)?;
        if int8 {
            crate::kernel::use_int8(&mut model);
        }
        model.into_optimized()
    };
    model().map_err(|e| MaskError::Model(format!("{e:#}")))
}

/// At most this many plans besides the [`TILE`] one are kept (each holds a copy of the
/// weights, about 8 MB); past it the one used least recently is dropped. Building a plan
/// takes 10 to 20 ms (0.08 s before the graph was simplified once for all sizes), so a video
/// whose re-check windows change size from frame to frame must not lose the plans of its
/// tiles to them: until 2026-12-04 a full cache started again, and a 1080p clip rebuilt
/// its tiles' plan every few frames.
pub(crate) const SMALL_PLANS: usize = 16;

/// The plans for sizes other than [`TILE`] x [`TILE`], each with when it was last asked
/// for.
#[derive(Default)]
pub(crate) struct PlanCache {
    pub(crate) plans: std::collections::HashMap<(u32, u32), (SharedPlan, u64)>,
    clock: u64,
}

impl PlanCache {
    /// The entry for `size`, made if needed (dropping the least recently used one when
    /// [`SMALL_PLANS`] are held).
    pub(crate) fn slot(&mut self, size: (u32, u32)) -> SharedPlan {
        self.clock += 1;
        let now = self.clock;
        if !self.plans.contains_key(&size) && self.plans.len() >= SMALL_PLANS {
            let oldest = self.plans.iter().min_by_key(|(_, (_, used))| *used);
            if let Some((&key, _)) = oldest {
                self.plans.remove(&key);
            }
        }
        let (plan, used) = self.plans.entry(size).or_default();
        *used = now;
        plan.clone()
    }
}

/// A plan for one input size, built once by whichever thread needs it first.
pub(crate) type SharedPlan = std::sync::Arc<std::sync::OnceLock<Result<Plan, String>>>;

/// A plan the detector chose for an input.
pub(crate) enum PlanRef<'a> {
    /// The [`TILE`] x [`TILE`] plan, built when the detector is made.
    Full(&'a Plan),
    /// A plan from the cache.
    Small(SharedPlan),
}

impl PlanRef<'_> {
    /// The plan itself (an error if building it failed).
    pub(crate) fn get(&self) -> Result<&Plan, MaskError> {
        match self {
            PlanRef::Full(plan) => Ok(plan),
            PlanRef::Small(shared) => match shared.get() {
                Some(Ok(plan)) => Ok(plan),
                _ => Err(MaskError::Model("a smaller plan was not built".into())),
            },
        }
    }
}
