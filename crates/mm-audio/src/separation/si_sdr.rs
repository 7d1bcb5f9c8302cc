//! Scale-invariant signal-to-distortion ratio (Le Roux, Wisdom, Erdogan and Hershey, "SDR — half-baked or well
//! done?", ICASSP 2019).

use super::{check_pair, decibels};
use crate::Result;

/// SI-SDR of `estimate` against `reference`, in dB: both made zero-mean, `α = ⟨ŝ, s⟩ / ‖s‖²`, then
/// `10 log10(‖αs‖² / ‖αs − ŝ‖²)`. Sums in f64. A silent reference is an error (α is undefined).
pub fn si_sdr(reference: &[f32], estimate: &[f32]) -> Result<f64> {
    check_pair(reference, estimate, "SI-SDR")?;
    let n = reference.len() as f64;
    let mean_s = reference.iter().map(|&v| v as f64).sum::<f64>() / n;
    let mean_e = estimate.iter().map(|&v| v as f64).sum::<f64>() / n;
    let (mut dot, mut energy) = (0.0, 0.0);
    for (&s, &e) in reference.iter().zip(estimate) {
        let (s, e) = (s as f64 - mean_s, e as f64 - mean_e);
        dot += s * e;
        energy += s * s;
    }
    if energy == 0.0 {
        return Err(crate::Error::parameter("SI-SDR: the reference is silent (constant)"));
    }
    let alpha = dot / energy;
    let (mut target, mut error) = (0.0, 0.0);
    for (&s, &e) in reference.iter().zip(estimate) {
        let scaled = alpha * (s as f64 - mean_s);
        target += scaled * scaled;
        let residual = scaled - (e as f64 - mean_e);
        error += residual * residual;
    }
    Ok(decibels(target, error))
}

/// SI-SDR improvement: the estimate's SI-SDR minus the mixture's, both against `reference`.
pub fn si_sdr_improvement(reference: &[f32], estimate: &[f32], mixture: &[f32]) -> Result<f64> {
    Ok(si_sdr(reference, estimate)? - si_sdr(reference, mixture)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_scale_invariant_and_matches_a_known_ratio() {
        let s: Vec<f32> = (0..1000).map(|i| (i * 37 % 101) as f32 / 50.0 - 1.0).collect();
        let n: Vec<f32> = (0..1000).map(|i| (i * 53 % 97) as f32 / 48.0 - 1.0).collect();
        let mix: Vec<f32> = s.iter().zip(&n).map(|(a, b)| a + b).collect();
        let louder: Vec<f32> = mix.iter().map(|v| v * 3.5).collect();
        assert!((si_sdr(&s, &mix).unwrap() - si_sdr(&s, &louder).unwrap()).abs() < 1e-9);
        // An estimate that is the reference plus an orthogonal part of a tenth of its energy is at 10 dB.
        let s: Vec<f32> = (0..400).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
        let e: Vec<f32> = (0..400).map(|i| s[i] + if (i / 2) % 2 == 0 { 0.316_227_77 } else { -0.316_227_77 }).collect();
        assert!((si_sdr(&s, &e).unwrap() - 10.0).abs() < 1e-5);
        assert!(si_sdr(&[1.0; 8], &[0.5; 8]).is_err());
        assert!(si_sdr(&[1.0, 2.0], &[1.0]).is_err());
        assert_eq!(si_sdr(&s, &s).unwrap(), f64::INFINITY);
    }
}
