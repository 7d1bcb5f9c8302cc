//! Pictures made of pictures: grids of images with a caption under each (contact sheets, retrieval results), and
//! pictures lit by an attention map.

use std::path::Path;

use image::RgbImage;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::{Error, Result};

fn ensure_font() {
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    // plotters draws text with ab_glyph from a registered font; DejaVu Sans ships inside the `dejavu` crate.
    REGISTERED.call_once(|| drop(register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())));
}

/// The picture lit by one attention map `[rows · columns]` (row-major over an encoder's places): the map is
/// bilinearly upsampled to the picture, what it weighs most stays bright and is tinted warm, the rest is dimmed.
pub fn attention_overlay(image: &RgbImage, alpha: &[f32], rows: usize, columns: usize) -> RgbImage {
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
        image::Rgb(std::array::from_fn(|c| (p[c] as f32 * light + glow[c]).min(255.0) as u8))
    })
}

/// Draws `items` (image, caption) in a grid of `columns`, each image scaled up by the integer `zoom`, its caption
/// (wrapped, up to eight lines; the rows leave room for the longest) underneath, and saves a PNG through a
/// temporary file.
pub fn captioned_grid(items: &[(RgbImage, String)], columns: usize, zoom: u32, path: &Path) -> Result<()> {
    ensure_font();
    let failure = |message: String| Error::invalid(path, format!("cannot draw the grid: {message}"));
    let (cell_w, cell_h) = items.iter().fold((0, 0), |(w, h), (image, _)| (w.max(image.width()), h.max(image.height())));
    if items.is_empty() || columns == 0 || cell_w == 0 {
        return Err(failure("nothing to draw".into()));
    }
    let tile_w = (cell_w * zoom).max(160) + 16;
    let chars_per_line = (tile_w as usize / 7).max(8);
    let lines = items.iter().map(|(_, caption)| wrap(caption, chars_per_line).len()).max().unwrap_or(1).clamp(4, MAX_LINES);
    let tile_h = cell_h * zoom + 8 + 16 * lines as u32 + 16;
    let rows = items.len().div_ceil(columns) as u32;
    let partial = mm_files::Partial::with_format(path, "png");
    {
        let root = BitMapBackend::new(partial.path(), (tile_w * columns as u32, tile_h * rows)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| failure(e.to_string()))?;
        let font = ("sans-serif", 13).into_font();
        for (i, (image, caption)) in items.iter().enumerate() {
            let (x0, y0) = ((i % columns) as u32 * tile_w + 8, (i / columns) as u32 * tile_h + 8);
            for (x, y, pixel) in image.enumerate_pixels() {
                let colour = RGBColor(pixel[0], pixel[1], pixel[2]);
                let (px, py) = ((x0 + x * zoom) as i32, (y0 + y * zoom) as i32);
                root.draw(&Rectangle::new([(px, py), (px + zoom as i32, py + zoom as i32)], colour.filled())).map_err(|e| failure(e.to_string()))?;
            }
            for (line, text) in wrap(caption, chars_per_line).iter().take(MAX_LINES).enumerate() {
                let y = (y0 + cell_h * zoom + 4 + line as u32 * 16) as i32;
                root.draw_text(text, &font.color(&BLACK), (x0 as i32, y)).map_err(|e| failure(e.to_string()))?;
            }
        }
        root.present().map_err(|e| failure(e.to_string()))?;
    }
    partial.commit().map_err(|e| Error::io(path, e))
}

/// The most caption lines drawn under a picture.
const MAX_LINES: usize = 8;

/// Greedy word wrap to lines of at most `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.len() + 1 + word.len() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attended_place_stays_bright_and_the_rest_dims() {
        let image = RgbImage::from_pixel(16, 16, image::Rgb([200, 200, 200]));
        // A 2×2 grid looking only at the top-left place.
        let panel = attention_overlay(&image, &[1.0, 0.0, 0.0, 0.0], 2, 2);
        assert_eq!(panel.get_pixel(0, 0).0, [255, 255, 200]);
        assert!(panel.get_pixel(15, 15).0[0] <= 40, "{:?}", panel.get_pixel(15, 15));
    }

    #[test]
    fn wraps_words_and_draws_a_grid() {
        assert_eq!(wrap("a large red circle left of a blue square", 16), ["a large red", "circle left of a", "blue square"]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.png");
        let items: Vec<(RgbImage, String)> = (0..5).map(|i| (RgbImage::from_pixel(8, 8, image::Rgb([i * 40, 0, 0])), format!("item {i}"))).collect();
        captioned_grid(&items, 2, 4, &path).unwrap();
        let drawn = image::open(&path).unwrap().to_rgb8();
        assert_eq!(drawn.width(), 2 * (160 + 16));
        assert_eq!(drawn.get_pixel(8 + 5, 8 + 5).0, [0, 0, 0]);
        assert_eq!(drawn.get_pixel(176 + 8 + 5, 8 + 5).0, [40, 0, 0]);
    }
}
