//! The skip-gram of the lecture, as a burn module: a word's one-hot vector times W gives its vector, times W′
//! gives a score for every word of the vocabulary, and a softmax over them predicts each neighbour. Exact, and
//! costs O(vocabulary) per pair: for small vocabularies and for teaching. The negative-sampling trainer in
//! [`super::sgns`] approximates the same objective and is what scales.

use burn::config::Config;
use burn::module::Module;
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::nn::{Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::sgns::Lcg;
use crate::vectors::WordVectors;
use crate::vocab::Vocabulary;
use crate::{Corpus, Error, Result};

/// The model's shape.
#[derive(Config, Debug)]
pub struct SoftmaxSkipGramConfig {
    /// Vocabulary size V.
    pub words: usize,
    /// Vector dimension D. Default 32.
    #[config(default = 32)]
    pub dim: usize,
}

impl SoftmaxSkipGramConfig {
    /// A model with W drawn from N(0, 1/D) and W′ from burn's default (Kaiming-uniform) initialiser.
    pub fn init(&self, device: &Device) -> SoftmaxSkipGram {
        let std = (1.0 / self.dim as f64).sqrt();
        SoftmaxSkipGram {
            input: EmbeddingConfig::new(self.words, self.dim).with_initializer(Initializer::Normal { mean: 0.0, std }).init(device),
            output: LinearConfig::new(self.dim, self.words).with_bias(false).init(device),
            loss: CrossEntropyLossConfig::new().init(device),
        }
    }
}

/// W (`input`, its rows are the word vectors) and W′ (`output`).
#[derive(Module, Debug)]
pub struct SoftmaxSkipGram {
    /// W: `[V, D]`.
    pub input: Embedding,
    /// W′: `[D, V]`, no bias.
    pub output: Linear,
    loss: CrossEntropyLoss,
}

impl SoftmaxSkipGram {
    /// Scores of every word as a neighbour of each centre word.
    ///
    /// - `centres`: `[B]` word ids
    /// - returns: logits `[B, V]` (a softmax over the last axis gives P(neighbour | centre))
    pub fn forward(&self, centres: Tensor<1, Int>) -> Tensor<2> {
        let [batch] = centres.dims();
        let hidden = self.input.forward(centres.reshape([batch, 1])).reshape([batch, self.dim()]);
        self.output.forward(hidden)
    }

    /// Mean cross-entropy of predicting `contexts` (`[B]`) from `centres` (`[B]`): a `[1]` tensor.
    pub fn loss(&self, centres: Tensor<1, Int>, contexts: Tensor<1, Int>) -> Tensor<1> {
        self.loss.forward(self.forward(centres), contexts)
    }

    /// D.
    pub fn dim(&self) -> usize {
        self.input.weight.dims()[1]
    }

    /// The rows of W as word vectors, named by `vocabulary` (whose size must be V).
    pub fn vectors(&self, vocabulary: &Vocabulary) -> WordVectors {
        let data = self.input.weight.val().into_data().convert::<f32>().try_to_vec::<f32>().expect("W is a float tensor");
        WordVectors::new(vocabulary.words().to_vec(), self.dim(), data)
    }
}

/// How to train [`SoftmaxSkipGram`].
#[derive(Config, Debug)]
pub struct SoftmaxTrainingConfig {
    /// The model's vector dimension. Default 32.
    #[config(default = 32)]
    pub dim: usize,
    /// Neighbours on each side that a word predicts. Default 2.
    #[config(default = 2)]
    pub window: usize,
    /// Words seen fewer times are dropped. Default 1.
    #[config(default = 1)]
    pub min_count: u64,
    /// Passes over the (centre, neighbour) pairs. Default 5.
    #[config(default = 5)]
    pub epochs: usize,
    /// Pairs per step. Default 256.
    #[config(default = 256)]
    pub batch_size: usize,
    /// Adam's learning rate. Default 0.01.
    #[config(default = 0.01)]
    pub learning_rate: f64,
    /// Seed of the initial weights and of the pair order. Default 1.
    #[config(default = 1)]
    pub seed: u64,
}

/// What [`train_softmax`] returns.
#[derive(Debug)]
pub struct SoftmaxRun {
    /// The trained model.
    pub model: SoftmaxSkipGram,
    /// Its vocabulary (row i of W is word i).
    pub vocabulary: Vocabulary,
    /// Mean loss of each epoch.
    pub epoch_losses: Vec<f32>,
}

/// Trains the full-softmax skip-gram on every (centre, neighbour) pair of `corpus` within `window`, with Adam.
/// `device` must have autodiff (`Device::flex().autodiff()`). All pairs are held in memory.
pub fn train_softmax(corpus: &Corpus, config: &SoftmaxTrainingConfig, device: &Device) -> Result<SoftmaxRun> {
    if config.dim == 0 || config.window == 0 || config.batch_size == 0 || config.epochs == 0 {
        return Err(Error::Invalid { path: corpus.path().into(), problem: format!("dim, window, batch_size and epochs must be positive: {config:?}") });
    }
    let vocabulary = Vocabulary::build(corpus, config.min_count, None)?;
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    let mut lines = corpus.lines()?;
    let mut sentence = Vec::new();
    while let Some(line) = lines.next_line()? {
        sentence.clear();
        sentence.extend(line.split_ascii_whitespace().filter_map(|w| vocabulary.id(w)));
        for (i, &centre) in sentence.iter().enumerate() {
            let end = (i + config.window + 1).min(sentence.len());
            pairs.extend((i.saturating_sub(config.window)..end).filter(|&j| j != i).map(|j| (centre, sentence[j])));
        }
    }
    if pairs.is_empty() {
        return Err(Error::Invalid { path: corpus.path().into(), problem: "no two known words share a line".into() });
    }
    device.seed(config.seed);
    let mut model = SoftmaxSkipGramConfig::new(vocabulary.len()).with_dim(config.dim).init(device);
    let mut optimizer = AdamConfig::new().init();
    let mut rng = Lcg(config.seed);
    let mut epoch_losses = Vec::with_capacity(config.epochs);
    for _ in 0..config.epochs {
        // Fisher–Yates with the seeded generator: the same seed gives the same batches.
        for i in (1..pairs.len()).rev() {
            pairs.swap(i, (rng.next() >> 16) as usize % (i + 1));
        }
        let (mut total, mut batches) = (0f32, 0usize);
        for batch in pairs.chunks(config.batch_size) {
            let ids = |pick: fn(&(u32, u32)) -> u32| {
                let data: Vec<i64> = batch.iter().map(|p| pick(p) as i64).collect();
                Tensor::<1, Int>::from_data(TensorData::new(data, [batch.len()]), device)
            };
            let loss = model.loss(ids(|p| p.0), ids(|p| p.1));
            let value: f32 = loss.clone().into_scalar();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(config.learning_rate, model, grads);
            total += value;
            batches += 1;
        }
        epoch_losses.push(total / batches as f32);
    }
    Ok(SoftmaxRun { model, vocabulary, epoch_losses })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_scores_every_word() {
        let device = Device::flex();
        let model = SoftmaxSkipGramConfig::new(7).with_dim(4).init(&device);
        let centres = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 3, 6], [3]), &device);
        assert_eq!(model.forward(centres).dims(), [3, 7]);
    }
}
