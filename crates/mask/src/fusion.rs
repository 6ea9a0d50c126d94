//! Recognising what follows a convolution in tract's decluttered graph, so that masque's
//! own operators (`depthwise.rs`, `pointwise.rs`, `conv3x3.rs`, `upsample.rs`) can compute
//! it in the same pass: a constant bias added (or a scale multiplied) per channel, and a
//! ReLU (`max(x, 0)`).
//!
//! **Guarantees**: a step is recognised only when the value before it goes nowhere else
//! (no other operator and no model output reads it) and the step does not change the
//! value's shape, so computing it inside the operator changes nothing for the rest of the
//! graph.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;

/// The one operator reading `outlet`, when nothing else (not even the model's outputs)
/// does, with the index of the input it reads it as.
pub(crate) fn sole_reader(model: &TypedModel, outlet: OutletId) -> Option<(&TypedNode, usize)> {
    if model.outputs.contains(&outlet) {
        return None;
    }
    match model.outlet_successors(outlet) {
        [inlet] => Some((model.node(inlet.node), inlet.slot)),
        _ => None,
    }
}

/// When the sole reader of `outlet` is a binary operator named `name` whose other input
/// is a constant and whose output has `outlet`'s shape: that constant and the operator's
/// output.
fn constant_step(
    model: &TypedModel,
    outlet: OutletId,
    name: &str,
) -> TractResult<Option<(Arc<Tensor>, OutletId)>> {
    let Some((node, slot)) = sole_reader(model, outlet) else {
        return Ok(None);
    };
    let Some(op) = node.op_as::<TypedBinOp>() else {
        return Ok(None);
    };
    if op.0.name() != name || node.inputs.len() != 2 {
        return Ok(None);
    }
    let other = model.outlet_fact(node.inputs[1 - slot])?;
    let (Some(constant), before, after) = (
        other.konst.clone(),
        model.outlet_fact(outlet)?,
        &node.outputs[0].fact,
    ) else {
        return Ok(None);
    };
    if before.shape != after.shape
        || before.datum_type != f32::datum_type()
        || after.datum_type != f32::datum_type()
    {
        return Ok(None);
    }
    Ok(Some((constant, OutletId::new(node.id, 0))))
}

/// When `outlet` (channel planes: [C, H, W] or one image of them, [1, C, H, W]) is next
/// added to a constant with one value per channel (1 along every other axis) or one value
/// for all: that constant, and the sum's outlet.
pub(crate) fn constant_added(
    model: &TypedModel,
    outlet: OutletId,
) -> TractResult<Option<(Arc<Tensor>, OutletId)>> {
    constant_per_channel(model, outlet, "Add")
}

/// Like [`constant_added`], for a constant `outlet` is next multiplied by.
pub(crate) fn constant_multiplied(
    model: &TypedModel,
    outlet: OutletId,
) -> TractResult<Option<(Arc<Tensor>, OutletId)>> {
    constant_per_channel(model, outlet, "Mul")
}

/// [`constant_step`] `name` with a constant of one value per channel or one for all.
fn constant_per_channel(
    model: &TypedModel,
    outlet: OutletId,
    name: &str,
) -> TractResult<Option<(Arc<Tensor>, OutletId)>> {
    let Some((constant, result)) = constant_step(model, outlet, name)? else {
        return Ok(None);
    };
    let rank = model.outlet_fact(outlet)?.rank();
    let channel_axis = rank.saturating_sub(3);
    let shape = constant.shape();
    let per_channel = shape.len() == rank
        && shape
            .iter()
            .enumerate()
            .all(|(axis, &d)| axis == channel_axis || d == 1);
    if !(per_channel || constant.len() == 1) {
        return Ok(None);
    }
    Ok(Some((constant, result)))
}

/// `bias` (a float constant) as one value per channel for `channels` channels: as it is
/// when it has one per channel, repeated when it has one for all, `None` otherwise.
pub(crate) fn per_channel(bias: &Tensor, channels: usize) -> TractResult<Option<Vec<f32>>> {
    let bias = bias.cast_to::<f32>()?;
    let values = bias.as_slice::<f32>()?;
    Ok(match values.len() {
        n if n == channels => Some(values.to_vec()),
        1 => Some(vec![values[0]; channels]),
        _ => None,
    })
}

/// When `outlet` is next cut at zero (`max(x, 0)`, a ReLU) and goes nowhere else: the
/// outlet of the result.
pub(crate) fn relu_after(model: &TypedModel, outlet: OutletId) -> TractResult<Option<OutletId>> {
    let Some((zero, relu)) = constant_step(model, outlet, "Max")? else {
        return Ok(None);
    };
    let zero = zero.cast_to::<f32>()?;
    if zero.as_slice::<f32>()?.iter().all(|&v| v == 0.0) {
        Ok(Some(relu))
    } else {
        Ok(None)
    }
}
