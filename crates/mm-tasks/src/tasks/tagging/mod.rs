//! `tagging`: images and words in one visual-semantic space (DeViSE). The pretrained image encoder of an earlier
//! run and mm's own word vectors are joined by two projection heads trained by a pairwise sigmoid loss over
//! (image, tag) pairs. Tags are words: on MNIST the digit names and words describing the digits (parity and
//! stroke shapes); on the shapes world the colour, shape and size words of each scene.

use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use mm_joint::tagging::{TaggingModel, TaggingModelConfig};
use mm_text::vectors::WordVectors;
use serde::{Deserialize, Serialize};

mod report;

pub use report::{evaluate_tagging, search_images, tag_image, Arithmetic, TaggingReport, ZeroShot};

use super::mnist::{Mnist, MnistConfig};
use super::pretrained::{encode_images, load_pretrained, MapReadout};
use super::shapes::Shapes;
use crate::data::DataRoot;
use crate::runner::{load_config, Classifier, Examples, RunError, Split, Targets, Task, TrainConfig, CONFIG_FILE};
use crate::shapes::{Colour, Shape, Size};

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

/// Its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
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
    /// Width of the joint space. Default 128 (without a word head, the word vectors' width).
    pub d_joint: usize,
    /// Whether words pass through a learned projection; `false` maps images into the word space itself
    /// (DeViSE's design). Default true.
    pub word_head: bool,
    /// Hidden width of the image head (0: linear). Default 256.
    pub image_hidden: usize,
    /// Dropout in the image head. Default 0.1.
    pub dropout: f64,
    /// The runner's settings. Defaults: 8 epochs, batch 256, lr 1e-3.
    pub train: TrainConfig,
}

impl Default for TaggingConfig {
    fn default() -> Self {
        Self {
            world: TagWorld::Mnist,
            encoder_run: None,
            vectors: PathBuf::from("runs/word2vec/vectors.bin"),
            held_out: Vec::new(),
            d_joint: 128,
            word_head: true,
            image_hidden: 256,
            dropout: 0.1,
            train: TrainConfig { epochs: 8, batch_size: 256, lr: 1e-3, ..TrainConfig::default() },
        }
    }
}

impl TaggingConfig {
    /// The encoder run in use.
    pub fn encoder_run(&self) -> PathBuf {
        self.encoder_run.clone().unwrap_or_else(|| {
            PathBuf::from("runs").join(match self.world {
                TagWorld::Mnist => "mnist",
                TagWorld::Shapes => "shapes",
            }).join("latest")
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
            return Err(RunError::Config(format!("tagging: held_out {:?} must be MNIST digits 0–9 (world mnist)", self.held_out)));
        }
        if self.held_out.len() >= 9 {
            return Err(RunError::Config("tagging: hold out at most 8 digits, or nothing is left to learn from".into()));
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

/// Encodes every picture of `split` with the frozen encoder of `config`'s encoder run.
pub fn world_features(config: &TaggingConfig, root: &DataRoot, split: Split, device: &Device) -> Result<WorldFeatures, RunError> {
    let run = config.encoder_run();
    match config.world {
        TagWorld::Mnist => {
            let (_, classifier) = load_pretrained::<Mnist>(&run, device)?;
            let examples = Mnist::data(&MnistConfig::default(), root, split)?;
            let Targets::Classes { labels, .. } = &examples.targets else { unreachable!("mnist has classes") };
            let features = encode_images(&classifier.encoder, &examples.inputs, [1, 28, 28], MapReadout::AverageAndMax, device);
            let digits: Vec<u8> = labels.iter().map(|&l| l as u8).collect();
            let words = digits
                .iter()
                .map(|&d| std::iter::once(DIGIT_WORDS[d as usize].0).chain(DIGIT_WORDS[d as usize].1.iter().copied()).map(String::from).collect())
                .collect();
            Ok(WorldFeatures { dim: features.len() / digits.len().max(1), features, pictures: examples.inputs, shape: [1, 28, 28], words, digits })
        }
        TagWorld::Shapes => {
            let (shapes_config, describer) = load_pretrained::<Shapes>(&run, device)?;
            let examples = Shapes::data(&shapes_config, root, split)?;
            let side = shapes_config.image_size as usize;
            let features = encode_images(&describer.encoder, &examples.inputs, [3, side, side], MapReadout::AverageAndMax, device);
            let Targets::Labels { values, names } = &examples.targets else { unreachable!("shapes has labels") };
            // Label "small red circle" → the words "small", "red", "circle".
            let words = values
                .chunks(names.len())
                .map(|row| {
                    let mut words: Vec<String> = Vec::new();
                    for (name, _) in names.iter().zip(row).filter(|(_, v)| **v > 0.5) {
                        for word in name.split(' ') {
                            if !words.iter().any(|w| w == word) {
                                words.push(word.to_string());
                            }
                        }
                    }
                    words
                })
                .collect::<Vec<_>>();
            Ok(WorldFeatures { dim: features.len() / words.len().max(1), features, pictures: examples.inputs, shape: [3, side, side], words, digits: Vec::new() })
        }
    }
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
    WordVectors::load(&config.vectors).map_err(|e| {
        RunError::Config(format!("word vectors {}: {e} (train them first: cargo xtask train word2vec)", config.vectors.display()))
    })
}

impl Task for Tagging {
    const NAME: &'static str = "tagging";
    type Config = TaggingConfig;
    type Model = TaggingModel;

    fn train_config(config: &TaggingConfig) -> &TrainConfig {
        &config.train
    }

    fn train_config_mut(config: &mut TaggingConfig) -> &mut TrainConfig {
        &mut config.train
    }

    /// The seen pictures' frozen features; one yes/no label per training tag.
    fn data(config: &TaggingConfig, root: &DataRoot, split: Split) -> Result<Examples, RunError> {
        config.check()?;
        let device = crate::DeviceKind::resolve(config.train.device)?.device()?;
        let world = world_features(config, root, split, &device)?;
        let tags = config.tags();
        let (mut inputs, mut values) = (Vec::new(), Vec::new());
        for (i, words) in world.words.iter().enumerate() {
            if world.digits.get(i).is_some_and(|d| config.held_out.contains(d)) {
                continue;
            }
            inputs.extend_from_slice(&world.features[i * world.dim..(i + 1) * world.dim]);
            values.extend(tags.iter().map(|t| if words.contains(t) { 1.0 } else { 0.0 }));
        }
        Ok(Examples { inputs, example_len: world.dim, targets: Targets::Labels { values, names: tags } })
    }

    fn model(config: &TaggingConfig, device: &Device) -> Result<TaggingModel, RunError> {
        config.check()?;
        let vectors = load_vectors(config)?;
        let tags = config.tags();
        let rows = word_rows(&vectors, &tags, &config.vectors)?;
        let d_image = match config.world {
            TagWorld::Mnist => load_config::<MnistConfig>(&config.encoder_run().join(CONFIG_FILE))?.encoder.output_dim(),
            TagWorld::Shapes => {
                load_config::<super::shapes::ShapesTaskConfig>(&config.encoder_run().join(CONFIG_FILE))?.encoder.output_dim()
            }
        } * 2;
        let tag_vectors = Tensor::<2>::from_data(TensorData::new(rows, [tags.len(), vectors.dim()]), device);
        let d_joint = if config.word_head { config.d_joint } else { vectors.dim() };
        Ok(TaggingModelConfig::new(d_image, vectors.dim())
            .with_d_joint(d_joint)
            .with_word_head(config.word_head)
            .with_image_hidden(config.image_hidden)
            .with_dropout(config.dropout)
            .init(tag_vectors, device))
    }
}

impl Classifier for TaggingModel {
    /// Frozen image features `[B, d_image]` → log-odds of each training tag `[B, T]`.
    fn logits(&self, inputs: Tensor<2>) -> Tensor<2> {
        self.forward(inputs)
    }
}

