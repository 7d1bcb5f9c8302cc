//! How well a source was separated from a mixture, as the field measures it: scale-invariant SDR (Le Roux et al.
//! 2019), BSS-eval's SDR with a 512-tap distortion filter (Vincent et al. 2006, as `mir_eval.separation` computes
//! it), and STOI (Taal et al. 2011, as `pystoi` computes it). Each is tested against its Python reference on
//! fixtures (`tests/separation_parity.rs`).
//!
//! ```
//! use mm_audio::separation::{si_sdr, si_sdr_improvement};
//!
//! let clean: Vec<f32> = (0..8000).map(|i| (i as f32 * 0.05).sin()).collect();
//! let noise: Vec<f32> = (0..8000).map(|i| ((i * 7919 % 211) as f32 / 105.0 - 1.0) * 0.3).collect();
//! let mixture: Vec<f32> = clean.iter().zip(&noise).map(|(s, n)| s + n).collect();
//! let estimate: Vec<f32> = clean.iter().zip(&noise).map(|(s, n)| s + 0.1 * n).collect();
//! assert!(si_sdr(&clean, &estimate)? > si_sdr(&clean, &mixture)?);
//! assert!(si_sdr_improvement(&clean, &estimate, &mixture)? > 15.0);
//! # Ok::<(), mm_audio::Error>(())
//! ```

mod bss_eval;
mod si_sdr;
mod stoi;

pub use bss_eval::{BSS_FILTER_LENGTH, bss_sdr, bss_sdr_with_filter};
pub use si_sdr::{si_sdr, si_sdr_improvement};
pub use stoi::{STOI_RATE, Stoi};

use crate::{Error, Result};

/// Checks that a reference and an estimate can be compared: the same, non-zero length, finite samples.
fn check_pair(reference: &[f32], estimate: &[f32], what: &str) -> Result<()> {
    if reference.len() != estimate.len() {
        return Err(Error::parameter(format!("{what}: the reference has {} samples and the estimate {}", reference.len(), estimate.len())));
    }
    if reference.is_empty() {
        return Err(Error::parameter(format!("{what}: the signals are empty")));
    }
    if !reference.iter().chain(estimate).all(|v| v.is_finite()) {
        return Err(Error::parameter(format!("{what}: a sample is not finite")));
    }
    Ok(())
}

/// `10 log10(num / den)`, +∞ for a zero denominator (as mir_eval's `_safe_db`).
fn decibels(num: f64, den: f64) -> f64 {
    if den == 0.0 { f64::INFINITY } else { 10.0 * (num / den).log10() }
}
