//! ResNet-style encoder: a stem conv, then stages of residual basic blocks; every stage after the first halves the
//! resolution with a strided first block.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::{ConvBlock, ConvBlockConfig, EncoderOutput};

/// Width and depth of a [`ResNetEncoder`].
#[derive(Config, Debug)]
pub struct ResNetEncoderConfig {
    /// Image channels: 1 for grey, 3 for RGB. Default 1.
    #[config(default = 1)]
    pub channels_in: usize,
    /// Channels of the stem and of each stage. Default `[16, 32, 64]` (28×28 → 7×7).
    #[config(default = "vec![16, 32, 64]")]
    pub stages: Vec<usize>,
    /// Basic blocks per stage (ResNet-18 has 2). Default 2.
    #[config(default = 2)]
    pub blocks_per_stage: usize,
}

impl ResNetEncoderConfig {
    /// An encoder with burn's default initialisers.
    pub fn init(&self, device: &Device) -> ResNetEncoder {
        let first = self.stages.first().copied().unwrap_or(16);
        let stem = ConvBlockConfig::new(self.channels_in, first).init(device);
        let mut blocks = Vec::new();
        let mut channels = first;
        for (stage, &width) in self.stages.iter().enumerate() {
            for i in 0..self.blocks_per_stage.max(1) {
                let stride = if stage > 0 && i == 0 { 2 } else { 1 };
                blocks.push(BasicBlock::new(channels, width, stride, device));
                channels = width;
            }
        }
        ResNetEncoder { stem, blocks }
    }

    /// D, the pooled vector's size.
    pub fn output_dim(&self) -> usize {
        self.stages.last().copied().unwrap_or(16)
    }
}

/// Two 3×3 conv blocks with an identity (or 1×1 strided projection) shortcut around them.
#[derive(Module, Debug)]
pub struct BasicBlock {
    first: ConvBlock,
    second: ConvBlock,
    shortcut: Option<Projection>,
}

/// The 1×1 convolution and norm that match the shortcut to a block that changes shape.
#[derive(Module, Debug)]
pub struct Projection {
    conv: Conv2d,
    norm: BatchNorm,
}

impl BasicBlock {
    fn new(channels_in: usize, channels_out: usize, stride: usize, device: &Device) -> Self {
        let shortcut = (stride != 1 || channels_in != channels_out).then(|| Projection {
            conv: Conv2dConfig::new([channels_in, channels_out], [1, 1]).with_stride([stride, stride]).with_bias(false).init(device),
            norm: BatchNormConfig::new(channels_out).init(device),
        });
        Self {
            first: ConvBlockConfig::new(channels_in, channels_out).with_stride(stride).init(device),
            second: ConvBlockConfig::new(channels_out, channels_out).with_activation(false).init(device),
            shortcut,
        }
    }

    /// `[B, C_in, H, W]` → `[B, C_out, H / stride, W / stride]`.
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let skip = match &self.shortcut {
            Some(projection) => projection.norm.forward(projection.conv.forward(input.clone())),
            None => input.clone(),
        };
        relu(self.second.forward(self.first.forward(input)) + skip)
    }
}

/// Stem and residual stages; see [`ResNetEncoderConfig`].
#[derive(Module, Debug)]
pub struct ResNetEncoder {
    stem: ConvBlock,
    blocks: Vec<BasicBlock>,
}

impl ResNetEncoder {
    /// - `images`: `[B, C, H, W]`
    /// - returns the last stage's map `[B, D, H / 2^(S-1), W / 2^(S-1)]` (S stages) and its average `[B, D]`.
    pub fn forward(&self, images: Tensor<4>) -> EncoderOutput {
        let mut x = self.stem.forward(images);
        for block in &self.blocks {
            x = block.forward(x);
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
        let encoder = ResNetEncoderConfig::new().with_stages(vec![4, 8]).with_blocks_per_stage(1).init(&device);
        let out = encoder.forward(Tensor::<4>::zeros([3, 1, 28, 28], &device));
        assert_eq!((out.features.dims(), out.pooled.dims()), ([3, 8, 14, 14], [3, 8]));
    }
}
