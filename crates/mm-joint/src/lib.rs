//! # mm-joint
//!
//! The "matching" family of multi-modal systems: two pretrained unimodal encoders brought into one space by
//! projection heads and metric losses, with retrieval indexes and metrics. Image tagging, ordered-text
//! (recipe-style) retrieval and SoundNet distillation live here as they are built; see the README.

pub mod losses;
pub mod retrieval;
