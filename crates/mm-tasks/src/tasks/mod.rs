//! The trainable tasks of the catalogue, by name. Each is a [`crate::runner::Task`]: a config with documented
//! defaults, a model, and its data.
//!
//! - [`mnist`]: digit classifier on MNIST (image encoder).
//! - [`fsdd`]: spoken-digit classifier on FSDD, from log-mel or raw waveform (sound encoders).
//! - [`esc10`]: environmental-sound classifier on ESC-10, 5-fold cross-validation.
//! - [`shapes`]: multi-label scene description of the embedded shapes world.

pub mod esc10;
pub mod fsdd;
mod image_classifier;
pub mod mnist;
pub mod shapes;
mod spectrogram;

pub use image_classifier::{ImageClassifier, Pooling};

use crate::runner::RunError;

/// Wraps a data-set error from the modality crates.
pub(crate) fn data_error(error: impl std::error::Error + Send + Sync + 'static) -> RunError {
    RunError::Data(Box::new(error))
}
