//! The learning-curve picture: loss and accuracy per epoch, training and validation.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use super::{EpochMetrics, RunError};

/// Registers the font every plot of the crate draws its text with (once per process): plotters draws text with
/// ab_glyph from a registered font, and DejaVu Sans ships inside the `dejavu` crate.
pub fn register_plot_font() {
    static FONT: std::sync::Once = std::sync::Once::new();
    FONT.call_once(|| drop(register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())));
}

/// The metrics drawn: every name that has a training or validation value, per-class values left out.
fn metric_names(history: &[EpochMetrics]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for key in history.iter().flat_map(|m| m.values.keys()) {
        let Some(name) = key.strip_prefix("train_").or_else(|| key.strip_prefix("valid_")) else { continue };
        if !name.contains('/') && !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names.sort_by_key(|n| (n != "loss", n.clone()));
    names
}

/// Draws `curves.png`-style pictures: one panel per metric (loss first), training and validation lines,
/// 500 pixels wide a panel and 420 high. Returns the picture's size.
pub fn draw_learning_curves(history: &[EpochMetrics], title: &str, path: &Path) -> Result<(u32, u32), RunError> {
    register_plot_font();
    let names = metric_names(history);
    let size = (500 * names.len().max(1) as u32, 420);
    let temporary = mm_files::Partial::with_format(path, "png");
    draw(history, &names, title, size, temporary.path()).map_err(|e| RunError::invalid(path, format!("cannot draw: {e}")))?;
    temporary.commit().map_err(|e| RunError::io(path, e))?;
    Ok(size)
}

fn draw(history: &[EpochMetrics], names: &[String], title: &str, size: (u32, u32), path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, body) = root.split_vertically(36);
    top.titled(title, ("sans-serif", 20))?;
    let panels = body.split_evenly((1, names.len().max(1)));
    let last = history.len().max(2) as f64;
    for (panel, name) in panels.iter().zip(names) {
        let (train_key, valid_key) = (format!("train_{name}"), format!("valid_{name}"));
        let values = history.iter().flat_map(|m| [m.get(&train_key), m.get(&valid_key)]).flatten().filter(|v| v.is_finite());
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
        for (label, key, colour) in [("train", &train_key, BLUE), ("validation", &valid_key, RED)] {
            let points: Vec<(f64, f64)> = history.iter().filter_map(|m| m.get(key).map(|v| (m.epoch as f64, v))).collect();
            if points.is_empty() {
                continue;
            }
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
