//! # mm-data
//!
//! Where mm's real data sets live and whether they are whole ([`DataRoot`], [`check`], [`fetch`]), the ObamaNet
//! speech-and-mouth arrays ([`obama`]), the embedded shapes world every command defaults to ([`shapes`]), and
//! the three splits every task has ([`Split`]). It sits below the runner and the systems, beside the modality
//! crates whose decoders it uses, and reports its own [`DataError`].
//!
//! ```no_run
//! use mm_data::{check::check_all, DataRoot};
//!
//! for report in check_all(&DataRoot::from_env(), false) {
//!     println!("{}: {:?} {:?}", report.dataset, report.status, report.counts);
//! }
//! ```

pub mod check;
mod error;
pub mod fetch;
pub mod obama;
mod root;
pub mod shapes;
mod split;

pub use error::DataError;
pub use root::{DataRoot, Dataset, MissingDataset};
pub use split::Split;

/// The names of the ten digits, by value.
pub const DIGIT_NAMES: [&str; 10] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];

/// The README's examples, compiled as doctests so that they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
