//! `recipe`: ordered-text retrieval in the image–recipe setting. A picture of three or four MNIST digits in a
//! row is matched with its instruction, e.g. "write seven then two then nine"; the order is the whole point, so
//! every test picture has distractors with the same digits in other orders — where a bag-of-words text encoder
//! is blind by construction and an LSTM is not. Reported like im2recipe: medR and R@1/5/10 on 1,000-pair test
//! sets (the mean over several), in both directions, plus the choice among a picture's reordered instructions.

use std::path::PathBuf;

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};
use mm_joint::recipe::{MatchingLoss, RecipeModel, RecipeModelConfig, TextEncoderKind};
use mm_vision::mnist::MnistPart;
use serde::{Deserialize, Serialize};

use super::mnist::{Mnist, MnistConfig};
use super::pretrained::{encode_images, load_pretrained, MapReadout};
use crate::data::DataRoot;
use crate::runner::{load_config, BatchTargets, Classifier, Examples, RunError, Split, Targets, Task, TrainConfig, CONFIG_FILE};

mod pairs;
mod report;

pub use pairs::{category, generate_pairs, instruction, tokens, RecipePairs, SLOTS, TEXT_LEN, WORDS};
pub use report::{evaluate_recipe, RecipeReport, RecipeTestSet};

/// The task.
pub struct Recipe;

/// Its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecipeConfig {
    /// The finished mnist run whose encoder (frozen) reads the pictures. Default `runs/mnist/latest`.
    pub encoder_run: Option<PathBuf>,
    /// Training pairs (random sequences of 3 or 4 different digits, random MNIST training pictures). Default 20,000.
    pub train_pairs: usize,
    /// Pairs per test set. Default 1,000.
    pub test_pairs: usize,
    /// Test sets reported (means over them). Default 10.
    pub test_sets: usize,
    /// Test pairs come in groups with the same digits in this many different orders. Default 4.
    pub orders_per_group: usize,
    /// lstm or bag-of-words. Default lstm.
    pub text_encoder: TextEncoderKind,
    /// Word-embedding width. Default 64.
    pub d_word: usize,
    /// LSTM width and projection heads' hidden width. Default 256.
    pub d_hidden: usize,
    /// Joint-space width. Default 128.
    pub d_joint: usize,
    /// Dropout in the image head. Default 0.1.
    pub dropout: f64,
    /// The pairwise loss. Default: triplet with the hardest negatives of the batch and the reordered
    /// instruction, margin 0.2 (`configs/recipe-cosine.toml` has im2recipe's cosine-embedding loss).
    pub matching: MatchingLoss,
    /// Weight of semantic regularisation; 0 turns it off. Default 0.1.
    pub semantic_weight: f32,
    /// The runner's settings. Defaults: 8 epochs, batch 128, lr 1e-3.
    pub train: TrainConfig,
}

impl Default for RecipeConfig {
    fn default() -> Self {
        Self {
            encoder_run: None,
            train_pairs: 20_000,
            test_pairs: 1000,
            test_sets: 10,
            orders_per_group: 4,
            text_encoder: TextEncoderKind::Lstm,
            d_word: 64,
            d_hidden: 256,
            d_joint: 128,
            dropout: 0.1,
            matching: MatchingLoss::default(),
            semantic_weight: 0.1,
            train: TrainConfig { epochs: 8, batch_size: 128, lr: 1e-3, ..TrainConfig::default() },
        }
    }
}

impl RecipeConfig {
    fn encoder_run(&self) -> PathBuf {
        self.encoder_run.clone().unwrap_or_else(|| PathBuf::from("runs/mnist/latest"))
    }

    fn check(&self) -> Result<(), RunError> {
        if !(2..=6).contains(&self.orders_per_group) || self.test_pairs % self.orders_per_group != 0 || self.test_pairs == 0 {
            return Err(RunError::Config(format!(
                "recipe: orders_per_group must be 2–6 (three different digits have six orders) and divide test_pairs ({} / {})",
                self.test_pairs, self.orders_per_group
            )));
        }
        if self.train_pairs == 0 || self.test_sets == 0 {
            return Err(RunError::Config("recipe: train_pairs and test_sets must be positive".into()));
        }
        Ok(())
    }
}

/// Pairs as examples: `[frozen picture features | instruction tokens | reordered tokens]`, class = category.
pub(crate) fn examples(config: &RecipeConfig, pairs: &RecipePairs, device: &Device) -> Result<Examples, RunError> {
    let (encoder_config, classifier) = load_pretrained::<Mnist>(&config.encoder_run(), device)?;
    let features = encode_images(&classifier.encoder, &pairs.pictures, [1, 28, 28 * SLOTS], MapReadout::Columns, device);
    let dim = features.len() / pairs.texts.len().max(1);
    if dim != picture_features(&encoder_config) {
        return Err(RunError::Config(format!(
            "recipe: the encoder of {} reads a picture into {dim} values, not the {} of an encoder whose stages each halve the width",
            config.encoder_run().display(),
            picture_features(&encoder_config)
        )));
    }
    let mut inputs = Vec::with_capacity(pairs.texts.len() * (dim + 2 * TEXT_LEN));
    for (i, (text, reordered)) in pairs.texts.iter().zip(&pairs.reordered).enumerate() {
        inputs.extend_from_slice(&features[i * dim..(i + 1) * dim]);
        inputs.extend(tokens(text));
        inputs.extend(tokens(reordered));
    }
    let names = (0..20).map(|c| format!("{} digits from {}", 3 + c / 10, c % 10)).collect();
    let labels = pairs.sequences.iter().map(|s| category(s)).collect();
    Ok(Examples { inputs, example_len: dim + 2 * TEXT_LEN, targets: Targets::Classes { labels, names } })
}

/// Values per picture: the encoder's channels × its map's columns (each stage halves the width: 112 → 14 for
/// three stages). [`examples`] checks it against what the encoder really gives.
fn picture_features(encoder_run: &MnistConfig) -> usize {
    encoder_run.encoder.output_dim() * ((28 * SLOTS) >> encoder_run.encoder.stages.len())
}

/// Seed of test set `s` (training uses the run's seed; test sets never overlap with it).
pub(crate) fn test_seed(s: usize) -> u64 {
    0x7E57_0000 + s as u64
}

/// The model with the layout of its input rows and its training objective.
#[derive(Module, Debug)]
pub struct RecipeMatcher {
    /// Image head, text encoder, semantic classifier.
    pub model: RecipeModel,
    d_image: usize,
    #[module(skip)]
    matching: MatchingLoss,
    semantic_weight: f32,
}

impl RecipeMatcher {
    fn split(&self, inputs: Tensor<2>) -> (Tensor<2>, Tensor<2, Int>, Tensor<2, Int>) {
        let features = inputs.clone().narrow(1, 0, self.d_image);
        let texts = inputs.clone().narrow(1, self.d_image, TEXT_LEN).int();
        let reordered = inputs.narrow(1, self.d_image + TEXT_LEN, TEXT_LEN).int();
        (features, texts, reordered)
    }

    /// Embeddings of the rows' pictures and instructions: `[B, d_joint]` each.
    pub fn embed(&self, inputs: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let (features, texts, _) = self.split(inputs);
        (self.model.embed_images(features), self.model.embed_texts(texts))
    }
}

impl Classifier for RecipeMatcher {
    /// Rows → the picture embeddings' category logits `[B, 20]`.
    fn logits(&self, inputs: Tensor<2>) -> Tensor<2> {
        let (features, _, _) = self.split(inputs);
        self.model.category_logits(self.model.embed_images(features))
    }

    fn objective(&self, inputs: Tensor<2>, targets: &BatchTargets) -> (Tensor<1>, Tensor<2>) {
        let BatchTargets::Classes(categories) = targets else { unreachable!("recipe examples carry categories") };
        let (features, texts, reordered) = self.split(inputs);
        self.model.loss(features, texts, reordered, categories.clone(), self.matching, self.semantic_weight)
    }
}

impl Task for Recipe {
    const NAME: &'static str = "recipe";
    type Config = RecipeConfig;
    type Model = RecipeMatcher;

    fn train_config(config: &RecipeConfig) -> &TrainConfig {
        &config.train
    }

    fn train_config_mut(config: &mut RecipeConfig) -> &mut TrainConfig {
        &mut config.train
    }

    /// Training pairs from MNIST's training pictures; the test split is the first test set.
    fn data(config: &RecipeConfig, root: &DataRoot, split: Split) -> Result<Examples, RunError> {
        config.check()?;
        let device = crate::DeviceKind::resolve(config.train.device)?.device()?;
        let pairs = match split {
            Split::Train => generate_pairs(root, MnistPart::Train, config.train_pairs, config.orders_per_group, config.train.seed)?,
            Split::Test => generate_pairs(root, MnistPart::Test, config.test_pairs, config.orders_per_group, test_seed(0))?,
        };
        examples(config, &pairs, &device)
    }

    fn model(config: &RecipeConfig, device: &Device) -> Result<RecipeMatcher, RunError> {
        config.check()?;
        let d_image = picture_features(&load_config::<MnistConfig>(&config.encoder_run().join(CONFIG_FILE))?);
        let model = RecipeModelConfig::new(d_image, WORDS.len() + 1, 20)
            .with_text_encoder(config.text_encoder)
            .with_d_word(config.d_word)
            .with_d_hidden(config.d_hidden)
            .with_d_joint(config.d_joint)
            .with_dropout(config.dropout)
            .init(device);
        Ok(RecipeMatcher { model, d_image, matching: config.matching, semantic_weight: config.semantic_weight })
    }
}

