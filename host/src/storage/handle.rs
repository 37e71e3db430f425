//! The handles the embedder uses (and the guest interfaces will use): [`Storage`] for a whole
//! store, [`Namespace`] for one namespace in it.

use std::path::Path;
use std::sync::Arc;

use airssys_contract::storage::{
    BatchOp, Bytes, Cursor, Entry, Expect, KeyPage, Quota, Result, Revision, StorageError, Usage,
    validate_namespace,
};

use super::backend::Backend;
use super::cache::DEFAULT_CACHE_SIZE;
use super::memory::MemoryBackend;
use super::nats::NatsBackend;
use super::quota::Quotas;
use super::redb::RedbBackend;

/// A key-value store of namespaces. Cheap to clone; clones share the store.
#[derive(Debug, Clone)]
pub struct Storage {
    backend: Arc<dyn Backend>,
    quotas: Arc<Quotas>,
}

impl Storage {
    /// Opens the redb file at `path`, creating it if it does not exist, with the default
    /// [`Quota`] for every namespace and a cache of [`DEFAULT_CACHE_SIZE`] bytes of committed
    /// values. Writes are durable when acknowledged.
    ///
    /// This blocks while redb opens the file (after a crash, that includes a repair that reads
    /// the whole file): call it at startup or on a blocking thread. One process at a time may
    /// have the file open.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with_cache(path, DEFAULT_CACHE_SIZE)
    }

    /// [`open`](Self::open) with a cache of at most `bytes` of committed keys and values
    /// (0: none). Reads the cache answers return at once on the caller's task; the others
    /// take a read transaction on tokio's blocking pool.
    pub fn open_with_cache(path: impl AsRef<Path>, bytes: u64) -> Result<Self> {
        Ok(Self::with_backend(RedbBackend::open(path.as_ref(), bytes)?))
    }

    /// A store in memory, with the same semantics as a file, gone when the last clone drops.
    pub fn in_memory() -> Self {
        Self::with_backend(MemoryBackend::default())
    }

    /// The namespaces of application `app` in NATS JetStream key-value buckets, one bucket per
    /// namespace, shared by every host that opens the same application on the same NATS (the
    /// connection is the caller's: [`ClusterConfig::connect`](crate::ClusterConfig::connect)
    /// gives one). Quotas are checked by each host against the namespace's shared counts;
    /// compare-and-swap and increments hold across hosts. Fails if JetStream does not answer.
    ///
    /// ```no_run
    /// # async fn demo() -> airssys_host::Result<()> {
    /// use airssys_host::ClusterConfig;
    /// use airssys_host::storage::Storage;
    ///
    /// let client = ClusterConfig::new(["nats://127.0.0.1:4222"], "shop")?.connect().await?;
    /// let storage = Storage::nats(client, "shop").await?;
    /// let visits = storage.namespace("shop.visits")?.increment("home", 1).await?;
    /// # Ok(()) }
    /// ```
    pub async fn nats(client: async_nats::Client, app: impl Into<String>) -> Result<Self> {
        Ok(Self::with_backend(
            NatsBackend::connect(client, app.into()).await?,
        ))
    }

    /// A store on any [`Backend`].
    pub fn with_backend(backend: impl Backend) -> Self {
        Self {
            backend: Arc::new(backend),
            quotas: Arc::default(),
        }
    }

    /// Sets the quota of every namespace without one of its own.
    pub fn quota(mut self, quota: Quota) -> Self {
        Arc::make_mut(&mut self.quotas).default = quota;
        self
    }

    /// Sets the quota of one namespace.
    pub fn namespace_quota(mut self, namespace: &str, quota: Quota) -> Result<Self> {
        validate_namespace(namespace)?;
        Arc::make_mut(&mut self.quotas)
            .namespaces
            .insert(namespace.to_owned(), quota);
        Ok(self)
    }

    /// A handle to the namespace `name` (`app.cache`: dot-separated tokens of letters,
    /// digits, `_` and `-`). Namespaces need no creating; one exists once it holds a key.
    pub fn namespace(&self, name: &str) -> Result<Namespace> {
        validate_namespace(name)?;
        Ok(Namespace {
            meter: None,
            name: Arc::from(name),
            quota: self.quotas.get(name),
            backend: Arc::clone(&self.backend),
        })
    }

    /// The namespaces that hold at least one key, in order.
    pub async fn namespaces(&self) -> Result<Vec<String>> {
        self.backend.namespaces().await
    }

    /// Commits the writes already queued, then closes the store for every clone: later calls
    /// fail with [`StorageError::Closed`], and the file can be opened again.
    pub async fn close(&self) -> Result<()> {
        self.backend.close().await
    }
}

/// One namespace of a [`Storage`]: the only keys this handle can reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Namespace {
    name: Arc<str>,
    quota: Quota,
    backend: Arc<dyn Backend>,
    /// Where a component's handle counts its operations and bytes.
    meter: Option<Arc<dyn Meter>>,
}

/// Counts what a handle does: each operation, the bytes it read and wrote.
pub(crate) trait Meter: Send + Sync + std::fmt::Debug {
    fn record(&self, op: &'static str, read: usize, written: usize);
}

impl Namespace {
    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The quota its writes are checked against.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// This namespace, with writes checked against `quota` as well as its own quota (each
    /// limit the lower of the two; see [`Quota::intersect`]).
    pub fn capped(mut self, quota: Quota) -> Self {
        self.quota = self.quota.intersect(quota);
        self
    }

    /// This namespace, with each operation counted by `meter`.
    pub(crate) fn metered(mut self, meter: Arc<dyn Meter>) -> Self {
        self.meter = Some(meter);
        self
    }

    fn key(&self, key: &[u8]) -> Result<()> {
        self.quota.check_key(&self.name, key)
    }

    fn count(&self, op: &'static str, read: usize, written: usize) {
        if let Some(meter) = &self.meter {
            meter.record(op, read, written);
        }
    }

    /// The value of `key`, if it has one.
    pub async fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>> {
        Ok(self.entry(key).await?.map(|entry| entry.value))
    }

    /// The value of `key` with its revision, for a later
    /// [`compare_and_swap`](Self::compare_and_swap).
    pub async fn entry(&self, key: impl AsRef<[u8]>) -> Result<Option<Entry>> {
        let key = key.as_ref();
        self.key(key)?;
        let entry = self.backend.get(&self.name, key).await?;
        self.count("get", entry.as_ref().map_or(0, |e| e.value.len()), 0);
        Ok(entry)
    }

    /// Whether `key` has a value.
    pub async fn exists(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        Ok(self.entry(key).await?.is_some())
    }

    /// Stores `value` under `key`, returning its revision once it is durable.
    pub async fn set(&self, key: impl Into<Vec<u8>>, value: impl Into<Bytes>) -> Result<Revision> {
        let key = key.into();
        self.key(&key)?;
        let value = value.into();
        let written = key.len() + value.len();
        let revision = self.backend.set(&self.name, self.quota, key, value).await?;
        self.count("set", 0, written);
        Ok(revision)
    }

    /// Removes `key`; removing an absent key is not an error.
    pub async fn delete(&self, key: impl Into<Vec<u8>>) -> Result<()> {
        let key = key.into();
        self.key(&key)?;
        self.backend.delete(&self.name, self.quota, key).await?;
        self.count("delete", 0, 0);
        Ok(())
    }

    /// Up to `limit` keys starting with `prefix` (at least one, at most [`MAX_PAGE_SIZE`](super::MAX_PAGE_SIZE)), in
    /// ascending byte order, resuming after `cursor` when given one from the previous page.
    pub async fn list(
        &self,
        prefix: impl AsRef<[u8]>,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<KeyPage> {
        let after = cursor.map(Cursor::key);
        let keys = self
            .backend
            .keys(&self.name, prefix.as_ref(), after, KeyPage::fetch(limit))
            .await?;
        self.count("list", keys.iter().take(limit).map(Vec::len).sum(), 0);
        Ok(KeyPage::from_fetched(keys, limit))
    }

    /// Stores `value` under `key` (or, for `None`, removes the key) only if the key holds what
    /// `expect` says; otherwise fails with [`StorageError::Conflict`], which carries what the
    /// key holds now. Returns the revision of a stored value.
    pub async fn compare_and_swap(
        &self,
        key: impl Into<Vec<u8>>,
        expect: Expect,
        value: Option<Bytes>,
    ) -> Result<Option<Revision>> {
        let key = key.into();
        self.key(&key)?;
        let written = key.len() + value.as_ref().map_or(0, Bytes::len);
        let swapped = self
            .backend
            .compare_and_swap(&self.name, self.quota, key, expect, value)
            .await;
        self.count(
            "compare_and_swap",
            0,
            if swapped.is_ok() { written } else { 0 },
        );
        swapped
    }

    /// Adds `delta` to the decimal `i64` under `key` (a missing key counts as 0), atomically,
    /// and returns the sum, which is stored as decimal text (`"42"`), so [`get`](Self::get)
    /// and JSON readers see a number.
    pub async fn increment(&self, key: impl Into<Vec<u8>>, delta: i64) -> Result<i64> {
        let key = key.into();
        self.key(&key)?;
        let key_size = key.len();
        let sum = self
            .backend
            .increment(&self.name, self.quota, key, delta)
            .await?;
        // The sum is stored as decimal text.
        self.count("increment", 0, key_size + sum.to_string().len());
        Ok(sum)
    }

    /// Applies every write in order as one unit: all of them, or (when one is refused, for
    /// example by the quota) none.
    pub async fn batch(&self, ops: impl IntoIterator<Item = BatchOp>) -> Result<()> {
        let ops: Vec<BatchOp> = ops.into_iter().collect();
        for op in &ops {
            self.key(op.key())?;
        }
        let written = ops
            .iter()
            .map(|op| match op {
                BatchOp::Set { key, value } => key.len() + value.len(),
                BatchOp::Delete { key } => key.len(),
            })
            .sum();
        self.backend.batch(&self.name, self.quota, ops).await?;
        self.count("batch", 0, written);
        Ok(())
    }

    /// How many keys and bytes the namespace holds.
    pub async fn usage(&self) -> Result<Usage> {
        self.backend.usage(&self.name).await
    }

    /// Every key with its entry, in key order, from one consistent snapshot: for inspection,
    /// migration and export. Fails with [`StorageError::NotFound`] if the namespace holds no
    /// keys (a misspelt name, most likely). Its size is bounded by the namespace's quota.
    pub async fn export(&self) -> Result<Vec<(Vec<u8>, Entry)>> {
        let entries = self.backend.export(&self.name).await?;
        if entries.is_empty() {
            return Err(StorageError::NotFound {
                namespace: self.name.to_string(),
            });
        }
        Ok(entries)
    }
}
