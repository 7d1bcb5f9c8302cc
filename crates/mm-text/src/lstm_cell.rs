//! One LSTM step as one matrix product per input and per state: the captioners run their recurrence a step at a
//! time (the attention context depends on the last hidden state), so the four gates are fused.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Device;
use burn::tensor::activation::{sigmoid, tanh};
use burn::tensor::{Tensor, TensorData};

/// An LSTM cell's sizes.
#[derive(Config, Debug)]
pub struct LstmCellConfig {
    /// Input width.
    pub d_input: usize,
    /// Hidden (and cell) width.
    pub d_hidden: usize,
}

impl LstmCellConfig {
    /// A cell with the forget gate's bias at 1 (Jozefowicz et al. 2015), so that it remembers at first.
    pub fn init(&self, device: &Device) -> LstmCell {
        let input = LinearConfig::new(self.d_input, 4 * self.d_hidden).init(device);
        let hidden = LinearConfig::new(self.d_hidden, 4 * self.d_hidden).with_bias(false).init(device);
        let h = self.d_hidden;
        // The bias is made again from its values, so that it is a leaf of the graph, not the result of an edit.
        let mut bias = input.bias.as_ref().expect("the input product has a bias").val().into_data().convert::<f32>().try_into_vec::<f32>().expect("float bias");
        bias[h..2 * h].iter_mut().for_each(|b| *b = 1.0);
        let bias = Param::from_tensor(Tensor::from_data(TensorData::new(bias, [4 * h]), device));
        LstmCell { input: Linear { bias: Some(bias), ..input }, hidden, d_hidden: h }
    }
}

/// `h, c = LSTM(x, h, c)` with gates in the order input, forget, cell, output.
#[derive(Module, Debug)]
pub struct LstmCell {
    input: Linear,
    hidden: Linear,
    d_hidden: usize,
}

/// A cell's state, `[B, d_hidden]` each.
#[derive(Debug, Clone)]
pub struct CellState {
    /// h.
    pub hidden: Tensor<2>,
    /// c.
    pub cell: Tensor<2>,
}

impl CellState {
    /// `next` where `on` (`[B, 1]`) is 1 and this state where it is 0: a padded sequence's rows keep their state
    /// once their tokens end.
    pub fn advance(self, next: CellState, on: &Tensor<2>) -> CellState {
        CellState { hidden: self.hidden.clone() + (next.hidden - self.hidden) * on.clone(), cell: self.cell.clone() + (next.cell - self.cell) * on.clone() }
    }

    /// Rows `rows` of the state (for beam search).
    pub fn select(&self, rows: Tensor<1, burn::tensor::Int>) -> Self {
        Self { hidden: self.hidden.clone().select(0, rows.clone()), cell: self.cell.clone().select(0, rows) }
    }
}

impl LstmCell {
    /// The input's part of the gates for many steps at once, `[..., d_input]` → `[..., 4·d_hidden]`: computed once
    /// per sequence when the inputs are known in advance (teacher forcing).
    ///
    /// # Panics
    /// When the input's last dimension is not `d_input`.
    pub fn input_gates<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let d_input = self.input.weight.val().dims()[0];
        assert_eq!(x.dims()[D - 1], d_input, "LstmCell: input {:?}, expected [.., {d_input}]", x.dims());
        self.input.forward(x)
    }

    /// One step from the input's gates `[B, 4·d_hidden]` (see [`Self::input_gates`]).
    ///
    /// # Panics
    /// When the gates are not `[B, 4·d_hidden]`.
    pub fn step_gates(&self, input_gates: Tensor<2>, state: &CellState) -> CellState {
        let h = self.d_hidden;
        assert_eq!(input_gates.dims()[1], 4 * h, "LstmCell: gates {:?}, expected [B, {}]", input_gates.dims(), 4 * h);
        let gates = input_gates + self.hidden.forward(state.hidden.clone());
        let input = sigmoid(gates.clone().narrow(1, 0, h));
        let forget = sigmoid(gates.clone().narrow(1, h, h));
        let candidate = tanh(gates.clone().narrow(1, 2 * h, h));
        let output = sigmoid(gates.narrow(1, 3 * h, h));
        let cell = forget * state.cell.clone() + input * candidate;
        CellState { hidden: output * tanh(cell.clone()), cell }
    }

    /// One step: `x` `[B, d_input]`.
    pub fn step(&self, x: Tensor<2>, state: &CellState) -> CellState {
        self.step_gates(self.input_gates(x), state)
    }

    /// A zero state for `batch` rows.
    pub fn zeros(&self, batch: usize, device: &Device) -> CellState {
        let zeros = Tensor::zeros([batch, self.d_hidden], device);
        CellState { hidden: zeros.clone(), cell: zeros }
    }

    /// Hidden width.
    pub fn d_hidden(&self) -> usize {
        self.d_hidden
    }
}

/// Runs a stack of cells over sequences `inputs` `[B, T, d_input]` whose `mask` `[B, T]` is 1 on their items and
/// 0 on the padding after them, and returns each layer's state after each sequence's last item (padding never
/// moves a state): the encoder of a text read whole. The first layer's input half is computed for every step at
/// once; each layer above reads the hidden state of the one below.
///
/// # Panics
/// When `layers` is empty, or `mask` is not `[B, T]`.
pub fn run_masked(layers: &[LstmCell], inputs: Tensor<3>, mask: Tensor<2>) -> Vec<CellState> {
    let [batch, steps, _] = inputs.dims();
    assert_eq!(mask.dims(), [batch, steps], "run_masked: inputs {:?}, mask {:?}", inputs.dims(), mask.dims());
    let (first, above) = layers.split_first().expect("run_masked: at least one layer");
    let gates = first.input_gates(inputs);
    let width = gates.dims()[2];
    let device = mask.device();
    let mut states: Vec<CellState> = layers.iter().map(|cell| cell.zeros(batch, &device)).collect();
    for t in 0..steps {
        let on = mask.clone().narrow(1, t, 1);
        let next = first.step_gates(gates.clone().narrow(1, t, 1).reshape([batch, width]), &states[0]);
        states[0] = states[0].clone().advance(next, &on);
        for (below, cell) in above.iter().enumerate() {
            let next = cell.step(states[below].hidden.clone(), &states[below + 1]);
            states[below + 1] = states[below + 1].clone().advance(next, &on);
        }
    }
    states
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cell computes the textbook equations: checked against a hand computation with chosen weights.
    #[test]
    fn one_step_is_the_textbook_lstm() {
        let device = Device::flex();
        let cell = LstmCellConfig::new(1, 1).init(&device);
        // Gates i, f, g, o with input weights 1, 2, 3, 4, hidden weights 0.5, 0.5, 0.5, 0.5, biases 0, 1, 0, 0.
        let weights = |values: Vec<f32>, shape: [usize; 2]| Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), &device));
        let cell = LstmCell {
            input: Linear {
                weight: weights(vec![1.0, 2.0, 3.0, 4.0], [1, 4]),
                bias: Some(Param::from_tensor(Tensor::from_floats([0.0, 1.0, 0.0, 0.0], &device))),
            },
            hidden: Linear { weight: weights(vec![0.5; 4], [1, 4]), ..cell.hidden },
            d_hidden: 1,
        };
        let state = CellState { hidden: Tensor::from_floats([[0.2]], &device), cell: Tensor::from_floats([[-0.3]], &device) };
        let next = cell.step(Tensor::from_floats([[0.7]], &device), &state);
        let s = |v: f32| 1.0 / (1.0 + (-v).exp());
        let (i, f, g, o) = (s(0.7 + 0.1), s(1.4 + 0.1 + 1.0), (2.1f32 + 0.1).tanh(), s(2.8 + 0.1));
        let c = f * -0.3 + i * g;
        let h = o * c.tanh();
        let got: Vec<f32> = next.hidden.into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
        let got_c: Vec<f32> = next.cell.into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
        assert!((got[0] - h).abs() < 1e-6 && (got_c[0] - c).abs() < 1e-6, "{got:?} {got_c:?} vs {h} {c}");
    }

    #[test]
    fn the_forget_gate_starts_open() {
        let cell = LstmCellConfig::new(3, 4).init(&Device::flex());
        let bias: Vec<f32> = cell.input.bias.as_ref().unwrap().val().into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
        assert_eq!(&bias[4..8], &[1.0; 4]);
    }

    /// A two-layer stack over a sequence and over the same sequence padded: the padding moves no layer's state,
    /// and the top layer is the bottom one's hidden state stepped through the second cell.
    #[test]
    fn a_stack_run_over_padding_ends_where_the_words_end() {
        use burn::tensor::Distribution;
        let device = Device::flex();
        let layers = [LstmCellConfig::new(3, 4).init(&device), LstmCellConfig::new(4, 5).init(&device)];
        let words = Tensor::<3>::random([1, 2, 3], Distribution::Normal(0.0, 1.0), &device);
        let padded = Tensor::cat(vec![words.clone(), Tensor::random([1, 2, 3], Distribution::Normal(0.0, 1.0), &device)], 1);
        let short = run_masked(&layers, words.clone(), Tensor::ones([1, 2], &device));
        let long = run_masked(&layers, padded, Tensor::from_data(TensorData::new(vec![1.0f32, 1.0, 0.0, 0.0], [1, 4]), &device));
        let values = |t: &Tensor<2>| t.clone().into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
        for (a, b) in short.iter().zip(&long) {
            assert_eq!((values(&a.hidden), values(&a.cell)), (values(&b.hidden), values(&b.cell)));
        }
        // By hand: the same steps, one layer at a time.
        let (mut low, mut high) = (layers[0].zeros(1, &device), layers[1].zeros(1, &device));
        for t in 0..2 {
            low = layers[0].step(words.clone().narrow(1, t, 1).reshape([1, 3]), &low);
            high = layers[1].step(low.hidden.clone(), &high);
        }
        let close = |a: Vec<f32>, b: Vec<f32>| a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-6);
        assert!(close(values(&short[1].hidden), values(&high.hidden)) && close(values(&short[0].cell), values(&low.cell)));
    }
}
