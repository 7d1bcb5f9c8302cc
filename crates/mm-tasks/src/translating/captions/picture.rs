//! Captioning one picture with a finished run: the picture is scaled to the encoder's side, decoded with the
//! run's tokenizer, greedily or by beam search.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use image::RgbImage;
use image::imageops::FilterType;
use mm_generate::decoding::BeamSearchConfig;

use super::{CaptionItem, CaptionSettings, Captioner};
use crate::inputs::{load_tokenizer, picture_input};
use crate::runner::{RunError, Task, load_model};

/// A captioning task: its config holds [`CaptionSettings`].
pub trait CaptionTask: Task<Item = CaptionItem> {
    /// The captioning part of the config.
    fn settings(config: &Self::Config) -> &CaptionSettings;
}

/// A picture's caption.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PictureCaption {
    /// The words.
    pub caption: String,
    /// Its tokens (no start or end).
    pub tokens: Vec<u32>,
    /// Each token as the tokenizer writes it.
    pub words: Vec<String>,
    /// The caption's log-probability.
    pub log_prob: f64,
}

/// `picture` scaled to `side` × `side` and laid out as the encoder reads it, `[1, 3, side, side]`.
pub fn picture_tensor(picture: &RgbImage, side: usize, device: &Device) -> (RgbImage, Tensor<4>) {
    let scaled = image::imageops::resize(picture, side as u32, side as u32, FilterType::Triangle);
    let tensor = Tensor::from_data(TensorData::new(picture_input(&scaled), [1, 3, side, side]), device);
    (scaled, tensor)
}

/// Loads the run's model and captions `picture` with `search` (the width, length and normalisation given).
pub fn caption_picture<T: CaptionTask>(
    run: &Path,
    picture: &RgbImage,
    search: &BeamSearchConfig,
    device: &Device,
) -> Result<(PictureCaption, T::Model, RgbImage), RunError>
where
    T::Model: Captioner,
{
    let (config, model) = load_model::<T>(run, device)?;
    let settings = T::settings(&config);
    let tokenizer = load_tokenizer(&run.join("prepared"))?;
    let (scaled, tensor) = picture_tensor(picture, settings.side()?, device);
    let decoded = model.decode(tensor, search).remove(0);
    let words: Vec<String> = decoded.tokens.iter().map(|&t| tokenizer.token(t).unwrap_or_else(|| "<unk>".into())).collect();
    let caption = tokenizer.decode(&decoded.tokens).map_err(crate::data_error)?;
    Ok((PictureCaption { caption, tokens: decoded.tokens, words, log_prob: decoded.log_prob }, model, scaled))
}
