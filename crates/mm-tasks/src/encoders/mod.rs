//! The unimodal encoders' tasks: the image and sound encoders that the multi-modal systems start from.
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
pub mod sound;

pub use image_classifier::{ImageClassifier, ImageClassifierConfig, Pooling};
