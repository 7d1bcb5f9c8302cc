//! Short-time Fourier transform with librosa/torch semantics, planned once and run without allocation per frame.

use ndarray::Array2;
use realfft::num_complex::Complex32;
use serde::{Deserialize, Serialize};

use super::real_fft::WindowedRealFft;
use super::{PadMode, Symmetry, Window};
use crate::{Error, Result};

/// The longest FFT mm plans: 2^20 samples (47 s at 22.05 kHz). Longer ones are an error, not a plan that
/// allocates gigabytes.
pub const MAX_N_FFT: usize = 1 << 20;

/// Parameters of an STFT. Defaults follow librosa, except `pad_mode`, which follows torch (reflect).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StftConfig {
    /// FFT length: any size, not only powers of two. Gives `n_fft / 2 + 1` frequency bins.
    pub n_fft: usize,
    /// Samples between the starts of consecutive frames. Default `n_fft / 4`.
    pub hop_length: usize,
    /// Window length, at most `n_fft`; the window is centred in the frame with zeros around it. Default `n_fft`.
    pub win_length: usize,
    /// Window shape. Default Hann.
    pub window: Window,
    /// Periodic (default, as librosa/torch/scipy use for spectra) or symmetric window.
    pub symmetry: Symmetry,
    /// If true (default), frame `t` is centred on sample `t * hop_length`: the signal is padded by `n_fft / 2` on each side.
    pub center: bool,
    /// How the centred signal is padded. Default reflect.
    pub pad_mode: PadMode,
}

impl StftConfig {
    /// librosa-style defaults for the given FFT length: hop `n_fft / 4`, Hann window of `n_fft`, centred, reflect padding.
    pub fn new(n_fft: usize) -> Self {
        Self {
            n_fft,
            hop_length: (n_fft / 4).max(1),
            win_length: n_fft,
            window: Window::Hann,
            symmetry: Symmetry::Periodic,
            center: true,
            pad_mode: PadMode::Reflect,
        }
    }

    /// Sets the hop length.
    pub fn with_hop_length(mut self, hop_length: usize) -> Self {
        self.hop_length = hop_length;
        self
    }

    /// Sets the window length.
    pub fn with_win_length(mut self, win_length: usize) -> Self {
        self.win_length = win_length;
        self
    }

    /// Sets the window shape.
    pub fn with_window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }

    /// Sets centring.
    pub fn with_center(mut self, center: bool) -> Self {
        self.center = center;
        self
    }

    /// Sets the padding mode used when centring.
    pub fn with_pad_mode(mut self, pad_mode: PadMode) -> Self {
        self.pad_mode = pad_mode;
        self
    }

    /// Number of frequency bins, `n_fft / 2 + 1`.
    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Number of frames for a signal of `len` samples (librosa's and torch's formula). Centring pads
    /// `n_fft / 2` (rounded down) on each side, so for odd `n_fft` the padded signal is one sample shorter than
    /// `len + n_fft`.
    pub fn n_frames(&self, len: usize) -> usize {
        if self.center {
            1 + (len + 2 * (self.n_fft / 2)).saturating_sub(self.n_fft) / self.hop_length
        } else if len >= self.n_fft {
            1 + (len - self.n_fft) / self.hop_length
        } else {
            0
        }
    }

    /// The window, centred in `n_fft` samples.
    pub fn padded_window(&self) -> Vec<f32> {
        self.window.padded(self.win_length, self.n_fft, self.symmetry)
    }

    /// Checks that the parameters describe a usable transform.
    pub fn validate(&self) -> Result<()> {
        if !(2..=MAX_N_FFT).contains(&self.n_fft) {
            return Err(Error::parameter(format!("n_fft must be in 2..={MAX_N_FFT}, got {}", self.n_fft)));
        }
        if self.hop_length == 0 {
            return Err(Error::parameter("hop_length must be at least 1"));
        }
        if self.win_length == 0 || self.win_length > self.n_fft {
            return Err(Error::parameter(format!("win_length must be in 1..={} (n_fft), got {}", self.n_fft, self.win_length)));
        }
        Ok(())
    }

    /// Checks that a signal of `len` samples gives at least one frame.
    pub(crate) fn check_signal_len(&self, len: usize) -> Result<()> {
        if len == 0 {
            return Err(Error::parameter("the signal is empty"));
        }
        if !self.center && len < self.n_fft {
            return Err(Error::parameter(format!("the signal has {len} samples, fewer than n_fft = {} (and center is off)", self.n_fft)));
        }
        Ok(())
    }
}

/// A planned forward STFT. Create it once per configuration and reuse it: the FFT plan, the window and the
/// work buffers are kept between calls.
pub struct Stft {
    config: StftConfig,
    fft: WindowedRealFft,
    spectrum: Vec<Complex32>,
}

impl std::fmt::Debug for Stft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stft").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Stft {
    /// Plans the transform.
    pub fn new(config: StftConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            fft: WindowedRealFft::new(config.window.padded_f64(config.win_length, config.n_fft, config.symmetry)),
            spectrum: vec![Complex32::default(); config.n_bins()],
            config,
        })
    }

    /// The configuration this transform was planned for.
    pub fn config(&self) -> &StftConfig {
        &self.config
    }

    /// The complex spectrogram of `signal`, shape `[frames, bins]` (time-major: transpose for librosa's `[bins, frames]`).
    pub fn process(&mut self, signal: &[f32]) -> Result<Array2<Complex32>> {
        let shape = (self.config.n_frames(signal.len()), self.config.n_bins());
        // Appending each frame from the small, cache-hot spectrum buffer is cheaper than zero-filling the whole
        // output first (a calloc of megabytes) and writing it a second time.
        let mut data = Vec::with_capacity(shape.0 * shape.1);
        self.for_each_frame(signal, |_, spectrum| data.extend_from_slice(spectrum))?;
        Ok(Array2::from_shape_vec(shape, data).expect("one row of n_bins per frame"))
    }

    /// Calls `each(t, spectrum)` for every frame `t` with its `n_fft / 2 + 1` complex bins, reusing one buffer.
    /// This is how fused features (power, mel) avoid storing the complex spectrogram.
    pub fn for_each_frame(&mut self, signal: &[f32], mut each: impl FnMut(usize, &[Complex32])) -> Result<()> {
        self.config.check_signal_len(signal.len())?;
        let n_fft = self.config.n_fft;
        let offset = if self.config.center { (n_fft / 2) as isize } else { 0 };
        let pad = self.config.pad_mode;
        for t in 0..self.config.n_frames(signal.len()) {
            let start = (t * self.config.hop_length) as isize - offset;
            if start >= 0 && start as usize + n_fft <= signal.len() {
                let frame = &signal[start as usize..start as usize + n_fft];
                self.fft.process_slice(frame, &mut self.spectrum);
            } else {
                self.fft.process(|i| pad.sample(signal, start + i as isize), &mut self.spectrum);
            }
            each(t, &self.spectrum);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A direct O(n²) DFT of one frame, the definition the FFT must agree with.
    fn dft(frame: &[f32]) -> Vec<Complex32> {
        let n = frame.len();
        (0..n / 2 + 1)
            .map(|k| {
                let (mut re, mut im) = (0.0f64, 0.0f64);
                for (i, &x) in frame.iter().enumerate() {
                    let phase = -2.0 * std::f64::consts::PI * (k * i) as f64 / n as f64;
                    re += x as f64 * phase.cos();
                    im += x as f64 * phase.sin();
                }
                Complex32::new(re as f32, im as f32)
            })
            .collect()
    }

    #[test]
    fn matches_a_direct_dft_for_odd_sizes_and_padding() {
        let signal: Vec<f32> = (0..300).map(|i| (i * 37 % 101) as f32 / 50.0 - 1.0).collect();
        for (n_fft, hop, mode) in [(25, 7, PadMode::Reflect), (64, 16, PadMode::Constant), (30, 30, PadMode::Edge)] {
            let config = StftConfig::new(n_fft).with_hop_length(hop).with_pad_mode(mode);
            let spec = Stft::new(config).unwrap().process(&signal).unwrap();
            // librosa: 1 + (len + 2·(n_fft/2) - n_fft) / hop frames
            assert_eq!(spec.dim(), (1 + (300 + 2 * (n_fft / 2) - n_fft) / hop, n_fft / 2 + 1));
            let window = config.padded_window();
            for t in [0, 1, spec.nrows() / 2, spec.nrows() - 1] {
                let start = (t * hop) as isize - (n_fft / 2) as isize;
                let frame: Vec<f32> = (0..n_fft).map(|i| mode.sample(&signal, start + i as isize) * window[i]).collect();
                for (a, b) in spec.row(t).iter().zip(dft(&frame)) {
                    assert!((a - b).norm() < 1e-4, "n_fft {n_fft}, frame {t}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn rejects_bad_parameters_and_signals() {
        assert!(Stft::new(StftConfig::new(512).with_hop_length(0)).is_err());
        assert!(Stft::new(StftConfig::new(512).with_win_length(600)).is_err());
        let mut stft = Stft::new(StftConfig::new(16).with_center(false)).unwrap();
        assert!(stft.process(&[0.0; 8]).is_err());
        assert!(stft.process(&[]).is_err());
    }
}
