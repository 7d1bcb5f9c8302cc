//! Show, Attend and Tell (Xu et al. 2015) with soft attention: the picture is `L` annotation vectors (the
//! encoder's spatial map, one per place); the LSTM's state starts from MLPs of their mean; at every step an
//! attention MLP scores each annotation against the last hidden state, a gate β = σ(f_β(h)) scales the attended
//! context, and the deep output layer reads the previous word's embedding, the hidden state and the context.
//! Training adds the doubly stochastic regulariser λ Σ_i (1 − Σ_t α_ti)², which asks every place to be looked at
//! about once over the caption.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::activation::{log_softmax, sigmoid, softmax, tanh};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::decoding::StepDecoder;
use mm_text::lstm_cell::{CellState, LstmCell, LstmCellConfig};

/// The model's sizes.
#[derive(Config, Debug)]
pub struct ShowAttendTellConfig {
    /// Width of an annotation vector (the encoder map's channels).
    pub d_annotation: usize,
    /// Tokens in the vocabulary (special tokens included).
    pub vocab_size: usize,
    /// Word-embedding width (also the deep output layer's). Default 128.
    #[config(default = 128)]
    pub d_embed: usize,
    /// LSTM width. Default 256.
    #[config(default = 256)]
    pub d_hidden: usize,
    /// Width of the attention MLP. Default 128.
    #[config(default = 128)]
    pub d_attention: usize,
    /// Dropout before the deep output layer. Default 0.2.
    #[config(default = 0.2)]
    pub dropout: f64,
}

impl ShowAttendTellConfig {
    /// A freshly initialised model.
    pub fn init(&self, device: &Device) -> ShowAttendTell {
        let linear = |from, to| LinearConfig::new(from, to).init(device);
        ShowAttendTell {
            init_hidden: linear(self.d_annotation, self.d_hidden),
            init_cell: linear(self.d_annotation, self.d_hidden),
            attend_annotation: linear(self.d_annotation, self.d_attention),
            attend_hidden: LinearConfig::new(self.d_hidden, self.d_attention).with_bias(false).init(device),
            attend_score: linear(self.d_attention, 1),
            gate: linear(self.d_hidden, 1),
            embed: EmbeddingConfig::new(self.vocab_size, self.d_embed).init(device),
            lstm: LstmCellConfig::new(self.d_embed + self.d_annotation, self.d_hidden).init(device),
            out_hidden: linear(self.d_hidden, self.d_embed),
            out_context: LinearConfig::new(self.d_annotation, self.d_embed).with_bias(false).init(device),
            output: linear(self.d_embed, self.vocab_size),
            dropout: DropoutConfig::new(self.dropout).init(),
            d_annotation: self.d_annotation,
        }
    }
}

/// See [`ShowAttendTellConfig`].
#[derive(Module, Debug)]
pub struct ShowAttendTell {
    init_hidden: Linear,
    init_cell: Linear,
    attend_annotation: Linear,
    attend_hidden: Linear,
    attend_score: Linear,
    gate: Linear,
    embed: Embedding,
    lstm: LstmCell,
    out_hidden: Linear,
    out_context: Linear,
    output: Linear,
    dropout: Dropout,
    d_annotation: usize,
}

/// What decoding carries: the LSTM's state and the picture's annotations (raw and projected for attention).
#[derive(Debug, Clone)]
pub struct AttendState {
    /// h and c, `[N, d_hidden]`.
    pub cell: CellState,
    /// `[N, L, d_annotation]`.
    pub annotations: Tensor<3>,
    /// `[N, L, d_attention]`.
    pub projected: Tensor<3>,
}

/// One step's outputs.
#[derive(Debug, Clone)]
pub struct AttendStep {
    /// Logits of the next token, `[N, vocab]`.
    pub logits: Tensor<2>,
    /// Attention over the places, `[N, L]` (each row sums to 1).
    pub alpha: Tensor<2>,
    /// The state after the step.
    pub state: AttendState,
}

impl ShowAttendTell {
    /// The state before the first word: `annotations` `[B, L, d_annotation]`.
    pub fn start(&self, annotations: Tensor<3>) -> AttendState {
        let [batch, places, width] = annotations.dims();
        assert_eq!(width, self.d_annotation, "ShowAttendTell: annotations of width {width}, the model takes {}", self.d_annotation);
        let mean = annotations.clone().mean_dim(1).reshape([batch, width]);
        let cell = CellState { hidden: tanh(self.init_hidden.forward(mean.clone())), cell: tanh(self.init_cell.forward(mean)) };
        let projected = self.attend_annotation.forward(annotations.clone());
        debug_assert_eq!(projected.dims()[1], places);
        AttendState { cell, annotations, projected }
    }

    /// One step from the previous tokens `[N]`.
    pub fn attend_step(&self, tokens: Tensor<1, Int>, state: &AttendState) -> AttendStep {
        let [n] = tokens.dims();
        let [_, places, width] = state.annotations.dims();
        let word = self.embed.forward(tokens.reshape([n, 1])).reshape([n, self.embed.weight.dims()[1]]);
        let h = state.cell.hidden.clone();
        // e_i = w · tanh(W_a a_i + W_h h); α = softmax over places.
        let query = self.attend_hidden.forward(h.clone()).unsqueeze_dim::<3>(1);
        let scores = self.attend_score.forward(tanh(state.projected.clone() + query)).reshape([n, places]);
        let alpha = softmax(scores, 1);
        let context = alpha.clone().unsqueeze_dim::<3>(1).matmul(state.annotations.clone()).reshape([n, width]);
        let context = sigmoid(self.gate.forward(h)) * context;
        let cell = self.lstm.step(Tensor::cat(vec![word.clone(), context.clone()], 1), &state.cell);
        // Deep output: L_o(E y + L_h h + L_z z).
        let deep = word + self.out_hidden.forward(self.dropout.forward(cell.hidden.clone())) + self.out_context.forward(context);
        let logits = self.output.forward(self.dropout.forward(deep));
        AttendStep { logits, alpha, state: AttendState { cell, annotations: state.annotations.clone(), projected: state.projected.clone() } }
    }

    /// Teacher forcing. `annotations` `[B, L, d_annotation]`, `inputs` `[B, T]` (the start token, then the
    /// caption's tokens but the last) → logits `[B, T, vocab]` and attention `[B, T, L]`.
    ///
    /// # Panics
    /// When `annotations` and `inputs` hold different batches.
    pub fn forward(&self, annotations: Tensor<3>, inputs: Tensor<2, Int>) -> (Tensor<3>, Tensor<3>) {
        let [batch, steps] = inputs.dims();
        assert_eq!(annotations.dims()[0], batch, "ShowAttendTell: annotations {:?} and inputs {:?} of different batches", annotations.dims(), inputs.dims());
        let mut state = self.start(annotations);
        let (mut logits, mut alphas) = (Vec::with_capacity(steps), Vec::with_capacity(steps));
        for t in 0..steps {
            let step = self.attend_step(inputs.clone().narrow(1, t, 1).reshape([batch]), &state);
            logits.push(step.logits.unsqueeze_dim::<3>(1));
            alphas.push(step.alpha.unsqueeze_dim::<3>(1));
            state = step.state;
        }
        (Tensor::cat(logits, 1), Tensor::cat(alphas, 1))
    }

    /// The doubly stochastic regulariser `[1]`, the batch mean of Σ_i (1 − Σ_t α_ti)² over the steps that `mask`
    /// `[B, T]` (1 for a real token, 0 for padding) keeps. `alphas` `[B, T, L]`.
    pub fn doubly_stochastic(alphas: Tensor<3>, mask: Tensor<2>) -> Tensor<1> {
        let [batch, steps, places] = alphas.dims();
        let attended = (alphas * mask.reshape([batch, steps, 1])).sum_dim(1).reshape([batch, places]);
        (attended.neg() + 1.0).powi_scalar(2).sum_dim(1).mean()
    }
}

impl StepDecoder for ShowAttendTell {
    type State = AttendState;

    fn step(&self, tokens: &[u32], state: &AttendState) -> (Vec<f32>, AttendState) {
        let device = state.annotations.device();
        let tokens = Tensor::<1, Int>::from_data(TensorData::new(tokens.iter().map(|&t| t as i64).collect(), [tokens.len()]), &device);
        let step = self.attend_step(tokens, state);
        (log_softmax(step.logits, 1).into_data().convert::<f32>().try_into_vec::<f32>().expect("float log-probabilities"), step.state)
    }

    fn select(&self, state: &AttendState, rows: &[usize]) -> AttendState {
        let device = state.annotations.device();
        let rows = Tensor::<1, Int>::from_data(TensorData::new(rows.iter().map(|&r| r as i64).collect(), [rows.len()]), &device);
        AttendState {
            cell: state.cell.select(rows.clone()),
            annotations: state.annotations.clone().select(0, rows.clone()),
            projected: state.projected.clone().select(0, rows),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    #[test]
    fn attention_is_a_distribution_and_forward_equals_its_steps() {
        let device = Device::flex();
        device.seed(5);
        let model = ShowAttendTellConfig::new(6, 10).with_d_embed(5).with_d_hidden(7).with_d_attention(4).with_dropout(0.0).init(&device);
        let annotations = Tensor::<3>::random([2, 9, 6], Distribution::Normal(0.0, 1.0), &device);
        let inputs = Tensor::<2, Int>::from_data(TensorData::new(vec![1i64, 4, 5, 7, 1, 8, 2, 3], [2, 4]), &device);
        let (logits, alphas) = model.forward(annotations.clone(), inputs.clone());
        assert_eq!((logits.dims(), alphas.dims()), ([2, 4, 10], [2, 4, 9]));
        let sums: Vec<f32> = alphas.clone().sum_dim(2).into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
        assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-5), "{sums:?}");
        let mut state = model.start(annotations);
        for t in 0..4 {
            let (log_probs, next) = StepDecoder::step(&model, &[[1u32, 4, 5, 7][t], [1u32, 8, 2, 3][t]], &state);
            state = next;
            let expected = log_softmax(logits.clone().narrow(1, t, 1).reshape([2, 10]), 1).into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
            assert!(log_probs.iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-5), "step {t}");
        }
    }

    #[test]
    fn the_regulariser_is_zero_when_every_place_is_seen_once() {
        let device = Device::flex();
        // Two places, two real steps (and one padded): attention (1, 0) then (0, 1) covers each place once.
        let alphas = Tensor::<3>::from_data(TensorData::new(vec![1.0f32, 0.0, 0.0, 1.0, 0.5, 0.5], [1, 3, 2]), &device);
        let mask = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 1.0, 0.0], [1, 3]), &device);
        let zero: f32 = ShowAttendTell::doubly_stochastic(alphas.clone(), mask).into_scalar();
        assert!(zero.abs() < 1e-7);
        // With the padded step counted, each place is seen 1.5 times: 2 · 0.5² = 0.5.
        let half: f32 = ShowAttendTell::doubly_stochastic(alphas, Tensor::ones([1, 3], &device)).into_scalar();
        assert!((half - 0.5).abs() < 1e-6);
    }
}
