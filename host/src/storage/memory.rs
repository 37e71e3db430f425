//! The in-memory backend, for tests and throwaway hosts: the same semantics as the redb
//! backend (the writes are the same code, in `write.rs`), nothing kept after the process.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use bytes::Bytes;

use super::backend::{Backend, BatchOp, Entry, Expect, Revision};
use super::error::{Result, StorageError};
use super::key::start;
use super::quota::{Quota, Usage, len};
use super::write::{Batch, Delete, Increment, Meta, Mutation, Set, Swap, Table, Target};

/// Namespaces in nested maps, behind one lock. Every call is a short critical section with no
/// I/O, so it runs on the caller's task.
#[derive(Debug, Default)]
pub(crate) struct MemoryBackend {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    namespaces: BTreeMap<String, Space>,
    closed: bool,
}

/// One namespace. It stays once created, so its revision counter never restarts.
#[derive(Debug, Default)]
struct Space {
    entries: BTreeMap<Vec<u8>, Entry>,
    meta: Meta,
}

impl Table for BTreeMap<Vec<u8>, Entry> {
    fn get(&self, key: &[u8]) -> Result<Option<Entry>> {
        Ok(BTreeMap::get(self, key).cloned())
    }

    fn size(&self, key: &[u8]) -> Result<Option<u64>> {
        Ok(BTreeMap::get(self, key).map(|entry| len(key) + len(&entry.value)))
    }

    fn insert(&mut self, key: Vec<u8>, entry: Entry) -> Result<()> {
        BTreeMap::insert(self, key, entry);
        Ok(())
    }

    fn remove(&mut self, key: &[u8]) -> Result<()> {
        BTreeMap::remove(self, key);
        Ok(())
    }
}

impl MemoryBackend {
    fn state(&self) -> Result<MutexGuard<'_, State>> {
        // Writes check before they change anything, so a panic elsewhere cannot have left the
        // maps half-written; the state behind a poisoned lock is sound.
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.closed {
            return Err(StorageError::Closed);
        }
        Ok(state)
    }

    fn read<R>(&self, namespace: &str, read: impl FnOnce(&Space) -> R) -> Result<Option<R>> {
        Ok(self.state()?.namespaces.get(namespace).map(read))
    }

    fn write<M: Mutation>(&self, namespace: &str, quota: Quota, mutation: M) -> Result<M::Output> {
        let mut state = self.state()?;
        let space = state.namespaces.entry(namespace.to_owned()).or_default();
        mutation.apply(&mut Target {
            namespace,
            quota,
            table: &mut space.entries,
            meta: &mut space.meta,
        })
    }
}

#[async_trait]
impl Backend for MemoryBackend {
    async fn get(&self, namespace: &str, key: &[u8]) -> Result<Option<Entry>> {
        Ok(self
            .read(namespace, |space| space.entries.get(key).cloned())?
            .flatten())
    }

    async fn keys(
        &self,
        namespace: &str,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>> {
        let keys = self.read(namespace, |space| {
            space
                .entries
                .range::<[u8], _>((start(prefix, after), Bound::Unbounded))
                .map(|(key, _)| key)
                .take_while(|key| key.starts_with(prefix))
                .take(limit)
                .cloned()
                .collect()
        })?;
        Ok(keys.unwrap_or_default())
    }

    async fn export(&self, namespace: &str) -> Result<Vec<(Vec<u8>, Entry)>> {
        let entries = self.read(namespace, |space| {
            space
                .entries
                .iter()
                .map(|(key, entry)| (key.clone(), entry.clone()))
                .collect()
        })?;
        Ok(entries.unwrap_or_default())
    }

    async fn usage(&self, namespace: &str) -> Result<Usage> {
        Ok(self
            .read(namespace, |space| space.meta.usage)?
            .unwrap_or_default())
    }

    async fn namespaces(&self) -> Result<Vec<String>> {
        Ok(self
            .state()?
            .namespaces
            .iter()
            .filter(|(_, space)| space.meta.usage.keys > 0)
            .map(|(name, _)| name.clone())
            .collect())
    }

    async fn set(
        &self,
        namespace: &str,
        quota: Quota,
        key: Vec<u8>,
        value: Bytes,
    ) -> Result<Revision> {
        self.write(namespace, quota, Set { key, value })
    }

    async fn delete(&self, namespace: &str, quota: Quota, key: Vec<u8>) -> Result<()> {
        self.write(namespace, quota, Delete { key })
    }

    async fn compare_and_swap(
        &self,
        namespace: &str,
        quota: Quota,
        key: Vec<u8>,
        expect: Expect,
        value: Option<Bytes>,
    ) -> Result<Option<Revision>> {
        self.write(namespace, quota, Swap { key, expect, value })
    }

    async fn increment(
        &self,
        namespace: &str,
        quota: Quota,
        key: Vec<u8>,
        delta: i64,
    ) -> Result<i64> {
        self.write(namespace, quota, Increment { key, delta })
    }

    async fn batch(&self, namespace: &str, quota: Quota, ops: Vec<BatchOp>) -> Result<()> {
        self.write(namespace, quota, Batch(ops))
    }

    async fn close(&self) -> Result<()> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.closed = true;
        state.namespaces.clear();
        Ok(())
    }
}
