//! `cargo xtask bench train-step`: one training step of the mnist CNN on flex (and wgpu when it works) against
//! PyTorch with the same architecture, batch and optimiser, in one run. mm is timed twice: through the runner's
//! real step (`Learner::train_step` with the task's optimisers, the metrics kept on the device) and as a bare
//! burn loop (forward, cross-entropy, backward, AdamW), so that the runner's own cost is measured too.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use clap::Args;
use mm_tasks::encoders::mnist::{Mnist, MnistConfig};
use mm_tasks::runner::{Batcher, ClassBatcher, ClassItem, Classifier, Learner, Optimizers, Tally, Target, Task};
use serde::Deserialize;

use crate::Failure;
use crate::bench::python_with;

#[derive(Args)]
pub struct TrainStepArgs {
    /// Examples per step.
    #[arg(long, default_value_t = 64, value_parser = crate::flags::at_least_one)]
    batch: usize,
    /// Timed steps; the median is reported.
    #[arg(long, default_value_t = 30, value_parser = crate::flags::at_least_one)]
    repeats: usize,
    /// Threads for PyTorch (flex uses rayon's pool: RAYON_NUM_THREADS, else every core).
    #[arg(long, value_parser = crate::flags::threads)]
    threads: Option<usize>,
    /// Also time wgpu (a software Vulkan device here, whose timings mean nothing).
    #[arg(long)]
    wgpu: bool,
    /// Python with torch (default: MM_PYTHON, else ~/.cache/mm/pyref).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Time mm only.
    #[arg(long)]
    no_reference: bool,
}

#[derive(Deserialize)]
struct Reference {
    version: String,
    ms: f64,
    threads: usize,
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

pub fn run(args: TrainStepArgs) -> Result<ExitCode, Failure> {
    let threads = crate::bench::flex_threads(args.threads);
    let flex = Device::flex().autodiff();
    let mut rows = vec![
        (format!("mm {} runner step on flex", env!("CARGO_PKG_VERSION")), time_runner_steps(&flex, args.batch, args.repeats)),
        (format!("mm {} bare burn step on flex", env!("CARGO_PKG_VERSION")), time_steps(&flex, args.batch, args.repeats)),
    ];
    if args.wgpu {
        let device = mm_tasks::DeviceKind::Wgpu.device()?.autodiff();
        rows.push((format!("mm {} runner step on wgpu", env!("CARGO_PKG_VERSION")), time_runner_steps(&device, args.batch, args.repeats)));
    }
    if !args.no_reference {
        let python = python_with(args.python.clone(), "torch", &["torch"])?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/reference/train_step_reference.py");
        let output = Command::new(&python)
            .arg(&script)
            .args([args.batch, args.repeats, threads].map(|v| v.to_string()))
            .env("OMP_NUM_THREADS", threads.to_string())
            .output()?;
        if !output.status.success() {
            return Err(format!("{} failed: {}", script.display(), String::from_utf8_lossy(&output.stderr)).into());
        }
        let r: Reference = serde_json::from_slice(&output.stdout)?;
        rows.push((format!("PyTorch {} CPU, {} threads", r.version, r.threads), r.ms));
    }
    println!(
        "mm's default mnist CNN (VGG stages 32/64/128, one conv-BN-ReLU block each, max-pool, GAP, dropout, linear), \
         batch {}, AdamW; median of {} steps; mm with {}",
        args.batch,
        args.repeats,
        crate::ALLOCATOR
    );
    println!();
    println!("| trainer | ms/step | relative to mm's runner on flex |");
    println!("|---|---|---|");
    let flex = rows[0].1;
    for (name, ms) in &rows {
        println!("| {name} | {ms:.1} | {:.2}× |", ms / flex);
    }
    Ok(ExitCode::SUCCESS)
}
