//! The `airssys:core/filesystem` host interface: every path is normalized, checked against the
//! instance's effective capabilities and audited, then opened inside the root of the grant
//! that allows it with cap-std, so `..`, symlinks and renames cannot leave that root.

use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use airssys_contract::CapabilityKind;
use cap_std::ambient_authority;
use cap_std::fs::{Dir, MetadataExt, OpenOptions};
use wasmtime::component::{HasData, Linker};

use crate::Limits;
use crate::bindings::airssys::core::filesystem::{self, EntryKind, EntryMetadata};
use crate::bindings::{guest_error as error, wit};
use crate::policy::Gate;

type FsResult<T> = Result<T, wit::Error>;

/// What a filesystem call sees: the gate (which also names the granted roots) and the limits.
pub(crate) struct Files<'a> {
    pub(crate) gate: &'a Gate,
    pub(crate) limits: &'a Limits,
}

struct HasFiles;

impl HasData for HasFiles {
    type Data<'a> = Files<'a>;
}

/// Links `airssys:core/filesystem`, projecting the store data to a [`Files`] view.
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> Files<'_>,
) -> wasmtime::Result<()> {
    filesystem::add_to_linker::<T, HasFiles>(linker, get)
}

impl filesystem::Host for Files<'_> {
    fn read(&mut self, path: String) -> FsResult<Vec<u8>> {
        let (dir, rel) = self.open_root(CapabilityKind::FsRead, &path)?;
        let meta = dir
            .metadata(&rel)
            .map_err(|e| self.fs_error(CapabilityKind::FsRead, &path, e))?;
        self.refuse_hard_links(CapabilityKind::FsRead, &path, &meta)?;
        let limit = self.limits.max_payload as u64;
        if meta.len() > limit {
            return Err(error(
                wit::ErrorKind::InvalidInput,
                format!(
                    "`{path}` is {} bytes, over the payload limit of {limit}",
                    meta.len()
                ),
            ));
        }
        dir.read(&rel)
            .map_err(|e| self.fs_error(CapabilityKind::FsRead, &path, e))
    }

    fn write(&mut self, path: String, data: Vec<u8>) -> FsResult<()> {
        let (dir, rel) = self.open_root(CapabilityKind::FsWrite, &path)?;
        if let Ok(meta) = dir.metadata(&rel) {
            self.refuse_hard_links(CapabilityKind::FsWrite, &path, &meta)?;
        }
        dir.write(&rel, data)
            .map_err(|e| self.fs_error(CapabilityKind::FsWrite, &path, e))
    }

    fn append(&mut self, path: String, data: Vec<u8>) -> FsResult<()> {
        let (dir, rel) = self.open_root(CapabilityKind::FsWrite, &path)?;
        if let Ok(meta) = dir.metadata(&rel) {
            self.refuse_hard_links(CapabilityKind::FsWrite, &path, &meta)?;
        }
        let mut options = OpenOptions::new();
        options.append(true).create(true);
        let mut file = dir
            .open_with(&rel, &options)
            .map_err(|e| self.fs_error(CapabilityKind::FsWrite, &path, e))?;
        file.write_all(&data)
            .map_err(|e| self.fs_error(CapabilityKind::FsWrite, &path, e))
    }

    fn list_dir(&mut self, path: String) -> FsResult<Vec<String>> {
        let (dir, rel) = self.open_root(CapabilityKind::FsRead, &path)?;
        let entries = if rel.as_os_str().is_empty() {
            dir.entries()
        } else {
            dir.read_dir(&rel)
        }
        .map_err(|e| self.fs_error(CapabilityKind::FsRead, &path, e))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| self.fs_error(CapabilityKind::FsRead, &path, e))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    fn metadata(&mut self, path: String) -> FsResult<EntryMetadata> {
        let (dir, rel) = self.open_root(CapabilityKind::FsRead, &path)?;
        let meta = if rel.as_os_str().is_empty() {
            dir.dir_metadata()
        } else {
            dir.symlink_metadata(&rel)
        }
        .map_err(|e| self.fs_error(CapabilityKind::FsRead, &path, e))?;
        let kind = if meta.is_symlink() {
            EntryKind::Symlink
        } else if meta.is_dir() {
            EntryKind::Directory
        } else if meta.is_file() {
            EntryKind::File
        } else {
            EntryKind::Other
        };
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.into_std().duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| wit::Datetime {
                seconds: d.as_secs(),
                nanoseconds: d.subsec_nanos(),
            });
        Ok(EntryMetadata {
            kind,
            size: meta.len(),
            modified,
            readonly: meta.permissions().readonly(),
        })
    }

    fn create_dir(&mut self, path: String) -> FsResult<()> {
        let (dir, rel) = self.open_root(CapabilityKind::FsWrite, &path)?;
        dir.create_dir(&rel)
            .map_err(|e| self.fs_error(CapabilityKind::FsWrite, &path, e))
    }

    fn remove(&mut self, path: String) -> FsResult<()> {
        let (dir, rel) = self.open_root(CapabilityKind::FsWrite, &path)?;
        if rel.as_os_str().is_empty() {
            return Err(error(
                wit::ErrorKind::Denied,
                format!("`{path}` is the root of a grant and cannot be removed"),
            ));
        }
        let meta = dir
            .symlink_metadata(&rel)
            .map_err(|e| self.fs_error(CapabilityKind::FsWrite, &path, e))?;
        if meta.is_dir() {
            dir.remove_dir(&rel)
        } else {
            dir.remove_file(&rel)
        }
        .map_err(|e| self.fs_error(CapabilityKind::FsWrite, &path, e))
    }

    fn rename(&mut self, from: String, to: String) -> FsResult<()> {
        let (from_dir, from_rel) = self.open_root(CapabilityKind::FsWrite, &from)?;
        let (to_dir, to_rel) = self.open_root(CapabilityKind::FsWrite, &to)?;
        if from_rel.as_os_str().is_empty() || to_rel.as_os_str().is_empty() {
            return Err(error(
                wit::ErrorKind::Denied,
                "the root of a grant cannot be renamed".to_owned(),
            ));
        }
        from_dir
            .rename(&from_rel, &to_dir, &to_rel)
            .map_err(|e| self.fs_error(CapabilityKind::FsWrite, &from, e))
    }
}

impl Files<'_> {
    /// Normalizes `path`, checks and audits `kind` on it, and opens the root of the most
    /// specific granted pattern that allows it; returns the root and the path inside it.
    fn open_root(&self, kind: CapabilityKind, path: &str) -> FsResult<(Dir, PathBuf)> {
        let Some(normal) = normalize(path) else {
            return Err(error(
                wit::ErrorKind::InvalidInput,
                format!("`{path}` is not an absolute path"),
            ));
        };
        let shown = normal.to_string_lossy().into_owned();
        self.gate.check(kind, &shown)?;
        let root = self
            .gate
            .capabilities()
            .granted()
            .get(kind)
            .iter()
            .filter(|pattern| kind.matches(pattern, &shown))
            .map(|pattern| literal_root(pattern))
            .filter(|root| normal.starts_with(root))
            .max_by_key(|root| root.components().count());
        let Some(root) = root else {
            // Allowed by the patterns yet under no literal root: refuse rather than guess.
            let why = format!("{kind} `{shown}` is under no granted root");
            return Err(self.gate.deny(kind, &shown, why).into());
        };
        let rel = normal
            .strip_prefix(&root)
            .map(Path::to_owned)
            .unwrap_or_default();
        let dir = Dir::open_ambient_dir(&root, ambient_authority())
            .map_err(|e| io_error(&root.to_string_lossy(), e))?;
        Ok((dir, rel))
    }
}

/// Lexically normalizes an absolute path: drops `.`, resolves `..` (never above `/`).
fn normalize(path: &str) -> Option<PathBuf> {
    let path = Path::new(path);
    if !path.is_absolute() {
        return None;
    }
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => out.push(name),
            Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// The directory a grant is confined to: its segments before the first wildcard, or the
/// parent of a pattern that names one file.
fn literal_root(pattern: &str) -> PathBuf {
    let literal: PathBuf = Path::new(pattern)
        .components()
        .take_while(|c| !matches!(c, Component::Normal(n) if n.to_string_lossy().contains('*')))
        .collect();
    if literal.as_os_str().len() == pattern.len() && literal.parent().is_some() {
        // No wildcard: the pattern names one entry; confine to its directory.
        return literal.parent().map(Path::to_owned).unwrap_or(literal);
    }
    literal
}

impl Files<'_> {
    /// A second name for a file can point outside every grant: refuse it, audited and
    /// counted as a denial.
    fn refuse_hard_links(
        &self,
        kind: CapabilityKind,
        path: &str,
        meta: &cap_std::fs::Metadata,
    ) -> FsResult<()> {
        if meta.is_file() && meta.nlink() > 1 {
            let why =
                format!("`{path}` has other hard links, which could lead outside the granted root");
            return Err(self.gate.deny(kind, path, why).into());
        }
        Ok(())
    }

    /// Maps an I/O error; cap-std's refusal to leave the root (a symlink or `..` out of it)
    /// is also audited and counted as a denial.
    fn fs_error(&self, kind: CapabilityKind, path: &str, err: io::Error) -> wit::Error {
        if err.kind() == io::ErrorKind::PermissionDenied {
            return self
                .gate
                .deny(kind, path, io_error(path, err).message)
                .into();
        }
        io_error(path, err)
    }
}

fn io_error(path: &str, err: io::Error) -> wit::Error {
    let kind = match err.kind() {
        io::ErrorKind::NotFound => wit::ErrorKind::NotFound,
        // cap-std reports an escape from the root (a symlink out, `..` past it) this way.
        io::ErrorKind::PermissionDenied => wit::ErrorKind::Denied,
        io::ErrorKind::AlreadyExists | io::ErrorKind::InvalidInput => wit::ErrorKind::InvalidInput,
        _ => wit::ErrorKind::Internal,
    };
    error(kind, format!("`{path}`: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_lexically() {
        assert_eq!(normalize("/data/./a/../b"), Some("/data/b".into()));
        assert_eq!(normalize("/../../etc"), Some("/etc".into()));
        assert_eq!(normalize("data/x"), None);
    }

    #[test]
    fn roots_stop_at_the_first_wildcard() {
        assert_eq!(literal_root("/data/**"), Path::new("/data"));
        assert_eq!(literal_root("/data/*/logs/**"), Path::new("/data"));
        assert_eq!(literal_root("/etc/app.toml"), Path::new("/etc"));
        assert_eq!(literal_root("/**"), Path::new("/"));
    }
}
