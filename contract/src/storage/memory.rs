//! The in-memory store: the same semantics as the host's redb file (the writes are the same
//! code, in `write.rs`), nothing kept after the process. The host's `Storage::in_memory` and
//! the SDK's test host both keep their data in one.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::error::{Result, StorageError};
use super::key::list_start;
use super::quota::{Quota, Usage, entry_size};
use super::value::Entry;
use super::write::{Meta, Mutation, Table, Target};

/// Namespaces in nested maps, behind one lock. Every call is a short critical section with no
/// I/O.
///
/// ```
/// use airssys_contract::storage::{MemoryStore, Quota, Set};
/// let store = MemoryStore::default();
/// let set = Set { key: b"k".to_vec(), value: "v".into() };
/// let revision = store.write("app.cache", Quota::default(), set).unwrap();
/// assert_eq!(store.get("app.cache", b"k").unwrap().unwrap().revision, revision);
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
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
        Ok(BTreeMap::get(self, key).map(|entry| entry_size(key, &entry.value)))
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

impl MemoryStore {
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

    /// The entry of `key` in `namespace`, if it has one.
    pub fn get(&self, namespace: &str, key: &[u8]) -> Result<Option<Entry>> {
        Ok(self
            .read(namespace, |space| space.entries.get(key).cloned())?
            .flatten())
    }

    /// Up to `limit` keys that start with `prefix` and sort after `after` (if given), in
    /// ascending order.
    pub fn keys(
        &self,
        namespace: &str,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>> {
        let keys = self.read(namespace, |space| {
            space
                .entries
                .range::<[u8], _>((list_start(prefix, after), Bound::Unbounded))
                .map(|(key, _)| key)
                .take_while(|key| key.starts_with(prefix))
                .take(limit)
                .cloned()
                .collect()
        })?;
        Ok(keys.unwrap_or_default())
    }

    /// Every key of `namespace` with its entry, in key order.
    pub fn export(&self, namespace: &str) -> Result<Vec<(Vec<u8>, Entry)>> {
        let entries = self.read(namespace, |space| {
            space
                .entries
                .iter()
                .map(|(key, entry)| (key.clone(), entry.clone()))
                .collect()
        })?;
        Ok(entries.unwrap_or_default())
    }

    /// How many keys and bytes `namespace` holds.
    pub fn usage(&self, namespace: &str) -> Result<Usage> {
        Ok(self
            .read(namespace, |space| space.meta.usage)?
            .unwrap_or_default())
    }

    /// The namespaces that hold at least one key, in order.
    pub fn namespaces(&self) -> Result<Vec<String>> {
        Ok(self
            .state()?
            .namespaces
            .iter()
            .filter(|(_, space)| space.meta.usage.keys > 0)
            .map(|(name, _)| name.clone())
            .collect())
    }

    /// Applies `mutation` to `namespace` under `quota`, atomically.
    pub fn write<M: Mutation>(
        &self,
        namespace: &str,
        quota: Quota,
        mutation: M,
    ) -> Result<M::Output> {
        let mut state = self.state()?;
        let space = state.namespaces.entry(namespace.to_owned()).or_default();
        mutation.apply(&mut Target {
            namespace,
            quota,
            table: &mut space.entries,
            meta: &mut space.meta,
        })
    }

    /// Drops everything; every later call fails with [`StorageError::Closed`].
    pub fn close(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.closed = true;
        state.namespaces.clear();
    }
}
