#![doc = include_str!("../README.md")]

pub mod caption_metrics;
pub mod decoding;
pub mod frechet;
pub mod show_and_tell;
pub mod show_attend_tell;
pub mod text_to_image;
