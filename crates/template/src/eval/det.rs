//! The DET curve (FNMR against FMR, both on log axes) as a PNG.
//!
//! Text is drawn with DejaVu Sans embedded in the binary, so plots carry their labels on
//! machines with no fonts installed.

use super::metrics::RatePoint;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// A curve to draw, with its legend label.
pub struct DetSeries<'a> {
    /// Legend text.
    pub label: &'a str,
    /// The curve's points.
    pub points: &'a [RatePoint],
}

/// Errors while drawing.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the DET plot to {path}: {reason}")]
pub struct PlotError {
    /// Where the plot was to be written.
    pub path: String,
    /// What went wrong.
    pub reason: String,
}

/// Rates are clamped to this floor so they show on log axes.
const FLOOR: f64 = 1e-7;

static FONT: Once = Once::new();

/// Writes a DET plot of `series` to `path` (PNG, 900 x 700).
///
/// # Errors
/// [`PlotError`] if the file cannot be written.
pub fn write_det_png(path: &Path, title: &str, series: &[DetSeries<'_>]) -> Result<(), PlotError> {
    FONT.call_once(|| {
        // The embedded font is valid; if registration failed, text would just be missing.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
    let err = |e: &dyn std::fmt::Display| PlotError {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let root = BitMapBackend::new(path, (900, 700)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 26))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d((FLOOR..1.0).log_scale(), (1e-4..1.0).log_scale())
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("False match rate (FMR)")
        .y_desc("False non-match rate (FNMR)")
        .x_label_formatter(&|x| format!("{x:.0e}"))
        .y_label_formatter(&|y| format!("{y:.0e}"))
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(|e| err(&e))?;
    let colours = [BLUE, RED, GREEN, MAGENTA, CYAN];
    for (k, s) in series.iter().enumerate() {
        let colour = colours[k % colours.len()];
        let pts = s
            .points
            .iter()
            .map(|p| (p.fmr.max(FLOOR), p.fnmr.max(1e-4)));
        chart
            .draw_series(LineSeries::new(pts, colour.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(s.label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{ScoreSet, metrics::curve};

    #[test]
    fn writes_a_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("det.png");
        let scores = ScoreSet {
            genuine: (0..500).map(|k| 0.1 + f64::from(k) / 2000.0).collect(),
            impostor: (0..5000).map(|k| 0.3 + f64::from(k) / 20000.0).collect(),
        };
        let points = curve(&scores);
        write_det_png(
            &path,
            "test",
            &[DetSeries {
                label: "iris",
                points: &points,
            }],
        )
        .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert!(bytes.len() > 5_000, "plot is suspiciously small");
        let missing = write_det_png(Path::new("/nonexistent-dir/x.png"), "t", &[]);
        assert!(missing.is_err());
    }
}
