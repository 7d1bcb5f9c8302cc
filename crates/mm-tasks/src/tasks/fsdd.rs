//! `fsdd`: a spoken-digit classifier on the Free Spoken Digit Dataset's official split (recordings 0–4 of each
//! speaker and digit are the test set), from log-mel spectrograms or from raw waveforms.

use burn::tensor::Device;
use mm_audio::datasets::{Fsdd, FsddSplit};
use mm_audio::encoders::{LogMelCnnConfig, WaveformCnnConfig};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::data_error;
use super::spectrogram::{random_time_shift, MapReadout, SoundClassifier, SoundFeatures, SoundInput, SoundModelConfig};
use crate::data::{DataRoot, Dataset};
use crate::runner::{Examples, RunError, Split, Targets, Task, TrainConfig};

/// The task.
pub struct FsddDigits;

/// Its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FsddConfig {
    /// Recordings → examples. Default: 8 kHz, 1 s, log-mel with n_fft 256, hop 80, 40 bands (40 × 101).
    pub features: SoundFeatures,
    /// Input and encoders. Default: log-mel into a CNN with stages [16, 32, 64], one conv each, its last map
    /// flattened (5 × 12 × 64) into the classifier; dropout 0.3.
    /// For the waveform variant set `input = "waveform"` (SoundNet's conv1–conv5).
    pub model: SoundModelConfig,
    /// Random time shift of training examples, in frames (log-mel) or samples (waveform). Default 8.
    pub max_shift: usize,
    /// The runner's settings. Defaults: 20 epochs, batch 32, lr 2e-3.
    pub train: TrainConfig,
}

impl Default for FsddConfig {
    fn default() -> Self {
        Self {
            features: SoundFeatures { sample_rate: 8000, seconds: 1.0, n_fft: 256, hop: 80, mels: 40 },
            model: SoundModelConfig {
                input: SoundInput::LogMel,
                log_mel_cnn: LogMelCnnConfig::new().with_stages(vec![16, 32, 64]).with_convs_per_stage(1),
                waveform_cnn: WaveformCnnConfig::new(),
                dropout: 0.3,
                readout: MapReadout::Flatten,
            },
            max_shift: 8,
            train: TrainConfig { epochs: 20, batch_size: 32, lr: 2e-3, ..TrainConfig::default() },
        }
    }
}

impl Task for FsddDigits {
    const NAME: &'static str = "fsdd";
    type Config = FsddConfig;
    type Model = SoundClassifier;

    fn train_config(config: &FsddConfig) -> &TrainConfig {
        &config.train
    }

    fn train_config_mut(config: &mut FsddConfig) -> &mut TrainConfig {
        &mut config.train
    }

    fn data(config: &FsddConfig, root: &DataRoot, split: Split) -> Result<Examples, RunError> {
        let fsdd = Fsdd::open(root.dataset(Dataset::Fsdd).map_err(data_error)?).map_err(data_error)?;
        let part = if split == Split::Train { FsddSplit::Train } else { FsddSplit::Test };
        let recordings: Vec<_> = fsdd.split(part).collect();
        let inputs = config.features.examples(config.model.input, recordings.iter().map(|r| r.load()))?;
        let [rows, columns] = config.features.shape(config.model.input);
        let names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"].map(String::from).to_vec();
        let labels = recordings.iter().map(|r| r.digit as u32).collect();
        Ok(Examples { inputs, example_len: rows * columns, targets: Targets::Classes { labels, names } })
    }

    fn model(config: &FsddConfig, device: &Device) -> Result<SoundClassifier, RunError> {
        Ok(SoundClassifier::new(&config.model, config.features.shape(config.model.input), 10, device))
    }

    fn augment(config: &FsddConfig, example: &mut [f32], rng: &mut ChaCha8Rng) {
        let [rows, _] = config.features.shape(config.model.input);
        random_time_shift(example, rows, config.max_shift, rng);
    }
}
