//! The common case: fixed-size examples with one class or several yes/no labels. A [`Classifier`] maps a
//! batch of flattened examples to logits; it is a [`Learner`] with cross-entropy (or binary cross-entropy) and
//! accuracy, and [`classification_scores`] reports accuracy per class on a split.

use burn::data::dataloader::batcher::Batcher;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::tensor::activation::log_sigmoid;
use burn::tensor::{Device, Gradients, Int, Tensor, TensorData};

use super::RunError;
use super::loader::Loader;
use super::metrics::Scores;
use super::step::{Learner, StepOutput};

/// What an example should be predicted as.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// One class index (cross-entropy; accuracy).
    Class(u32),
    /// Several independent yes/no labels, 0 or 1 (binary cross-entropy; all labels right counts as right).
    Labels(Vec<f32>),
}

/// Whether a task's targets are classes or labels, with their names.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetKind {
    /// One class per example.
    Classes(Vec<String>),
    /// Several labels per example.
    Labels(Vec<String>),
}

impl TargetKind {
    /// The class or label names.
    pub fn names(&self) -> &[String] {
        match self {
            TargetKind::Classes(names) | TargetKind::Labels(names) => names,
        }
    }
}

/// One example: its values (an image, a spectrogram, a waveform, flattened) and its target.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassItem {
    /// The example, flattened row-major.
    pub input: Vec<f32>,
    /// Its class or labels.
    pub target: Target,
}

/// A batch of [`ClassItem`]s as tensors.
#[derive(Debug, Clone)]
pub struct ClassBatch {
    /// `[B, E]`: each row one example.
    pub inputs: Tensor<2>,
    /// Class indices `[B]` …
    pub classes: Option<Tensor<1, Int>>,
    /// … or label rows `[B, K]`.
    pub labels: Option<Tensor<2>>,
}

/// Stacks [`ClassItem`]s into a [`ClassBatch`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ClassBatcher;

impl Batcher<ClassItem, ClassBatch> for ClassBatcher {
    fn batch(&self, items: Vec<ClassItem>, device: &Device) -> ClassBatch {
        let (n, width) = (items.len(), items.first().map_or(0, |i| i.input.len()));
        let mut inputs = Vec::with_capacity(n * width);
        let (mut classes, mut labels) = (Vec::new(), Vec::new());
        for item in &items {
            assert_eq!(item.input.len(), width, "every example of a batch has the same length");
            inputs.extend_from_slice(&item.input);
            match &item.target {
                Target::Class(c) => classes.push(*c as i64),
                Target::Labels(l) => labels.extend_from_slice(l),
            }
        }
        let inputs = Tensor::from_data(TensorData::new(inputs, [n, width]), device);
        let classes = (!classes.is_empty()).then(|| Tensor::from_data(TensorData::new(classes, [n]), device));
        let k = labels.len() / n.max(1);
        let labels = (!labels.is_empty()).then(|| Tensor::from_data(TensorData::new(labels, [n, k]), device));
        ClassBatch { inputs, classes, labels }
    }
}

/// A model that maps a batch of flattened examples to one score per class or label.
pub trait Classifier: Module + Clone + std::fmt::Debug + 'static {
    /// - `inputs`: `[B, E]`, each row one example flattened (the model knows its shape)
    /// - returns logits `[B, K]`
    fn logits(&self, inputs: Tensor<2>) -> Tensor<2>;

    /// Named sub-modules that `train.module_lr` may slow down or freeze (see [`Learner::module_names`]).
    fn module_names() -> &'static [&'static str] {
        &[]
    }

    /// Takes their gradients out of `grads` (see [`Learner::split_gradients`]).
    fn split_gradients(&self, _grads: &mut Gradients) -> Vec<(&'static str, GradientsParams)> {
        Vec::new()
    }
}

impl<M: Classifier> Learner for M {
    type Batch = ClassBatch;

    /// Cross-entropy for classes, binary cross-entropy (mean over labels) for labels; `accuracy` counts the
    /// examples whose arg-max is the class, or all of whose labels have the sign of the truth.
    fn objective(&self, batch: &ClassBatch) -> StepOutput {
        let logits = self.logits(batch.inputs.clone());
        let [n, _] = logits.dims();
        let (loss, right) = class_loss(logits, batch);
        StepOutput::loss(loss, n).with_metric("accuracy", right)
    }

    fn module_names() -> &'static [&'static str] {
        <M as Classifier>::module_names()
    }

    fn split_gradients(&self, grads: &mut Gradients) -> Vec<(&'static str, GradientsParams)> {
        Classifier::split_gradients(self, grads)
    }
}

/// The loss `[1]` of `logits` against the batch's targets, and the number of examples right `[1]`.
pub fn class_loss(logits: Tensor<2>, batch: &ClassBatch) -> (Tensor<1>, Tensor<1>) {
    if let Some(classes) = &batch.classes {
        let right = logits.clone().detach().argmax(1).flatten::<1>(0, 1).equal(classes.clone()).int().sum().float();
        (CrossEntropyLossConfig::new().init(&logits.device()).forward(logits, classes.clone()), right)
    } else {
        let y = batch.labels.clone().expect("a batch has classes or labels");
        let [_, k] = y.dims();
        let agree = logits.clone().detach().greater_elem(0.0).equal(y.clone().greater_elem(0.5)).int().sum_dim(1);
        let right = agree.equal_elem(k as i64).int().sum().float();
        let positive = log_sigmoid(logits.clone()) * y.clone();
        let negative = log_sigmoid(logits.neg()) * (y.neg() + 1.0);
        ((positive + negative).mean().neg().reshape([1]), right)
    }
}

/// Loss, accuracy and accuracy per class (single-label; `accuracy/NAME`) or per label (multi-label) of a
/// classifier on a loader's items, in order, in batches of `batch_size`.
pub fn classification_scores<M: Classifier>(
    model: &M,
    loader: &Loader<super::ClassItem, ClassBatch>,
    kind: &TargetKind,
    batch_size: usize,
    device: &Device,
) -> Result<Scores, RunError> {
    let k = kind.names().len();
    let (mut loss_sum, mut right, mut n) = (0f64, 0usize, 0usize);
    let (mut hits, mut counts) = (vec![0usize; k], vec![0usize; k]);
    for (_, batch) in loader.batches((0..loader.len()).collect(), batch_size, 0, None, device) {
        let batch = batch?;
        let logits = model.logits(batch.inputs.clone());
        let [b, _] = logits.dims();
        let (loss, _) = class_loss(logits.clone(), &batch);
        loss_sum += loss.into_scalar::<f32>() as f64 * b as f64;
        n += b;
        let scores: Vec<f32> = logits.into_data().convert::<f32>().try_into_vec::<f32>().expect("float logits");
        if let Some(classes) = &batch.classes {
            let truth: Vec<i64> = classes.clone().into_data().convert::<i64>().try_into_vec::<i64>().expect("int classes");
            for (row, &t) in scores.chunks(k).zip(&truth) {
                let hit = argmax(row) == t as usize;
                right += hit as usize;
                hits[t as usize] += hit as usize;
                counts[t as usize] += 1;
            }
        } else {
            let labels: Vec<f32> = batch.labels.clone().expect("labels").into_data().convert::<f32>().try_into_vec::<f32>().expect("float labels");
            for (row, truth) in scores.chunks(k).zip(labels.chunks(k)) {
                let mut all = true;
                for (j, (&s, &t)) in row.iter().zip(truth).enumerate() {
                    let hit = (s > 0.0) == (t > 0.5);
                    all &= hit;
                    hits[j] += hit as usize;
                    counts[j] += 1;
                }
                right += all as usize;
            }
        }
    }
    let mut scores = Scores::new();
    scores.insert("loss".into(), loss_sum / n.max(1) as f64);
    scores.insert("accuracy".into(), right as f64 / n.max(1) as f64);
    scores.insert("examples".into(), n as f64);
    // A class with no examples here (a digit a zero-shot encoder excludes, a small --limit) has no accuracy, not 0.
    for (name, (h, c)) in kind.names().iter().zip(hits.iter().zip(&counts)).filter(|(_, (_, c))| **c > 0) {
        scores.insert(format!("accuracy/{name}"), *h as f64 / *c as f64);
    }
    Ok(scores)
}

/// Index of the largest value (the first of equals; 0 for an empty slice).
pub fn argmax(values: &[f32]) -> usize {
    values.iter().enumerate().fold((0, f32::NEG_INFINITY), |best, (i, &v)| if v > best.1 { (i, v) } else { best }).0
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::data::dataloader::Progress;
    use burn::tensor::Distribution;
    use burn::train::metric::{AccuracyInput, AccuracyMetric, Metric, MetricMetadata, Numeric, NumericEntry};

    /// The runner counts right answers on the device (no read-back per step); burn-train's `AccuracyMetric`
    /// reads each batch back. Both must give the same accuracy.
    #[test]
    fn accuracy_on_the_device_equals_burn_trains_accuracy_metric() {
        let device = Device::flex();
        let mut metric = AccuracyMetric::new();
        let metadata = MetricMetadata { progress: Progress { items_processed: 0, items_total: 0, unit: None }, iteration: None, lr: None };
        let (mut right, mut n) = (0f64, 0usize);
        for b in 0..4 {
            let size = 16 + b;
            let logits = Tensor::<2>::random([size, 7], Distribution::Normal(0.0, 1.0), &device);
            let classes: Vec<i64> = (0..size as i64).map(|i| (i * 5 + b as i64) % 7).collect();
            let classes = Tensor::<1, Int>::from_data(TensorData::new(classes, [size]), &device);
            let batch = ClassBatch { inputs: logits.clone(), classes: Some(classes.clone()), labels: None };
            right += class_loss(logits.clone(), &batch).1.into_scalar::<f32>() as f64;
            n += size;
            metric.update(&AccuracyInput::new(logits, classes), &metadata).unwrap();
        }
        let ours = 100.0 * right / n as f64;
        let NumericEntry::Aggregated { aggregated_value: theirs, .. } = metric.running_value().unwrap() else { panic!("an aggregate") };
        assert!((ours - theirs).abs() < 1e-9, "ours {ours}%, burn-train's {theirs}%");
    }
}
