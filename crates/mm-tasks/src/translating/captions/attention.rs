//! Where Show, Attend and Tell looked: for a picture, one panel per generated word, the picture lit where the
//! word's attention falls ([`attention_overlay`]).

use std::path::Path;

use image::RgbImage;
use mm_vision::picture::{attention_overlay, captioned_grid};

use crate::runner::RunError;

/// Writes the panels of one caption to `path` (PNG): the picture with the whole caption, then one panel per word
/// with its attention. `alphas` holds one `[rows · columns]` map per word of `words` (the end token's last).
pub fn attention_panels(image: &RgbImage, words: &[String], alphas: &[Vec<f32>], grid: [usize; 2], path: &Path) -> Result<(), RunError> {
    let [rows, columns] = grid;
    if alphas.len() != words.len() || alphas.iter().any(|a| a.len() != rows * columns) || rows * columns == 0 {
        return Err(RunError::Contract {
            task: "show-attend-tell",
            problem: format!("attention panels: {} words, {} maps of a {rows}×{columns} grid", words.len(), alphas.len()),
        });
    }
    let mut panels = vec![(image.clone(), words.join(" "))];
    panels.extend(words.iter().zip(alphas).map(|(word, alpha)| (attention_overlay(image, alpha, rows, columns), word.clone())));
    let zoom = (160 / image.width().max(1)).max(1);
    captioned_grid(&panels, 6, zoom, path).map_err(crate::data_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn one_panel_per_word_and_mismatches_refused() {
        let image = RgbImage::from_pixel(16, 16, Rgb([200, 200, 200]));
        let dir = tempfile::tempdir().unwrap();
        let words: Vec<String> = ["a", "red", "circle"].map(String::from).to_vec();
        let maps = vec![vec![0.25; 4]; 3];
        attention_panels(&image, &words, &maps, [2, 2], &dir.path().join("a.png")).unwrap();
        assert!(dir.path().join("a.png").exists());
        assert!(attention_panels(&image, &words, &maps[..2], [2, 2], &dir.path().join("b.png")).is_err());
    }
}
