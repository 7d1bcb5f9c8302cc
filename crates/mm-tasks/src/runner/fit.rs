//! The training loop, evaluation, and loading a trained model back.

use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::activation::log_sigmoid;
use burn::tensor::{Device, Tensor};
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::checkpoint::{self, Checkpoint};
use super::examples::{BatchTargets, Examples, HostBatch, Targets};
use super::metrics::{self, EpochMetrics};
use super::run_dir::write_atomically;
use super::{curves, Classifier, RunDir, RunError, Task};
use crate::DeviceKind;

/// The config a run was trained with, saved beside its weights.
pub const CONFIG_FILE: &str = "config.json";
/// The final weights.
pub const MODEL_FILE: &str = "model.safetensors";
/// Per-epoch metrics.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// The learning-curve picture.
pub const CURVES_FILE: &str = "curves.png";

/// What [`fit`] leaves behind.
#[derive(Debug)]
pub struct FitOutcome<M> {
    /// The trained model (validation mode, on the plain device).
    pub model: M,
    /// Metrics of every epoch.
    pub history: Vec<EpochMetrics>,
    /// False when `stop_after` interrupted the run before its last epoch.
    pub finished: bool,
}

/// Loss and accuracy of a model on a split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Mean loss per example.
    pub loss: f64,
    /// Accuracy (exact match of all labels for multi-label targets).
    pub accuracy: f64,
    /// Examples evaluated.
    pub examples: usize,
    /// Accuracy per class (single-label targets) or per label (multi-label), by name.
    pub per_class: Vec<(String, f64)>,
}

/// Trains `T` on `train`, validating on `valid` after each epoch, in `run`. With `resume`, continues from the
/// run's newest checkpoint. `stop_after` ends the run after that many epochs as if it were killed (for tests
/// and for splitting long runs); a later `resume` finishes it.
pub fn fit<T: Task>(
    config: &T::Config,
    train: &Examples,
    valid: &Examples,
    run: &RunDir,
    resume: bool,
    stop_after: Option<usize>,
) -> Result<FitOutcome<T::Model>, RunError> {
    let settings = T::train_config(config).clone();
    settings.check()?;
    if train.is_empty() || valid.is_empty() {
        return Err(RunError::Config(format!("{}: no training or validation examples", T::NAME)));
    }
    let plain = DeviceKind::resolve(settings.device)?.device()?;
    let device = plain.clone().autodiff();
    device.seed(settings.seed);
    let config_path = run.path().join(CONFIG_FILE);
    write_atomically(&config_path, &serde_json::to_vec_pretty(config).expect("configs serialise"))?;
    let metrics_path = run.path().join(METRICS_FILE);

    let mut model = T::model(config, &device)?;
    let mut optimizer = AdamWConfig::new().with_weight_decay(settings.weight_decay as f32).init();
    let mut state = Checkpoint { epoch: 0, step: 0, history: Vec::new() };
    if resume {
        if let Some((m, o, s)) = checkpoint::load_latest(run.path(), model.clone(), optimizer.clone())? {
            (model, optimizer, state) = (m, o, s);
            eprintln!("resuming {} after epoch {}", run.path().display(), state.epoch);
        }
    }
    metrics::rewrite(&metrics_path, &state.history)?;

    let steps_per_epoch = train.len().div_ceil(settings.batch_size);
    let total_steps = (settings.epochs * steps_per_epoch) as f64;
    let lr_at = |step: usize| settings.lr * 0.5 * (1.0 + (std::f64::consts::PI * step as f64 / total_steps).cos());
    for epoch in state.epoch..settings.epochs {
        if stop_after.is_some_and(|n| epoch >= n) {
            return Ok(FitOutcome { model: model.valid(), history: state.history, finished: false });
        }
        let started = Instant::now();
        // Every draw of this epoch comes from (seed, epoch): a resumed run repeats it exactly.
        device.seed(settings.seed.wrapping_add(1_000_003 * (epoch as u64 + 1)));
        let mut order: Vec<usize> = (0..train.len()).collect();
        let mut shuffle = ChaCha8Rng::seed_from_u64(settings.seed);
        shuffle.set_stream(epoch as u64 + 1);
        order.shuffle(&mut shuffle);

        let bar = ProgressBar::new(steps_per_epoch as u64).with_style(
            ProgressStyle::with_template(&format!(
                "{} epoch {}/{} {{bar:30}} {{pos}}/{{len}} {{msg}} ETA {{eta}}",
                T::NAME,
                epoch + 1,
                settings.epochs
            ))
            .expect("a valid template"),
        );
        let (mut loss_sum, mut correct, mut seen) = (0f64, 0usize, 0usize);
        let k = train.targets.width();
        let (mut class_hits, mut class_counts) = (vec![0usize; k], vec![0usize; k]);
        for (b, chunk) in order.chunks(settings.batch_size).enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(settings.seed ^ 0x5EED);
            rng.set_stream(((epoch as u64) << 32) | b as u64);
            let batch = train.gather(chunk, |example| T::augment(config, example, &mut rng));
            let (loss, logits) = model.objective(batch.input_tensor(&device), &batch.target_tensors(&train.targets, &device));
            let value: f32 = loss.clone().into_scalar();
            correct += tally(logits, &batch, &train.targets, &mut class_hits, &mut class_counts);
            seen += batch.len;
            loss_sum += value as f64 * batch.len as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(lr_at(state.step), model, grads);
            state.step += 1;
            bar.inc(1);
            bar.set_message(format!("loss {:.4} acc {:.4}", loss_sum / seen as f64, correct as f64 / seen as f64));
        }
        bar.finish_and_clear();
        let validation = evaluate(&model.valid(), valid, settings.batch_size, &plain);
        let metrics = EpochMetrics {
            epoch: epoch + 1,
            train_loss: loss_sum / seen as f64,
            train_accuracy: correct as f64 / seen as f64,
            valid_loss: validation.loss,
            valid_accuracy: validation.accuracy,
            lr: lr_at(state.step),
            seconds: started.elapsed().as_secs_f64(),
        };
        eprintln!(
            "{} epoch {}/{}: train loss {:.4} acc {:.4} | valid loss {:.4} acc {:.4} | {:.0} s",
            T::NAME,
            metrics.epoch,
            settings.epochs,
            metrics.train_loss,
            metrics.train_accuracy,
            metrics.valid_loss,
            metrics.valid_accuracy,
            metrics.seconds
        );
        metrics::append(&metrics_path, &metrics)?;
        state.history.push(metrics);
        state.epoch = epoch + 1;
        curves::draw_learning_curves(&state.history, &format!("{} — {}", T::NAME, run.path().display()), &run.path().join(CURVES_FILE))?;
        checkpoint::save(run.path(), &model, &optimizer, &state, settings.keep_checkpoints)?;
    }
    let model = model.valid();
    save_model(&model, &run.path().join(MODEL_FILE))?;
    Ok(FitOutcome { model, history: state.history, finished: true })
}

/// Saves weights as safetensors, through a temporary file.
pub fn save_model<M: Module>(model: &M, path: &Path) -> Result<(), RunError> {
    let mut store = SafetensorsStore::from_bytes(None);
    model.save_into(&mut store).map_err(|e| RunError::invalid(path, e))?;
    let bytes = store.get_bytes().map_err(|e| RunError::invalid(path, e))?;
    write_atomically(path, &bytes)
}

/// Reads a run's `config.json` and `model.safetensors` into a model on `device`.
pub fn load_model<T: Task>(run: &Path, device: &Device) -> Result<(T::Config, T::Model), RunError> {
    let config_path = run.join(CONFIG_FILE);
    let config: T::Config = super::load_config(&config_path)?;
    let mut model = T::model(&config, device)?;
    let weights = run.join(MODEL_FILE);
    if !weights.exists() {
        return Err(RunError::invalid(&weights, "missing: the run did not finish (resume it with --resume)"));
    }
    let mut store = SafetensorsStore::from_file(&weights);
    model.load_from(&mut store).map_err(|e| RunError::invalid(&weights, e))?;
    Ok((config, model.valid()))
}

/// Loss and accuracy of `model` (in validation mode) on `examples`, in batches of `batch_size`.
pub fn evaluate<M: Classifier>(model: &M, examples: &Examples, batch_size: usize, device: &Device) -> Evaluation {
    let k = examples.targets.width();
    let (mut loss_sum, mut correct) = (0f64, 0usize);
    let (mut class_hits, mut class_counts) = (vec![0usize; k], vec![0usize; k]);
    let indices: Vec<usize> = (0..examples.len()).collect();
    for chunk in indices.chunks(batch_size.max(1)) {
        let batch = examples.gather(chunk, |_| {});
        let (loss, logits) = model.objective(batch.input_tensor(device), &batch.target_tensors(&examples.targets, device));
        let loss: f32 = loss.into_scalar();
        loss_sum += loss as f64 * batch.len as f64;
        correct += tally(logits, &batch, &examples.targets, &mut class_hits, &mut class_counts);
    }
    let n = examples.len();
    let per_class = examples
        .targets
        .names()
        .iter()
        .zip(class_hits.iter().zip(&class_counts))
        .map(|(name, (&h, &c))| (name.clone(), h as f64 / c.max(1) as f64))
        .collect();
    Evaluation { loss: loss_sum / n as f64, accuracy: correct as f64 / n as f64, examples: n, per_class }
}

/// Cross-entropy for classes, binary cross-entropy (mean over labels) for labels: a `[1]` tensor.
pub fn default_loss(logits: Tensor<2>, targets: &BatchTargets) -> Tensor<1> {
    match targets {
        BatchTargets::Classes(classes) => CrossEntropyLossConfig::new().init(&logits.device()).forward(logits, classes.clone()),
        BatchTargets::Labels(y) => {
            let y = y.clone();
            let positive = log_sigmoid(logits.clone()) * y.clone();
            let negative = log_sigmoid(logits.neg()) * (y.neg() + 1.0);
            (positive + negative).mean().neg().reshape([1])
        }
    }
}

/// Adds a batch's right answers to `hits` and `counts` (per class, or per label) and returns how many of its
/// examples are right: the arg-max is the class, or every label's sign agrees with the truth.
fn tally(logits: Tensor<2>, batch: &HostBatch, targets: &Targets, hits: &mut [usize], counts: &mut [usize]) -> usize {
    let k = targets.width();
    let scores: Vec<f32> = logits.detach().into_data().convert::<f32>().try_to_vec().expect("float logits");
    let mut correct = 0;
    for (row, scores) in scores.chunks(k).enumerate() {
        match targets {
            Targets::Classes { .. } => {
                let truth = batch.classes[row] as usize;
                let hit = argmax(scores) == truth;
                correct += hit as usize;
                hits[truth] += hit as usize;
                counts[truth] += 1;
            }
            Targets::Labels { .. } => {
                let mut all = true;
                for (j, (&s, &t)) in scores.iter().zip(&batch.labels[row * k..(row + 1) * k]).enumerate() {
                    let hit = (s > 0.0) == (t > 0.5);
                    all &= hit;
                    hits[j] += hit as usize;
                    counts[j] += 1;
                }
                correct += all as usize;
            }
        }
    }
    correct
}

/// Index of the largest value (the first of equals; 0 for an empty slice).
pub fn argmax(values: &[f32]) -> usize {
    values.iter().enumerate().fold((0, f32::NEG_INFINITY), |best, (i, &v)| if v > best.1 { (i, v) } else { best }).0
}
