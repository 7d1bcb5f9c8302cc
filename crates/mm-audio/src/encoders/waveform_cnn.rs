//! SoundNet-style raw-waveform encoder (Aytar et al. 2016): strided 1-D convolutions with batch norm, ReLU and
//! max-pooling, from samples straight to features, with every layer's output kept.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::pool::{MaxPool1d, MaxPool1dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig1d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// One layer: convolution (kernel, stride, padding kernel / 2), batch norm, ReLU, then max-pooling by `pool`
/// (1: none).
#[derive(Config, Debug)]
pub struct WaveformLayerConfig {
    /// Output channels.
    pub channels: usize,
    /// Kernel length in samples (or in frames of the layer below).
    pub kernel: usize,
    /// Convolution stride.
    pub stride: usize,
    /// Max-pooling size and stride after the activation; 1 for none.
    pub pool: usize,
}

/// The layers of a [`WaveformCnn`].
#[derive(Config, Debug)]
pub struct WaveformCnnConfig {
    /// Layers, first to last. Default: SoundNet's first five layers (16/32/64/128/256 channels, kernels
    /// 64/32/16/8/4, stride 2, pooling 8/8/1/1/4), which take one second at 8 kHz down to one frame.
    #[config(default = "WaveformCnnConfig::soundnet5()")]
    pub layers: Vec<WaveformLayerConfig>,
}

impl WaveformCnnConfig {
    /// SoundNet's conv1–conv5 with their pooling.
    pub fn soundnet5() -> Vec<WaveformLayerConfig> {
        [(16, 64, 2, 8), (32, 32, 2, 8), (64, 16, 2, 1), (128, 8, 2, 1), (256, 4, 2, 4)]
            .map(|(channels, kernel, stride, pool)| WaveformLayerConfig { channels, kernel, stride, pool })
            .to_vec()
    }

    /// An encoder with burn's default initialisers.
    pub fn init(&self, device: &Device) -> WaveformCnn {
        let mut channels = 1;
        let layers = self
            .layers
            .iter()
            .map(|layer| {
                let block = WaveformLayer {
                    conv: Conv1dConfig::new(channels, layer.channels, layer.kernel)
                        .with_stride(layer.stride)
                        .with_padding(PaddingConfig1d::Explicit(layer.kernel / 2, layer.kernel / 2))
                        .init(device),
                    norm: BatchNormConfig::new(layer.channels).init(device),
                    pool: (layer.pool > 1).then(|| MaxPool1dConfig::new(layer.pool).init()),
                };
                channels = layer.channels;
                block
            })
            .collect();
        WaveformCnn { layers }
    }

    /// D, the pooled vector's size (channels of the last layer).
    pub fn output_dim(&self) -> usize {
        self.layers.last().map_or(1, |l| l.channels)
    }
}

/// One layer of the encoder.
#[derive(Module, Debug)]
pub struct WaveformLayer {
    conv: Conv1d,
    norm: BatchNorm,
    pool: Option<MaxPool1d>,
}

/// Every layer's features and the pooled vector.
#[derive(Debug, Clone)]
pub struct WaveformOutput {
    /// Output of each layer (after its pooling): `[B, C_l, T_l]`.
    pub layers: Vec<Tensor<3>>,
    /// Time average of the last layer: `[B, D]`.
    pub pooled: Tensor<2>,
}

/// See [`WaveformCnnConfig`].
#[derive(Module, Debug)]
pub struct WaveformCnn {
    layers: Vec<WaveformLayer>,
}

impl WaveformCnn {
    /// - `samples`: `[B, 1, T]` (peak-normalised audio)
    /// - returns each layer's features and the time average of the last, `[B, D]`.
    ///
    /// # Panics
    /// When `samples` has more than one channel.
    pub fn forward(&self, samples: Tensor<3>) -> WaveformOutput {
        assert_eq!(samples.dims()[1], 1, "WaveformCnn: samples {:?}, expected [B, 1, T]", samples.dims());
        let mut x = samples;
        let mut layers = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            x = relu(layer.norm.forward(layer.conv.forward(x)));
            if let Some(pool) = &layer.pool {
                x = pool.forward(x);
            }
            layers.push(x.clone());
        }
        let [batch, channels, _] = x.dims();
        WaveformOutput { pooled: x.mean_dim(2).reshape([batch, channels]), layers }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_second_at_8_khz_becomes_one_frame() {
        let device = Device::flex();
        let cnn = WaveformCnnConfig::new().init(&device);
        let out = cnn.forward(Tensor::<3>::zeros([2, 1, 8000], &device));
        let lengths: Vec<usize> = out.layers.iter().map(|l| l.dims()[2]).collect();
        assert_eq!(out.layers.len(), 5);
        assert_eq!(*lengths.last().unwrap(), 1, "{lengths:?}");
        assert_eq!(out.pooled.dims(), [2, 256]);
    }
}
