//! A picture of a joint space: its embeddings projected on their two principal components, coloured by group,
//! with words drawn where they land.

use std::path::Path;

use plotters::prelude::*;

use crate::runner::RunError;

/// Projects `points` (`[N, dim]`) and `words` (each a `dim` vector) on the points' first two principal
/// components and draws them: one colour per group (`groups[i]` indexes `group_names`; `group_colours` gives
/// them, or a palette when it is empty), words in black.
#[allow(clippy::too_many_arguments)]
pub fn draw_joint_space(
    points: &[f32],
    dim: usize,
    groups: &[usize],
    group_names: &[String],
    group_colours: &[[u8; 3]],
    words: &[(String, Vec<f32>)],
    title: &str,
    path: &Path,
) -> Result<(), RunError> {
    crate::runner::register_plot_font();
    let (mean, axes) = principal_axes(points, dim, 2);
    let project = |v: &[f32]| -> (f64, f64) {
        let centred: Vec<f32> = v.iter().zip(&mean).map(|(a, m)| a - m).collect();
        let dot = |axis: &[f32]| centred.iter().zip(axis).map(|(a, b)| (a * b) as f64).sum::<f64>();
        (dot(&axes[0]), dot(&axes[1]))
    };
    let projected: Vec<(f64, f64)> = points.chunks(dim).map(project).collect();
    let labelled: Vec<(String, (f64, f64))> = words.iter().map(|(w, v)| (w.clone(), project(v))).collect();
    let temporary = mm_files::Partial::with_format(path, "png");
    draw(&projected, groups, group_names, group_colours, &labelled, title, temporary.path())
        .map_err(|e| RunError::invalid(path, format!("cannot draw: {e}")))?;
    temporary.commit().map_err(|e| RunError::Io { path: path.into(), source: e })
}

fn draw(
    points: &[(f64, f64)],
    groups: &[usize],
    group_names: &[String],
    group_colours: &[[u8; 3]],
    words: &[(String, (f64, f64))],
    title: &str,
    path: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let all = points.iter().chain(words.iter().map(|w| &w.1));
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in all {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    let (px, py) = (((x1 - x0) * 0.08).max(1e-3), ((y1 - y0) * 0.08).max(1e-3));
    let root = BitMapBackend::new(path, (900, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(16)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d((x0 - px)..(x1 + px), (y0 - py)..(y1 + py))?;
    chart.configure_mesh().x_desc("PC 1").y_desc("PC 2").light_line_style(WHITE).label_style(("sans-serif", 12)).draw()?;
    for (g, name) in group_names.iter().enumerate() {
        let colour = match group_colours.get(g) {
            Some(&[r, green, b]) => RGBColor(r, green, b).to_rgba(),
            None => Palette99::pick(g).to_rgba(),
        };
        let members = points.iter().zip(groups).filter(|(_, group)| **group == g).map(|(p, _)| *p);
        chart
            .draw_series(members.map(|p| Circle::new(p, 2, colour.mix(0.5).filled())))?
            .label(name.as_str())
            .legend(move |(x, y)| Circle::new((x + 6, y), 4, colour.filled()));
    }
    for (word, position) in words {
        chart.draw_series(std::iter::once(Circle::new(*position, 4, BLACK.filled())))?;
        chart.draw_series(std::iter::once(Text::new(word.clone(), *position, ("sans-serif", 15).into_font())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .draw()?;
    root.present()?;
    Ok(())
}

/// The mean of `points` and their first `k` principal axes (unit vectors), by power iteration on the
/// covariance with deflation.
pub fn principal_axes(points: &[f32], dim: usize, k: usize) -> (Vec<f32>, Vec<Vec<f32>>) {
    let n = (points.len() / dim.max(1)).max(1);
    let mut mean = vec![0f64; dim];
    for row in points.chunks(dim) {
        row.iter().enumerate().for_each(|(j, &v)| mean[j] += v as f64 / n as f64);
    }
    let mut covariance = vec![0f64; dim * dim];
    for row in points.chunks(dim) {
        let centred: Vec<f64> = row.iter().zip(&mean).map(|(&v, m)| v as f64 - m).collect();
        for i in 0..dim {
            for j in 0..dim {
                covariance[i * dim + j] += centred[i] * centred[j];
            }
        }
    }
    let mut axes = Vec::new();
    for a in 0..k {
        let mut v: Vec<f64> = (0..dim).map(|j| 1.0 + ((j * 31 + a * 17) % 7) as f64 * 0.1).collect();
        let mut eigenvalue = 0.0;
        for _ in 0..200 {
            let mut next: Vec<f64> = (0..dim).map(|i| (0..dim).map(|j| covariance[i * dim + j] * v[j]).sum()).collect();
            let norm = next.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-30);
            next.iter_mut().for_each(|x| *x /= norm);
            eigenvalue = norm;
            v = next;
        }
        for i in 0..dim {
            for j in 0..dim {
                covariance[i * dim + j] -= eigenvalue * v[i] * v[j];
            }
        }
        axes.push(v.iter().map(|&x| x as f32).collect());
    }
    (mean.iter().map(|&m| m as f32).collect(), axes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_axes_follow_the_spread() {
        // Points spread along (1, 1, 0) by ±10 and along (0, 0, 1) by ±1.
        let points: Vec<f32> = (0..40)
            .flat_map(|i| {
                let (t, s) = ((i % 20) as f32 - 9.5, if i < 20 { 1.0 } else { -1.0 });
                [t, t, s]
            })
            .collect();
        let (_, axes) = principal_axes(&points, 3, 2);
        let r = std::f32::consts::FRAC_1_SQRT_2;
        assert!((axes[0][0].abs() - r).abs() < 1e-3 && (axes[0][1].abs() - r).abs() < 1e-3 && axes[0][2].abs() < 1e-3);
        assert!((axes[1][2].abs() - 1.0).abs() < 1e-3);
    }
}
