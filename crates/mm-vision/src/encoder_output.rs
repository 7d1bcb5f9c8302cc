//! What every image encoder returns (mm's VGG- and ResNet-style networks, torchvision's): apart from both, so
//! that neither module needs the other for it.

use burn::tensor::Tensor;

/// What an encoder returns.
#[derive(Debug, Clone)]
pub struct EncoderOutput {
    /// Global average of the feature map: `[B, D]` with `D` = channels of the last stage.
    pub pooled: Tensor<2>,
    /// The last stage's feature map: `[B, C, H', W']`.
    pub features: Tensor<4>,
}

impl EncoderOutput {
    /// Pools `features` `[B, C, H, W]` by averaging over space.
    pub fn from_features(features: Tensor<4>) -> Self {
        let [batch, channels, _, _] = features.dims();
        let pooled = features.clone().mean_dim(3).mean_dim(2).reshape([batch, channels]);
        Self { pooled, features }
    }
}
