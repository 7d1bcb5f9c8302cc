//! BSS-eval's signal-to-distortion ratio (Vincent, Gribonval and Févotte 2006), as `mir_eval.separation`'s
//! `bss_eval_sources` computes it.
//!
//! The estimate is projected onto the span of the reference delayed by 0 … `L − 1` samples (an FIR
//! distortion filter of `L` taps, 512 by default); SDR is the energy of that projection over the energy of
//! what is left. mir_eval's SDR for a source depends on that source's own reference only (its interference and
//! artefact terms add up to the residual of this projection), so no other source is needed.

use super::{check_pair, decibels};
use crate::{Error, Result};

/// The distortion filter's length in mir_eval and the BSS-eval toolbox: 512 taps.
pub const BSS_FILTER_LENGTH: usize = 512;

/// BSS-eval SDR (dB) of `estimate` against `reference` with a 512-tap distortion filter.
pub fn bss_sdr(reference: &[f32], estimate: &[f32]) -> Result<f64> {
    bss_sdr_with_filter(reference, estimate, BSS_FILTER_LENGTH)
}

/// BSS-eval SDR (dB) with a distortion filter of `taps` samples.
///
/// The normal equations `G c = d` (G the reference's autocorrelation Toeplitz matrix, d its correlation with the
/// estimate) are solved by Cholesky in f64, as mir_eval solves them by LU. Where the reference is so narrow-band
/// that G is numerically singular (a pure tone), G's diagonal is loaded by the smallest multiple of 10⁻¹² of its
/// trace that makes it positive definite, which changes the projection by a negligible amount.
pub fn bss_sdr_with_filter(reference: &[f32], estimate: &[f32], taps: usize) -> Result<f64> {
    check_pair(reference, estimate, "BSS SDR")?;
    if taps == 0 || taps > reference.len() {
        return Err(Error::parameter(format!("BSS SDR: the filter length {taps} must be in 1..={} (the signal's length)", reference.len())));
    }
    let s: Vec<f64> = reference.iter().map(|&v| v as f64).collect();
    let e: Vec<f64> = estimate.iter().map(|&v| v as f64).collect();
    if s.iter().all(|&v| v == 0.0) {
        return Err(Error::parameter("BSS SDR: the reference is silent"));
    }
    let n = s.len();
    // r[k] = Σ s[t] s[t+k]; d[k] = Σ s[t] e[t+k] (the estimate against the reference delayed by k).
    let correlate = |a: &[f64], b: &[f64], k: usize| -> f64 { a[..n - k].iter().zip(&b[k..]).map(|(x, y)| x * y).sum() };
    let r: Vec<f64> = (0..taps).map(|k| correlate(&s, &s, k)).collect();
    let d: Vec<f64> = (0..taps).map(|k| correlate(&s, &e, k)).collect();
    let c = solve_toeplitz_spd(&r, &d)?;
    // The projection, over the estimate's length plus the filter's tail (mir_eval's nsampl + flen − 1).
    let mut projection = vec![0.0f64; n + taps - 1];
    for (k, &ck) in c.iter().enumerate() {
        for (p, &sv) in projection[k..k + n].iter_mut().zip(&s) {
            *p += ck * sv;
        }
    }
    let target: f64 = projection.iter().map(|v| v * v).sum();
    let residual: f64 = projection.iter().enumerate().map(|(t, &p)| (e.get(t).copied().unwrap_or(0.0) - p).powi(2)).sum();
    Ok(decibels(target, residual))
}

/// Solves `T c = d` for the symmetric Toeplitz matrix `T[i][j] = r[|i − j|]` by Cholesky, loading the diagonal
/// where `T` is numerically singular.
fn solve_toeplitz_spd(r: &[f64], d: &[f64]) -> Result<Vec<f64>> {
    let n = r.len();
    let trace = r[0] * n as f64;
    let mut loading = 0.0;
    for _ in 0..8 {
        if let Some(lower) = cholesky(n, |i, j| r[i.abs_diff(j)] + if i == j { loading } else { 0.0 }) {
            return Ok(cholesky_solve(&lower, n, d));
        }
        loading = if loading == 0.0 { trace * 1e-12 } else { loading * 10.0 };
    }
    Err(Error::parameter("BSS SDR: the reference's autocorrelation matrix is singular"))
}

/// The lower Cholesky factor of the `n × n` matrix `a(i, j)`, row-major, or `None` when it is not positive
/// definite.
fn cholesky(n: usize, a: impl Fn(usize, usize) -> f64) -> Option<Vec<f64>> {
    let mut l = vec![0.0f64; n * n];
    for i in 0..n {
        for j in 0..=i {
            let dot: f64 = l[i * n..i * n + j].iter().zip(&l[j * n..j * n + j]).map(|(x, y)| x * y).sum();
            let value = a(i, j) - dot;
            if i == j {
                // A non-positive (or NaN) pivot: not positive definite.
                if value.is_nan() || value <= 0.0 {
                    return None;
                }
                l[i * n + i] = value.sqrt();
            } else {
                l[i * n + j] = value / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// Solves `L Lᵀ x = b`.
fn cholesky_solve(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0f64; n];
    for i in 0..n {
        let dot: f64 = l[i * n..i * n + i].iter().zip(&y[..i]).map(|(a, b)| a * b).sum();
        y[i] = (b[i] - dot) / l[i * n + i];
    }
    let mut x = vec![0.0f64; n];
    for i in (0..n).rev() {
        let dot: f64 = ((i + 1)..n).map(|k| l[k * n + i] * x[k]).sum();
        x[i] = (y[i] - dot) / l[i * n + i];
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
            })
            .collect()
    }

    #[test]
    fn a_filtered_reference_is_no_distortion_and_added_noise_is() {
        let s = noise(4000, 1);
        // A short echo is inside the filter's span: only the echo's tail, cut at the estimate's end, is left over.
        let echo: Vec<f32> = (0..s.len()).map(|t| s[t] + if t >= 3 { 0.5 * s[t - 3] } else { 0.0 }).collect();
        assert!(bss_sdr_with_filter(&s, &echo, 16).unwrap() > 25.0);
        // Independent noise of a tenth of the energy: about 10 dB (less the little the filter explains).
        let n: Vec<f32> = noise(4000, 2).iter().map(|v| v * 0.316_227_77).collect();
        let noisy: Vec<f32> = s.iter().zip(&n).map(|(a, b)| a + b).collect();
        let sdr = bss_sdr_with_filter(&s, &noisy, 16).unwrap();
        assert!((sdr - 10.0).abs() < 0.3, "{sdr}");
        assert!(bss_sdr_with_filter(&s, &noisy, 0).is_err());
        assert!(bss_sdr(&[0.0; 600], &[1.0; 600]).is_err());
    }
}
