//! An image encoder with a linear classifier on its pooled vector: the model of the mnist and shapes tasks.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Gradients, Tensor};
use mm_vision::encoders::{ImageEncoder, ImageEncoderConfig};

use crate::runner::Classifier;

/// How the feature map becomes one vector for the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// The encoder's global average: what is in the picture, weighted by area.
    #[default]
    Average,
    /// Global maximum: whether something is anywhere in the picture, however small — the right summary for
    /// "which objects are present".
    Max,
}

/// Encoder → global pooling → dropout → linear head.
#[derive(Module, Debug)]
pub struct ImageClassifier {
    /// The pretrained-to-be encoder (what later systems reuse).
    pub encoder: ImageEncoder,
    dropout: Dropout,
    head: Linear,
    shape: [usize; 3],
    max_pooling: bool,
}

/// An [`ImageClassifier`]'s settings.
#[derive(Config, Debug)]
pub struct ImageClassifierConfig {
    /// The encoder.
    pub encoder: ImageEncoderConfig,
    /// `[channels, height, width]` of the pictures.
    pub shape: [usize; 3],
    /// Classes.
    pub classes: usize,
    /// How the map becomes one vector. Default average.
    #[config(default = "Pooling::Average")]
    pub pooling: Pooling,
    /// Dropout before the head. Default 0.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl ImageClassifierConfig {
    /// The classifier these settings describe.
    pub fn init(&self, device: &Device) -> ImageClassifier {
        ImageClassifier {
            encoder: self.encoder.init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            head: LinearConfig::new(self.encoder.output_dim(), self.classes).init(device),
            shape: self.shape,
            max_pooling: self.pooling == Pooling::Max,
        }
    }
}

impl ImageClassifier {
    /// The pooled vector `[B, C]` the head reads, and the logits `[B, classes]`, of pictures `[B, c, h, w]`.
    pub fn features_and_logits(&self, pictures: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        let [batch, _, _, _] = pictures.dims();
        let encoded = self.encoder.forward(pictures);
        let pooled = if self.max_pooling {
            let [_, channels, _, _] = encoded.features.dims();
            encoded.features.max_dim(3).max_dim(2).reshape([batch, channels])
        } else {
            encoded.pooled
        };
        let logits = self.head.forward(self.dropout.forward(pooled.clone()));
        (pooled, logits)
    }
}

impl Classifier for ImageClassifier {
    /// `encoder`: the pretrained-to-be encoder, which `train.module_lr.encoder` can fine-tune slower or freeze.
    fn module_names() -> &'static [&'static str] {
        &["encoder"]
    }

    fn split_gradients(&self, grads: &mut Gradients) -> Vec<(&'static str, GradientsParams)> {
        vec![("encoder", GradientsParams::from_module(grads, &self.encoder))]
    }

    /// `[B, C·H·W]` → logits `[B, classes]`.
    fn logits(&self, inputs: Tensor<2>) -> Tensor<2> {
        let [batch, width] = inputs.dims();
        let [c, h, w] = self.shape;
        debug_assert_eq!(width, c * h * w, "ImageClassifier: rows of {width} values, pictures of {c}×{h}×{w}");
        self.features_and_logits(inputs.reshape([batch, c, h, w])).1
    }
}
