//! # mm-vision
//!
//! Images for mm: MNIST (IDX, raw or gzipped) and COCO captions readers, image I/O, transforms, CNN encoders
//! (VGG- and ResNet-style, pooled vector and spatial map) and picture output.
//!
//! ```no_run
//! use mm_vision::mnist::{read_mnist, MnistPart};
//!
//! let test = read_mnist("data/mnist", MnistPart::Test)?;
//! println!("{} images of {}x{}, first label {}", test.len(), test.rows, test.cols, test.labels[0]);
//! # Ok::<(), mm_vision::Error>(())
//! ```

pub mod coco;
mod encoder_output;
pub mod encoders;
mod error;
mod image_io;
pub mod mnist;
pub mod picture;
pub mod torchvision;
pub mod transforms;

pub use error::{Error, Result};

/// The README's examples, compiled as doctests so that they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
pub use image_io::{image_dimensions, load_rgb, save_png};
