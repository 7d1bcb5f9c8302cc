//! Inverse STFT by weighted overlap-add, with librosa's normalisation by the squared-window sum.

use std::sync::Arc;

use ndarray::ArrayView2;
use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner};

use super::StftConfig;
use crate::{Error, Result};

/// A planned inverse STFT, the exact inverse of [`super::Stft`] with the same configuration wherever the
/// window overlap-add is non-zero (NOLA).
pub struct Istft {
    config: StftConfig,
    fft: Arc<dyn ComplexToReal<f32>>,
    window: Vec<f32>,
    spectrum: Vec<Complex32>,
    frame: Vec<f32>,
    scratch: Vec<Complex32>,
    window_sum: Vec<f32>,
}

impl std::fmt::Debug for Istft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Istft").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Istft {
    /// Plans the inverse of the STFT with this configuration.
    pub fn new(config: StftConfig) -> Result<Self> {
        config.validate()?;
        let fft = RealFftPlanner::<f32>::new().plan_fft_inverse(config.n_fft);
        Ok(Self {
            window: config.padded_window(),
            spectrum: fft.make_input_vec(),
            frame: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            window_sum: Vec::new(),
            fft,
            config,
        })
    }

    /// The configuration this transform was planned for.
    pub fn config(&self) -> &StftConfig {
        &self.config
    }

    /// Reconstructs a signal from a complex spectrogram of shape `[frames, bins]`.
    ///
    /// With `length`, the output is cut or zero-padded to exactly that many samples (pass the original length
    /// to undo the STFT exactly); without it, the length is librosa's `hop * (frames - 1)` for centred frames.
    pub fn process(&mut self, spectrogram: ArrayView2<Complex32>, length: Option<usize>) -> Result<Vec<f32>> {
        let (n_frames, n_bins) = spectrogram.dim();
        let (n_fft, hop) = (self.config.n_fft, self.config.hop_length);
        if n_bins != self.config.n_bins() {
            return Err(Error::parameter(format!("the spectrogram has {n_bins} bins but n_fft = {n_fft} needs {}", self.config.n_bins())));
        }
        if n_frames == 0 {
            return Err(Error::parameter("the spectrogram has no frames"));
        }
        let total = n_fft + hop * (n_frames - 1);
        let mut signal = vec![0.0f32; total];
        self.window_sum.clear();
        self.window_sum.resize(total, 0.0);
        // numpy's irfft scales by 1/n; realfft does not.
        let scale = 1.0 / n_fft as f32;
        for (t, row) in spectrogram.rows().into_iter().enumerate() {
            for (dst, src) in self.spectrum.iter_mut().zip(row) {
                *dst = *src;
            }
            // A real signal's DC (and, for even n_fft, Nyquist) bins are real; drop any imaginary part as numpy does.
            self.spectrum[0].im = 0.0;
            if n_fft % 2 == 0 {
                self.spectrum[n_bins - 1].im = 0.0;
            }
            self.fft
                .process_with_scratch(&mut self.spectrum, &mut self.frame, &mut self.scratch)
                .expect("buffers are sized by the plan and the edge bins are real");
            let start = t * hop;
            let out = &mut signal[start..start + n_fft];
            let sum = &mut self.window_sum[start..start + n_fft];
            for (((y, s), x), w) in out.iter_mut().zip(sum.iter_mut()).zip(&self.frame).zip(&self.window) {
                *y += x * scale * w;
                *s += w * w;
            }
        }
        for (y, s) in signal.iter_mut().zip(&self.window_sum) {
            if *s > f32::MIN_POSITIVE {
                *y /= s;
            }
        }
        let start = if self.config.center { n_fft / 2 } else { 0 };
        let end = match length {
            Some(length) => start + length,
            None if self.config.center => total - n_fft / 2,
            None => total,
        };
        signal.resize(end.max(signal.len()), 0.0);
        signal.truncate(end);
        signal.drain(..start.min(signal.len()));
        Ok(signal)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{PadMode, Stft, Window};
    use super::*;

    #[test]
    fn inverts_the_stft_for_odd_and_even_sizes() {
        let signal: Vec<f32> = (0..4001).map(|i| (i as f32 * 0.05).sin() * 0.5 + ((i * 7919) % 13) as f32 * 0.01).collect();
        for config in [
            StftConfig::new(512).with_hop_length(128),
            StftConfig::new(400).with_hop_length(160).with_window(Window::Hamming),
            StftConfig::new(255).with_hop_length(64).with_pad_mode(PadMode::Constant),
            StftConfig::new(256).with_hop_length(64).with_win_length(200).with_window(Window::Blackman),
        ] {
            let spec = Stft::new(config).unwrap().process(&signal).unwrap();
            let rebuilt = Istft::new(config).unwrap().process(spec.view(), Some(signal.len())).unwrap();
            assert_eq!(rebuilt.len(), signal.len());
            let worst = signal.iter().zip(&rebuilt).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(worst < 1e-5, "{config:?}: max error {worst}");
        }
    }

    #[test]
    fn default_length_follows_librosa() {
        let config = StftConfig::new(64).with_hop_length(16);
        let spec = Stft::new(config).unwrap().process(&[0.25; 1000]).unwrap();
        let rebuilt = Istft::new(config).unwrap().process(spec.view(), None).unwrap();
        assert_eq!(rebuilt.len(), 16 * (spec.nrows() - 1));
    }
}
