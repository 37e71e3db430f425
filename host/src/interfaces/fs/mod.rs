//! The `airssys:core/filesystem` host interface.
//!
//! Every call runs on tokio's blocking pool, never on an async worker. Its path is normalized
//! and checked (audited) against the instance's effective capabilities, then resolved from `/`
//! one component at a time without letting the operating system follow a symlink; a symlink
//! on the way is replaced by its target, which is checked in turn ([`walk`]). So nothing the
//! effective patterns do not allow is opened, listed, written or created, whoever made the
//! links. Reads and listings are bounded by the payload limit and every wait on a file by the
//! call's deadline ([`bounded`]); renames cannot carry content to where it gains rights.

mod bounded;
mod walk;

use std::fs::File;
use std::sync::Arc;
use std::time::Instant;

use airssys_contract::CapabilityKind::{self, FsRead, FsWrite};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use wasmtime::component::{HasData, Linker};

use self::bounded::Failure;
use self::walk::Walk;
use crate::Limits;
use crate::bindings::airssys::core::filesystem::{self, EntryKind, EntryMetadata};
use crate::bindings::{guest_error as error, wit};
use crate::policy::Gate;

pub(crate) use self::walk::open_real_dir;

type FsResult<T> = Result<T, wit::Error>;

/// What a filesystem call sees: the gate, the limits and when the guest's call must end.
pub(crate) struct Files<'a> {
    pub(crate) gate: &'a Arc<Gate>,
    pub(crate) limits: &'a Limits,
    pub(crate) deadline: Instant,
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

impl Files<'_> {
    /// Runs `op` on the blocking pool with what it needs of the view.
    async fn run<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Call) -> FsResult<T> + Send + 'static,
    ) -> FsResult<T> {
        let call = Call {
            gate: self.gate.clone(),
            max_payload: self.limits.max_payload,
            deadline: self.deadline,
        };
        tokio::task::spawn_blocking(move || op(&call))
            .await
            .unwrap_or_else(|err| {
                Err(error(
                    wit::ErrorKind::Internal,
                    format!("the file operation failed: {err}"),
                ))
            })
    }
}

impl filesystem::Host for Files<'_> {
    async fn read(&mut self, path: String) -> FsResult<Vec<u8>> {
        self.run(move |call| call.read(&path)).await
    }

    async fn write(&mut self, path: String, data: Vec<u8>) -> FsResult<()> {
        self.run(move |call| call.write(&path, &data, false)).await
    }

    async fn append(&mut self, path: String, data: Vec<u8>) -> FsResult<()> {
        self.run(move |call| call.write(&path, &data, true)).await
    }

    async fn list_dir(&mut self, path: String) -> FsResult<Vec<String>> {
        self.run(move |call| call.list_dir(&path)).await
    }

    async fn metadata(&mut self, path: String) -> FsResult<EntryMetadata> {
        self.run(move |call| call.metadata(&path)).await
    }

    async fn create_dir(&mut self, path: String) -> FsResult<()> {
        self.run(move |call| call.create_dir(&path)).await
    }

    async fn remove(&mut self, path: String) -> FsResult<()> {
        self.run(move |call| call.remove(&path)).await
    }

    async fn rename(&mut self, from: String, to: String) -> FsResult<()> {
        self.run(move |call| call.rename(&from, &to)).await
    }
}

/// One filesystem call, on a blocking thread.
struct Call {
    gate: Arc<Gate>,
    max_payload: usize,
    deadline: Instant,
}

impl Call {
    fn walk(&self, kind: CapabilityKind, path: &str) -> FsResult<Walk<'_>> {
        Walk::new(&self.gate, kind, path)
    }

    fn read(&self, path: &str) -> FsResult<Vec<u8>> {
        let mut walk = self.walk(FsRead, path)?;
        let fd = walk.open(OFlags::RDONLY, false)?;
        let stat = rustix::fs::fstat(&fd).map_err(|err| walk.io_error(err))?;
        let regular = FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile;
        if regular {
            refuse_hard_links(&walk, &stat)?;
            // The size a regular file reports is a quick first answer; the read below is
            // bounded whatever it says.
            if u64::try_from(stat.st_size).unwrap_or(0) > self.max_payload as u64 {
                return Err(self.too_large(&walk));
            }
        }
        bounded::read(&mut File::from(fd), self.max_payload, self.deadline)
            .map_err(|failure| self.failed(&walk, failure))
    }

    fn write(&self, path: &str, data: &[u8], append: bool) -> FsResult<()> {
        let mut walk = self.walk(FsWrite, path)?;
        let flags = if append {
            OFlags::WRONLY | OFlags::APPEND
        } else {
            OFlags::WRONLY
        };
        let fd = walk.open(flags, true)?;
        let stat = rustix::fs::fstat(&fd).map_err(|err| walk.io_error(err))?;
        if FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile {
            // Checked on the open file, before truncating it, so no other name changes.
            refuse_hard_links(&walk, &stat)?;
            if !append {
                rustix::fs::ftruncate(&fd, 0).map_err(|err| walk.io_error(err))?;
            }
        }
        bounded::write_all(&mut File::from(fd), data, self.deadline)
            .map_err(|failure| self.failed(&walk, failure))
    }

    fn list_dir(&self, path: &str) -> FsResult<Vec<String>> {
        let mut walk = self.walk(FsRead, path)?;
        let fd = walk.open(OFlags::RDONLY | OFlags::DIRECTORY, false)?;
        let mut dir = rustix::fs::Dir::new(fd).map_err(|err| walk.io_error(err))?;
        let mut names = Vec::new();
        let mut bytes = 0usize;
        while let Some(entry) = dir.read() {
            let entry = entry.map_err(|err| walk.io_error(err))?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            // The names are the reply: bounded like a file's contents.
            bytes = bytes.saturating_add(name.len());
            if bytes > self.max_payload {
                return Err(self.too_large(&walk));
            }
            names.push(String::from_utf8_lossy(name).into_owned());
        }
        names.sort();
        Ok(names)
    }

    fn metadata(&self, path: &str) -> FsResult<EntryMetadata> {
        let mut walk = self.walk(FsRead, path)?;
        let entry = walk.entry()?;
        match entry.stat().map_err(|err| walk.io_error(err))? {
            Some(stat) => Ok(entry_metadata(&stat)),
            None => Err(walk.io_error(rustix::io::Errno::NOENT)),
        }
    }

    fn create_dir(&self, path: &str) -> FsResult<()> {
        let mut walk = self.walk(FsWrite, path)?;
        let entry = walk.entry()?;
        if entry.is_root() {
            return Err(walk.io_error(rustix::io::Errno::EXIST));
        }
        rustix::fs::mkdirat(&entry.dir, entry.name.as_str(), Mode::from_raw_mode(0o777))
            .map_err(|err| walk.io_error(err))
    }

    fn remove(&self, path: &str) -> FsResult<()> {
        let mut walk = self.walk(FsWrite, path)?;
        let entry = walk.entry()?;
        self.refuse_root(&walk, "removed")?;
        let stat = entry.stat().map_err(|err| walk.io_error(err))?;
        let flags = match stat {
            Some(stat) if FileType::from_raw_mode(stat.st_mode) == FileType::Directory => {
                AtFlags::REMOVEDIR
            }
            _ => AtFlags::empty(),
        };
        rustix::fs::unlinkat(&entry.dir, entry.name.as_str(), flags)
            .map_err(|err| walk.io_error(err))
    }

    fn rename(&self, from: &str, to: &str) -> FsResult<()> {
        let mut from = self.walk(FsWrite, from)?;
        let mut to = self.walk(FsWrite, to)?;
        let source = from.entry()?;
        let target = to.entry()?;
        self.refuse_root(&from, "renamed")?;
        self.refuse_root(&to, "replaced by a rename")?;
        let Some(stat) = source.stat().map_err(|err| from.io_error(err))? else {
            return Err(from.io_error(rustix::io::Errno::NOENT));
        };
        let is_dir = FileType::from_raw_mode(stat.st_mode) == FileType::Directory;
        self.may_move(&from, to.path(), is_dir)?;
        rustix::fs::renameat(
            &source.dir,
            source.name.as_str(),
            &target.dir,
            target.name.as_str(),
        )
        .map_err(|err| from.io_error(err))
    }

    /// Moving must not give anything rights it did not have (the contract's
    /// `EffectiveCapabilities::rename_refusal`). Checked on the entry before it moves; a
    /// directory swapped in for a file in between holds only what was created or moved there
    /// since, each step checked itself.
    fn may_move(&self, from: &Walk<'_>, to: &str, is_dir: bool) -> FsResult<()> {
        match self
            .gate
            .capabilities()
            .rename_refusal(from.path(), to, is_dir)
        {
            Some(why) => Err(from.deny(why)),
            None => Ok(()),
        }
    }

    /// `/` and the directory an operator granted stay: WASI preopens and the operator's
    /// layout rely on them.
    fn refuse_root(&self, walk: &Walk<'_>, verb: &str) -> FsResult<()> {
        let capabilities = self.gate.capabilities();
        match capabilities.root_refusal(walk.kind(), walk.path(), verb) {
            Some(why) => Err(error(wit::ErrorKind::Denied, why)),
            None => Ok(()),
        }
    }

    fn too_large(&self, walk: &Walk<'_>) -> wit::Error {
        error(
            wit::ErrorKind::InvalidInput,
            format!(
                "`{}` is over the payload limit of {} bytes",
                walk.path(),
                self.max_payload
            ),
        )
    }

    fn failed(&self, walk: &Walk<'_>, failure: Failure) -> wit::Error {
        match failure {
            Failure::TooLarge => self.too_large(walk),
            Failure::Deadline => error(
                wit::ErrorKind::Timeout,
                format!("`{}` was not ready before the call's deadline", walk.path()),
            ),
            Failure::Io(err) => walk.io_error(
                err.raw_os_error()
                    .map_or(rustix::io::Errno::IO, rustix::io::Errno::from_raw_os_error),
            ),
        }
    }
}

/// A second name for a file can lie outside every grant: refuse it, audited and counted.
fn refuse_hard_links(walk: &Walk<'_>, stat: &Stat) -> FsResult<()> {
    if stat.st_nlink > 1 {
        return Err(walk.deny(format!(
            "`{}` has other hard links, which could lead outside what may be used",
            walk.path()
        )));
    }
    Ok(())
}

fn entry_metadata(stat: &Stat) -> EntryMetadata {
    let kind = match FileType::from_raw_mode(stat.st_mode) {
        FileType::Symlink => EntryKind::Symlink,
        FileType::Directory => EntryKind::Directory,
        FileType::RegularFile => EntryKind::File,
        _ => EntryKind::Other,
    };
    // Before 1970, or nanoseconds out of range: unknown.
    let modified = match (
        u64::try_from(stat.st_mtime),
        u32::try_from(stat.st_mtime_nsec),
    ) {
        (Ok(seconds), Ok(nanoseconds)) if nanoseconds < 1_000_000_000 => Some(wit::Datetime {
            seconds,
            nanoseconds,
        }),
        _ => None,
    };
    EntryMetadata {
        kind,
        size: u64::try_from(stat.st_size).unwrap_or(0),
        modified,
        readonly: stat.st_mode & 0o222 == 0,
    }
}
