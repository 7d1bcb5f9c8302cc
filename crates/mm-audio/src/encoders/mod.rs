//! Sound encoders, as burn modules.
//!
//! - [`log_mel_cnn`]: a 2-D CNN over a log-mel spectrogram `[B, 1, mels, frames]`.
//! - [`waveform_cnn`]: a SoundNet-style 1-D CNN over raw samples `[B, 1, T]` that returns every layer's
//!   features, so that probes and distillation can use any of them.

pub mod log_mel_cnn;
pub mod waveform_cnn;

pub use log_mel_cnn::{LogMelCnn, LogMelCnnConfig};
pub use waveform_cnn::{WaveformCnn, WaveformCnnConfig, WaveformLayerConfig, WaveformOutput};
