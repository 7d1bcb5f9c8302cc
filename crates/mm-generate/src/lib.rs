//! # mm-generate
//!
//! The "translating" family of multi-modal systems: captioners and their decoding, conditional image generation,
//! voice-to-face, image-to-speech and lip-movement generation live here as they are built; see the README.
