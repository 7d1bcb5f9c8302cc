//! Image tagging in a visual-semantic space (DeViSE, Frome et al. 2013): image features and word vectors, both
//! from pretrained unimodal models, projected into one space where a word describes an image when their
//! embeddings are close. Because the word side maps word vectors rather than a fixed list of labels, any word
//! of the vocabulary can be scored — which is what makes zero-shot tagging and search by a new word possible.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

use crate::projection::{ProjectionHead, ProjectionHeadConfig};

/// The tagging model's shape.
#[derive(Config, Debug)]
pub struct TaggingModelConfig {
    /// Width of the image features.
    pub d_image: usize,
    /// Width of the word vectors.
    pub d_word: usize,
    /// Width of the joint space. Default 128.
    #[config(default = 128)]
    pub d_joint: usize,
    /// Hidden width of the image head's MLP (0: linear). Default 256.
    #[config(default = 256)]
    pub image_hidden: usize,
    /// Hidden width of the word head's MLP (0: linear). Default 0: one linear map keeps the word side smooth,
    /// so that words never seen in training land where their neighbours in the word space lead.
    #[config(default = 0)]
    pub word_hidden: usize,
    /// Whether words pass through a learned head at all. `false` is DeViSE's own design: images are mapped into
    /// the word space itself (`d_joint` must equal `d_word`), so every word keeps exactly its place among the
    /// others. Default true.
    #[config(default = true)]
    pub word_head: bool,
    /// Dropout in the image head. Default 0.1.
    #[config(default = 0.1)]
    pub dropout: f64,
    /// Initial similarity scale of the logits (learned). Default 10.
    #[config(default = 10.0)]
    pub initial_scale: f64,
    /// Initial bias of the logits (learned); negative because most (image, tag) pairs do not match. Default −5.
    #[config(default = -5.0)]
    pub initial_bias: f64,
}

impl TaggingModelConfig {
    /// A fresh model that scores the tags whose word vectors are the rows of `tag_vectors` (`[T, d_word]`,
    /// kept frozen).
    ///
    /// # Panics
    /// Without a word head, when `d_joint` differs from `d_word`.
    pub fn init(&self, tag_vectors: Tensor<2>, device: &Device) -> TaggingModel {
        assert!(self.word_head || self.d_joint == self.d_word, "without a word head the joint space is the word space");
        TaggingModel {
            image_head: ProjectionHeadConfig::new(self.d_image, self.d_joint).with_hidden(self.image_hidden).with_dropout(self.dropout).init(device),
            word_head: self.word_head.then(|| ProjectionHeadConfig::new(self.d_word, self.d_joint).with_hidden(self.word_hidden).init(device)),
            tag_vectors: Param::from_tensor(tag_vectors.to_device(device)).set_require_grad(false),
            log_scale: Param::from_tensor(Tensor::from_floats([self.initial_scale.ln() as f32], device)),
            bias: Param::from_tensor(Tensor::from_floats([self.initial_bias as f32], device)),
        }
    }
}

/// Two projection heads into one space, and a learned scale and bias that turn cosine similarities into the
/// log-odds that a tag applies (SigLIP's pairwise sigmoid form, Zhai et al. 2023).
#[derive(Module, Debug)]
pub struct TaggingModel {
    /// Image features → joint space.
    pub image_head: ProjectionHead,
    /// Word vectors → joint space (absent: the joint space is the word space).
    pub word_head: Option<ProjectionHead>,
    /// The training tags' word vectors `[T, d_word]`, frozen.
    tag_vectors: Param<Tensor<2>>,
    log_scale: Param<Tensor<1>>,
    bias: Param<Tensor<1>>,
}

impl TaggingModel {
    /// Width of the joint space.
    pub fn d_joint(&self) -> usize {
        self.image_head.d_output()
    }

    /// `[B, d_image]` → unit rows `[B, d_joint]`.
    pub fn embed_images(&self, features: Tensor<2>) -> Tensor<2> {
        self.image_head.forward(features)
    }

    /// `[W, d_word]` → unit rows `[W, d_joint]`.
    pub fn embed_words(&self, vectors: Tensor<2>) -> Tensor<2> {
        match &self.word_head {
            Some(head) => head.forward(vectors),
            None => crate::losses::l2_normalize(vectors),
        }
    }

    /// The training tags in the joint space: `[T, d_joint]`.
    pub fn embed_tags(&self) -> Tensor<2> {
        self.embed_words(self.tag_vectors.val())
    }

    /// Log-odds that each training tag applies: `[B, d_image]` → `[B, T]`.
    pub fn forward(&self, features: Tensor<2>) -> Tensor<2> {
        self.logits_for(features, self.embed_tags())
    }

    /// Log-odds that each of any words applies — word vectors `[W, d_word]`, seen in training or not:
    /// `[B, d_image]` → `[B, W]`.
    pub fn score_words(&self, features: Tensor<2>, word_vectors: Tensor<2>) -> Tensor<2> {
        self.logits_for(features, self.embed_words(word_vectors))
    }

    fn logits_for(&self, features: Tensor<2>, words: Tensor<2>) -> Tensor<2> {
        let similarities = self.embed_images(features).matmul(words.transpose());
        similarities * self.log_scale.val().exp().reshape([1, 1]) + self.bias.val().reshape([1, 1])
    }
}

impl mm_runner::Classifier for TaggingModel {
    /// Frozen image features `[B, d_image]` → log-odds of each training tag `[B, T]`.
    fn logits(&self, inputs: Tensor<2>) -> Tensor<2> {
        self.forward(inputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    #[test]
    fn logits_are_scaled_cosines_plus_bias() {
        let device = Device::flex();
        let tags = Tensor::<2>::random([5, 6], Distribution::Normal(0.0, 1.0), &device);
        let model = TaggingModelConfig::new(4, 6).with_d_joint(3).with_dropout(0.0).init(tags, &device);
        let features = Tensor::<2>::random([2, 4], Distribution::Normal(0.0, 1.0), &device);
        let logits: Vec<f32> = model.forward(features.clone()).into_data().try_to_vec().unwrap();
        let cosines: Vec<f32> = model.embed_images(features).matmul(model.embed_tags().transpose()).into_data().try_to_vec().unwrap();
        assert_eq!(logits.len(), 10);
        for (l, c) in logits.iter().zip(&cosines) {
            assert!((l - (10.0 * c - 5.0)).abs() < 1e-4, "{l} vs {c}");
            assert!(c.abs() <= 1.0 + 1e-5);
        }
    }
}
