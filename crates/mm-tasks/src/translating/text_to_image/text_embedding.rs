//! `text-embedding`: the caption encoder of the text-to-image GAN, trained beforehand by matching, as Reed et al.
//! train theirs. An LSTM over a caption's words and a linear head on a frozen image encoder's pooled feature
//! (the mnist run's, or the shapes run's for shapes-world scenes) meet in one space; the loss is InfoNCE where
//! every caption of the picture's group counts as its partner (a digit's sentences are interchangeable, as are
//! copies of one shapes caption; see [`grouped_info_nce`]). On MNIST the pairs are a picture and a sentence
//! about its digit: "MNIST with text" is made from the labels, and the grouping reads them too. In the shapes
//! world a scene and its caption are made together.
//!
//! Validation: the share of pictures whose nearest caption in the batch is of their group, each validation
//! picture with a validation text (MNIST: a sentence of the validation templates, which training never reads;
//! shapes: its scene's caption). Test (`text_embedding.json`): each test picture against the test texts (MNIST:
//! the test templates' sentences; the test scenes' captions), and each test text against the test pictures, R@1
//! both ways beside chance.

use std::path::PathBuf;
use std::sync::Arc;

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use mm_joint::losses::{grouped_info_nce, l2_normalize};
use mm_text::text_encoder::{TextEncoder, TextEncoderConfig};
use mm_text::tokenizer::{TextTokenizer, TokenizerConfig};
use mm_vision::encoders::ImageEncoder;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::sources::{CaptionSource, TextRole, scene_picture, text_group};
use crate::data::shapes::{ShapesWorld, caption};
use crate::data_error;
use crate::encoders::mnist::{Mnist, MnistItems, mnist_split};
use crate::encoders::shapes::Shapes;
use crate::inputs::{TOKENIZER_FILE, load_tokenizer};
use crate::runner::{
    Batcher, CONFIG_FILE, Context, Dataset, DatasetError, Learner, Loader, MODEL_FILE, RunError, Scores, Selection, Split, StepOutput, Task, TrainConfig,
    load_pretrained, load_run_config, write_atomically,
};

/// The test report's file in the run folder.
pub const REPORT_FILE: &str = "text_embedding.json";

/// The task.
pub struct TextEmbedding;

crate::runner::model_settings!(
    /// The caption encoder's settings in the task's config: all of them are settings (the vocabulary is the
    /// embedding's rows, checked against the tokenizer's size).
    text_settings: TextEncoderConfig = TextEncoderConfig::new(64), from_data: []
);

/// Its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TextEmbeddingConfig {
    /// The captioned pictures. Default MNIST with text.
    pub source: CaptionSource,
    /// The finished run whose encoder gives the pictures' features (frozen): an mnist run for MNIST, a shapes
    /// run for the shapes world. Default `runs/mnist/latest`.
    pub image_encoder: PathBuf,
    /// The caption tokenizer, trained on the training captions. Default word-level.
    pub tokenizer: TokenizerConfig,
    /// Longest caption in tokens (start and end included). Default 16.
    pub max_len: usize,
    /// The caption encoder (`vocab_size`, the word embedding's rows, at least the tokenizer's size, checked;
    /// `d_embed`, `d_hidden`, `d_text`, the joint space's width and the embedding the GAN reads; beside the
    /// task's settings in a file): defaults in [`TextEncoderConfig`], its vocabulary 64.
    #[serde(flatten, with = "text_settings")]
    pub text: TextEncoderConfig,
    /// InfoNCE's temperature. Default 0.1.
    pub temperature: f32,
    /// MNIST: training pictures held out for validation (the mnist task's draw). Default 5,000.
    pub validation: usize,
    /// The runner's settings. Defaults: 4 epochs, batch 64, lr 2e-3.
    pub train: TrainConfig,
}

impl Default for TextEmbeddingConfig {
    fn default() -> Self {
        Self {
            source: CaptionSource::Mnist,
            image_encoder: PathBuf::from("runs/mnist/latest"),
            tokenizer: TokenizerConfig { vocab_size: 64, ..TokenizerConfig::default() },
            max_len: 16,
            text: text_settings::defaults(),
            temperature: 0.1,
            validation: 5000,
            train: TrainConfig { epochs: 4, batch_size: 64, lr: 2e-3, ..TrainConfig::default() },
        }
    }
}

impl TextEmbeddingConfig {
    /// The pictures' shape `[channels, height, width]` as the image encoder reads them.
    pub fn picture_shape(&self) -> Result<[usize; 3], RunError> {
        match self.source {
            CaptionSource::Mnist => Ok([1, 28, 28]),
            CaptionSource::Shapes(_) => {
                let side = load_run_config::<Shapes>(&self.image_encoder)?.image_size as usize;
                Ok([3, side, side])
            }
        }
    }
}

/// Captions encoded for the text encoder: padded token ids and their masks.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedCaption {
    /// `[max_len]` ids, padded with 0.
    pub tokens: Vec<u32>,
    /// Tokens before the padding.
    pub len: usize,
}

/// Encodes `text` to at most `max_len` tokens.
pub fn encode_caption(tokenizer: &TextTokenizer, text: &str, max_len: usize) -> Result<EncodedCaption, RunError> {
    let (tokens, len) = tokenizer.encode_padded(text, max_len).map_err(|e| RunError::bad_setting("caption", format!("{text:?}"), e.to_string()))?;
    Ok(EncodedCaption { tokens, len })
}

/// Tokens `[B, T]` and mask `[B, T]` of captions.
pub fn caption_tensors(captions: &[&EncodedCaption], device: &Device) -> (Tensor<2, Int>, Tensor<2>) {
    let steps = captions.iter().map(|c| c.tokens.len()).max().unwrap_or(1);
    let tokens: Vec<i64> = captions.iter().flat_map(|c| (0..steps).map(|t| c.tokens.get(t).copied().unwrap_or(0) as i64)).collect();
    let mask: Vec<f32> = captions.iter().flat_map(|c| (0..steps).map(|t| if t < c.len { 1.0 } else { 0.0 })).collect();
    let n = captions.len();
    (Tensor::from_data(TensorData::new(tokens, [n, steps]), device), Tensor::from_data(TensorData::new(mask, [n, steps]), device))
}

/// A picture and a caption of its group.
#[derive(Debug, Clone)]
pub struct CaptionedPicture {
    /// As the image encoder reads it (MNIST normalised; scenes in [-1, 1], channels first).
    pub picture: Vec<f32>,
    /// Its group (MNIST: the digit; shapes: its caption's).
    pub group: i64,
    /// The caption (training: one of the group's, drawn each epoch).
    pub caption: EncodedCaption,
    alternatives: Arc<Vec<EncodedCaption>>,
}

enum Pictures {
    /// MNIST pictures and each digit's sentences of the split's role.
    Mnist { pictures: MnistItems, by_digit: Vec<Arc<Vec<EncodedCaption>>> },
    /// Scenes and the tokenizer their captions are encoded with.
    Shapes { world: ShapesWorld, count: usize, side: u32, tokenizer: Arc<TextTokenizer>, max_len: usize },
}

impl Dataset<CaptionedPicture> for Pictures {
    fn get(&self, index: usize) -> Result<CaptionedPicture, DatasetError> {
        match self {
            Pictures::Mnist { pictures, by_digit } => {
                let digit = pictures.digit(index);
                let alternatives = by_digit[digit as usize].clone();
                let caption = alternatives[index % alternatives.len()].clone();
                Ok(CaptionedPicture { picture: pictures.picture(index), group: digit as i64, caption, alternatives })
            }
            Pictures::Shapes { world, side, tokenizer, max_len, .. } => {
                let text = caption(&world.objects(index as u64));
                let encoded = encode_caption(tokenizer, &text, *max_len).map_err(DatasetError::new)?;
                Ok(CaptionedPicture {
                    picture: scene_picture(world, index, *side),
                    group: text_group(&text),
                    caption: encoded.clone(),
                    alternatives: Arc::new(vec![encoded]),
                })
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Pictures::Mnist { pictures, .. } => pictures.len(),
            Pictures::Shapes { count, .. } => *count,
        }
    }
}

/// A batch: pictures `[B, C, H, W]`, captions `[B, T]` with their mask, groups `[B]`.
#[derive(Debug, Clone)]
pub struct CaptionedBatch {
    /// The pictures.
    pub pictures: Tensor<4>,
    /// Caption tokens.
    pub tokens: Tensor<2, Int>,
    /// 1 on words, 0 on padding.
    pub mask: Tensor<2>,
    /// The groups of the loss.
    pub groups: Tensor<1, Int>,
}

struct CaptionedBatcher {
    shape: [usize; 3],
}

impl Batcher<CaptionedPicture, CaptionedBatch> for CaptionedBatcher {
    fn batch(&self, items: Vec<CaptionedPicture>, device: &Device) -> CaptionedBatch {
        let n = items.len();
        let [c, h, w] = self.shape;
        let pixels: Vec<f32> = items.iter().flat_map(|i| i.picture.iter().copied()).collect();
        let (tokens, mask) = caption_tensors(&items.iter().map(|i| &i.caption).collect::<Vec<_>>(), device);
        let groups: Vec<i64> = items.iter().map(|i| i.group).collect();
        CaptionedBatch {
            pictures: Tensor::from_data(TensorData::new(pixels, [n, c, h, w]), device),
            tokens,
            mask,
            groups: Tensor::from_data(TensorData::new(groups, [n]), device),
        }
    }
}

/// The frozen picture encoder, the picture head and the text encoder.
#[derive(Module, Debug)]
pub struct TextEmbeddingModel {
    /// The pretrained image encoder (frozen).
    pub image_encoder: ImageEncoder,
    image_head: Linear,
    /// The caption encoder the GAN reads.
    pub text: TextEncoder,
    temperature: f32,
}

impl TextEmbeddingModel {
    /// Pictures `[B, C, H, W]` (as the encoder reads them) → unit rows `[B, d_text]`.
    pub fn embed_pictures(&self, pictures: Tensor<4>) -> Tensor<2> {
        l2_normalize(self.image_head.forward(self.image_encoder.forward(pictures).pooled.detach()))
    }

    /// Captions → unit rows `[B, d_text]`.
    pub fn embed_captions(&self, tokens: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<2> {
        l2_normalize(self.text.forward(tokens, mask))
    }
}

impl Learner for TextEmbeddingModel {
    type Batch = CaptionedBatch;

    /// Grouped InfoNCE takes its negatives from the global batch under data-parallel training.
    fn gathers() -> bool {
        true
    }

    /// Grouped InfoNCE; `accuracy` counts pictures whose nearest caption in the batch is of their group.
    fn objective(&self, batch: &CaptionedBatch) -> StepOutput {
        let [n] = batch.groups.dims();
        let pictures = self.embed_pictures(batch.pictures.clone());
        let captions = self.embed_captions(batch.tokens.clone(), batch.mask.clone());
        let nearest = pictures.clone().matmul(captions.clone().transpose()).argmax(1).reshape([n]);
        let right = batch.groups.clone().select(0, nearest).equal(batch.groups.clone()).float().sum();
        StepOutput::loss(grouped_info_nce(pictures, captions, batch.groups.clone(), self.temperature), n).with_metric("accuracy", right)
    }
}

/// The test scores (`text_embedding.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TextEmbeddingReport {
    /// Test pictures whose nearest test text is of their group.
    pub picture_to_text_r1: f64,
    /// Its chance level: the mean share of the test texts that are of a picture's group.
    pub picture_to_text_chance: f64,
    /// Test texts whose nearest test picture is of their group.
    pub text_to_picture_r1: f64,
    /// Its chance level: the mean share of the test pictures that are of a text's group.
    pub text_to_picture_chance: f64,
    /// Test pictures.
    pub pictures: usize,
    /// Test texts.
    pub texts: usize,
}

fn rows(tensor: Tensor<2>) -> Vec<f32> {
    tensor.into_data().convert::<f32>().try_into_vec::<f32>().expect("float rows")
}

fn nearest(row: &[f32], candidates: &[f32], width: usize) -> usize {
    let score = |c: &[f32]| row.iter().zip(c).map(|(a, b)| a * b).sum::<f32>();
    candidates.chunks(width).enumerate().max_by(|(_, a), (_, b)| score(a).total_cmp(&score(b))).map_or(0, |(i, _)| i)
}

/// Embeds `texts` with the run's text encoder (`[N, d_text]`, unit rows), 512 at a time — the GAN's conditioning.
pub fn embed_sentences(
    model: &TextEmbeddingModel,
    tokenizer: &TextTokenizer,
    texts: &[&str],
    max_len: usize,
    device: &Device,
) -> Result<Vec<Vec<f32>>, RunError> {
    let width = model.text.d_text();
    let mut out = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(512) {
        let encoded = chunk.iter().map(|t| encode_caption(tokenizer, t, max_len)).collect::<Result<Vec<_>, _>>()?;
        let (tokens, mask) = caption_tensors(&encoded.iter().collect::<Vec<_>>(), device);
        out.extend(rows(model.embed_captions(tokens, mask)).chunks(width).map(<[f32]>::to_vec));
    }
    Ok(out)
}

/// A finished text-embedding run: its config, model and tokenizer.
pub fn load_text_embedding(run: &std::path::Path, device: &Device) -> Result<(TextEmbeddingConfig, TextEmbeddingModel, TextTokenizer), RunError> {
    let (config, model) = load_pretrained::<TextEmbedding>(run, device)?;
    let tokenizer = load_tokenizer(&run.join("prepared"))?;
    Ok((config, model, tokenizer))
}

impl Task for TextEmbedding {
    const NAME: &'static str = "text-embedding";
    type Config = TextEmbeddingConfig;
    type Item = CaptionedPicture;
    type Model = TextEmbeddingModel;

    fn train_config(config: &TextEmbeddingConfig) -> &TrainConfig {
        &config.train
    }

    fn train_config_mut(config: &mut TextEmbeddingConfig) -> &mut TrainConfig {
        &mut config.train
    }

    /// Shapes scenes: the test scenes (and their captions, the test texts) drawn from `seed`; MNIST's are fixed.
    fn with_test_seed(config: &TextEmbeddingConfig, seed: u64) -> Option<TextEmbeddingConfig> {
        config.source.with_test_seed(seed).map(|source| TextEmbeddingConfig { source, ..config.clone() })
    }

    fn pretrained_runs(config: &mut TextEmbeddingConfig) -> Vec<&mut PathBuf> {
        vec![&mut config.image_encoder]
    }

    fn inputs(config: &TextEmbeddingConfig) -> Vec<PathBuf> {
        vec![config.image_encoder.join(CONFIG_FILE), config.image_encoder.join(MODEL_FILE)]
    }

    /// The tokenizer, trained on the training captions only.
    fn prepare(config: &TextEmbeddingConfig, context: &Context) -> Result<(), RunError> {
        let side = config.picture_shape()?[1] as u32;
        let texts = config.source.training_texts(side)?;
        let tokenizer = TextTokenizer::train(&config.tokenizer, texts.iter().map(String::as_str)).map_err(data_error)?;
        if tokenizer.vocab_size() > config.text.vocab_size {
            return Err(RunError::bad_setting(
                "vocab_size",
                config.text.vocab_size,
                format!("the tokenizer has {} tokens, more than that", tokenizer.vocab_size()),
            ));
        }
        tokenizer.save(context.prepared().join(TOKENIZER_FILE)).map_err(data_error)
    }

    fn dataset(config: &TextEmbeddingConfig, context: &Context, split: Split) -> Result<Arc<dyn Dataset<CaptionedPicture>>, RunError> {
        let tokenizer = load_tokenizer(&context.prepared())?;
        let pictures = match &config.source {
            CaptionSource::Mnist => {
                let mut by_digit = vec![Vec::new(); 10];
                for caption in super::captions::digit_captions().into_iter().filter(|c| c.role == TextRole::of(split)) {
                    by_digit[caption.digit as usize].push(encode_caption(&tokenizer, &caption.text, config.max_len)?);
                }
                Pictures::Mnist { pictures: mnist_split(&context.root, config.validation, split)?, by_digit: by_digit.into_iter().map(Arc::new).collect() }
            }
            CaptionSource::Shapes(scenes) => {
                let side = config.picture_shape()?[1] as u32;
                let (world, count) = scenes.scenes(split, side)?;
                Pictures::Shapes { world, count, side, tokenizer: Arc::new(tokenizer), max_len: config.max_len }
            }
        };
        Ok(Arc::new(pictures))
    }

    fn batcher(config: &TextEmbeddingConfig) -> Arc<dyn Batcher<CaptionedPicture, CaptionedBatch>> {
        Arc::new(CaptionedBatcher { shape: config.picture_shape().unwrap_or([3, 32, 32]) })
    }

    fn model(config: &TextEmbeddingConfig, device: &Device) -> Result<TextEmbeddingModel, RunError> {
        if !(config.temperature > 0.0 && config.temperature.is_finite()) {
            return Err(RunError::bad_setting("temperature", config.temperature, "must be positive"));
        }
        let (encoder, width) = match config.source {
            CaptionSource::Mnist => {
                let (mnist, classifier) = load_pretrained::<Mnist>(&config.image_encoder, device)?;
                (classifier.encoder, mnist.encoder.output_dim())
            }
            CaptionSource::Shapes(_) => {
                let (shapes, describer) = load_pretrained::<Shapes>(&config.image_encoder, device)?;
                (describer.encoder, shapes.encoder.output_dim())
            }
        };
        Ok(TextEmbeddingModel {
            image_encoder: encoder.freeze(),
            image_head: LinearConfig::new(width, config.text.d_text).init(device),
            text: config.text.init(device),
            temperature: config.temperature,
        })
    }

    /// Draws each training picture's caption among its group's.
    fn augment(_config: &TextEmbeddingConfig, item: &mut CaptionedPicture, rng: &mut ChaCha8Rng) {
        item.caption = item.alternatives[rng.random_range(0..item.alternatives.len())].clone();
    }

    fn selection(_config: &TextEmbeddingConfig) -> Selection {
        Selection::highest("accuracy")
    }

    /// R@1 between the test pictures and the test texts, both ways (`text_embedding.json`).
    fn evaluate(
        config: &TextEmbeddingConfig,
        context: &Context,
        model: &TextEmbeddingModel,
        loader: &Loader<CaptionedPicture, CaptionedBatch>,
        device: &Device,
    ) -> Result<Scores, RunError> {
        let tokenizer = load_tokenizer(&context.prepared())?;
        let test_texts: Vec<_> = config.source.texts(config.picture_shape()?[1] as u32)?.into_iter().filter(|t| t.role == TextRole::Test).collect();
        let texts = embed_sentences(model, &tokenizer, &test_texts.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(), config.max_len, device)?.concat();
        let width = config.text.d_text;
        let (mut pictures, mut groups) = (Vec::new(), Vec::new());
        for (_, batch) in loader.batches((0..loader.len()).collect(), config.train.batch_size, 0, None, device) {
            let batch = batch?;
            pictures.extend(rows(model.embed_pictures(batch.pictures)));
            groups.extend(batch.groups.into_data().convert::<i64>().try_into_vec::<i64>()?);
        }
        let share = |hits: usize, of: usize| hits as f64 / of.max(1) as f64;
        let picture_right = pictures.chunks(width).zip(&groups).filter(|(p, g)| test_texts[nearest(p, &texts, width)].group == **g).count();
        let text_right = texts.chunks(width).zip(&test_texts).filter(|(t, h)| groups[nearest(t, &pictures, width)] == h.group).count();
        let picture_chance =
            groups.iter().map(|g| share(test_texts.iter().filter(|h| h.group == *g).count(), test_texts.len())).sum::<f64>() / groups.len().max(1) as f64;
        let text_chance =
            test_texts.iter().map(|h| share(groups.iter().filter(|g| **g == h.group).count(), groups.len())).sum::<f64>() / test_texts.len().max(1) as f64;
        let report = TextEmbeddingReport {
            picture_to_text_r1: share(picture_right, groups.len()),
            picture_to_text_chance: picture_chance,
            text_to_picture_r1: share(text_right, test_texts.len()),
            text_to_picture_chance: text_chance,
            pictures: groups.len(),
            texts: test_texts.len(),
        };
        write_atomically(&context.reports.join(REPORT_FILE), serde_json::to_string_pretty(&report).expect("a report").as_bytes())?;
        Ok(Scores::from([
            ("picture_to_text_r1".to_string(), report.picture_to_text_r1),
            ("text_to_picture_r1".to_string(), report.text_to_picture_r1),
            ("picture_to_text_chance".to_string(), report.picture_to_text_chance),
        ]))
    }
}

impl crate::systems::System for TextEmbedding {}
