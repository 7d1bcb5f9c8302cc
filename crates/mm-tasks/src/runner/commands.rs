//! What `cargo xtask train TASK` and `cargo xtask eval TASK` do, for any [`Task`].

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::fit::{evaluate, fit, load_model};
use super::run_dir::write_atomically;
use super::{Evaluation, FitOutcome, RunDir, RunError, Task};
use crate::data::DataRoot;
use crate::DeviceKind;

/// The splits a task has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// What the model learns from.
    Train,
    /// What it is judged on (validation during training, and the reported numbers).
    Test,
}

impl std::str::FromStr for Split {
    type Err = RunError;
    fn from_str(name: &str) -> Result<Self, RunError> {
        match name {
            "train" => Ok(Self::Train),
            "test" | "valid" | "validation" => Ok(Self::Test),
            _ => Err(RunError::Config(format!("unknown split {name:?}: expected train or test"))),
        }
    }
}

/// A finished (or stopped) training run.
#[derive(Debug)]
pub struct TrainedRun<M> {
    /// Its folder.
    pub run: RunDir,
    /// The model and metrics.
    pub outcome: FitOutcome<M>,
    /// The test split's evaluation, also in `evaluation.json` (absent when the run was stopped early).
    pub evaluation: Option<Evaluation>,
}

/// What `evaluation.json` holds.
#[derive(Debug, Serialize)]
struct EvaluationFile<'a> {
    task: &'a str,
    split: Split,
    #[serde(flatten)]
    evaluation: &'a Evaluation,
}

/// Trains `T` with `config` on the data in `root`, in the folder `run` (continuing from its newest checkpoint
/// when `resume`). Evaluates the final model on the test split and writes `evaluation.json`.
pub fn train_task<T: Task>(
    config: &T::Config,
    root: &DataRoot,
    run: &RunDir,
    resume: bool,
    stop_after: Option<usize>,
) -> Result<TrainedRun<T::Model>, RunError> {
    let limit = T::train_config(config).limit;
    let train = T::data(config, root, Split::Train)?.truncated(limit);
    let test = T::data(config, root, Split::Test)?.truncated(limit);
    eprintln!("{}: {} training and {} test examples; run folder {}", T::NAME, train.len(), test.len(), run.path().display());
    let outcome = fit::<T>(config, &train, &test, run, resume, stop_after)?;
    let evaluation = if outcome.finished {
        let device = DeviceKind::resolve(T::train_config(config).device)?.device()?;
        let evaluation = evaluate(&outcome.model, &test, T::train_config(config).batch_size, &device);
        let file = EvaluationFile { task: T::NAME, split: Split::Test, evaluation: &evaluation };
        write_atomically(&run.path().join("evaluation.json"), &serde_json::to_vec_pretty(&file).expect("serialises"))?;
        Some(evaluation)
    } else {
        None
    };
    Ok(TrainedRun { run: run.clone(), outcome, evaluation })
}

/// Reloads a run's final model and evaluates it on `split` of the data in `root`.
pub fn eval_run<T: Task>(run: &Path, root: &DataRoot, split: Split, device: Option<DeviceKind>) -> Result<Evaluation, RunError> {
    let device = DeviceKind::resolve(device)?.device()?;
    let (config, model) = load_model::<T>(run, &device)?;
    let examples = T::data(&config, root, split)?.truncated(T::train_config(&config).limit);
    Ok(evaluate(&model, &examples, T::train_config(&config).batch_size, &device))
}
