//! The one error type of mm-text: every variant that concerns a file names it.

use std::path::PathBuf;

/// Result alias for mm-text.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading text data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened or read (including a corrupt gzip stream).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system or the decompressor said.
        source: std::io::Error,
    },
    /// A line of the file is malformed (invalid UTF-8, wrong number of fields, bad number …).
    #[error("{path}:{line}: {problem}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// The file as a whole is unusable (e.g. empty).
    #[error("{path}: {problem}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A setting is outside the range that works (named as in the config and on the command line).
    #[error("{setting}: {problem}")]
    Setting {
        /// The setting's name, e.g. `window`.
        setting: &'static str,
        /// What is wrong with its value.
        problem: String,
    },
    /// The tokenizers library refused (training or encoding), with its message.
    #[error("tokenizer: {problem}")]
    Tokenizer {
        /// What it said.
        problem: String,
    },
}
