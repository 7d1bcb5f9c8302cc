//! The data layer's errors: each names the file or the setting at fault, and keeps the modality crate's own
//! error rather than a string of it.

use std::path::{Path, PathBuf};

use crate::MissingDataset;

/// Why data could not be had.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A file exists but is not what it should be.
    #[error("{path}: {problem}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A setting that cannot work.
    #[error("{name} = {value}: {why}")]
    BadSetting {
        /// The setting, as a config file or flag names it.
        name: String,
        /// Its value.
        value: String,
        /// Why it cannot work.
        why: String,
    },
    /// A data set is in none of the places looked at.
    #[error(transparent)]
    Missing(#[from] MissingDataset),
    /// Reading a sound failed.
    #[error(transparent)]
    Audio(#[from] mm_audio::Error),
    /// Reading a picture or an image data set failed.
    #[error(transparent)]
    Vision(#[from] mm_vision::Error),
    /// Reading text or a tokenizer failed.
    #[error(transparent)]
    Text(#[from] mm_text::Error),
}

impl DataError {
    /// An unreadable `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }

    /// A `path` that is not what it should be.
    pub fn invalid(path: &Path, problem: impl std::fmt::Display) -> Self {
        Self::Invalid { path: path.into(), problem: problem.to_string() }
    }
}
