//! The CPU signal stack: windows, STFT and its inverse, mel filterbanks, spectrogram features and Griffin-Lim.
//!
//! Everything follows librosa's definitions (checked against librosa in `tests/librosa_parity.rs`), accepts any
//! FFT length, and is planned once: create a transform per configuration and call it many times.

mod features;
mod griffin_lim;
mod istft;
mod mel;
mod pad;
mod real_fft;
mod stft;
mod window;

pub use features::{DecibelConfig, LogMel, LogMelConfig, Mfcc, magnitude, power, spectrum_power};
pub use griffin_lim::{GriffinLimConfig, griffin_lim, spectral_convergence};
pub use istft::Istft;
pub use mel::{MelConfig, MelFilterbank, MelNorm, MelScale};
pub use pad::PadMode;
pub use realfft::num_complex::Complex32;
pub use stft::{MAX_N_FFT, Stft, StftConfig};
pub use window::{Symmetry, Window};
