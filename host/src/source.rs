//! Where component bytes come from.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// A component to load: a file, or bytes with a label used in errors.
///
/// Paths convert directly, so `host.load("greeter.wasm")` works.
#[derive(Debug, Clone)]
pub enum Source {
    /// A `.wasm` file.
    File(PathBuf),
    /// Bytes already in memory, with a label naming them in errors.
    Bytes {
        /// Names the bytes in errors (e.g. where they came from).
        label: String,
        /// The component binary.
        bytes: Vec<u8>,
    },
}

impl Source {
    /// Bytes in memory, named `label` in errors.
    pub fn bytes(label: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Self::Bytes {
            label: label.into(),
            bytes: bytes.into(),
        }
    }

    /// How errors name this source.
    pub(crate) fn origin(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Bytes { label, .. } => label.clone(),
        }
    }
}

impl From<&Path> for Source {
    fn from(path: &Path) -> Self {
        Self::File(path.to_owned())
    }
}

impl From<PathBuf> for Source {
    fn from(path: PathBuf) -> Self {
        Self::File(path)
    }
}

impl From<&PathBuf> for Source {
    fn from(path: &PathBuf) -> Self {
        Self::File(path.clone())
    }
}

impl From<&str> for Source {
    fn from(path: &str) -> Self {
        Self::File(path.into())
    }
}

impl From<String> for Source {
    fn from(path: String) -> Self {
        Self::File(path.into())
    }
}

/// Reads a component file after checking its size, so an oversize file is refused without
/// being read; errors name the file. Blocking.
pub(crate) fn read_limited(path: &Path, limit: usize) -> Result<Vec<u8>> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > limit as u64 {
        return Err(Error::TooLarge {
            origin: path.display().to_string(),
            size: usize::try_from(size).unwrap_or(usize::MAX),
            limit,
        });
    }
    std::fs::read(path).map_err(io)
}
