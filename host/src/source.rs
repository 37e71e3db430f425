//! Where component bytes come from.

use std::borrow::Cow;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Default [`HostBuilder::max_component_size`](crate::HostBuilder::max_component_size) and
/// the size [`inspect_file`](crate::inspect_file) accepts: 64 MiB.
pub const DEFAULT_MAX_COMPONENT_SIZE: usize = 64 << 20;

/// A component to load: a file, or bytes with a label used in errors.
///
/// Anything path-like converts, so `host.load("greeter.wasm")` and `load(&path)` with a
/// `String` both work:
///
/// ```no_run
/// # async fn run() -> airssys_host::Result<()> {
/// let path: String = std::env::args().nth(1).unwrap_or("greeter.wasm".into());
/// let greeter = airssys_host::load(&path).await?;
/// # Ok(()) }
/// ```
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

/// Anything path-like is a file to read: `&str`, `String`, `&String`, `Path`, `PathBuf`,
/// `OsStr`, `OsString`, `Box<Path>` and `Cow<Path>`. Bytes never convert implicitly; use
/// [`Source::bytes`].
macro_rules! from_path {
    ($($ty:ty),* $(,)?) => {$(
        impl From<$ty> for Source {
            fn from(path: $ty) -> Self {
                Self::File(PathBuf::from(path))
            }
        }
    )*};
}

from_path!(PathBuf, String, OsString, Box<Path>, Cow<'_, Path>);

macro_rules! from_path_ref {
    ($($ty:ty),* $(,)?) => {$(
        impl From<$ty> for Source {
            fn from(path: $ty) -> Self {
                Self::File(AsRef::<Path>::as_ref(path).to_owned())
            }
        }
    )*};
}

from_path_ref!(
    &Path,
    &PathBuf,
    &str,
    &String,
    &OsStr,
    &OsString,
    &Cow<'_, Path>,
);

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
