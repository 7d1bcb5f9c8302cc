//! The real data sets: where they are, whether they are whole, and how to get them.

pub mod check;
pub mod fetch;
mod root;

pub use root::{DataRoot, Dataset, MissingDataset};
