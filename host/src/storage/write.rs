//! What each write does, written once for every backend: the checks (quota, expectation,
//! integer) and then the changes to a namespace's table and counters.
//!
//! A backend supplies the namespace's [`Table`] and [`Meta`] inside whatever makes the write
//! atomic (a redb write transaction, a lock). Every write checks everything before it changes
//! anything, so a refused write leaves the table as it was, and one write's refusal never
//! affects another write of the same group commit.

use std::collections::HashMap;

use bytes::Bytes;

use super::backend::{BatchOp, Entry, Expect, Revision};
use super::error::{Result, StorageError};
use super::quota::{Quota, Usage, len};

/// One namespace's keys, as a backend stores them. Errors are backend failures
/// ([`StorageError::Io`]), which abandon the whole transaction.
pub(crate) trait Table {
    fn get(&self, key: &[u8]) -> Result<Option<Entry>>;
    /// The size of the key's entry as quotas count it (key plus value), without copying it.
    fn size(&self, key: &[u8]) -> Result<Option<u64>>;
    fn insert(&mut self, key: Vec<u8>, entry: Entry) -> Result<()>;
    fn remove(&mut self, key: &[u8]) -> Result<()>;
}

/// A namespace's counters, stored with its keys so they stay exact across restarts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Meta {
    pub(crate) usage: Usage,
    /// The last revision given out in the namespace.
    pub(crate) revision: u64,
}

/// What a write works on: one namespace's table and counters, and its quota.
pub(crate) struct Target<'a, T: ?Sized> {
    pub(crate) namespace: &'a str,
    pub(crate) quota: Quota,
    pub(crate) table: &'a mut T,
    pub(crate) meta: &'a mut Meta,
}

/// A write with a typed outcome, queued for a group commit or applied under a lock.
pub(crate) trait Mutation: Send + 'static {
    type Output: Send + 'static;

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
                    Some(len(key) + len(value))
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

pub(crate) struct Set {
    pub(crate) key: Vec<u8>,
    pub(crate) value: Bytes,
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

pub(crate) struct Delete {
    pub(crate) key: Vec<u8>,
}

impl Mutation for Delete {
    type Output = ();

    fn apply<T: Table + ?Sized>(self, target: &mut Target<'_, T>) -> Result<()> {
        target.apply(vec![BatchOp::Delete { key: self.key }])?;
        Ok(())
    }
}

pub(crate) struct Swap {
    pub(crate) key: Vec<u8>,
    pub(crate) expect: Expect,
    pub(crate) value: Option<Bytes>,
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

pub(crate) struct Increment {
    pub(crate) key: Vec<u8>,
    pub(crate) delta: i64,
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

pub(crate) struct Batch(pub(crate) Vec<BatchOp>);

impl Mutation for Batch {
    type Output = ();

    fn apply<T: Table + ?Sized>(self, target: &mut Target<'_, T>) -> Result<()> {
        target.apply(self.0)?;
        Ok(())
    }
}
