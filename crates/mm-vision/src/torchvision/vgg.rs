//! torchvision's VGG without batch norm: `features` (3×3 convolutions with bias and ReLU, 2×2 max pooling after
//! each of five stages), adaptive average pooling to 7×7 and `classifier` (three linear layers, ReLU and dropout
//! 0.5 between them). torchvision numbers `features` and `classifier` over every layer, parameter-free ones
//! included (`features.0`, `features.2`, `features.5` …); burn-store's PyTorch reader renumbers them
//! contiguously, which is how [`Vgg`] holds them.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// Stage widths of every VGG.
const WIDTHS: [usize; 5] = [64, 128, 256, 512, 512];

/// torchvision's `VGG` (no batch norm).
#[derive(Module, Debug)]
pub struct Vgg {
    features: Vec<Conv2d>,
    classifier: Vec<Linear>,
    /// Convolutions per stage.
    stages: [usize; 5],
    pool: MaxPool2d,
    avgpool: AdaptiveAvgPool2d,
    dropout: Dropout,
}

impl Vgg {
    /// VGG with `stages[s]` convolutions in stage `s`.
    pub fn new(stages: &[usize; 5], num_classes: usize, device: &Device) -> Self {
        let mut features = Vec::new();
        let mut channels = 3;
        for (&count, &width) in stages.iter().zip(&WIDTHS) {
            for _ in 0..count {
                features.push(Conv2dConfig::new([channels, width], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(device));
                channels = width;
            }
        }
        let classifier = vec![
            LinearConfig::new(512 * 7 * 7, 4096).init(device),
            LinearConfig::new(4096, 4096).init(device),
            LinearConfig::new(4096, num_classes).init(device),
        ];
        Self {
            features,
            classifier,
            stages: *stages,
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            avgpool: AdaptiveAvgPool2dConfig::new([7, 7]).init(),
            dropout: DropoutConfig::new(0.5).init(),
        }
    }

    /// ImageNet-normalised pictures `[B, 3, H, W]` → the last convolution's map after its ReLU, before the last
    /// pooling: `[B, 512, H / 16, W / 16]`.
    pub fn features(&self, pictures: Tensor<4>) -> Tensor<4> {
        super::check_rgb(&pictures);
        let mut x = pictures;
        let mut convs = self.features.iter();
        for (stage, &count) in self.stages.iter().enumerate() {
            if stage > 0 {
                x = self.pool.forward(x);
            }
            for conv in convs.by_ref().take(count) {
                x = relu(conv.forward(x));
            }
        }
        x
    }

    /// ImageNet-normalised pictures `[B, 3, H, W]` (H, W ≥ 32) → logits `[B, num_classes]`.
    pub fn forward(&self, pictures: Tensor<4>) -> Tensor<2> {
        let pooled = self.avgpool.forward(self.pool.forward(self.features(pictures)));
        let [b, c, h, w] = pooled.dims();
        let x = pooled.reshape([b, c * h * w]);
        let x = self.dropout.forward(relu(self.classifier[0].forward(x)));
        let x = self.dropout.forward(relu(self.classifier[1].forward(x)));
        self.classifier[2].forward(x)
    }
}
