//! Projection heads: bring a pretrained encoder's vector to the joint space's dimension, on the unit sphere.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use crate::losses::l2_normalize;

/// A linear or two-layer (MLP) projection, L2-normalised.
#[derive(Config, Debug)]
pub struct ProjectionHeadConfig {
    /// Width of the encoder's vector.
    pub d_input: usize,
    /// Width of the joint space.
    pub d_output: usize,
    /// Hidden width of the MLP; 0 makes the head one linear map. Default 0.
    #[config(default = 0)]
    pub hidden: usize,
    /// Dropout on the input (and on the hidden layer). Default 0.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl ProjectionHeadConfig {
    /// A freshly initialised head.
    pub fn init(&self, device: &Device) -> ProjectionHead {
        let (first, second) = if self.hidden == 0 {
            (LinearConfig::new(self.d_input, self.d_output).init(device), None)
        } else {
            (LinearConfig::new(self.d_input, self.hidden).init(device), Some(LinearConfig::new(self.hidden, self.d_output).init(device)))
        };
        ProjectionHead { first, second, dropout: DropoutConfig::new(self.dropout).init() }
    }
}

/// `x → normalise(W x)` or `x → normalise(W₂ relu(W₁ x))`.
#[derive(Module, Debug)]
pub struct ProjectionHead {
    first: Linear,
    second: Option<Linear>,
    dropout: Dropout,
}

impl ProjectionHead {
    /// `[B, d_input]` → unit rows `[B, d_output]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        l2_normalize(self.forward_unnormalised(x))
    }

    /// Width of the output (the joint space).
    pub fn d_output(&self) -> usize {
        let last = self.second.as_ref().unwrap_or(&self.first);
        last.weight.val().dims()[1]
    }

    /// The same before normalisation (for losses that want the raw vectors).
    ///
    /// # Panics
    /// When `x` is not `[B, d_input]`.
    pub fn forward_unnormalised(&self, x: Tensor<2>) -> Tensor<2> {
        let d_input = self.first.weight.val().dims()[0];
        assert_eq!(x.dims()[1], d_input, "ProjectionHead: input {:?}, expected [B, {d_input}]", x.dims());
        let hidden = self.first.forward(self.dropout.forward(x));
        match &self.second {
            Some(second) => second.forward(self.dropout.forward(relu(hidden))),
            None => hidden,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "ProjectionHead: input [3, 5], expected [B, 8]")]
    fn an_input_of_another_width_is_refused_naming_both_shapes() {
        let device = Device::flex();
        ProjectionHeadConfig::new(8, 4).init(&device).forward(Tensor::<2>::zeros([3, 5], &device));
    }

    #[test]
    fn heads_give_unit_rows_of_the_joint_width() {
        let device = Device::flex();
        for hidden in [0, 16] {
            let head = ProjectionHeadConfig::new(8, 4).with_hidden(hidden).init(&device);
            let out = head.forward(Tensor::<2>::random([3, 8], burn::tensor::Distribution::Normal(0.0, 1.0), &device));
            assert_eq!((out.dims(), head.d_output()), ([3, 4], 4));
            let norms: Vec<f32> = out.powf_scalar(2.0).sum_dim(1).into_data().try_to_vec::<f32>().unwrap();
            assert!(norms.iter().all(|n| (n - 1.0).abs() < 1e-5), "{norms:?}");
        }
    }
}
