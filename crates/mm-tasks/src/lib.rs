//! # mm-tasks
//!
//! The top of mm: the unimodal encoders' tasks ([`encoders`]), the inputs several systems share ([`inputs`]),
//! and one folder per multi-modal system, grouped by family
//! ([`matching`]: tagging, recipe, soundnet; [`translating`]: the captioners; [`referencing`]: VQA, sound-source
//! localisation, audio-visual separation), with [`word2vec`] beside them. Each is a [`runner::Task`] that the
//! runner (the mm-runner crate) trains on data from the data layer (the mm-data crate), both re-exported here as
//! [`runner`] and [`data`]; [`systems`] registers every one by name with what its `train` and `eval` report.
//!
//! ```no_run
//! use mm_tasks::data::{check::check_all, DataRoot};
//!
//! for report in check_all(&DataRoot::from_env(), false) {
//!     println!("{}: {:?} {:?}", report.dataset, report.status, report.counts);
//! }
//! ```

// `!(x > 0.0)` is how settings reject NaN together with the values out of range.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod encoders;
pub mod inputs;
pub mod matching;
pub mod referencing;
pub mod systems;
pub mod translating;
pub mod word2vec;

pub use mm_data as data;
pub use mm_runner as runner;
pub use mm_runner::device;
pub use mm_runner::{DeviceError, DeviceKind, Replica};

use mm_data::DataError;
use mm_runner::RunError;

/// A data error of a modality crate (a decoder, a tokenizer, a picture writer) as the runner's error.
pub(crate) fn data_error(error: impl Into<DataError>) -> RunError {
    RunError::Data(error.into())
}
