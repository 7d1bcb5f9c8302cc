//! Reading and writing audio files: any WAV that hound reads, and Ogg Vorbis.

mod ogg;
mod wav;

pub use ogg::{ogg_info, read_ogg};
pub use wav::{WavInfo, read_wav, write_wav};

use std::path::Path;

use crate::{Audio, Error, Result};

/// Reads a WAV or Ogg Vorbis file (chosen by extension) as mono f32.
pub fn read_audio(path: impl AsRef<Path>) -> Result<Audio> {
    let path = path.as_ref();
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("wav" | "wave") => read_wav(path),
        Some("ogg" | "oga") => read_ogg(path),
        _ => Err(Error::invalid(path, "unknown audio format: expected a .wav or .ogg file")),
    }
}
