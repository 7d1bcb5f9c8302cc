//! `cargo xtask bench train-step`: one training step of the mnist CNN on flex (and wgpu when asked) against
//! PyTorch with the same architecture, batch and optimiser (`reference/train_step_reference.py`), in one run.
//! mm is timed twice: through the runner's real step (`Learner::train_step` with the task's optimisers, the
//! metrics kept on the device) and as a bare burn loop (forward, cross-entropy, backward, AdamW), so that the
//! runner's own cost is measured too.

use std::fmt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use mm_tasks::encoders::mnist::{Mnist, MnistConfig};
use mm_tasks::runner::{Batcher, ClassBatcher, ClassItem, Classifier, Learner, Optimizers, Tally, Target, Task};
use serde::Deserialize;

use crate::harness::{BenchError, flex_threads, python_with, reference_output, reference_script};

/// What to time.
#[derive(Debug, Clone)]
pub struct TrainStepOptions {
    /// Examples per step.
    pub batch: usize,
    /// Timed steps; the median is reported.
    pub repeats: usize,
    /// Threads for PyTorch (flex uses rayon's pool); `None`: flex's.
    pub threads: Option<usize>,
    /// Also time wgpu.
    pub wgpu: bool,
    /// Python with torch (`None`: MM_PYTHON, else ~/.cache/mm/pyref).
    pub python: Option<PathBuf>,
    /// Time mm only.
    pub no_reference: bool,
    /// The global allocator of the binary that times, for the header.
    pub allocator: &'static str,
}

/// The measured steps: `(trainer, ms per step)`, mm's runner on flex first.
pub struct TrainStepTimes {
    /// The options they were timed with.
    pub options: TrainStepOptions,
    /// `(trainer, ms per step)`.
    pub rows: Vec<(String, f64)>,
}

#[derive(Deserialize)]
struct Reference {
    version: String,
    ms: f64,
    threads: usize,
}

/// Times the steps.
pub fn time_train_steps(options: TrainStepOptions) -> Result<TrainStepTimes, BenchError> {
    let threads = flex_threads(options.threads);
    let (batch, repeats) = (options.batch, options.repeats);
    let flex = Device::flex().autodiff();
    let version = env!("CARGO_PKG_VERSION");
    let mut rows = vec![
        (format!("mm {version} runner step on flex"), time_runner_steps(&flex, batch, repeats)),
        (format!("mm {version} bare burn step on flex"), time_steps(&flex, batch, repeats)),
    ];
    if options.wgpu {
        let device = mm_tasks::DeviceKind::Wgpu.device()?.autodiff();
        rows.push((format!("mm {version} runner step on wgpu"), time_runner_steps(&device, batch, repeats)));
    }
    if !options.no_reference {
        let python = python_with(options.python.clone(), "torch", &["torch"])?;
        let script = reference_script("train_step_reference.py");
        let r: Reference = reference_output(
            &script,
            Command::new(&python).arg(&script).args([batch, repeats, threads].map(|v| v.to_string())).env("OMP_NUM_THREADS", threads.to_string()),
        )?;
        rows.push((format!("PyTorch {} CPU, {} threads", r.version, r.threads), r.ms));
    }
    Ok(TrainStepTimes { options, rows })
}

/// The table, each trainer relative to mm's runner on flex.
impl fmt::Display for TrainStepTimes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "mm's default mnist CNN (VGG stages 32/64/128, one conv-BN-ReLU block each, max-pool, GAP, dropout, linear), \
             batch {}, AdamW; median of {} steps; mm with {}",
            self.options.batch, self.options.repeats, self.options.allocator
        )?;
        writeln!(f)?;
        writeln!(f, "| trainer | ms/step | relative to mm's runner on flex |")?;
        writeln!(f, "|---|---|---|")?;
        let flex = self.rows[0].1;
        for (name, ms) in &self.rows {
            writeln!(f, "| {name} | {ms:.1} | {:.2}× |", ms / flex)?;
        }
        Ok(())
    }
}

/// Median ms of one step (forward, loss, backward, AdamW) on `device`, after 5 warm-up steps.
fn time_steps(device: &Device, batch: usize, repeats: usize) -> f64 {
    device.seed(0);
    let config = MnistConfig::default();
    let mut model = Mnist::model(&config, device).expect("the mnist model needs no files");
    let mut optimizer = AdamWConfig::new().with_weight_decay(1e-4).init();
    let images = Tensor::<2>::random([batch, 28 * 28], Distribution::Normal(0.0, 1.0), device);
    let labels: Vec<i64> = (0..batch as i64).map(|i| i % 10).collect();
    let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [batch]), device);
    let loss_fn = burn::nn::loss::CrossEntropyLossConfig::new().init(device);
    let mut times = Vec::with_capacity(repeats);
    for i in 0..repeats + 5 {
        let start = Instant::now();
        let loss = loss_fn.forward(model.logits(images.clone()), labels.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(1e-3, model, grads);
        // Wait for the device: the step is done when its result can be read.
        let _: f32 = model.logits(images.clone().narrow(0, 0, 1)).sum().into_scalar();
        if i >= 5 {
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Median ms of one step of the runner (the task's batch, `Learner::train_step`, the schedule's tick and the
/// running sums), after 5 warm-up steps.
fn time_runner_steps(device: &Device, batch: usize, repeats: usize) -> f64 {
    device.seed(0);
    let config = MnistConfig::default();
    let mut model = Mnist::model(&config, device).expect("the mnist model needs no files");
    let mut optimizers = Optimizers::new(Mnist::optimizers(&config), config.train.module_lr.clone(), 10_000);
    let pixels = Tensor::<2>::random([batch, 28 * 28], Distribution::Normal(0.0, 1.0), &Device::flex())
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("float");
    let items: Vec<ClassItem> =
        pixels.chunks(784).enumerate().map(|(i, row)| ClassItem { input: row.to_vec(), target: Target::Class(i as u32 % 10) }).collect();
    let mut tally = Tally::default();
    let mut times = Vec::with_capacity(repeats);
    for i in 0..repeats + 5 {
        let start = Instant::now();
        let batch = ClassBatcher.batch(items.clone(), device);
        let output;
        (model, output) = model.train_step(&batch, &mut optimizers);
        tally.add(&output);
        let _: f32 = model.logits(batch.inputs.narrow(0, 0, 1)).sum().into_scalar();
        if i >= 5 {
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}
