//! The embedded durable backend: one redb file, one table per namespace.
//!
//! Layout: namespace `app.cache` keeps its keys in table `kv:app.cache`, with the raw key
//! bytes as the table key and `(revision, value)` as the value. Table `meta:namespaces` maps
//! each namespace to `(keys, bytes, last revision)`, updated in the same transaction as its
//! keys, so quota counts and revisions are exact after any restart or crash. Since each
//! namespace has a table of its own, no key can reach another namespace, whatever its bytes.
//!
//! Writes go through the group-commit writer (`commit.rs`). A read is answered from the cache
//! of committed values (`cache.rs`) when it can be, on the caller's task; otherwise it runs in
//! its own read transaction on tokio's blocking pool, off the async workers.

use std::error::Error as StdError;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use bytes::Bytes;
use redb::{
    Database, ReadOnlyTable, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition,
    TableError,
};

use airssys_contract::storage::{
    Batch, BatchOp, Delete, Entry, Expect, Increment, Meta, Quota, Result, Revision, Set,
    StorageError, Swap, Table, Usage, entry_size, list_start,
};

use super::backend::Backend;
use super::cache::{Cache, Change};
use super::commit::Writer;

/// Each namespace's `(keys, bytes, last revision)`.
pub(super) const META: TableDefinition<'_, &str, (u64, u64, u64)> =
    TableDefinition::new("meta:namespaces");

/// A namespace table's key: the key's bytes, as given.
type Key = &'static [u8];
/// A namespace table's value: the revision and the value's bytes.
type Stored = (u64, &'static [u8]);

/// The name of a namespace's key table.
pub(super) struct DataTable(String);

impl DataTable {
    pub(super) fn definition(&self) -> TableDefinition<'_, Key, Stored> {
        TableDefinition::new(&self.0)
    }
}

pub(super) fn data_table(namespace: &str) -> DataTable {
    DataTable(format!("kv:{namespace}"))
}

pub(super) fn meta_from((keys, bytes, revision): (u64, u64, u64)) -> Meta {
    Meta {
        usage: Usage { keys, bytes },
        revision,
    }
}

pub(super) fn meta_to(meta: Meta) -> (u64, u64, u64) {
    (meta.usage.keys, meta.usage.bytes, meta.revision)
}

/// Turns a redb error into [`StorageError::Io`] naming the file.
pub(super) fn io<E: StdError + Send + Sync + 'static>(path: &Path) -> impl Fn(E) -> StorageError {
    move |err| StorageError::io(path, err)
}

/// A namespace's table inside the writer's transaction; it notes each change for the cache.
pub(super) struct RedbTable<'a, 'txn> {
    pub(super) table: redb::Table<'txn, Key, Stored>,
    pub(super) path: &'a Path,
    pub(super) namespace: &'a str,
    pub(super) changes: &'a mut Vec<Change>,
}

impl Table for RedbTable<'_, '_> {
    fn get(&self, key: &[u8]) -> Result<Option<Entry>> {
        let guard = self.table.get(key).map_err(io(self.path))?;
        Ok(guard.map(|guard| entry(guard.value())))
    }

    fn size(&self, key: &[u8]) -> Result<Option<u64>> {
        let guard = self.table.get(key).map_err(io(self.path))?;
        Ok(guard.map(|guard| entry_size(key, guard.value().1)))
    }

    fn insert(&mut self, key: Vec<u8>, entry: Entry) -> Result<()> {
        self.table
            .insert(key.as_slice(), (entry.revision.get(), entry.value.as_ref()))
            .map_err(io(self.path))?;
        self.changes
            .push((self.namespace.to_owned(), key, Some(entry)));
        Ok(())
    }

    fn remove(&mut self, key: &[u8]) -> Result<()> {
        self.table.remove(key).map_err(io(self.path))?;
        self.changes
            .push((self.namespace.to_owned(), key.to_vec(), None));
        Ok(())
    }
}

fn entry((revision, value): (u64, &[u8])) -> Entry {
    Entry {
        value: Bytes::copy_from_slice(value),
        revision: Revision::new(revision),
    }
}

/// A namespace's table in a read transaction; `None` if it was never written.
fn open_data(
    txn: &ReadTransaction,
    namespace: &str,
) -> Result<Option<ReadOnlyTable<Key, Stored>>, redb::Error> {
    match txn.open_table(data_table(namespace).definition()) {
        Ok(table) => Ok(Some(table)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

#[derive(Debug)]
pub(crate) struct RedbBackend {
    path: PathBuf,
    /// `None` once closed. Readers clone the `Arc` for the length of one read.
    db: RwLock<Option<Arc<Database>>>,
    writer: Writer,
    /// `None` when opened without one.
    cache: Option<Arc<Cache>>,
}

impl RedbBackend {
    /// Opens (or creates) the file and starts its writer, with a cache of up to `cache_size`
    /// bytes of committed keys and values (none for 0). Blocks while redb opens the file,
    /// which after a crash includes repairing it.
    pub(crate) fn open(path: &Path, cache_size: u64) -> Result<Self> {
        let db = Database::create(path).map_err(|err| match err {
            redb::DatabaseError::DatabaseAlreadyOpen => StorageError::InUse {
                path: path.to_owned(),
            },
            err => StorageError::io(path, err),
        })?;
        // Create the meta table up front, so every read transaction finds it.
        let txn = db.begin_write().map_err(io(path))?;
        txn.open_table(META).map_err(io(path))?;
        txn.commit().map_err(io(path))?;
        let db = Arc::new(db);
        let cache = (cache_size > 0).then(|| Arc::new(Cache::new(cache_size)));
        Ok(Self {
            path: path.to_owned(),
            writer: Writer::start(Arc::clone(&db), path.to_owned(), cache.clone())?,
            db: RwLock::new(Some(db)),
            cache,
        })
    }

    /// Runs `read` in a read transaction on the blocking pool.
    async fn read<R, F>(&self, read: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&ReadTransaction) -> Result<R, redb::Error> + Send + 'static,
    {
        let db = self
            .db
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(StorageError::Closed)?;
        let outcome = tokio::task::spawn_blocking(move || read(&db.begin_read()?))
            .await
            .map_err(io(&self.path))?;
        outcome.map_err(io(&self.path))
    }
}

#[async_trait]
impl Backend for RedbBackend {
    async fn get(&self, namespace: &str, key: &[u8]) -> Result<Option<Entry>> {
        let mark = match &self.cache {
            Some(cache) => match cache.get(namespace, key) {
                Some(known) => return Ok(known),
                None => Some(cache.mark()),
            },
            None => None,
        };
        let (owned_namespace, owned_key) = (namespace.to_owned(), key.to_vec());
        let found = self
            .read(move |txn| {
                let Some(table) = open_data(txn, &owned_namespace)? else {
                    return Ok(None);
                };
                Ok(table
                    .get(owned_key.as_slice())?
                    .map(|guard| entry(guard.value())))
            })
            .await?;
        if let (Some(cache), Some(mark)) = (&self.cache, mark) {
            cache.fill(mark, namespace, key, found.clone());
        }
        Ok(found)
    }

    async fn keys(
        &self,
        namespace: &str,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>> {
        let (namespace, prefix) = (namespace.to_owned(), prefix.to_vec());
        let after = after.map(<[u8]>::to_vec);
        self.read(move |txn| {
            let mut keys = Vec::new();
            let Some(table) = open_data(txn, &namespace)? else {
                return Ok(keys);
            };
            let from = list_start(&prefix, after.as_deref());
            for item in table.range::<&[u8]>((from, Bound::Unbounded))? {
                let (key, _) = item?;
                let key = key.value();
                if keys.len() == limit || !key.starts_with(&prefix) {
                    break;
                }
                keys.push(key.to_vec());
            }
            Ok(keys)
        })
        .await
    }

    async fn export(&self, namespace: &str) -> Result<Vec<(Vec<u8>, Entry)>> {
        let namespace = namespace.to_owned();
        self.read(move |txn| {
            let Some(table) = open_data(txn, &namespace)? else {
                return Ok(Vec::new());
            };
            table
                .iter()?
                .map(|item| {
                    let (key, value) = item?;
                    Ok((key.value().to_vec(), entry(value.value())))
                })
                .collect()
        })
        .await
    }

    async fn usage(&self, namespace: &str) -> Result<Usage> {
        let namespace = namespace.to_owned();
        self.read(move |txn| {
            let metas = txn.open_table(META)?;
            let meta = metas.get(namespace.as_str())?;
            Ok(meta
                .map(|guard| meta_from(guard.value()).usage)
                .unwrap_or_default())
        })
        .await
    }

    async fn namespaces(&self) -> Result<Vec<String>> {
        self.read(|txn| {
            let mut names = Vec::new();
            for item in txn.open_table(META)?.iter()? {
                let (name, meta) = item?;
                if meta_from(meta.value()).usage.keys > 0 {
                    names.push(name.value().to_owned());
                }
            }
            Ok(names)
        })
        .await
    }

    async fn set(
        &self,
        namespace: &str,
        quota: Quota,
        key: Vec<u8>,
        value: Bytes,
    ) -> Result<Revision> {
        self.writer
            .submit(namespace, quota, Set { key, value })
            .await
    }

    async fn delete(&self, namespace: &str, quota: Quota, key: Vec<u8>) -> Result<()> {
        self.writer.submit(namespace, quota, Delete { key }).await
    }

    async fn compare_and_swap(
        &self,
        namespace: &str,
        quota: Quota,
        key: Vec<u8>,
        expect: Expect,
        value: Option<Bytes>,
    ) -> Result<Option<Revision>> {
        let swap = Swap { key, expect, value };
        self.writer.submit(namespace, quota, swap).await
    }

    async fn increment(
        &self,
        namespace: &str,
        quota: Quota,
        key: Vec<u8>,
        delta: i64,
    ) -> Result<i64> {
        let increment = Increment { key, delta };
        self.writer.submit(namespace, quota, increment).await
    }

    async fn batch(&self, namespace: &str, quota: Quota, ops: Vec<BatchOp>) -> Result<()> {
        self.writer.submit(namespace, quota, Batch(ops)).await
    }

    async fn close(&self) -> Result<()> {
        self.writer.close().await;
        if let Some(cache) = &self.cache {
            cache.clear();
        }
        let db = self
            .db
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // Close explicitly to hear about errors; a read still in flight keeps the file open
        // until it ends.
        match db.map(Arc::try_unwrap) {
            Some(Ok(db)) => db.close().map_err(io(&self.path)),
            _ => Ok(()),
        }
    }
}
