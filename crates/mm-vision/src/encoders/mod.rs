//! Convolutional image encoders. Each returns both a pooled vector per image and the last spatial feature map:
//! the vector for classification and matching, the map for attention, localisation and GAN discriminators.
//!
//! - [`vgg`]: stacks of 3×3 convolutions with max-pooling between stages (Simonyan & Zisserman 2015).
//! - [`resnet`]: residual basic blocks with strided downsampling (He et al. 2016).
//!
//! [`ImageEncoder`] also holds torchvision's ImageNet networks ([`crate::torchvision`]) as encoders.

pub mod resnet;
pub mod vgg;

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

pub use resnet::{ResNetEncoder, ResNetEncoderConfig};
pub use vgg::{VggEncoder, VggEncoderConfig};

pub use crate::encoder_output::EncoderOutput;
use crate::torchvision::TorchvisionNet;

/// Which family an [`ImageEncoder`] is.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum ImageEncoderKind {
    /// [`VggEncoder`].
    Vgg,
    /// [`ResNetEncoder`].
    ResNet,
}

/// Either encoder family behind one config: what tasks store in their config files.
#[derive(Config, Debug)]
pub struct ImageEncoderConfig {
    /// The family. Default VGG.
    #[config(default = "ImageEncoderKind::Vgg")]
    pub kind: ImageEncoderKind,
    /// Image channels: 1 for grey, 3 for RGB. Default 1.
    #[config(default = 1)]
    pub channels_in: usize,
    /// Channels of each stage. Default `[32, 64]`.
    #[config(default = "vec![32, 64]")]
    pub stages: Vec<usize>,
    /// Conv (VGG) or residual (ResNet) blocks per stage. Default 2.
    #[config(default = 2)]
    pub blocks_per_stage: usize,
}

impl ImageEncoderConfig {
    /// The encoder this config describes.
    pub fn init(&self, device: &Device) -> ImageEncoder {
        let (stages, blocks) = (self.stages.clone(), self.blocks_per_stage);
        match self.kind {
            ImageEncoderKind::Vgg => {
                ImageEncoder::Vgg(VggEncoderConfig::new().with_channels_in(self.channels_in).with_stages(stages).with_blocks_per_stage(blocks).init(device))
            }
            ImageEncoderKind::ResNet => ImageEncoder::ResNet(
                ResNetEncoderConfig::new().with_channels_in(self.channels_in).with_stages(stages).with_blocks_per_stage(blocks).init(device),
            ),
        }
    }

    /// D, the pooled vector's size.
    pub fn output_dim(&self) -> usize {
        self.stages.last().copied().unwrap_or(self.channels_in)
    }

    /// `[height, width]` of the last feature map for pictures of `height × width`: VGG halves (rounding down) at
    /// the end of every stage, ResNet halves (rounding up) at the start of every stage after the first.
    pub fn map_size(&self, height: usize, width: usize) -> [usize; 2] {
        let stages = self.stages.len() as u32;
        match self.kind {
            ImageEncoderKind::Vgg => [height >> stages, width >> stages],
            ImageEncoderKind::ResNet => {
                let halve = |mut v: usize| {
                    (1..stages).for_each(|_| v = v.div_ceil(2));
                    v
                };
                [halve(height), halve(width)]
            }
        }
    }

    /// Why this encoder cannot read pictures of `[channels, height, width]`, if it cannot: another channel
    /// count, no stage, a stage of zero channels, or more stages than the picture has room for.
    pub fn problem(&self, [channels, height, width]: [usize; 3]) -> Option<String> {
        if self.channels_in != channels {
            return Some(format!("channels_in is {}, but the pictures have {channels} channels", self.channels_in));
        }
        if self.stages.is_empty() || self.stages.contains(&0) || self.blocks_per_stage == 0 {
            return Some(format!("stages {:?} with {} blocks each: every stage needs channels and blocks", self.stages, self.blocks_per_stage));
        }
        let [h, w] = self.map_size(height, width);
        (h == 0 || w == 0).then(|| format!("{} stages leave no feature map of a {height}×{width} picture (use fewer stages)", self.stages.len()))
    }
}

/// A VGG- or ResNet-style encoder, or a torchvision network.
// A model holds its encoder once: the size difference between the variants costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum ImageEncoder {
    /// Plain conv blocks with max pooling.
    Vgg(VggEncoder),
    /// Residual blocks with strided downsampling.
    ResNet(ResNetEncoder),
    /// A torchvision ResNet or VGG ([`TorchvisionNet::encode`]); it reads ImageNet-normalised RGB pictures.
    Torchvision(TorchvisionNet),
}

impl ImageEncoder {
    /// `[B, C, H, W]` → pooled `[B, D]` and the last feature map.
    pub fn forward(&self, images: Tensor<4>) -> EncoderOutput {
        match self {
            ImageEncoder::Vgg(vgg) => vgg.forward(images),
            ImageEncoder::ResNet(resnet) => resnet.forward(images),
            ImageEncoder::Torchvision(net) => net.encode(images),
        }
    }
}

/// A 3×3 convolution (stride 1 or 2, "same" padding), batch norm and ReLU.
#[derive(Config, Debug)]
pub struct ConvBlockConfig {
    /// Input channels.
    pub channels_in: usize,
    /// Output channels.
    pub channels_out: usize,
    /// Stride of the convolution. Default 1.
    #[config(default = 1)]
    pub stride: usize,
    /// Apply ReLU after the norm. Default true.
    #[config(default = true)]
    pub activation: bool,
}

impl ConvBlockConfig {
    /// The block, with burn's default initialisers.
    pub fn init(&self, device: &Device) -> ConvBlock {
        ConvBlock {
            conv: Conv2dConfig::new([self.channels_in, self.channels_out], [3, 3])
                .with_stride([self.stride, self.stride])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_bias(false)
                .init(device),
            norm: BatchNormConfig::new(self.channels_out).init(device),
            activation: self.activation,
        }
    }
}

/// Conv 3×3 → batch norm → ReLU (optional).
#[derive(Module, Debug)]
pub struct ConvBlock {
    conv: Conv2d,
    norm: BatchNorm,
    activation: bool,
}

impl ConvBlock {
    /// `[B, C_in, H, W]` → `[B, C_out, ⌈H/stride⌉, ⌈W/stride⌉]`.
    ///
    /// # Panics
    /// When the input's channels are not `C_in`.
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let channels_in = self.conv.weight.val().dims()[1];
        assert_eq!(input.dims()[1], channels_in, "ConvBlock: input {:?}, expected [B, {channels_in}, H, W]", input.dims());
        let x = self.norm.forward(self.conv.forward(input));
        if self.activation { relu(x) } else { x }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "ConvBlock: input [2, 3, 28, 28], expected [B, 1, H, W]")]
    fn a_grey_encoder_refuses_colour_pictures_naming_both_shapes() {
        let device = Device::flex();
        ImageEncoderConfig::new().init(&device).forward(Tensor::<4>::zeros([2, 3, 28, 28], &device));
    }

    #[test]
    fn map_sizes_follow_each_family_and_impossible_settings_are_named() {
        let vgg = ImageEncoderConfig::new().with_stages(vec![8, 16, 32]);
        assert_eq!(vgg.map_size(28, 28), [3, 3]);
        let resnet = ImageEncoderConfig::new().with_kind(ImageEncoderKind::ResNet).with_channels_in(3).with_stages(vec![8, 16, 32]);
        assert_eq!(resnet.map_size(32, 32), [8, 8]);
        assert_eq!(resnet.map_size(7, 7), [2, 2]);
        let device = Device::flex();
        let out = resnet.init(&device).forward(Tensor::<4>::zeros([1, 3, 7, 7], &device));
        assert_eq!(out.features.dims()[2..], [2, 2], "map_size is what the encoder gives");
        assert!(vgg.problem([1, 28, 28]).is_none() && resnet.problem([3, 32, 32]).is_none());
        assert!(vgg.problem([3, 28, 28]).unwrap().contains("channels_in is 1"));
        assert!(vgg.clone().with_stages(vec![8; 5]).problem([1, 28, 28]).unwrap().contains("5 stages"));
        assert!(vgg.with_stages(vec![8, 0]).problem([1, 28, 28]).unwrap().contains("stages"));
    }
}
