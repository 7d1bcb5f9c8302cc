//! Data sets held in memory as flat rows, and the batches cut from them.

use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// What each example should be predicted as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Targets {
    /// One class per example (cross-entropy; metric: accuracy).
    Classes {
        /// Class index of each example.
        labels: Vec<u32>,
        /// The class names, by index.
        names: Vec<String>,
    },
    /// Several independent yes/no labels per example (binary cross-entropy; metric: the fraction of examples
    /// whose labels are all right).
    Labels {
        /// `[N, K]` row-major, 0 or 1.
        values: Vec<f32>,
        /// The label names, K of them.
        names: Vec<String>,
    },
}

impl Targets {
    /// K: classes or labels.
    pub fn width(&self) -> usize {
        match self {
            Targets::Classes { names, .. } | Targets::Labels { names, .. } => names.len(),
        }
    }

    /// Class or label names.
    pub fn names(&self) -> &[String] {
        match self {
            Targets::Classes { names, .. } | Targets::Labels { names, .. } => names,
        }
    }
}

/// Examples of one split: each a row of `example_len` floats (an image, a spectrogram, a waveform …).
#[derive(Debug, Clone)]
pub struct Examples {
    /// `[N, example_len]` row-major.
    pub inputs: Vec<f32>,
    /// Floats per example.
    pub example_len: usize,
    /// What to predict.
    pub targets: Targets,
}

/// A batch on the host, before it becomes tensors.
#[derive(Debug, Clone)]
pub struct HostBatch {
    /// `[B, example_len]`.
    pub inputs: Vec<f32>,
    /// Examples in the batch.
    pub len: usize,
    /// Class indices (`Targets::Classes`) …
    pub classes: Vec<i64>,
    /// … or label rows `[B, K]` (`Targets::Labels`).
    pub labels: Vec<f32>,
}

impl Examples {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.inputs.len() / self.example_len.max(1)
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Example `i`.
    pub fn example(&self, i: usize) -> &[f32] {
        &self.inputs[i * self.example_len..(i + 1) * self.example_len]
    }

    /// The first `n` examples (or all).
    pub fn truncated(mut self, n: Option<usize>) -> Self {
        let Some(n) = n.filter(|&n| n < self.len()) else { return self };
        self.inputs.truncate(n * self.example_len);
        match &mut self.targets {
            Targets::Classes { labels, .. } => labels.truncate(n),
            Targets::Labels { values, names } => values.truncate(n * names.len()),
        }
        self
    }

    /// The examples at `indices`, each passed through `augment` (which may change it in place).
    pub fn gather(&self, indices: &[usize], mut augment: impl FnMut(&mut [f32])) -> HostBatch {
        let mut inputs = Vec::with_capacity(indices.len() * self.example_len);
        for &i in indices {
            let start = inputs.len();
            inputs.extend_from_slice(self.example(i));
            augment(&mut inputs[start..]);
        }
        let (classes, labels) = match &self.targets {
            Targets::Classes { labels, .. } => (indices.iter().map(|&i| labels[i] as i64).collect(), Vec::new()),
            Targets::Labels { values, names } => {
                let k = names.len();
                (Vec::new(), indices.iter().flat_map(|&i| values[i * k..(i + 1) * k].iter().copied()).collect())
            }
        };
        HostBatch { inputs, len: indices.len(), classes, labels }
    }
}

/// A batch's targets as tensors.
#[derive(Debug, Clone)]
pub enum BatchTargets {
    /// Class indices `[B]`.
    Classes(Tensor<1, Int>),
    /// Label rows `[B, K]`, 0 or 1 (or any values a model's own objective gives a meaning).
    Labels(Tensor<2>),
}

impl HostBatch {
    /// The targets as tensors, of the kind `targets` holds.
    pub fn target_tensors(&self, targets: &Targets, device: &Device) -> BatchTargets {
        match targets {
            Targets::Classes { .. } => BatchTargets::Classes(self.class_tensor(device)),
            Targets::Labels { .. } => BatchTargets::Labels(self.label_tensor(device)),
        }
    }

    /// The inputs as a `[B, example_len]` tensor.
    pub fn input_tensor(&self, device: &Device) -> Tensor<2> {
        let width = self.inputs.len() / self.len.max(1);
        Tensor::from_data(TensorData::new(self.inputs.clone(), [self.len, width]), device)
    }

    /// Class indices `[B]`.
    pub fn class_tensor(&self, device: &Device) -> Tensor<1, Int> {
        Tensor::from_data(TensorData::new(self.classes.clone(), [self.len]), device)
    }

    /// Label rows `[B, K]`.
    pub fn label_tensor(&self, device: &Device) -> Tensor<2> {
        let k = self.labels.len() / self.len.max(1);
        Tensor::from_data(TensorData::new(self.labels.clone(), [self.len, k]), device)
    }
}
