//! How strongly the network answers a small face at full size and at half size, next to
//! its strongest answer elsewhere in the same picture. Diagnosis only:
//! `cargo run --release -p masque-mask --example half_size_heat`.
//!
//! Why it exists: skipping full-size tiles where the half-size level finds nothing would
//! cut most of the work on a large photo, but only if the half-size level still answers
//! faces of 12 to 24 pixels (6 to 12 once halved) more strongly than it answers the rest
//! of the picture. This prints both (`docs/mask.md`, "Not done yet").

use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};
use masque_mask::detect::{Rect, optimized_model_for};
use masque_mask::sample;
use tract_onnx::prelude::*;

/// The network's heatmap for `img` (stride 4) and its width in cells, before any
/// threshold or non-maximum suppression.
fn heatmap(img: &RgbImage) -> TractResult<(Vec<f32>, usize)> {
    let (w, h) = (
        img.width().div_ceil(32) * 32,
        img.height().div_ceil(32) * 32,
    );
    let plan = optimized_model_for(w, h)?.into_runnable()?;
    let mut input = tract_ndarray::Array4::<f32>::zeros((1, 3, h as usize, w as usize));
    for (x, y, p) in img.enumerate_pixels() {
        for c in 0..3 {
            input[[0, c, y as usize, x as usize]] = f32::from(p.0[c]);
        }
    }
    let outputs = plan.run(tvec!(Tensor::from(input).into()))?;
    let heat = outputs[0].to_array_view::<f32>()?;
    let cells = heat.shape()[3];
    Ok((heat.iter().copied().collect(), cells))
}

/// The strongest heatmap cell centred inside `face`, and the strongest centred outside
/// `face` grown by its own size on every side.
fn strongest(heat: &[f32], cells: usize, (x, y, w, h): Rect) -> (f32, f32) {
    let (mut on_face, mut elsewhere) = (0f32, 0f32);
    for (i, &v) in heat.iter().enumerate() {
        let cx = ((i % cells) as f32 + 0.5) * 4.0;
        let cy = ((i / cells) as f32 + 0.5) * 4.0;
        let within = |g: f32| {
            cx >= x - g * w && cx <= x + (1.0 + g) * w && cy >= y - g * h && cy <= y + (1.0 + g) * h
        };
        if within(0.0) {
            on_face = on_face.max(v);
        } else if !within(1.0) {
            elsewhere = elsewhere.max(v);
        }
    }
    (on_face, elsewhere)
}

fn main() -> TractResult<()> {
    println!("photo  face px | full size: face, elsewhere | half size: face, elsewhere");
    for (name, (photo, face)) in ["astronaut", "camera"].iter().zip(sample::photos()?) {
        for height in [12.0, 14.0, 16.0, 20.0, 24.0, 32.0] {
            let (copy, f) = sample::scaled(&photo, face, height);
            let mut canvas =
                RgbImage::from_pixel(copy.width() + 64, copy.height() + 64, Rgb([128; 3]));
            imageops::replace(&mut canvas, &copy, 32, 32);
            let f = (f.0 + 32.0, f.1 + 32.0, f.2, f.3);
            let (heat, cells) = heatmap(&canvas)?;
            let full = strongest(&heat, cells, f);
            let (w, h) = (canvas.width() / 2, canvas.height() / 2);
            let half_canvas = imageops::resize(&canvas, w, h, FilterType::Triangle);
            let (heat, cells) = heatmap(&half_canvas)?;
            let half = strongest(&heat, cells, (f.0 / 2.0, f.1 / 2.0, f.2 / 2.0, f.3 / 2.0));
            println!(
                "{name:<9} {height:>4} | {:.3}, {:.3} | {:.3}, {:.3}",
                full.0, full.1, half.0, half.1
            );
        }
    }
    Ok(())
}
