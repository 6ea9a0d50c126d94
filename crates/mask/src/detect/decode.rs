//! The network's outputs turned into boxes, and boxes of the same face merged.
//!
//! **Guarantees**: [`decode`] reports every heatmap cell at or above the threshold whose
//! box is finite, and rejects outputs of unexpected shapes with an error (never a panic);
//! [`nms`] keeps the strongest of any boxes overlapping by the given IoU or more.

use tract_onnx::prelude::tract_ndarray;

use super::Face;
use crate::MaskError;

/// CenterFace's decoding (Xu et al., "CenterFace", 2019): a cell of the stride-4 heatmap
/// above the threshold is a face centre at `(cell + offset + 0.5) * 4`, of size
/// `exp(scale) * 4` (channel 0 is the height, 1 the width; offsets likewise y then x).
pub(super) fn decode(
    heat: &tract_ndarray::ArrayViewD<f32>,
    size: &tract_ndarray::ArrayViewD<f32>,
    offset: &tract_ndarray::ArrayViewD<f32>,
    threshold: f32,
) -> Result<Vec<Face>, MaskError> {
    let shape = heat.shape();
    if shape.len() != 4 || size.shape().len() != 4 || offset.shape().len() != 4 {
        return Err(MaskError::Model(format!(
            "unexpected output shape {shape:?}"
        )));
    }
    let (gh, gw) = (shape[2], shape[3]);
    if size.shape()[1] < 2 || offset.shape()[1] < 2 || size.shape()[2..] != shape[2..] {
        return Err(MaskError::Model("outputs of mismatched shapes".into()));
    }
    let mut faces = Vec::new();
    for gy in 0..gh {
        for gx in 0..gw {
            let score = heat[[0, 0, gy, gx]];
            if score.is_nan() || score < threshold {
                continue;
            }
            let fh = size[[0, 0, gy, gx]].exp() * 4.0;
            let fw = size[[0, 1, gy, gx]].exp() * 4.0;
            let cy = (gy as f32 + offset[[0, 0, gy, gx]] + 0.5) * 4.0;
            let cx = (gx as f32 + offset[[0, 1, gy, gx]] + 0.5) * 4.0;
            if !(fh.is_finite() && fw.is_finite() && cx.is_finite() && cy.is_finite()) {
                continue;
            }
            faces.push(Face {
                x: cx - fw / 2.0,
                y: cy - fh / 2.0,
                width: fw,
                height: fh,
                score,
            });
        }
    }
    Ok(faces)
}

/// `f` cut to the `w` x `h` picture.
pub(super) fn clip(f: &mut Face, w: f32, h: f32) {
    let x2 = (f.x + f.width).min(w);
    let y2 = (f.y + f.height).min(h);
    f.x = f.x.max(0.0);
    f.y = f.y.max(0.0);
    f.width = (x2 - f.x).max(0.0);
    f.height = (y2 - f.y).max(0.0);
}

/// Greedy non-maximum suppression: strongest first, dropping any box that overlaps a kept
/// one by `iou` or more.
pub fn nms(mut faces: Vec<Face>, iou: f32) -> Vec<Face> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Face> = Vec::new();
    for f in faces {
        if kept.iter().all(|k| k.iou(&f) < iou) {
            kept.push(f);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::NMS_IOU;

    #[test]
    fn nms_keeps_the_strongest_of_overlapping_boxes() {
        let a = Face {
            x: 0.0,
            y: 0.0,
            width: 10.0,
            height: 10.0,
            score: 0.5,
        };
        let b = Face {
            x: 1.0,
            y: 1.0,
            width: 10.0,
            height: 10.0,
            score: 0.9,
        };
        let c = Face {
            x: 50.0,
            y: 50.0,
            width: 10.0,
            height: 10.0,
            score: 0.3,
        };
        let kept = nms(vec![a, b, c], NMS_IOU);
        assert_eq!(kept, vec![b, c]);
    }
}
