//! What a model tells the runner about a batch ([`StepOutput`]), the trait every trainable model implements
//! ([`Learner`]) with its default training step (one loss, one optimiser), and the running sums of an epoch's
//! metrics, kept on the device until they are read.

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::Gradients;
use burn::tensor::{Device, Tensor, TensorData};

use super::optim::Optimizers;

/// The loss of a batch and the task's per-batch metrics, all still on the device.
#[derive(Debug, Clone)]
pub struct StepOutput {
    /// The mean loss of the batch, `[1]`: what the default step differentiates.
    pub loss: Tensor<1>,
    /// Examples in the batch: the weight of its loss and metrics in the epoch's mean.
    pub examples: usize,
    /// Named metrics, each `[1]` holding the batch's *sum* over its examples (e.g. the number right, for
    /// accuracy); the runner reports the epoch's sum divided by the epoch's examples.
    pub metrics: Vec<(&'static str, Tensor<1>)>,
}

impl StepOutput {
    /// A batch's loss with no other metric.
    pub fn loss(loss: Tensor<1>, examples: usize) -> Self {
        Self { loss, examples, metrics: Vec::new() }
    }

    /// Adds a metric (the batch's sum).
    pub fn with_metric(mut self, name: &'static str, sum: Tensor<1>) -> Self {
        self.metrics.push((name, sum));
        self
    }
}

/// A model the runner can train: it computes a batch's loss and metrics, and (by default) takes one optimiser
/// step on that loss. Models with other needs replace [`Learner::train_step`]: a GAN alternates a discriminator
/// and a generator step, each with its own optimiser.
pub trait Learner: Module + Clone + std::fmt::Debug + 'static {
    /// The tensors of one batch, as the task's batcher makes them.
    type Batch: Clone + Send + 'static;

    /// Loss and metrics of a batch, in training (autodiff device) and validation (plain device) alike.
    fn objective(&self, batch: &Self::Batch) -> StepOutput;

    /// The optimisers the model is trained with, in the order their settings are given (see
    /// [`super::Task::optimizers`]). Default: one, `model`.
    fn optimizer_names() -> &'static [&'static str] {
        &["model"]
    }

    /// Named sub-modules that `train.module_lr` may slow down or freeze. Default: none.
    fn module_names() -> &'static [&'static str] {
        &[]
    }

    /// Takes the gradients of each of [`Learner::module_names`] out of `grads`, by name. Default: none.
    fn split_gradients(&self, _grads: &mut Gradients) -> Vec<(&'static str, GradientsParams)> {
        Vec::new()
    }

    /// Whether [`Learner::objective`] compares examples across the batch through [`crate::gather`] (InfoNCE,
    /// triplet losses), so that data-parallel training must show it every replica's embeddings. Default false.
    fn gathers() -> bool {
        false
    }

    /// Whether the model can train data-parallel ([`super::replicated_step`]), which takes the default
    /// [`Learner::train_step`]'s one loss and one optimiser. Default true; models that replace the step say false.
    fn data_parallel() -> bool {
        true
    }

    /// One training step: by default, the gradient of [`Learner::objective`]'s loss applied by the `model`
    /// optimiser, each named sub-module at its own rate.
    fn train_step(self, batch: &Self::Batch, optimizers: &mut Optimizers) -> (Self, StepOutput) {
        let output = self.objective(batch);
        let grads = output.loss.backward();
        let model = step_with_module_rates(self, grads, optimizers, "model");
        (model, output)
    }
}

/// Applies `grads` to `model` with optimiser `name`: each sub-module the model names at its configured rate
/// (0 leaves it frozen), the rest at the full rate.
pub fn step_with_module_rates<M: Learner>(model: M, mut grads: Gradients, optimizers: &mut Optimizers, name: &str) -> M {
    let groups = model.split_gradients(&mut grads);
    let rest = GradientsParams::from_grads(grads, &model);
    apply_gradients(model, rest, groups, optimizers, name)
}

/// Applies `rest` at the full rate and each named group at its sub-module's rate, with optimiser `name`.
pub(crate) fn apply_gradients<M: Learner>(
    model: M,
    rest: GradientsParams,
    groups: Vec<(&'static str, GradientsParams)>,
    optimizers: &mut Optimizers,
    name: &str,
) -> M {
    let mut model = optimizers.step(name, model, rest, 1.0);
    for (module, params) in groups {
        let scale = optimizers.module_scale(module);
        model = optimizers.step(name, model, params, scale);
    }
    model
}

/// An epoch's running sums: loss × examples, then each metric, added on the device; read back only when asked
/// (for the progress bar, a checkpoint, or the epoch's end).
#[derive(Debug, Clone, Default)]
pub struct Tally {
    names: Vec<String>,
    sums: Option<Tensor<1>>,
    /// Examples counted.
    pub examples: usize,
}

impl Tally {
    /// Adds a batch.
    pub fn add(&mut self, output: &StepOutput) {
        let mut parts = vec![output.loss.clone().detach().reshape([1]) * output.examples as f32];
        parts.extend(output.metrics.iter().map(|(_, sum)| sum.clone().detach().reshape([1])));
        let batch = Tensor::cat(parts, 0);
        if self.names.is_empty() {
            self.names = output.metrics.iter().map(|(name, _)| name.to_string()).collect();
        }
        self.sums = Some(match self.sums.take() {
            Some(sums) => sums + batch,
            None => batch,
        });
        self.examples += output.examples;
    }

    /// The sums as numbers: `[loss × examples, metric sums …]` (reads the device).
    pub fn read(&self) -> Vec<f32> {
        match &self.sums {
            Some(sums) => sums.clone().into_data().convert::<f32>().try_into_vec::<f32>().expect("float sums"),
            None => Vec::new(),
        }
    }

    /// The means: `("loss", …)` then each metric.
    pub fn means(&self) -> Vec<(String, f64)> {
        let n = self.examples.max(1) as f64;
        let sums = self.read();
        std::iter::once("loss").chain(self.names.iter().map(String::as_str)).zip(sums).map(|(name, sum)| (name.to_string(), sum as f64 / n)).collect()
    }

    /// The sums and names as stored in a checkpoint.
    pub(crate) fn snapshot(&self) -> TallySnapshot {
        TallySnapshot { names: self.names.clone(), sums: self.read().iter().map(|v| v.to_bits()).collect(), examples: self.examples }
    }

    /// A tally restored from a checkpoint, on `device`.
    pub(crate) fn restore(snapshot: &TallySnapshot, device: &Device) -> Self {
        let sums = (!snapshot.sums.is_empty()).then(|| {
            let values: Vec<f32> = snapshot.sums.iter().map(|&b| f32::from_bits(b)).collect();
            let n = values.len();
            Tensor::from_data(TensorData::new(values, [n]), device)
        });
        Self { names: snapshot.names.clone(), sums, examples: snapshot.examples }
    }
}

/// A [`Tally`] on disk: its sums as exact `f32` bits.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TallySnapshot {
    names: Vec<String>,
    sums: Vec<u32>,
    examples: usize,
}
