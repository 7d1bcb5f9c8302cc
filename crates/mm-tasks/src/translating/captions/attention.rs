//! Where Show, Attend and Tell looked: for a picture, one panel per generated word, the picture lit where the
//! word's attention falls (the map of the encoder's places, bilinearly upsampled) and tinted warm, dimmed elsewhere.

use std::path::Path;

use image::{Rgb, RgbImage};
use mm_vision::picture::captioned_grid;

use crate::runner::RunError;

/// The picture lit by one attention map `[rows · columns]` (row-major over the encoder's places).
fn lit(image: &RgbImage, alpha: &[f32], rows: usize, columns: usize) -> RgbImage {
    let peak = alpha.iter().copied().fold(f32::MIN_POSITIVE, f32::max);
    let (w, h) = image.dimensions();
    let at = |r: usize, c: usize| alpha[r.min(rows - 1) * columns + c.min(columns - 1)] / peak;
    RgbImage::from_fn(w, h, |x, y| {
        // Place centres sit at (c + 0.5) · w / columns; interpolate between the four nearest.
        let fx = ((x as f32 + 0.5) * columns as f32 / w as f32 - 0.5).max(0.0);
        let fy = ((y as f32 + 0.5) * rows as f32 / h as f32 - 0.5).max(0.0);
        let (c0, r0) = (fx.floor() as usize, fy.floor() as usize);
        let (tx, ty) = (fx - c0 as f32, fy - r0 as f32);
        let weight = (1.0 - ty) * ((1.0 - tx) * at(r0, c0) + tx * at(r0, c0 + 1)) + ty * ((1.0 - tx) * at(r0 + 1, c0) + tx * at(r0 + 1, c0 + 1));
        // Dim what is not attended, and warm what is, so that the map reads on dark backgrounds too.
        let light = 0.2 + 0.8 * weight;
        let p = image.get_pixel(x, y).0;
        let glow = [110.0 * weight, 80.0 * weight, 0.0];
        Rgb(std::array::from_fn(|c| (p[c] as f32 * light + glow[c]).min(255.0) as u8))
    })
}

/// Writes the panels of one caption to `path` (PNG): the picture with the whole caption, then one panel per word
/// with its attention. `alphas` holds one `[rows · columns]` map per word of `words` (the end token's last).
pub fn attention_panels(image: &RgbImage, words: &[String], alphas: &[Vec<f32>], grid: [usize; 2], path: &Path) -> Result<(), RunError> {
    let [rows, columns] = grid;
    if alphas.len() != words.len() || alphas.iter().any(|a| a.len() != rows * columns) || rows * columns == 0 {
        return Err(RunError::Config(format!("attention panels: {} words, {} maps of a {rows}×{columns} grid", words.len(), alphas.len())));
    }
    let mut panels = vec![(image.clone(), words.join(" "))];
    panels.extend(words.iter().zip(alphas).map(|(word, alpha)| (lit(image, alpha, rows, columns), word.clone())));
    let zoom = (160 / image.width().max(1)).max(1);
    captioned_grid(&panels, 6, zoom, path).map_err(crate::data::data_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attended_place_stays_bright_and_the_rest_dims() {
        let image = RgbImage::from_pixel(16, 16, Rgb([200, 200, 200]));
        // A 2×2 grid looking only at the top-left place.
        let panel = lit(&image, &[1.0, 0.0, 0.0, 0.0], 2, 2);
        assert_eq!(panel.get_pixel(0, 0).0, [255, 255, 200]);
        assert!(panel.get_pixel(15, 15).0[0] <= 40, "{:?}", panel.get_pixel(15, 15));
        let dir = tempfile::tempdir().unwrap();
        let words: Vec<String> = ["a", "red", "circle"].map(String::from).to_vec();
        let maps = vec![vec![0.25; 4]; 3];
        attention_panels(&image, &words, &maps, [2, 2], &dir.path().join("a.png")).unwrap();
        assert!(dir.path().join("a.png").exists());
        assert!(attention_panels(&image, &words, &maps[..2], [2, 2], &dir.path().join("b.png")).is_err());
    }
}
