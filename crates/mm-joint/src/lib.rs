//! # mm-joint
//!
//! The "matching" family of multi-modal systems: two pretrained unimodal encoders brought into one space by
//! projection heads and metric losses, with retrieval indexes and metrics; and the models of the matching
//! systems — image tagging, ordered-text (recipe-style) retrieval and SoundNet's student. Their data and
//! training live in mm-tasks (`cargo xtask train tagging|recipe|soundnet`). See the README.

pub mod losses;
pub mod projection;
pub mod recipe;
pub mod retrieval;
pub mod semantic;
pub mod soundnet;
pub mod tagging;
