//! Readers for the audio data sets: the Free Spoken Digit Dataset and ESC-10.

pub mod esc10;
pub mod fsdd;

pub use esc10::{Esc10, Esc10Clip};
pub use fsdd::{Fsdd, FsddRecording, FsddSplit};

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The entries of a directory, sorted by name so that every listing is in the same order.
pub(crate) fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .map(|entry| entry.map(|e| e.path()).map_err(|e| Error::io(dir, e)))
        .collect::<Result<Vec<_>>>()?;
    entries.sort();
    Ok(entries)
}
