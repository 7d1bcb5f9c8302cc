//! `vqa`: visual question answering. A question about a picture, one answer among the K most frequent training
//! answers. The lecture's model is Antol et al.'s "deeper LSTM Q + norm I"; beside it the field's baselines
//! (the most frequent answer per question type, question only, image only, bag-of-words question times image)
//! and stacked attention over the encoder's map (Yang et al. 2016), all scored with the official VQA accuracy
//! ([`accuracy`]) overall and per type ([`report`]). Questions come from the shapes world (train, validation and
//! test from different seeds; optionally a compositional test with colour-shape combinations no training scene
//! holds) or from VQA v2's files over COCO pictures ([`vqa_v2`]).

pub mod accuracy;
mod answer;
mod items;
mod model;
pub mod questions;
mod records;
pub mod report;
pub mod vqa_v2;

pub use answer::{AnswerSheet, answer_question};
pub use items::{EncodedQuestion, VqaBatch, VqaBatcher, VqaItem, VqaItems, encode_question};
pub use model::{AttentionHop, AttentionHopConfig, VqaNet, VqaNetConfig, VqaOutput, VqaVariant};
pub use questions::{AnswerVocabulary, Combination, QuestionSet, QuestionSplit, ShapesQuestions, VqaSource};

use std::path::PathBuf;
use std::sync::Arc;

use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Gradients, Tensor, TensorData};
use mm_text::tokenizer::{TextTokenizer, TokenizerConfig};
use mm_text::vectors::WordVectors;
use mm_vision::encoders::ImageEncoder;
use serde::{Deserialize, Serialize};

use crate::data::shapes::SceneSplits;
use crate::data_error;
use crate::encoders::pretrained_image::{PretrainedImageEncoder, feature_map, fine_tunes, prepared_encoder};
use crate::inputs::{TOKENIZER_FILE, load_tokenizer};
use crate::runner::{Batcher, Context, Dataset, Learner, Loader, RunError, Scores, Selection, Split, StepOutput, Task, TrainConfig};

/// The task.
pub struct Vqa;

crate::runner::model_settings!(
    /// The network's settings in the task's config; the encoder map's channels and places come from the encoder.
    net_settings: VqaNetConfig = VqaNetConfig::new(64, 32, 0, [0, 0]), from_data: ["image_channels", "map_size"]
);

/// Its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct VqaTaskConfig {
    /// The questions. Default: the shapes world, 10,000 training scenes (seed 40), 500 validation (42), 1,000
    /// test (41).
    pub source: VqaSource,
    /// The pretrained image encoder. Default: the finished shapes run `runs/shapes/latest`.
    pub encoder: PretrainedImageEncoder,
    /// The question tokenizer, trained on the training questions. Default word-level, lower-case.
    pub tokenizer: TokenizerConfig,
    /// Longest question in words; longer ones are cut. Default 26 (the reference's).
    pub max_question_len: usize,
    /// Word vectors to start the embedding from (mm's word2vec output: `vectors.safetensors`, text or binary);
    /// their width must be `d_embed`; words they lack keep their random start. Default none.
    pub word_vectors: Option<PathBuf>,
    /// The network, beside the task's settings in a file: `variant` (default deeper LSTM Q + norm I),
    /// `image_feature` (what the pooled-image variants read of the encoder's map, a [`Readout`](crate::encoders::Readout):
    /// `flatten`, the whole map, as the reference's fc7 is computed from VGG's last map by fully connected layers,
    /// which the shapes encoder lacks, or `average`, its global average), `vocab_size` (rows of the word embedding: at least the trained
    /// tokenizer's size, checked; default 64, the shapes questions use 33 tokens with the special ones),
    /// `answers` (K, the most frequent training answers; questions with another answer are left out of training,
    /// as in the reference; default 32, the shapes world has 21 answers, VQA's reference uses 1,000), `d_embed`,
    /// `d_hidden`, `d_common`, `d_attention`, `dropout`, `place_coordinates`: defaults in [`VqaNetConfig`].
    #[serde(flatten, with = "net_settings")]
    pub net: VqaNetConfig,
    /// The runner's settings. Defaults: 8 epochs, 8 pictures (all their questions, about 60) a batch, lr 2e-3,
    /// the encoder frozen.
    pub train: TrainConfig,
}

impl Default for VqaTaskConfig {
    fn default() -> Self {
        let mut train = TrainConfig { epochs: 8, batch_size: 8, lr: 2e-3, ..TrainConfig::default() };
        train.module_lr.insert("encoder".into(), 0.0);
        Self {
            source: VqaSource::default(),
            encoder: PretrainedImageEncoder::default(),
            tokenizer: TokenizerConfig { vocab_size: 64, ..TokenizerConfig::default() },
            max_question_len: 26,
            word_vectors: None,
            net: net_settings::defaults(),
            train,
        }
    }
}

impl VqaTaskConfig {
    /// The network's config, for an encoder map of `image_channels` × `places`.
    pub fn net(&self, image_channels: usize, map_size: [usize; 2]) -> VqaNetConfig {
        VqaNetConfig { image_channels, map_size, ..self.net.clone() }
    }

    /// The questions of `split` and their pictures' side.
    pub fn question_set(&self, split: QuestionSplit) -> Result<QuestionSet, RunError> {
        QuestionSet::open(&self.source, split, self.encoder.side()? as u32)
    }

    /// The items of `split` with the run's tokenizer and answers.
    pub fn items(&self, context: &Context, split: QuestionSplit) -> Result<VqaItems, RunError> {
        let prepared = context.prepared();
        let vocabulary = AnswerVocabulary::load(&prepared)?;
        let training = split == QuestionSplit::Runner(Split::Train);
        Ok(VqaItems::new(self.question_set(split)?, &vocabulary, load_tokenizer(&prepared)?, self.encoder.side()? as u32, self.max_question_len, training))
    }

    /// Whether the test report adds the compositional test.
    pub fn compositional(&self) -> bool {
        matches!(&self.source, VqaSource::Shapes(s) if !s.held_out.is_empty())
    }
}

/// The encoder and the answering network.
#[derive(Module, Debug)]
pub struct VqaModel {
    /// The pretrained image encoder.
    pub encoder: ImageEncoder,
    /// The question-answering network.
    pub net: VqaNet,
    fine_tune: bool,
}

impl VqaModel {
    /// The network's answer logits `[Q, K]` (and stacked attention's maps) for a batch.
    pub fn answer(&self, batch: &VqaBatch) -> VqaOutput {
        let map = if self.net.variant() == VqaVariant::QuestionOnly {
            // The picture is never read: a stand-in map spares the encoder's work.
            let [p, _, _, _] = batch.pictures.dims();
            Tensor::zeros([p, self.net.image_channels(), 1, 1], &batch.pictures.device())
        } else {
            feature_map(&self.encoder, batch.pictures.clone(), self.fine_tune)
        };
        self.net.forward(map, batch.tokens.clone(), batch.mask.clone(), batch.owner.clone())
    }
}

impl Learner for VqaModel {
    type Batch = VqaBatch;

    /// Softmax cross-entropy against the multiple-choice answer (over the questions that have one among the
    /// classes); `accuracy` sums the official VQA accuracy of the top answer.
    fn objective(&self, batch: &VqaBatch) -> StepOutput {
        let [q, _] = batch.tokens.dims();
        let logits = self.answer(batch).logits;
        let log_p = log_softmax(logits.clone(), 1).gather(1, batch.targets.clone().reshape([q, 1])).reshape([q]);
        let loss = (log_p * batch.has_target.clone()).sum().neg() / batch.has_target.clone().sum().clamp_min(1.0);
        let top = logits.argmax(1);
        let accuracy = batch.credit.clone().gather(1, top).sum();
        StepOutput::loss(loss, q).with_metric("accuracy", accuracy)
    }

    fn module_names() -> &'static [&'static str] {
        &["encoder"]
    }

    fn split_gradients(&self, grads: &mut Gradients) -> Vec<(&'static str, GradientsParams)> {
        vec![("encoder", GradientsParams::from_module(grads, &self.encoder))]
    }
}

/// The embedding's rows for the tokenizer's ids: a word's vector where `vectors` has it, `rows` unchanged
/// elsewhere. Returns how many words were found.
fn place_vectors(rows: &mut [f32], width: usize, tokenizer: &TextTokenizer, vectors: &WordVectors) -> usize {
    let mut found = 0;
    for (id, row) in rows.chunks_mut(width).enumerate() {
        if let Some(vector) = tokenizer.token(id as u32).and_then(|word| vectors.get(&word)) {
            row.copy_from_slice(vector);
            found += 1;
        }
    }
    found
}

impl Task for Vqa {
    const NAME: &'static str = "vqa";
    type Config = VqaTaskConfig;
    type Item = VqaItem;
    type Model = VqaModel;

    fn train_config(config: &VqaTaskConfig) -> &TrainConfig {
        &config.train
    }

    fn train_config_mut(config: &mut VqaTaskConfig) -> &mut TrainConfig {
        &mut config.train
    }

    /// The shapes world's test scenes (and their compositional test) drawn from `seed`; VQA v2's test files are
    /// fixed.
    fn with_test_seed(config: &VqaTaskConfig, seed: u64) -> Option<VqaTaskConfig> {
        let VqaSource::Shapes(shapes) = &config.source else { return None };
        let scenes = SceneSplits { test_seed: seed, ..shapes.scenes };
        Some(VqaTaskConfig { source: VqaSource::Shapes(ShapesQuestions { scenes, ..shapes.clone() }), ..config.clone() })
    }

    fn pretrained_runs(config: &mut VqaTaskConfig) -> Vec<&mut PathBuf> {
        config.encoder.runs_mut()
    }

    fn inputs(config: &VqaTaskConfig) -> Vec<PathBuf> {
        let mut inputs = config.encoder.inputs();
        inputs.extend(config.word_vectors.clone());
        inputs
    }

    /// Trains the tokenizer on the training questions and counts the answer vocabulary and the priors.
    fn prepare(config: &VqaTaskConfig, context: &Context) -> Result<(), RunError> {
        let training = config.question_set(QuestionSplit::Runner(Split::Train))?;
        let tokenizer = TextTokenizer::train(&config.tokenizer, training.questions().map(|(_, q)| q.text.as_str())).map_err(data_error)?;
        if tokenizer.vocab_size() > config.net.vocab_size {
            return Err(RunError::bad_setting(
                "vocab_size",
                config.net.vocab_size,
                format!("the tokenizer has {} tokens, more than that", tokenizer.vocab_size()),
            ));
        }
        tokenizer.save(context.prepared().join(TOKENIZER_FILE)).map_err(data_error)?;
        AnswerVocabulary::count(&training, config.net.answers).save(&context.prepared())
    }

    fn dataset(config: &VqaTaskConfig, context: &Context, split: Split) -> Result<Arc<dyn Dataset<VqaItem>>, RunError> {
        Ok(Arc::new(config.items(context, QuestionSplit::Runner(split))?))
    }

    fn batcher(config: &VqaTaskConfig) -> Arc<dyn Batcher<VqaItem, VqaBatch>> {
        Arc::new(VqaBatcher { side: config.encoder.side().unwrap_or(32), classes: config.net.answers })
    }

    fn model(config: &VqaTaskConfig, device: &Device) -> Result<VqaModel, RunError> {
        crate::runner::check_dropout("vqa: dropout", config.net.dropout)?;
        let (encoder, channels) = config.encoder.load(device)?;
        let net = config.net(channels, config.encoder.map_grid()?).init(device)?;
        let fine_tune = fine_tunes(&config.train.module_lr);
        Ok(VqaModel { encoder: prepared_encoder(encoder, fine_tune), net, fine_tune })
    }

    /// Starts the word embedding from `word_vectors`, by the run's tokenizer.
    fn initialise(config: &VqaTaskConfig, context: &Context, mut model: VqaModel) -> Result<VqaModel, RunError> {
        let Some(path) = &config.word_vectors else { return Ok(model) };
        let vectors = WordVectors::load(path).map_err(|e| RunError::invalid(path, e))?;
        if vectors.dim() != config.net.d_embed {
            return Err(RunError::invalid(path, format!("vectors of width {}, the embedding is d_embed = {} wide", vectors.dim(), config.net.d_embed)));
        }
        let tokenizer = load_tokenizer(&context.prepared())?;
        let Some(embedding) = model.net.embedding_mut() else { return Ok(model) };
        let weight = embedding.weight.val();
        let device = weight.device();
        let mut rows = weight.into_data().convert::<f32>().try_into_vec::<f32>()?;
        let found = place_vectors(&mut rows, config.net.d_embed, &tokenizer, &vectors);
        eprintln!("vqa: {found} of {} question words start from {}", tokenizer.vocab_size(), path.display());
        embedding.weight = Param::from_tensor(Tensor::from_data(TensorData::new(rows, [config.net.vocab_size, config.net.d_embed]), &device));
        Ok(model)
    }

    fn selection(_config: &VqaTaskConfig) -> Selection {
        Selection::highest("accuracy")
    }

    /// The per-type table beside the prior baseline (`vqa.json`), on the test split and, with held-out
    /// combinations, the compositional test; stacked attention's maps of the first test questions (`attention/`).
    fn evaluate(config: &VqaTaskConfig, context: &Context, model: &VqaModel, loader: &Loader<VqaItem, VqaBatch>, device: &Device) -> Result<Scores, RunError> {
        report::evaluate(config, context, model, loader, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_vectors_fill_the_rows_of_the_words_they_have() {
        let tokenizer = TextTokenizer::train(&TokenizerConfig::default(), ["what colour is the circle ?"].into_iter()).unwrap();
        let vectors = WordVectors::new(vec!["circle".into(), "colour".into(), "zebra".into()], 2, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let mut rows = vec![0.0; tokenizer.vocab_size() * 2];
        assert_eq!(place_vectors(&mut rows, 2, &tokenizer, &vectors), 2);
        let row = |word: &str| {
            let id = tokenizer.id(word).unwrap() as usize;
            rows[2 * id..2 * id + 2].to_vec()
        };
        assert_eq!((row("circle"), row("colour"), row("what")), (vec![1.0, 2.0], vec![3.0, 4.0], vec![0.0, 0.0]));
    }
}
