//! The runner beyond classifiers: a GAN on 2-D points trained by two optimisers whose samples move onto the
//! target distribution, a sequence model over token ids with a per-token loss and greedy decoding as its
//! validation, and 100,000 picture-sized items streamed with memory bounded by the batch.

use std::sync::Arc;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig, Lstm, LstmConfig};
use burn::optim::GradientsParams;
use burn::tensor::activation::{leaky_relu, log_sigmoid};
use burn::tensor::{Device, Int, Tensor, TensorData};
use mm_runner::DataRoot;
use mm_runner::{
    Batcher, Context, Dataset, DatasetError, InMemDataset, Learner, Loader, OptimizerKind, OptimizerSettings, Optimizers, Reading, RunDir, RunError, Schedule,
    Scores, Selection, Span, Split, StepOutput, Task, TrainConfig, eval_run, train_task,
};
use serde::{Deserialize, Serialize};

// --- A GAN on points ------------------------------------------------------------------------------------------

/// Where the real points are: N((3, −2), 0.5²).
const TARGET: [f32; 2] = [3.0, -2.0];

#[derive(Module, Debug)]
struct Mlp {
    a: Linear,
    b: Linear,
    c: Linear,
}

impl Mlp {
    fn new(d_in: usize, d_out: usize, device: &Device) -> Self {
        Self { a: LinearConfig::new(d_in, 32).init(device), b: LinearConfig::new(32, 32).init(device), c: LinearConfig::new(32, d_out).init(device) }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.c.forward(leaky_relu(self.b.forward(leaky_relu(self.a.forward(x), 0.2)), 0.2))
    }
}

#[derive(Module, Debug)]
struct PointGan {
    generator: Mlp,
    discriminator: Mlp,
}

#[derive(Debug, Clone)]
struct PointBatch {
    real: Tensor<2>,
    noise: Tensor<2>,
}

#[derive(Debug, Clone)]
struct PointItem {
    real: [f32; 2],
    noise: [f32; 2],
}

struct PointBatcher;

impl Batcher<PointItem, PointBatch> for PointBatcher {
    fn batch(&self, items: Vec<PointItem>, device: &Device) -> PointBatch {
        let n = items.len();
        let real = items.iter().flat_map(|i| i.real).collect::<Vec<_>>();
        let noise = items.iter().flat_map(|i| i.noise).collect::<Vec<_>>();
        PointBatch { real: Tensor::from_data(TensorData::new(real, [n, 2]), device), noise: Tensor::from_data(TensorData::new(noise, [n, 2]), device) }
    }
}

/// −log σ(x) averaged: "x should be called real".
fn real_loss(logits: Tensor<2>) -> Tensor<1> {
    log_sigmoid(logits).mean().neg().reshape([1])
}

/// −log(1 − σ(x)) averaged: "x should be called fake".
fn fake_loss(logits: Tensor<2>) -> Tensor<1> {
    log_sigmoid(logits.neg()).mean().neg().reshape([1])
}

impl PointGan {
    fn losses(&self, batch: &PointBatch) -> (Tensor<1>, Tensor<1>) {
        let fake = self.generator.forward(batch.noise.clone());
        let d = real_loss(self.discriminator.forward(batch.real.clone())) + fake_loss(self.discriminator.forward(fake.clone().detach()));
        (d, real_loss(self.discriminator.forward(fake)))
    }
}

impl Learner for PointGan {
    type Batch = PointBatch;

    fn objective(&self, batch: &PointBatch) -> StepOutput {
        let [n, _] = batch.real.dims();
        let (d, g) = self.losses(batch);
        StepOutput::loss(d.clone() + g.clone(), n).with_metric("d_loss", d * n as f32).with_metric("g_loss", g * n as f32)
    }

    fn optimizer_names() -> &'static [&'static str] {
        &["discriminator", "generator"]
    }

    /// A discriminator step, then a generator step against the updated discriminator.
    fn train_step(self, batch: &PointBatch, optimizers: &mut Optimizers) -> (Self, StepOutput) {
        let [n, _] = batch.real.dims();
        let (d_loss, _) = self.losses(batch);
        let mut grads = d_loss.backward();
        let d_grads = GradientsParams::from_module(&mut grads, &self.discriminator);
        let discriminator = optimizers.step("discriminator", self.discriminator, d_grads, 1.0);
        let model = PointGan { generator: self.generator, discriminator };
        let (_, g_loss) = model.losses(batch);
        let mut grads = g_loss.backward();
        let g_grads = GradientsParams::from_module(&mut grads, &model.generator);
        let generator = optimizers.step("generator", model.generator, g_grads, 1.0);
        let output = StepOutput::loss(d_loss.clone() + g_loss.clone(), n).with_metric("d_loss", d_loss * n as f32).with_metric("g_loss", g_loss * n as f32);
        (PointGan { generator, discriminator: model.discriminator }, output)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct GanConfig {
    train: TrainConfig,
}

struct PointGanTask;

/// A standard normal pair from two uniforms (Box–Muller), by index.
fn normal_pair(index: usize, salt: u64) -> [f32; 2] {
    let hash = |k: u64| ((k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let (u, v) = (hash(index as u64 * 2 + salt), hash(index as u64 * 2 + 1 + salt));
    let r = (-2.0 * u.ln()).sqrt();
    [(r * (std::f64::consts::TAU * v).cos()) as f32, (r * (std::f64::consts::TAU * v).sin()) as f32]
}

/// Mean distance of generated points' mean from the target's, and their standard deviation.
fn sample_error(model: &PointGan, device: &Device) -> (f64, f64) {
    let noise: Vec<f32> = (0..1000).flat_map(|i| normal_pair(i, 0xABC)).collect();
    let points = model.generator.forward(Tensor::from_data(TensorData::new(noise, [1000, 2]), device));
    let values: Vec<f32> = points.into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
    let mean = [0, 1].map(|k| values.iter().skip(k).step_by(2).map(|&v| v as f64).sum::<f64>() / 1000.0);
    let spread = ((0..1000).map(|i| (values[2 * i] as f64 - mean[0]).powi(2) + (values[2 * i + 1] as f64 - mean[1]).powi(2)).sum::<f64>() / 2000.0).sqrt();
    (((mean[0] - TARGET[0] as f64).powi(2) + (mean[1] - TARGET[1] as f64).powi(2)).sqrt(), spread)
}

impl Task for PointGanTask {
    const NAME: &'static str = "point-gan";
    type Config = GanConfig;
    type Item = PointItem;
    type Model = PointGan;

    fn train_config(config: &GanConfig) -> &TrainConfig {
        &config.train
    }

    fn train_config_mut(config: &mut GanConfig) -> &mut TrainConfig {
        &mut config.train
    }

    fn dataset(_config: &GanConfig, _context: &Context, split: Split) -> Result<Arc<dyn Dataset<PointItem>>, RunError> {
        let (count, salt) = match split {
            Split::Train => (2048, 1),
            Split::Valid => (256, 1 << 40),
            Split::Test => (256, 1 << 41),
        };
        let items = (0..count)
            .map(|i| {
                let [a, b] = normal_pair(i, salt);
                PointItem { real: [TARGET[0] + 0.5 * a, TARGET[1] + 0.5 * b], noise: normal_pair(i, salt + 7) }
            })
            .collect();
        Ok(Arc::new(InMemDataset::new(items)))
    }

    fn batcher(_config: &GanConfig) -> Arc<dyn Batcher<PointItem, PointBatch>> {
        Arc::new(PointBatcher)
    }

    fn model(_config: &GanConfig, device: &Device) -> Result<PointGan, RunError> {
        Ok(PointGan { generator: Mlp::new(2, 2, device), discriminator: Mlp::new(2, 1, device) })
    }

    /// Two Adam optimisers (beta1 0.5, as DCGAN): the discriminator at a constant rate, the generator's rate
    /// decaying along a cosine so that its samples settle.
    fn optimizers(config: &GanConfig) -> Vec<(String, OptimizerSettings, f64)> {
        let adam = OptimizerSettings { kind: OptimizerKind::Adam, beta1: 0.5, weight_decay: 0.0, schedule: Schedule::Constant, ..Default::default() };
        let generator = OptimizerSettings { schedule: Schedule::Cosine, ..adam.clone() };
        vec![("discriminator".into(), adam, config.train.lr), ("generator".into(), generator, config.train.lr)]
    }

    /// The samples' distance from the target, measured on 1,000 fresh draws.
    fn validate(
        _config: &GanConfig,
        _context: &Context,
        model: &PointGan,
        _loader: &Loader<PointItem, PointBatch>,
        device: &Device,
    ) -> Result<Scores, RunError> {
        let (error, spread) = sample_error(model, device);
        Ok([("mean_error".to_string(), error), ("spread".to_string(), spread)].into_iter().collect())
    }

    fn selection(_config: &GanConfig) -> Selection {
        Selection::lowest("mean_error")
    }
}

#[test]
fn a_gan_trained_by_two_optimisers_moves_its_samples_onto_the_target() {
    let runs = tempfile::tempdir().unwrap();
    let mut config = GanConfig::default();
    config.train.epochs = 30;
    config.train.batch_size = 64;
    config.train.lr = 2e-3;
    let device = Device::flex();
    device.seed(config.train.seed);
    let (before, _) = sample_error(&PointGanTask::model(&config, &device).unwrap(), &device);
    let run = RunDir::create(runs.path(), "point-gan", 0).unwrap();
    let trained = train_task::<PointGanTask>(&config, &DataRoot::at(runs.path()), &run, Span::WHOLE).unwrap();
    let (after, spread) = sample_error(&trained.outcome.model, &device);
    assert!(before > 2.5, "an untrained generator starts far away: {before}");
    assert!(after < 0.3, "the samples' mean reaches the target: {after} (from {before})");
    assert!(spread > 0.1, "the samples do not collapse to a point: spread {spread}");
    let last = trained.outcome.history.last().unwrap();
    assert!(last.get("train_d_loss").is_some() && last.get("train_g_loss").is_some() && last.get("valid_mean_error").is_some());
    for optimiser in ["discriminator", "generator"] {
        let checkpoints = std::fs::read_dir(run.path().join("checkpoints")).unwrap().filter_map(|e| e.ok()).find(|e| e.file_name() != "best").unwrap();
        assert!(checkpoints.path().join(format!("optimizer-{optimiser}.bpk")).exists(), "{optimiser}'s state is checkpointed");
    }
}

// --- A sequence model -----------------------------------------------------------------------------------------

/// Tokens: 0 pads, 1 starts, 2 + d is the digit d. A sequence counts from its first digit by 1 (even first
/// digits) or by 3 (odd), modulo 10: "start 4 5 6 7 8", "start 3 6 9 2 5".
const VOCAB: usize = 12;
const LEN: usize = 6;

fn sequence(first: usize) -> Vec<i64> {
    let step = if first.is_multiple_of(2) { 1 } else { 3 };
    std::iter::once(1).chain((0..LEN - 1).map(|k| 2 + ((first + k * step) % 10) as i64)).collect()
}

#[derive(Module, Debug)]
struct Counter {
    embedding: Embedding,
    lstm: Lstm,
    head: Linear,
}

impl Counter {
    /// `[B, T]` tokens → `[B, T, VOCAB]` logits of each next token.
    fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        let (hidden, _) = self.lstm.forward(self.embedding.forward(tokens), None);
        self.head.forward(hidden)
    }

    /// Greedy decoding: from each row's first two tokens, the rest one at a time.
    fn greedy(&self, prompts: Tensor<2, Int>) -> Vec<Vec<i64>> {
        let mut tokens = prompts;
        for _ in 2..LEN {
            let [b, t] = tokens.dims();
            let next = self.forward(tokens.clone()).narrow(1, t - 1, 1).reshape([b, VOCAB]).argmax(1);
            tokens = Tensor::cat(vec![tokens, next], 1);
        }
        let [b, _] = tokens.dims();
        let flat: Vec<i64> = tokens.into_data().convert::<i64>().try_into_vec::<i64>().unwrap();
        flat.chunks(flat.len() / b).map(<[i64]>::to_vec).collect()
    }
}

#[derive(Debug, Clone)]
struct TokenBatch {
    tokens: Tensor<2, Int>,
}

struct TokenBatcher;

impl Batcher<Vec<i64>, TokenBatch> for TokenBatcher {
    fn batch(&self, items: Vec<Vec<i64>>, device: &Device) -> TokenBatch {
        let n = items.len();
        TokenBatch { tokens: Tensor::from_data(TensorData::new(items.concat(), [n, LEN]), device) }
    }
}

impl Learner for Counter {
    type Batch = TokenBatch;

    /// Teacher forcing: every position predicts the next token; the loss is the mean over tokens.
    fn objective(&self, batch: &TokenBatch) -> StepOutput {
        let [b, _] = batch.tokens.dims();
        let logits = self.forward(batch.tokens.clone().narrow(1, 0, LEN - 1)).reshape([b * (LEN - 1), VOCAB]);
        let targets = batch.tokens.clone().narrow(1, 1, LEN - 1).reshape([b * (LEN - 1)]);
        let right = logits.clone().detach().argmax(1).reshape([b * (LEN - 1)]).equal(targets.clone()).int().sum().float() / (LEN - 1) as f32;
        let loss = CrossEntropyLossConfig::new().with_pad_tokens(Some(vec![0])).init(&logits.device()).forward(logits, targets);
        StepOutput::loss(loss, b).with_metric("token_accuracy", right)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CounterConfig {
    train: TrainConfig,
}

struct CounterTask;

impl Task for CounterTask {
    const NAME: &'static str = "counter";
    type Config = CounterConfig;
    type Item = Vec<i64>;
    type Model = Counter;

    fn train_config(config: &CounterConfig) -> &TrainConfig {
        &config.train
    }

    fn train_config_mut(config: &mut CounterConfig) -> &mut TrainConfig {
        &mut config.train
    }

    fn dataset(_config: &CounterConfig, _context: &Context, split: Split) -> Result<Arc<dyn Dataset<Vec<i64>>>, RunError> {
        let copies = if split == Split::Train { 64 } else { 2 };
        Ok(Arc::new(InMemDataset::new((0..10 * copies).map(|i| sequence(i % 10)).collect())))
    }

    fn batcher(_config: &CounterConfig) -> Arc<dyn Batcher<Vec<i64>, TokenBatch>> {
        Arc::new(TokenBatcher)
    }

    fn model(_config: &CounterConfig, device: &Device) -> Result<Counter, RunError> {
        Ok(Counter {
            embedding: EmbeddingConfig::new(VOCAB, 16).init(device),
            lstm: LstmConfig::new(16, 48, true).init(device),
            head: LinearConfig::new(48, VOCAB).init(device),
        })
    }

    /// Decoding, not teacher forcing: the share of sequences greedy decoding completes exactly.
    fn validate(
        config: &CounterConfig,
        _context: &Context,
        model: &Counter,
        loader: &Loader<Vec<i64>, TokenBatch>,
        device: &Device,
    ) -> Result<Scores, RunError> {
        let mut scores = mm_runner::mean_objective(model, loader, config.train.batch_size, device)?;
        let (mut exact, mut n) = (0, 0);
        for (_, batch) in loader.batches((0..loader.len()).collect(), 64, 0, None, device) {
            let batch = batch?;
            let truth: Vec<i64> = batch.tokens.clone().into_data().convert::<i64>().try_into_vec::<i64>().unwrap();
            for (decoded, truth) in model.greedy(batch.tokens.narrow(1, 0, 2)).iter().zip(truth.chunks(LEN)) {
                exact += (decoded[..] == *truth) as usize;
                n += 1;
            }
        }
        scores.insert("exact".into(), exact as f64 / n as f64);
        Ok(scores)
    }

    fn selection(_config: &CounterConfig) -> Selection {
        Selection::highest("exact")
    }
}

#[test]
fn a_sequence_model_learns_per_token_and_decodes_greedily() {
    let runs = tempfile::tempdir().unwrap();
    let mut config = CounterConfig::default();
    config.train.epochs = 12;
    config.train.batch_size = 32;
    config.train.lr = 1e-2;
    let device = Device::flex();
    device.seed(config.train.seed);
    let untrained = exact_share(&CounterTask::model(&config, &device).unwrap(), &device);
    let run = RunDir::create(runs.path(), "counter", 0).unwrap();
    let trained = train_task::<CounterTask>(&config, &DataRoot::at(runs.path()), &run, Span::WHOLE).unwrap();
    let scores = trained.evaluation.unwrap();
    assert_eq!(scores["exact"], 1.0, "greedy decoding completes every test sequence: {scores:?}");
    // The task is easy enough that one epoch may already decode every sequence, so the control is the
    // untrained network, not the first epoch.
    assert!(untrained < 0.5, "it was learnt, not given: the untrained network completes {untrained} of the sequences");
    assert_eq!(exact_share(&trained.outcome.model, &device), 1.0, "the returned model is the one evaluated");
    // Its ten test sequences are fixed: no seed redraws them, and `eval --test-seed` says so by name.
    let reading = Reading { test_seed: Some(5), ..Reading::of(Split::Test) };
    let message = eval_run::<CounterTask>(run.path(), &DataRoot::at(runs.path()), reading).unwrap_err().to_string();
    assert!(message.contains("--test-seed") && message.contains("counter") && message.contains("fixed"), "{message}");
}

/// The share of the ten sequences that greedy decoding completes from their first two tokens.
fn exact_share(model: &Counter, device: &Device) -> f64 {
    let truth: Vec<Vec<i64>> = (0..10).map(sequence).collect();
    let prompts: Vec<i64> = truth.iter().flat_map(|s| s[..2].to_vec()).collect();
    let decoded = model.greedy(Tensor::from_data(TensorData::new(prompts, [10, 2]), device));
    decoded.iter().zip(&truth).filter(|(d, t)| d == t).count() as f64 / 10.0
}

// --- Streaming ------------------------------------------------------------------------------------------------

/// 100,000 pictures of 224 × 224 × 3 made on demand (60 GB as f32 if held at once).
struct Synthetic;

impl Dataset<Vec<f32>> for Synthetic {
    fn get(&self, index: usize) -> Result<Vec<f32>, DatasetError> {
        Ok((0..3 * 224 * 224).map(|p| ((index * 31 + p) % 255) as f32 / 255.0).collect())
    }

    fn len(&self) -> usize {
        100_000
    }
}

struct Pictures;

impl Batcher<Vec<f32>, Tensor<2>> for Pictures {
    fn batch(&self, items: Vec<Vec<f32>>, device: &Device) -> Tensor<2> {
        let n = items.len();
        Tensor::from_data(TensorData::new(items.concat(), [n, 3 * 224 * 224]), device)
    }
}

/// Peak resident memory of this process, in MiB (Linux).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
}

#[test]
fn a_hundred_thousand_pictures_stream_through_the_loader_with_memory_bounded_by_the_batch() {
    let device = Device::flex().autodiff();
    let head = LinearConfig::new(3 * 224 * 224, 10).init(&device);
    let loader = Loader::new(Arc::new(Synthetic), Arc::new(Pictures), 2, 4);
    // A shuffled order over all 100,000 items, as an epoch has; a few steps of it.
    let order: Vec<usize> = (0..100_000).map(|i| (i * 7_919) % 100_000).collect();
    let mut optimizers = Optimizers::new(vec![("model".into(), OptimizerSettings::default(), 1e-3)], Default::default(), 100);
    let mut head = head;
    for (b, batch) in loader.batches(order, 32, 0, None, &device).take(6) {
        let loss = head.forward(batch.unwrap()).powi_scalar(2).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &head);
        head = optimizers.step("model", head, grads, 1.0);
        assert!(b < 6);
    }
    if let Some(peak) = peak_rss_mib() {
        eprintln!("peak resident memory: {peak:.0} MiB");
        // A batch is 32 × 600 KiB = 19 MiB; the whole set would be 60,000 MiB.
        assert!(peak < 2048.0, "peak resident memory {peak:.0} MiB");
    }
}

// --- Optimisers -----------------------------------------------------------------------------------------------

#[test]
fn every_optimiser_of_the_config_fits_a_line_and_clipping_bounds_each_step() {
    let device = Device::flex().autodiff();
    let x: Vec<f32> = (0..64).map(|i| i as f32 / 32.0 - 1.0).collect();
    let y: Vec<f32> = x.iter().map(|v| 3.0 * v - 0.5).collect();
    let (x, y) = (Tensor::<2>::from_data(TensorData::new(x, [64, 1]), &device), Tensor::<2>::from_data(TensorData::new(y, [64, 1]), &device));
    let mse = |line: &Linear| (line.forward(x.clone()) - y.clone()).powi_scalar(2).mean();
    for (kind, momentum, lr) in
        [(OptimizerKind::AdamW, 0.0, 0.05), (OptimizerKind::Adam, 0.0, 0.05), (OptimizerKind::Sgd, 0.9, 0.05), (OptimizerKind::RmsProp, 0.0, 0.01)]
    {
        device.seed(0);
        let mut line = LinearConfig::new(1, 1).init(&device);
        let settings = OptimizerSettings { kind, momentum, weight_decay: 0.0, schedule: Schedule::Constant, ..Default::default() };
        let mut optimizers = Optimizers::new(vec![("model".into(), settings, lr)], Default::default(), 300);
        let start: f32 = mse(&line).into_scalar();
        for _ in 0..300 {
            let grads = GradientsParams::from_grads(mse(&line).backward(), &line);
            line = optimizers.step("model", line, grads, 1.0);
        }
        let end: f32 = mse(&line).into_scalar();
        assert!(end < 0.01 * start && end < 0.05, "{kind:?}: mean squared error {start} → {end}");
    }
    // Plain SGD with a huge rate, clipped to norm 0.1: one step moves the weight by at most lr × 0.1.
    device.seed(0);
    let line = LinearConfig::new(1, 1).with_bias(false).init(&device);
    let before: f32 = line.weight.val().sum().into_scalar();
    let settings = OptimizerSettings { kind: OptimizerKind::Sgd, weight_decay: 0.0, clip_norm: Some(0.1), schedule: Schedule::Constant, ..Default::default() };
    let mut optimizers = Optimizers::new(vec![("model".into(), settings, 10.0)], Default::default(), 1);
    let grads = GradientsParams::from_grads(mse(&line).backward(), &line);
    let after: f32 = optimizers.step("model", line, grads, 1.0).weight.val().sum().into_scalar();
    assert!(((after - before).abs() - 1.0).abs() < 1e-4, "a clipped step of lr 10 × norm 0.1 moves the weight by 1: {before} → {after}");
}
