//! Analysis windows with scipy/librosa semantics.

use serde::{Deserialize, Serialize};

/// The shape of an analysis window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    /// Hann (raised cosine), `0.5 - 0.5 cos(2πn/N)`: the default of librosa and of most speech front ends.
    #[default]
    Hann,
    /// Hamming, `0.54 - 0.46 cos(2πn/N)`.
    Hamming,
    /// Blackman, `0.42 - 0.5 cos(2πn/N) + 0.08 cos(4πn/N)`.
    Blackman,
    /// Rectangular (all ones).
    Rectangular,
}

/// Whether the window is one period of a periodic function (for spectral analysis) or symmetric (for filter design).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Symmetry {
    /// `N = length` in the formula: scipy's `fftbins=True`, librosa's and torch's default for STFT.
    #[default]
    Periodic,
    /// `N = length - 1`: the window is symmetric about its centre (numpy's `np.hanning`).
    Symmetric,
}

impl Window {
    /// The window's `length` coefficients, computed in f64 and rounded once to f32.
    ///
    /// A length of 1 gives `[1.0]` and a length of 0 an empty vector, as in scipy.
    pub fn coefficients(self, length: usize, symmetry: Symmetry) -> Vec<f32> {
        self.coefficients_f64(length, symmetry).into_iter().map(|w| w as f32).collect()
    }

    /// The window's `length` coefficients in f64, as scipy's `get_window` returns them. The forward STFT windows in
    /// f64: rounding the window to f32 perturbs every sample by about 6e-8 of itself, noise that would sit ~140 dB
    /// below the frame's loudest bin and so swamp its quietest ones.
    pub fn coefficients_f64(self, length: usize, symmetry: Symmetry) -> Vec<f64> {
        if length <= 1 {
            return vec![1.0; length];
        }
        let denominator = match symmetry {
            Symmetry::Periodic => length,
            Symmetry::Symmetric => length - 1,
        } as f64;
        let cosine_terms: &[f64] = match self {
            Window::Hann => &[0.5, 0.5],
            Window::Hamming => &[0.54, 0.46],
            Window::Blackman => &[0.42, 0.5, 0.08],
            Window::Rectangular => &[1.0],
        };
        (0..length)
            .map(|n| {
                let phase = 2.0 * std::f64::consts::PI * n as f64 / denominator;
                // General cosine window: a0 - a1 cos(x) + a2 cos(2x) - …
                let value: f64 = cosine_terms.iter().enumerate().map(|(k, a)| if k % 2 == 0 { 1.0 } else { -1.0 } * a * (k as f64 * phase).cos()).sum();
                value
            })
            .collect()
    }

    /// The window of `win_length` coefficients centred in `n_fft` samples with zeros on both sides,
    /// as librosa's `util.pad_center` does when `win_length < n_fft`.
    pub fn padded(self, win_length: usize, n_fft: usize, symmetry: Symmetry) -> Vec<f32> {
        self.padded_f64(win_length, n_fft, symmetry).into_iter().map(|w| w as f32).collect()
    }

    /// [`Window::padded`] in f64.
    pub fn padded_f64(self, win_length: usize, n_fft: usize, symmetry: Symmetry) -> Vec<f64> {
        let mut padded = vec![0.0; n_fft];
        let left = (n_fft - win_length) / 2;
        padded[left..left + win_length].copy_from_slice(&self.coefficients_f64(win_length, symmetry));
        padded
    }
}

impl std::str::FromStr for Window {
    type Err = String;
    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "hann" | "hanning" => Ok(Self::Hann),
            "hamming" => Ok(Self::Hamming),
            "blackman" => Ok(Self::Blackman),
            "rectangular" | "boxcar" | "ones" => Ok(Self::Rectangular),
            other => Err(format!("unknown window {other:?}: expected hann, hamming, blackman or rectangular")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periodic_hann_matches_scipy() {
        // scipy.signal.get_window('hann', 8)
        let expected = [0.0, 0.14644661, 0.5, 0.8535534, 1.0, 0.8535534, 0.5, 0.14644661];
        let w = Window::Hann.coefficients(8, Symmetry::Periodic);
        for (a, b) in w.iter().zip(expected) {
            assert!((a - b).abs() < 1e-7, "{w:?}");
        }
    }

    #[test]
    fn symmetric_windows_are_symmetric_and_match_numpy() {
        for window in [Window::Hann, Window::Hamming, Window::Blackman] {
            let w = window.coefficients(9, Symmetry::Symmetric);
            for i in 0..9 {
                assert!((w[i] - w[8 - i]).abs() < 1e-7);
            }
            assert!((w[4] - 1.0).abs() < 1e-6, "{window:?} peaks at 1");
        }
        // np.hamming(5) = [0.08, 0.54, 1.0, 0.54, 0.08]; np.blackman(5)[1] = 0.34
        let hamming = Window::Hamming.coefficients(5, Symmetry::Symmetric);
        assert!((hamming[0] - 0.08).abs() < 1e-7 && (hamming[1] - 0.54).abs() < 1e-7);
        let blackman = Window::Blackman.coefficients(5, Symmetry::Symmetric);
        assert!(blackman[0].abs() < 1e-7 && (blackman[1] - 0.34).abs() < 1e-7);
    }

    #[test]
    fn padded_window_is_centred() {
        let w = Window::Rectangular.padded(4, 8, Symmetry::Periodic);
        assert_eq!(w, vec![0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]);
    }
}
