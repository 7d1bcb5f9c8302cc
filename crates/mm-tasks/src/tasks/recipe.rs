//! `recipe`: ordered-text retrieval in the image–recipe setting. A picture of three or four MNIST digits in a
//! row is matched with its instruction, e.g. "write seven then two then nine"; the order is the whole point, so
//! every test picture has distractors with the same digits in other orders — where a bag-of-words text encoder
//! is blind by construction and an LSTM is not. Reported like im2recipe: medR and R@1/5/10 on 1,000-pair test
//! sets (the mean over several), in both directions, plus the choice among a picture's reordered instructions.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};
use mm_joint::recipe::{MatchingLoss, RecipeModel, RecipeModelConfig, TextEncoderKind};
use mm_joint::retrieval::{paired_retrieval, CosineIndex, PairedRetrieval};
use mm_vision::mnist::{read_mnist, MnistPart};
use mm_vision::transforms::Normalize;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::data_error;
use super::mnist::{Mnist, MnistConfig};
use super::pretrained::{encode_images, load_pretrained, MapReadout};
use crate::data::{DataRoot, Dataset};
use crate::runner::{load_config, load_model, BatchTargets, Classifier, Examples, RunError, Split, Targets, Task, TrainConfig, CONFIG_FILE};

/// The task.
pub struct Recipe;

/// The instruction language's words; a token is its index + 1 (0 pads).
pub const WORDS: [&str; 19] = [
    "write", "then", "first", "next", "followed", "by", "start", "with", "and", "zero", "one", "two", "three", "four",
    "five", "six", "seven", "eight", "nine",
];
/// Tokens per instruction, padded ("start with a and then b and then c and then d" is the longest).
pub const TEXT_LEN: usize = 12;
/// Digits per picture at most; pictures are `28 × 28·SLOTS`, shorter sequences leave the right end blank.
pub const SLOTS: usize = 4;

/// An instruction for `digits` in one of four phrasings.
pub fn instruction(digits: &[u8], phrasing: usize) -> String {
    let names: Vec<&str> = digits.iter().map(|&d| WORDS[9 + d as usize]).collect();
    let (start, joiner) = match phrasing % 4 {
        0 => ("write", "then"),
        1 => ("first", "next"),
        2 => ("", "followed by"),
        _ => ("start with", "and then"),
    };
    let body = names.join(&format!(" {joiner} "));
    if start.is_empty() { body } else { format!("{start} {body}") }
}

/// The tokens of an instruction, padded to [`TEXT_LEN`].
pub fn tokens(text: &str) -> Vec<f32> {
    let mut ids: Vec<f32> = text.split_whitespace().map(|w| (WORDS.iter().position(|&k| k == w).expect("a word of the language") + 1) as f32).collect();
    ids.resize(TEXT_LEN, 0.0);
    ids
}

/// The category of a sequence for semantic regularisation: its length and first digit (20 classes) — the
/// magnitude of the number it writes, a property of the whole ordered sequence.
pub fn category(digits: &[u8]) -> u32 {
    (digits.len() as u32 - 3) * 10 + digits[0] as u32
}

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
    /// The pairwise loss. Default cosine-embedding with margin 0.1 (im2recipe).
    pub matching: MatchingLoss,
    /// Weight of semantic regularisation; 0 turns it off. Default 0.1.
    pub semantic_weight: f32,
    /// The runner's settings. Defaults: 12 epochs, batch 128, lr 1e-3.
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
            train: TrainConfig { epochs: 12, batch_size: 128, lr: 1e-3, ..TrainConfig::default() },
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

/// A set of (picture, instruction) pairs.
#[derive(Debug, Clone)]
pub struct RecipePairs {
    /// Each pair's digits, in order.
    pub sequences: Vec<Vec<u8>>,
    /// Its instruction.
    pub texts: Vec<String>,
    /// The same digits in another order, in the same phrasing (a hard negative for training).
    pub reordered: Vec<String>,
    /// The pictures, `[N, 28·28·SLOTS]`, MNIST-normalised.
    pub pictures: Vec<f32>,
}

/// Random different digits, 3 or 4 of them.
fn random_digits(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut digits: Vec<u8> = (0..10).collect();
    digits.shuffle(rng);
    digits.truncate(rng.random_range(3..=4));
    digits
}

/// Another order of the same digits.
fn another_order(digits: &[u8], rng: &mut ChaCha8Rng) -> Vec<u8> {
    loop {
        let mut other = digits.to_vec();
        other.shuffle(rng);
        if other != digits {
            return other;
        }
    }
}

/// Generates pairs from MNIST `part`: training pairs are independent; test pairs come in groups of
/// `orders_per_group` with the same digits in different orders (each with its own pictures and phrasing).
pub fn generate_pairs(root: &DataRoot, part: MnistPart, pairs: usize, orders_per_group: usize, seed: u64) -> Result<RecipePairs, RunError> {
    let dir = root.dataset(Dataset::Mnist).map_err(data_error)?;
    let images = read_mnist(&dir, part).map_err(data_error)?;
    let mut by_digit: Vec<Vec<usize>> = vec![Vec::new(); 10];
    images.labels.iter().enumerate().for_each(|(i, &l)| by_digit[l as usize].push(i));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sequences = Vec::with_capacity(pairs);
    while sequences.len() < pairs {
        let digits = random_digits(&mut rng);
        if part == MnistPart::Train {
            sequences.push(digits);
            continue;
        }
        let mut orders = vec![digits.clone()];
        while orders.len() < orders_per_group {
            let other = another_order(&digits, &mut rng);
            if !orders.contains(&other) {
                orders.push(other);
            }
        }
        sequences.extend(orders);
    }
    sequences.truncate(pairs);
    let normalize = Normalize::mnist();
    let background = (0.0 - normalize.mean[0]) / normalize.std[0];
    let width = 28 * SLOTS;
    let mut pictures = vec![background; pairs * 28 * width];
    let (mut texts, mut reordered) = (Vec::with_capacity(pairs), Vec::with_capacity(pairs));
    for (n, digits) in sequences.iter().enumerate() {
        for (slot, &d) in digits.iter().enumerate() {
            let source = by_digit[d as usize][rng.random_range(0..by_digit[d as usize].len())];
            for y in 0..28 {
                for x in 0..28 {
                    let value = images.pixels[source * 784 + y * 28 + x] as f32 / 255.0;
                    pictures[n * 28 * width + y * width + slot * 28 + x] = (value - normalize.mean[0]) / normalize.std[0];
                }
            }
        }
        let phrasing = rng.random_range(0..4);
        texts.push(instruction(digits, phrasing));
        reordered.push(instruction(&another_order(digits, &mut rng), phrasing));
    }
    Ok(RecipePairs { sequences, texts, reordered, pictures })
}

/// Pairs as examples: `[frozen picture features | instruction tokens | reordered tokens]`, class = category.
fn examples(config: &RecipeConfig, pairs: &RecipePairs, device: &Device) -> Result<Examples, RunError> {
    let (_, classifier) = load_pretrained::<Mnist>(&config.encoder_run(), device)?;
    let features = encode_images(&classifier.encoder, &pairs.pictures, [1, 28, 28 * SLOTS], MapReadout::Columns, device);
    let dim = features.len() / pairs.texts.len().max(1);
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

/// Seed of test set `s` (training uses the run's seed; test sets never overlap with it).
fn test_seed(s: usize) -> u64 {
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
        let encoder = load_config::<MnistConfig>(&config.encoder_run().join(CONFIG_FILE))?.encoder;
        // Each encoder stage halves the width: 112 → 14 columns for three stages.
        let d_image = encoder.output_dim() * ((28 * SLOTS) >> encoder.stages.len());
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

/// One test set's results.
#[derive(Debug, Clone, Serialize)]
pub struct RecipeTestSet {
    /// Both directions of retrieval among the set's pairs.
    pub retrieval: PairedRetrieval,
    /// The picture's own instruction is the most similar among its group's reorderings.
    pub order_accuracy: f64,
}

/// The evaluation of a recipe run, as written to `recipe.json`.
#[derive(Debug, Clone, Serialize)]
pub struct RecipeReport {
    /// lstm or bag-of-words.
    pub text_encoder: TextEncoderKind,
    /// Semantic-regularisation weight it was trained with.
    pub semantic_weight: f32,
    /// Means over the test sets: image → text medR, R@1, R@5, R@10.
    pub image_to_text: [f64; 4],
    /// … text → image.
    pub text_to_image: [f64; 4],
    /// Mean order accuracy, and its chance level (1 / orders per group).
    pub order_accuracy: f64,
    /// 1 / orders_per_group.
    pub order_chance: f64,
    /// Every test set.
    pub test_sets: Vec<RecipeTestSet>,
}

/// Evaluates `run` on its test sets and writes `recipe.json` in it.
pub fn evaluate_recipe(run: &Path, root: &DataRoot, device: &Device) -> Result<RecipeReport, RunError> {
    let (config, matcher) = load_model::<Recipe>(run, device)?;
    let mut sets = Vec::new();
    for s in 0..config.test_sets {
        let pairs = generate_pairs(root, MnistPart::Test, config.test_pairs, config.orders_per_group, test_seed(s))?;
        let examples = examples(&config, &pairs, device)?;
        let (mut images, mut texts) = (Vec::new(), Vec::new());
        let indices: Vec<usize> = (0..examples.len()).collect();
        for chunk in indices.chunks(500) {
            let batch = examples.gather(chunk, |_| {});
            let (i, t) = matcher.embed(batch.input_tensor(device));
            images.extend(i.into_data().convert::<f32>().try_to_vec::<f32>().expect("float"));
            texts.extend(t.into_data().convert::<f32>().try_to_vec::<f32>().expect("float"));
        }
        let dim = config.d_joint;
        let group = config.orders_per_group;
        let right = (0..examples.len())
            .filter(|&i| {
                let start = i / group * group;
                CosineIndex::new(&texts[start * dim..(start + group) * dim], dim).rank(&images[i * dim..(i + 1) * dim], i - start) == 1
            })
            .count();
        sets.push(RecipeTestSet { retrieval: paired_retrieval(&images, &texts, dim), order_accuracy: right as f64 / examples.len() as f64 });
    }
    let n = sets.len() as f64;
    let mean = |pick: &dyn Fn(&RecipeTestSet) -> [f64; 4]| -> [f64; 4] {
        let mut sum = [0.0; 4];
        sets.iter().for_each(|s| pick(s).iter().enumerate().for_each(|(k, v)| sum[k] += v / n));
        sum
    };
    let summary = |m: &mm_joint::retrieval::RetrievalMetrics| [m.median_rank as f64, m.recall_at_1, m.recall_at_5, m.recall_at_10];
    let report = RecipeReport {
        text_encoder: config.text_encoder,
        semantic_weight: config.semantic_weight,
        image_to_text: mean(&|s| summary(&s.retrieval.a_to_b)),
        text_to_image: mean(&|s| summary(&s.retrieval.b_to_a)),
        order_accuracy: sets.iter().map(|s| s.order_accuracy).sum::<f64>() / n,
        order_chance: 1.0 / config.orders_per_group as f64,
        test_sets: sets,
    };
    crate::runner::write_atomically(&run.join("recipe.json"), &serde_json::to_vec_pretty(&report).expect("serialises"))?;
    Ok(report)
}
