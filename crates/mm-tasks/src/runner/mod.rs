//! The one training runner of mm: every trainable system of the catalogue runs through it.
//!
//! A task is a config (serde, JSON or TOML, every field with a default) plus a model and a data set
//! ([`Task`]). [`fit`] trains it: shuffled batches, Adam with weight decay and a cosine learning-rate schedule,
//! a progress bar with ETA and the live loss, validation after each epoch, `metrics.jsonl`, a learning-curve PNG,
//! and a checkpoint per epoch (model, optimiser and runner state, written atomically; the last N kept) from which
//! `--resume` continues to exactly the result of an uninterrupted run. The final model is saved as safetensors
//! with its config beside it, for [`evaluate`].
//!
//! The loop is mm's own rather than burn-train's `Learner` because of that resume guarantee: every random draw
//! (shuffling, augmentation, dropout) is derived from (seed, epoch, batch), so the state to restore is the
//! weights, the optimiser record and the epoch, and nothing else.

mod checkpoint;
mod commands;
mod config;
mod curves;
mod examples;
mod fit;
mod metrics;
mod run_dir;

pub use checkpoint::Checkpoint;
pub use commands::{eval_run, train_task, Split, TrainedRun};
pub use config::{load_config, Overrides, TrainConfig};
pub use curves::draw_learning_curves;
pub use examples::{BatchTargets, Examples, HostBatch, Targets};
pub use fit::{argmax, default_loss, evaluate, fit, load_model, save_model, Evaluation, FitOutcome, CONFIG_FILE, CURVES_FILE, METRICS_FILE, MODEL_FILE};
pub use metrics::{read as read_metrics, EpochMetrics};
pub use run_dir::RunDir;
pub(crate) use curves::register_plot_font;
pub(crate) use run_dir::{partial, write_atomically};

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::de::DeserializeOwned;
use serde::Serialize;

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
    /// A setting cannot work.
    #[error("{0}")]
    Config(String),
    /// Loading a data set failed.
    #[error(transparent)]
    Data(#[from] Box<dyn std::error::Error + Send + Sync>),
    /// The device could not be had.
    #[error(transparent)]
    Device(#[from] crate::DeviceError),
}

impl RunError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }

    pub(crate) fn invalid(path: &std::path::Path, problem: impl std::fmt::Display) -> Self {
        Self::Invalid { path: path.into(), problem: problem.to_string() }
    }
}

/// A model the runner can train: it maps a batch of flattened examples to one score per class or label.
pub trait Classifier: Module + Clone + std::fmt::Debug + 'static {
    /// - `inputs`: `[B, E]`, each row one example flattened (the model knows its shape)
    /// - returns logits `[B, K]`
    fn logits(&self, inputs: Tensor<2>) -> Tensor<2>;

    /// The training objective of a batch: its loss `[1]` and the logits the runner counts right answers on.
    /// Default: [`default_loss`] of [`Classifier::logits`]. Models trained by another loss (metric learning,
    /// distillation) override it; they may read more from `inputs` than `logits` uses (a paired example, a
    /// teacher's distribution).
    fn objective(&self, inputs: Tensor<2>, targets: &BatchTargets) -> (Tensor<1>, Tensor<2>) {
        let logits = self.logits(inputs);
        (default_loss(logits.clone(), targets), logits)
    }
}

/// One trainable task: its configuration, model and data.
pub trait Task {
    /// Name on the command line and folder under `runs/`.
    const NAME: &'static str;
    /// The whole configuration; `Default` holds the documented defaults.
    type Config: Serialize + DeserializeOwned + Default + Clone + std::fmt::Debug;
    /// The model it trains.
    type Model: Classifier;

    /// The runner's part of the configuration.
    fn train_config(config: &Self::Config) -> &TrainConfig;
    /// The same, to apply command-line overrides.
    fn train_config_mut(config: &mut Self::Config) -> &mut TrainConfig;
    /// The examples of one split (`Test` is the split the task reports on).
    fn data(config: &Self::Config, root: &crate::data::DataRoot, split: Split) -> Result<Examples, RunError>;
    /// A freshly initialised model (an error when a file it starts from, such as pretrained word vectors,
    /// cannot be read).
    fn model(config: &Self::Config, device: &Device) -> Result<Self::Model, RunError>;
    /// Augments one training example in place (default: none). `rng` is seeded per (epoch, batch).
    fn augment(_config: &Self::Config, _example: &mut [f32], _rng: &mut rand_chacha::ChaCha8Rng) {}
}
