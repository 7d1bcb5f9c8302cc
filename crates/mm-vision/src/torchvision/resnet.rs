//! torchvision's ResNet: `conv1`, `bn1`, max pooling, `layer1` … `layer4` of basic blocks or bottlenecks, global
//! average pooling and `fc`. Field names are torchvision's; a block's `downsample` (torchvision's
//! `Sequential(conv, bn)`, keys `downsample.0` and `downsample.1`) is [`Downsample`] with `conv` and `norm`,
//! which [`super::load_weights`] maps.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// A bias-free `k × k` convolution with torchvision's padding (`k / 2`).
fn conv(channels_in: usize, channels_out: usize, kernel: usize, stride: usize, device: &Device) -> Conv2d {
    let pad = kernel / 2;
    Conv2dConfig::new([channels_in, channels_out], [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(false)
        .init(device)
}

fn norm(channels: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(channels).init(device)
}

/// The 1×1 strided convolution and batch norm that bring the shortcut to a block's output shape.
#[derive(Module, Debug)]
pub struct Downsample {
    conv: Conv2d,
    norm: BatchNorm,
}

impl Downsample {
    fn new(channels_in: usize, channels_out: usize, stride: usize, device: &Device) -> Self {
        Self { conv: conv(channels_in, channels_out, 1, stride, device), norm: norm(channels_out, device) }
    }

    fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        self.norm.forward(self.conv.forward(input))
    }
}

/// torchvision's `BasicBlock`: two 3×3 convolutions (the first strided), expansion 1.
#[derive(Module, Debug)]
pub struct ResNetBasicBlock {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    downsample: Option<Downsample>,
}

/// torchvision's `Bottleneck`: 1×1 down to the block's width, 3×3 (strided), 1×1 up to 4 × the width.
#[derive(Module, Debug)]
pub struct Bottleneck {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    conv3: Conv2d,
    bn3: BatchNorm,
    downsample: Option<Downsample>,
}

/// One residual block of either kind.
// Every block of one network is the same variant: boxing the larger would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum ResidualBlock {
    /// ResNet-18 and 34.
    Basic(ResNetBasicBlock),
    /// ResNet-50, 101 and 152.
    Bottleneck(Bottleneck),
}

impl ResidualBlock {
    /// `[B, C_in, H, W]` → `[B, C_out, ⌈H / stride⌉, ⌈W / stride⌉]`.
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let (residual, downsample) = match self {
            Self::Basic(b) => (b.bn2.forward(b.conv2.forward(relu(b.bn1.forward(b.conv1.forward(input.clone()))))), &b.downsample),
            Self::Bottleneck(b) => {
                let x = relu(b.bn1.forward(b.conv1.forward(input.clone())));
                let x = relu(b.bn2.forward(b.conv2.forward(x)));
                (b.bn3.forward(b.conv3.forward(x)), &b.downsample)
            }
        };
        let identity = match downsample {
            Some(downsample) => downsample.forward(input),
            None => input,
        };
        relu(residual + identity)
    }
}

/// torchvision's `ResNet`.
#[derive(Module, Debug)]
pub struct ResNet {
    conv1: Conv2d,
    bn1: BatchNorm,
    maxpool: MaxPool2d,
    layer1: Vec<ResidualBlock>,
    layer2: Vec<ResidualBlock>,
    layer3: Vec<ResidualBlock>,
    layer4: Vec<ResidualBlock>,
    fc: Linear,
}

/// Builds one block from (channels in, block width, stride, whether the shortcut needs a projection).
type BlockFactory = fn(usize, usize, usize, &Device) -> ResidualBlock;

impl ResNet {
    /// ResNet of basic blocks, `blocks` per layer.
    pub fn basic(blocks: [usize; 4], num_classes: usize, device: &Device) -> Self {
        Self::new(blocks, 1, num_classes, device, |channels_in, width, stride, device| {
            ResidualBlock::Basic(ResNetBasicBlock {
                conv1: conv(channels_in, width, 3, stride, device),
                bn1: norm(width, device),
                conv2: conv(width, width, 3, 1, device),
                bn2: norm(width, device),
                downsample: (stride != 1 || channels_in != width).then(|| Downsample::new(channels_in, width, stride, device)),
            })
        })
    }

    /// ResNet of bottlenecks, `blocks` per layer.
    pub fn bottleneck(blocks: [usize; 4], num_classes: usize, device: &Device) -> Self {
        Self::new(blocks, 4, num_classes, device, |channels_in, width, stride, device| {
            ResidualBlock::Bottleneck(Bottleneck {
                conv1: conv(channels_in, width, 1, 1, device),
                bn1: norm(width, device),
                conv2: conv(width, width, 3, stride, device),
                bn2: norm(width, device),
                conv3: conv(width, 4 * width, 1, 1, device),
                bn3: norm(4 * width, device),
                downsample: (stride != 1 || channels_in != 4 * width).then(|| Downsample::new(channels_in, 4 * width, stride, device)),
            })
        })
    }

    fn new(blocks: [usize; 4], expansion: usize, num_classes: usize, device: &Device, block: BlockFactory) -> Self {
        let mut channels = 64;
        let mut layer = |width: usize, count: usize, stride: usize| -> Vec<ResidualBlock> {
            (0..count)
                .map(|i| {
                    let made = block(channels, width, if i == 0 { stride } else { 1 }, device);
                    channels = width * expansion;
                    made
                })
                .collect()
        };
        let (layer1, layer2, layer3, layer4) = (layer(64, blocks[0], 1), layer(128, blocks[1], 2), layer(256, blocks[2], 2), layer(512, blocks[3], 2));
        Self {
            conv1: Conv2dConfig::new([3, 64], [7, 7]).with_stride([2, 2]).with_padding(PaddingConfig2d::Explicit(3, 3, 3, 3)).with_bias(false).init(device),
            bn1: norm(64, device),
            maxpool: MaxPool2dConfig::new([3, 3]).with_strides([2, 2]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(),
            layer1,
            layer2,
            layer3,
            layer4,
            fc: LinearConfig::new(512 * expansion, num_classes).init(device),
        }
    }

    /// ImageNet-normalised pictures `[B, 3, H, W]` → `layer4`'s map `[B, 512 · expansion, H', W']` (H' ≈ H / 32).
    pub fn features(&self, pictures: Tensor<4>) -> Tensor<4> {
        super::check_rgb(&pictures);
        let mut x = self.maxpool.forward(relu(self.bn1.forward(self.conv1.forward(pictures))));
        for block in self.layer1.iter().chain(&self.layer2).chain(&self.layer3).chain(&self.layer4) {
            x = block.forward(x);
        }
        x
    }

    /// ImageNet-normalised pictures `[B, 3, H, W]` → logits `[B, num_classes]`.
    pub fn forward(&self, pictures: Tensor<4>) -> Tensor<2> {
        let map = self.features(pictures);
        let [b, c, _, _] = map.dims();
        self.fc.forward(map.mean_dim(3).mean_dim(2).reshape([b, c]))
    }
}
