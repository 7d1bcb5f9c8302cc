//! The training loop, the default validation, and loading a trained model back.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use burn::data::dataset::Dataset;
use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::checkpoint::{self, Best, Checkpoint};
use super::loader::{Loader, Prepare};
use super::metrics::{self, EpochMetrics, Scores};
use super::optim::Optimizers;
use super::replicas::{ShardBatcher, replicated_step};
use super::run_dir::{CONFIG_FILE, CURVES_FILE, METRICS_FILE, MODEL_FILE, write_atomically};
use super::run_file::load_run_config;
use super::step::{Learner, Tally};
use super::tensorboard::refresh_events;
use super::{BatchOf, Batcher, Context, RunDir, RunError, Task, TrainConfig, curves};
use crate::DeviceKind;

/// How often the progress bar reads the running sums back from the device.
const READ_EVERY: usize = 10;

/// What [`fit`] leaves behind.
#[derive(Debug)]
pub struct FitOutcome<M> {
    /// The model of the best epoch by validation (validation mode, on the plain device).
    pub model: M,
    /// Metrics of every epoch.
    pub history: Vec<EpochMetrics>,
    /// The best epoch and its score.
    pub best: Option<Best>,
    /// False when `stop_after` interrupted the run before its last epoch.
    pub finished: bool,
    /// The optimiser steps this call trained: `first..end` (a resumed run starts at its checkpoint's step).
    pub steps_trained: std::ops::Range<usize>,
}

/// How much of a run one call trains: where it starts, and where it stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    /// Continue from the run's newest checkpoint, rather than from step 0.
    pub resume: bool,
    /// End after this many epochs as if killed (for tests, and to split a long run); a later resumed call
    /// finishes the run.
    pub stop_after: Option<usize>,
}

impl Span {
    /// The whole run, from step 0 to its last epoch.
    pub const WHOLE: Span = Span { resume: false, stop_after: None };
    /// The rest of a run, from its newest checkpoint to its last epoch.
    pub const REST: Span = Span { resume: true, stop_after: None };

    /// From step 0, stopping after `epochs`.
    pub fn first(epochs: usize) -> Span {
        Span { resume: false, stop_after: Some(epochs) }
    }
}

/// The examples a run trains on and the ones it validates on after each epoch.
pub struct TrainingData<I> {
    /// What the optimiser steps on, shuffled each epoch.
    pub train: Arc<dyn Dataset<I>>,
    /// What each epoch is scored on, and the best checkpoint chosen by.
    pub valid: Arc<dyn Dataset<I>>,
}

/// Trains `T` on `data`, in `run` (whose `config.json` the caller has written), over the `span` asked.
pub fn fit<T: Task>(config: &T::Config, context: &Context, data: TrainingData<T::Item>, run: &RunDir, span: Span) -> Result<FitOutcome<T::Model>, RunError> {
    let TrainingData { train, valid } = data;
    let Span { resume, stop_after } = span;
    let settings = check_settings::<T>(config, train.len(), valid.len())?;
    // What the final weights record they were trained with (train_task passes the config as `eval` reads it back).
    let trained_with = config_digest(config);
    // A device's random generator is shared by the whole process: two runs training at once in one process
    // would draw from each other's stream. Runs in one process take turns, so each is exactly reproducible.
    static ONE_RUN_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_RUN_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let devices = Devices::of::<T>(&settings)?;
    devices.training.seed(settings.seed);
    let fitting = Fitting::<T> { config, context, run, steps_per_epoch: train.len().div_ceil(settings.batch_size), settings, devices };

    let (mut model, mut optimizers, mut state) = fitting.start(resume)?;
    let first_step = state.step;
    let batcher = T::batcher(config);
    let shards: Arc<dyn Batcher<T::Item, Vec<BatchOf<T>>>> = Arc::new(ShardBatcher::new(batcher.clone(), fitting.devices.replicas.clone()));
    let loader = Loader::new(train, shards, fitting.settings.workers, fitting.settings.prefetch);
    let valid_loader = Loader::new(valid, batcher, fitting.settings.workers, fitting.settings.prefetch);
    for epoch in state.epoch..fitting.settings.epochs {
        if stop_after.is_some_and(|n| epoch >= n) {
            return Ok(FitOutcome { model: model.valid(), history: state.history, best: state.best, finished: false, steps_trained: first_step..state.step });
        }
        let (trained, sums) = fitting.train_epoch(&loader, epoch, model, &mut optimizers, &mut state)?;
        model = trained;
        fitting.end_epoch(&valid_loader, epoch, sums, &model, &optimizers, &mut state)?;
    }
    let best = fitting.finish(model, &state, &trained_with)?;
    Ok(FitOutcome { model: best, history: state.history, best: state.best, finished: true, steps_trained: first_step..state.step })
}

/// The settings of `T`'s run, refused where they cannot train these data or this model.
fn check_settings<T: Task>(config: &T::Config, train: usize, valid: usize) -> Result<TrainConfig, RunError> {
    let settings = T::train_config(config).clone();
    settings.check()?;
    if train == 0 || valid == 0 {
        let (name, value) = if train == 0 { ("train", train) } else { ("valid", valid) };
        return Err(RunError::bad_setting(format!("{}: {name} examples", T::NAME), value, "a run needs training and validation examples"));
    }
    if let Some(unknown) = settings.module_lr.keys().find(|k| !<T::Model as Learner>::module_names().contains(&k.as_str())) {
        let why = format!("{} has no such sub-module (it has: {:?})", T::NAME, <T::Model as Learner>::module_names());
        return Err(RunError::bad_setting(format!("train.module_lr.{unknown}"), settings.module_lr[unknown], why));
    }
    Ok(settings)
}

/// The devices a run trains on.
struct Devices {
    /// Where validation runs (no autodiff).
    plain: Device,
    /// Where the weights live and train (autodiff).
    training: Device,
    /// Every replica that shares a batch (the first is `training`).
    replicas: Vec<Device>,
}

impl Devices {
    fn of<T: Task>(settings: &TrainConfig) -> Result<Self, RunError> {
        let plain_devices: Vec<Device> = if settings.devices.is_empty() {
            vec![DeviceKind::resolve(settings.device)?.device()?]
        } else {
            settings.devices.iter().map(|replica| replica.device()).collect::<Result<_, _>>()?
        };
        if plain_devices.len() > 1 && !<T::Model as Learner>::data_parallel() {
            let why = format!("{} replaces the training step and trains on one device only", T::NAME);
            return Err(RunError::bad_setting("train.devices", format!("{:?}", settings.devices), why));
        }
        let plain = plain_devices[0].clone();
        Ok(Self { training: plain.clone().autodiff(), replicas: plain_devices.iter().map(|d| d.clone().autodiff()).collect(), plain })
    }
}

/// What an epoch's training leaves for its end: the running sums, and the clock.
struct EpochSums {
    tally: Tally,
    /// When this process began the epoch.
    started: Instant,
    /// The seconds the epoch had taken before this process (a resumed epoch).
    seconds_before: f64,
}

impl EpochSums {
    fn seconds(&self) -> f64 {
        self.seconds_before + self.started.elapsed().as_secs_f64()
    }
}

/// A run in progress: what stays fixed while it trains.
struct Fitting<'a, T: Task> {
    config: &'a T::Config,
    context: &'a Context,
    run: &'a RunDir,
    settings: TrainConfig,
    devices: Devices,
    steps_per_epoch: usize,
}

impl<T: Task> Fitting<'_, T> {
    /// The model, its optimisers and the runner's state: fresh, or from the newest checkpoint with `resume`.
    fn start(&self, resume: bool) -> Result<(T::Model, Optimizers, Checkpoint), RunError> {
        let mut model = T::initialise(self.config, self.context, T::model(self.config, &self.devices.training)?)?;
        let named = T::optimizers(self.config);
        let names: Vec<&str> = named.iter().map(|(n, _, _)| n.as_str()).collect();
        if names != <T::Model as Learner>::optimizer_names() {
            let problem = format!("optimisers {names:?} given, the model steps {:?}", <T::Model as Learner>::optimizer_names());
            return Err(RunError::Contract { task: T::NAME, problem });
        }
        for (name, optimizer, _) in &named {
            optimizer.check(&format!("optimizer {name}"))?;
        }
        let mut optimizers = Optimizers::new(named, self.settings.module_lr.clone(), self.settings.epochs * self.steps_per_epoch);
        let mut state = Checkpoint::default();
        if resume && let Some((m, o, s)) = checkpoint::load_latest(self.run.path(), model.clone(), optimizers.clone())? {
            (model, optimizers, state) = (m, o, s);
            eprintln!("resuming {} at step {} (epoch {}, batch {})", self.run.path().display(), state.step, state.epoch + 1, state.batch);
        }
        optimizers.step = state.step;
        metrics::rewrite(&self.run.path().join(METRICS_FILE), &state.history)?;
        Ok((model, optimizers, state))
    }

    /// Trains `epoch` from the state's batch on: each batch's step, the progress bar, the divergence check and
    /// the checkpoints due inside the epoch. Returns the model and the epoch's running sums.
    fn train_epoch(
        &self,
        loader: &Loader<T::Item, Vec<BatchOf<T>>>,
        epoch: usize,
        mut model: T::Model,
        optimizers: &mut Optimizers,
        state: &mut Checkpoint,
    ) -> Result<(T::Model, EpochSums), RunError> {
        let started = Instant::now();
        let (settings, device, replicas) = (&self.settings, &self.devices.training, &self.devices.replicas);
        let (first_batch, mut tally, seconds_before) =
            if state.batch > 0 { (state.batch, Tally::restore(&state.tally, device), state.epoch_seconds) } else { (0, Tally::default(), 0.0) };
        let mut order: Vec<usize> = (0..loader.len()).collect();
        let mut shuffle = ChaCha8Rng::seed_from_u64(settings.seed);
        shuffle.set_stream(epoch as u64 + 1);
        order.shuffle(&mut shuffle);
        let augment_config = self.config.clone();
        let seed = settings.seed;
        let prepare: Prepare<T::Item> = Arc::new(move |b, items| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED);
            rng.set_stream(((epoch as u64) << 32) | b as u64);
            items.iter_mut().for_each(|item| T::augment(&augment_config, item, &mut rng));
        });

        let bar = progress_bar(T::NAME, epoch, settings.epochs, self.steps_per_epoch, first_batch);
        let mut last_finite_step = state.step;
        for (b, shards) in loader.batches(order, settings.batch_size, first_batch, Some(prepare), device) {
            let shards = shards?;
            // Every draw of this step comes from (seed, epoch, batch): a resumed run repeats it exactly.
            let step_seed = settings.seed.wrapping_add(1_000_003 * (epoch as u64 + 1)).wrapping_add(7919 * b as u64);
            device.seed(step_seed);
            let output;
            (model, output) = match shards.as_slice() {
                [batch] if replicas.len() == 1 => model.train_step(batch, optimizers),
                _ => replicated_step(model, &shards, replicas, step_seed, optimizers),
            };
            optimizers.tick();
            tally.add(&output);
            state.step = optimizers.step;
            state.batch = b + 1;
            bar.inc(1);
            let checkpoint_due = settings.checkpoint_every > 0 && state.step.is_multiple_of(settings.checkpoint_every) && b + 1 < self.steps_per_epoch;
            if (b + 1) % READ_EVERY == 0 || b + 1 == self.steps_per_epoch || checkpoint_due {
                let means = tally.means();
                // A diverged run stops here, before a checkpoint could save its non-finite weights.
                if let Some((name, value)) = means.iter().find(|(_, v)| !v.is_finite()) {
                    bar.finish_and_clear();
                    return Err(diverged(self.run.path(), name, *value, last_finite_step, state.step));
                }
                last_finite_step = state.step;
                bar.set_message(progress_message(&means));
            }
            if checkpoint_due {
                state.tally = tally.snapshot();
                state.epoch_seconds = seconds_before + started.elapsed().as_secs_f64();
                checkpoint::save(self.run.path(), &model, optimizers, state, settings.keep_checkpoints)?;
            }
        }
        bar.finish_and_clear();
        Ok((model, EpochSums { tally, started, seconds_before }))
    }

    /// Ends `epoch`: validation, the epoch's metrics (`metrics.jsonl`, curves, TensorBoard), the best checkpoint
    /// by the task's selection, and the epoch's checkpoint.
    fn end_epoch(
        &self,
        valid_loader: &Loader<T::Item, BatchOf<T>>,
        epoch: usize,
        sums: EpochSums,
        model: &T::Model,
        optimizers: &Optimizers,
        state: &mut Checkpoint,
    ) -> Result<(), RunError> {
        let run = self.run.path();
        let validation = T::validate(self.config, self.context, &model.valid(), valid_loader, &self.devices.plain)?;
        let mut values = BTreeMap::new();
        for (name, value) in sums.tally.means() {
            values.insert(format!("train_{name}"), value);
        }
        for (name, value) in &validation {
            values.insert(format!("valid_{name}"), *value);
        }
        values.insert("lr".into(), optimizers.first_lr());
        let metrics = EpochMetrics { epoch: epoch + 1, step: state.step, seconds: sums.seconds(), values };
        eprintln!("{} epoch {}/{}: {} | {:.0} s", T::NAME, epoch + 1, self.settings.epochs, summary(&metrics), metrics.seconds);
        metrics::append(&run.join(METRICS_FILE), &metrics)?;
        state.history.push(metrics);
        (state.epoch, state.batch, state.tally, state.epoch_seconds) = (epoch + 1, 0, Default::default(), 0.0);

        let selection = T::selection(self.config);
        let score = validation.get(selection.metric).copied().ok_or_else(|| {
            let problem = format!("the validation scores have no {:?} to choose the best epoch by (they have {:?})", selection.metric, validation.keys());
            RunError::Contract { task: T::NAME, problem }
        })?;
        // A score that is not a number (a diverged run) is never the best.
        if score.is_finite() && state.best.is_none_or(|best| selection.better(score, best.score)) {
            state.best = Some(Best { epoch: epoch + 1, score });
            checkpoint::save_best(run, &model.valid(), state)?;
        }
        curves::draw_learning_curves(&state.history, &format!("{} — {}", T::NAME, run.display()), &run.join(CURVES_FILE))?;
        refresh_events(run)?;
        checkpoint::save(run, model, optimizers, state, self.settings.keep_checkpoints)
    }

    /// The weights of the best epoch (the last one's where none had a finite score), saved as
    /// `model.safetensors` with the digest of the config they were trained with.
    fn finish(&self, model: T::Model, state: &Checkpoint, trained_with: &str) -> Result<T::Model, RunError> {
        let run = self.run.path();
        let best = if state.best.is_some() {
            checkpoint::load_best(run, model.valid())?
        } else {
            eprintln!("warning: {}: no epoch had a finite validation {}; the last epoch's weights are saved", T::NAME, T::selection(self.config).metric);
            model.valid()
        };
        save_model_trained_with(&best, &run.join(MODEL_FILE), Some(trained_with))?;
        Ok(best)
    }
}

/// The error of a run whose training `metric` became `value` (not finite) after step `good`, by step `step`.
fn diverged(run: &Path, metric: &str, value: f64, good: usize, step: usize) -> RunError {
    RunError::Diverged { metric: metric.into(), value, step, last_finite_step: good, last_checkpoint: checkpoint::newest(run) }
}

fn progress_bar(task: &str, epoch: usize, epochs: usize, steps: usize, done: usize) -> ProgressBar {
    let bar = ProgressBar::new(steps as u64).with_style(
        ProgressStyle::with_template(&format!("{task} epoch {}/{epochs} {{bar:30}} {{pos}}/{{len}} {{msg}} ETA {{eta}}", epoch + 1)).expect("a valid template"),
    );
    bar.set_position(done as u64);
    bar
}

fn progress_message(means: &[(String, f64)]) -> String {
    means.iter().map(|(name, value)| format!("{name} {value:.4}")).collect::<Vec<_>>().join(" ")
}

/// `train loss … accuracy … | valid loss … accuracy …` for the log line.
fn summary(metrics: &EpochMetrics) -> String {
    let part = |prefix: &str| {
        metrics
            .values
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).filter(|name| !name.contains('/')).map(|name| format!("{name} {v:.4}")))
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!("train {} | valid {}", part("train_"), part("valid_"))
}

/// The mean loss and metrics of [`Learner::objective`] over `loader`'s items in order: the default validation.
pub fn mean_objective<M: Learner>(
    model: &M,
    loader: &Loader<impl Send + Sync + 'static, M::Batch>,
    batch_size: usize,
    device: &Device,
) -> Result<Scores, RunError> {
    let mut tally = Tally::default();
    for (_, batch) in loader.batches((0..loader.len()).collect(), batch_size, 0, None, device) {
        tally.add(&model.objective(&batch?));
    }
    Ok(tally.means().into_iter().collect())
}

/// The safetensors metadata key under which a run's final weights record the config they were trained with.
const TRAINED_WITH: &str = "mm.trained_with";

/// A digest (MD5, hex) of a task config's settings: what a run's weights record they were trained with.
fn config_digest<C: serde::Serialize>(config: &C) -> String {
    use md5::{Digest, Md5};
    let canonical = serde_json::to_vec(&serde_json::to_value(config).expect("configs serialise")).expect("values serialise");
    Md5::digest(&canonical).iter().map(|b| format!("{b:02x}")).collect()
}

/// The digest of the settings as the config reads them now, as `config.json` wrote them: only the settings
/// the file names (a run written before its task gained a setting reads that setting's default, which its
/// weights' digest never covered), each name as the file spells it (a value renamed since reads through its
/// old name, and would write the new one). A value edited since still changes the digest.
fn written_config_digest<C: serde::Serialize>(config: &C, run: &Path) -> Option<String> {
    let text = std::fs::read_to_string(run.join(CONFIG_FILE)).ok()?;
    let file: serde_json::Value = serde_json::from_str(&text).ok()?;
    let mut settings = serde_json::to_value(config).ok()?;
    as_written(&mut settings, file.get("config")?);
    Some(config_digest(&settings))
}

/// Removes from `value` every field (at any depth) that `written` does not have, and gives each text in it
/// the spelling `written` has in its place.
fn as_written(value: &mut serde_json::Value, written: &serde_json::Value) {
    use serde_json::Value;
    match (value, written) {
        (Value::Object(fields), Value::Object(names)) => {
            fields.retain(|key, _| names.contains_key(key));
            for (key, field) in fields.iter_mut() {
                as_written(field, &names[key]);
            }
        }
        (Value::Array(items), Value::Array(written)) => items.iter_mut().zip(written).for_each(|(item, written)| as_written(item, written)),
        (Value::String(text), Value::String(spelling)) => spelling.clone_into(text),
        _ => {}
    }
}

/// Saves weights as safetensors, through a temporary file.
pub fn save_model<M: Module>(model: &M, path: &Path) -> Result<(), RunError> {
    save_model_trained_with(model, path, None)
}

/// Saves weights as safetensors, through a temporary file, recording the digest of the config they were
/// trained with (checked by [`load_model`]).
fn save_model_trained_with<M: Module>(model: &M, path: &Path, trained_with: Option<&str>) -> Result<(), RunError> {
    let mut store = SafetensorsStore::from_bytes(None);
    if let Some(digest) = trained_with {
        store = store.metadata(TRAINED_WITH, digest);
    }
    model.save_into(&mut store).map_err(|e| RunError::invalid(path, e))?;
    let bytes = store.get_bytes().map_err(|e| RunError::invalid(path, e))?;
    write_atomically(path, &bytes)
}

/// Reads a run's `config.json` (checking its pinned inputs) and `model.safetensors` into a model on `device`.
/// Refuses weights that are not all finite, and a `config.json` whose settings are no longer the ones the
/// weights were trained with (edited since): either would evaluate silently to other numbers.
pub fn load_model<T: Task>(run: &Path, device: &Device) -> Result<(T::Config, T::Model), RunError> {
    let config: T::Config = load_run_config::<T>(run)?;
    let weights = run.join(MODEL_FILE);
    if !weights.exists() {
        return Err(RunError::invalid(&weights, "missing: the run did not finish (resume it with --resume)"));
    }
    let bytes = std::fs::read(&weights).map_err(|e| RunError::io(&weights, e))?;
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| RunError::invalid(&weights, format!("not a safetensors file: {e}")))?;
    if let Some(recorded) = header.metadata().as_ref().and_then(|m| m.get(TRAINED_WITH))
        && *recorded != config_digest(&config)
        && Some(recorded) != written_config_digest(&config, run).as_ref()
    {
        return Err(RunError::invalid(
            &run.join(CONFIG_FILE),
            format!("its settings are not the ones {MODEL_FILE} was trained with (it was edited since); restore it, or train a new run with the new settings"),
        ));
    }
    check_finite(&bytes, &weights)?;
    let mut model = T::model(&config, device)?;
    let mut store = SafetensorsStore::from_bytes(Some(bytes));
    model.load_from(&mut store).map_err(|e| RunError::invalid(&weights, e))?;
    Ok((config, model.valid()))
}

/// Loads the final model of `run`, a finished run of task `T` that another run starts from (a pretrained
/// encoder, a teacher), on `device`; a missing file names the run and how to make it.
pub fn load_pretrained<T: Task>(run: &Path, device: &Device) -> Result<(T::Config, T::Model), RunError> {
    load_model::<T>(run, device).map_err(|error| match error {
        RunError::Io { path, source } => {
            RunError::MissingRun { looked_in: run.into(), problem: format!("{}: {source}", path.display()), train_with: Some(T::NAME.into()) }
        }
        other => other,
    })
}

/// An error naming the first tensor of a safetensors file that holds a value that is not finite.
fn check_finite(bytes: &[u8], path: &Path) -> Result<(), RunError> {
    use safetensors::Dtype;
    let tensors = safetensors::SafeTensors::deserialize(bytes).map_err(|e| RunError::invalid(path, format!("not a safetensors file: {e}")))?;
    for (name, view) in tensors.iter() {
        let data = view.data();
        let finite = match view.dtype() {
            Dtype::F32 => data.chunks_exact(4).all(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite()),
            Dtype::F64 => data.chunks_exact(8).all(|b| f64::from_le_bytes(b.try_into().expect("eight bytes")).is_finite()),
            Dtype::F16 => data.chunks_exact(2).all(|b| u16::from_le_bytes([b[0], b[1]]) & 0x7C00 != 0x7C00),
            Dtype::BF16 => data.chunks_exact(2).all(|b| u16::from_le_bytes([b[0], b[1]]) & 0x7F80 != 0x7F80),
            _ => true,
        };
        if !finite {
            return Err(RunError::invalid(
                path,
                format!("the weights {name} hold a value that is not finite (NaN or infinite): the run diverged or the file was damaged"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::as_written;

    #[test]
    fn settings_as_written_keep_the_files_fields_and_spellings_and_not_its_values() {
        let mut settings = json!({ "readout": "flatten", "width": 8, "added": 1, "model": { "kind": "lstm", "layers": [{ "width": 4, "new": 0 }] } });
        let written = json!({ "readout": "flattened", "width": 8, "model": { "kind": "lstm", "layers": [{ "width": 4 }] } });
        as_written(&mut settings, &written);
        assert_eq!(settings, written);
        // A number edited in the file is not taken over: the digest then differs from the weights'.
        let mut settings = json!({ "width": 8 });
        as_written(&mut settings, &json!({ "width": 9 }));
        assert_eq!(settings, json!({ "width": 8 }));
    }
}
