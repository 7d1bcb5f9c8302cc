//! Spectrogram features computed frame by frame from one STFT pass: magnitude, power, log-mel and MFCC.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::{MelConfig, MelFilterbank, Stft, StftConfig};
use crate::{Error, Result};

/// `|X|` for every bin: shape `[frames, bins]`.
pub fn magnitude(stft: &mut Stft, signal: &[f32]) -> Result<Array2<f32>> {
    spectrum_power(stft, signal, 1.0)
}

/// `|X|²` for every bin: shape `[frames, bins]`.
pub fn power(stft: &mut Stft, signal: &[f32]) -> Result<Array2<f32>> {
    spectrum_power(stft, signal, 2.0)
}

/// `|X|^exponent` for every bin: shape `[frames, bins]`.
pub fn spectrum_power(stft: &mut Stft, signal: &[f32], exponent: f32) -> Result<Array2<f32>> {
    let shape = (stft.config().n_frames(signal.len()), stft.config().n_bins());
    let mut data = vec![0.0; shape.0 * shape.1];
    stft.for_each_frame(signal, |t, spectrum| raise(spectrum, exponent, &mut data[t * shape.1..(t + 1) * shape.1]))?;
    Ok(Array2::from_shape_vec(shape, data).expect("one row of n_bins per frame"))
}

#[inline]
fn raise(spectrum: &[realfft::num_complex::Complex32], exponent: f32, out: &mut [f32]) {
    for (o, x) in out.iter_mut().zip(spectrum) {
        let squared = x.re * x.re + x.im * x.im;
        *o = if exponent == 2.0 {
            squared
        } else if exponent == 1.0 {
            squared.sqrt()
        } else {
            squared.powf(exponent / 2.0)
        };
    }
}

/// Decibel conversion as `librosa.power_to_db`: `10 log10(max(S, amin)) - 10 log10(max(reference, amin))`,
/// then, with `top_db`, everything more than `top_db` below the maximum is raised to that floor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DecibelConfig {
    /// Reference power (0 dB). Default 1.
    pub reference: f32,
    /// Smallest power considered, to avoid log(0). Default 1e-10.
    pub amin: f32,
    /// Dynamic range kept below the maximum, or None (default) for no floor.
    pub top_db: Option<f32>,
}

impl Default for DecibelConfig {
    fn default() -> Self {
        Self { reference: 1.0, amin: 1e-10, top_db: None }
    }
}

impl DecibelConfig {
    /// Converts powers to decibels in place.
    pub fn apply(&self, values: &mut [f32]) {
        // 10·log10(x) as (10 / ln 10)·ln(x): libm's logf is several times faster than its log10f, and the two
        // differ by about 1e-6 dB.
        const DB_PER_NEPER: f32 = 10.0 / std::f32::consts::LN_10;
        let offset = DB_PER_NEPER * self.reference.max(self.amin).ln();
        let mut peak = f32::NEG_INFINITY;
        for v in values.iter_mut() {
            *v = DB_PER_NEPER * v.max(self.amin).ln() - offset;
            peak = peak.max(*v);
        }
        if let Some(top_db) = self.top_db {
            let floor = peak - top_db;
            values.iter_mut().for_each(|v| *v = v.max(floor));
        }
    }
}

/// Parameters of a log-mel spectrogram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogMelConfig {
    /// The STFT.
    pub stft: StftConfig,
    /// The mel filterbank (its `n_fft` must equal the STFT's).
    pub mel: MelConfig,
    /// Exponent applied to the magnitude before the filters: 2 (default) for power, 1 for magnitude.
    pub power: f32,
    /// Decibel conversion.
    pub decibels: DecibelConfig,
}

impl LogMelConfig {
    /// librosa's `melspectrogram` + `power_to_db(top_db=None)` defaults for this rate, FFT length, hop and band count.
    pub fn new(sample_rate: u32, n_fft: usize, hop_length: usize, n_mels: usize) -> Self {
        Self {
            stft: StftConfig::new(n_fft).with_hop_length(hop_length),
            mel: MelConfig::new(sample_rate, n_fft).with_n_mels(n_mels),
            power: 2.0,
            decibels: DecibelConfig::default(),
        }
    }
}

/// A planned log-mel spectrogram: one STFT pass, sparse mel filters and decibels, with no per-frame allocation.
#[derive(Debug)]
pub struct LogMel {
    config: LogMelConfig,
    stft: Stft,
    filterbank: MelFilterbank,
    powers: Vec<f32>,
}

impl LogMel {
    /// Plans the STFT and builds the filters.
    pub fn new(config: LogMelConfig) -> Result<Self> {
        if config.mel.n_fft != config.stft.n_fft {
            return Err(Error::parameter(format!("mel n_fft {} differs from the STFT's {}", config.mel.n_fft, config.stft.n_fft)));
        }
        Ok(Self { stft: Stft::new(config.stft)?, filterbank: MelFilterbank::new(config.mel)?, powers: vec![0.0; config.stft.n_bins()], config })
    }

    /// The configuration.
    pub fn config(&self) -> &LogMelConfig {
        &self.config
    }

    /// The filterbank.
    pub fn filterbank(&self) -> &MelFilterbank {
        &self.filterbank
    }

    /// Mel band energies before decibels: shape `[frames, n_mels]`.
    pub fn mel_power(&mut self, signal: &[f32]) -> Result<Array2<f32>> {
        let n_mels = self.filterbank.n_mels();
        let mut out = Array2::zeros((self.config.stft.n_frames(signal.len()), n_mels));
        let data = out.as_slice_mut().expect("a fresh array is contiguous");
        let (filterbank, powers, exponent) = (&self.filterbank, &mut self.powers, self.config.power);
        self.stft.for_each_frame(signal, |t, spectrum| {
            raise(spectrum, exponent, powers);
            filterbank.apply(powers, &mut data[t * n_mels..(t + 1) * n_mels]);
        })?;
        Ok(out)
    }

    /// The log-mel spectrogram in decibels: shape `[frames, n_mels]`.
    pub fn process(&mut self, signal: &[f32]) -> Result<Array2<f32>> {
        let mut out = self.mel_power(signal)?;
        self.config.decibels.apply(out.as_slice_mut().expect("contiguous"));
        Ok(out)
    }
}

/// Mel-frequency cepstral coefficients: the orthonormal DCT-II of the log-mel spectrogram, as `librosa.feature.mfcc`.
#[derive(Debug)]
pub struct Mfcc {
    log_mel: LogMel,
    /// `[n_mfcc, n_mels]`.
    dct: Array2<f32>,
}

impl Mfcc {
    /// Plans the log-mel front end and the DCT keeping the first `n_mfcc` coefficients.
    pub fn new(config: LogMelConfig, n_mfcc: usize) -> Result<Self> {
        let n_mels = config.mel.n_mels;
        if n_mfcc == 0 || n_mfcc > n_mels {
            return Err(Error::parameter(format!("n_mfcc must be in 1..={n_mels} (n_mels), got {n_mfcc}")));
        }
        let n = n_mels as f64;
        let dct = Array2::from_shape_fn((n_mfcc, n_mels), |(k, i)| {
            let scale = if k == 0 { (1.0 / n).sqrt() } else { (2.0 / n).sqrt() };
            (scale * (std::f64::consts::PI * k as f64 * (2 * i + 1) as f64 / (2.0 * n)).cos()) as f32
        });
        Ok(Self { log_mel: LogMel::new(config)?, dct })
    }

    /// The coefficients: shape `[frames, n_mfcc]`.
    pub fn process(&mut self, signal: &[f32]) -> Result<Array2<f32>> {
        let log_mel = self.log_mel.process(signal)?;
        Ok(log_mel.dot(&self.dct.t()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f32, rate: u32, len: usize) -> Vec<f32> {
        (0..len).map(|i| (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin()).collect()
    }

    #[test]
    fn a_pure_tone_peaks_in_its_bin_and_band() {
        let signal = tone(1000.0, 16000, 16000);
        let mut stft = Stft::new(StftConfig::new(512).with_hop_length(128)).unwrap();
        let spec = magnitude(&mut stft, &signal).unwrap();
        let middle = spec.row(spec.nrows() / 2);
        let peak = middle.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        assert_eq!(peak, 32, "1 kHz is bin 32 at 31.25 Hz per bin");
        // A unit sine under a periodic Hann window of 512 has peak |X| = 512/4.
        assert!((middle[32] - 128.0).abs() < 1.0, "{}", middle[32]);

        let mut log_mel = LogMel::new(LogMelConfig::new(16000, 512, 128, 40)).unwrap();
        let mel = log_mel.process(&signal).unwrap();
        let row = mel.row(mel.nrows() / 2);
        let band = row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        let centres = log_mel.filterbank().centres_hz();
        assert!((centres[band] - 1000.0).abs() < 120.0, "band {band} at {} Hz", centres[band]);
    }

    #[test]
    fn decibels_follow_power_to_db() {
        let mut values = [1.0, 10.0, 100.0, 0.0];
        DecibelConfig { top_db: Some(15.0), ..Default::default() }.apply(&mut values);
        assert_eq!(values, [5.0, 10.0, 20.0, 5.0]);
    }

    #[test]
    fn mfcc_zeroth_coefficient_is_the_scaled_mean_log_energy() {
        let signal = tone(440.0, 16000, 8000);
        let config = LogMelConfig::new(16000, 512, 160, 40);
        let mfcc = Mfcc::new(config, 13).unwrap().process(&signal).unwrap();
        let log_mel = LogMel::new(config).unwrap().process(&signal).unwrap();
        assert_eq!(mfcc.dim(), (log_mel.nrows(), 13));
        let expected = log_mel.row(10).sum() / 40f32.sqrt();
        assert!((mfcc[(10, 0)] - expected).abs() < 1e-3);
        assert!(Mfcc::new(config, 41).is_err());
    }
}
