//! `show-and-tell`: Show and Tell on captioned pictures (the shapes world's scenes by default, or COCO). The
//! pretrained encoder's map (the shapes network's, or a torchvision network's), averaged and max-pooled to one
//! vector, is fed once before the start token; the LSTM decoder learns by teacher forcing; validation decodes
//! greedily and its BLEU-4 picks the best epoch; the test report decodes greedily and by beam search
//! ([`crate::translating::captions`]).

use std::path::PathBuf;
use std::sync::Arc;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Gradients, Tensor};
use mm_generate::decoding::{BeamSearchConfig, Decoded, beam_search};
use mm_generate::show_and_tell::{ShowAndTell, ShowAndTellConfig};
use mm_text::tokenizer::TextTokenizer;
use mm_vision::encoders::ImageEncoder;
use serde::{Deserialize, Serialize};

use super::captions::{
    CaptionBatch, CaptionBatcher, CaptionItem, CaptionSettings, Captioner, caption_loss, captioner_scores, feature_map, fine_tunes, prepared_encoder,
};
use crate::runner::{Batcher, Context, Dataset, Learner, Loader, RunError, Scores, Selection, Split, StepOutput, Task, TrainConfig};

/// The task.
pub struct ShowAndTellTask;

crate::runner::model_settings!(
    /// The decoder's settings in the task's config; the feature width and the vocabulary come from the data.
    decoder_settings: ShowAndTellConfig = ShowAndTellConfig::new(0, 0), from_data: ["d_image", "vocab_size"]
);

/// Its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ShowAndTellTaskConfig {
    /// Data, tokenizer, encoder and decoding.
    pub captions: CaptionSettings,
    /// The decoder (`d_embed`, `d_hidden`, `dropout`, beside the task's settings in a file): defaults in
    /// [`ShowAndTellConfig`].
    #[serde(flatten, with = "decoder_settings")]
    pub decoder: ShowAndTellConfig,
    /// The runner's settings. Defaults: 12 epochs, batch 64, lr 3e-3, the encoder frozen
    /// (`module_lr.encoder = 0`).
    pub train: TrainConfig,
}

impl Default for ShowAndTellTaskConfig {
    fn default() -> Self {
        let mut train = TrainConfig { epochs: 12, batch_size: 64, lr: 3e-3, ..TrainConfig::default() };
        train.module_lr.insert("encoder".into(), 0.0);
        Self { captions: CaptionSettings::default(), decoder: decoder_settings::defaults(), train }
    }
}

/// The encoder and the Show and Tell decoder.
#[derive(Module, Debug)]
pub struct ShowAndTellCaptioner {
    /// The pretrained image encoder.
    pub encoder: ImageEncoder,
    /// The LSTM decoder.
    pub decoder: ShowAndTell,
    fine_tune: bool,
}

impl ShowAndTellCaptioner {
    /// Pictures `[B, 3, side, side]` → the decoder's input `[B, 2C]`: the map's average and maximum.
    pub fn features(&self, pictures: Tensor<4>) -> Tensor<2> {
        let map = feature_map(&self.encoder, pictures, self.fine_tune);
        let [b, c, _, _] = map.dims();
        Tensor::cat(vec![map.clone().mean_dim(3).mean_dim(2).reshape([b, c]), map.max_dim(3).max_dim(2).reshape([b, c])], 1)
    }
}

impl Learner for ShowAndTellCaptioner {
    type Batch = CaptionBatch;

    /// The mean next-word negative log-likelihood over the real tokens.
    fn objective(&self, batch: &CaptionBatch) -> StepOutput {
        let [n, _] = batch.inputs.dims();
        let logits = self.decoder.forward(self.features(batch.pictures.clone()), batch.inputs.clone());
        StepOutput::loss(caption_loss(logits, batch.targets.clone(), batch.mask.clone()), n)
    }

    fn module_names() -> &'static [&'static str] {
        &["encoder"]
    }

    fn split_gradients(&self, grads: &mut Gradients) -> Vec<(&'static str, GradientsParams)> {
        vec![("encoder", GradientsParams::from_module(grads, &self.encoder))]
    }
}

impl Captioner for ShowAndTellCaptioner {
    fn decode(&self, pictures: Tensor<4>, search: &BeamSearchConfig) -> Vec<Decoded> {
        let [n, _, _, _] = pictures.dims();
        let start = self.decoder.start(self.features(pictures));
        beam_search(&self.decoder, start, n, TextTokenizer::START_ID, TextTokenizer::END_ID, search)
    }
}

impl Task for ShowAndTellTask {
    const NAME: &'static str = "show-and-tell";
    type Config = ShowAndTellTaskConfig;
    type Item = CaptionItem;
    type Model = ShowAndTellCaptioner;

    fn train_config(config: &ShowAndTellTaskConfig) -> &TrainConfig {
        &config.train
    }

    fn train_config_mut(config: &mut ShowAndTellTaskConfig) -> &mut TrainConfig {
        &mut config.train
    }

    /// The shapes world's test scenes drawn from `seed`; COCO's test photographs are fixed.
    fn with_test_seed(config: &ShowAndTellTaskConfig, seed: u64) -> Option<ShowAndTellTaskConfig> {
        let mut config = config.clone();
        config.captions.source.with_test_seed(seed)?;
        Some(config)
    }

    fn pretrained_runs(config: &mut ShowAndTellTaskConfig) -> Vec<&mut PathBuf> {
        config.captions.encoder.runs_mut()
    }

    fn inputs(config: &ShowAndTellTaskConfig) -> Vec<PathBuf> {
        config.captions.inputs()
    }

    /// Trains the tokenizer on the training captions.
    fn prepare(config: &ShowAndTellTaskConfig, context: &Context) -> Result<(), RunError> {
        config.captions.prepare(context)
    }

    fn dataset(config: &ShowAndTellTaskConfig, context: &Context, split: Split) -> Result<Arc<dyn Dataset<CaptionItem>>, RunError> {
        super::captions::dataset(&config.captions, context, split)
    }

    fn batcher(config: &ShowAndTellTaskConfig) -> Arc<dyn Batcher<CaptionItem, CaptionBatch>> {
        Arc::new(CaptionBatcher { side: config.captions.side().unwrap_or(32) })
    }

    fn model(config: &ShowAndTellTaskConfig, device: &Device) -> Result<ShowAndTellCaptioner, RunError> {
        crate::runner::check_dropout("show-and-tell: dropout", config.decoder.dropout)?;
        let (encoder, channels) = config.captions.encoder(device)?;
        let fine_tune = fine_tunes(&config.train.module_lr);
        let decoder = ShowAndTellConfig { d_image: 2 * channels, vocab_size: config.captions.vocab_size, ..config.decoder.clone() }.init(device);
        Ok(ShowAndTellCaptioner { encoder: prepared_encoder(encoder, fine_tune), decoder, fine_tune })
    }

    /// The loss, and greedy decoding's BLEU-4, CIDEr-D and truthfulness.
    fn validate(
        config: &ShowAndTellTaskConfig,
        context: &Context,
        model: &ShowAndTellCaptioner,
        loader: &Loader<CaptionItem, CaptionBatch>,
        device: &Device,
    ) -> Result<Scores, RunError> {
        Ok(captioner_scores(&config.captions, context, model, loader, Split::Valid, device)?.scores)
    }

    /// Greedy, beam and the baseline on the test scenes; the whole report goes to `captions.json`.
    fn evaluate(
        config: &ShowAndTellTaskConfig,
        context: &Context,
        model: &ShowAndTellCaptioner,
        loader: &Loader<CaptionItem, CaptionBatch>,
        device: &Device,
    ) -> Result<Scores, RunError> {
        Ok(captioner_scores(&config.captions, context, model, loader, Split::Test, device)?.scores)
    }

    fn selection(_config: &ShowAndTellTaskConfig) -> Selection {
        Selection::highest("bleu4")
    }
}

impl super::captions::CaptionTask for ShowAndTellTask {
    fn settings(config: &ShowAndTellTaskConfig) -> &CaptionSettings {
        &config.captions
    }
}

/// After training: the test report (captions.json); `eval`: the scores of a split, and on the test split the
/// report rewritten.
impl crate::systems::System for ShowAndTellTask {
    fn after_training(run: &std::path::Path, _: &crate::runner::TrainRequest) -> Result<Option<Box<dyn crate::systems::Report>>, RunError> {
        Ok(Some(Box::new(crate::translating::captions::saved_captions(run)?)))
    }

    fn eval(request: &crate::runner::EvalRequest) -> Result<Box<dyn crate::systems::Report>, RunError> {
        crate::translating::captions::eval_captioner::<Self>(request)
    }
}
