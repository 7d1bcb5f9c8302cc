//! `esc10`: an environmental-sound classifier on ESC-10 (10 classes, 400 clips of 5 s), evaluated with the
//! data set's 5-fold protocol: one model per fold, trained on the other four.

use burn::tensor::Device;
use mm_audio::datasets::Esc10;
use mm_audio::encoders::{LogMelCnnConfig, WaveformCnnConfig};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::data_error;
use super::spectrogram::{random_time_shift, MapReadout, SoundClassifier, SoundFeatures, SoundInput, SoundModelConfig};
use crate::data::{DataRoot, Dataset};
use crate::runner::{Examples, RunError, Split, Targets, Task, TrainConfig};

/// The task.
pub struct Esc10Sounds;

/// Its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Esc10Config {
    /// The fold held out for testing (1–5); `cargo xtask train esc10` runs all five. Default 1.
    pub fold: u8,
    /// Clips → examples. Default: resampled to 16 kHz, 5 s, log-mel with n_fft 1024, hop 1024, 64 bands (64 × 79).
    pub features: SoundFeatures,
    /// Input and encoders. Default: log-mel into a CNN with stages [16, 32, 64, 128], one conv each; dropout 0.3.
    pub model: SoundModelConfig,
    /// Random time shift of training examples, in frames. Default 20.
    pub max_shift: usize,
    /// The runner's settings. Defaults: 40 epochs, batch 16, lr 2e-3, weight decay 1e-3.
    pub train: TrainConfig,
}

impl Default for Esc10Config {
    fn default() -> Self {
        Self {
            fold: 1,
            features: SoundFeatures { sample_rate: 16_000, seconds: 5.0, n_fft: 1024, hop: 1024, mels: 64 },
            model: SoundModelConfig {
                input: SoundInput::LogMel,
                log_mel_cnn: LogMelCnnConfig::new().with_stages(vec![16, 32, 64, 128]).with_convs_per_stage(1),
                waveform_cnn: WaveformCnnConfig::new(),
                dropout: 0.3,
                readout: MapReadout::Average,
            },
            max_shift: 20,
            train: TrainConfig { epochs: 40, batch_size: 16, lr: 2e-3, weight_decay: 1e-3, ..TrainConfig::default() },
        }
    }
}

impl Task for Esc10Sounds {
    const NAME: &'static str = "esc10";
    type Config = Esc10Config;
    type Model = SoundClassifier;

    fn train_config(config: &Esc10Config) -> &TrainConfig {
        &config.train
    }

    fn train_config_mut(config: &mut Esc10Config) -> &mut TrainConfig {
        &mut config.train
    }

    fn data(config: &Esc10Config, root: &DataRoot, split: Split) -> Result<Examples, RunError> {
        if !(1..=5).contains(&config.fold) {
            return Err(RunError::Config(format!("esc10: fold must be 1 to 5, not {}", config.fold)));
        }
        let esc10 = Esc10::open(root.dataset(Dataset::Esc10).map_err(data_error)?).map_err(data_error)?;
        let (train, test) = esc10.fold_split(config.fold);
        let clips = if split == Split::Train { train } else { test };
        let inputs = config.features.examples(config.model.input, clips.iter().map(|c| c.load()))?;
        let [rows, columns] = config.features.shape(config.model.input);
        let labels = clips.iter().map(|c| c.class as u32).collect();
        Ok(Examples { inputs, example_len: rows * columns, targets: Targets::Classes { labels, names: esc10.class_names() } })
    }

    fn model(config: &Esc10Config, device: &Device) -> Result<SoundClassifier, RunError> {
        Ok(SoundClassifier::new(&config.model, config.features.shape(config.model.input), 10, device))
    }

    fn augment(config: &Esc10Config, example: &mut [f32], rng: &mut ChaCha8Rng) {
        let [rows, _] = config.features.shape(config.model.input);
        random_time_shift(example, rows, config.max_shift, rng);
    }
}

/// One fold's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FoldResult {
    /// The held-out fold.
    pub fold: u8,
    /// Accuracy on it.
    pub accuracy: f64,
    /// Mean loss on it.
    pub loss: f64,
}

/// The 5-fold result: what ESC-10 papers report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CrossValidation {
    /// Each fold.
    pub folds: Vec<FoldResult>,
    /// Mean accuracy over the folds.
    pub mean_accuracy: f64,
    /// Standard deviation of the fold accuracies.
    pub std_accuracy: f64,
}

impl CrossValidation {
    fn new(folds: Vec<FoldResult>) -> Self {
        let n = folds.len().max(1) as f64;
        let mean = folds.iter().map(|f| f.accuracy).sum::<f64>() / n;
        let std = (folds.iter().map(|f| (f.accuracy - mean).powi(2)).sum::<f64>() / n).sqrt();
        Self { folds, mean_accuracy: mean, std_accuracy: std }
    }
}

/// Trains one model per fold in `run/fold-K/` and writes the summary to `run/evaluation.json`. With `resume`,
/// folds that finished are kept and an interrupted fold continues from its checkpoint. `None` if `stop_after`
/// stopped a fold early.
pub fn train_folds(config: &Esc10Config, root: &DataRoot, run: &crate::runner::RunDir, resume: bool, stop_after: Option<usize>) -> Result<Option<CrossValidation>, RunError> {
    let mut folds = Vec::new();
    for fold in 1..=5u8 {
        let child = run.child(&format!("fold-{fold}"))?;
        let done = child.path().join("evaluation.json");
        let evaluation = if resume && done.exists() {
            let text = std::fs::read_to_string(&done).map_err(|e| RunError::Io { path: done.clone(), source: e })?;
            serde_json::from_str(&text).map_err(|e| RunError::Invalid { path: done.clone(), problem: e.to_string() })?
        } else {
            let fold_config = Esc10Config { fold, ..config.clone() };
            match crate::runner::train_task::<Esc10Sounds>(&fold_config, root, &child, resume, stop_after)?.evaluation {
                Some(evaluation) => evaluation,
                None => return Ok(None),
            }
        };
        eprintln!("esc10 fold {fold}: accuracy {:.4}", evaluation.accuracy);
        folds.push(FoldResult { fold, accuracy: evaluation.accuracy, loss: evaluation.loss });
    }
    let summary = CrossValidation::new(folds);
    let path = run.path().join("evaluation.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&summary).expect("serialises")).map_err(|e| RunError::Io { path, source: e })?;
    Ok(Some(summary))
}

/// Reloads each fold's model from `run/fold-K/` and evaluates it on its held-out fold.
pub fn eval_folds(run: &std::path::Path, root: &DataRoot, device: Option<crate::DeviceKind>) -> Result<CrossValidation, RunError> {
    let mut folds = Vec::new();
    for fold in 1..=5u8 {
        let evaluation = crate::runner::eval_run::<Esc10Sounds>(&run.join(format!("fold-{fold}")), root, Split::Test, device)?;
        folds.push(FoldResult { fold, accuracy: evaluation.accuracy, loss: evaluation.loss });
    }
    Ok(CrossValidation::new(folds))
}
