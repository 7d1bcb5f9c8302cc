//! The one error type of mm-vision: every variant that concerns a file names it.

use std::path::PathBuf;

/// Result alias for mm-vision.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading or writing images and image data sets.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened, read or written (including a corrupt gzip stream).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system or the decompressor said.
        source: std::io::Error,
    },
    /// The image could not be decoded or encoded.
    #[error("{path}: {source}")]
    Image {
        /// The file.
        path: PathBuf,
        /// What the image crate said.
        source: image::ImageError,
    },
    /// The JSON could not be parsed.
    #[error("{path}: invalid JSON: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What serde said (with line and column).
        source: serde_json::Error,
    },
    /// The file parsed but its content is wrong (bad magic number, size mismatch, dangling reference …).
    #[error("{path}: {problem}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }

    pub(crate) fn invalid(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Self::Invalid { path: path.into(), problem: problem.into() }
    }
}
