//! Compiled components on disk, so a host restart or a rollback never compiles again.
//!
//! wasmtime's `Component::deserialize` trusts its input: loading bytes that it did not
//! write, or that changed since, is undefined behaviour. So this cache loads only files this
//! host wrote, and checks that before deserializing:
//!
//! - A key of 32 random bytes lives in `KEY` beside the cache's folders, created `0600` in a
//!   `0700` directory and refused if anyone but its owner may read or write either.
//! - Each file carries an HMAC-SHA256 under that key over the engine's configuration, the
//!   component's SHA-256 and the compiled bytes, and its exact length. A file whose tag or
//!   length does not match (tampered, truncated, or written by another host) is deleted
//!   and the component compiled again. Only after the check are the bytes handed to
//!   wasmtime, from memory (never mapped from the file, which could change after the check).
//! - Files live in a folder per engine configuration (wasmtime's
//!   `Engine::precompile_compatibility_hash`), and wasmtime checks compatibility again.
//!
//! docs/security.md says what this assumes: whoever can write the key can make this host
//! run any code, as whoever can write its components can.

use std::fs::{self, File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::{Error, Result};

/// The key's file name, in the cache's root.
const KEY: &str = "key";
const MAGIC: &[u8; 16] = b"airssys-cwasm-v1";
const TAG: usize = 32;
/// Magic, tag, then the payload's length.
const HEADER: usize = MAGIC.len() + TAG + 8;

/// The on-disk cache of one engine configuration.
pub(super) struct DiskCache {
    dir: PathBuf,
    key: [u8; 32],
    engine_id: [u8; 8],
    max_bytes: u64,
}

impl DiskCache {
    /// Opens (or makes) the cache under `root` for `engine`, keeping at most `max_bytes`.
    pub(super) fn open(root: &Path, engine: &Engine, max_bytes: u64) -> Result<Self> {
        private_dir(root)?;
        let key = read_or_make_key(&root.join(KEY))?;
        let mut hasher = std::hash::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_id = hasher.finish().to_le_bytes();
        let dir = root.join(hex::encode(engine_id));
        private_dir(&dir)?;
        Ok(Self {
            dir,
            key,
            engine_id,
            max_bytes,
        })
    }

    /// The component compiled from the bytes hashing to `sha256`, if this host wrote it and
    /// it is intact; anything else found there is deleted.
    pub(super) fn load(&self, engine: &Engine, sha256: &[u8; 32]) -> Option<Component> {
        let path = self.path(sha256);
        let bytes = match self.read(&path) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return None,
            Err(problem) => {
                tracing::warn!(target: "airssys::host", path = %path.display(), "compiled cache file refused, compiling instead: {problem}");
                let _ = fs::remove_file(&path);
                return None;
            }
        };
        let payload = self.verified(sha256, &bytes)?;
        // SAFETY: `verified` checked the HMAC under this host's private key over exactly
        // these bytes: they are what `store` wrote from `Component::serialize` for an engine
        // of this configuration, and they are read from memory, so they cannot change after
        // the check. wasmtime checks the engine's compatibility again.
        let component = match unsafe { Component::deserialize(engine, payload) } {
            Ok(component) => component,
            Err(err) => {
                tracing::warn!(target: "airssys::host", path = %path.display(), "compiled cache file not usable, compiling instead: {err:#}");
                let _ = fs::remove_file(&path);
                return None;
            }
        };
        // Recently used files are evicted last.
        let _ = File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(SystemTime::now()));
        Some(component)
    }

    /// Writes `component`, compiled from the bytes hashing to `sha256`, then evicts the least
    /// recently used files past the size limit. Failing to write only costs a compile later.
    pub(super) fn store(&self, sha256: &[u8; 32], component: &Component) {
        if let Err(problem) = self.write(sha256, component) {
            tracing::warn!(target: "airssys::host", dir = %self.dir.display(), "cannot keep the compiled component on disk: {problem}");
        }
        self.evict();
    }

    fn write(&self, sha256: &[u8; 32], component: &Component) -> Result<(), String> {
        let payload = component.serialize().map_err(|err| format!("{err:#}"))?;
        let mut file = Vec::with_capacity(HEADER + payload.len());
        file.extend_from_slice(MAGIC);
        file.extend_from_slice(&self.tag(sha256, &payload));
        file.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        file.extend_from_slice(&payload);
        if file.len() as u64 > self.max_bytes {
            return Ok(());
        }
        let path = self.path(sha256);
        // Written aside and renamed, so a reader never sees half a file.
        let partial = path.with_extension(format!("partial-{}", std::process::id()));
        let written = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)
            .and_then(|mut f| f.write_all(&file).and_then(|()| f.sync_data()))
            .and_then(|()| fs::rename(&partial, &path));
        if written.is_err() {
            let _ = fs::remove_file(&partial);
        }
        written.map_err(|err| err.to_string())
    }

    /// The file's bytes, or `None` when there is no file; larger than the cache is an error.
    fn read(&self, path: &Path) -> Result<Option<Vec<u8>>, String> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err.to_string()),
        };
        let mut bytes = Vec::new();
        file.take(self.max_bytes + 1)
            .read_to_end(&mut bytes)
            .map_err(|err| err.to_string())?;
        if bytes.len() as u64 > self.max_bytes {
            return Err("it is larger than the whole cache".into());
        }
        Ok(Some(bytes))
    }

    /// The compiled bytes in `file`, if its length and tag are right; else it is deleted.
    fn verified<'a>(&self, sha256: &[u8; 32], file: &'a [u8]) -> Option<&'a [u8]> {
        let refuse = |why: &str| {
            tracing::warn!(target: "airssys::host", component = %hex::encode(sha256), "compiled cache file refused, compiling instead: {why}");
            let _ = fs::remove_file(self.path(sha256));
            None
        };
        if file.len() < HEADER || &file[..MAGIC.len()] != MAGIC {
            return refuse("it is not a file this host wrote");
        }
        let tag = &file[MAGIC.len()..MAGIC.len() + TAG];
        let len = u64::from_le_bytes(file[MAGIC.len() + TAG..HEADER].try_into().ok()?);
        let payload = &file[HEADER..];
        if payload.len() as u64 != len {
            return refuse("its length is wrong (truncated?)");
        }
        if self.mac(sha256, payload).verify_slice(tag).is_err() {
            return refuse(
                "its authentication tag does not match (changed, or not written by this host)",
            );
        }
        Some(payload)
    }

    fn tag(&self, sha256: &[u8; 32], payload: &[u8]) -> [u8; TAG] {
        self.mac(sha256, payload).finalize().into_bytes().into()
    }

    fn mac(&self, sha256: &[u8; 32], payload: &[u8]) -> Hmac<Sha256> {
        // A 32-byte key is always accepted.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(MAGIC);
        mac.update(&self.engine_id);
        mac.update(sha256);
        mac.update(&(payload.len() as u64).to_le_bytes());
        mac.update(payload);
        mac
    }

    fn path(&self, sha256: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}.cwasm", hex::encode(sha256)))
    }

    /// Deletes the least recently used files until the rest fit in the limit.
    fn evict(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let mut files: Vec<(SystemTime, u64, PathBuf)> = entries
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let meta = entry.metadata().ok()?;
                let modified = meta.modified().ok()?;
                meta.is_file().then(|| (modified, meta.len(), entry.path()))
            })
            .collect();
        let mut total: u64 = files.iter().map(|(_, len, _)| len).sum();
        files.sort();
        for (_, len, path) in files {
            if total <= self.max_bytes {
                break;
            }
            if fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
    }
}

/// Makes `dir` (mode 0700) or checks that nobody but its owner can write it.
fn private_dir(dir: &Path) -> Result<()> {
    let io = |source| Error::Io {
        path: dir.to_owned(),
        source,
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io)?;
    let meta = fs::metadata(dir).map_err(io)?;
    if meta.mode() & 0o022 != 0 || meta.uid() != rustix::process::geteuid().as_raw() {
        return Err(Error::Config(format!(
            "the compiled-component cache {} may be written by others; it holds code this host runs: `chmod 700` it (owned by this user), or choose another `cache_dir`",
            dir.display()
        )));
    }
    Ok(())
}

/// The cache's key: read (checked to be private), or made when missing.
fn read_or_make_key(path: &Path) -> Result<[u8; 32]> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(mut file) => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|err| {
                Error::Config(format!("no random source for the cache key: {err}"))
            })?;
            file.write_all(&key).map_err(io)?;
            file.sync_all().map_err(io)?;
            return Ok(key);
        }
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(err) => return Err(io(err)),
    }
    let meta = fs::symlink_metadata(path).map_err(io)?;
    let private = meta.is_file()
        && meta.permissions().mode() & 0o077 == 0
        && meta.uid() == rustix::process::geteuid().as_raw();
    if !private {
        return Err(Error::Config(format!(
            "the compiled-component cache key {} is not a private file of this user; anyone who can read or write it can make this host run their code: delete it (a new one is made) or `chmod 600` it",
            path.display()
        )));
    }
    let mut key = [0u8; 32];
    let mut file = File::open(path).map_err(io)?;
    file.read_exact(&mut key).map_err(io)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(engine: &Engine) -> Component {
        // The smallest component: no sections at all.
        Component::from_binary(engine, b"\0asm\x0d\0\x01\0").unwrap()
    }

    #[test]
    fn a_stored_component_loads_and_a_changed_one_is_deleted() {
        let root = tempfile::tempdir().unwrap();
        let engine = Engine::default();
        let cache = DiskCache::open(root.path(), &engine, 1 << 30).unwrap();
        let hash = [7u8; 32];
        assert!(cache.load(&engine, &hash).is_none());
        cache.store(&hash, &component(&engine));
        assert!(cache.load(&engine, &hash).is_some());

        let path = cache.path(&hash);
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&path, &bytes).unwrap();
        assert!(cache.load(&engine, &hash).is_none(), "tampered");
        assert!(!path.exists(), "and deleted");

        cache.store(&hash, &component(&engine));
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
        assert!(cache.load(&engine, &hash).is_none(), "truncated");
    }

    #[test]
    fn another_hosts_file_is_refused() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let engine = Engine::default();
        let mine = DiskCache::open(a.path(), &engine, 1 << 30).unwrap();
        let theirs = DiskCache::open(b.path(), &engine, 1 << 30).unwrap();
        let hash = [1u8; 32];
        theirs.store(&hash, &component(&engine));
        fs::copy(theirs.path(&hash), mine.path(&hash)).unwrap();
        assert!(
            mine.load(&engine, &hash).is_none(),
            "written under another key"
        );
    }

    #[test]
    fn a_key_others_may_read_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let engine = Engine::default();
        DiskCache::open(root.path(), &engine, 1 << 30).unwrap();
        let key = root.path().join(KEY);
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
        let err = DiskCache::open(root.path(), &engine, 1 << 30)
            .err()
            .unwrap();
        assert!(err.to_string().contains("not a private file"), "{err}");
    }

    #[test]
    fn the_least_recently_used_go_past_the_limit() {
        let root = tempfile::tempdir().unwrap();
        let engine = Engine::default();
        let probe = DiskCache::open(root.path(), &engine, 1 << 30).unwrap();
        probe.store(&[0; 32], &component(&engine));
        let one = fs::metadata(probe.path(&[0; 32])).unwrap().len();
        let cache = DiskCache::open(root.path(), &engine, one * 2).unwrap();
        for n in 1..=3u8 {
            cache.store(&[n; 32], &component(&engine));
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let kept: Vec<bool> = (0..=3u8).map(|n| cache.path(&[n; 32]).exists()).collect();
        assert_eq!(kept, [false, false, true, true]);
    }
}
