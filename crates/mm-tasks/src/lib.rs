//! # mm-tasks
//!
//! The top of mm: where data lives and whether it is whole ([`data`]), which device a run uses ([`device`]),
//! the embedded shapes world that every command defaults to ([`shapes`]), the training runner ([`runner`]) and
//! the trainable tasks ([`tasks`]); as the catalogue grows, paired multi-modal data sets and evaluation.
//!
//! ```no_run
//! use mm_tasks::data::{check::check_all, DataRoot};
//!
//! for report in check_all(&DataRoot::from_env(), false) {
//!     println!("{}: {:?} {:?}", report.dataset, report.status, report.counts);
//! }
//! ```

pub mod data;
pub mod device;
pub mod runner;
pub mod shapes;
pub mod tasks;

pub use device::{DeviceError, DeviceKind};
