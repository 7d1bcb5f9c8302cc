//! Matching: systems that put two modalities in one space.
//!
//! - [`tagging`]: images and words in one space (DeViSE-style tagging, search by word, zero-shot).
//! - [`recipe`]: ordered-text retrieval, image ↔ instruction, LSTM against bag-of-words.
//! - [`soundnet`]: a waveform CNN taught by a visual network through paired recordings, with layer probes.
//!
//! What they share: features from earlier runs' encoders ([`pretrained`]), linear readouts ([`probe`]) and
//! pictures of the joint space ([`joint_plot`]).

pub mod joint_plot;
pub mod pretrained;
pub mod probe;
pub mod recipe;
pub mod soundnet;
pub mod tagging;
