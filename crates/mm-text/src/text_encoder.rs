//! An LSTM text encoder: word embeddings, an LSTM, and a linear layer from its state after each text's last word
//! to the text's embedding. Text-to-image is conditioned on one (Reed et al. train theirs, a char-CNN-RNN, to a
//! joint embedding with pictures before the GAN and freeze it; so does mm, in the `text-embedding` task).

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor};

use crate::lstm_cell::{LstmCell, LstmCellConfig, run_masked};

/// The text encoder's sizes.
#[derive(Config, Debug)]
pub struct TextEncoderConfig {
    /// Tokens in the vocabulary (id 0 is padding).
    pub vocab_size: usize,
    /// Word-embedding width. Default 64.
    #[config(default = 64)]
    pub d_embed: usize,
    /// LSTM width. Default 128.
    #[config(default = 128)]
    pub d_hidden: usize,
    /// Width of the text embedding. Default 128.
    #[config(default = 128)]
    pub d_text: usize,
}

impl TextEncoderConfig {
    /// A freshly initialised encoder.
    pub fn init(&self, device: &Device) -> TextEncoder {
        TextEncoder {
            embedding: EmbeddingConfig::new(self.vocab_size, self.d_embed).init(device),
            lstm: LstmCellConfig::new(self.d_embed, self.d_hidden).init(device),
            project: LinearConfig::new(self.d_hidden, self.d_text).init(device),
            d_text: self.d_text,
        }
    }
}

/// See [`TextEncoderConfig`].
#[derive(Module, Debug)]
pub struct TextEncoder {
    embedding: Embedding,
    lstm: LstmCell,
    project: Linear,
    d_text: usize,
}

impl TextEncoder {
    /// Text embeddings `[B, d_text]` of captions `tokens` `[B, T]` whose `mask` `[B, T]` is 1 on their words and
    /// 0 on the padding after them (padding never moves a caption's state).
    ///
    /// # Panics
    /// When `mask` is not shaped as `tokens`.
    pub fn forward(&self, tokens: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<2> {
        let [batch, steps] = tokens.dims();
        assert_eq!(mask.dims(), [batch, steps], "TextEncoder: tokens {:?}, mask {:?}", tokens.dims(), mask.dims());
        let [last] = run_masked(std::slice::from_ref(&self.lstm), self.embedding.forward(tokens), mask).try_into().expect("one layer, one state");
        self.project.forward(last.hidden)
    }

    /// Width of the embedding.
    pub fn d_text(&self) -> usize {
        self.d_text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn padding_leaves_the_embedding_unchanged() {
        let device = Device::flex();
        let encoder = TextEncoderConfig::new(10).with_d_embed(4).with_d_hidden(6).with_d_text(3).init(&device);
        let short = encoder.forward(Tensor::from_data(TensorData::new(vec![3i64, 4], [1, 2]), &device), Tensor::ones([1, 2], &device));
        let padded = encoder.forward(
            Tensor::from_data(TensorData::new(vec![3i64, 4, 0, 0], [1, 4]), &device),
            Tensor::from_data(TensorData::new(vec![1.0f32, 1.0, 0.0, 0.0], [1, 4]), &device),
        );
        let (a, b) = (short.into_data().try_to_vec::<f32>().unwrap(), padded.into_data().try_to_vec::<f32>().unwrap());
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-6), "{a:?} vs {b:?}");
    }
}
