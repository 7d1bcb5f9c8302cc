//! Show and Tell (Vinyals, Toshev, Bengio and Erhan 2015): the picture's feature, projected to the word-embedding
//! width, is the LSTM's first input — once, before the start token; then each word's embedding; a linear layer
//! over the vocabulary reads every hidden state. Trained with teacher forcing; decoded greedily or by beam search
//! ([`crate::decoding`]).

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::decoding::StepDecoder;
use mm_text::lstm_cell::{CellState, LstmCell, LstmCellConfig};

/// The model's sizes.
#[derive(Config, Debug)]
pub struct ShowAndTellConfig {
    /// Width of a picture's feature (the image encoder's pooled output).
    pub d_image: usize,
    /// Tokens in the vocabulary (special tokens included).
    pub vocab_size: usize,
    /// Word-embedding width, also the width the picture is projected to. Default 128.
    #[config(default = 128)]
    pub d_embed: usize,
    /// LSTM width. Default 256 (the paper's is 512, for COCO's vocabulary; 256 is what the shapes world's
    /// small one needs and what the published runs used).
    #[config(default = 256)]
    pub d_hidden: usize,
    /// Dropout on the LSTM's outputs before the vocabulary layer. Default 0.2.
    #[config(default = 0.2)]
    pub dropout: f64,
}

impl ShowAndTellConfig {
    /// A freshly initialised model.
    pub fn init(&self, device: &Device) -> ShowAndTell {
        ShowAndTell {
            image: LinearConfig::new(self.d_image, self.d_embed).init(device),
            embed: EmbeddingConfig::new(self.vocab_size, self.d_embed).init(device),
            lstm: LstmCellConfig::new(self.d_embed, self.d_hidden).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            output: LinearConfig::new(self.d_hidden, self.vocab_size).init(device),
            d_image: self.d_image,
        }
    }
}

/// See [`ShowAndTellConfig`].
#[derive(Module, Debug)]
pub struct ShowAndTell {
    image: Linear,
    embed: Embedding,
    lstm: LstmCell,
    dropout: Dropout,
    output: Linear,
    d_image: usize,
}

impl ShowAndTell {
    /// The state after the picture has been seen: `features` `[B, d_image]`.
    pub fn start(&self, features: Tensor<2>) -> CellState {
        let [batch, width] = features.dims();
        assert_eq!(width, self.d_image, "ShowAndTell: features of width {width}, the model takes {}", self.d_image);
        let zeros = self.lstm.zeros(batch, &features.device());
        self.lstm.step(self.image.forward(features), &zeros)
    }

    /// Teacher forcing. `features` `[B, d_image]`, `inputs` `[B, T]` (the start token, then the caption's tokens
    /// but the last) → logits `[B, T, vocab]` for the next token at every step.
    ///
    /// # Panics
    /// When `features` and `inputs` hold different batches.
    pub fn forward(&self, features: Tensor<2>, inputs: Tensor<2, Int>) -> Tensor<3> {
        let [batch, steps] = inputs.dims();
        assert_eq!(features.dims()[0], batch, "ShowAndTell: features {:?} and inputs {:?} of different batches", features.dims(), inputs.dims());
        let mut state = self.start(features);
        // The input half of every step's gates in one product.
        let gates = self.lstm.input_gates(self.embed.forward(inputs));
        let mut hidden = Vec::with_capacity(steps);
        for t in 0..steps {
            let gates_t = gates.clone().narrow(1, t, 1).reshape([batch, 4 * self.lstm.d_hidden()]);
            state = self.lstm.step_gates(gates_t, &state);
            hidden.push(state.hidden.clone().unsqueeze_dim::<3>(1));
        }
        self.output.forward(self.dropout.forward(Tensor::cat(hidden, 1)))
    }

    /// One decoding step: the last tokens `[N]` and the state → log-probabilities `[N, vocab]` and the next state.
    pub fn step(&self, tokens: Tensor<1, Int>, state: &CellState) -> (Tensor<2>, CellState) {
        let [n] = tokens.dims();
        let x = self.embed.forward(tokens.reshape([n, 1])).reshape([n, self.embed.weight.dims()[1]]);
        let state = self.lstm.step(x, state);
        (log_softmax(self.output.forward(state.hidden.clone()), 1), state)
    }
}

impl StepDecoder for ShowAndTell {
    type State = CellState;

    fn step(&self, tokens: &[u32], state: &CellState) -> (Vec<f32>, CellState) {
        let device = state.hidden.device();
        let tokens = Tensor::<1, Int>::from_data(TensorData::new(tokens.iter().map(|&t| t as i64).collect(), [tokens.len()]), &device);
        let (log_probs, state) = ShowAndTell::step(self, tokens, state);
        (log_probs.into_data().convert::<f32>().try_into_vec::<f32>().expect("float log-probabilities"), state)
    }

    fn select(&self, state: &CellState, rows: &[usize]) -> CellState {
        let device = state.hidden.device();
        state.select(Tensor::from_data(TensorData::new(rows.iter().map(|&r| r as i64).collect(), [rows.len()]), &device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decoding::{BeamSearchConfig, beam_search};

    /// Teacher forcing and step-by-step decoding compute the same thing.
    #[test]
    fn forward_equals_its_steps() {
        let device = Device::flex();
        device.seed(3);
        let model = ShowAndTellConfig::new(6, 9).with_d_embed(5).with_d_hidden(7).with_dropout(0.0).init(&device);
        let features = Tensor::<2>::random([2, 6], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let inputs = Tensor::<2, Int>::from_data(TensorData::new(vec![1i64, 4, 5, 1, 8, 2], [2, 3]), &device);
        let logits = log_softmax(model.forward(features.clone(), inputs.clone()), 2);
        let mut state = model.start(features);
        for t in 0..3 {
            let tokens = inputs.clone().narrow(1, t, 1).reshape([2]);
            let (log_probs, next) = ShowAndTell::step(&model, tokens, &state);
            state = next;
            let expected = logits.clone().narrow(1, t, 1).reshape([2, 9]);
            let gap: f32 = (log_probs - expected).abs().max().into_scalar();
            assert!(gap < 1e-5, "step {t}: {gap}");
        }
    }

    #[test]
    fn greedy_decoding_is_beam_search_of_width_one() {
        let device = Device::flex();
        device.seed(4);
        let model = ShowAndTellConfig::new(4, 6).with_d_embed(4).with_d_hidden(8).init(&device);
        let features = Tensor::<2>::random([3, 4], burn::tensor::Distribution::Normal(0.0, 2.0), &device);
        let decoded = beam_search(&model, model.start(features.clone()), 3, 1, 2, &BeamSearchConfig::greedy(6));
        // The same by hand: arg-max at every step.
        let mut state = model.start(features);
        let mut tokens = vec![1u32; 3];
        let mut by_hand: Vec<Vec<u32>> = vec![Vec::new(); 3];
        let mut open = [true; 3];
        for _ in 0..=6 {
            let (log_probs, next) = StepDecoder::step(&model, &tokens, &state);
            state = next;
            for (row, scores) in log_probs.chunks(6).enumerate() {
                let best = (0..6).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap() as u32;
                if open[row] && by_hand[row].len() < 6 {
                    if best == 2 {
                        open[row] = false;
                    } else {
                        by_hand[row].push(best);
                    }
                }
                tokens[row] = best;
            }
        }
        for (d, h) in decoded.iter().zip(&by_hand) {
            assert_eq!(&d.tokens, h);
        }
    }
}
