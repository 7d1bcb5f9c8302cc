//! # mm-tasks
//!
//! The top of mm: where data lives and whether it is whole, and the embedded shapes world that every command
//! defaults to ([`data`]); which device a run uses ([`device`]); the one training runner ([`runner`]); the
//! unimodal encoders' tasks ([`encoders`]); and one folder per multi-modal system, grouped by family
//! ([`matching`]: tagging, recipe, soundnet; [`translating`]: the captioners; [`referencing`]: VQA, sound-source
//! localisation, audio-visual separation).
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

pub mod data;
pub mod device;
pub mod encoders;
pub mod inputs;
pub mod matching;
pub mod referencing;
pub mod runner;
pub mod translating;

pub use device::{DeviceError, DeviceKind, Replica};
