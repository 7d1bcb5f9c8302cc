//! VGG-style encoder: stages of 3×3 conv blocks, each stage ending in 2×2 max-pooling.

use burn::config::Config;
use burn::module::Module;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::tensor::{Device, Tensor};

use super::{ConvBlock, ConvBlockConfig, EncoderOutput};

/// Width and depth of a [`VggEncoder`].
#[derive(Config, Debug)]
pub struct VggEncoderConfig {
    /// Image channels: 1 for grey, 3 for RGB. Default 1.
    #[config(default = 1)]
    pub channels_in: usize,
    /// Output channels of each stage; each stage halves the resolution. Default `[32, 64]` (28×28 → 7×7).
    #[config(default = "vec![32, 64]")]
    pub stages: Vec<usize>,
    /// Conv blocks per stage. Default 2.
    #[config(default = 2)]
    pub blocks_per_stage: usize,
}

impl VggEncoderConfig {
    /// An encoder with burn's default initialisers.
    pub fn init(&self, device: &Device) -> VggEncoder {
        let mut blocks = Vec::new();
        let mut channels = self.channels_in;
        for &width in &self.stages {
            let stage = (0..self.blocks_per_stage.max(1)).map(|i| ConvBlockConfig::new(if i == 0 { channels } else { width }, width).init(device)).collect();
            blocks.push(VggStage { blocks: stage });
            channels = width;
        }
        VggEncoder { stages: blocks, pool: MaxPool2dConfig::new([2, 2]).init() }
    }

    /// D, the pooled vector's size.
    pub fn output_dim(&self) -> usize {
        self.stages.last().copied().unwrap_or(self.channels_in)
    }
}

/// One stage: its conv blocks, before the pooling.
#[derive(Module, Debug)]
pub struct VggStage {
    blocks: Vec<ConvBlock>,
}

/// Conv blocks and max-pooling; see [`VggEncoderConfig`].
#[derive(Module, Debug)]
pub struct VggEncoder {
    stages: Vec<VggStage>,
    pool: MaxPool2d,
}

impl VggEncoder {
    /// - `images`: `[B, C, H, W]`
    /// - returns the map after the last stage `[B, D, H / 2^S, W / 2^S]` (S stages) and its average `[B, D]`.
    pub fn forward(&self, images: Tensor<4>) -> EncoderOutput {
        let mut x = images;
        for stage in &self.stages {
            for block in &stage.blocks {
                x = block.forward(x);
            }
            x = self.pool.forward(x);
        }
        EncoderOutput::from_features(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_the_stages() {
        let device = Device::flex();
        let encoder = VggEncoderConfig::new().with_stages(vec![4, 8, 16]).with_blocks_per_stage(1).init(&device);
        let images = Tensor::<4>::zeros([2, 1, 32, 32], &device);
        let out = encoder.forward(images);
        assert_eq!((out.features.dims(), out.pooled.dims()), ([2, 16, 4, 4], [2, 16]));
    }

    /// Every parameter set to one.
    struct Ones;

    impl burn::module::ModuleMapper for Ones {
        fn map_float<const D: usize>(&mut self, param: burn::module::Param<Tensor<D>>) -> burn::module::Param<Tensor<D>> {
            param.map(|t| t.ones_like())
        }
    }

    /// A known output, not only a shape: one stage of one block with every weight 1 (conv 3×3 of ones, batch norm
    /// with γ = β = running mean = running variance = 1, inference statistics on a plain device), on a 6 × 6 ramp,
    /// against a direct computation: 3×3 sums with zero padding, (s − 1)/√(1 + 1e-5) + 1, ReLU, 2×2 max-pooling.
    #[test]
    fn gives_the_directly_computed_output() {
        let device = Device::flex();
        let encoder = VggEncoderConfig::new().with_stages(vec![1]).with_blocks_per_stage(1).init(&device).map(&mut Ones);
        let ramp: Vec<f32> = (0..36).map(|i| (i as f32 - 17.0) / 7.0).collect();
        let out = encoder.forward(Tensor::<4>::from_data(burn::tensor::TensorData::new(ramp.clone(), [1, 1, 6, 6]), &device));
        let at = |y: i64, x: i64| if (0..6).contains(&y) && (0..6).contains(&x) { ramp[(y * 6 + x) as usize] } else { 0.0 };
        let block = |y: i64, x: i64| {
            let sum: f32 = (-1..=1).flat_map(|dy| (-1..=1).map(move |dx| (dy, dx))).map(|(dy, dx)| at(y + dy, x + dx)).sum();
            ((sum - 1.0) / (1.0f32 + 1e-5).sqrt() + 1.0).max(0.0)
        };
        let got: Vec<f32> = out.features.into_data().try_into_vec().unwrap();
        assert_eq!(got.len(), 9);
        for (i, value) in got.iter().enumerate() {
            let (y, x) = (2 * (i / 3) as i64, 2 * (i % 3) as i64);
            let expected = [block(y, x), block(y, x + 1), block(y + 1, x), block(y + 1, x + 1)].into_iter().fold(f32::MIN, f32::max);
            assert!((value - expected).abs() < 1e-4, "map value {i}: {value} vs {expected}");
        }
    }
}
