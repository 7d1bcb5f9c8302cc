//! Pictures from any text with a finished text-to-image run: the sentence embedded by the run's own text
//! encoder, then the generator with seeded noise (`cargo xtask generate`).

use std::path::Path;

use burn::tensor::Device;

use super::report::generate_seeded;
use super::text_embedding::{embed_sentences, load_text_embedding};
use super::{TextToImage, TextToImageConfig};
use crate::runner::{RunError, load_model};

/// `count` pictures `[count, C · side · side]` in [-1, 1] of `text`, from the run `run`, with noise from
/// `seed`; and the run's config (its `image_size` is the side, its source says the channels).
pub fn pictures_of_text(run: &Path, text: &str, count: usize, seed: u64, device: &Device) -> Result<(Vec<f32>, TextToImageConfig), RunError> {
    if text.split_whitespace().next().is_none() {
        return Err(RunError::setting("text", "empty"));
    }
    if !(1..=MAX_PICTURES).contains(&count) {
        return Err(RunError::bad_setting("--count", count, format!("1 to {MAX_PICTURES} pictures at a time")));
    }
    let (config, model) = load_model::<TextToImage>(run, device)?;
    let (encoder_config, encoder, tokenizer) = load_text_embedding(&config.text_encoder, device)?;
    let unknown: Vec<&str> = text.split_whitespace().filter(|w| tokenizer.id(&w.to_lowercase()).is_none()).collect();
    if !unknown.is_empty() {
        eprintln!("warning: the text encoder never saw {unknown:?}; they are read as <unk>");
    }
    let embedding = embed_sentences(&encoder, &tokenizer, &[text], encoder_config.max_len, device)?.remove(0);
    let pictures = generate_seeded(&model.gan.generator, &vec![embedding; count], seed, device);
    Ok((pictures, config))
}

/// The most pictures drawn in a grid (16 × 16); the `.npy` beside it holds every picture.
pub const MAX_GRID_PICTURES: usize = 256;

/// The most pictures one call generates: 100,000 (a 64 × 64 colour picture is 48 KiB as f32).
pub const MAX_PICTURES: usize = 100_000;

/// Writes the first [`MAX_GRID_PICTURES`] of `pictures` (`[N, channels · side · side]` in [-1, 1]) as a square
/// grid to `png`, and beside it, with the extension `.npy`, every picture: `[N, channels, side, side]` float32
/// in [0, 1]. Returns how many the grid shows.
pub fn save_pictures(pictures: &[f32], channels: usize, side: usize, png: &Path) -> Result<usize, RunError> {
    let n = pictures.len() / (channels * side * side);
    let shown = n.min(MAX_GRID_PICTURES);
    let cells: Vec<(image::RgbImage, String)> =
        pictures.chunks(channels * side * side).take(shown).map(|p| (super::report::to_rgb(p, channels, side), String::new())).collect();
    let columns = (shown as f64).sqrt().ceil() as usize;
    mm_vision::picture::captioned_grid(&cells, columns.max(1), 3, png).map_err(|e| RunError::invalid(png, e))?;
    let unit: Vec<f32> = pictures.iter().map(|v| ((v + 1.0) / 2.0).clamp(0.0, 1.0)).collect();
    let array = ndarray::Array4::from_shape_vec((n, channels, side, side), unit).expect("pictures of channels × side × side");
    let npy = png.with_extension("npy");
    mm_audio::write_npy(&npy, array.view()).map_err(|e| RunError::invalid(&npy, e))?;
    Ok(shown)
}
