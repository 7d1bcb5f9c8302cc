//! Mel scales and triangular mel filterbanks, constructed exactly as `librosa.filters.mel`.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The mapping between hertz and mels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MelScale {
    /// Slaney's Auditory Toolbox scale: linear below 1 kHz, logarithmic above (librosa's default).
    #[default]
    Slaney,
    /// The HTK formula `2595 log10(1 + f / 700)`.
    Htk,
}

impl MelScale {
    /// Hertz to mels.
    pub fn hz_to_mel(self, hz: f64) -> f64 {
        match self {
            MelScale::Htk => 2595.0 * (1.0 + hz / 700.0).log10(),
            MelScale::Slaney => {
                let (f_sp, min_log_hz) = (200.0 / 3.0, 1000.0);
                if hz >= min_log_hz { min_log_hz / f_sp + (hz / min_log_hz).ln() / slaney_log_step() } else { hz / f_sp }
            }
        }
    }

    /// Mels to hertz.
    pub fn mel_to_hz(self, mel: f64) -> f64 {
        match self {
            MelScale::Htk => 700.0 * (10f64.powf(mel / 2595.0) - 1.0),
            MelScale::Slaney => {
                let (f_sp, min_log_hz) = (200.0 / 3.0, 1000.0);
                let min_log_mel = min_log_hz / f_sp;
                if mel >= min_log_mel { min_log_hz * (slaney_log_step() * (mel - min_log_mel)).exp() } else { mel * f_sp }
            }
        }
    }
}

fn slaney_log_step() -> f64 {
    6.4f64.ln() / 27.0
}

/// How each triangular filter is scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MelNorm {
    /// Divide each triangle by its width in hertz (constant energy per band): librosa's `norm='slaney'`, the default.
    #[default]
    Slaney,
    /// Triangles peak at 1 (HTK, torchaudio's default).
    None,
}

/// Parameters of a mel filterbank. Defaults follow librosa: 128 bands, 0 Hz to Nyquist, Slaney scale and norm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MelConfig {
    /// Sample rate of the signal in hertz.
    pub sample_rate: u32,
    /// FFT length of the spectrogram the filters apply to.
    pub n_fft: usize,
    /// Number of mel bands. Default 128.
    pub n_mels: usize,
    /// Lowest band edge in hertz. Default 0.
    pub fmin: f32,
    /// Highest band edge in hertz. Default (None) the Nyquist frequency.
    pub fmax: Option<f32>,
    /// Mel scale. Default Slaney.
    pub scale: MelScale,
    /// Filter normalisation. Default Slaney.
    pub norm: MelNorm,
}

impl MelConfig {
    /// librosa's defaults for this sample rate and FFT length.
    pub fn new(sample_rate: u32, n_fft: usize) -> Self {
        Self { sample_rate, n_fft, n_mels: 128, fmin: 0.0, fmax: None, scale: MelScale::Slaney, norm: MelNorm::Slaney }
    }

    /// Sets the number of bands.
    pub fn with_n_mels(mut self, n_mels: usize) -> Self {
        self.n_mels = n_mels;
        self
    }

    /// Sets the highest band edge.
    pub fn with_fmax(mut self, fmax: f32) -> Self {
        self.fmax = Some(fmax);
        self
    }

    /// Sets the lowest band edge.
    pub fn with_fmin(mut self, fmin: f32) -> Self {
        self.fmin = fmin;
        self
    }

    /// Sets the mel scale.
    pub fn with_scale(mut self, scale: MelScale) -> Self {
        self.scale = scale;
        self
    }

    /// Sets the filter normalisation.
    pub fn with_norm(mut self, norm: MelNorm) -> Self {
        self.norm = norm;
        self
    }

    /// The effective highest band edge.
    pub fn fmax_hz(&self) -> f32 {
        self.fmax.unwrap_or(self.sample_rate as f32 / 2.0)
    }

    /// The `n_mels + 2` band edges in hertz, evenly spaced in mels (`librosa.mel_frequencies`).
    pub fn band_edges_hz(&self) -> Vec<f64> {
        let (low, high) = (self.scale.hz_to_mel(self.fmin as f64), self.scale.hz_to_mel(self.fmax_hz() as f64));
        let n = self.n_mels + 2;
        (0..n).map(|i| self.scale.mel_to_hz(low + (high - low) * i as f64 / (n - 1) as f64)).collect()
    }
}

/// One band: its non-zero weights, starting at FFT bin `start`.
#[derive(Debug, Clone)]
struct Band {
    start: usize,
    weights: Vec<f32>,
}

/// A mel filterbank stored sparsely (each triangle covers a few bins), applied in O(non-zeros) per frame.
#[derive(Debug, Clone)]
pub struct MelFilterbank {
    config: MelConfig,
    n_bins: usize,
    bands: Vec<Band>,
}

impl MelFilterbank {
    /// Builds the filters as `librosa.filters.mel` does (weights computed in f64, stored as f32).
    pub fn new(config: MelConfig) -> Result<Self> {
        let nyquist = config.sample_rate as f32 / 2.0;
        if config.n_mels == 0 || !(2..=super::MAX_N_FFT).contains(&config.n_fft) || config.n_mels > config.n_fft {
            return Err(Error::parameter(format!("a mel filterbank needs 1 <= n_mels <= n_fft and n_fft in 2..={}, got {config:?}", super::MAX_N_FFT)));
        }
        crate::check_sample_rate(config.sample_rate, "mel filterbank")?;
        if !(0.0 <= config.fmin && config.fmin < config.fmax_hz() && config.fmax_hz() <= nyquist) {
            return Err(Error::parameter(format!(
                "mel band edges must satisfy 0 <= fmin < fmax <= {nyquist} Hz (Nyquist), got fmin {} and fmax {}",
                config.fmin,
                config.fmax_hz()
            )));
        }
        let n_bins = config.n_fft / 2 + 1;
        // numpy's rfftfreq: bin k is at k * sr / n_fft, for odd n_fft too.
        let bin_hz: Vec<f64> = (0..n_bins).map(|k| k as f64 * config.sample_rate as f64 / config.n_fft as f64).collect();
        let edges = config.band_edges_hz();
        let bands = (0..config.n_mels)
            .map(|m| {
                let (left, centre, right) = (edges[m], edges[m + 1], edges[m + 2]);
                let scale = match config.norm {
                    MelNorm::Slaney => 2.0 / (right - left),
                    MelNorm::None => 1.0,
                };
                let dense: Vec<f32> = bin_hz
                    .iter()
                    .map(|&f| {
                        let lower = (f - left) / (centre - left);
                        let upper = (right - f) / (right - centre);
                        (lower.min(upper).max(0.0) * scale) as f32
                    })
                    .collect();
                let start = dense.iter().position(|&w| w > 0.0).unwrap_or(0);
                let end = dense.iter().rposition(|&w| w > 0.0).map_or(start, |e| e + 1);
                Band { start, weights: dense[start..end].to_vec() }
            })
            .collect();
        Ok(Self { config, n_bins, bands })
    }

    /// The configuration.
    pub fn config(&self) -> &MelConfig {
        &self.config
    }

    /// Number of bands.
    pub fn n_mels(&self) -> usize {
        self.bands.len()
    }

    /// Number of FFT bins the filters expect.
    pub fn n_bins(&self) -> usize {
        self.n_bins
    }

    /// Centre frequency of each band in hertz.
    pub fn centres_hz(&self) -> Vec<f32> {
        self.config.band_edges_hz()[1..=self.n_mels()].iter().map(|&f| f as f32).collect()
    }

    /// Applies the filters to one frame's spectrum (`n_bins` values), writing `n_mels` band energies.
    #[inline]
    pub fn apply(&self, spectrum: &[f32], bands: &mut [f32]) {
        debug_assert_eq!(spectrum.len(), self.n_bins);
        for (out, band) in bands.iter_mut().zip(&self.bands) {
            let bins = &spectrum[band.start..band.start + band.weights.len()];
            *out = bins.iter().zip(&band.weights).map(|(s, w)| s * w).sum();
        }
    }

    /// The filters as a dense matrix of shape `[n_mels, n_bins]`, the layout of librosa's `mel_basis`.
    pub fn to_dense(&self) -> Array2<f32> {
        let mut dense = Array2::zeros((self.n_mels(), self.n_bins));
        for (m, band) in self.bands.iter().enumerate() {
            for (i, &w) in band.weights.iter().enumerate() {
                dense[(m, band.start + i)] = w;
            }
        }
        dense
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_round_trip_and_match_known_values() {
        for scale in [MelScale::Slaney, MelScale::Htk] {
            for hz in [0.0, 440.0, 1000.0, 7999.0] {
                assert!((scale.mel_to_hz(scale.hz_to_mel(hz)) - hz).abs() < 1e-6);
            }
        }
        // librosa.hz_to_mel(440) = 6.6; librosa.hz_to_mel(440, htk=True) = 549.6395…
        assert!((MelScale::Slaney.hz_to_mel(440.0) - 6.6).abs() < 1e-9);
        assert!((MelScale::Htk.hz_to_mel(440.0) - 549.6395).abs() < 1e-3);
        assert!((MelScale::Slaney.hz_to_mel(1000.0) - 15.0).abs() < 1e-9);
    }

    #[test]
    fn slaney_norm_gives_each_band_the_area_of_its_width() {
        let bank = MelFilterbank::new(MelConfig::new(16000, 4096).with_n_mels(40)).unwrap();
        let dense = bank.to_dense();
        let bin_hz = 16000.0 / 4096.0;
        // With norm='slaney', area under each triangle (in Hz) is 1.
        for row in dense.rows() {
            let area: f32 = row.sum() * bin_hz;
            assert!((area - 1.0).abs() < 0.02, "area {area}");
        }
    }

    #[test]
    fn rejects_impossible_band_edges() {
        assert!(MelFilterbank::new(MelConfig::new(8000, 512).with_fmax(6000.0)).is_err());
        assert!(MelFilterbank::new(MelConfig::new(8000, 512).with_n_mels(0)).is_err());
    }
}
