//! Files and directories in the roots the component declared (`fs_read`, `fs_write`) and the
//! operator granted. Every call is checked by the host; a refusal is an
//! [`ErrorKind::Denied`](crate::ErrorKind::Denied) error naming the path, never a trap.
//!
//! ```no_run
//! # fn run() -> airssys::Result<()> {
//! airssys::fs::write("/srv/notes/today.txt", "buy milk")?;
//! let text = airssys::fs::read_to_string("/srv/notes/today.txt")?;
//! for name in airssys::fs::list_dir("/srv/notes")? {
//!     airssys::info!("{name}");
//! }
//! # Ok(()) }
//! ```
//!
//! Where the declaration and the grant each cover a whole directory tree (`/srv/notes/**`),
//! `std::fs` works there too, with the same rights (but cannot make symbolic links);
//! `airssys::fs` also works for narrower patterns. A symbolic link is followed only when its
//! target is allowed as well, and [`read`] and [`list_dir`] return at most the host's payload
//! limit.

use std::time::SystemTime;

use crate::{Error, Result};

/// What kind of entry a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link (not followed).
    Symlink,
    /// Anything else (device, socket, ...).
    Other,
}

/// Metadata of a path, from [`metadata`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// What the path names.
    pub kind: EntryKind,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, when the host knows it.
    pub modified: Option<SystemTime>,
    /// True when the entry cannot be written.
    pub readonly: bool,
}

/// The whole file.
pub fn read(path: &str) -> Result<Vec<u8>> {
    imp::read(path)
}

/// The whole file as UTF-8 text.
pub fn read_to_string(path: &str) -> Result<String> {
    String::from_utf8(read(path)?)
        .map_err(|err| Error::invalid_input(format!("`{path}` is not UTF-8: {err}")))
}

/// Creates or replaces the file.
pub fn write(path: &str, data: impl AsRef<[u8]>) -> Result<()> {
    imp::write(path, data.as_ref())
}

/// Appends to the file, creating it if needed.
pub fn append(path: &str, data: impl AsRef<[u8]>) -> Result<()> {
    imp::append(path, data.as_ref())
}

/// Names of a directory's entries, sorted.
pub fn list_dir(path: &str) -> Result<Vec<String>> {
    imp::list_dir(path)
}

/// Metadata, without following a final symlink.
pub fn metadata(path: &str) -> Result<Metadata> {
    imp::metadata(path)
}

/// Creates one directory.
pub fn create_dir(path: &str) -> Result<()> {
    imp::create_dir(path)
}

/// Removes a file or an empty directory.
pub fn remove(path: &str) -> Result<()> {
    imp::remove(path)
}

/// Renames `from` to `to`; both must be writable. A directory needs write access over both
/// whole trees and read access over the one it leaves; a file may not move to where it could
/// be read from where it could not.
pub fn rename(from: &str, to: &str) -> Result<()> {
    imp::rename(from, to)
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::{EntryKind, Metadata};
    use crate::__private::bindings::airssys::core::filesystem as host;
    use crate::__private::from_wit_error as from;
    use crate::Result;

    pub(super) fn read(path: &str) -> Result<Vec<u8>> {
        host::read(path).map_err(from)
    }
    pub(super) fn write(path: &str, data: &[u8]) -> Result<()> {
        host::write(path, data).map_err(from)
    }
    pub(super) fn append(path: &str, data: &[u8]) -> Result<()> {
        host::append(path, data).map_err(from)
    }
    pub(super) fn list_dir(path: &str) -> Result<Vec<String>> {
        host::list_dir(path).map_err(from)
    }
    pub(super) fn metadata(path: &str) -> Result<Metadata> {
        let m = host::metadata(path).map_err(from)?;
        Ok(Metadata {
            kind: match m.kind {
                host::EntryKind::File => EntryKind::File,
                host::EntryKind::Directory => EntryKind::Directory,
                host::EntryKind::Symlink => EntryKind::Symlink,
                host::EntryKind::Other => EntryKind::Other,
            },
            size: m.size,
            modified: m.modified.map(|t| {
                std::time::UNIX_EPOCH + std::time::Duration::new(t.seconds, t.nanoseconds)
            }),
            readonly: m.readonly,
        })
    }
    pub(super) fn create_dir(path: &str) -> Result<()> {
        host::create_dir(path).map_err(from)
    }
    pub(super) fn remove(path: &str) -> Result<()> {
        host::remove(path).map_err(from)
    }
    pub(super) fn rename(from_path: &str, to: &str) -> Result<()> {
        host::rename(from_path, to).map_err(from)
    }
}

/// Off wasm, the test host of the current call serves them (`airssys::testing`).
#[cfg(not(target_arch = "wasm32"))]
use crate::testing::files as imp;
