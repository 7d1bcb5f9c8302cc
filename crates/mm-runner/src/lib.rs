//! # mm-runner
//!
//! The one training runner of mm: every trainable system of the catalogue runs through it, and a downstream
//! project's own model can too; it depends on burn and the data layer ([`mm_data`]), on no system. Beside it:
//! which device a run uses ([`device`]) and, under data-parallel training, the gathering of every replica's
//! rows ([`gather`]).
//!
//! A task ([`Task`]) is a config (serde, JSON or TOML, every field with a default), a data set of items of the
//! task's own type produced on demand by index (burn's [`Dataset`]), a batcher that turns items into the
//! model's tensors (burn's [`Batcher`]), and a model ([`Learner`]) that computes a batch's loss and named
//! metrics and, by default, takes one optimiser step (a GAN replaces the step with its two). [`fit`] trains it:
//! batches made ahead on worker threads ([`Loader`]), the optimisers and schedules of the config
//! ([`Optimizers`]), a progress bar, validation each epoch by the task's own procedure, `metrics.jsonl`,
//! learning curves for every metric, TensorBoard event files, checkpoints every N steps and at each epoch's end
//! (written atomically and fsynced; a damaged newest one falls back to the one before) from which `--resume`
//! continues to exactly the result of an uninterrupted run, and the best epoch by the task's validation score.
//! Train, validation and test are three splits: choices are made on validation; test is read at the end.
//!
//! The loop is mm's own rather than burn-train's `Learner` because of that resume guarantee: every random draw
//! (shuffling, augmentation, dropout) is derived from (seed, epoch, batch), so the state to restore is the
//! weights, the optimisers' records, the position in the epoch and the epoch's running sums, and nothing else.

mod checkpoint;
mod classify;
mod commands;
mod config;
mod curves;
pub mod device;
mod fit;
pub mod gather;
mod loader;
mod metrics;
pub mod model_settings;
mod optim;
mod pins;
mod replicas;
mod request;
mod run_dir;
mod run_file;
mod split;
mod spread;
mod step;
mod tensorboard;

#[doc(hidden)]
pub use serde;

pub use burn::data::dataloader::batcher::Batcher;
pub use burn::data::dataset::{Dataset, DatasetError, InMemDataset};
pub use checkpoint::{Best, Checkpoint};
pub use classify::{ClassBatch, ClassBatcher, ClassItem, Classifier, Target, TargetKind, argmax, class_loss, classification_scores};
pub use commands::{Reading, TrainedRun, eval_run, fixed_test_split, limited, start_run_of_parts, train_part, train_task};
pub use config::{Overrides, TrainConfig, check_dropout, check_widths, load_config};
pub use curves::draw_learning_curves;
pub use curves::register_plot_font;
pub use device::{DeviceError, DeviceKind, Replica};
pub use fit::{FitOutcome, Span, TrainingData, fit, load_model, load_pretrained, mean_objective, save_model};
pub use loader::{Batches, Loader, Prepare};
pub use metrics::{EpochMetrics, Scores, read as read_metrics};
pub use mm_data::{DataError, DataRoot, Split};
pub use optim::{OptimizerKind, OptimizerSettings, Optimizers, Schedule};
pub use pins::Pin;
pub use replicas::{ShardBatcher, replicated_step};
pub use request::{ConfigOwners, EvalRequest, TrainRequest, load_task_config, reads_as};
pub use run_dir::write_atomically;
pub use run_dir::{CONFIG_FILE, CURVES_FILE, EVALUATION_FILE, LOCK_FILE, METRICS_FILE, MODEL_FILE, RunDir, RunLock};
pub use run_file::{RunFile, load_run_config, resolve_pretrained_runs};
pub use split::{Subset, carve, carve_part};
pub use spread::{Spread, interval_95, interval_95_or_zero};
pub use step::{Learner, StepOutput, Tally, step_with_module_rates};
pub use tensorboard::{EVENTS_FILE, Picture, refresh_events, write_events};

use std::path::PathBuf;
use std::sync::Arc;

use burn::tensor::Device;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Errors of a training run; each names the file or the setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A file exists but is not what it should be (config, checkpoint, weights, metrics).
    #[error("{path}: {problem}")]
    Invalid {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A setting cannot work with this value.
    #[error("{name} = {value}: {why}")]
    BadSetting {
        /// The setting, as a config file names it (`train.lr`).
        name: String,
        /// Its value.
        value: String,
        /// Why it cannot work.
        why: String,
    },
    /// A setting (or several together) cannot work, for a reason no single value shows: an encoder that leaves no
    /// map of the pictures, test sets that need more digit sets than there are.
    #[error("{name}: {why}")]
    Setting {
        /// The setting, as a config file names it (`source.held_out`), or the flag.
        name: String,
        /// Why it cannot work.
        why: String,
    },
    /// A finished run (or a file one leaves) that this run starts from is not there.
    #[error("{looked_in}: {problem} (a finished run this one starts from: train it first{})", train_with.as_ref().map(|t| format!(", with `cargo xtask train {t}`")).unwrap_or_default())]
    MissingRun {
        /// The folder or file looked for.
        looked_in: PathBuf,
        /// What the system said.
        problem: String,
        /// The task that makes it, where known.
        train_with: Option<String>,
    },
    /// A file the run starts from (pinned by content in `config.json`) is not there.
    #[error("{path}: {problem} (the run starts from this file: make it first, e.g. by training the run it comes from)")]
    MissingInput {
        /// The file.
        path: PathBuf,
        /// What the system said.
        problem: String,
    },
    /// Training stopped because a training metric is no longer finite.
    #[error(
        "training diverged: the epoch's mean {metric} is {value} at step {step} (finite at step {last_finite_step}); {}",
        match last_checkpoint {
            Some(dir) => format!("the last good checkpoint is {} (resuming repeats the same steps: start a new run with other settings, a lower learning rate for one)", dir.display()),
            None => "no checkpoint was written before it".into(),
        }
    )]
    Diverged {
        /// The metric.
        metric: String,
        /// Its value.
        value: f64,
        /// The step it was read at.
        step: usize,
        /// The last step it was finite at.
        last_finite_step: usize,
        /// The newest checkpoint, written before it diverged.
        last_checkpoint: Option<PathBuf>,
    },
    /// A task does not keep the runner's contract (a bug in the task, not in its settings).
    #[error("{task}: {problem}")]
    Contract {
        /// The task.
        task: &'static str,
        /// What it broke.
        problem: String,
    },
    /// A worker thread making batches stopped before it sent its batch.
    #[error("the worker making batch {batch} stopped")]
    WorkerStopped {
        /// The batch.
        batch: usize,
    },
    /// Loading mm's data failed: a data set, a decoder, a setting of the data.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A tensor's values could not be read back.
    #[error("reading a tensor's values: {0}")]
    Values(#[from] burn::tensor::DataError),
    /// An item of a data set could not be had.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// Any other source's error: burn's data sets, a downstream project's own data.
    #[error(transparent)]
    Other(#[from] Box<dyn std::error::Error + Send + Sync>),
    /// The device could not be had.
    #[error(transparent)]
    Device(#[from] DeviceError),
}

impl RunError {
    /// An unreadable or unwritable `path`.
    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }

    /// A setting that cannot work: `name = value`, and why.
    pub fn bad_setting(name: impl Into<String>, value: impl std::fmt::Display, why: impl Into<String>) -> Self {
        Self::BadSetting { name: name.into(), value: value.to_string(), why: why.into() }
    }

    /// A setting that cannot work, for `why`.
    pub fn setting(name: impl Into<String>, why: impl Into<String>) -> Self {
        Self::Setting { name: name.into(), why: why.into() }
    }

    /// A `path` that is not what it should be.
    pub fn invalid(path: &std::path::Path, problem: impl std::fmt::Display) -> Self {
        Self::Invalid { path: path.into(), problem: problem.to_string() }
    }
}

/// Where a task finds its data and leaves its files: the data root, the run folder, where [`Task::prepare`]
/// leaves what it computed once, and the folder an evaluation writes its reports to.
#[derive(Debug, Clone)]
pub struct Context {
    /// The data root.
    pub root: DataRoot,
    /// The run folder (its `prepared/` sub-folder holds the task's preparation).
    pub run: PathBuf,
    /// Where the evaluation's reports, pictures and sounds go: the run folder, or for a re-reading on a fresh
    /// test seed its `test-seed-N/` ([`test_seed_folder`]).
    pub reports: PathBuf,
}

impl Context {
    /// The context of `run`, whose reports go into the run folder itself.
    pub fn of(root: DataRoot, run: impl Into<PathBuf>) -> Self {
        let run = run.into();
        Self { root, reports: run.clone(), run }
    }

    /// The folder of the run's preparation.
    pub fn prepared(&self) -> PathBuf {
        self.run.join("prepared")
    }
}

/// The folder where `eval --test-seed SEED` leaves its reading of `run`: `run/test-seed-SEED/`.
pub fn test_seed_folder(run: &std::path::Path, seed: u64) -> PathBuf {
    run.join(format!("test-seed-{seed}"))
}

/// Which validation score picks the best checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    /// A name among the validation scores (`loss`, `accuracy`, `bleu4` …).
    pub metric: &'static str,
    /// Whether a higher value is better.
    pub higher_is_better: bool,
}

impl Selection {
    /// The highest `metric`.
    pub const fn highest(metric: &'static str) -> Self {
        Self { metric, higher_is_better: true }
    }

    /// The lowest `metric`.
    pub const fn lowest(metric: &'static str) -> Self {
        Self { metric, higher_is_better: false }
    }

    /// Whether `score` beats `best`.
    pub fn better(&self, score: f64, best: f64) -> bool {
        if self.higher_is_better { score > best } else { score < best }
    }
}

/// The batch type of a task's model.
pub type BatchOf<T> = <<T as Task>::Model as Learner>::Batch;

/// One trainable task: its configuration, data, batcher and model.
pub trait Task: 'static {
    /// Name on the command line and folder under `runs/`.
    const NAME: &'static str;
    /// The whole configuration; `Default` holds the documented defaults.
    type Config: Serialize + DeserializeOwned + Default + Clone + std::fmt::Debug + Send + Sync + 'static;
    /// One example, as the data set produces it.
    type Item: Clone + Send + Sync + 'static;
    /// The model it trains.
    type Model: Learner;

    /// The runner's part of the configuration.
    fn train_config(config: &Self::Config) -> &TrainConfig;
    /// The same, to apply command-line overrides.
    fn train_config_mut(config: &mut Self::Config) -> &mut TrainConfig;

    /// Expensive preparation that runs once per run, before anything else, and saves what it computes in
    /// `context.prepared()` (a teacher's outputs, a tokenizer, a normaliser). Default: none.
    fn prepare(_config: &Self::Config, _context: &Context) -> Result<(), RunError> {
        Ok(())
    }

    /// The items of one split.
    fn dataset(config: &Self::Config, context: &Context, split: Split) -> Result<Arc<dyn Dataset<Self::Item>>, RunError>;

    /// Turns items into the model's batch.
    fn batcher(config: &Self::Config) -> Arc<dyn Batcher<Self::Item, BatchOf<Self>>>;

    /// A freshly initialised model (an error when a file it starts from cannot be read).
    fn model(config: &Self::Config, device: &Device) -> Result<Self::Model, RunError>;

    /// Starting values that depend on the run's preparation (word vectors placed by the trained tokenizer's
    /// ids), applied to a fresh model before training; a resumed run then loads its checkpoint over them.
    /// Default: the model as [`Task::model`] made it. Must not draw from the device's random generator.
    fn initialise(_config: &Self::Config, _context: &Context, model: Self::Model) -> Result<Self::Model, RunError> {
        Ok(model)
    }

    /// Augments one training item in place (default: none). `rng` is seeded per (epoch, batch).
    fn augment(_config: &Self::Config, _item: &mut Self::Item, _rng: &mut rand_chacha::ChaCha8Rng) {}

    /// The optimisers, in [`Learner::optimizer_names`] order: `(name, settings, peak rate)`. Default: one,
    /// `model`, from `train.optimizer` and `train.lr`.
    fn optimizers(config: &Self::Config) -> Vec<(String, OptimizerSettings, f64)> {
        let train = Self::train_config(config);
        vec![("model".into(), train.optimizer.clone(), train.lr)]
    }

    /// The config with its generated test data drawn from `seed` in place of the seed it was trained with, so
    /// that a finished model can be read once more on test data that no command has shown (`eval --test-seed`).
    /// `None` (the default) where the test split is a fixed set of files, which no seed redraws.
    fn with_test_seed(_config: &Self::Config, _seed: u64) -> Option<Self::Config> {
        None
    }

    /// The finished runs the task starts from (pretrained encoders, teachers, judges): the config's fields that
    /// name them, each filled in with its default where the config leaves it out. The runner resolves them once,
    /// when a run starts: `runs/mnist/latest` becomes the folder it points at then, as an absolute path, written
    /// so in the run's `config.json`; the run, its `eval` and its commands keep reading that run when `latest`
    /// moves on or the command runs from another folder. Default: none.
    fn pretrained_runs(_config: &mut Self::Config) -> Vec<&mut PathBuf> {
        Vec::new()
    }

    /// Files the run starts from (pretrained models, word vectors, teachers): pinned by content in
    /// `config.json`, checked again by `eval` and `--resume`. Default: none.
    fn inputs(_config: &Self::Config) -> Vec<PathBuf> {
        Vec::new()
    }

    /// The validation scores of `model` (validation mode, on the plain `device`) on `loader`'s items: by default
    /// the mean loss and metrics of [`Learner::objective`]; a task may run its own procedure (decoding, inverse
    /// STFT …).
    fn validate(
        config: &Self::Config,
        _context: &Context,
        model: &Self::Model,
        loader: &Loader<Self::Item, BatchOf<Self>>,
        device: &Device,
    ) -> Result<Scores, RunError> {
        mean_objective(model, loader, Self::train_config(config).batch_size, device)
    }

    /// The test-split report (also `eval`'s): by default the validation procedure.
    fn evaluate(
        config: &Self::Config,
        context: &Context,
        model: &Self::Model,
        loader: &Loader<Self::Item, BatchOf<Self>>,
        device: &Device,
    ) -> Result<Scores, RunError> {
        Self::validate(config, context, model, loader, device)
    }

    /// The validation score the best checkpoint is chosen by. Default: the lowest loss.
    fn selection(_config: &Self::Config) -> Selection {
        Selection::lowest("loss")
    }
}

/// The README's examples, compiled as doctests so that they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
