//! The library's one error type.
//!
//! Takes: failures from every stage (I/O, parsing, rule loading, output).
//! Produces: [`Error`], whose variants carry the file, record, line or column the failure is about,
//! so a message always names the place. Non-fatal problems with single records are *not* errors:
//! they are counted in the input accounting (see [`crate::source::InputReport`]).

use std::path::PathBuf;

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the library, each variant naming where.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A whole input could not be parsed at all (individual bad records are counted, not raised).
    #[error("{path}: {message}")]
    Unreadable {
        /// The input file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A single record or line could not be parsed.
    #[error("{path}: {locator}: {message}")]
    Record {
        /// The input file.
        path: PathBuf,
        /// `record N` or `line N`.
        locator: String,
        /// Why.
        message: String,
    },
    /// A rule or rule case file is invalid.
    #[error("{path}:{line}:{column}: {message}")]
    Rule {
        /// The rule file.
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// Why.
        message: String,
    },
    /// A user-supplied value (a code, a time, an option) is not valid.
    #[error("{0}")]
    InvalidArgument(String),
    /// Output could not be written.
    #[error("writing {target}: {source}")]
    Output {
        /// Where the output was going (`stdout` or a path).
        target: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Convenience constructor for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
