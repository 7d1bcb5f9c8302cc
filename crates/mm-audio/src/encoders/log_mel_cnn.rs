//! A 2-D CNN over log-mel spectrograms: stages of 3×3 convolution, batch norm and ReLU, each followed by 2×2
//! max-pooling, then the average over frequency and time.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// Width and depth of a [`LogMelCnn`].
#[derive(Config, Debug)]
pub struct LogMelCnnConfig {
    /// Output channels of each stage (each halves mels and frames). Default `[32, 64, 128]`.
    #[config(default = "vec![32, 64, 128]")]
    pub stages: Vec<usize>,
    /// Convolutions per stage. Default 2.
    #[config(default = 2)]
    pub convs_per_stage: usize,
}

impl LogMelCnnConfig {
    /// An encoder with burn's default initialisers.
    pub fn init(&self, device: &Device) -> LogMelCnn {
        let mut layers = Vec::new();
        let mut channels = 1;
        for &width in &self.stages {
            for _ in 0..self.convs_per_stage.max(1) {
                layers.push(SpectrogramConv {
                    conv: Conv2dConfig::new([channels, width], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).with_bias(false).init(device),
                    norm: BatchNormConfig::new(width).init(device),
                });
                channels = width;
            }
        }
        LogMelCnn { layers, convs_per_stage: self.convs_per_stage.max(1), pool: MaxPool2dConfig::new([2, 2]).init() }
    }

    /// D, the pooled vector's size.
    pub fn output_dim(&self) -> usize {
        self.stages.last().copied().unwrap_or(1)
    }

    /// Why this encoder cannot read log-mels of `[mels, frames]`, if it cannot: no stage, a stage of zero
    /// channels, or more stages (each halving both sides, rounding down) than the input has room for.
    pub fn problem(&self, [mels, frames]: [usize; 2]) -> Option<String> {
        if self.stages.is_empty() || self.stages.contains(&0) {
            return Some(format!("stages {:?}: every stage needs channels", self.stages));
        }
        let n = self.stages.len() as u32;
        ((mels >> n) == 0 || (frames >> n) == 0).then(|| format!("{n} stages leave no map of a {mels} × {frames} log-mel (use fewer stages)"))
    }
}

/// Convolution and batch norm of one layer (the ReLU is applied in [`LogMelCnn::forward`]).
#[derive(Module, Debug)]
pub struct SpectrogramConv {
    conv: Conv2d,
    norm: BatchNorm,
}

/// See [`LogMelCnnConfig`].
#[derive(Module, Debug)]
pub struct LogMelCnn {
    layers: Vec<SpectrogramConv>,
    convs_per_stage: usize,
    pool: MaxPool2d,
}

impl LogMelCnn {
    /// - `log_mel`: `[B, 1, mels, frames]` (normalised, e.g. dB / 20 + centring)
    /// - returns the pooled vector `[B, D]` and the last feature map `[B, D, mels / 2^S, frames / 2^S]`.
    ///
    /// # Panics
    /// When `log_mel` has more than one channel.
    pub fn forward(&self, log_mel: Tensor<4>) -> (Tensor<2>, Tensor<4>) {
        assert_eq!(log_mel.dims()[1], 1, "LogMelCnn: log-mel {:?}, expected [B, 1, mels, frames]", log_mel.dims());
        let mut x = log_mel;
        for (i, layer) in self.layers.iter().enumerate() {
            x = relu(layer.norm.forward(layer.conv.forward(x)));
            if (i + 1) % self.convs_per_stage == 0 {
                x = self.pool.forward(x);
            }
        }
        let [batch, channels, _, _] = x.dims();
        (x.clone().mean_dim(3).mean_dim(2).reshape([batch, channels]), x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_stages_are_named() {
        assert!(LogMelCnnConfig::new().problem([40, 101]).is_none());
        assert!(LogMelCnnConfig::new().with_stages(vec![8; 7]).problem([40, 101]).unwrap().contains("7 stages"));
    }

    #[test]
    fn pools_each_stage() {
        let device = Device::flex();
        let cnn = LogMelCnnConfig::new().with_stages(vec![4, 8]).with_convs_per_stage(1).init(&device);
        let (pooled, map) = cnn.forward(Tensor::<4>::zeros([2, 1, 40, 101], &device));
        assert_eq!((pooled.dims(), map.dims()), ([2, 8], [2, 8, 10, 25]));
    }
}
