//! `esc10`: an environmental-sound classifier on ESC-10 (10 classes, 400 clips of 5 s), evaluated with the
//! data set's 5-fold protocol: one model per fold, trained on three of the other four and validated on the
//! fourth (the next fold round), tested once on its own.

use std::sync::Arc;

use burn::tensor::Device;
use mm_audio::datasets::Esc10;
use mm_audio::encoders::{LogMelCnnConfig, WaveformCnnConfig};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::Readout;
use super::sound::{SoundClassifier, SoundFeatures, SoundInput, SoundModelConfig, class_items, random_time_shift};
use crate::data::DataRoot;
use crate::data_error;
use crate::runner::{
    Batcher, ClassBatch, ClassBatcher, ClassItem, Context, Dataset, InMemDataset, Loader, RunDir, RunError, Scores, Selection, Span, Split, TargetKind, Task,
    TrainConfig, classification_scores,
};

/// The task.
pub struct Esc10Sounds;

/// Its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Esc10Config {
    /// The fold held out for testing (1–5; the next one, 5 → 1, validates); `cargo xtask train esc10` runs all
    /// five. Default 1.
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
                readout: Readout::Average,
            },
            max_shift: 20,
            train: esc10_train(),
        }
    }
}

fn esc10_train() -> TrainConfig {
    let mut train = TrainConfig { epochs: 40, batch_size: 16, lr: 2e-3, ..TrainConfig::default() };
    train.optimizer.weight_decay = 1e-3;
    train
}

/// The fold that validates when `fold` is tested.
pub fn validation_fold(fold: u8) -> u8 {
    fold % 5 + 1
}

impl Task for Esc10Sounds {
    const NAME: &'static str = "esc10";
    type Config = Esc10Config;
    type Item = ClassItem;
    type Model = SoundClassifier;

    fn train_config(config: &Esc10Config) -> &TrainConfig {
        &config.train
    }

    fn train_config_mut(config: &mut Esc10Config) -> &mut TrainConfig {
        &mut config.train
    }

    /// The clips' features, computed when the split is opened.
    fn dataset(config: &Esc10Config, context: &Context, split: Split) -> Result<Arc<dyn Dataset<ClassItem>>, RunError> {
        if !(1..=5).contains(&config.fold) {
            return Err(RunError::bad_setting("fold", config.fold, "must be 1 to 5"));
        }
        let esc10 = Esc10::open(context.root.dataset(crate::data::Dataset::Esc10).map_err(data_error)?).map_err(data_error)?;
        let valid = validation_fold(config.fold);
        let clips: Vec<_> = esc10
            .clips
            .iter()
            .filter(|c| match split {
                Split::Test => c.fold == config.fold,
                Split::Valid => c.fold == valid,
                Split::Train => c.fold != config.fold && c.fold != valid,
            })
            .collect();
        let classes: Vec<u32> = clips.iter().map(|c| c.class as u32).collect();
        Ok(Arc::new(InMemDataset::new(class_items(&config.features, config.model.input, clips.iter().map(|c| c.load()), &classes)?)))
    }

    fn batcher(_config: &Esc10Config) -> Arc<dyn Batcher<ClassItem, ClassBatch>> {
        Arc::new(ClassBatcher)
    }

    fn model(config: &Esc10Config, device: &Device) -> Result<SoundClassifier, RunError> {
        config.features.check()?;
        config.model.check("esc10", config.features.shape(config.model.input))?;
        Ok(config.model.init(config.features.shape(config.model.input), 10, device))
    }

    fn augment(config: &Esc10Config, item: &mut ClassItem, rng: &mut ChaCha8Rng) {
        let [rows, _] = config.features.shape(config.model.input);
        random_time_shift(&mut item.input, rows, config.max_shift, rng);
    }

    fn evaluate(
        config: &Esc10Config,
        context: &Context,
        model: &SoundClassifier,
        loader: &Loader<ClassItem, ClassBatch>,
        device: &Device,
    ) -> Result<Scores, RunError> {
        let names = Esc10::open(context.root.dataset(crate::data::Dataset::Esc10).map_err(data_error)?).map_err(data_error)?.class_names();
        classification_scores(model, loader, &TargetKind::Classes(names), config.train.batch_size, device)
    }

    fn selection(_config: &Esc10Config) -> Selection {
        Selection::highest("accuracy")
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

/// Trains one model per fold in `run/fold-K/` over `span` and writes the summary to `run/evaluation.json`.
/// Resumed, folds that finished are kept and an interrupted fold continues from its checkpoint (a fold not begun
/// starts afresh). `None` if the span stopped a fold early.
pub fn train_folds(config: &Esc10Config, root: &DataRoot, run: &RunDir, span: Span) -> Result<Option<CrossValidation>, RunError> {
    let (_lock, config) = crate::runner::start_run_of_parts::<Esc10Sounds>(config, run)?;
    let config = &config;
    let mut folds = Vec::new();
    for fold in 1..=5u8 {
        let child = run.child(&format!("fold-{fold}"))?;
        let Some(scores) = crate::runner::train_part::<Esc10Sounds>(&Esc10Config { fold, ..config.clone() }, root, &child, span)? else {
            return Ok(None);
        };
        let result = FoldResult { fold, accuracy: scores.get("accuracy").copied().unwrap_or(f64::NAN), loss: scores.get("loss").copied().unwrap_or(f64::NAN) };
        eprintln!("esc10 fold {fold}: accuracy {:.4}", result.accuracy);
        folds.push(result);
    }
    let summary = CrossValidation::new(folds);
    crate::runner::write_atomically(&run.path().join(crate::runner::EVALUATION_FILE), &serde_json::to_vec_pretty(&summary).expect("serialises"))?;
    Ok(Some(summary))
}

/// Reloads each fold's model from `run/fold-K/` and evaluates it on its held-out fold.
pub fn eval_folds(run: &std::path::Path, root: &DataRoot, device: Option<crate::DeviceKind>) -> Result<CrossValidation, RunError> {
    let mut folds = Vec::new();
    for fold in 1..=5u8 {
        let scores = crate::runner::eval_run::<Esc10Sounds>(
            &run.join(format!("fold-{fold}")),
            root,
            crate::runner::Reading { device, ..crate::runner::Reading::of(Split::Test) },
        )?;
        folds.push(FoldResult { fold, accuracy: scores["accuracy"], loss: scores["loss"] });
    }
    Ok(CrossValidation::new(folds))
}

/// One line per fold, then the mean and spread: what `train esc10` and `eval esc10` print.
impl std::fmt::Display for CrossValidation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for fold in &self.folds {
            writeln!(f, "  fold {}: accuracy {:.4}", fold.fold, fold.accuracy)?;
        }
        write!(f, "mean accuracy {:.4} ± {:.4}", self.mean_accuracy, self.std_accuracy)
    }
}

impl crate::systems::Report for CrossValidation {
    fn json(&self) -> String {
        crate::systems::json_line(self)
    }
}

/// The five folds of a run, as `train esc10` leaves them.
struct FoldsTrained {
    run: std::path::PathBuf,
    outcome: Option<CrossValidation>,
}

impl std::fmt::Display for FoldsTrained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.outcome {
            Some(summary) => write!(f, "esc10: run folder {} (one sub-folder per fold)\n{summary}", self.run.display()),
            None => write!(f, "stopped early; continue with --resume {}", self.run.display()),
        }
    }
}

impl crate::systems::Report for FoldsTrained {
    fn json(&self) -> String {
        crate::systems::json_or_stopped(self.outcome.as_ref(), &self.run)
    }
}

/// ESC-10's 5-fold protocol: `train` trains every fold, `eval` tests each fold's model again.
impl crate::systems::System for Esc10Sounds {
    fn train(request: &crate::runner::TrainRequest) -> Result<Box<dyn crate::systems::Report>, RunError> {
        let (config, run, span) = request.prepare::<Self>()?;
        let outcome = train_folds(&config, &request.root(), &run, span)?;
        Ok(Box::new(FoldsTrained { run: run.path().to_path_buf(), outcome }))
    }

    fn eval(request: &crate::runner::EvalRequest) -> Result<Box<dyn crate::systems::Report>, RunError> {
        Ok(Box::new(eval_folds(&request.run_of::<Self>(), &request.root(), request.device)?))
    }
}
