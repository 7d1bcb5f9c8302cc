//! `fsdd`: a spoken-digit classifier on the Free Spoken Digit Dataset, from log-mel spectrograms or from raw
//! waveforms. Two protocols: FSDD's official split (recordings 0–4 of each speaker and digit are the test set;
//! validation is 270 of the 2,700 training recordings, drawn once by a fixed seed), whose test voices are all
//! heard in training, and new speakers (one speaker tests, another validates, the other four train), which says
//! how the classifier does on a voice it has never heard.

use std::sync::Arc;

use burn::tensor::Device;
use mm_audio::datasets::{Fsdd, FsddRecording, FsddSplit};
use mm_audio::encoders::{LogMelCnnConfig, WaveformCnnConfig};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::Readout;
use super::mnist::{VALIDATION_SEED, digit_classes};
use super::sound::{SoundClassifier, SoundFeatures, SoundInput, SoundModelConfig, class_items, random_time_shift};
use crate::data::DataRoot;
use crate::data_error;
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
    /// Training recordings held out for validation under the official split. Default 270 (10%).
    pub validation: usize,
    /// Which recordings validate and test. Default: the official split.
    pub protocol: FsddProtocol,
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
                readout: Readout::Flatten,
            },
            max_shift: 8,
            validation: 270,
            protocol: FsddProtocol::Official,
            train: TrainConfig { epochs: 20, batch_size: 32, lr: 2e-3, ..TrainConfig::default() },
        }
    }
}

/// Which recordings validate and test.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FsddProtocol {
    /// FSDD's official split: takes 0–4 of every speaker and digit test, so every test voice was heard in training.
    #[default]
    Official,
    /// Every recording of `test` tests and every recording of `valid` validates; the other speakers train.
    NewSpeakers {
        /// The speaker who tests (e.g. "theo").
        test: String,
        /// The speaker who validates.
        valid: String,
    },
}

impl FsddProtocol {
    /// The recordings of `split` under this protocol.
    pub fn recordings(&self, root: &DataRoot, validation: usize, split: Split) -> Result<Vec<FsddRecording>, RunError> {
        let Self::NewSpeakers { test, valid } = self else { return fsdd_recordings(root, validation, split) };
        let fsdd = Fsdd::open(root.dataset(crate::data::Dataset::Fsdd).map_err(data_error)?).map_err(data_error)?;
        let speakers = fsdd.speakers();
        for name in [test, valid] {
            if !speakers.contains(&name.as_str()) {
                return Err(RunError::bad_setting("protocol", format!("{name:?}"), format!("FSDD has no such speaker (it has {})", speakers.join(", "))));
            }
        }
        if test == valid {
            return Err(RunError::bad_setting("protocol", format!("{test:?}"), "a speaker cannot both test and validate"));
        }
        let wanted = |speaker: &str| match split {
            Split::Test => speaker == test,
            Split::Valid => speaker == valid,
            Split::Train => speaker != test && speaker != valid,
        };
        Ok(fsdd.recordings.iter().filter(|r| wanted(&r.speaker)).cloned().collect())
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
        return Err(RunError::bad_setting("validation", validation, format!("must be between 1 and {} recordings", train.len().saturating_sub(1))));
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
        let recordings = config.protocol.recordings(&context.root, config.validation, split)?;
        let classes: Vec<u32> = recordings.iter().map(|r| r.digit as u32).collect();
        let items = class_items(&config.features, config.model.input, recordings.iter().map(|r| r.load()), &classes)?;
        Ok(Arc::new(InMemDataset::new(items)))
    }

    fn batcher(_config: &FsddConfig) -> Arc<dyn Batcher<ClassItem, ClassBatch>> {
        Arc::new(ClassBatcher)
    }

    fn model(config: &FsddConfig, device: &Device) -> Result<SoundClassifier, RunError> {
        config.features.check()?;
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

impl crate::systems::System for FsddDigits {}
