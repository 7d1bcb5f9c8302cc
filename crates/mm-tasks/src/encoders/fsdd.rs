//! `fsdd`: a spoken-digit classifier on the Free Spoken Digit Dataset's official split (recordings 0–4 of each
//! speaker and digit are the test set), from log-mel spectrograms or from raw waveforms. Validation is 270 of
//! the 2,700 training recordings, drawn once by a fixed seed.

use std::sync::Arc;

use burn::tensor::Device;
use mm_audio::datasets::{Fsdd, FsddRecording, FsddSplit};
use mm_audio::encoders::{LogMelCnnConfig, WaveformCnnConfig};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::mnist::{VALIDATION_SEED, digit_classes};
use super::sound::{MapReadout, SoundClassifier, SoundFeatures, SoundInput, SoundModelConfig, class_items, random_time_shift};
use crate::data::{DataRoot, data_error};
use crate::runner::{
    Batcher, ClassBatch, ClassBatcher, ClassItem, Context, Dataset, InMemDataset, Loader, RunError, Scores, Selection, Split, Task, TrainConfig, carve_part,
    classification_scores,
};

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
    /// Training recordings held out for validation. Default 270 (10%).
    pub validation: usize,
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
            validation: 270,
            train: TrainConfig { epochs: 20, batch_size: 32, lr: 2e-3, ..TrainConfig::default() },
        }
    }
}

/// The recordings of a split: training and validation carved from FSDD's training takes, test its test takes.
pub fn fsdd_recordings(root: &DataRoot, validation: usize, split: Split) -> Result<Vec<FsddRecording>, RunError> {
    let fsdd = Fsdd::open(root.dataset(crate::data::Dataset::Fsdd).map_err(data_error)?).map_err(data_error)?;
    if split == Split::Test {
        return Ok(fsdd.split(FsddSplit::Test).cloned().collect());
    }
    let train: Vec<FsddRecording> = fsdd.split(FsddSplit::Train).cloned().collect();
    if validation == 0 || validation >= train.len() {
        return Err(RunError::Config(format!("fsdd: validation must be between 1 and {} recordings, not {validation}", train.len().saturating_sub(1))));
    }
    Ok(carve_part(train.len(), validation, VALIDATION_SEED, split).into_iter().map(|i| train[i].clone()).collect())
}

impl Task for FsddDigits {
    const NAME: &'static str = "fsdd";
    type Config = FsddConfig;
    type Item = ClassItem;
    type Model = SoundClassifier;

    fn train_config(config: &FsddConfig) -> &TrainConfig {
        &config.train
    }

    fn train_config_mut(config: &mut FsddConfig) -> &mut TrainConfig {
        &mut config.train
    }

    /// The recordings' features, computed when the split is opened (a few seconds; decoding and the log-mel
    /// would otherwise repeat every epoch).
    fn dataset(config: &FsddConfig, context: &Context, split: Split) -> Result<Arc<dyn Dataset<ClassItem>>, RunError> {
        let recordings = fsdd_recordings(&context.root, config.validation, split)?;
        let classes: Vec<u32> = recordings.iter().map(|r| r.digit as u32).collect();
        let items = class_items(&config.features, config.model.input, recordings.iter().map(|r| r.load()), &classes)?;
        Ok(Arc::new(InMemDataset::new(items)))
    }

    fn batcher(_config: &FsddConfig) -> Arc<dyn Batcher<ClassItem, ClassBatch>> {
        Arc::new(ClassBatcher)
    }

    fn model(config: &FsddConfig, device: &Device) -> Result<SoundClassifier, RunError> {
        config.model.check("fsdd", config.features.shape(config.model.input))?;
        Ok(config.model.init(config.features.shape(config.model.input), 10, device))
    }

    fn augment(config: &FsddConfig, item: &mut ClassItem, rng: &mut ChaCha8Rng) {
        let [rows, _] = config.features.shape(config.model.input);
        random_time_shift(&mut item.input, rows, config.max_shift, rng);
    }

    fn evaluate(
        config: &FsddConfig,
        _context: &Context,
        model: &SoundClassifier,
        loader: &Loader<ClassItem, ClassBatch>,
        device: &Device,
    ) -> Result<Scores, RunError> {
        classification_scores(model, loader, &digit_classes(), config.train.batch_size, device)
    }

    fn selection(_config: &FsddConfig) -> Selection {
        Selection::highest("accuracy")
    }
}
