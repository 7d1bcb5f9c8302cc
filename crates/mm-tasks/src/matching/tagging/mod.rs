//! `tagging`: images and words in one visual-semantic space (DeViSE). The pretrained image encoder of an earlier
//! run and mm's own word vectors are joined by two projection heads trained by a pairwise sigmoid loss over
//! (image, tag) pairs. Tags are words: on MNIST the digit names and words describing the digits (parity and
//! stroke shapes); on the shapes world the colour, shape and size words of each scene.

use std::path::PathBuf;
use std::sync::Arc;

use burn::tensor::{Device, Tensor, TensorData};
use mm_joint::tagging::{TaggingModel, TaggingModelConfig};
use mm_text::vectors::WordVectors;
use serde::{Deserialize, Serialize};

mod report;
mod zero_shot;

pub use report::{Arithmetic, CalibratedStacking, TaggingReport, ZeroShot, evaluate_tagging, evaluate_tagging_on, search_images, tag_image};
pub use zero_shot::{HELD_OUT_PAIRS, SplitSummary, ZeroShotSummary, is_zero_shot, train_zero_shot, zero_shot_command};

use super::pretrained::{cached_rows, encode_images};
use crate::data::DataRoot;
use crate::data::shapes::{Colour, Shape, Size};
use crate::encoders::Readout;
use crate::encoders::mnist::{Mnist, mnist_split};
use crate::encoders::shapes::{Shapes, label_names};
use crate::runner::{
    Batcher, ClassBatch, ClassBatcher, ClassItem, Context, Dataset, InMemDataset, RunError, Split, Target, Task, TrainConfig, load_pretrained, load_run_config,
};

/// The task.
pub struct Tagging;

/// Which pictures and words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagWorld {
    /// MNIST digits; tags from [`DIGIT_WORDS`].
    #[default]
    Mnist,
    /// Shapes-world scenes; tags are the colours, shapes and sizes present.
    Shapes,
}

/// Each digit's name and the words that describe it: parity, primality, and the strokes it is drawn with.
pub const DIGIT_WORDS: [(&str, &[&str]); 10] = [
    ("zero", &["even", "round", "loop", "oval"]),
    ("one", &["odd", "straight", "line", "thin"]),
    ("two", &["even", "prime", "curve", "flat"]),
    ("three", &["odd", "prime", "curve", "open"]),
    ("four", &["even", "straight", "corner", "cross"]),
    ("five", &["odd", "prime", "corner", "curve"]),
    ("six", &["even", "loop", "curve", "round"]),
    ("seven", &["odd", "prime", "straight", "corner"]),
    ("eight", &["even", "loop", "round", "double"]),
    ("nine", &["odd", "loop", "curve", "line"]),
];

/// Which image encoder each zero-shot split uses.
// A config is built once per run: the size difference between the variants costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ZeroShotEncoder {
    /// A new MNIST encoder per split and seed, trained without the split's held-out digits: no part of the
    /// system has seen them. The default, with a smaller, shorter-trained encoder than the mnist task's.
    PerSplit {
        /// The encoder's mnist task (its `exclude_digits` is set per split).
        mnist: crate::encoders::mnist::MnistConfig,
    },
    /// The `encoder_run`'s encoder for every split: it was trained on all ten digits, the seen-class leak.
    Shared,
}

impl Default for ZeroShotEncoder {
    fn default() -> Self {
        let defaults = crate::encoders::mnist::MnistConfig::default();
        let mnist = crate::encoders::mnist::MnistConfig {
            encoder: mm_vision::encoders::ImageEncoderConfig::new().with_stages(vec![16, 32, 64]).with_blocks_per_stage(1),
            train: crate::runner::TrainConfig { epochs: 3, ..defaults.train.clone() },
            ..defaults
        };
        Self::PerSplit { mnist }
    }
}

/// The zero-shot protocol: encoders and seeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZeroShotProtocol {
    /// Default: per split.
    pub encoder: ZeroShotEncoder,
    /// Seeds per split (encoder and tagging model both). Default 3.
    pub seeds: usize,
}

impl Default for ZeroShotProtocol {
    fn default() -> Self {
        Self { encoder: ZeroShotEncoder::default(), seeds: 3 }
    }
}

crate::runner::model_settings!(
    /// The model's settings in the task's config; the image feature's and the word vectors' widths come from the
    /// data.
    model_settings: TaggingModelConfig = TaggingModelConfig::new(0, 0), from_data: ["d_image", "d_word"]
);

/// Its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TaggingConfig {
    /// MNIST or the shapes world. Default mnist.
    pub world: TagWorld,
    /// The finished run whose image encoder is used (frozen). Default `runs/WORLD/latest`.
    pub encoder_run: Option<PathBuf>,
    /// Word vectors (any format mm-text reads). Default `runs/word2vec/vectors.bin` (`cargo xtask train word2vec`).
    pub vectors: PathBuf,
    /// Digits left out of training entirely — their images and their names — for zero-shot tagging (MNIST).
    /// Default none.
    pub held_out: Vec<u8>,
    /// The zero-shot protocol's encoders and seeds (`cargo xtask train tagging --zero-shot`).
    pub zero_shot: ZeroShotProtocol,
    /// The two heads (`d_joint`, `word_head`, `image_hidden`, `dropout` …, beside the task's settings in a file):
    /// defaults in [`TaggingModelConfig`]. Without a word head (DeViSE's design) the joint space is the word
    /// vectors' own and `d_joint` is not read.
    #[serde(flatten, with = "model_settings")]
    pub model: TaggingModelConfig,
    /// The runner's settings. Defaults: 8 epochs, batch 256, lr 1e-3.
    pub train: TrainConfig,
    /// The shapes world: test scenes drawn from this seed instead of the encoder run's test seed (`eval
    /// --test-seed`). Default none.
    pub test_seed: Option<u64>,
}

impl Default for TaggingConfig {
    fn default() -> Self {
        Self {
            world: TagWorld::Mnist,
            encoder_run: None,
            vectors: PathBuf::from("runs/word2vec/vectors.bin"),
            held_out: Vec::new(),
            zero_shot: ZeroShotProtocol::default(),
            model: model_settings::defaults(),
            train: TrainConfig { epochs: 8, batch_size: 256, lr: 1e-3, ..TrainConfig::default() },
            test_seed: None,
        }
    }
}

impl TaggingConfig {
    /// The shapes encoder run's config with this config's test seed, if any: the scenes of each split.
    fn shapes_scenes(&self, run: &std::path::Path) -> Result<crate::encoders::shapes::ShapesTaskConfig, RunError> {
        let mut scenes = crate::runner::load_run_config::<Shapes>(run)?;
        scenes.test_seed = self.test_seed.unwrap_or(scenes.test_seed);
        Ok(scenes)
    }

    /// The encoder run in use.
    pub fn encoder_run(&self) -> PathBuf {
        self.encoder_run.clone().unwrap_or_else(|| {
            PathBuf::from("runs")
                .join(match self.world {
                    TagWorld::Mnist => "mnist",
                    TagWorld::Shapes => "shapes",
                })
                .join("latest")
        })
    }

    /// The digits trained on (all but the held-out ones).
    pub fn seen_digits(&self) -> Vec<u8> {
        (0..10).filter(|d| !self.held_out.contains(d)).collect()
    }

    /// The training tags, in logit order: the seen digits' names, then every describing word (MNIST); or the
    /// colour, shape and size words (shapes).
    pub fn tags(&self) -> Vec<String> {
        match self.world {
            TagWorld::Mnist => {
                let mut tags: Vec<String> = self.seen_digits().iter().map(|&d| DIGIT_WORDS[d as usize].0.to_string()).collect();
                for (_, words) in DIGIT_WORDS {
                    for word in words {
                        if !tags.iter().any(|t| t == word) {
                            tags.push(word.to_string());
                        }
                    }
                }
                tags
            }
            TagWorld::Shapes => Colour::ALL
                .iter()
                .map(|c| c.name())
                .chain(Shape::ALL.iter().map(|s| s.name()))
                .chain([Size::Small.name(), Size::Large.name()])
                .map(String::from)
                .collect(),
        }
    }

    fn check(&self) -> Result<(), RunError> {
        if self.held_out.iter().any(|&d| d > 9) || (self.world == TagWorld::Shapes && !self.held_out.is_empty()) {
            return Err(RunError::bad_setting("held_out", format!("{:?}", self.held_out), "must be MNIST digits 0–9 (world mnist)"));
        }
        if self.held_out.len() >= 9 {
            return Err(RunError::bad_setting("held_out", format!("{:?}", self.held_out), "hold out at most 8 digits, or nothing is left to learn from"));
        }
        Ok(())
    }
}

/// Pretrained features of one split's pictures, with what they show.
#[derive(Debug, Clone)]
pub struct WorldFeatures {
    /// `[N, dim]` row-major.
    pub features: Vec<f32>,
    /// Feature width.
    pub dim: usize,
    /// The pictures themselves, for retrieval grids: `[N, C·H·W]` in the encoder's input scale.
    pub pictures: Vec<f32>,
    /// `[C, H, W]` of a picture.
    pub shape: [usize; 3],
    /// Per picture, the words that apply (digit name and describing words; or the scene's attributes).
    pub words: Vec<Vec<String>>,
    /// MNIST: the digit of each picture.
    pub digits: Vec<u8>,
}

/// Encodes every picture of `split` with the frozen encoder of `config`'s encoder run (the encoder's own
/// training, validation and test pictures). With `cache`, the features are read from or saved to that file.
pub fn world_features(
    config: &TaggingConfig,
    root: &DataRoot,
    split: Split,
    device: &Device,
    cache: Option<&std::path::Path>,
) -> Result<WorldFeatures, RunError> {
    let run = config.encoder_run();
    let encode = |encoder: &mm_vision::encoders::ImageEncoder, pictures: &[f32], shape: [usize; 3]| -> Result<Vec<f32>, RunError> {
        let compute = || Ok(encode_images(encoder, pictures, shape, Readout::AverageAndMax, device));
        match cache {
            Some(path) => cached_rows(path, compute),
            None => compute(),
        }
    };
    match config.world {
        TagWorld::Mnist => {
            let (mnist_config, classifier) = load_pretrained::<Mnist>(&run, device)?;
            let items = mnist_split(root, mnist_config.validation, split)?;
            let pictures: Vec<f32> = (0..items.len()).flat_map(|i| items.picture(i)).collect();
            let digits: Vec<u8> = (0..items.len()).map(|i| items.digit(i)).collect();
            let features = encode(&classifier.encoder, &pictures, [1, 28, 28])?;
            let words = digits.iter().map(|&d| digit_words(d)).collect();
            Ok(WorldFeatures { dim: features.len() / digits.len().max(1), features, pictures, shape: [1, 28, 28], words, digits })
        }
        TagWorld::Shapes => {
            let describer = load_pretrained::<Shapes>(&run, device)?.1;
            let shapes_config = config.shapes_scenes(&run)?;
            let scenes = shapes_config.items(split)?;
            let side = shapes_config.image_size as usize;
            let (mut pictures, mut words) = (Vec::new(), Vec::new());
            for i in 0..scenes.len() {
                let item = scenes.get(i)?;
                pictures.extend_from_slice(&item.input);
                let Target::Labels(row) = item.target else { unreachable!("shapes scenes have labels") };
                words.push(scene_words(&row));
            }
            let features = encode(&describer.encoder, &pictures, [3, side, side])?;
            Ok(WorldFeatures { dim: features.len() / words.len().max(1), features, pictures, shape: [3, side, side], words, digits: Vec::new() })
        }
    }
}

/// The words that apply to each picture of `split`, without encoding anything (for baselines).
pub fn split_words(config: &TaggingConfig, root: &DataRoot, split: Split) -> Result<Vec<Vec<String>>, RunError> {
    let run = config.encoder_run();
    match config.world {
        TagWorld::Mnist => {
            let mnist_config = crate::runner::load_run_config::<Mnist>(&run)?;
            let items = mnist_split(root, mnist_config.validation, split)?;
            Ok((0..items.len()).map(|i| digit_words(items.digit(i))).collect())
        }
        TagWorld::Shapes => {
            let scenes = config.shapes_scenes(&run)?.items(split)?;
            (0..scenes.len())
                .map(|i| {
                    let item = scenes.get(i)?;
                    let Target::Labels(row) = item.target else { unreachable!("shapes scenes have labels") };
                    Ok(scene_words(&row))
                })
                .collect()
        }
    }
}

fn digit_words(d: u8) -> Vec<String> {
    std::iter::once(DIGIT_WORDS[d as usize].0).chain(DIGIT_WORDS[d as usize].1.iter().copied()).map(String::from).collect()
}

/// Label "small red circle" → the words "small", "red", "circle", each once per scene.
fn scene_words(labels: &[f32]) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for (name, _) in label_names().iter().zip(labels).filter(|(_, v)| **v > 0.5) {
        for word in name.split(' ') {
            if !words.iter().any(|w| w == word) {
                words.push(word.to_string());
            }
        }
    }
    words
}

/// The rows of `words` in `vectors`, or an error naming the file and the missing word.
pub fn word_rows(vectors: &WordVectors, words: &[String], file: &std::path::Path) -> Result<Vec<f32>, RunError> {
    let mut rows = Vec::with_capacity(words.len() * vectors.dim());
    for word in words {
        let row = vectors.get(word).ok_or_else(|| RunError::invalid(file, format!("no vector for the tag {word:?}")))?;
        rows.extend_from_slice(row);
    }
    Ok(rows)
}

/// Reads the word vectors a config names, as a typed error naming the file.
pub fn load_vectors(config: &TaggingConfig) -> Result<WordVectors, RunError> {
    WordVectors::load(&config.vectors).map_err(|e| RunError::MissingRun {
        looked_in: config.vectors.clone(),
        problem: e.to_string(),
        train_with: Some("word2vec".into()),
    })
}

impl Task for Tagging {
    const NAME: &'static str = "tagging";
    type Config = TaggingConfig;
    type Item = ClassItem;
    type Model = TaggingModel;

    fn train_config(config: &TaggingConfig) -> &TrainConfig {
        &config.train
    }

    fn train_config_mut(config: &mut TaggingConfig) -> &mut TrainConfig {
        &mut config.train
    }

    /// The shapes world's test scenes drawn from `seed`; MNIST's test split is fixed.
    fn with_test_seed(config: &TaggingConfig, seed: u64) -> Option<TaggingConfig> {
        (config.world == TagWorld::Shapes).then(|| TaggingConfig { test_seed: Some(seed), ..config.clone() })
    }

    fn pretrained_runs(config: &mut TaggingConfig) -> Vec<&mut PathBuf> {
        let default = config.encoder_run();
        vec![config.encoder_run.get_or_insert(default)]
    }

    fn inputs(config: &TaggingConfig) -> Vec<PathBuf> {
        let run = config.encoder_run();
        vec![run.join(crate::runner::CONFIG_FILE), run.join(crate::runner::MODEL_FILE), config.vectors.clone()]
    }

    /// The seen pictures' frozen features (computed once per run, `prepared/`); one yes/no label per training
    /// tag.
    fn dataset(config: &TaggingConfig, context: &Context, split: Split) -> Result<Arc<dyn Dataset<ClassItem>>, RunError> {
        config.check()?;
        let device = crate::DeviceKind::resolve(config.train.device)?.device()?;
        let cache = context.prepared().join(format!("{}-features.npy", split.name()));
        let world = world_features(config, &context.root, split, &device, (split != Split::Test).then_some(cache.as_path()))?;
        let tags = config.tags();
        let mut items = Vec::new();
        for (i, words) in world.words.iter().enumerate() {
            if world.digits.get(i).is_some_and(|d| config.held_out.contains(d)) {
                continue;
            }
            let labels = tags.iter().map(|t| if words.contains(t) { 1.0 } else { 0.0 }).collect();
            items.push(ClassItem { input: world.features[i * world.dim..(i + 1) * world.dim].to_vec(), target: Target::Labels(labels) });
        }
        Ok(Arc::new(InMemDataset::new(items)))
    }

    fn batcher(_config: &TaggingConfig) -> Arc<dyn Batcher<ClassItem, ClassBatch>> {
        Arc::new(ClassBatcher)
    }

    fn model(config: &TaggingConfig, device: &Device) -> Result<TaggingModel, RunError> {
        config.check()?;
        crate::runner::check_dropout("tagging: dropout", config.model.dropout)?;
        let vectors = load_vectors(config)?;
        let tags = config.tags();
        let rows = word_rows(&vectors, &tags, &config.vectors)?;
        let d_image = match config.world {
            TagWorld::Mnist => load_run_config::<Mnist>(&config.encoder_run())?.encoder.output_dim(),
            TagWorld::Shapes => load_run_config::<Shapes>(&config.encoder_run())?.encoder.output_dim(),
        } * 2;
        let tag_vectors = Tensor::<2>::from_data(TensorData::new(rows, [tags.len(), vectors.dim()]), device);
        let d_joint = if config.model.word_head { config.model.d_joint } else { vectors.dim() };
        Ok(TaggingModelConfig { d_image, d_word: vectors.dim(), d_joint, ..config.model.clone() }.init(tag_vectors, device))
    }
}
