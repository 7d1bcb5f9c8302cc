//! What `cargo xtask train TASK` and `cargo xtask eval TASK` do, for any [`Task`]: a run's `config.json` with its
//! pinned inputs, the preparation done once, training, and the test split read once at the end.

use std::path::Path;
use std::sync::Arc;

use burn::data::dataset::Dataset;
use serde::{Deserialize, Serialize};

use super::fit::{CONFIG_FILE, fit, load_model};
use super::loader::Loader;
use super::pins::{Pin, pin_all};
use super::run_dir::write_atomically;
use super::split::Subset;
use super::{Context, FitOutcome, RunDir, RunError, RunLock, Scores, Split, Task};
use crate::DeviceKind;
use crate::data::DataRoot;

/// The test split's report, written when a run finishes.
pub const EVALUATION_FILE: &str = "evaluation.json";

/// `config.json`: the task, its whole config, and the inputs it started from, pinned by content.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunFile<C> {
    /// The task's name.
    pub task: String,
    /// The config the run trains with.
    pub config: C,
    /// Files it starts from.
    pub inputs: Vec<Pin>,
}

/// Reads a run's config, refusing when it belongs to another task or an input has changed since it started.
pub fn load_run_config<T: Task>(run: &Path) -> Result<T::Config, RunError> {
    let path = run.join(CONFIG_FILE);
    let file: RunFile<T::Config> = super::load_config(&path)?;
    if file.task != T::NAME {
        return Err(RunError::invalid(&path, format!("a {} run, not a {} run", file.task, T::NAME)));
    }
    for pin in &file.inputs {
        pin.verify()?;
    }
    Ok(file.config)
}

/// A finished (or stopped) training run.
#[derive(Debug)]
pub struct TrainedRun<M> {
    /// Its folder.
    pub run: RunDir,
    /// The model and metrics.
    pub outcome: FitOutcome<M>,
    /// The test split's scores, also in `evaluation.json` (absent when the run was stopped early).
    pub evaluation: Option<Scores>,
}

/// What `evaluation.json` holds.
#[derive(Debug, Serialize)]
struct EvaluationFile<'a> {
    task: &'a str,
    split: Split,
    /// The epoch whose weights were tested (the best by validation).
    best_epoch: Option<usize>,
    scores: &'a Scores,
}

/// The items of `split`, cut to the config's `limit`.
fn split_items<T: Task>(config: &T::Config, context: &Context, split: Split) -> Result<Arc<dyn Dataset<T::Item>>, RunError> {
    Ok(limited(T::dataset(config, context, split)?, T::train_config(config).limit))
}

/// Only the first `limit` of `items` (all of them without a limit): what `--limit` does to every split, for a
/// task that reads a split of its own (a compositional test).
pub fn limited<I: Clone + Send + Sync + 'static>(items: Arc<dyn Dataset<I>>, limit: Option<usize>) -> Arc<dyn Dataset<I>> {
    match limit {
        Some(n) if n < items.len() => Arc::new(Subset::first(items, n)),
        _ => items,
    }
}

/// Runs the task's preparation unless the run already has it (`prepared/.done`).
fn prepare_once<T: Task>(config: &T::Config, context: &Context) -> Result<(), RunError> {
    let dir = context.prepared();
    let done = dir.join(".done");
    if done.exists() {
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| RunError::io(&dir, e))?;
    T::prepare(config, context)?;
    super::run_dir::sync_tree(&dir)?;
    write_atomically(&done, b"")
}

/// Writes `config.json`: the task, `config`, and its inputs pinned as they are now.
fn write_run_file<T: Task>(config: &T::Config, path: &Path) -> Result<(), RunError> {
    let file = RunFile { task: T::NAME.to_string(), config: config.clone(), inputs: pin_all(&T::inputs(config))? };
    write_atomically(path, &serde_json::to_vec_pretty(&file).expect("configs serialise"))
}

/// Starts, or reopens to resume, a run made of several parts (a cross-validation's folds, the zero-shot
/// splits): takes its lock, writes its `config.json` (the whole protocol's config, inputs pinned) unless it has
/// one, and moves `latest` to it. Each part is then an ordinary run in a sub-folder, trained by [`train_task`].
pub fn start_run_of_parts<T: Task>(config: &T::Config, run: &RunDir) -> Result<RunLock, RunError> {
    let lock = run.lock()?;
    let config_path = run.path().join(CONFIG_FILE);
    if !config_path.exists() {
        write_run_file::<T>(config, &config_path)?;
    }
    run.publish()?;
    Ok(lock)
}

/// Trains one part of a run of parts (see [`start_run_of_parts`]) in `child` and returns its test scores; when
/// `resume` finds the part finished (its `evaluation.json` written) it returns the scores written there instead.
/// A part begun but unfinished continues from its newest checkpoint, one not begun starts afresh. `None` when
/// `stop_after` stopped it early.
pub fn train_part<T: Task>(config: &T::Config, root: &DataRoot, child: &RunDir, resume: bool, stop_after: Option<usize>) -> Result<Option<Scores>, RunError> {
    let done = child.path().join(EVALUATION_FILE);
    if resume && done.exists() {
        let text = std::fs::read_to_string(&done).map_err(|e| RunError::io(&done, e))?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| RunError::invalid(&done, e))?;
        return serde_json::from_value(value["scores"].clone()).map(Some).map_err(|e| RunError::invalid(&done, e));
    }
    let started = child.path().join(CONFIG_FILE).exists();
    Ok(train_task::<T>(config, root, child, resume && started, stop_after)?.evaluation)
}

/// Trains `T` with `config` on the data in `root`, in the folder `run` (continuing from its newest checkpoint
/// when `resume`, which needs the config the run was started with). Holds the run's lock throughout. Evaluates
/// the best model on the test split once at the end and writes `evaluation.json`.
pub fn train_task<T: Task>(
    config: &T::Config,
    root: &DataRoot,
    run: &RunDir,
    resume: bool,
    stop_after: Option<usize>,
) -> Result<TrainedRun<T::Model>, RunError> {
    let _lock = run.lock()?;
    T::train_config(config).check()?;
    let config_path = run.path().join(CONFIG_FILE);
    if resume && config_path.exists() {
        let saved = load_run_config::<T>(run.path())?;
        let (saved, given) = (serde_json::to_value(&saved).expect("configs serialise"), serde_json::to_value(config).expect("configs serialise"));
        if saved != given {
            return Err(RunError::invalid(&config_path, "the run was started with another config; a resumed run keeps the config it started with"));
        }
    } else {
        write_run_file::<T>(config, &config_path)?;
    }
    run.publish()?;
    let context = Context { root: root.clone(), run: run.path().to_path_buf() };
    prepare_once::<T>(config, &context)?;
    let train = split_items::<T>(config, &context, Split::Train)?;
    let valid = split_items::<T>(config, &context, Split::Valid)?;
    eprintln!("{}: {} training and {} validation examples; run folder {}", T::NAME, train.len(), valid.len(), run.path().display());
    let outcome = fit::<T>(config, &context, train, valid, run, resume, stop_after)?;
    let evaluation = if outcome.finished {
        let scores = evaluate_split::<T>(config, &context, &outcome.model, Split::Test)?;
        let file = EvaluationFile { task: T::NAME, split: Split::Test, best_epoch: outcome.best.map(|b| b.epoch), scores: &scores };
        write_atomically(&run.path().join(EVALUATION_FILE), &serde_json::to_vec_pretty(&file).expect("serialises"))?;
        Some(scores)
    } else {
        None
    };
    Ok(TrainedRun { run: run.clone(), outcome, evaluation })
}

/// The task's report of `model` on `split`.
fn evaluate_split<T: Task>(config: &T::Config, context: &Context, model: &T::Model, split: Split) -> Result<Scores, RunError> {
    let settings = T::train_config(config);
    let device = DeviceKind::resolve(settings.device)?.device()?;
    let items = split_items::<T>(config, context, split)?;
    let loader = Loader::new(items, T::batcher(config), settings.workers, settings.prefetch);
    T::evaluate(config, context, model, &loader, &device)
}

/// Reloads a run's final model and evaluates it on `split` of the data in `root`.
pub fn eval_run<T: Task>(run: &Path, root: &DataRoot, split: Split, device: Option<DeviceKind>) -> Result<Scores, RunError> {
    let mut config = load_run_config::<T>(run)?;
    if device.is_some() {
        T::train_config_mut(&mut config).device = device;
    }
    let plain = DeviceKind::resolve(T::train_config(&config).device)?.device()?;
    let (_, model) = load_model::<T>(run, &plain)?;
    let context = Context { root: root.clone(), run: run.to_path_buf() };
    evaluate_split::<T>(&config, &context, &model, split)
}
