//! The learning-curve picture: loss and accuracy per epoch, training and validation.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use super::run_dir::partial;
use super::{EpochMetrics, RunError};

/// Registers the font every plot of the crate draws its text with (once per process): plotters draws text with
/// ab_glyph from a registered font, and DejaVu Sans ships inside the `dejavu` crate.
pub(crate) fn register_plot_font() {
    static FONT: std::sync::Once = std::sync::Once::new();
    FONT.call_once(|| drop(register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())));
}

/// Draws `curves.png`-style pictures: two panels (loss, accuracy), training and validation lines, 1,000×420.
pub fn draw_learning_curves(history: &[EpochMetrics], title: &str, path: &Path) -> Result<(), RunError> {
    register_plot_font();
    let temporary = partial(path).with_extension("png");
    draw(history, title, &temporary).map_err(|e| RunError::invalid(path, format!("cannot draw: {e}")))?;
    std::fs::rename(&temporary, path).map_err(|e| RunError::io(path, e))
}

fn draw(history: &[EpochMetrics], title: &str, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, body) = root.split_vertically(36);
    top.titled(title, ("sans-serif", 20))?;
    let panels = body.split_evenly((1, 2));
    let last = history.len().max(2) as f64;
    type Pick = fn(&EpochMetrics) -> f64;
    let series: [(&str, Pick, Pick); 2] = [
        ("loss", |m| m.train_loss, |m| m.valid_loss),
        ("accuracy", |m| m.train_accuracy, |m| m.valid_accuracy),
    ];
    for (panel, (name, train, valid)) in panels.iter().zip(series) {
        let values = history.iter().flat_map(|m| [train(m), valid(m)]).filter(|v| v.is_finite());
        let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
        let (low, high) = if low.is_finite() { (low, high) } else { (0.0, 1.0) };
        let pad = ((high - low) * 0.08).max(1e-3);
        let mut chart = ChartBuilder::on(panel)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .caption(name, ("sans-serif", 16))
            .build_cartesian_2d(1f64..last, (low - pad)..(high + pad))?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .x_labels(history.len().clamp(2, 12))
            .x_label_formatter(&|x| format!("{x:.0}"))
            .light_line_style(WHITE)
            .label_style(("sans-serif", 13))
            .draw()?;
        for (label, pick, colour) in [("train", train, BLUE), ("validation", valid, RED)] {
            let points: Vec<(f64, f64)> = history.iter().map(|m| (m.epoch as f64, pick(m))).collect();
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
            chart.draw_series(points.into_iter().map(|p| Circle::new(p, 3, colour.filled())))?;
        }
        chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).label_font(("sans-serif", 13)).draw()?;
    }
    root.present()?;
    Ok(())
}
