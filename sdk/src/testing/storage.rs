//! `airssys::storage` under the test host: the contract's storage rules (the ones the host's
//! engine applies) on an in-memory store, behind the checks the host makes: the namespace
//! name, the gate on every call, the component's namespace count and quota.

use std::str::FromStr;

use airssys_contract::CapabilityKind;
use airssys_contract::storage::{
    self as rules, Bytes, Cursor, MemoryStore, Quota, QuotaLimit as RuleLimit, validate_namespace,
};

use super::scope::{self, Scope};
use crate::storage::{Entry, Expect, KeyPage, QuotaLimit, Revision, StorageError, Write};

/// An open namespace: its name and the quota its writes are checked against.
#[derive(Debug)]
pub(crate) struct Handle {
    name: String,
    quota: Quota,
}

/// A refusal of the storage rules as the guest sees it, as the host's interface maps it.
fn lift(err: rules::StorageError) -> StorageError {
    use rules::StorageError as E;
    let message = err.to_string();
    match err {
        E::QuotaExceeded {
            limit, max, actual, ..
        } => StorageError::QuotaExceeded {
            limit: match limit {
                RuleLimit::Keys => QuotaLimit::Keys,
                RuleLimit::Bytes => QuotaLimit::Bytes,
                RuleLimit::ValueSize => QuotaLimit::ValueSize,
                RuleLimit::KeySize => QuotaLimit::KeySize,
                RuleLimit::Namespaces => QuotaLimit::Namespaces,
            },
            max,
            actual,
            message,
        },
        E::Conflict { current, .. } => StorageError::Conflict {
            current: current.map(entry),
        },
        E::NotAnInteger { .. } => StorageError::NotAnInteger(message),
        E::InvalidNamespace { .. } | E::EmptyKey { .. } | E::InvalidCursor | E::Overflow { .. } => {
            StorageError::Invalid(message)
        }
        _ => StorageError::Unavailable(message),
    }
}

fn entry(entry: rules::Entry) -> Entry {
    Entry {
        value: entry.value.to_vec(),
        revision: Revision::new(entry.revision.get()),
    }
}

/// The current scope, with the gate asked again for `namespace`: every call is decided.
fn allowed(namespace: &str) -> Result<Scope, StorageError> {
    let scope = scope::current()
        .ok_or_else(|| StorageError::Unsupported(scope::no_host("airssys::storage")))?;
    scope
        .guest
        .check(CapabilityKind::Storage, namespace, None)
        .map_err(|denial| StorageError::Denied(denial.message))?;
    Ok(scope)
}

pub(crate) fn open(name: &str) -> Result<Handle, StorageError> {
    if scope::current().is_none() {
        return Err(StorageError::Unsupported(scope::no_host(
            "airssys::storage",
        )));
    }
    validate_namespace(name).map_err(lift)?;
    let scope = allowed(name)?;
    let setup = scope.host.setup.borrow();
    let mut opened = scope.guest.namespaces.borrow_mut();
    if !opened.contains(name) {
        if opened.len() >= setup.namespaces {
            return Err(lift(rules::StorageError::QuotaExceeded {
                namespace: name.to_owned(),
                limit: RuleLimit::Namespaces,
                max: setup.namespaces as u64,
                actual: opened.len() as u64 + 1,
            }));
        }
        opened.insert(name.to_owned());
    }
    Ok(Handle {
        name: name.to_owned(),
        quota: Quota::default().intersect(setup.quota),
    })
}

/// Runs `f` on the store once the key is acceptable and the namespace still allowed.
fn keyed<T>(
    ns: &Handle,
    key: &[u8],
    f: impl FnOnce(&MemoryStore) -> rules::Result<T>,
) -> Result<T, StorageError> {
    let scope = allowed(&ns.name)?;
    ns.quota.check_key(&ns.name, key).map_err(lift)?;
    f(&scope.host.store).map_err(lift)
}

pub(crate) fn get(ns: &Handle, key: &[u8]) -> Result<Option<Entry>, StorageError> {
    keyed(ns, key, |store| store.get(&ns.name, key)).map(|found| found.map(entry))
}

pub(crate) fn exists(ns: &Handle, key: &[u8]) -> Result<bool, StorageError> {
    Ok(get(ns, key)?.is_some())
}

pub(crate) fn set(ns: &Handle, key: &[u8], value: &[u8]) -> Result<Revision, StorageError> {
    let set = rules::Set {
        key: key.to_vec(),
        value: Bytes::copy_from_slice(value),
    };
    keyed(ns, key, |store| store.write(&ns.name, ns.quota, set)).map(|r| Revision::new(r.get()))
}

pub(crate) fn delete(ns: &Handle, key: &[u8]) -> Result<(), StorageError> {
    let delete = rules::Delete { key: key.to_vec() };
    keyed(ns, key, |store| store.write(&ns.name, ns.quota, delete))
}

pub(crate) fn list(
    ns: &Handle,
    prefix: &[u8],
    cursor: Option<&str>,
    limit: u32,
) -> Result<KeyPage, StorageError> {
    let scope = allowed(&ns.name)?;
    let cursor = cursor.map(Cursor::from_str).transpose().map_err(lift)?;
    let limit = limit as usize;
    let keys = scope
        .host
        .store
        .keys(
            &ns.name,
            prefix,
            cursor.as_ref().map(Cursor::key),
            rules::KeyPage::fetch(limit),
        )
        .map_err(lift)?;
    let page = rules::KeyPage::from_fetched(keys, limit);
    Ok(KeyPage {
        keys: page.keys,
        cursor: page.cursor.map(|cursor| cursor.to_string()),
    })
}

pub(crate) fn compare_and_swap(
    ns: &Handle,
    key: &[u8],
    expect: &Expect,
    value: Option<&[u8]>,
) -> Result<Option<Revision>, StorageError> {
    let swap = rules::Swap {
        key: key.to_vec(),
        expect: match expect {
            Expect::Absent => rules::Expect::Absent,
            Expect::Revision(revision) => {
                rules::Expect::Revision(rules::Revision::new(revision.get()))
            }
            Expect::Value(value) => rules::Expect::Value(Bytes::copy_from_slice(value)),
        },
        value: value.map(Bytes::copy_from_slice),
    };
    keyed(ns, key, |store| store.write(&ns.name, ns.quota, swap))
        .map(|revision| revision.map(|r| Revision::new(r.get())))
}

pub(crate) fn increment(ns: &Handle, key: &[u8], delta: i64) -> Result<i64, StorageError> {
    let increment = rules::Increment {
        key: key.to_vec(),
        delta,
    };
    keyed(ns, key, |store| store.write(&ns.name, ns.quota, increment))
}

pub(crate) fn batch(ns: &Handle, writes: &[Write]) -> Result<(), StorageError> {
    let scope = allowed(&ns.name)?;
    let ops: Vec<rules::BatchOp> = writes
        .iter()
        .map(|write| match write {
            Write::Set(key, value) => rules::BatchOp::set(key.clone(), value.clone()),
            Write::Delete(key) => rules::BatchOp::delete(key.clone()),
        })
        .collect();
    for op in &ops {
        ns.quota.check_key(&ns.name, op.key()).map_err(lift)?;
    }
    scope
        .host
        .store
        .write(&ns.name, ns.quota, rules::Batch(ops))
        .map_err(lift)
}

/// Stores a value as the embedder would, outside any component.
pub(crate) fn seed(
    store: &MemoryStore,
    namespace: &str,
    key: &[u8],
    value: &[u8],
) -> Result<(), StorageError> {
    validate_namespace(namespace).map_err(lift)?;
    let quota = Quota::default();
    quota.check_key(namespace, key).map_err(lift)?;
    let set = rules::Set {
        key: key.to_vec(),
        value: Bytes::copy_from_slice(value),
    };
    store.write(namespace, quota, set).map(drop).map_err(lift)
}

/// Reads a value as the embedder would, outside any component.
pub(crate) fn peek(
    store: &MemoryStore,
    namespace: &str,
    key: &[u8],
) -> Result<Option<Vec<u8>>, StorageError> {
    validate_namespace(namespace).map_err(lift)?;
    let found = store.get(namespace, key).map_err(lift)?;
    Ok(found.map(|entry| entry.value.to_vec()))
}
