//! `recipe`: ordered-text retrieval in the image–recipe setting. A picture of three or four MNIST digits in a
//! row is matched with its instruction, e.g. "write seven then two then nine"; the order is the whole point, so
//! every test picture has distractors with the same digits in other orders — where a bag-of-words text encoder
//! is blind by construction and an LSTM is not. Reported like im2recipe: medR and R@1/5/10 on 1,000-pair test
//! sets (the mean over several), in both directions, plus the choice among a picture's reordered instructions.

use std::path::PathBuf;
use std::sync::Arc;

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use mm_joint::recipe::{MatchingLoss, RecipeModel, RecipeModelConfig};
use mm_joint::retrieval::paired_retrieval;
use serde::{Deserialize, Serialize};

use super::pretrained::{cached_rows, encode_images};
use crate::encoders::Readout;
use crate::encoders::mnist::{Mnist, MnistConfig};
use crate::runner::{
    Batcher, Context, Dataset, InMemDataset, Learner, Loader, RunError, Scores, Selection, Split, StepOutput, Task, TrainConfig, load_pretrained,
    load_run_config,
};

mod pairs;
mod report;

pub use pairs::{
    HELD_OUT_SETS, RecipePairs, SLOTS, TEXT_LEN, TestDigitSets, WORDS, category, digit_sets, generate_pairs, generate_test_sets, instruction, is_held_out,
    tokens,
};
pub use report::{RecipeReport, RecipeTestFamily, RecipeTestSet, evaluate_recipe};

/// The task.
pub struct Recipe;

crate::runner::model_settings!(
    /// The matcher's settings in the task's config; the picture feature's width, the vocabulary and the
    /// categories come from the data.
    model_settings: RecipeModelConfig = RecipeModelConfig::new(0, 0, 0), from_data: ["d_image", "vocab_size", "categories"]
);

/// Its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RecipeConfig {
    /// The finished mnist run whose encoder (frozen) reads the pictures. Default `runs/mnist/latest`.
    pub encoder_run: Option<PathBuf>,
    /// Training pairs (random sequences of 3 or 4 different digits, random MNIST training pictures). Default 20,000.
    pub train_pairs: usize,
    /// Validation pairs (groups of reorderings, like a test set, from the encoder's validation pictures, of the
    /// digit sets training also draws from). Default 800.
    pub valid_pairs: usize,
    /// Pairs per test set of the seen digit sets. Default 176 (44 groups of 4).
    pub test_pairs: usize,
    /// Pairs per test set of the held-out digit sets, whose instructions never occur in training. Default 88
    /// (22 groups of 4).
    pub held_out_test_pairs: usize,
    /// Independent test sets of each family (no digit set or picture in two of them); means and 95% intervals
    /// over them are reported. Default 5: the 220 seen and 110 held-out digit sets fill five of each.
    pub test_sets: usize,
    /// Test pairs come in groups with the same digits in this many different orders. Default 4.
    pub orders_per_group: usize,
    /// The matcher (`text_encoder`, `d_word`, `d_hidden`, `d_joint`, `dropout`, beside the task's settings in a
    /// file): defaults in [`RecipeModelConfig`].
    #[serde(flatten, with = "model_settings")]
    pub model: RecipeModelConfig,
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
            valid_pairs: 800,
            test_pairs: 176,
            held_out_test_pairs: 88,
            test_sets: 5,
            orders_per_group: 4,
            model: model_settings::defaults(),
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
        let groups_fit = |n: usize| n > 0 && n.is_multiple_of(self.orders_per_group);
        if !(2..=6).contains(&self.orders_per_group) || ![self.test_pairs, self.held_out_test_pairs, self.valid_pairs].into_iter().all(groups_fit) {
            return Err(RunError::bad_setting(
                "orders_per_group",
                self.orders_per_group,
                format!(
                    "must be 2–6 (three different digits have six orders) and divide valid_pairs, test_pairs and held_out_test_pairs ({}, {}, {})",
                    self.valid_pairs, self.test_pairs, self.held_out_test_pairs
                ),
            ));
        }
        if self.train_pairs == 0 || self.test_sets == 0 {
            return Err(RunError::setting("train_pairs, test_sets", "must be positive"));
        }
        // Checked before training, not when the test sets are drawn at the end: independent sets and unique
        // validation groups need that many different digit sets.
        let seen = digit_sets().len() - HELD_OUT_SETS;
        let groups = |pairs: usize| pairs / self.orders_per_group;
        for (what, needed, available) in [
            ("test_sets × test_pairs", self.test_sets * groups(self.test_pairs), seen),
            ("test_sets × held_out_test_pairs", self.test_sets * groups(self.held_out_test_pairs), HELD_OUT_SETS),
            ("valid_pairs", groups(self.valid_pairs), seen),
        ] {
            if needed > available {
                return Err(RunError::setting(
                    what,
                    format!("need {needed} groups of different digits, but there are {available} such digit sets; lower them"),
                ));
            }
        }
        Ok(())
    }
}

/// One pair: the frozen encoder's features of the picture, its instruction and the same digits reordered (a hard
/// negative), and its category for semantic regularisation.
#[derive(Debug, Clone, PartialEq)]
pub struct RecipeItem {
    /// `[d_image]` picture features.
    pub features: Vec<f32>,
    /// `[TEXT_LEN]` instruction tokens (0 pads).
    pub text: Vec<i64>,
    /// `[TEXT_LEN]` tokens of the reordered instruction.
    pub reordered: Vec<i64>,
    /// Length and first digit, 0–19.
    pub category: u32,
}

/// A batch of [`RecipeItem`]s.
#[derive(Debug, Clone)]
pub struct RecipeBatch {
    /// `[B, d_image]`.
    pub features: Tensor<2>,
    /// `[B, TEXT_LEN]`.
    pub texts: Tensor<2, Int>,
    /// `[B, TEXT_LEN]`.
    pub reordered: Tensor<2, Int>,
    /// `[B]`.
    pub categories: Tensor<1, Int>,
}

/// Stacks [`RecipeItem`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecipeBatcher;

impl Batcher<RecipeItem, RecipeBatch> for RecipeBatcher {
    fn batch(&self, items: Vec<RecipeItem>, device: &Device) -> RecipeBatch {
        let (n, d) = (items.len(), items.first().map_or(0, |i| i.features.len()));
        let features = items.iter().flat_map(|i| i.features.iter().copied()).collect::<Vec<_>>();
        let texts = items.iter().flat_map(|i| i.text.iter().copied()).collect::<Vec<_>>();
        let reordered = items.iter().flat_map(|i| i.reordered.iter().copied()).collect::<Vec<_>>();
        let categories = items.iter().map(|i| i.category as i64).collect::<Vec<_>>();
        RecipeBatch {
            features: Tensor::from_data(TensorData::new(features, [n, d]), device),
            texts: Tensor::from_data(TensorData::new(texts, [n, TEXT_LEN]), device),
            reordered: Tensor::from_data(TensorData::new(reordered, [n, TEXT_LEN]), device),
            categories: Tensor::from_data(TensorData::new(categories, [n]), device),
        }
    }
}

/// The frozen encoder's features of `pairs`' pictures, `[N, d_image]`, checked against the expected width.
pub(crate) fn picture_rows(config: &RecipeConfig, pairs: &RecipePairs, device: &Device) -> Result<Vec<f32>, RunError> {
    let (encoder_config, classifier) = load_pretrained::<Mnist>(&config.encoder_run(), device)?;
    let features = encode_images(&classifier.encoder, &pairs.pictures, [1, 28, 28 * SLOTS], Readout::Columns, device);
    let dim = features.len() / pairs.texts.len().max(1);
    if dim != picture_features(&encoder_config) {
        return Err(RunError::setting(
            "encoder_run",
            format!(
                "the encoder of {} reads a picture into {dim} values, not the {} of an encoder whose stages each halve the width",
                config.encoder_run().display(),
                picture_features(&encoder_config)
            ),
        ));
    }
    Ok(features)
}

/// Pairs as items, given their pictures' features.
pub(crate) fn items(pairs: &RecipePairs, features: &[f32]) -> Vec<RecipeItem> {
    let dim = features.len() / pairs.texts.len().max(1);
    (0..pairs.texts.len())
        .map(|i| RecipeItem {
            features: features[i * dim..(i + 1) * dim].to_vec(),
            text: tokens(&pairs.texts[i]),
            reordered: tokens(&pairs.reordered[i]),
            category: category(&pairs.sequences[i]),
        })
        .collect()
}

/// Values per picture: the encoder's channels × its map's columns (each stage halves the width: 112 → 14 for
/// three stages). [`picture_rows`] checks it against what the encoder really gives.
fn picture_features(encoder_run: &MnistConfig) -> usize {
    encoder_run.encoder.output_dim() * ((28 * SLOTS) >> encoder_run.encoder.stages.len())
}

/// Seed of test set `s` (training uses the run's seed; test sets never overlap with it).
pub(crate) fn test_seed(s: usize) -> u64 {
    0x7E57_0000 + s as u64
}

/// Seed of the validation pairs.
const VALID_SEED: u64 = 0x0A11_D000;

/// The model with its training objective.
#[derive(Module, Debug)]
pub struct RecipeMatcher {
    /// Image head, text encoder, semantic classifier.
    pub model: RecipeModel,
    #[module(skip)]
    matching: MatchingLoss,
    semantic_weight: f32,
}

impl RecipeMatcher {
    /// Embeddings of a batch's pictures and instructions: `[B, d_joint]` each.
    pub fn embed(&self, batch: &RecipeBatch) -> (Tensor<2>, Tensor<2>) {
        (self.model.embed_images(batch.features.clone()), self.model.embed_texts(batch.texts.clone()))
    }
}

impl Learner for RecipeMatcher {
    type Batch = RecipeBatch;

    /// The triplet loss takes its negatives from the global batch under data-parallel training.
    fn gathers() -> bool {
        true
    }

    /// The pairwise loss plus semantic regularisation; `accuracy` is the semantic classifier's on the pictures.
    fn objective(&self, batch: &RecipeBatch) -> StepOutput {
        let [n, _] = batch.features.dims();
        let (loss, logits) = self.model.loss(
            batch.features.clone(),
            batch.texts.clone(),
            batch.reordered.clone(),
            batch.categories.clone(),
            self.matching,
            self.semantic_weight,
        );
        let right = logits.detach().argmax(1).flatten::<1>(0, 1).equal(batch.categories.clone()).int().sum().float();
        StepOutput::loss(loss, n).with_metric("accuracy", right)
    }
}

/// Embeds every item of `loader` in order: (pictures, instructions), `[N · d_joint]` each.
pub(crate) fn embed_all(matcher: &RecipeMatcher, loader: &Loader<RecipeItem, RecipeBatch>, device: &Device) -> Result<(Vec<f32>, Vec<f32>), RunError> {
    let (mut images, mut texts) = (Vec::new(), Vec::new());
    for (_, batch) in loader.batches((0..loader.len()).collect(), 500, 0, None, device) {
        let (i, t) = matcher.embed(&batch?);
        images.extend(i.into_data().convert::<f32>().try_into_vec::<f32>().expect("float"));
        texts.extend(t.into_data().convert::<f32>().try_into_vec::<f32>().expect("float"));
    }
    Ok((images, texts))
}

impl Task for Recipe {
    const NAME: &'static str = "recipe";
    type Config = RecipeConfig;
    type Item = RecipeItem;
    type Model = RecipeMatcher;

    fn train_config(config: &RecipeConfig) -> &TrainConfig {
        &config.train
    }

    fn train_config_mut(config: &mut RecipeConfig) -> &mut TrainConfig {
        &mut config.train
    }

    fn pretrained_runs(config: &mut RecipeConfig) -> Vec<&mut PathBuf> {
        let default = config.encoder_run();
        vec![config.encoder_run.get_or_insert(default)]
    }

    fn inputs(config: &RecipeConfig) -> Vec<PathBuf> {
        let run = config.encoder_run();
        vec![run.join(crate::runner::CONFIG_FILE), run.join(crate::runner::MODEL_FILE)]
    }

    /// Training pairs from the encoder's training pictures, validation pairs from its validation pictures, and
    /// the first test set; the pictures' frozen features are computed once per run (`prepared/`).
    fn dataset(config: &RecipeConfig, context: &Context, split: Split) -> Result<Arc<dyn Dataset<RecipeItem>>, RunError> {
        config.check()?;
        let device = crate::DeviceKind::resolve(config.train.device)?.device()?;
        let validation = load_run_config::<Mnist>(&config.encoder_run())?.validation;
        let (count, seed) = match split {
            Split::Train => (config.train_pairs, config.train.seed),
            Split::Valid => (config.valid_pairs, VALID_SEED),
            Split::Test => (config.test_pairs, test_seed(0)),
        };
        let pairs = generate_pairs(&context.root, split, validation, count, config.orders_per_group, seed)?;
        let features = if split == Split::Test {
            picture_rows(config, &pairs, &device)?
        } else {
            cached_rows(&context.prepared().join(format!("{}-features.npy", split.name())), || picture_rows(config, &pairs, &device))?
        };
        Ok(Arc::new(InMemDataset::new(items(&pairs, &features))))
    }

    fn batcher(_config: &RecipeConfig) -> Arc<dyn Batcher<RecipeItem, RecipeBatch>> {
        Arc::new(RecipeBatcher)
    }

    fn model(config: &RecipeConfig, device: &Device) -> Result<RecipeMatcher, RunError> {
        config.check()?;
        crate::runner::check_dropout("recipe: dropout", config.model.dropout)?;
        let d_image = picture_features(&load_run_config::<Mnist>(&config.encoder_run())?);
        let model = RecipeModelConfig { d_image, vocab_size: WORDS.len() + 1, categories: 20, ..config.model.clone() }.init(device);
        Ok(RecipeMatcher { model, matching: config.matching, semantic_weight: config.semantic_weight })
    }

    /// The mean objective, plus image → text retrieval among the validation pairs (`r1`, `median_rank`).
    fn validate(
        config: &RecipeConfig,
        _context: &Context,
        model: &RecipeMatcher,
        loader: &Loader<RecipeItem, RecipeBatch>,
        device: &Device,
    ) -> Result<Scores, RunError> {
        let mut scores = crate::runner::mean_objective(model, loader, config.train.batch_size, device)?;
        let (images, texts) = embed_all(model, loader, device)?;
        let retrieval = paired_retrieval(&images, &texts, config.model.d_joint);
        scores.insert("r1".into(), retrieval.a_to_b.recall_at_1);
        scores.insert("median_rank".into(), retrieval.a_to_b.median_rank as f64);
        Ok(scores)
    }

    fn selection(_config: &RecipeConfig) -> Selection {
        Selection::highest("r1")
    }
}
