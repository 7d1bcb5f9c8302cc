//! The one error type of mm-audio: every variant that concerns a file names it.

use std::path::PathBuf;

/// Result alias for mm-audio.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading, transforming or writing audio.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// hound could not parse or write the WAV file.
    #[error("{path}: not a readable WAV file: {source}")]
    Wav {
        /// The file.
        path: PathBuf,
        /// What hound said.
        source: hound::Error,
    },
    /// lewton could not decode the Ogg Vorbis file.
    #[error("{path}: not a readable Ogg Vorbis file: {source}")]
    Vorbis {
        /// The file.
        path: PathBuf,
        /// What lewton said.
        source: lewton::VorbisError,
    },
    /// The file parsed but its content is unusable (no samples, zero channels, a bad name …).
    #[error("{path}: {problem}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A transform was configured or called with values it cannot work with.
    #[error("invalid signal parameters: {0}")]
    Parameter(String),
    /// The resampler refused the conversion.
    #[error("resampling {from} Hz to {to} Hz failed: {message}")]
    Resample {
        /// Input rate.
        from: u32,
        /// Output rate.
        to: u32,
        /// What rubato said.
        message: String,
    },
    /// A picture could not be drawn or saved.
    #[error("{path}: cannot draw the picture: {message}")]
    Picture {
        /// The output file.
        path: PathBuf,
        /// What the plotting library said.
        message: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }

    pub(crate) fn invalid(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Self::Invalid { path: path.into(), problem: problem.into() }
    }

    pub(crate) fn parameter(message: impl Into<String>) -> Self {
        Self::Parameter(message.into())
    }
}
