//! What the sound tasks share: turning recordings into examples (standardised log-mel or raw samples), the
//! sound classifier, and time-shift augmentation.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use mm_audio::Audio;
use mm_audio::encoders::{LogMelCnn, LogMelCnnConfig, WaveformCnn, WaveformCnnConfig};
use mm_audio::signal::{LogMel, LogMelConfig, StftConfig};
use mm_vision::transforms::shift;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::Readout;
use crate::data_error;
use crate::runner::{ClassItem, Classifier, RunError, Target};

/// What a sound model listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SoundInput {
    /// A log-mel spectrogram `[mels, frames]`, standardised per example, into a 2-D CNN.
    LogMel,
    /// The samples themselves (peak-normalised) into a SoundNet-style 1-D CNN.
    Waveform,
}

/// How recordings become fixed-size examples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoundFeatures {
    /// Rate the audio is resampled to, in Hz.
    pub sample_rate: u32,
    /// Every recording is cut or zero-padded to this many seconds.
    pub seconds: f32,
    /// STFT length of the log-mel.
    pub n_fft: usize,
    /// Hop between frames.
    pub hop: usize,
    /// Mel bands.
    pub mels: usize,
}

impl SoundFeatures {
    /// Samples per example.
    pub fn samples(&self) -> usize {
        (self.sample_rate as f32 * self.seconds).round() as usize
    }

    /// Log-mel frames per example (centred STFT, as [`StftConfig::n_frames`] counts them).
    pub fn frames(&self) -> usize {
        StftConfig::new(self.n_fft).with_hop_length(self.hop.max(1)).n_frames(self.samples())
    }

    /// The longest example, in seconds: an hour. `seconds = inf` would otherwise ask for usize::MAX samples.
    pub const MAX_SECONDS: f32 = 3600.0;

    /// Checks the settings: a rate mm reads, a positive finite duration of at most [`Self::MAX_SECONDS`], and an
    /// STFT and filterbank that can be planned.
    pub fn check(&self) -> Result<(), RunError> {
        self.log_mel().map(|_| ())
    }

    /// The planned log-mel of these settings, after [`Self::check`]'s checks.
    fn log_mel(&self) -> Result<LogMel, RunError> {
        let problem = |p: String| RunError::setting("features", p);
        mm_audio::check_sample_rate(self.sample_rate, "sample_rate").map_err(|e| problem(e.to_string()))?;
        if !(self.seconds > 0.0 && self.seconds <= Self::MAX_SECONDS) {
            return Err(problem(format!("seconds must be in (0, {}], got {}", Self::MAX_SECONDS, self.seconds)));
        }
        if self.hop == 0 || self.samples() == 0 {
            return Err(problem(format!("hop must be positive and seconds × sample_rate at least one sample: {self:?}")));
        }
        LogMel::new(LogMelConfig::new(self.sample_rate, self.n_fft, self.hop, self.mels)).map_err(|e| problem(e.to_string()))
    }

    /// `[1, len]` for waveforms, `[mels, frames]` for log-mels.
    pub fn shape(&self, input: SoundInput) -> [usize; 2] {
        match input {
            SoundInput::Waveform => [1, self.samples()],
            SoundInput::LogMel => [self.mels, self.frames()],
        }
    }

    /// A recording as the waveform models hear it: at [`Self::sample_rate`], peak-normalised, cut or zero-padded
    /// to [`Self::samples`].
    pub fn waveform(&self, audio: Audio) -> Result<Audio, RunError> {
        let mut audio = if audio.sample_rate == self.sample_rate { audio } else { audio.resample(self.sample_rate).map_err(data_error)? };
        audio.normalise_peak(1.0);
        audio.fit_to(self.samples());
        Ok(audio)
    }

    /// Appends the example of each recording to one flat buffer.
    pub fn examples(&self, input: SoundInput, recordings: impl Iterator<Item = mm_audio::Result<Audio>>) -> Result<Vec<f32>, RunError> {
        let mut log_mel = self.log_mel()?;
        let mut out = Vec::new();
        for audio in recordings {
            let audio = self.waveform(audio.map_err(data_error)?)?;
            match input {
                SoundInput::Waveform => out.extend_from_slice(&audio.samples),
                SoundInput::LogMel => {
                    // [frames, mels] → [mels, frames], standardised so that loudness differences do not matter.
                    let features = log_mel.process(&audio.samples).map_err(data_error)?;
                    let start = out.len();
                    out.extend(features.t().iter().copied());
                    standardise(&mut out[start..]);
                }
            }
        }
        Ok(out)
    }
}

/// The example of each recording, as an item with its class.
pub fn class_items(
    features: &SoundFeatures,
    input: SoundInput,
    recordings: impl Iterator<Item = mm_audio::Result<Audio>>,
    classes: &[u32],
) -> Result<Vec<ClassItem>, RunError> {
    let rows = features.examples(input, recordings)?;
    let len = rows.len() / classes.len().max(1);
    Ok(rows.chunks(len.max(1)).zip(classes).map(|(row, &c)| ClassItem { input: row.to_vec(), target: Target::Class(c) }).collect())
}

fn standardise(values: &mut [f32]) {
    let n = values.len().max(1) as f32;
    let mean = values.iter().sum::<f32>() / n;
    let std = (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n).sqrt().max(1e-5);
    values.iter_mut().for_each(|v| *v = (*v - mean) / std);
}

/// Shifts an example `[rows, columns]` along its columns (time) by up to `max_shift` either way; the uncovered
/// columns take the example's smallest value (silence, for a log-mel; zero for a centred waveform).
pub fn random_time_shift(example: &mut [f32], rows: usize, max_shift: usize, rng: &mut ChaCha8Rng) {
    if max_shift == 0 {
        return;
    }
    let columns = example.len() / rows.max(1);
    let m = max_shift as i64;
    let dx = rng.random_range(-m..=m);
    let fill = if rows == 1 { 0.0 } else { example.iter().copied().fold(f32::INFINITY, f32::min) };
    let mut shifted = Vec::with_capacity(example.len());
    shift(example, 1, rows, columns, 0, dx, fill, &mut shifted);
    example.copy_from_slice(&shifted);
}

/// The encoders of a sound classifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoundModelConfig {
    /// Which input and encoder.
    pub input: SoundInput,
    /// The log-mel CNN (used when `input` is log-mel).
    pub log_mel_cnn: LogMelCnnConfig,
    /// The waveform CNN (used when `input` is waveform).
    pub waveform_cnn: WaveformCnnConfig,
    /// Dropout before the classifier.
    pub dropout: f64,
    /// How the log-mel CNN's map `[C, mels', frames']` reaches the classifier: `average` (the same sound
    /// anywhere in the clip counts the same, for environmental sounds) or `flatten` (keeps when and at what
    /// pitch things happen, for spoken words); the waveform CNN always averages over time. Default average.
    #[serde(default)]
    pub readout: Readout,
}

/// The encoder of a sound classifier.
#[derive(Module, Debug)]
pub enum SoundEncoder {
    /// A 2-D CNN over a log-mel `[mels, frames]`; its map read out as the config says.
    LogMel(LogMelCnn),
    /// SoundNet's 1-D CNN over samples, averaged over time.
    Waveform(WaveformCnn),
}

impl SoundEncoder {
    /// Input rows `[B, rows · columns]` of examples shaped `shape` → one vector each: the log-mel CNN's map
    /// read out by `readout`, the waveform CNN's time average.
    pub fn vector(&self, inputs: Tensor<2>, shape: [usize; 2], readout: Readout) -> Tensor<2> {
        let [batch, _] = inputs.dims();
        let [rows, columns] = shape;
        match self {
            // The CNN has averaged its map already.
            SoundEncoder::LogMel(cnn) if readout == Readout::Average => cnn.forward(inputs.reshape([batch, 1, rows, columns])).0,
            SoundEncoder::LogMel(cnn) => readout.read(cnn.forward(inputs.reshape([batch, 1, rows, columns])).1),
            SoundEncoder::Waveform(cnn) => cnn.forward(inputs.reshape([batch, 1, columns])).pooled,
        }
    }
}

/// Encoder → dropout → linear head, over log-mels or waveforms.
#[derive(Module, Debug)]
pub struct SoundClassifier {
    /// The encoder (what later systems reuse).
    pub encoder: SoundEncoder,
    dropout: Dropout,
    head: Linear,
    shape: [usize; 2],
    #[module(skip)]
    readout: Readout,
}

impl SoundModelConfig {
    /// Why these settings cannot classify examples of `shape` (`[rows, columns]`), if they cannot.
    pub fn check(&self, task: &str, shape: [usize; 2]) -> Result<(), RunError> {
        crate::runner::check_dropout(&format!("{task}: model.dropout"), self.dropout)?;
        let problem = match self.input {
            SoundInput::LogMel => self.log_mel_cnn.problem(shape).map(|p| ("model.log_mel_cnn", p)),
            SoundInput::Waveform => self.waveform_cnn.layers.is_empty().then(|| ("model.waveform_cnn", "no layers".to_string())),
        };
        problem.map_or(Ok(()), |(name, why)| Err(RunError::setting(name, why)))
    }

    /// The classifier of `shape` examples into `classes` these settings describe.
    pub fn init(&self, shape: [usize; 2], classes: usize, device: &Device) -> SoundClassifier {
        let (encoder, width) = match self.input {
            SoundInput::LogMel => {
                // Each stage max-pools by 2 (rounding down).
                let stages = self.log_mel_cnn.stages.len() as u32;
                let map = [self.log_mel_cnn.output_dim(), shape[0] >> stages, shape[1] >> stages];
                (SoundEncoder::LogMel(self.log_mel_cnn.init(device)), self.readout.width(map))
            }
            SoundInput::Waveform => (SoundEncoder::Waveform(self.waveform_cnn.init(device)), self.waveform_cnn.output_dim()),
        };
        let head = LinearConfig::new(width, classes).init(device);
        SoundClassifier { encoder, dropout: DropoutConfig::new(self.dropout).init(), head, shape, readout: self.readout }
    }
}

impl Classifier for SoundClassifier {
    /// `[B, rows·columns]` → logits `[B, classes]`.
    fn logits(&self, inputs: Tensor<2>) -> Tensor<2> {
        let [_, width] = inputs.dims();
        let [rows, columns] = self.shape;
        debug_assert_eq!(width, rows * columns, "SoundClassifier: rows of {width} values, examples of {rows}×{columns}");
        self.head.forward(self.dropout.forward(self.encoder.vector(inputs, self.shape, self.readout)))
    }
}
