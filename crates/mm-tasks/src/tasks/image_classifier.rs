//! An image encoder with a linear classifier on its pooled vector: the model of the mnist and shapes tasks.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use mm_vision::encoders::{ImageEncoder, ImageEncoderConfig};

use crate::runner::Classifier;

/// Encoder → dropout → linear head.
#[derive(Module, Debug)]
pub struct ImageClassifier {
    /// The pretrained-to-be encoder (what later systems reuse).
    pub encoder: ImageEncoder,
    dropout: Dropout,
    head: Linear,
    shape: [usize; 3],
}

impl ImageClassifier {
    /// A classifier of `[channels, height, width]` images into `classes`.
    pub fn new(encoder: &ImageEncoderConfig, shape: [usize; 3], classes: usize, dropout: f64, device: &Device) -> Self {
        Self {
            encoder: encoder.init(device),
            dropout: DropoutConfig::new(dropout).init(),
            head: LinearConfig::new(encoder.output_dim(), classes).init(device),
            shape,
        }
    }
}

impl Classifier for ImageClassifier {
    /// `[B, C·H·W]` → logits `[B, classes]`.
    fn logits(&self, inputs: Tensor<2>) -> Tensor<2> {
        let [batch, _] = inputs.dims();
        let [c, h, w] = self.shape;
        let encoded = self.encoder.forward(inputs.reshape([batch, c, h, w]));
        self.head.forward(self.dropout.forward(encoded.pooled))
    }
}
