//! From the path a guest asks for to what it really names.
//!
//! Every component is opened from `/` on its own, without following symlinks (`O_NOFOLLOW`,
//! one `openat` per name from the directory opened before it), so the operating system never
//! follows a link on our behalf. When a component is a symlink, its target replaces it in the
//! path, and the whole new path is checked against the patterns (and audited) before the walk
//! goes on. So everything an operation touches is reached by a path that was checked, whoever
//! made the links and wherever they point; and since the walk holds each directory it passed
//! through, a link swapped in meanwhile is never followed unchecked either.

use airssys_contract::{CapabilityKind, normalize_path};
use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

use super::FsResult;
use crate::bindings::{guest_error as error, wit};
use crate::policy::{Denied, Gate};

/// Most symlinks one path may pass through (Linux's `MAXSYMLINKS`).
const MAX_SYMLINKS: u32 = 40;

/// How directories on the way are opened: only to look names up in them.
#[cfg(any(target_os = "linux", target_os = "android"))]
const SEARCH: OFlags = OFlags::PATH;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const SEARCH: OFlags = OFlags::RDONLY;

/// One path being resolved for one capability.
pub(super) struct Walk<'a> {
    gate: &'a Gate,
    kind: CapabilityKind,
    /// Absolute and normalized; the guest's path, rewritten at every symlink followed. It has
    /// always been checked.
    path: String,
    links: u32,
}

/// The last component of a walked path and the directory that holds it.
pub(super) struct Entry {
    /// Opened for lookups only (on Linux `O_PATH`).
    pub(super) dir: OwnedFd,
    /// The last component; empty for `/`.
    pub(super) name: String,
}

impl Entry {
    /// True for `/`, which has no parent.
    pub(super) fn is_root(&self) -> bool {
        self.name.is_empty()
    }

    /// What the entry is, without following it; `None` when it does not exist.
    pub(super) fn stat(&self) -> Result<Option<Stat>, Errno> {
        let found = if self.is_root() {
            rustix::fs::fstat(&self.dir)
        } else {
            rustix::fs::statat(&self.dir, self.name.as_str(), AtFlags::SYMLINK_NOFOLLOW)
        };
        match found {
            Ok(stat) => Ok(Some(stat)),
            Err(Errno::NOENT) => Ok(None),
            Err(err) => Err(err),
        }
    }
}

impl<'a> Walk<'a> {
    /// Normalizes `path` and checks `kind` on it through the gate (audited). A relative path
    /// is `invalid-input` and is not audited.
    pub(super) fn new(gate: &'a Gate, kind: CapabilityKind, path: &str) -> FsResult<Self> {
        let Some(path) = normalize_path(path) else {
            return Err(error(
                wit::ErrorKind::InvalidInput,
                format!("`{path}` is not an absolute path"),
            ));
        };
        gate.check(kind, &path)?;
        Ok(Self {
            gate,
            kind,
            path,
            links: 0,
        })
    }

    /// The path as resolved so far: the real path of what the walk reached.
    pub(super) fn path(&self) -> &str {
        &self.path
    }

    /// The capability this walk was checked for.
    pub(super) fn kind(&self) -> CapabilityKind {
        self.kind
    }

    /// Walks to the last component, following (after checking) every symlink before it; the
    /// last one is not followed.
    pub(super) fn entry(&mut self) -> FsResult<Entry> {
        'walk: loop {
            let mut dir = open_root().map_err(|err| self.io_error(err))?;
            let names: Vec<String> = self.names().map(str::to_owned).collect();
            let Some((last, before)) = names.split_last() else {
                return Ok(Entry {
                    dir,
                    name: String::new(),
                });
            };
            for (index, name) in before.iter().enumerate() {
                let stat = rustix::fs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(|err| self.io_error(err))?;
                if FileType::from_raw_mode(stat.st_mode) == FileType::Symlink {
                    self.follow(&dir, index)?;
                    continue 'walk;
                }
                dir = rustix::fs::openat(
                    &dir,
                    name.as_str(),
                    SEARCH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|err| self.io_error(err))?;
            }
            return Ok(Entry {
                dir,
                name: last.clone(),
            });
        }
    }

    /// Walks to the last component and follows it too while it is a symlink: what reading or
    /// writing through the path reaches. Returns the entry and what it is (`None`: missing).
    pub(super) fn target(&mut self) -> FsResult<(Entry, Option<Stat>)> {
        loop {
            let entry = self.entry()?;
            let stat = entry.stat().map_err(|err| self.io_error(err))?;
            match stat {
                Some(stat)
                    if !entry.is_root()
                        && FileType::from_raw_mode(stat.st_mode) == FileType::Symlink =>
                {
                    let last = self.names().count().saturating_sub(1);
                    self.follow(&entry.dir, last)?;
                }
                _ => return Ok((entry, stat)),
            }
        }
    }

    /// Opens what the path leads to with `flags` (never following a link the walk did not
    /// check, never blocking on a FIFO or device), creating a file when `create` is set.
    pub(super) fn open(&mut self, flags: OFlags, create: bool) -> FsResult<OwnedFd> {
        let (entry, stat) = self.target()?;
        if stat.is_none() && !create {
            return Err(self.io_error(Errno::NOENT));
        }
        let name = if entry.is_root() { "." } else { &entry.name };
        let mut flags =
            flags | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        if create {
            flags |= OFlags::CREATE;
        }
        rustix::fs::openat(&entry.dir, name, flags, Mode::from_raw_mode(0o666))
            .map_err(|err| self.io_error(err))
    }

    /// Records a refusal of this path decided after the walk, audited and counted.
    pub(super) fn deny(&self, why: String) -> wit::Error {
        self.gate.deny(self.kind, &self.path, why).into()
    }

    /// An I/O error on this path as the guest's error.
    pub(super) fn io_error(&self, err: Errno) -> wit::Error {
        let kind = match err {
            Errno::NOENT => wit::ErrorKind::NotFound,
            Errno::ACCESS | Errno::PERM | Errno::ROFS => wit::ErrorKind::Denied,
            Errno::EXIST
            | Errno::NOTDIR
            | Errno::ISDIR
            | Errno::NOTEMPTY
            | Errno::INVAL
            | Errno::LOOP
            | Errno::NAMETOOLONG
            | Errno::XDEV
            | Errno::NXIO => wit::ErrorKind::InvalidInput,
            _ => wit::ErrorKind::Internal,
        };
        error(
            kind,
            format!("`{}`: {}", self.path, std::io::Error::from(err)),
        )
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.path.split('/').filter(|name| !name.is_empty())
    }

    /// Replaces the symlink at component `index` (in `dir`) by its target and checks the path
    /// that results, naming the link and the target in a refusal.
    fn follow(&mut self, dir: &OwnedFd, index: usize) -> FsResult<()> {
        self.links += 1;
        let names: Vec<&str> = self.names().collect();
        let link = format!("/{}", names[..=index].join("/"));
        if self.links > MAX_SYMLINKS {
            return Err(error(
                wit::ErrorKind::InvalidInput,
                format!("`{link}` passes through more than {MAX_SYMLINKS} symlinks"),
            ));
        }
        let target = rustix::fs::readlinkat(dir, names[index], Vec::new())
            .map_err(|err| self.io_error(err))?;
        let Ok(target) = std::str::from_utf8(target.as_bytes()) else {
            return Err(error(
                wit::ErrorKind::InvalidInput,
                format!("`{link}` is a symlink to a path that is not UTF-8"),
            ));
        };
        let base = if target.starts_with('/') {
            String::new()
        } else {
            format!("/{}", names[..index].join("/"))
        };
        let rest = names[index + 1..].join("/");
        let joined = format!("{base}/{target}/{rest}");
        let next = normalize_path(&joined).unwrap_or_else(|| "/".to_owned());
        if let Err(denied) = self.gate.check(self.kind, &next) {
            return Err(Denied {
                message: format!(
                    "`{link}` is a symlink leading to `{next}`; {}",
                    denied.message
                ),
            }
            .into());
        }
        self.path = next;
        Ok(())
    }
}

/// Opens the real directory `path` (absolute, normalized), refusing it when any component is
/// a symlink: for a WASI preopen, which the guest then uses without the gate.
pub(crate) fn open_real_dir(path: &str) -> Result<OwnedFd, String> {
    let mut dir = open_root().map_err(|err| err.to_string())?;
    let mut so_far = String::new();
    for name in path.split('/').filter(|name| !name.is_empty()) {
        so_far.push('/');
        so_far.push_str(name);
        dir = rustix::fs::openat(
            &dir,
            name,
            SEARCH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|err| match err {
            // `O_NOFOLLOW` on a symlink: `ELOOP`, or with `O_PATH` on Linux `ENOTDIR`.
            Errno::LOOP | Errno::NOTDIR => format!(
                "`{so_far}` is a symlink or not a directory; grant the real path of the tree"
            ),
            err => format!("`{so_far}`: {}", std::io::Error::from(err)),
        })?;
    }
    Ok(dir)
}

fn open_root() -> Result<OwnedFd, Errno> {
    rustix::fs::openat(
        CWD,
        "/",
        SEARCH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
}
