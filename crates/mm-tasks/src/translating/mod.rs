//! The translating family: systems that turn one modality into another. Captioning first — `show_and_tell` and
//! `show_attend_tell`, which share their data, batches and evaluation (`captions`); then text to image
//! (`text_to_image`: GAN-INT-CLS and the text encoder it is conditioned on).

pub mod captions;
pub mod show_and_tell;
pub mod show_attend_tell;
pub mod text_to_image;
