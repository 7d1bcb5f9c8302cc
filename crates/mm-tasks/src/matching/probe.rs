//! Linear probes: a softmax classifier on frozen features, the standard measure of what a representation
//! holds (SoundNet's per-layer SVMs, here multinomial logistic regression trained by full-batch Adam).

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::runner::argmax;

/// How a probe is trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProbeSettings {
    /// Full-batch steps. Default 300.
    pub steps: usize,
    /// Adam's learning rate. Default 0.01.
    pub lr: f64,
    /// Weight decay (the L2 regulariser). Default 1e-3.
    pub weight_decay: f64,
    /// Seed of the initial weights. Default 0.
    pub seed: u64,
}

impl Default for ProbeSettings {
    fn default() -> Self {
        Self { steps: 300, lr: 0.01, weight_decay: 1e-3, seed: 0 }
    }
}

/// A trained probe: the training features' mean and spread, and the linear map.
#[derive(Debug)]
pub struct LinearProbe {
    mean: Vec<f32>,
    std: Vec<f32>,
    linear: Linear,
    device: Device,
}

impl LinearProbe {
    /// Fits a probe to `features` (`[N, dim]` row-major) with class `labels` (each below `classes`).
    pub fn fit(features: &[f32], dim: usize, labels: &[u32], classes: usize, settings: &ProbeSettings, device: &Device) -> Self {
        let n = labels.len();
        assert_eq!(features.len(), n * dim, "one feature row per label");
        let (mean, std) = moments(features, dim);
        let train_device = device.clone().autodiff();
        train_device.seed(settings.seed);
        let x = standardised(features, dim, &mean, &std, &train_device);
        let y = Tensor::<1, Int>::from_data(TensorData::new(labels.iter().map(|&l| l as i64).collect(), [n]), &train_device);
        let mut linear = LinearConfig::new(dim, classes).init(&train_device);
        let mut optimizer = AdamWConfig::new().with_weight_decay(settings.weight_decay as f32).init();
        let loss = CrossEntropyLossConfig::new().init(&train_device);
        for _ in 0..settings.steps {
            let l = loss.forward(linear.forward(x.clone()), y.clone());
            let grads = GradientsParams::from_grads(l.backward(), &linear);
            linear = optimizer.step(settings.lr, linear, grads);
        }
        Self { mean, std, linear: linear.valid(), device: device.clone() }
    }

    /// Class probabilities `[N, classes]` of `features`, at `temperature`.
    pub fn probabilities(&self, features: &[f32], temperature: f32) -> Vec<f32> {
        let x = standardised(features, self.mean.len(), &self.mean, &self.std, &self.device);
        let p = softmax(self.linear.forward(x) / temperature, 1);
        p.into_data().convert::<f32>().try_into_vec::<f32>().expect("float probabilities")
    }

    /// The fraction of `features` rows whose most probable class is their label.
    pub fn accuracy(&self, features: &[f32], labels: &[u32]) -> f64 {
        let p = self.probabilities(features, 1.0);
        let classes = p.len() / labels.len().max(1);
        let right = p.chunks(classes).zip(labels).filter(|(row, label)| argmax(row) == **label as usize).count();
        right as f64 / labels.len().max(1) as f64
    }
}

fn moments(features: &[f32], dim: usize) -> (Vec<f32>, Vec<f32>) {
    let n = (features.len() / dim.max(1)).max(1) as f64;
    let mut mean = vec![0f64; dim];
    let mut square = vec![0f64; dim];
    for row in features.chunks(dim) {
        for (j, &v) in row.iter().enumerate() {
            mean[j] += v as f64;
            square[j] += v as f64 * v as f64;
        }
    }
    let mean: Vec<f64> = mean.iter().map(|m| m / n).collect();
    let std = square.iter().zip(&mean).map(|(s, m)| ((s / n - m * m).max(0.0).sqrt() as f32).max(1e-6)).collect();
    (mean.into_iter().map(|m| m as f32).collect(), std)
}

fn standardised(features: &[f32], dim: usize, mean: &[f32], std: &[f32], device: &Device) -> Tensor<2> {
    let values: Vec<f32> = features.iter().enumerate().map(|(i, v)| (v - mean[i % dim]) / std[i % dim]).collect();
    Tensor::from_data(TensorData::new(values, [features.len() / dim, dim]), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_separates_separable_classes_and_not_noise() {
        let device = Device::flex();
        // Class c sits at 3·e_c plus a little deterministic jitter; a probe must classify held-out points.
        let point = |i: usize| -> ([f32; 3], u32) {
            let c = i % 3;
            let mut x = [((i * 7919) % 13) as f32 / 13.0 - 0.5, ((i * 104729) % 11) as f32 / 11.0 - 0.5, 0.0];
            x[c] += 3.0;
            (x, c as u32)
        };
        let (train, test): (Vec<_>, Vec<_>) = ((0..90).map(point).collect(), (90..150).map(point).collect());
        let flat = |set: &[([f32; 3], u32)]| set.iter().flat_map(|p| p.0).collect::<Vec<f32>>();
        let labels = |set: &[([f32; 3], u32)]| set.iter().map(|p| p.1).collect::<Vec<u32>>();
        let probe = LinearProbe::fit(&flat(&train), 3, &labels(&train), 3, &ProbeSettings::default(), &device);
        assert!(probe.accuracy(&flat(&test), &labels(&test)) > 0.95);
        // Labels unrelated to the features: no better than about chance on new points.
        let shuffled: Vec<u32> = (0..90).map(|i| ((i * 5 + i / 7) % 3) as u32).collect();
        let noise = LinearProbe::fit(&flat(&train), 3, &shuffled, 3, &ProbeSettings::default(), &device);
        let new_labels: Vec<u32> = (90..150).map(|i| ((i * 5 + i / 7) % 3) as u32).collect();
        assert!(noise.accuracy(&flat(&test), &new_labels) < 0.7);
    }
}
