//! Short-time objective intelligibility (Taal, Hendriks, Heusdens and Jensen 2011), as `pystoi` computes it:
//! resampling to 10 kHz by Octave's `resample` filter, frames more than 40 dB below the clean signal's loudest
//! removed, a 256-sample Hann STFT padded to 512, 15 one-third-octave bands from 150 Hz, 30-frame (384 ms)
//! segments, the processed envelope normalised and clipped at −15 dB SDR, and the mean correlation.

use std::sync::Arc;

use realfft::num_complex::Complex64;
use realfft::{RealFftPlanner, RealToComplex};

use super::check_pair;
use crate::{Error, Result};

/// The rate STOI works at: 10 kHz.
pub const STOI_RATE: u32 = 10_000;
const FRAME: usize = 256;
const HOP: usize = 128;
const N_FFT: usize = 512;
const BANDS: usize = 15;
const LOWEST_CENTRE_HZ: f64 = 150.0;
const SEGMENT: usize = 30;
const CLIP_DB: f64 = -15.0;
const DYNAMIC_RANGE_DB: f64 = 40.0;
/// numpy's `finfo(float).eps`, which pystoi adds to norms.
const EPS: f64 = f64::EPSILON;

/// A planned STOI: the FFT, the window and the band matrix, made once and reused.
pub struct Stoi {
    fft: Arc<dyn RealToComplex<f64>>,
    window: Vec<f64>,
    /// `[first, end)` FFT bins of each one-third-octave band.
    bands: Vec<(usize, usize)>,
}

impl std::fmt::Debug for Stoi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stoi").field("bands", &self.bands).finish_non_exhaustive()
    }
}

impl Default for Stoi {
    fn default() -> Self {
        Self::new()
    }
}

impl Stoi {
    /// Plans the measure.
    pub fn new() -> Self {
        // MATLAB's hanning(256): numpy's hanning(258) without its two zero ends.
        let window = (1..=FRAME).map(|n| 0.5 - 0.5 * (std::f64::consts::TAU * n as f64 / (FRAME + 1) as f64).cos()).collect();
        Self { fft: RealFftPlanner::new().plan_fft_forward(N_FFT), window, bands: third_octave_bands() }
    }

    /// STOI of `processed` against `clean`, both at `sample_rate` Hz: about 0.4 (unintelligible) to 1. As pystoi, a
    /// clean signal with fewer than 30 frames of speech left after silence removal gives 1e-5.
    pub fn score(&mut self, clean: &[f32], processed: &[f32], sample_rate: u32) -> Result<f64> {
        check_pair(clean, processed, "STOI")?;
        crate::check_sample_rate(sample_rate, "STOI")?;
        let (x, y): (Vec<f64>, Vec<f64>) = if sample_rate == STOI_RATE {
            (clean.iter().map(|&v| v as f64).collect(), processed.iter().map(|&v| v as f64).collect())
        } else {
            let filter = octave_resample_filter(STOI_RATE as usize, sample_rate as usize);
            let (up, down) = reduced(STOI_RATE as usize, sample_rate as usize);
            (resample_poly(clean, up, down, &filter), resample_poly(processed, up, down, &filter))
        };
        if x.len() <= FRAME {
            return Err(Error::parameter(format!("STOI: {} samples at 10 kHz is shorter than one 256-sample frame", x.len())));
        }
        let (x, y) = self.remove_silent_frames(&x, &y);
        let x_bands = self.band_envelopes(&x);
        let y_bands = self.band_envelopes(&y);
        let frames = x_bands.len();
        if frames < SEGMENT {
            return Ok(1e-5);
        }
        let clip = 1.0 + 10f64.powf(-CLIP_DB / 20.0);
        let mut total = 0.0;
        let (mut xs, mut ys) = ([0.0f64; SEGMENT], [0.0f64; SEGMENT]);
        for end in SEGMENT..=frames {
            for band in 0..BANDS {
                for (i, m) in (end - SEGMENT..end).enumerate() {
                    xs[i] = x_bands[m][band];
                    ys[i] = y_bands[m][band];
                }
                let scale = norm(&xs) / (norm(&ys) + EPS);
                for (y, &x) in ys.iter_mut().zip(&xs) {
                    *y = (*y * scale).min(x * clip);
                }
                center(&mut xs);
                center(&mut ys);
                let (nx, ny) = (norm(&xs) + EPS, norm(&ys) + EPS);
                total += xs.iter().zip(&ys).map(|(a, b)| (a / nx) * (b / ny)).sum::<f64>();
            }
        }
        Ok(total / ((frames - SEGMENT + 1) * BANDS) as f64)
    }

    /// Frame starts as pystoi takes them: `range(0, len − 256, 128)`.
    fn frame_starts(len: usize) -> impl Iterator<Item = usize> {
        (0..len.saturating_sub(FRAME)).step_by(HOP)
    }

    /// Drops the windowed frames whose clean energy is more than 40 dB below the loudest, and overlap-adds the
    /// rest of both signals.
    fn remove_silent_frames(&self, x: &[f64], y: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let energies: Vec<(usize, f64)> = Self::frame_starts(x.len())
            .map(|start| {
                let energy = x[start..start + FRAME].iter().zip(&self.window).map(|(v, w)| (v * w).powi(2)).sum::<f64>().sqrt();
                (start, 20.0 * (energy + EPS).log10())
            })
            .collect();
        let loudest = energies.iter().map(|&(_, e)| e).fold(f64::NEG_INFINITY, f64::max);
        let kept: Vec<usize> = energies.iter().filter(|&&(_, e)| loudest - DYNAMIC_RANGE_DB - e < 0.0).map(|&(start, _)| start).collect();
        let len = (kept.len().max(1) - 1) * HOP + FRAME;
        let (mut xo, mut yo) = (vec![0.0; len], vec![0.0; len]);
        for (k, &start) in kept.iter().enumerate() {
            for i in 0..FRAME {
                xo[k * HOP + i] += x[start + i] * self.window[i];
                yo[k * HOP + i] += y[start + i] * self.window[i];
            }
        }
        (xo, yo)
    }

    /// The one-third-octave band envelopes `[frames][15]` of a signal.
    fn band_envelopes(&mut self, signal: &[f64]) -> Vec<[f64; BANDS]> {
        let mut frame = self.fft.make_input_vec();
        let mut spectrum: Vec<Complex64> = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        Self::frame_starts(signal.len())
            .map(|start| {
                frame.iter_mut().for_each(|v| *v = 0.0);
                for ((dst, src), w) in frame.iter_mut().zip(&signal[start..start + FRAME]).zip(&self.window) {
                    *dst = src * w;
                }
                self.fft.process_with_scratch(&mut frame, &mut spectrum, &mut scratch).expect("buffers sized by the plan");
                let mut bands = [0.0f64; BANDS];
                for (band, &(lo, hi)) in bands.iter_mut().zip(&self.bands) {
                    *band = spectrum[lo..hi].iter().map(|c| c.norm_sqr()).sum::<f64>().sqrt();
                }
                bands
            })
            .collect()
    }
}

/// pystoi's `thirdoct(10000, 512, 15, 150)`: each band's edges snapped to the nearest FFT bin (the first on a tie),
/// the upper edge excluded.
fn third_octave_bands() -> Vec<(usize, usize)> {
    let bins: Vec<f64> = (0..=N_FFT / 2).map(|k| k as f64 * STOI_RATE as f64 / N_FFT as f64).collect();
    let nearest = |hz: f64| -> usize {
        let mut best = 0;
        for (k, &f) in bins.iter().enumerate() {
            if (f - hz).powi(2) < (bins[best] - hz).powi(2) {
                best = k;
            }
        }
        best
    };
    (0..BANDS)
        .map(|k| {
            let k = k as f64;
            (nearest(LOWEST_CENTRE_HZ * 2f64.powf((2.0 * k - 1.0) / 6.0)), nearest(LOWEST_CENTRE_HZ * 2f64.powf((2.0 * k + 1.0) / 6.0)))
        })
        .collect()
}

fn norm(values: &[f64]) -> f64 {
    values.iter().map(|v| v * v).sum::<f64>().sqrt()
}

fn center(values: &mut [f64]) {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    values.iter_mut().for_each(|v| *v -= mean);
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn reduced(up: usize, down: usize) -> (usize, usize) {
    let g = gcd(up, down);
    (up / g, down / g)
}

/// pystoi's `_resample_window_oct(p, q)` (Octave's `resample` filter): a Kaiser-windowed sinc with 60 dB of
/// rejection, normalised to unit sum.
fn octave_resample_filter(p: usize, q: usize) -> Vec<f64> {
    let (p, q) = reduced(p, q);
    let cutoff = 1.0 / (2.0 * p.max(q) as f64);
    let roll_off = cutoff / 10.0;
    let rejection_db = 60.0;
    let half = ((rejection_db - 8.0) / (28.714 * roll_off)).ceil() as i64;
    let beta = 0.1102 * (rejection_db - 8.7);
    let taps = (2 * half + 1) as usize;
    let alpha = (taps - 1) as f64 / 2.0;
    let h: Vec<f64> = (0..taps)
        .map(|i| {
            let t = i as f64 - half as f64;
            let x = 2.0 * cutoff * t;
            let sinc = if x == 0.0 { 1.0 } else { (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x) };
            let kaiser = bessel_i0(beta * (1.0 - ((i as f64 - alpha) / alpha).powi(2)).max(0.0).sqrt()) / bessel_i0(beta);
            kaiser * 2.0 * p as f64 * cutoff * sinc
        })
        .collect();
    let sum: f64 = h.iter().sum();
    h.into_iter().map(|v| v / sum).collect()
}

/// The modified Bessel function of the first kind, order 0, by its power series (converges for every argument
/// a Kaiser window uses).
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, quarter) = (1.0, 1.0, x * x / 4.0);
    for k in 1..500 {
        term *= quarter / (k * k) as f64;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// scipy's `resample_poly(x, up, down, window=filter)` with zero padding: the filter scaled by `up`, the signal
/// upsampled by `up`, filtered and decimated by `down`, with the filter's delay removed.
fn resample_poly(x: &[f32], up: usize, down: usize, filter: &[f64]) -> Vec<f64> {
    let n_in = x.len();
    let n_out = (n_in * up).div_ceil(down);
    let half = (filter.len() - 1) / 2;
    let pre_pad = down - half % down;
    let pre_remove = (half + pre_pad) / down;
    // h = [0; pre_pad] ++ up · filter (post-padding only adds zeros, which change no sum).
    let h_len = pre_pad + filter.len();
    let h = |i: usize| -> f64 { if i < pre_pad || i >= h_len { 0.0 } else { filter[i - pre_pad] * up as f64 } };
    (0..n_out)
        .map(|k| {
            let m = (k + pre_remove) * down;
            // Input samples j with 0 ≤ m − j·up < h_len (a j or two below that range only adds zero taps).
            let first = m.saturating_sub(h_len) / up;
            let last = (m / up).min(n_in - 1);
            (first..=last).map(|j| h(m - j * up) * x[j] as f64).sum()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bands_are_pystois() {
        // pystoi's OBM for 10 kHz / 512: band 0 spans bins 7–8 (136.7–156.3 Hz, upper edge 9 excluded).
        let bands = third_octave_bands();
        assert_eq!(bands[0], (7, 9));
        assert_eq!(bands.len(), 15);
        assert!(bands.windows(2).all(|w| w[0].1 == w[1].0));
    }

    #[test]
    fn clean_speech_is_fully_intelligible_and_noise_is_not() {
        let rate = 10_000;
        let speech: Vec<f32> = (0..3 * rate)
            .map(|i| {
                let t = i as f32 / rate as f32;
                (t * 3.0 * std::f32::consts::TAU).sin().max(0.0)
                    * ((t * 220.0 * std::f32::consts::TAU).sin() + 0.5 * (t * 1250.0 * std::f32::consts::TAU).sin())
            })
            .collect();
        let mut stoi = Stoi::new();
        assert!((stoi.score(&speech, &speech, rate as u32).unwrap() - 1.0).abs() < 1e-9);
        let noise: Vec<f32> = (0..speech.len()).map(|i| (i * 7919 % 211) as f32 / 105.0 - 1.0).collect();
        let noisy: Vec<f32> = speech.iter().zip(&noise).map(|(s, n)| s + 2.0 * n).collect();
        assert!(stoi.score(&speech, &noisy, rate as u32).unwrap() < 0.9);
        assert!(stoi.score(&speech, &noisy[1..], rate as u32).is_err());
    }

    #[test]
    fn the_resampler_keeps_a_tone() {
        let tone: Vec<f32> = (0..16_000).map(|i| (i as f32 * 440.0 * std::f32::consts::TAU / 16_000.0).sin()).collect();
        let filter = octave_resample_filter(10_000, 16_000);
        let out = resample_poly(&tone, 5, 8, &filter);
        assert_eq!(out.len(), 10_000);
        let worst = (1000..9000).map(|i| (out[i] - (i as f64 * 440.0 * std::f64::consts::TAU / 10_000.0).sin()).abs()).fold(0.0, f64::max);
        assert!(worst < 1e-2, "{worst}");
    }
}
