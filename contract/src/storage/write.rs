//! What each write does, written once for every store (the host's redb and in-memory
//! backends, the SDK's test host): the checks (quota, expectation, integer) and then the
//! changes to a namespace's table and counters.
//!
//! A store supplies the namespace's [`Table`] and [`Meta`] inside whatever makes the write
//! atomic (a redb write transaction, a lock). Every write checks everything before it changes
//! anything, so a refused write leaves the table as it was, and one write's refusal never
//! affects another write of the same group commit.

use std::collections::HashMap;

use bytes::Bytes;

use super::error::{Result, StorageError};
use super::quota::{Quota, Usage, entry_size};
use super::value::{BatchOp, Entry, Expect, Revision};

/// One namespace's keys, as a store keeps them. Errors are backend failures
/// ([`StorageError::Io`]), which abandon the whole transaction.
pub trait Table {
    /// The entry of `key`, if it has one.
    fn get(&self, key: &[u8]) -> Result<Option<Entry>>;
    /// The size of the key's entry as quotas count it ([`entry_size`](super::entry_size)),
    /// without copying it.
    fn size(&self, key: &[u8]) -> Result<Option<u64>>;
    /// Stores `entry` under `key`, replacing what it held.
    fn insert(&mut self, key: Vec<u8>, entry: Entry) -> Result<()>;
    /// Removes `key`, if present.
    fn remove(&mut self, key: &[u8]) -> Result<()>;
}

/// A namespace's counters, stored with its keys so they stay exact across restarts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Meta {
    /// What the namespace holds.
    pub usage: Usage,
    /// The last revision given out in the namespace.
    pub revision: u64,
}

/// What a write works on: one namespace's table and counters, and its quota.
pub struct Target<'a, T: ?Sized> {
    /// The namespace's name, for errors.
    pub namespace: &'a str,
    /// The quota the write is checked against.
    pub quota: Quota,
    /// The namespace's keys.
    pub table: &'a mut T,
    /// The namespace's counters.
    pub meta: &'a mut Meta,
}

/// A write with a typed outcome, queued for a group commit or applied under a lock.
pub trait Mutation: Send + 'static {
    /// What the write returns.
    type Output: Send + 'static;

    /// Checks the write against `target`, then applies it; a refusal changes nothing.
    fn apply<T: Table + ?Sized>(self, target: &mut Target<'_, T>) -> Result<Self::Output>;
}

impl<T: Table + ?Sized> Target<'_, T> {
    /// Checks `ops` against the quota as one unit, then applies them in order. Returns the
    /// namespace's last revision, which is the revision of the last value set.
    fn apply(&mut self, ops: Vec<BatchOp>) -> Result<Revision> {
        let before = self.meta.usage;
        let mut after = before;
        // The stored size of each key the batch has touched so far.
        let mut sizes: HashMap<&[u8], Option<u64>> = HashMap::new();
        for op in &ops {
            let key = op.key();
            let old = match sizes.get(key) {
                Some(size) => *size,
                None => self.table.size(key)?,
            };
            let new = match op {
                BatchOp::Set { value, .. } => {
                    self.quota.check_value(self.namespace, value)?;
                    Some(entry_size(key, value))
                }
                BatchOp::Delete { .. } => None,
            };
            after = after.replace(old, new);
            sizes.insert(key, new);
        }
        self.quota.check_usage(self.namespace, before, after)?;
        for op in ops {
            match op {
                BatchOp::Set { key, value } => {
                    self.meta.revision += 1;
                    let revision = Revision::new(self.meta.revision);
                    self.table.insert(key, Entry { value, revision })?;
                }
                BatchOp::Delete { key } => self.table.remove(&key)?,
            }
        }
        self.meta.usage = after;
        Ok(Revision::new(self.meta.revision))
    }
}

/// Stores a value; returns its revision.
pub struct Set {
    /// The key.
    pub key: Vec<u8>,
    /// The value.
    pub value: Bytes,
}

impl Mutation for Set {
    type Output = Revision;

    fn apply<T: Table + ?Sized>(self, target: &mut Target<'_, T>) -> Result<Revision> {
        target.apply(vec![BatchOp::Set {
            key: self.key,
            value: self.value,
        }])
    }
}

/// Removes a key; an absent key is not an error.
pub struct Delete {
    /// The key.
    pub key: Vec<u8>,
}

impl Mutation for Delete {
    type Output = ();

    fn apply<T: Table + ?Sized>(self, target: &mut Target<'_, T>) -> Result<()> {
        target.apply(vec![BatchOp::Delete { key: self.key }])?;
        Ok(())
    }
}

/// Stores (or, for `None`, removes) only if the key holds what `expect` says; otherwise
/// [`StorageError::Conflict`] with what it holds.
pub struct Swap {
    /// The key.
    pub key: Vec<u8>,
    /// What the key must hold.
    pub expect: Expect,
    /// What to store, or `None` to remove the key.
    pub value: Option<Bytes>,
}

impl Mutation for Swap {
    type Output = Option<Revision>;

    fn apply<T: Table + ?Sized>(self, target: &mut Target<'_, T>) -> Result<Option<Revision>> {
        let current = target.table.get(&self.key)?;
        let expected = match (&self.expect, &current) {
            (Expect::Absent, None) => true,
            (Expect::Revision(revision), Some(entry)) => entry.revision == *revision,
            (Expect::Value(value), Some(entry)) => entry.value == *value,
            _ => false,
        };
        if !expected {
            return Err(StorageError::Conflict {
                namespace: target.namespace.to_owned(),
                current,
            });
        }
        match self.value {
            Some(value) => target
                .apply(vec![BatchOp::Set {
                    key: self.key,
                    value,
                }])
                .map(Some),
            None => {
                target.apply(vec![BatchOp::Delete { key: self.key }])?;
                Ok(None)
            }
        }
    }
}

/// Adds to the decimal `i64` under a key (absent counts as 0) and stores the sum as text.
pub struct Increment {
    /// The key.
    pub key: Vec<u8>,
    /// What to add.
    pub delta: i64,
}

impl Mutation for Increment {
    type Output = i64;

    fn apply<T: Table + ?Sized>(self, target: &mut Target<'_, T>) -> Result<i64> {
        let current = match target.table.get(&self.key)? {
            None => 0,
            Some(entry) => std::str::from_utf8(&entry.value)
                .ok()
                .and_then(|text| text.parse::<i64>().ok())
                .ok_or_else(|| StorageError::NotAnInteger {
                    namespace: target.namespace.to_owned(),
                })?,
        };
        let sum = current
            .checked_add(self.delta)
            .ok_or_else(|| StorageError::Overflow {
                namespace: target.namespace.to_owned(),
                delta: self.delta,
            })?;
        target.apply(vec![BatchOp::Set {
            key: self.key,
            value: Bytes::from(sum.to_string()),
        }])?;
        Ok(sum)
    }
}

/// Applies its writes in order, all of them or (when one is refused) none.
pub struct Batch(pub Vec<BatchOp>);

impl Mutation for Batch {
    type Output = ();

    fn apply<T: Table + ?Sized>(self, target: &mut Target<'_, T>) -> Result<()> {
        target.apply(self.0)?;
        Ok(())
    }
}
