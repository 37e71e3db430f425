//! The domain error both halves exchange: a kind to match on and a message to show.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What kind of failure an [`Error`] reports. Mirrors `error-kind` in `wit/types.wit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The input was malformed or not acceptable.
    InvalidInput,
    /// The thing asked for does not exist.
    NotFound,
    /// A capability the call needs was not granted.
    Denied,
    /// The operation is not supported.
    Unsupported,
    /// A dependency is temporarily unavailable; retrying may help.
    Unavailable,
    /// The operation ran out of time.
    Timeout,
    /// Anything else.
    Internal,
}

impl ErrorKind {
    /// The kind as one snake_case word (`not_found`): for metric labels and machine-read
    /// error bodies, where a space or hyphen would need quoting.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid_input",
            Self::NotFound => "not_found",
            Self::Denied => "denied",
            Self::Unsupported => "unsupported",
            Self::Unavailable => "unavailable",
            Self::Timeout => "timeout",
            Self::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidInput => "invalid input",
            Self::NotFound => "not found",
            Self::Denied => "denied",
            Self::Unsupported => "unsupported",
            Self::Unavailable => "unavailable",
            Self::Timeout => "timeout",
            Self::Internal => "internal error",
        })
    }
}

/// A domain error returned by a component (or the host) as a value, never a trap.
///
/// ```
/// use airssys_contract::{Error, ErrorKind};
/// let err = Error::not_found("no user 42");
/// assert_eq!(err.kind(), ErrorKind::NotFound);
/// assert_eq!(err.to_string(), "not found: no user 42");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// An error of `kind` with a human-readable `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The input was malformed or not acceptable.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// The thing asked for does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// A capability the call needs was not granted.
    pub fn denied(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Denied, message)
    }

    /// The operation is not supported.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// A dependency is temporarily unavailable.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// The operation ran out of time.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }

    /// Anything else.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// The kind, to match on.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, to show.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Decoding input is the common JSON failure inside a handler, so `?` maps it to invalid input.
impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Self::invalid_input(format!("invalid JSON: {err}"))
    }
}

impl From<std::str::Utf8Error> for Error {
    fn from(err: std::str::Utf8Error) -> Self {
        Self::invalid_input(format!("invalid UTF-8: {err}"))
    }
}
