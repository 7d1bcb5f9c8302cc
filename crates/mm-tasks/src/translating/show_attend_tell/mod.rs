//! `show-attend-tell`: Show, Attend and Tell (soft attention) on captioned pictures (the shapes world's scenes
//! by default, or COCO). The pretrained encoder's map is the annotation vectors, one per place (the shapes
//! network's 8 × 8, ResNet's 7 × 7, VGG's 14 × 14), optionally with each place's coordinates; the decoder
//! attends over them at every word and is trained with the doubly stochastic regulariser. Besides the
//! captioners' report, its test report measures where it looks ([`grounding`]) and draws the attention of a few
//! test scenes (`attention/`).

mod grounding;

pub use grounding::{Grounding, attention_maps, grounding};

use std::path::PathBuf;
use std::sync::Arc;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Gradients, Tensor, TensorData};
use mm_generate::decoding::{BeamSearchConfig, Decoded, beam_search};
use mm_generate::show_attend_tell::{ShowAttendTell, ShowAttendTellConfig};
use mm_text::tokenizer::TextTokenizer;
use mm_vision::encoders::ImageEncoder;
use serde::{Deserialize, Serialize};

use super::captions::{
    CaptionBatch, CaptionBatcher, CaptionItem, CaptionSettings, Captioner, caption_loss, captioner_scores, feature_map, fine_tunes, prepared_encoder,
};
use crate::runner::{Batcher, Context, Dataset, Learner, Loader, RunError, Scores, Selection, Split, StepOutput, Task, TrainConfig};

/// The task.
pub struct ShowAttendTellTask;

crate::runner::model_settings!(
    /// The decoder's settings in the task's config; the annotation width and the vocabulary come from the data.
    decoder_settings: ShowAttendTellConfig = ShowAttendTellConfig::new(0, 0), from_data: ["d_annotation", "vocab_size"]
);

/// Its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ShowAttendTellTaskConfig {
    /// Data, tokenizer, encoder and decoding.
    pub captions: CaptionSettings,
    /// The decoder (`d_embed`, `d_hidden`, `d_attention`, `dropout`, beside the task's settings in a file):
    /// defaults in [`ShowAttendTellConfig`].
    #[serde(flatten, with = "decoder_settings")]
    pub decoder: ShowAttendTellConfig,
    /// λ of the doubly stochastic regulariser. Default 1 (the paper's).
    pub doubly_stochastic: f64,
    /// Append each place's coordinates (its centre's x and y, from −1 to 1) to its annotation vector, so that
    /// where a place is can weigh in the attention and reach the context. Not in the paper (its annotations
    /// are the CNN's features alone, which carry position only as far as the network's padding lets them);
    /// default false.
    pub place_coordinates: bool,
    /// The runner's settings. Defaults: 12 epochs, batch 64, lr 3e-3, the encoder frozen.
    pub train: TrainConfig,
}

impl Default for ShowAttendTellTaskConfig {
    fn default() -> Self {
        let mut train = TrainConfig { epochs: 12, batch_size: 64, lr: 3e-3, ..TrainConfig::default() };
        train.module_lr.insert("encoder".into(), 0.0);
        Self { captions: CaptionSettings::default(), decoder: decoder_settings::defaults(), doubly_stochastic: 1.0, place_coordinates: false, train }
    }
}

/// The encoder and the attending decoder.
#[derive(Module, Debug)]
pub struct ShowAttendTellCaptioner {
    /// The pretrained image encoder.
    pub encoder: ImageEncoder,
    /// The attending LSTM decoder.
    pub decoder: ShowAttendTell,
    fine_tune: bool,
    doubly_stochastic: f64,
    place_coordinates: bool,
}

impl ShowAttendTellCaptioner {
    /// Pictures `[B, 3, side, side]` → annotations `[B, H·W, C]` (places row-major; `C + 2` wide with the
    /// places' coordinates) and the grid `[H, W]`.
    pub fn annotations(&self, pictures: Tensor<4>) -> (Tensor<3>, [usize; 2]) {
        let map = feature_map(&self.encoder, pictures, self.fine_tune);
        let [b, c, h, w] = map.dims();
        let features = map.reshape([b, c, h * w]).swap_dims(1, 2);
        if !self.place_coordinates {
            return (features, [h, w]);
        }
        let centre = |i: usize, n: usize| (2 * i + 1) as f32 / n as f32 - 1.0;
        let coordinates: Vec<f32> = (0..h * w).flat_map(|p| [centre(p % w, w), centre(p / w, h)]).collect();
        let coordinates = Tensor::<2>::from_data(TensorData::new(coordinates, [h * w, 2]), &features.device());
        (Tensor::cat(vec![features, coordinates.unsqueeze::<3>().expand([b, h * w, 2])], 2), [h, w])
    }
}

impl Learner for ShowAttendTellCaptioner {
    type Batch = CaptionBatch;

    /// The mean next-word negative log-likelihood plus λ · the doubly stochastic regulariser averaged over the
    /// places, as the widely used PyTorch reproduction weighs it (Xu et al. sum both terms per caption; with fewer
    /// words than places, that sum's pull toward spreading the attention evenly swamps the words' own pull and
    /// the attention stays uniform). `attention_spread` reports the regulariser itself, Σ_i (1 − Σ_t α_ti)².
    fn objective(&self, batch: &CaptionBatch) -> StepOutput {
        let [n, _] = batch.inputs.dims();
        let (annotations, _) = self.annotations(batch.pictures.clone());
        let (logits, alphas) = self.decoder.forward(annotations, batch.inputs.clone());
        let places = alphas.dims()[2];
        let nll = caption_loss(logits, batch.targets.clone(), batch.mask.clone());
        let spread = ShowAttendTell::doubly_stochastic(alphas, batch.mask.clone());
        let loss = nll + spread.clone() * (self.doubly_stochastic / places as f64);
        StepOutput::loss(loss, n).with_metric("attention_spread", spread.detach() * n as f64)
    }

    fn module_names() -> &'static [&'static str] {
        &["encoder"]
    }

    fn split_gradients(&self, grads: &mut Gradients) -> Vec<(&'static str, GradientsParams)> {
        vec![("encoder", GradientsParams::from_module(grads, &self.encoder))]
    }
}

impl Captioner for ShowAttendTellCaptioner {
    fn decode(&self, pictures: Tensor<4>, search: &BeamSearchConfig) -> Vec<Decoded> {
        let [n, _, _, _] = pictures.dims();
        let (annotations, _) = self.annotations(pictures);
        beam_search(&self.decoder, self.decoder.start(annotations), n, TextTokenizer::START_ID, TextTokenizer::END_ID, search)
    }
}

impl Task for ShowAttendTellTask {
    const NAME: &'static str = "show-attend-tell";
    type Config = ShowAttendTellTaskConfig;
    type Item = CaptionItem;
    type Model = ShowAttendTellCaptioner;

    fn train_config(config: &ShowAttendTellTaskConfig) -> &TrainConfig {
        &config.train
    }

    fn train_config_mut(config: &mut ShowAttendTellTaskConfig) -> &mut TrainConfig {
        &mut config.train
    }

    /// The shapes world's test scenes drawn from `seed`; COCO's test photographs are fixed.
    fn with_test_seed(config: &ShowAttendTellTaskConfig, seed: u64) -> Option<ShowAttendTellTaskConfig> {
        let mut config = config.clone();
        config.captions.source.with_test_seed(seed)?;
        Some(config)
    }

    fn pretrained_runs(config: &mut ShowAttendTellTaskConfig) -> Vec<&mut PathBuf> {
        config.captions.encoder.runs_mut()
    }

    fn inputs(config: &ShowAttendTellTaskConfig) -> Vec<PathBuf> {
        config.captions.inputs()
    }

    /// Trains the tokenizer on the training captions.
    fn prepare(config: &ShowAttendTellTaskConfig, context: &Context) -> Result<(), RunError> {
        config.captions.prepare(context)
    }

    fn dataset(config: &ShowAttendTellTaskConfig, context: &Context, split: Split) -> Result<Arc<dyn Dataset<CaptionItem>>, RunError> {
        super::captions::dataset(&config.captions, context, split)
    }

    fn batcher(config: &ShowAttendTellTaskConfig) -> Arc<dyn Batcher<CaptionItem, CaptionBatch>> {
        Arc::new(CaptionBatcher { side: config.captions.side().unwrap_or(32) })
    }

    fn model(config: &ShowAttendTellTaskConfig, device: &Device) -> Result<ShowAttendTellCaptioner, RunError> {
        crate::runner::check_dropout("show-attend-tell: dropout", config.decoder.dropout)?;
        if !(config.doubly_stochastic >= 0.0 && config.doubly_stochastic.is_finite()) {
            return Err(RunError::bad_setting("doubly_stochastic", config.doubly_stochastic, "must be 0 or more"));
        }
        let (encoder, channels) = config.captions.encoder(device)?;
        let fine_tune = fine_tunes(&config.train.module_lr);
        let d_annotation = channels + if config.place_coordinates { 2 } else { 0 };
        let decoder = ShowAttendTellConfig { d_annotation, vocab_size: config.captions.vocab_size, ..config.decoder.clone() }.init(device);
        Ok(ShowAttendTellCaptioner {
            encoder: prepared_encoder(encoder, fine_tune),
            decoder,
            fine_tune,
            doubly_stochastic: config.doubly_stochastic,
            place_coordinates: config.place_coordinates,
        })
    }

    /// The loss, and greedy decoding's BLEU-4, CIDEr-D and truthfulness.
    fn validate(
        config: &ShowAttendTellTaskConfig,
        context: &Context,
        model: &ShowAttendTellCaptioner,
        loader: &Loader<CaptionItem, CaptionBatch>,
        device: &Device,
    ) -> Result<Scores, RunError> {
        Ok(captioner_scores(&config.captions, context, model, loader, Split::Valid, device)?.scores)
    }

    /// Greedy, beam and the baseline on the test scenes (`captions.json`), where the attention falls
    /// (`grounding.json`) and the attention of the first test scenes (`attention/scene-N.png`).
    fn evaluate(
        config: &ShowAttendTellTaskConfig,
        context: &Context,
        model: &ShowAttendTellCaptioner,
        loader: &Loader<CaptionItem, CaptionBatch>,
        device: &Device,
    ) -> Result<Scores, RunError> {
        let mut measured = captioner_scores(&config.captions, context, model, loader, Split::Test, device)?;
        let grounded = grounding(config, context, model, &measured.beam, device)?.grounded;
        measured.scores.insert("grounded".into(), grounded);
        Ok(measured.scores)
    }

    fn selection(_config: &ShowAttendTellTaskConfig) -> Selection {
        Selection::highest("bleu4")
    }
}

impl super::captions::CaptionTask for ShowAttendTellTask {
    fn settings(config: &ShowAttendTellTaskConfig) -> &CaptionSettings {
        &config.captions
    }
}

/// After training: the test report (captions.json); `eval`: the scores of a split, and on the test split the
/// report rewritten.
impl crate::systems::System for ShowAttendTellTask {
    fn after_training(run: &std::path::Path, _: &crate::runner::TrainRequest) -> Result<Option<Box<dyn crate::systems::Report>>, RunError> {
        Ok(Some(Box::new(crate::translating::captions::saved_captions(run)?)))
    }

    fn eval(request: &crate::runner::EvalRequest) -> Result<Box<dyn crate::systems::Report>, RunError> {
        crate::translating::captions::eval_captioner::<Self>(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mm_vision::encoders::ImageEncoderConfig;

    #[test]
    fn place_coordinates_follow_the_features_row_major() {
        let device = Device::flex();
        let encoder = ImageEncoderConfig::new().with_channels_in(3).with_stages(vec![4, 8]).init(&device);
        let captioner = |place_coordinates| ShowAttendTellCaptioner {
            encoder: encoder.clone(),
            decoder: ShowAttendTellConfig::new(8 + if place_coordinates { 2 } else { 0 }, 12).init(&device),
            fine_tune: false,
            doubly_stochastic: 0.0,
            place_coordinates,
        };
        let pictures = Tensor::<4>::ones([2, 3, 12, 8], &device);
        let (plain, grid) = captioner(false).annotations(pictures.clone());
        let (placed, _) = captioner(true).annotations(pictures);
        assert_eq!((grid, plain.dims(), placed.dims()), ([3, 2], [2, 6, 8], [2, 6, 10]));
        let gap: f32 = (placed.clone().slice([0..2, 0..6, 0..8]) - plain).abs().max().into_scalar();
        assert_eq!(gap, 0.0, "the features are unchanged");
        // Place 3 of a 3 × 2 grid is row 1, column 1: centre x = 1/2, y = 0.
        let xy = placed.slice([1..2, 3..4, 8..10]).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(xy, [0.5, 0.0]);
    }
}
