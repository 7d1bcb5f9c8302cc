//! `mnist`: a digit classifier on MNIST, the image encoder later systems start from.

use burn::tensor::Device;
use mm_vision::encoders::ImageEncoderConfig;
use mm_vision::mnist::{read_mnist, MnistPart};
use mm_vision::transforms::{random_shift, Normalize};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{data_error, ImageClassifier, Pooling};
use crate::data::{DataRoot, Dataset};
use crate::runner::{Examples, RunError, Split, Targets, Task, TrainConfig};

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
    /// The runner's settings. Defaults: 6 epochs, batch 128, lr 3e-3, weight decay 1e-4.
    pub train: TrainConfig,
}

impl Default for MnistConfig {
    fn default() -> Self {
        Self {
            encoder: ImageEncoderConfig::new().with_stages(vec![32, 64, 128]).with_blocks_per_stage(1),
            max_shift: 2,
            dropout: 0.2,
            train: TrainConfig { epochs: 6, batch_size: 128, lr: 3e-3, ..TrainConfig::default() },
        }
    }
}

impl Task for Mnist {
    const NAME: &'static str = "mnist";
    type Config = MnistConfig;
    type Model = ImageClassifier;

    fn train_config(config: &MnistConfig) -> &TrainConfig {
        &config.train
    }

    fn train_config_mut(config: &mut MnistConfig) -> &mut TrainConfig {
        &mut config.train
    }

    fn data(_config: &MnistConfig, root: &DataRoot, split: Split) -> Result<Examples, RunError> {
        let dir = root.dataset(Dataset::Mnist).map_err(data_error)?;
        let part = if split == Split::Train { MnistPart::Train } else { MnistPart::Test };
        let images = read_mnist(&dir, part).map_err(data_error)?;
        let normalize = Normalize::mnist();
        let mut inputs: Vec<f32> = images.pixels.iter().map(|&p| p as f32 / 255.0).collect();
        normalize.apply_to_each(&mut inputs, images.rows * images.cols);
        let names = (0..10).map(|d| d.to_string()).collect();
        Ok(Examples {
            inputs,
            example_len: images.rows * images.cols,
            targets: Targets::Classes { labels: images.labels.iter().map(|&l| l as u32).collect(), names },
        })
    }

    fn model(config: &MnistConfig, device: &Device) -> Result<ImageClassifier, RunError> {
        Ok(ImageClassifier::new(&config.encoder, [1, 28, 28], 10, Pooling::Average, config.dropout, device))
    }

    fn augment(config: &MnistConfig, example: &mut [f32], rng: &mut ChaCha8Rng) {
        if config.max_shift > 0 {
            let background = (0.0 - Normalize::mnist().mean[0]) / Normalize::mnist().std[0];
            let mut shifted = Vec::with_capacity(example.len());
            random_shift(example, 1, 28, 28, config.max_shift, background, rng, &mut shifted);
            example.copy_from_slice(&shifted);
        }
    }
}
