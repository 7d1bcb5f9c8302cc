//! Looking to Listen's separation network (Ephrat et al., SIGGRAPH 2018), sized for a CPU by its config.
//!
//! The mixture's power-law-compressed complex STFT `[B, 2, T, F]` passes the audio stream: a 1 × 7 convolution
//! across frequency (with a stride, which the paper does not have, to make the stream affordable on a CPU), a 7 × 1
//! across time, then 3 × 3 convolutions dilated in time (1, 2, 4, 8, 16 by default) and a 1 × 1 down to a few
//! channels, flattened per frame; every convolution is followed by batch normalisation and a ReLU, as in the
//! paper. Each visual stream is dilated temporal convolutions over one source's per-frame
//! features (the mouth's coefficients) or over the embedding of one picture of it (a shapes-world object's crop),
//! upsampled to the STFT's frame rate by taking, at each STFT frame, the video frame that covers it. Audio and
//! one source's visual stream are concatenated per frame, pass a bidirectional LSTM and three fully connected
//! layers, and become that source's complex ratio mask, bounded by `mask_bound · tanh` (the paper's tanh
//! compression of the cIRM). Without visual streams ([`Streams::AudioOnly`]) the same network gives one mask per
//! source, to be trained with permutation-invariant training ([`pit_loss`]).
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use mm_tasks::referencing::separation::{SeparatorConfig, Streams};
//!
//! let device = Device::flex();
//! let net = SeparatorConfig::new(65, Streams::AudioOnly { sources: 2 }).with_audio_channels(4).init(&device).unwrap();
//! let masks = net.masks(Tensor::zeros([1, 2, 20, 65], &device), None);
//! assert_eq!(masks.dims(), [1, 2, 2, 20, 65]);
//! ```

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig, Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, BiLstm, BiLstmConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig1d, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor};
use serde::{Deserialize, Serialize};

use crate::runner::{RunError, check_widths};

/// Which streams the network has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Streams {
    /// The audio stream alone, giving one mask per source (trained with permutation-invariant training, since it
    /// cannot know which source is which).
    AudioOnly {
        /// Masks per mixture.
        sources: usize,
    },
    /// Audio and one visual stream per queried source, giving that source's mask.
    AudioVisual {
        /// What a visual stream reads.
        visual: VisualKind,
    },
}

/// What one source's visual stream reads.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum VisualKind {
    /// A feature vector per video frame (the mouth's PCA coefficients), `width` wide.
    Frames {
        /// Features per frame.
        width: usize,
    },
    /// One RGB picture of the source, `side × side`, embedded by a small convolutional encoder trained with the
    /// separator; the stream is constant over time.
    Crop {
        /// The picture's side in pixels.
        side: usize,
    },
}

/// The network's sizes. Defaults are a CPU-sized version of the paper's (which has 96 channels, 15 layers, a
/// 400-wide BiLSTM and 600-wide dense layers).
#[derive(Config, Debug)]
pub struct SeparatorConfig {
    /// Frequency bins of the STFT (`n_fft / 2 + 1`).
    pub bins: usize,
    /// Audio only, or audio-visual.
    pub streams: Streams,
    /// Channels of the audio stream's convolutions. Default 32.
    #[config(default = 32)]
    pub audio_channels: usize,
    /// Stride of the first convolution across frequency. Default 2.
    #[config(default = 2)]
    pub frequency_stride: usize,
    /// Time dilations of the 3 × 3 convolutions. Default 1, 2, 4, 8, 16.
    #[config(default = "vec![1, 2, 4, 8, 16]")]
    pub time_dilations: Vec<usize>,
    /// Channels the audio stream ends with, per frequency (the paper's 8). Default 8.
    #[config(default = 8)]
    pub audio_out_channels: usize,
    /// Channels of the visual stream. Default 64.
    #[config(default = 64)]
    pub visual_channels: usize,
    /// Dilations of the visual stream's temporal convolutions. Default 1, 2, 4.
    #[config(default = "vec![1, 2, 4]")]
    pub visual_dilations: Vec<usize>,
    /// Hidden units of each direction of the BiLSTM. Default 128.
    #[config(default = 128)]
    pub lstm_hidden: usize,
    /// Width of the two hidden dense layers. Default 256.
    #[config(default = 256)]
    pub dense_width: usize,
    /// The masks' bound: `mask = bound · tanh(output)`. Default 2.
    #[config(default = 2.0)]
    pub mask_bound: f64,
    /// Dropout on each visual stream's output in training (not in the paper: with a few minutes of one speaker,
    /// the stream otherwise lets the network recall the training targets from the mouth's trajectory). Default 0.5.
    #[config(default = 0.5)]
    pub visual_dropout: f64,
}

impl SeparatorConfig {
    /// The network, randomly initialised; an error names an impossible setting.
    pub fn init(&self, device: &Device) -> Result<Separator, RunError> {
        check_widths(&[
            ("bins", self.bins),
            ("audio_channels", self.audio_channels),
            ("frequency_stride", self.frequency_stride),
            ("audio_out_channels", self.audio_out_channels),
            ("visual_channels", self.visual_channels),
            ("lstm_hidden", self.lstm_hidden),
            ("dense_width", self.dense_width),
        ])?;
        for (name, dilations) in [("time_dilations", &self.time_dilations), ("visual_dilations", &self.visual_dilations)] {
            if dilations.contains(&0) {
                return Err(RunError::bad_setting(name, format!("{dilations:?}"), "dilations must be at least 1"));
            }
        }
        if !(self.mask_bound > 0.0 && self.mask_bound.is_finite()) {
            return Err(RunError::bad_setting("mask_bound", self.mask_bound, "must be positive and finite"));
        }
        if !(0.0..1.0).contains(&self.visual_dropout) {
            return Err(RunError::bad_setting("visual_dropout", self.visual_dropout, "must be in [0, 1)"));
        }
        let c = self.audio_channels;
        let block =
            |config: Conv2dConfig| ConvNorm2d { norm: BatchNormConfig::new(config.channels[1]).init(device), conv: config.with_bias(false).init(device) };
        let mut audio = vec![
            block(Conv2dConfig::new([2, c], [1, 7]).with_stride([1, self.frequency_stride]).with_padding(PaddingConfig2d::Explicit(0, 3, 0, 3))),
            block(Conv2dConfig::new([c, c], [7, 1]).with_padding(PaddingConfig2d::Explicit(3, 0, 3, 0))),
        ];
        for &d in &self.time_dilations {
            audio.push(block(Conv2dConfig::new([c, c], [3, 3]).with_dilation([d, 1]).with_padding(PaddingConfig2d::Explicit(d, 1, d, 1))));
        }
        audio.push(block(Conv2dConfig::new([c, self.audio_out_channels], [1, 1])));
        let reduced_bins = (self.bins + 6 - 7) / self.frequency_stride + 1;
        let audio_width = self.audio_out_channels * reduced_bins;
        let (visual, sources, visual_width) = match &self.streams {
            Streams::AudioOnly { sources } => {
                if *sources == 0 {
                    return Err(RunError::bad_setting("streams.sources", sources, "an audio-only network needs at least one source"));
                }
                (None, *sources, 0)
            }
            Streams::AudioVisual { visual } => (Some(self.visual_stream(*visual, device)?), 1, self.visual_channels),
        };
        Ok(Separator {
            audio,
            visual,
            lstm: BiLstmConfig::new(audio_width + visual_width, self.lstm_hidden, true).init(device),
            dense: [LinearConfig::new(2 * self.lstm_hidden, self.dense_width).init(device), LinearConfig::new(self.dense_width, self.dense_width).init(device)],
            mask: LinearConfig::new(self.dense_width, sources * 2 * self.bins).init(device),
            visual_dropout: DropoutConfig::new(self.visual_dropout).init(),
            bins: self.bins,
            sources,
            mask_bound: self.mask_bound,
        })
    }

    fn visual_stream(&self, visual: VisualKind, device: &Device) -> Result<VisualStream, RunError> {
        let v = self.visual_channels;
        let (crop, width) = match visual {
            VisualKind::Frames { width } if width > 0 => (None, width),
            VisualKind::Crop { side } if side >= 4 => {
                let conv =
                    |from, to| Conv2dConfig::new([from, to], [3, 3]).with_stride([2, 2]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(device);
                let out = side.div_ceil(2).div_ceil(2);
                (Some(CropEncoder { convs: [conv(3, 16), conv(16, 32)], out: LinearConfig::new(32 * out * out, v).init(device) }), v)
            }
            other => {
                return Err(RunError::bad_setting("streams.visual", format!("{other:?}"), "a frame needs a width of at least 1, a crop a side of at least 4"));
            }
        };
        let block =
            |config: Conv1dConfig| ConvNorm1d { norm: BatchNormConfig::new(config.channels_out).init(device), conv: config.with_bias(false).init(device) };
        let mut convs = vec![block(Conv1dConfig::new(width, v, 3).with_padding(PaddingConfig1d::Explicit(1, 1)))];
        for &d in &self.visual_dilations {
            convs.push(block(Conv1dConfig::new(v, v, 3).with_dilation(d).with_padding(PaddingConfig1d::Explicit(d, d))));
        }
        Ok(VisualStream { crop, convs })
    }
}

/// A 2-D convolution, batch normalisation and a ReLU.
#[derive(Module, Debug)]
pub struct ConvNorm2d {
    conv: Conv2d,
    norm: BatchNorm,
}

impl ConvNorm2d {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        relu(self.norm.forward(self.conv.forward(x)))
    }
}

/// A 1-D convolution, batch normalisation and a ReLU.
#[derive(Module, Debug)]
pub struct ConvNorm1d {
    conv: Conv1d,
    norm: BatchNorm,
}

impl ConvNorm1d {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        relu(self.norm.forward(self.conv.forward(x)))
    }
}

/// The embedding of one picture of a source.
#[derive(Module, Debug)]
pub struct CropEncoder {
    convs: [Conv2d; 2],
    out: Linear,
}

/// One source's visual stream.
#[derive(Module, Debug)]
pub struct VisualStream {
    crop: Option<CropEncoder>,
    convs: Vec<ConvNorm1d>,
}

/// The visual input of a batch: one stream per queried source.
// A batch holds one of these: the variants differ by a tensor handle, not worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum VisualBatch {
    /// Per-frame features `[B, Q, width, Tv]`, and for each STFT frame the video frame that covers it, `[B, T]`.
    Frames {
        /// The features.
        features: Tensor<4>,
        /// Video frame of each STFT frame.
        frame_of_step: Tensor<2, Int>,
    },
    /// One picture per source, `[B, Q, 3, side, side]`.
    Crops(Tensor<5>),
}

impl VisualBatch {
    /// Queried sources per mixture.
    pub fn queried(&self) -> usize {
        match self {
            VisualBatch::Frames { features, .. } => features.dims()[1],
            VisualBatch::Crops(pictures) => pictures.dims()[1],
        }
    }
}

impl VisualStream {
    /// `[B · Q, T, channels]`: each queried source's stream at the STFT's `frames`.
    fn forward(&self, visual: &VisualBatch, frames: usize) -> Tensor<3> {
        match visual {
            VisualBatch::Frames { features, frame_of_step } => {
                let [b, q, width, video] = features.dims();
                let mut x = features.clone().reshape([b * q, width, video]);
                for conv in &self.convs {
                    x = conv.forward(x);
                }
                let channels = x.dims()[1];
                let index = frame_of_step.clone().reshape([b, 1, 1, frames]).expand([b, q, channels, frames]).reshape([b * q, channels, frames]);
                x.gather(2, index).swap_dims(1, 2)
            }
            VisualBatch::Crops(pictures) => {
                let [b, q, three, h, w] = pictures.dims();
                let encoder = self.crop.as_ref().expect("a crop stream has its encoder (checked at init)");
                let mut x = pictures.clone().reshape([b * q, three, h, w]);
                for conv in &encoder.convs {
                    x = relu(conv.forward(x));
                }
                let [n, c, hh, ww] = x.dims();
                let mut x = relu(encoder.out.forward(x.reshape([n, c * hh * ww]))).unsqueeze_dim::<3>(2);
                for conv in &self.convs {
                    x = conv.forward(x);
                }
                let channels = x.dims()[1];
                x.expand([n, channels, frames]).swap_dims(1, 2)
            }
        }
    }
}

/// The separation network.
#[derive(Module, Debug)]
pub struct Separator {
    audio: Vec<ConvNorm2d>,
    visual: Option<VisualStream>,
    lstm: BiLstm,
    dense: [Linear; 2],
    mask: Linear,
    visual_dropout: Dropout,
    bins: usize,
    sources: usize,
    mask_bound: f64,
}

impl Separator {
    /// Whether the network has visual streams.
    pub fn is_audio_visual(&self) -> bool {
        self.visual.is_some()
    }

    /// The complex ratio masks.
    ///
    /// # Shapes
    /// - `mixture`: `[B, 2, T, F]`, the compressed STFT's real and imaginary parts (`F` = the config's `bins`)
    /// - `visual`: the queried sources' streams (audio-visual networks; ignored by audio-only ones)
    /// - returns `[B, S, 2, T, F]`: S = the queried sources (audio-visual) or the config's `sources` (audio-only)
    ///
    /// # Panics
    /// When the mixture's shape is not `[B, 2, T, F]`, or an audio-visual network is given no visual batch (the
    /// task's batcher always gives one; [`Separator::is_audio_visual`] says which a network needs).
    pub fn masks(&self, mixture: Tensor<4>, visual: Option<&VisualBatch>) -> Tensor<5> {
        let [b, two, t, f] = mixture.dims();
        assert_eq!((two, f), (2, self.bins), "mixture must be [B, 2, T, {}], got {:?}", self.bins, mixture.dims());
        let mut x = mixture;
        for block in &self.audio {
            x = block.forward(x);
        }
        let [_, c, _, reduced] = x.dims();
        let audio = x.swap_dims(1, 2).reshape([b, t, c * reduced]);
        let (fused, rows, per_row) = match (&self.visual, visual) {
            (Some(stream), Some(visual)) => {
                let q = visual.queried();
                let width = audio.dims()[2];
                let repeated = audio.unsqueeze_dim::<4>(1).expand([b, q, t, width]).reshape([b * q, t, width]);
                let seen = self.visual_dropout.forward(stream.forward(visual, t));
                (Tensor::cat(vec![repeated, seen], 2), (b, q), 1)
            }
            (Some(_), None) => panic!("an audio-visual network needs the sources' visual streams"),
            (None, _) => (audio, (b, 1), self.sources),
        };
        let (hidden, _) = self.lstm.forward(fused, None);
        let hidden = relu(self.dense[0].forward(relu(hidden)));
        let hidden = relu(self.dense[1].forward(hidden));
        let raw = self.mask.forward(hidden).reshape([rows.0 * rows.1, t, per_row, 2, f]).permute([0, 2, 3, 1, 4]);
        (raw.tanh() * self.mask_bound).reshape([b, rows.1 * per_row, 2, t, f])
    }
}

/// The masked mixture: complex products of each mask with the mixture.
///
/// # Shapes
/// - `masks`: `[B, S, 2, T, F]`; `mixture`: `[B, 2, T, F]`; returns `[B, S, 2, T, F]`
pub fn apply_masks(masks: Tensor<5>, mixture: Tensor<4>) -> Tensor<5> {
    let [b, s, _, t, f] = masks.dims();
    let y = mixture.unsqueeze_dim::<5>(1).expand([b, s, 2, t, f]);
    let (yr, yi) = (y.clone().narrow(2, 0, 1), y.narrow(2, 1, 1));
    let (mr, mi) = (masks.clone().narrow(2, 0, 1), masks.narrow(2, 1, 1));
    let re = mr.clone() * yr.clone() - mi.clone() * yi.clone();
    let im = mr * yi + mi * yr;
    Tensor::cat(vec![re, im], 2)
}

/// The paper's loss: the mean squared error between the compressed clean and enhanced spectrograms, `[1]`.
///
/// # Shapes
/// - `estimates`, `targets`: `[B, S, 2, T, F]`
pub fn spectrogram_loss(estimates: Tensor<5>, targets: Tensor<5>) -> Tensor<1> {
    (estimates - targets).powi_scalar(2).mean()
}

/// Permutation-invariant training's loss (Yu et al. 2017): per mixture, the spectrogram loss under the assignment
/// of outputs to sources that makes it smallest, averaged over the batch, `[1]`; and that assignment's index in
/// [`permutations`]`(S)`, `[B]`.
///
/// # Shapes
/// - `estimates`, `targets`: `[B, S, 2, T, F]`
pub fn pit_loss(estimates: Tensor<5>, targets: Tensor<5>) -> (Tensor<1>, Tensor<1, Int>) {
    let [b, s, two, t, f] = estimates.dims();
    let n = two * t * f;
    let e = estimates.reshape([b, s, 1, n]).expand([b, s, s, n]);
    let g = targets.reshape([b, 1, s, n]).expand([b, s, s, n]);
    // pair[b, i, j]: output i against source j.
    let pair = (e - g).powi_scalar(2).mean_dim(3).reshape([b, s * s]);
    let per_permutation: Vec<Tensor<2>> = permutations(s)
        .iter()
        .map(|p| {
            let cells: Vec<i64> = p.iter().enumerate().map(|(i, &j)| (i * s + j) as i64).collect();
            let index = Tensor::<1, Int>::from_data(burn::tensor::TensorData::new(cells, [s]), &pair.device());
            pair.clone().select(1, index).mean_dim(1)
        })
        .collect();
    let losses = Tensor::cat(per_permutation, 1);
    let best = losses.clone().argmin(1).reshape([b]);
    (losses.min_dim(1).mean(), best)
}

/// Every ordering of `0..s`, in lexicographic order (the identity first).
pub fn permutations(s: usize) -> Vec<Vec<usize>> {
    if s == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for first in 0..s {
        for rest in permutations(s - 1) {
            let mut p = vec![first];
            p.extend(rest.into_iter().map(|v| if v >= first { v + 1 } else { v }));
            out.push(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, TensorData};

    #[test]
    fn permutations_are_all_orderings() {
        assert_eq!(permutations(2), vec![vec![0, 1], vec![1, 0]]);
        assert_eq!(permutations(3).len(), 6);
        assert_eq!(permutations(3)[0], vec![0, 1, 2]);
    }

    #[test]
    fn masks_multiply_as_complex_numbers() {
        let device = Device::flex();
        // (1 + 2i)(3 − i) = 5 + 5i
        let mask = Tensor::<5>::from_data(TensorData::new(vec![1.0f32, 2.0], [1, 1, 2, 1, 1]), &device);
        let mixture = Tensor::<4>::from_data(TensorData::new(vec![3.0f32, -1.0], [1, 2, 1, 1]), &device);
        let out: Vec<f32> = apply_masks(mask, mixture).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(out, vec![5.0, 5.0]);
    }

    #[test]
    fn pit_takes_the_better_assignment() {
        let device = Device::flex();
        let targets = Tensor::<5>::random([2, 2, 2, 3, 4], Distribution::Normal(0.0, 1.0), &device);
        let swapped = Tensor::cat(vec![targets.clone().narrow(1, 1, 1), targets.clone().narrow(1, 0, 1)], 1);
        let (loss, best) = pit_loss(swapped, targets.clone());
        assert!(loss.into_scalar::<f32>().abs() < 1e-9);
        assert_eq!(best.into_data().convert::<i64>().try_to_vec::<i64>().unwrap(), vec![1, 1]);
        let (loss, best) = pit_loss(targets.clone(), targets);
        assert!(loss.into_scalar::<f32>().abs() < 1e-9);
        assert_eq!(best.into_data().convert::<i64>().try_to_vec::<i64>().unwrap(), vec![0, 0]);
    }

    #[test]
    fn both_kinds_of_visual_stream_give_one_mask_per_queried_source() {
        let device = Device::flex();
        let config = |visual| SeparatorConfig::new(33, Streams::AudioVisual { visual }).with_audio_channels(4).with_lstm_hidden(8).with_dense_width(8);
        let mixture = Tensor::<4>::zeros([2, 2, 10, 33], &device);
        let net = config(VisualKind::Frames { width: 8 }).init(&device).unwrap();
        let frames = VisualBatch::Frames {
            features: Tensor::zeros([2, 1, 8, 4], &device),
            frame_of_step: Tensor::from_data(TensorData::new((0..20).map(|i| (i % 10) as i64 * 4 / 10).collect::<Vec<_>>(), [2, 10]), &device),
        };
        assert_eq!(net.masks(mixture.clone(), Some(&frames)).dims(), [2, 1, 2, 10, 33]);
        let net = config(VisualKind::Crop { side: 16 }).init(&device).unwrap();
        let crops = VisualBatch::Crops(Tensor::zeros([2, 3, 3, 16, 16], &device));
        let masks = net.masks(mixture, Some(&crops));
        assert_eq!(masks.dims(), [2, 3, 2, 10, 33]);
        assert!(masks.abs().max().into_scalar::<f32>() <= 2.0);
        assert!(SeparatorConfig::new(33, Streams::AudioOnly { sources: 0 }).init(&device).is_err());
    }
}
