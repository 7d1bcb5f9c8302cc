//! What `cargo xtask train TASK` and `cargo xtask eval TASK` do, for any [`Task`]: a run's `config.json` with its
//! pinned inputs, the preparation done once, training, and the test split read once at the end.

use std::path::Path;
use std::sync::Arc;

use burn::data::dataset::Dataset;
use serde::Serialize;

use super::checkpoint::Best;
use super::fit::{Span, TrainingData, fit, load_model};
use super::loader::Loader;
use super::metrics::read as read_metrics;
use super::run_dir::{CONFIG_FILE, EVALUATION_FILE, METRICS_FILE, MODEL_FILE, write_atomically};
use super::run_file::{load_run_config, resolve_pretrained_runs, write_run_file};
use super::split::Subset;
use super::{Context, FitOutcome, RunDir, RunError, RunLock, Scores, Split, Task, test_seed_folder};
use crate::DeviceKind;
use mm_data::DataRoot;

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

/// Starts, or reopens to resume, a run made of several parts (a cross-validation's folds, the zero-shot
/// splits): takes its lock and writes its `config.json` (the whole protocol's config, pretrained runs resolved,
/// inputs pinned) unless it has one. Returns the lock and the config as written, which the parts train with:
/// each is then an ordinary run in a sub-folder ([`RunDir::child`]), trained by [`train_part`]; `latest` moves to
/// the run once its first part has started.
pub fn start_run_of_parts<T: Task>(config: &T::Config, run: &RunDir) -> Result<(RunLock, T::Config), RunError> {
    let lock = run.lock()?;
    let config_path = run.path().join(CONFIG_FILE);
    if !config_path.exists() {
        let mut resolved = config.clone();
        resolve_pretrained_runs::<T>(&mut resolved)?;
        write_run_file::<T>(&resolved, &config_path)?;
    }
    let config = load_run_config::<T>(run.path())?;
    Ok((lock, config))
}

/// Trains one part of a run of parts (see [`start_run_of_parts`]) in `child` over `span` and returns its test
/// scores; when a resumed span finds the part finished (its `evaluation.json` written) it returns the scores
/// written there instead. A part begun but unfinished continues from its newest checkpoint, one not begun starts
/// afresh. `None` when the span stopped it early.
pub fn train_part<T: Task>(config: &T::Config, root: &DataRoot, child: &RunDir, span: Span) -> Result<Option<Scores>, RunError> {
    let done = child.path().join(EVALUATION_FILE);
    if span.resume && done.exists() {
        child.publish()?;
        let text = std::fs::read_to_string(&done).map_err(|e| RunError::io(&done, e))?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| RunError::invalid(&done, e))?;
        return serde_json::from_value(value["scores"].clone()).map(Some).map_err(|e| RunError::invalid(&done, e));
    }
    let started = child.path().join(CONFIG_FILE).exists();
    Ok(train_task::<T>(config, root, child, Span { resume: span.resume && started, ..span })?.evaluation)
}

/// Trains `T` with `config` on the data in `root`, in the folder `run`, over `span` (a resumed span continues
/// from the run's newest checkpoint, and needs the config the run was started with). Holds the run's lock throughout. A new run
/// resolves its pretrained runs ([`resolve_pretrained_runs`]) and writes `config.json`; `runs/TASK/latest` moves
/// to it only once every split's data and the device are had. Evaluates the best model on the test split once
/// at the end and writes `evaluation.json`.
///
/// A resumed run whose `checkpoints/` is gone does not start again: a finished one (its `model.safetensors`
/// written) is re-tested from that file, which it says; one that recorded epochs but has no checkpoint to go on
/// from is refused; one stopped before its first checkpoint starts from step 0.
pub fn train_task<T: Task>(config: &T::Config, root: &DataRoot, run: &RunDir, span: Span) -> Result<TrainedRun<T::Model>, RunError> {
    let _lock = run.lock()?;
    T::train_config(config).check()?;
    let config_path = run.path().join(CONFIG_FILE);
    let resume = span.resume && config_path.exists();
    let config = if resume {
        let saved = load_run_config::<T>(run.path())?;
        let (written, given) = (serde_json::to_value(&saved).expect("configs serialise"), serde_json::to_value(config).expect("configs serialise"));
        if written != given {
            return Err(RunError::invalid(&config_path, "the run was started with another config; a resumed run keeps the config it started with"));
        }
        saved
    } else {
        let mut resolved = config.clone();
        resolve_pretrained_runs::<T>(&mut resolved)?;
        write_run_file::<T>(&resolved, &config_path)?;
        // What training reads is what `eval` will read back: the config as written.
        load_run_config::<T>(run.path())?
    };
    let context = Context::of(root.clone(), run.path());
    if resume && let Some(retested) = resume_without_checkpoints::<T>(&config, &context, run)? {
        return Ok(retested);
    }
    prepare_once::<T>(&config, &context)?;
    // Every split's inputs are checked before the first step: a test split that cannot be read fails now, not
    // after the whole training.
    let train = split_items::<T>(&config, &context, Split::Train)?;
    let valid = split_items::<T>(&config, &context, Split::Valid)?;
    let test = split_items::<T>(&config, &context, Split::Test)?;
    DeviceKind::resolve(T::train_config(&config).device)?.device()?;
    run.publish()?;
    eprintln!("{}: {} training and {} validation examples; run folder {}", T::NAME, train.len(), valid.len(), run.path().display());
    let outcome = fit::<T>(&config, &context, TrainingData { train, valid }, run, Span { resume, ..span })?;
    let evaluation = if outcome.finished { Some(evaluate_and_record::<T>(&config, &context, &outcome.model, test, outcome.best)?) } else { None };
    Ok(TrainedRun { run: run.clone(), outcome, evaluation })
}

/// Tests `model` on `test` and writes `evaluation.json`.
fn evaluate_and_record<T: Task>(
    config: &T::Config,
    context: &Context,
    model: &T::Model,
    test: Arc<dyn Dataset<T::Item>>,
    best: Option<Best>,
) -> Result<Scores, RunError> {
    let scores = evaluate_items::<T>(config, context, model, test)?;
    let file = EvaluationFile { task: T::NAME, split: Split::Test, best_epoch: best.map(|b| b.epoch), scores: &scores };
    write_atomically(&context.run.join(EVALUATION_FILE), &serde_json::to_vec_pretty(&file).expect("serialises"))?;
    Ok(scores)
}

/// `--resume` on a run without checkpoints (see [`train_task`]): the re-tested run, an error, or `None` to
/// start from step 0.
fn resume_without_checkpoints<T: Task>(config: &T::Config, context: &Context, run: &RunDir) -> Result<Option<TrainedRun<T::Model>>, RunError> {
    if super::checkpoint::has_any(run.path()) {
        return Ok(None);
    }
    let model_path = run.path().join(MODEL_FILE);
    let metrics_path = run.path().join(METRICS_FILE);
    if model_path.exists() {
        eprintln!("{}: checkpoints/ is gone, so training cannot continue; the run is finished: re-testing its {MODEL_FILE}", run.path().display());
        let plain = DeviceKind::resolve(T::train_config(config).device)?.device()?;
        let (_, model) = load_model::<T>(run.path(), &plain)?;
        let history = if metrics_path.exists() { read_metrics(&metrics_path)? } else { Vec::new() };
        let best = previous_best(run.path());
        let test = split_items::<T>(config, context, Split::Test)?;
        let scores = evaluate_and_record::<T>(config, context, &model, test, best)?;
        let outcome = FitOutcome { model, history, best, finished: true, steps_trained: 0..0 };
        return Ok(Some(TrainedRun { run: run.clone(), outcome, evaluation: Some(scores) }));
    }
    let recorded = if metrics_path.exists() { read_metrics(&metrics_path)?.len() } else { 0 };
    if recorded > 0 {
        return Err(RunError::invalid(
            &run.path().join("checkpoints"),
            format!("missing: metrics.jsonl records {recorded} epochs but no checkpoint is left to continue them from, and no {MODEL_FILE}; start a new run"),
        ));
    }
    eprintln!("{}: stopped before its first checkpoint; starting it from step 0", run.path().display());
    Ok(None)
}

/// The best epoch a finished run's `evaluation.json` names, if it can be read (its score is not recorded there).
fn previous_best(run: &Path) -> Option<Best> {
    let text = std::fs::read_to_string(run.join(EVALUATION_FILE)).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(Best { epoch: value["best_epoch"].as_u64()? as usize, score: f64::NAN })
}

/// The task's report of `model` on `items`.
fn evaluate_items<T: Task>(config: &T::Config, context: &Context, model: &T::Model, items: Arc<dyn Dataset<T::Item>>) -> Result<Scores, RunError> {
    let settings = T::train_config(config);
    let device = DeviceKind::resolve(settings.device)?.device()?;
    let loader = Loader::new(items, T::batcher(config), settings.workers, settings.prefetch);
    T::evaluate(config, context, model, &loader, &device)
}

/// The task's report of `model` on `split`.
fn evaluate_split<T: Task>(config: &T::Config, context: &Context, model: &T::Model, split: Split) -> Result<Scores, RunError> {
    evaluate_items::<T>(config, context, model, split_items::<T>(config, context, split)?)
}

/// What `eval` reads of a finished run: which split, on which device, and, for the test split, on which fresh
/// seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// The split.
    pub split: Split,
    /// The device (none: the run's own setting).
    pub device: Option<DeviceKind>,
    /// Draw the generated test data from this seed instead of the run's ([`Task::with_test_seed`]); the reports
    /// then go to the run's `test-seed-N/`, and the run's own stay as they were.
    pub test_seed: Option<u64>,
}

impl Reading {
    /// `split`, on the run's device, with the run's own data.
    pub fn of(split: Split) -> Self {
        Self { split, device: None, test_seed: None }
    }

    /// Where this reading of `run` leaves its reports: the run folder, or its `test-seed-N/`.
    pub fn reports_of(&self, run: &Path) -> std::path::PathBuf {
        self.test_seed.map_or_else(|| run.to_path_buf(), |seed| test_seed_folder(run, seed))
    }
}

/// Why `--test-seed` cannot read `task`.
pub fn fixed_test_split(task: &str) -> String {
    format!("{task}'s test split is not redrawn from a seed (a fixed set of files, or what the run prepared when it started)")
}

/// The file in a `test-seed-N/` folder that records the reading.
#[derive(Serialize)]
struct TestSeedFile<'a> {
    task: &'a str,
    split: Split,
    test_seed: u64,
    scores: &'a Scores,
}

/// Reloads a run's final model and evaluates it as `reading` asks on the data in `root`. On a fresh test seed
/// the model is checked against the config it was trained with, then tested on the test data that seed draws;
/// the scores are written to `test-seed-N/evaluation.json` beside the reports.
pub fn eval_run<T: Task>(run: &Path, root: &DataRoot, reading: Reading) -> Result<Scores, RunError> {
    let mut config = load_run_config::<T>(run)?;
    if reading.device.is_some() {
        T::train_config_mut(&mut config).device = reading.device;
    }
    let plain = DeviceKind::resolve(T::train_config(&config).device)?.device()?;
    let (_, model) = load_model::<T>(run, &plain)?;
    let Some(seed) = reading.test_seed else {
        return evaluate_split::<T>(&config, &Context::of(root.clone(), run), &model, reading.split);
    };
    if reading.split != Split::Test {
        return Err(RunError::bad_setting("--split", reading.split.name(), "--test-seed draws a new test split; it reads no other"));
    }
    let config = T::with_test_seed(&config, seed).ok_or_else(|| RunError::bad_setting("--test-seed", seed, fixed_test_split(T::NAME)))?;
    let reports = test_seed_folder(run, seed);
    std::fs::create_dir_all(&reports).map_err(|e| RunError::io(&reports, e))?;
    let context = Context { reports: reports.clone(), ..Context::of(root.clone(), run) };
    let scores = evaluate_split::<T>(&config, &context, &model, Split::Test)?;
    let file = TestSeedFile { task: T::NAME, split: Split::Test, test_seed: seed, scores: &scores };
    write_atomically(&reports.join(EVALUATION_FILE), &serde_json::to_vec_pretty(&file).expect("serialises"))?;
    Ok(scores)
}
