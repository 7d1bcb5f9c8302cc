//! An image encoder with a linear classifier on its pooled vector: the model of the mnist and shapes tasks.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Gradients, Tensor};
use mm_vision::encoders::{ImageEncoder, ImageEncoderConfig};

use super::Readout;
use crate::runner::Classifier;

/// Encoder → readout of its map → dropout → linear head.
#[derive(Module, Debug)]
pub struct ImageClassifier {
    /// The pretrained-to-be encoder (what later systems reuse).
    pub encoder: ImageEncoder,
    dropout: Dropout,
    head: Linear,
    shape: [usize; 3],
    #[module(skip)]
    readout: Readout,
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
    /// How the encoder's map becomes the head's input. Default average.
    #[config(default = "Readout::Average")]
    pub pooling: Readout,
    /// Dropout before the head. Default 0.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl ImageClassifierConfig {
    /// The classifier these settings describe.
    pub fn init(&self, device: &Device) -> ImageClassifier {
        let [_, height, width] = self.shape;
        let [map_height, map_width] = self.encoder.map_size(height, width);
        ImageClassifier {
            encoder: self.encoder.init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            head: LinearConfig::new(self.pooling.width([self.encoder.output_dim(), map_height, map_width]), self.classes).init(device),
            shape: self.shape,
            readout: self.pooling,
        }
    }
}

impl ImageClassifier {
    /// The vector the head reads (`[B, C]` when averaged, as the readout says otherwise), and the logits
    /// `[B, classes]`, of pictures `[B, c, h, w]`.
    pub fn features_and_logits(&self, pictures: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        let encoded = self.encoder.forward(pictures);
        // The encoder has averaged its map already.
        let pooled = match self.readout {
            Readout::Average => encoded.pooled,
            readout => readout.read(encoded.features),
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
