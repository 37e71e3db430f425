//! `airssys::fs` under the test host: every path checked as the host checks it, then served
//! from a temporary directory that stands for `/`. No other file is ever touched.
//!
//! What the host adds for files it does not own (symlinks followed only where allowed, hard
//! links refused, reads bounded by the payload limit) is not repeated here: the test owns
//! every file in the directory.

use std::cell::OnceCell;
use std::io;
use std::path::{Path, PathBuf};

use airssys_contract::CapabilityKind::{self, FsRead, FsWrite};
use airssys_contract::normalize_path;
use tempfile::TempDir;

use super::scope::{self, Scope};
use crate::fs::{EntryKind, Metadata};
use crate::{Error, ErrorKind, Result};

/// The temporary directory that stands for the guest's `/`, made on first use.
#[derive(Default)]
pub(crate) struct Files {
    root: OnceCell<TempDir>,
}

impl Files {
    fn root(&self) -> io::Result<&Path> {
        if let Some(dir) = self.root.get() {
            return Ok(dir.path());
        }
        let dir = tempfile::Builder::new().prefix("airssys-test-").tempdir()?;
        Ok(self.root.get_or_init(|| dir).path())
    }

    /// Where the guest path `path` lives: normalized, so never outside the directory.
    pub(crate) fn real(&self, path: &str) -> io::Result<PathBuf> {
        let normalized = normalize_path(path).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{path}` is not an absolute path"),
            )
        })?;
        Ok(self.root()?.join(normalized.trim_start_matches('/')))
    }
}

/// One call's path: normalized and allowed for `kind`, with where it lives.
struct Checked {
    path: String,
    real: PathBuf,
}

fn checked(scope: &Scope, kind: CapabilityKind, path: &str) -> Result<Checked> {
    let Some(path) = normalize_path(path) else {
        return Err(Error::invalid_input(format!(
            "`{path}` is not an absolute path"
        )));
    };
    scope
        .guest
        .check(kind, &path, None)
        .map_err(|denial| Error::denied(denial.message))?;
    let real = scope
        .host
        .files
        .real(&path)
        .map_err(|err| Error::internal(format!("the test host's directory: {err}")))?;
    Ok(Checked { path, real })
}

/// An I/O error on `path` as the host words it: the path, then what the system said.
fn io_error(path: &str, err: &io::Error) -> Error {
    use io::ErrorKind as Io;
    let kind = match err.kind() {
        Io::NotFound => ErrorKind::NotFound,
        Io::PermissionDenied | Io::ReadOnlyFilesystem => ErrorKind::Denied,
        Io::AlreadyExists
        | Io::NotADirectory
        | Io::IsADirectory
        | Io::DirectoryNotEmpty
        | Io::InvalidInput
        | Io::InvalidFilename
        | Io::CrossesDevices => ErrorKind::InvalidInput,
        _ => ErrorKind::Internal,
    };
    Error::new(kind, format!("`{path}`: {err}"))
}

/// Runs `f` on the current scope, or fails as there is no host.
fn served<T>(f: impl FnOnce(&Scope) -> Result<T>) -> Result<T> {
    match scope::current() {
        Some(scope) => f(&scope),
        None => Err(Error::unsupported(scope::no_host("airssys::fs"))),
    }
}

fn io<T>(file: &Checked, result: io::Result<T>) -> Result<T> {
    result.map_err(|err| io_error(&file.path, &err))
}

fn root_refused(scope: &Scope, file: &Checked, verb: &str) -> Result<()> {
    match scope
        .guest
        .capabilities
        .root_refusal(FsWrite, &file.path, verb)
    {
        Some(why) => Err(Error::denied(why)),
        None => Ok(()),
    }
}

pub(crate) fn read(path: &str) -> Result<Vec<u8>> {
    served(|scope| {
        let file = checked(scope, FsRead, path)?;
        io(&file, std::fs::read(&file.real))
    })
}

pub(crate) fn write(path: &str, data: &[u8]) -> Result<()> {
    served(|scope| {
        let file = checked(scope, FsWrite, path)?;
        io(&file, std::fs::write(&file.real, data))
    })
}

pub(crate) fn append(path: &str, data: &[u8]) -> Result<()> {
    use std::io::Write;
    served(|scope| {
        let file = checked(scope, FsWrite, path)?;
        let appended = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&file.real)
            .and_then(|mut opened| opened.write_all(data));
        io(&file, appended)
    })
}

pub(crate) fn list_dir(path: &str) -> Result<Vec<String>> {
    served(|scope| {
        let dir = checked(scope, FsRead, path)?;
        let names: io::Result<Vec<String>> = std::fs::read_dir(&dir.real).and_then(|entries| {
            entries
                .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect()
        });
        let mut names = io(&dir, names)?;
        names.sort();
        Ok(names)
    })
}

pub(crate) fn metadata(path: &str) -> Result<Metadata> {
    served(|scope| {
        let file = checked(scope, FsRead, path)?;
        let meta = io(&file, std::fs::symlink_metadata(&file.real))?;
        let kind = if meta.is_symlink() {
            EntryKind::Symlink
        } else if meta.is_dir() {
            EntryKind::Directory
        } else if meta.is_file() {
            EntryKind::File
        } else {
            EntryKind::Other
        };
        Ok(Metadata {
            kind,
            size: meta.len(),
            modified: meta.modified().ok(),
            readonly: meta.permissions().readonly(),
        })
    })
}

pub(crate) fn create_dir(path: &str) -> Result<()> {
    served(|scope| {
        let dir = checked(scope, FsWrite, path)?;
        io(&dir, std::fs::create_dir(&dir.real))
    })
}

pub(crate) fn remove(path: &str) -> Result<()> {
    served(|scope| {
        let file = checked(scope, FsWrite, path)?;
        root_refused(scope, &file, "removed")?;
        let is_dir = std::fs::symlink_metadata(&file.real).is_ok_and(|m| m.is_dir());
        let removed = if is_dir {
            std::fs::remove_dir(&file.real)
        } else {
            std::fs::remove_file(&file.real)
        };
        io(&file, removed)
    })
}

pub(crate) fn rename(from: &str, to: &str) -> Result<()> {
    served(|scope| {
        let source = checked(scope, FsWrite, from)?;
        let target = checked(scope, FsWrite, to)?;
        root_refused(scope, &source, "renamed")?;
        root_refused(scope, &target, "replaced by a rename")?;
        let meta = io(&source, std::fs::symlink_metadata(&source.real))?;
        let refusal =
            scope
                .guest
                .capabilities
                .rename_refusal(&source.path, &target.path, meta.is_dir());
        if let Some(why) = refusal {
            return Err(Error::denied(why));
        }
        io(&source, std::fs::rename(&source.real, &target.real))
    })
}
