//! Answering one question about one picture with a finished run: the picture scaled to the encoder's side, the
//! question read by the run's tokenizer, the answers ranked by probability, and stacked attention's maps.

use std::path::Path;

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::Device;
use burn::tensor::activation::softmax;
use image::RgbImage;
use image::imageops::FilterType;
use serde::Serialize;

use super::items::{EncodedQuestion, VqaBatcher, VqaItem, encode_question};
use super::questions::AnswerVocabulary;
use super::{Vqa, VqaModel};
use crate::inputs::{load_tokenizer, picture_input};
use crate::runner::{RunError, load_model};

/// What a run answers.
#[derive(Debug, Clone, Serialize)]
pub struct AnswerSheet {
    /// The question as asked.
    pub question: String,
    /// The top answer.
    pub answer: String,
    /// The best answers with their probabilities, most probable first.
    pub ranked: Vec<(String, f64)>,
    /// Stacked attention's map per hop (`grid` places, row-major); empty for the other variants.
    #[serde(skip)]
    pub attention: Vec<Vec<f32>>,
    /// The attention's grid, `[rows, columns]`.
    #[serde(skip)]
    pub grid: [usize; 2],
}

/// Loads the run and answers `question` about `picture` with its `top` best answers; also returns the picture
/// as the encoder saw it.
pub fn answer_question(run: &Path, picture: &RgbImage, question: &str, top: usize, device: &Device) -> Result<(AnswerSheet, VqaModel, RgbImage), RunError> {
    let (config, model) = load_model::<Vqa>(run, device)?;
    let prepared = run.join("prepared");
    let vocabulary = AnswerVocabulary::load(&prepared)?;
    if vocabulary.answers.len() > config.net.answers {
        let path = prepared.join(super::questions::ANSWERS_FILE);
        return Err(RunError::invalid(&path, format!("{} answers listed, more than the {} the network scores", vocabulary.answers.len(), config.net.answers)));
    }
    let tokens = encode_question(&load_tokenizer(&prepared)?, question, config.max_question_len)?;
    let side = config.encoder.side()?;
    let scaled = image::imageops::resize(picture, side as u32, side as u32, FilterType::Triangle);
    let item = VqaItem { picture: picture_input(&scaled), questions: vec![EncodedQuestion { tokens, target: None, credit: Vec::new(), number: 0 }], index: 0 };
    let batch = VqaBatcher { side, classes: config.net.answers }.batch(vec![item], device);
    let output = model.answer(&batch);
    let probabilities: Vec<f32> = softmax(output.logits.clone(), 1).into_data().convert::<f32>().try_into_vec::<f32>()?;
    let mut ranked: Vec<(String, f64)> = vocabulary.answers.iter().zip(&probabilities).map(|(answer, &p)| (answer.clone(), p as f64)).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(top.max(1));
    let attention = super::report::attention_values(&output);
    let sheet = AnswerSheet { question: question.into(), answer: ranked[0].0.clone(), ranked, attention, grid: config.encoder.map_grid()? };
    Ok((sheet, model, scaled))
}
