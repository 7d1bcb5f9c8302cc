//! Spectrogram pictures: time in seconds, frequency in hertz, a colour bar in decibels and a title.

use std::path::Path;

use ndarray::ArrayView2;
use plotters::prelude::*;
use plotters::style::colors::colormaps::{ColorMap, ViridisRGB};
use plotters::style::{FontStyle, register_font};

use crate::{Error, Result};

/// How the rows of a spectrogram map to frequency.
#[derive(Debug, Clone)]
pub enum FrequencyAxis {
    /// Bin `k` is at `k * hz_per_bin`.
    Linear {
        /// Spacing of the bins.
        hz_per_bin: f32,
    },
    /// Band `m` is centred at `centres_hz[m]` (mel bands: evenly spaced on the picture, labelled in hertz).
    Bands {
        /// Centre of each band.
        centres_hz: Vec<f32>,
    },
}

/// What to draw and how to label it.
#[derive(Debug, Clone)]
pub struct SpectrogramPicture {
    /// Title over the picture (say what it is and with which parameters).
    pub title: String,
    /// Seconds between frames.
    pub seconds_per_frame: f32,
    /// Frequency of each row.
    pub frequency: FrequencyAxis,
    /// Label of the colour bar, e.g. "dB".
    pub value_label: String,
    /// Colours span `[max - dynamic_range, max]`; lower values are drawn at the bottom colour.
    pub dynamic_range: f32,
    /// Picture size in pixels.
    pub size: (u32, u32),
}

fn ensure_font() {
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    // plotters draws text with ab_glyph from a registered font; DejaVu Sans ships inside the `dejavu` crate.
    REGISTERED.call_once(|| drop(register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())));
}

impl SpectrogramPicture {
    /// Draws `values` (`[frames, rows]`, e.g. decibels) and saves a PNG through a temporary file.
    pub fn save(&self, values: ArrayView2<f32>, path: &Path) -> Result<()> {
        ensure_font();
        let partial = mm_files::Partial::with_format(path, "png");
        self.draw(values, partial.path()).map_err(|message| Error::Picture { path: path.into(), message })?;
        partial.commit().map_err(|e| Error::io(path, e))
    }

    fn draw(&self, values: ArrayView2<f32>, path: &Path) -> std::result::Result<(), String> {
        let (frames, rows) = values.dim();
        if !(self.dynamic_range.is_finite() && self.dynamic_range > 0.0) {
            return Err(format!("the dynamic range must be positive and finite, got {} dB", self.dynamic_range));
        }
        if frames == 0 || rows == 0 {
            return Err("nothing to draw: the spectrogram is empty".into());
        }
        let top = values.iter().copied().filter(|v| v.is_finite()).fold(f32::NEG_INFINITY, f32::max);
        if !top.is_finite() {
            return Err("no value of the spectrogram is a finite number (a signal whose power overflows f32: are its samples scaled to [-1, 1]?)".into());
        }
        let bottom = top - self.dynamic_range;
        // Infinite values saturate; a value that is not a number is drawn as the floor.
        let colour = |v: f32| ViridisRGB.get_color_normalized(if v.is_nan() { bottom } else { v.clamp(bottom, top) }, bottom, top);
        let duration = frames as f32 * self.seconds_per_frame;

        let root = BitMapBackend::new(path, self.size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (main, bar) = root.split_horizontally(self.size.0 - 110);
        let mut chart = ChartBuilder::on(&main)
            .caption(&self.title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0f32..duration, 0f32..rows as f32)
            .map_err(|e| e.to_string())?;
        let frequency = self.frequency.clone();
        let y_label = move |row: &f32| -> String {
            let hz = match &frequency {
                FrequencyAxis::Linear { hz_per_bin } => row * hz_per_bin,
                FrequencyAxis::Bands { centres_hz } => centres_hz[(row.max(0.0) as usize).min(centres_hz.len() - 1)],
            };
            if hz >= 1000.0 { format!("{:.1}k", hz / 1000.0) } else { format!("{hz:.0}") }
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("time (s)")
            .y_desc("frequency (Hz)")
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .y_label_formatter(&y_label)
            .draw()
            .map_err(|e| e.to_string())?;

        // Paint the plotting area pixel by pixel, each pixel showing the loudest cell it covers.
        let area = chart.plotting_area();
        let (width, height) = area.dim_in_pixel();
        let (x_range, y_range) = (area.get_x_range(), area.get_y_range());
        for px in 0..width {
            let t0 = px as usize * frames / width as usize;
            let t1 = ((px as usize + 1) * frames / width as usize).max(t0 + 1).min(frames);
            for py in 0..height {
                let r0 = (height - 1 - py) as usize * rows / height as usize;
                let r1 = ((height - py) as usize * rows / height as usize).max(r0 + 1).min(rows);
                let v = values.slice(ndarray::s![t0..t1, r0..r1]).iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let x = x_range.start + (x_range.end - x_range.start) * (px as f32 + 0.5) / width as f32;
                let y = y_range.start + (y_range.end - y_range.start) * (height as f32 - py as f32 - 0.5) / height as f32;
                area.draw_pixel((x, y), &colour(v)).map_err(|e| e.to_string())?;
            }
        }

        let mut legend = ChartBuilder::on(&bar)
            .margin_top(38)
            .margin_bottom(50)
            .margin_right(10)
            .y_label_area_size(55)
            .build_cartesian_2d(0f32..1f32, bottom..top)
            .map_err(|e| e.to_string())?;
        legend
            .configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc(&self.value_label)
            .y_label_formatter(&|v: &f32| format!("{v:.0}"))
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .draw()
            .map_err(|e| e.to_string())?;
        let steps = 200;
        legend
            .draw_series((0..steps).map(|i| {
                let lo = bottom + (top - bottom) * i as f32 / steps as f32;
                let hi = bottom + (top - bottom) * (i + 1) as f32 / steps as f32;
                Rectangle::new([(0.0, lo), (1.0, hi)], colour((lo + hi) / 2.0).filled())
            }))
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture() -> SpectrogramPicture {
        SpectrogramPicture {
            title: "test".into(),
            seconds_per_frame: 0.01,
            frequency: FrequencyAxis::Linear { hz_per_bin: 100.0 },
            value_label: "dB".into(),
            dynamic_range: 80.0,
            size: (400, 200),
        }
    }

    #[test]
    fn values_beyond_f32_are_an_error_or_saturate_never_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("overflow.png");
        let infinite = ndarray::Array2::from_elem((4, 3), f32::INFINITY);
        let message = picture().save(infinite.view(), &path).unwrap_err().to_string();
        assert!(message.contains("overflow.png") && message.contains("finite"), "{message}");
        assert!(!path.exists() && std::fs::read_dir(dir.path()).unwrap().count() == 0, "nothing is left behind");
        let mixed = ndarray::Array2::from_shape_fn((4, 3), |(i, j)| [f32::NAN, f32::INFINITY, -3.0, f32::NEG_INFINITY][(i + j) % 4]);
        picture().save(mixed.view(), &path).unwrap();
        assert!(path.is_file());
        let bare = dir.path().join("no-extension");
        picture().save(mixed.view(), &bare).unwrap();
        assert_eq!(&std::fs::read(&bare).unwrap()[1..4], b"PNG", "a picture without an extension is a PNG");
    }
}
