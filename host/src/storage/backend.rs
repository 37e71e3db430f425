//! The backend trait. The values that cross it ([`Entry`], [`Expect`], [`BatchOp`],
//! [`Revision`]) are the contract's, shared with the SDK's test host.
//!
//! The trait is shaped so that a NATS JetStream key-value bucket can implement it as well as
//! redb: revisions are opaque increasing numbers (JetStream's stream sequence), and
//! compare-and-swap expects a revision (`update(key, value, revision)`), absence (`create`)
//! or a previous value (read the revision, then `update` on it).

use std::fmt;

use airssys_contract::storage::{BatchOp, Bytes, Entry, Expect, Quota, Result, Revision, Usage};
use async_trait::async_trait;

/// A storage engine: namespaces of byte keys and values with revisions.
///
/// [`Storage`](super::Storage) validates namespace names and keys (non-empty, at most the
/// quota's `max_key_size`) before calling a backend. A backend must:
///
/// - keep namespaces apart whatever bytes their keys hold;
/// - make each write method atomic, and return only once the write is durable (or, for an
///   in-memory backend, visible to every later read);
/// - enforce the [`Quota`] passed with each write (value size, keys, bytes), leaving nothing
///   written when it refuses: applying the contract's write rules
///   ([`Mutation`](airssys_contract::storage::Mutation)) to its tables does;
/// - list keys in ascending byte order.
#[async_trait]
pub trait Backend: Send + Sync + fmt::Debug + 'static {
    /// The value of `key` and its revision, if it has one.
    async fn get(&self, namespace: &str, key: &[u8]) -> Result<Option<Entry>>;

    /// Up to `limit` keys that start with `prefix` and sort after `after` (if given), in
    /// ascending order.
    async fn keys(
        &self,
        namespace: &str,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>>;

    /// Every key and entry of the namespace, from one consistent snapshot, in key order.
    async fn export(&self, namespace: &str) -> Result<Vec<(Vec<u8>, Entry)>>;

    /// How many keys and bytes the namespace holds.
    async fn usage(&self, namespace: &str) -> Result<Usage>;

    /// The namespaces that hold at least one key, in order.
    async fn namespaces(&self) -> Result<Vec<String>>;

    /// Stores `value` under `key` and returns its new revision.
    async fn set(
        &self,
        namespace: &str,
        quota: Quota,
        key: Vec<u8>,
        value: Bytes,
    ) -> Result<Revision>;

    /// Removes `key`; nothing happens if it is absent.
    async fn delete(&self, namespace: &str, quota: Quota, key: Vec<u8>) -> Result<()>;

    /// Stores `value` under `key` (or removes it, for `None`) only if the key holds what
    /// `expect` says; returns the new revision of a stored value.
    async fn compare_and_swap(
        &self,
        namespace: &str,
        quota: Quota,
        key: Vec<u8>,
        expect: Expect,
        value: Option<Bytes>,
    ) -> Result<Option<Revision>>;

    /// Adds `delta` to the decimal `i64` stored under `key` (a missing key counts as 0),
    /// stores the sum as decimal text and returns it.
    async fn increment(
        &self,
        namespace: &str,
        quota: Quota,
        key: Vec<u8>,
        delta: i64,
    ) -> Result<i64>;

    /// Applies every write in order, all or none.
    async fn batch(&self, namespace: &str, quota: Quota, ops: Vec<BatchOp>) -> Result<()>;

    /// Finishes the writes already accepted, then refuses every call with
    /// [`Closed`](super::StorageError::Closed) and releases the backend's resources.
    async fn close(&self) -> Result<()>;
}
