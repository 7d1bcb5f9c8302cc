//! What several systems read their inputs with: a run's tokenizer, and a picture as the shapes encoder reads
//! it. Shared here rather than inside one system's folder, so that no system imports from a sibling.

use std::path::Path;

use mm_text::tokenizer::TextTokenizer;

use crate::data_error;
use crate::runner::RunError;

/// The tokenizer's file in a run's `prepared/`.
pub const TOKENIZER_FILE: &str = "tokenizer.json";

/// The run's tokenizer, from its `prepared/` folder.
pub fn load_tokenizer(prepared: &Path) -> Result<TextTokenizer, RunError> {
    TextTokenizer::load(prepared.join(TOKENIZER_FILE)).map_err(data_error)
}

/// A picture as the shapes encoder reads it: `[3 · height · width]`, channels first, scaled to [-1, 1].
pub fn picture_input(image: &image::RgbImage) -> Vec<f32> {
    let mut input = Vec::with_capacity(3 * (image.width() * image.height()) as usize);
    for channel in 0..3 {
        input.extend(image.pixels().map(|p| p.0[channel] as f32 / 127.5 - 1.0));
    }
    input
}
