//! `mnist`: a digit classifier on MNIST, the image encoder later systems start from. Validation is 5,000 of the
//! 60,000 training pictures (drawn once by a fixed seed); the 10,000 test pictures are read at the end.

use std::sync::Arc;

use burn::tensor::Device;
use mm_vision::encoders::ImageEncoderConfig;
use mm_vision::mnist::{MnistPart, MnistSplit, read_mnist};
use mm_vision::transforms::{Normalize, random_shift};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{ImageClassifier, ImageClassifierConfig, Readout};
use crate::data::{DIGIT_NAMES, DataRoot};
use crate::data_error;
use crate::runner::{
    Batcher, ClassBatch, ClassBatcher, ClassItem, Context, Dataset, DatasetError, Loader, RunError, Scores, Selection, Split, Target, TargetKind, Task,
    TrainConfig, carve_part, classification_scores,
};

/// The seed the validation pictures are drawn with: fixed, so every run of any seed validates on the same ones.
pub const VALIDATION_SEED: u64 = 0x5EED;

/// The task.
pub struct Mnist;

/// Its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MnistConfig {
    /// The encoder. Default: VGG-style, stages [32, 64, 128], one conv block each (28×28 → 3×3 × 128).
    pub encoder: ImageEncoderConfig,
    /// Random translation of training images, in pixels each way. Default 2.
    pub max_shift: usize,
    /// Dropout before the classifier. Default 0.2.
    pub dropout: f64,
    /// Training pictures held out for validation. Default 5,000.
    pub validation: usize,
    /// Digits this classifier never sees, in any split (the encoder of a zero-shot split must not have seen
    /// the held-out classes). Default none.
    pub exclude_digits: Vec<u8>,
    /// The runner's settings. Defaults: 6 epochs, batch 128, lr 3e-3, weight decay 1e-4.
    pub train: TrainConfig,
}

impl Default for MnistConfig {
    fn default() -> Self {
        Self {
            encoder: ImageEncoderConfig::new().with_stages(vec![32, 64, 128]).with_blocks_per_stage(1),
            max_shift: 2,
            dropout: 0.2,
            validation: 5000,
            exclude_digits: Vec::new(),
            train: TrainConfig { epochs: 6, batch_size: 128, lr: 3e-3, ..TrainConfig::default() },
        }
    }
}

/// MNIST pictures as items, scaled and normalised when asked for: the data set stays as its bytes.
pub struct MnistItems {
    images: Arc<MnistSplit>,
    indices: Vec<usize>,
    normalize: Normalize,
}

impl MnistItems {
    /// The pictures of `part` at `indices` (all of them when `None`).
    pub fn open(root: &DataRoot, part: MnistPart, indices: Option<Vec<usize>>) -> Result<Self, RunError> {
        let dir = root.dataset(crate::data::Dataset::Mnist).map_err(data_error)?;
        let images = read_mnist(&dir, part).map_err(data_error)?;
        let indices = indices.unwrap_or_else(|| (0..images.len()).collect());
        Ok(Self { images: Arc::new(images), indices, normalize: Normalize::mnist() })
    }

    /// The digit of item `i`.
    pub fn digit(&self, i: usize) -> u8 {
        self.images.labels[self.indices[i]]
    }

    /// Item `i`'s picture as MNIST stores it: 28 × 28 bytes, row-major.
    pub fn pixels(&self, i: usize) -> &[u8] {
        self.images.image(self.indices[i])
    }

    /// Item `i`'s picture, `[784]` normalised.
    pub fn picture(&self, i: usize) -> Vec<f32> {
        let mut pixels: Vec<f32> = self.images.image(self.indices[i]).iter().map(|&p| p as f32 / 255.0).collect();
        self.normalize.apply_to(&mut pixels);
        pixels
    }
}

impl Dataset<ClassItem> for MnistItems {
    fn get(&self, index: usize) -> Result<ClassItem, DatasetError> {
        Ok(ClassItem { input: self.picture(index), target: Target::Class(self.digit(index) as u32) })
    }

    fn len(&self) -> usize {
        self.indices.len()
    }
}

/// The pictures of a split: training or validation from MNIST's training part, test from its test part.
pub fn mnist_split(root: &DataRoot, validation: usize, split: Split) -> Result<MnistItems, RunError> {
    match split {
        Split::Test => MnistItems::open(root, MnistPart::Test, None),
        Split::Train | Split::Valid => {
            let all = MnistItems::open(root, MnistPart::Train, None)?;
            let n = all.indices.len();
            if validation == 0 || validation >= n {
                return Err(RunError::bad_setting("validation", validation, format!("must be between 1 and {} pictures", n - 1)));
            }
            Ok(MnistItems { indices: carve_part(n, validation, VALIDATION_SEED, split), ..all })
        }
    }
}

impl Task for Mnist {
    const NAME: &'static str = "mnist";
    type Config = MnistConfig;
    type Item = ClassItem;
    type Model = ImageClassifier;

    fn train_config(config: &MnistConfig) -> &TrainConfig {
        &config.train
    }

    fn train_config_mut(config: &mut MnistConfig) -> &mut TrainConfig {
        &mut config.train
    }

    fn dataset(config: &MnistConfig, context: &Context, split: Split) -> Result<Arc<dyn Dataset<ClassItem>>, RunError> {
        if config.exclude_digits.iter().any(|&d| d > 9) || config.exclude_digits.len() > 8 {
            return Err(RunError::bad_setting("exclude_digits", format!("{:?}", config.exclude_digits), "must be at most 8 digits 0–9"));
        }
        let mut items = mnist_split(&context.root, config.validation, split)?;
        if !config.exclude_digits.is_empty() {
            let keep: Vec<usize> = items.indices.iter().copied().filter(|&i| !config.exclude_digits.contains(&items.images.labels[i])).collect();
            items.indices = keep;
        }
        Ok(Arc::new(items))
    }

    fn batcher(_config: &MnistConfig) -> Arc<dyn Batcher<ClassItem, ClassBatch>> {
        Arc::new(ClassBatcher)
    }

    fn model(config: &MnistConfig, device: &Device) -> Result<ImageClassifier, RunError> {
        crate::runner::check_dropout("mnist: dropout", config.dropout)?;
        if let Some(problem) = config.encoder.problem([1, 28, 28]) {
            return Err(RunError::setting("encoder", problem));
        }
        Ok(ImageClassifierConfig::new(config.encoder.clone(), [1, 28, 28], 10).with_pooling(Readout::Average).with_dropout(config.dropout).init(device))
    }

    fn augment(config: &MnistConfig, item: &mut ClassItem, rng: &mut ChaCha8Rng) {
        if config.max_shift > 0 {
            let background = (0.0 - Normalize::mnist().mean[0]) / Normalize::mnist().std[0];
            let mut shifted = Vec::with_capacity(item.input.len());
            random_shift(&item.input, 1, 28, 28, config.max_shift, background, rng, &mut shifted);
            item.input = shifted;
        }
    }

    fn evaluate(
        config: &MnistConfig,
        _context: &Context,
        model: &ImageClassifier,
        loader: &Loader<ClassItem, ClassBatch>,
        device: &Device,
    ) -> Result<Scores, RunError> {
        classification_scores(model, loader, &digit_classes(), config.train.batch_size, device)
    }

    fn selection(_config: &MnistConfig) -> Selection {
        Selection::highest("accuracy")
    }
}

/// The ten digits as classes, by name.
pub fn digit_classes() -> TargetKind {
    TargetKind::Classes(DIGIT_NAMES.iter().map(|d| d.to_string()).collect())
}

impl crate::systems::System for Mnist {}
