//! The NATS JetStream backend: each namespace in a key-value bucket of its own, shared by every
//! host of the application.
//!
//! - Buckets: `airssys-<app>-<namespace>` (see `names.rs`), one per namespace, so isolation
//!   is the server's, not a key prefix's. A bucket is created by the first write to its
//!   namespace (history 1, atomic batches allowed, `max_message_size` from the namespace's
//!   quota); reads of a namespace without one find nothing.
//! - Keys: lowercase hex of the key's bytes, which keeps byte order; `usage` holds the
//!   namespace's key and byte counts.
//! - Revisions: JetStream stream sequences, which grow with every write in the bucket and are
//!   never reused.
//! - Writes: optimistic transactions over the contract's write rules (`txn.rs`), committed as
//!   one atomic batch; writes of one host to one namespace take turns, writes of several hosts
//!   race and the losers run again.

mod names;
mod txn;

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, ErrorCode, kv, stream};
use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt};

use airssys_contract::storage::{
    Batch, BatchOp, Bytes, Delete, Entry, Expect, Increment, Meta, Mutation, Quota, QuotaLimit,
    Result, Revision, Set, StorageError, Swap, Target, Usage, list_start,
};

use super::backend::Backend;
use names::{MAX_KEY_LEN, USAGE_KEY, app_prefix, bucket, decode_key, encode_key};
use txn::{
    Failure, HEADER_ALLOWANCE, Read, Revisions, Snapshot, commit, usage_from, usage_message,
};

/// How long one request to the server may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How long listing a namespace's keys may take.
const LIST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a write keeps running again after losing races before it gives up.
const MAX_CONTENTION: Duration = Duration::from_secs(30);

/// The most messages of one atomic batch (the server's limit), one of which is the usage.
const MAX_BATCH: usize = 1_000;

/// The metadata keys of a bucket's stream, for operators and for listing namespaces.
const META_APP: &str = "airssys.app";
const META_NAMESPACE: &str = "airssys.namespace";

#[derive(Debug)]
pub(crate) struct NatsBackend {
    client: async_nats::Client,
    jetstream: jetstream::Context,
    app: String,
    /// Buckets found or created, by namespace.
    buckets: RwLock<HashMap<String, Bucket>>,
    /// Writes of this host to one namespace take turns: racing each other would only make
    /// them run again.
    turns: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    closed: AtomicBool,
    /// Held shared by each write, exclusively by `close`, which so waits for them.
    writes: tokio::sync::RwLock<()>,
}

/// A namespace's bucket.
#[derive(Debug, Clone)]
struct Bucket {
    store: kv::Store,
    /// The stream's largest message.
    max_message: usize,
}

impl Bucket {
    fn from_stream(stream: stream::Stream, name: &str) -> Self {
        let max_message =
            usize::try_from(stream.cached_info().config.max_message_size).unwrap_or(usize::MAX);
        Self {
            store: kv::Store {
                name: name.to_owned(),
                stream_name: format!("KV_{name}"),
                prefix: format!("$KV.{name}."),
                put_prefix: None,
                use_jetstream_prefix: false,
                stream,
            },
            max_message,
        }
    }

    fn label(&self) -> String {
        format!("nats bucket {}", self.store.name)
    }
}

impl NatsBackend {
    /// Checks that the server offers JetStream, so a missing `-js` shows at startup.
    pub(crate) async fn connect(client: async_nats::Client, app: String) -> Result<Self> {
        if app.is_empty()
            || app.len() > 64
            || !app
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(unavailable(
                "nats",
                format!(
                    "application name `{app}` must be 1 to 64 letters, digits, `-` or `_` (as `[cluster] app`)"
                ),
            ));
        }
        let jetstream = jetstream::ContextBuilder::new()
            .timeout(REQUEST_TIMEOUT)
            .build(client.clone());
        within(REQUEST_TIMEOUT, jetstream.query_account())
            .await
            .and_then(|account| account.map_err(|err| err.to_string()))
            .map_err(|reason| {
                unavailable(
                    "nats",
                    format!(
                        "JetStream does not answer ({reason}); start nats-server with JetStream (`nats-server -js`)"
                    ),
                )
            })?;
        Ok(Self {
            client,
            jetstream,
            app,
            buckets: RwLock::default(),
            turns: Mutex::default(),
            closed: AtomicBool::new(false),
            writes: tokio::sync::RwLock::new(()),
        })
    }

    fn open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StorageError::Closed);
        }
        Ok(())
    }

    /// The namespace's bucket; `None` if it has none and `create` is `None`, otherwise created
    /// with `create`'s limits.
    async fn bucket(&self, namespace: &str, create: Option<Quota>) -> Result<Option<Bucket>> {
        self.open()?;
        if let Some(bucket) = self
            .buckets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(namespace)
        {
            return Ok(Some(bucket.clone()));
        }
        let name = bucket(&self.app, namespace);
        let label = format!("nats bucket {name}");
        let found = within(
            REQUEST_TIMEOUT,
            self.jetstream.get_stream(format!("KV_{name}")),
        )
        .await
        .map_err(|reason| unavailable(&label, reason))?;
        let stream = match found {
            Ok(stream) => stream,
            Err(err) if is_code(err.kind(), ErrorCode::STREAM_NOT_FOUND) => {
                let Some(quota) = create else {
                    return Ok(None);
                };
                within(REQUEST_TIMEOUT * 2, self.create(&name, namespace, quota))
                    .await
                    .and_then(|created| created)
                    .map_err(|reason| unavailable(&label, reason))?
            }
            Err(err) => return Err(unavailable(&label, err.to_string())),
        };
        if !stream.cached_info().config.allow_atomic_publish {
            return Err(unavailable(
                &label,
                format!(
                    "stream KV_{name} does not allow atomic batches; enable them (`nats stream edit KV_{name} --allow-batch`, nats-server 2.12 or later)"
                ),
            ));
        }
        let bucket = Bucket::from_stream(stream, &name);
        self.buckets
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(namespace.to_owned(), bucket.clone());
        Ok(Some(bucket))
    }

    /// Creates the bucket's stream as a key-value bucket would be, with atomic batches; a
    /// bucket another host created meanwhile is used as it is.
    async fn create(
        &self,
        name: &str,
        namespace: &str,
        quota: Quota,
    ) -> std::result::Result<stream::Stream, String> {
        let max_payload = self
            .client
            .server_info()
            .max_payload
            .max(HEADER_ALLOWANCE * 2);
        let value_limit = quota
            .limit(QuotaLimit::ValueSize)
            .and_then(|max| usize::try_from(max).ok())
            .unwrap_or(usize::MAX);
        let max_message = value_limit
            .saturating_add(HEADER_ALLOWANCE)
            .min(max_payload);
        let config = stream::Config {
            name: format!("KV_{name}"),
            description: Some(format!(
                "airssys storage namespace `{namespace}` of application `{}`",
                self.app
            )),
            subjects: vec![format!("$KV.{name}.>")],
            max_messages_per_subject: 1,
            max_message_size: i32::try_from(max_message).unwrap_or(i32::MAX),
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            allow_atomic_publish: true,
            discard: stream::DiscardPolicy::New,
            num_replicas: 1,
            metadata: HashMap::from([
                (META_APP.to_owned(), self.app.clone()),
                (META_NAMESPACE.to_owned(), namespace.to_owned()),
            ]),
            ..Default::default()
        };
        match self.jetstream.create_stream(config).await {
            Ok(stream) => Ok(stream),
            Err(err) if is_create_code(err.kind(), ErrorCode::STREAM_NAME_EXIST) => self
                .jetstream
                .get_stream(format!("KV_{name}"))
                .await
                .map_err(|err| err.to_string()),
            Err(err) => Err(format!("cannot create it ({err})")),
        }
    }

    /// This host's turn to write to `namespace`.
    fn turn(&self, namespace: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut turns = self.turns.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(turns.entry(namespace.to_owned()).or_default())
    }

    /// Runs the write `make()` builds as an optimistic transaction over `keys` (every key it
    /// touches), until it commits, is refused by the rules, or the server fails.
    async fn write<M: Mutation>(
        &self,
        namespace: &str,
        quota: Quota,
        keys: Vec<Vec<u8>>,
        make: impl Fn() -> M,
    ) -> Result<(M::Output, Revisions)> {
        let _writing = self.writes.read().await;
        let bucket = self
            .bucket(namespace, Some(quota))
            .await?
            .ok_or(StorageError::Closed)?;
        let label = bucket.label();
        for key in &keys {
            if key.len() > MAX_KEY_LEN {
                return Err(StorageError::QuotaExceeded {
                    namespace: namespace.to_owned(),
                    limit: QuotaLimit::KeySize,
                    max: MAX_KEY_LEN as u64,
                    actual: key.len() as u64,
                });
            }
        }
        let distinct = keys.iter().collect::<std::collections::HashSet<_>>().len();
        if distinct >= MAX_BATCH {
            return Err(unavailable(
                &label,
                format!(
                    "one write may change at most {} keys on NATS (an atomic batch holds {MAX_BATCH} messages); split the batch",
                    MAX_BATCH - 1
                ),
            ));
        }
        let turn = self.turn(namespace);
        let _turn = turn.lock().await;
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            self.open()?;
            let (usage_read, reads) = read_all(&bucket, &keys).await?;
            let usage = usage_from(&usage_read, &label)?;
            let mut meta = Meta { usage, revision: 0 };
            let mut snapshot = Snapshot::new(label.clone(), reads);
            let outcome = make().apply(&mut Target {
                namespace,
                quota,
                table: &mut snapshot,
                meta: &mut meta,
            });
            match outcome {
                Err(err) if err.is_backend_failure() => return Err(err),
                Err(refusal) => {
                    // Refused on a consistent view? Every write that changes the counts
                    // changes the usage key, so an unchanged usage key says so.
                    let now = read_one(&bucket, USAGE_KEY).await?;
                    if now.sequence == usage_read.sequence {
                        return Err(refusal);
                    }
                }
                Ok(output) => {
                    let mut messages = snapshot.messages(&bucket.store.prefix);
                    for message in &messages {
                        let size = message.payload.len() + HEADER_ALLOWANCE;
                        if size > bucket.max_message {
                            return Err(StorageError::QuotaExceeded {
                                namespace: namespace.to_owned(),
                                limit: QuotaLimit::ValueSize,
                                max: bucket.max_message.saturating_sub(HEADER_ALLOWANCE) as u64,
                                actual: message.payload.len() as u64,
                            });
                        }
                    }
                    if meta.usage != usage {
                        messages.push(usage_message(&bucket.store.prefix, &usage_read, meta.usage));
                    }
                    let committed = within(
                        REQUEST_TIMEOUT,
                        commit(&self.client, REQUEST_TIMEOUT, messages),
                    )
                    .await
                    .unwrap_or_else(|reason| {
                        Err(Failure::Failed(format!(
                            "{reason}; the write may or may not have been stored"
                        )))
                    });
                    match committed {
                        Ok(revisions) => return Ok((output, revisions)),
                        Err(Failure::Failed(reason)) => return Err(unavailable(&label, reason)),
                        Err(Failure::Raced) => {}
                    }
                }
            }
            if started.elapsed() > MAX_CONTENTION {
                return Err(unavailable(
                    &label,
                    format!(
                        "the write lost every race for {}s to other hosts' writes to the same keys; retry later",
                        MAX_CONTENTION.as_secs()
                    ),
                ));
            }
            attempt += 1;
            tokio::time::sleep(backoff(attempt)).await;
        }
    }
}

/// Reads the usage key and `keys` at once.
async fn read_all(bucket: &Bucket, keys: &[Vec<u8>]) -> Result<(Read, HashMap<Vec<u8>, Read>)> {
    let mut distinct: Vec<&Vec<u8>> = keys.iter().collect();
    distinct.sort();
    distinct.dedup();
    let usage = read_one(bucket, USAGE_KEY);
    let entries = futures_util::future::try_join_all(
        distinct.iter().map(|key| read_one(bucket, encode_key(key))),
    );
    let (usage, entries) = futures_util::future::try_join(usage, entries).await?;
    let reads = distinct.into_iter().cloned().zip(entries).collect();
    Ok((usage, reads))
}

async fn read_one(bucket: &Bucket, key: impl Into<String>) -> Result<Read> {
    let entry = within(REQUEST_TIMEOUT, bucket.store.entry(key))
        .await
        .and_then(|read| read.map_err(|err| err.to_string()))
        .map_err(|reason| unavailable(&bucket.label(), reason))?;
    Ok(Read::from_kv(entry))
}

/// `work`, or an error once `limit` has passed: while the server is away the client queues
/// what it sends, and a full queue would otherwise wait for the server's return.
async fn within<T>(
    limit: Duration,
    work: impl std::future::Future<Output = T>,
) -> std::result::Result<T, String> {
    tokio::time::timeout(limit, work)
        .await
        .map_err(|_| format!("no answer from NATS within {}s", limit.as_secs()))
}

/// A random wait that grows with each lost race, so racing hosts fall out of step.
fn backoff(attempt: u32) -> Duration {
    let cap_ms = 1u64 << attempt.min(6);
    let mut byte = [0u8; 2];
    let _ = getrandom::fill(&mut byte);
    let micros = u64::from(u16::from_le_bytes(byte)) % (cap_ms * 1_000);
    Duration::from_micros(micros)
}

fn unavailable(backend: &str, reason: impl Into<String>) -> StorageError {
    StorageError::Unavailable {
        backend: backend.to_owned(),
        reason: reason.into(),
    }
}

fn is_code(kind: jetstream::context::GetStreamErrorKind, code: ErrorCode) -> bool {
    matches!(kind, jetstream::context::GetStreamErrorKind::JetStream(err) if err.error_code() == code)
}

fn is_create_code(kind: jetstream::context::CreateStreamErrorKind, code: ErrorCode) -> bool {
    matches!(kind, jetstream::context::CreateStreamErrorKind::JetStream(err) if err.error_code() == code)
}

#[async_trait]
impl Backend for NatsBackend {
    async fn get(&self, namespace: &str, key: &[u8]) -> Result<Option<Entry>> {
        if key.len() > MAX_KEY_LEN {
            return Ok(None); // no such key can have been written
        }
        let Some(bucket) = self.bucket(namespace, None).await? else {
            return Ok(None);
        };
        Ok(read_one(&bucket, encode_key(key)).await?.entry)
    }

    async fn keys(
        &self,
        namespace: &str,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>> {
        let Some(bucket) = self.bucket(namespace, None).await? else {
            return Ok(Vec::new());
        };
        let from = list_start(prefix, after);
        let mut keys: Vec<Vec<u8>> = all_keys(&bucket)
            .await?
            .into_iter()
            .filter(|key| {
                key.starts_with(prefix)
                    && match from {
                        Bound::Included(start) => key.as_slice() >= start,
                        Bound::Excluded(start) => key.as_slice() > start,
                        Bound::Unbounded => true,
                    }
            })
            .collect();
        keys.sort();
        keys.truncate(limit);
        Ok(keys)
    }

    async fn export(&self, namespace: &str) -> Result<Vec<(Vec<u8>, Entry)>> {
        let Some(bucket) = self.bucket(namespace, None).await? else {
            return Ok(Vec::new());
        };
        let keys = all_keys(&bucket).await?;
        let reads = futures_util::future::try_join_all(
            keys.iter().map(|key| read_one(&bucket, encode_key(key))),
        )
        .await?;
        // A key deleted between the listing and its read is left out.
        let entries: BTreeMap<Vec<u8>, Entry> = keys
            .into_iter()
            .zip(reads)
            .filter_map(|(key, read)| Some((key, read.entry?)))
            .collect();
        Ok(entries.into_iter().collect())
    }

    async fn usage(&self, namespace: &str) -> Result<Usage> {
        let Some(bucket) = self.bucket(namespace, None).await? else {
            return Ok(Usage::default());
        };
        usage_from(&read_one(&bucket, USAGE_KEY).await?, &bucket.label())
    }

    async fn namespaces(&self) -> Result<Vec<String>> {
        self.open()?;
        let prefix = format!("KV_{}", app_prefix(&self.app));
        let infos: Vec<stream::Info> = within(LIST_TIMEOUT, self.jetstream.streams().try_collect())
            .await
            .and_then(|listed| listed.map_err(|err| err.to_string()))
            .map_err(|reason| unavailable("nats", format!("cannot list buckets ({reason})")))?;
        let mut names = Vec::new();
        for info in infos {
            let config = &info.config;
            let Some(namespace) = config.metadata.get(META_NAMESPACE) else {
                continue;
            };
            if !config.name.starts_with(&prefix) || config.metadata.get(META_APP) != Some(&self.app)
            {
                continue;
            }
            if self.usage(namespace).await?.keys > 0 {
                names.push(namespace.clone());
            }
        }
        names.sort();
        Ok(names)
    }

    async fn set(
        &self,
        namespace: &str,
        quota: Quota,
        key: Vec<u8>,
        value: Bytes,
    ) -> Result<Revision> {
        let (_, revisions) = self
            .write(namespace, quota, vec![key.clone()], || Set {
                key: key.clone(),
                value: value.clone(),
            })
            .await?;
        revision_of(&revisions, &key)
    }

    async fn delete(&self, namespace: &str, quota: Quota, key: Vec<u8>) -> Result<()> {
        self.write(namespace, quota, vec![key.clone()], || Delete {
            key: key.clone(),
        })
        .await?;
        Ok(())
    }

    async fn compare_and_swap(
        &self,
        namespace: &str,
        quota: Quota,
        key: Vec<u8>,
        expect: Expect,
        value: Option<Bytes>,
    ) -> Result<Option<Revision>> {
        let stores = value.is_some();
        let (_, revisions) = self
            .write(namespace, quota, vec![key.clone()], || Swap {
                key: key.clone(),
                expect: expect.clone(),
                value: value.clone(),
            })
            .await?;
        stores.then(|| revision_of(&revisions, &key)).transpose()
    }

    async fn increment(
        &self,
        namespace: &str,
        quota: Quota,
        key: Vec<u8>,
        delta: i64,
    ) -> Result<i64> {
        let (sum, _) = self
            .write(namespace, quota, vec![key.clone()], || Increment {
                key: key.clone(),
                delta,
            })
            .await?;
        Ok(sum)
    }

    async fn batch(&self, namespace: &str, quota: Quota, ops: Vec<BatchOp>) -> Result<()> {
        let keys = ops.iter().map(|op| op.key().to_vec()).collect();
        self.write(namespace, quota, keys, || Batch(ops.clone()))
            .await?;
        Ok(())
    }

    async fn close(&self) -> Result<()> {
        self.closed.store(true, Ordering::Release);
        // Waits for the writes in flight.
        let _all = self.writes.write().await;
        self.buckets
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        // Sends what the client still buffers; the connection itself belongs to the caller.
        let _ = self.client.flush().await;
        Ok(())
    }
}

/// Every key of the bucket written by airssys (not the usage key), in no particular order.
async fn all_keys(bucket: &Bucket) -> Result<Vec<Vec<u8>>> {
    let listed = within(LIST_TIMEOUT, async {
        let mut listing = bucket.store.keys().await.map_err(|err| err.to_string())?;
        let mut keys = Vec::new();
        while let Some(key) = listing.next().await {
            let key = key.map_err(|err| err.to_string())?;
            keys.extend(decode_key(&key));
        }
        Ok::<_, String>(keys)
    })
    .await
    .and_then(|listed| listed);
    listed.map_err(|reason| unavailable(&bucket.label(), reason))
}

fn revision_of(revisions: &Revisions, key: &[u8]) -> Result<Revision> {
    revisions
        .get(key)
        .copied()
        .map(Revision::new)
        .ok_or_else(|| unavailable("nats", "the commit did not report the key's revision"))
}
