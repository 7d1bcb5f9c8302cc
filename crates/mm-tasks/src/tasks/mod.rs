//! The trainable tasks of the catalogue, by name. Each is a [`crate::runner::Task`]: a config with documented
//! defaults, a model, and its data.
//!
//! - [`mnist`]: digit classifier on MNIST (image encoder).
//! - [`fsdd`]: spoken-digit classifier on FSDD, from log-mel or raw waveform (sound encoders).
//! - [`esc10`]: environmental-sound classifier on ESC-10, 5-fold cross-validation.
//! - [`shapes`]: multi-label scene description of the embedded shapes world.
//! - [`tagging`]: images and words in one space (DeViSE-style tagging, search by word, zero-shot).
//! - [`recipe`]: ordered-text retrieval, image ↔ instruction, LSTM against bag-of-words.
//! - [`soundnet`]: a waveform CNN taught by the MNIST network through paired recordings, with layer probes.

pub mod esc10;
pub mod fsdd;
mod image_classifier;
pub mod joint_plot;
pub mod mnist;
pub mod pretrained;
pub mod probe;
pub mod recipe;
pub mod shapes;
pub mod soundnet;
mod spectrogram;
pub mod tagging;

pub use image_classifier::{ImageClassifier, Pooling};

use crate::runner::RunError;

/// Wraps a data-set error from the modality crates.
pub(crate) fn data_error(error: impl std::error::Error + Send + Sync + 'static) -> RunError {
    RunError::Data(Box::new(error))
}
