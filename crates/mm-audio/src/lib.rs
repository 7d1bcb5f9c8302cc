//! # mm-audio
//!
//! Sound for mm: reading WAV (any layout hound reads) and Ogg Vorbis into mono f32, resampling, the CPU signal
//! stack (windows, STFT and inverse STFT, magnitude/power/mel/log-mel/MFCC, Griffin-Lim) with librosa's
//! semantics, batched spectrograms on a burn device, spectrogram pictures, the FSDD and ESC-10 readers, and the
//! sound encoders (log-mel 2-D CNN, SoundNet-style waveform CNN).
//!
//! ```no_run
//! use mm_audio::signal::{LogMel, LogMelConfig};
//!
//! let audio = mm_audio::read_audio("speech.wav")?.resample(16000)?;
//! let mut log_mel = LogMel::new(LogMelConfig::new(16000, 512, 128, 80))?;
//! let features = log_mel.process(&audio.samples)?; // [frames, 80], decibels
//! # Ok::<(), mm_audio::Error>(())
//! ```

mod audio;
pub mod datasets;
#[cfg(feature = "burn")]
pub mod device;
#[cfg(feature = "burn")]
pub mod encoders;
mod error;
mod io;
pub mod picture;
pub mod separation;
pub mod signal;

pub use audio::{Audio, MAX_SAMPLE_RATE, check_sample_rate};
pub use error::{Error, Result};
pub use io::{WavInfo, ogg_info, read_audio, read_ogg, read_wav, write_wav};

use std::path::Path;

/// Writes a float32 array as a `.npy` file (through a temporary file, fsynced and renamed into place).
pub fn write_npy<D: ndarray::Dimension>(path: &Path, array: ndarray::ArrayView<f32, D>) -> Result<()> {
    use ndarray_npy::WriteNpyExt;
    mm_files::write_with(path, |out| array.write_npy(out).map_err(std::io::Error::other)).map_err(|e| Error::io(path, e))
}
