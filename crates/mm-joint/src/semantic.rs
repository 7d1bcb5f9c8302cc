//! Semantic regularisation (Salvador et al. 2017, im2recipe): one classifier shared by both modalities, so that
//! matched embeddings must also agree on their category — a high-level property of the pair that the pairwise
//! loss alone does not ask for.

use burn::config::Config;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor};

/// The shared classifier's shape.
#[derive(Config, Debug)]
pub struct SemanticRegularizerConfig {
    /// Width of the joint space.
    pub d_embedding: usize,
    /// Number of categories.
    pub classes: usize,
}

impl SemanticRegularizerConfig {
    /// A freshly initialised classifier.
    pub fn init(&self, device: &Device) -> SemanticRegularizer {
        SemanticRegularizer { classifier: LinearConfig::new(self.d_embedding, self.classes).init(device) }
    }
}

/// A linear classifier applied to the embeddings of both modalities.
#[derive(Module, Debug)]
pub struct SemanticRegularizer {
    classifier: Linear,
}

impl SemanticRegularizer {
    /// Category logits of embeddings: `[B, D]` → `[B, classes]`.
    pub fn logits(&self, embeddings: Tensor<2>) -> Tensor<2> {
        self.classifier.forward(embeddings)
    }

    /// The mean of both modalities' cross-entropies against the pairs' categories (`[B]`): `[1]`.
    pub fn loss(&self, a: Tensor<2>, b: Tensor<2>, categories: Tensor<1, Int>) -> Tensor<1> {
        let cross_entropy = CrossEntropyLossConfig::new().init(&a.device());
        (cross_entropy.forward(self.logits(a), categories.clone()) + cross_entropy.forward(self.logits(b), categories)) / 2.0
    }
}
