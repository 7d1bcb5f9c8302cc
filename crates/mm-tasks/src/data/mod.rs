//! Data: where the real data sets are and whether they are whole ([`check`], [`fetch`]), and the embedded
//! shapes world ([`shapes`]).

pub mod check;
pub mod fetch;
pub mod obama;
mod root;
pub mod shapes;

pub use root::{DataRoot, Dataset, MissingDataset};

/// Wraps a data-set error from the modality crates.
pub(crate) fn data_error(error: impl std::error::Error + Send + Sync + 'static) -> crate::runner::RunError {
    crate::runner::RunError::Data(Box::new(error))
}

/// The names of the ten digits, by value.
pub const DIGIT_NAMES: [&str; 10] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
