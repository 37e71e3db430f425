//! Durable key-value storage in the namespaces the component declared (`storage`) and the
//! operator granted. Keys and values are bytes; a namespace reaches only its own keys. Every
//! write returns once it is durable, so it survives the host being killed.
//!
//! ```no_run
//! # fn run() -> Result<(), airssys::storage::StorageError> {
//! use airssys::storage;
//!
//! #[derive(serde::Serialize, serde::Deserialize, Default)]
//! struct Cart { items: Vec<String> }
//!
//! let carts = storage::open("shop.carts")?;
//! let visits = carts.increment("visits", 1)?;
//! carts.set_json("ada", &Cart { items: vec!["apple".into()] })?;
//! let cart: Option<Cart> = carts.get_json("ada")?;
//! // Read, change and write back without losing a concurrent update (compare-and-swap).
//! let cart = carts.update_json("ada", |cart: Option<Cart>| {
//!     let mut cart = cart.unwrap_or_default();
//!     cart.items.push("pear".into());
//!     cart
//! })?;
//! carts.batch().set("a", "1").delete("b").commit()?;
//! for key in carts.keys("a") {
//!     let key = key?;
//! }
//! # Ok(()) }
//! ```
//!
//! Errors are [`StorageError`]s, typed so a caller can react (a [`Conflict`] carries what the
//! key holds now); `?` turns one into the crate's [`Error`] in a handler. Off wasm, the test
//! host of `airssys::testing` serves them with the host's rules; with no test host, [`open`]
//! fails with [`StorageError::Unsupported`].
//!
//! [`Conflict`]: StorageError::Conflict

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, ErrorKind};

/// Most keys one page of [`Namespace::list`] returns.
pub const MAX_PAGE_SIZE: u32 = 1_000;

/// Keys fetched per page by [`Namespace::keys`].
const KEYS_PAGE: u32 = 100;

/// How often [`Namespace::update_json`] retries after losing a race before giving up.
const UPDATE_ATTEMPTS: usize = 256;

/// Opens the namespace `name` (`app.cache`: dot-separated tokens of letters, digits, `_` and
/// `-`). It must be declared in `capabilities(storage(..))` and granted by the operator;
/// otherwise [`StorageError::Denied`]. A namespace needs no creating.
pub fn open(name: &str) -> Result<Namespace, StorageError> {
    Ok(Namespace {
        name: name.to_owned(),
        handle: imp::open(name)?,
    })
}

/// An open namespace: the only keys it can reach. Close it by dropping it.
#[derive(Debug)]
pub struct Namespace {
    name: String,
    handle: imp::Handle,
}

/// When a value was written: grows with every write in its namespace and is never reused, so
/// a [`compare_and_swap`](Namespace::compare_and_swap) on it cannot mistake a newer value for
/// the one read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Revision(u64);

impl Revision {
    /// A revision read earlier and kept as a number (say, as an HTTP `ETag`), to compare and
    /// swap on later.
    pub const fn new(revision: u64) -> Self {
        Self(revision)
    }

    /// The number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A stored value with its revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The value.
    pub value: Vec<u8>,
    /// When it was written.
    pub revision: Revision,
}

/// What a [`compare_and_swap`](Namespace::compare_and_swap) expects the key to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Nothing: create only if absent.
    Absent,
    /// The value written at this revision (from [`Namespace::entry`]).
    Revision(Revision),
    /// Exactly these bytes.
    Value(Vec<u8>),
}

/// One page of [`Namespace::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPage {
    /// Keys in ascending byte order.
    pub keys: Vec<Vec<u8>>,
    /// Pass it to the next `list` call for the next page; `None` on the last page.
    pub cursor: Option<String>,
}

/// Which limit a call ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum QuotaLimit {
    /// Keys in the namespace.
    Keys,
    /// Bytes in the namespace, keys plus values.
    Bytes,
    /// Bytes in one value.
    ValueSize,
    /// Bytes in one key.
    KeySize,
    /// Namespaces this component may open.
    Namespaces,
}

/// Why a storage call failed; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The namespace is not both declared and granted.
    #[error("denied: {0}")]
    Denied(String),
    /// A write (or an open) would exceed a quota.
    #[error("quota exceeded: {message}")]
    QuotaExceeded {
        /// Which limit.
        limit: QuotaLimit,
        /// Its value.
        max: u64,
        /// What the call would have needed.
        actual: u64,
        /// Names the namespace, the limit and the fix.
        message: String,
    },
    /// A compare-and-swap found something other than it expected.
    #[error("compare-and-swap conflict: the key holds {}; read it again and retry", found(current.as_ref()))]
    Conflict {
        /// What the key holds now, so a retry needs no other read.
        current: Option<Entry>,
    },
    /// An increment found a value that is not a decimal `i64`.
    #[error("not an integer: {0}")]
    NotAnInteger(String),
    /// An invalid namespace name, key or cursor, or an increment that would overflow.
    #[error("invalid: {0}")]
    Invalid(String),
    /// The host has no storage, or it failed; retrying may help.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A value could not be encoded as JSON, or a stored value is not the JSON expected.
    #[error("JSON: {0}")]
    Json(String),
    /// Outside a component there is no host to store anything.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

fn found(current: Option<&Entry>) -> String {
    match current {
        Some(entry) => format!("revision {}", entry.revision),
        None => "no value".to_owned(),
    }
}

impl StorageError {
    /// The crate's [`ErrorKind`] for this error, as `?` converts it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Denied(_) => ErrorKind::Denied,
            Self::QuotaExceeded { .. }
            | Self::NotAnInteger(_)
            | Self::Invalid(_)
            | Self::Json(_) => ErrorKind::InvalidInput,
            // Both clear up by themselves: retrying may help.
            Self::Conflict { .. } | Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::Unsupported(_) => ErrorKind::Unsupported,
        }
    }
}

impl From<StorageError> for Error {
    fn from(err: StorageError) -> Self {
        Error::new(err.kind(), err.to_string())
    }
}

impl From<serde_json::Error> for StorageError {
    fn from(err: serde_json::Error) -> Self {
        Self::Json(err.to_string())
    }
}

impl Namespace {
    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value of `key`, if it has one.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.entry(key)?.map(|entry| entry.value))
    }

    /// The value of `key` with its revision, for a later
    /// [`compare_and_swap`](Self::compare_and_swap).
    pub fn entry(&self, key: impl AsRef<[u8]>) -> Result<Option<Entry>, StorageError> {
        imp::get(&self.handle, key.as_ref())
    }

    /// Whether `key` has a value.
    pub fn exists(&self, key: impl AsRef<[u8]>) -> Result<bool, StorageError> {
        imp::exists(&self.handle, key.as_ref())
    }

    /// Stores `value` under `key`; returns its revision once it is durable.
    pub fn set(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<Revision, StorageError> {
        imp::set(&self.handle, key.as_ref(), value.as_ref())
    }

    /// Removes `key`; removing an absent key is not an error.
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<(), StorageError> {
        imp::delete(&self.handle, key.as_ref())
    }

    /// Up to `limit` keys (1 to [`MAX_PAGE_SIZE`]) that start with `prefix`, in ascending byte
    /// order, resuming after `cursor` (the previous page's). Keys written or deleted between
    /// pages never make a page repeat or skip a key that existed throughout.
    pub fn list(
        &self,
        prefix: impl AsRef<[u8]>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<KeyPage, StorageError> {
        imp::list(&self.handle, prefix.as_ref(), cursor, limit)
    }

    /// Every key that starts with `prefix`, in ascending byte order, fetched a page at a time.
    pub fn keys(&self, prefix: impl AsRef<[u8]>) -> Keys<'_> {
        Keys {
            namespace: self,
            prefix: prefix.as_ref().to_vec(),
            page: Vec::new().into_iter(),
            cursor: None,
            done: false,
        }
    }

    /// Stores `value` (or, for `None`, removes the key) only if the key holds what `expect`
    /// says; otherwise fails with [`StorageError::Conflict`], carrying what it holds now.
    /// Returns the revision of a stored value.
    pub fn compare_and_swap(
        &self,
        key: impl AsRef<[u8]>,
        expect: Expect,
        value: Option<&[u8]>,
    ) -> Result<Option<Revision>, StorageError> {
        imp::compare_and_swap(&self.handle, key.as_ref(), &expect, value)
    }

    /// Adds `delta` to the decimal `i64` under `key` (a missing key counts as 0), atomically,
    /// and returns the sum, which is stored as decimal text (`"42"`).
    pub fn increment(&self, key: impl AsRef<[u8]>, delta: i64) -> Result<i64, StorageError> {
        imp::increment(&self.handle, key.as_ref(), delta)
    }

    /// Starts a batch of writes that [`commit`](Batch::commit) applies all together or not at
    /// all.
    pub fn batch(&self) -> Batch<'_> {
        Batch {
            namespace: self,
            writes: Vec::new(),
        }
    }

    /// The value of `key` decoded from JSON, if it has one.
    pub fn get_json<T: DeserializeOwned>(
        &self,
        key: impl AsRef<[u8]>,
    ) -> Result<Option<T>, StorageError> {
        self.get(key)?
            .map(|value| serde_json::from_slice(&value))
            .transpose()
            .map_err(StorageError::from)
    }

    /// Stores `value` as JSON under `key`.
    pub fn set_json<T: Serialize + ?Sized>(
        &self,
        key: impl AsRef<[u8]>,
        value: &T,
    ) -> Result<Revision, StorageError> {
        self.set(key, serde_json::to_vec(value)?)
    }

    /// Reads the JSON value of `key` (`None` if absent), passes it to `change` and stores what
    /// it returns, only if nobody wrote the key meanwhile; otherwise calls `change` again
    /// with the newer value. So no concurrent update is lost. Returns the value stored.
    ///
    /// Gives up with [`StorageError::Conflict`] after losing 256 races in a row.
    pub fn update_json<T, F>(&self, key: impl AsRef<[u8]>, mut change: F) -> Result<T, StorageError>
    where
        T: Serialize + DeserializeOwned,
        F: FnMut(Option<T>) -> T,
    {
        let key = key.as_ref();
        let mut current = self.entry(key)?;
        for _ in 0..UPDATE_ATTEMPTS {
            let (expect, old) = match current {
                None => (Expect::Absent, None),
                Some(entry) => (
                    Expect::Revision(entry.revision),
                    Some(serde_json::from_slice(&entry.value)?),
                ),
            };
            let new = change(old);
            match self.compare_and_swap(key, expect, Some(&serde_json::to_vec(&new)?)) {
                Ok(_) => return Ok(new),
                Err(StorageError::Conflict { current: now }) => current = now,
                Err(err) => return Err(err),
            }
        }
        Err(StorageError::Conflict { current })
    }
}

/// Every key with a prefix, from [`Namespace::keys`]. Yields an error once and then ends if a
/// page cannot be read.
#[derive(Debug)]
pub struct Keys<'a> {
    namespace: &'a Namespace,
    prefix: Vec<u8>,
    page: std::vec::IntoIter<Vec<u8>>,
    cursor: Option<String>,
    done: bool,
}

impl Iterator for Keys<'_> {
    type Item = Result<Vec<u8>, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(key) = self.page.next() {
                return Some(Ok(key));
            }
            if self.done {
                return None;
            }
            let page = self
                .namespace
                .list(&self.prefix, self.cursor.as_deref(), KEYS_PAGE);
            match page {
                Ok(page) => {
                    self.done = page.cursor.is_none();
                    self.cursor = page.cursor;
                    self.page = page.keys.into_iter();
                }
                Err(err) => {
                    self.done = true;
                    return Some(Err(err));
                }
            }
        }
    }
}

/// Writes applied together by [`commit`](Self::commit): all of them, in order, or (when one is
/// refused, say by a quota) none.
#[derive(Debug)]
#[must_use = "a batch does nothing until it is committed"]
pub struct Batch<'a> {
    namespace: &'a Namespace,
    writes: Vec<Write>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Write {
    Set(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

impl Batch<'_> {
    /// Adds a set of `key` to `value`.
    pub fn set(mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        let write = Write::Set(key.as_ref().to_vec(), value.as_ref().to_vec());
        self.writes.push(write);
        self
    }

    /// Adds a set of `key` to `value` as JSON.
    pub fn set_json<T: Serialize + ?Sized>(
        self,
        key: impl AsRef<[u8]>,
        value: &T,
    ) -> Result<Self, StorageError> {
        Ok(self.set(key, serde_json::to_vec(value)?))
    }

    /// Adds a delete of `key`.
    pub fn delete(mut self, key: impl AsRef<[u8]>) -> Self {
        self.writes.push(Write::Delete(key.as_ref().to_vec()));
        self
    }

    /// Applies the writes as one unit, durably.
    pub fn commit(self) -> Result<(), StorageError> {
        imp::batch(&self.namespace.handle, &self.writes)
    }
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::{Entry, Expect, KeyPage, QuotaLimit, Revision, StorageError, Write};
    use crate::__private::bindings::airssys::core::storage as host;

    pub(super) type Handle = host::Namespace;

    pub(super) fn open(name: &str) -> Result<Handle, StorageError> {
        host::Namespace::open(name).map_err(from)
    }

    pub(super) fn get(ns: &Handle, key: &[u8]) -> Result<Option<Entry>, StorageError> {
        Ok(ns.get(key).map_err(from)?.map(entry))
    }

    pub(super) fn exists(ns: &Handle, key: &[u8]) -> Result<bool, StorageError> {
        ns.exists(key).map_err(from)
    }

    pub(super) fn set(ns: &Handle, key: &[u8], value: &[u8]) -> Result<Revision, StorageError> {
        ns.set(key, value).map(Revision).map_err(from)
    }

    pub(super) fn delete(ns: &Handle, key: &[u8]) -> Result<(), StorageError> {
        ns.delete(key).map_err(from)
    }

    pub(super) fn list(
        ns: &Handle,
        prefix: &[u8],
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<KeyPage, StorageError> {
        let page = ns.list_keys(prefix, cursor, limit).map_err(from)?;
        Ok(KeyPage {
            keys: page.keys,
            cursor: page.cursor,
        })
    }

    pub(super) fn compare_and_swap(
        ns: &Handle,
        key: &[u8],
        expect: &Expect,
        value: Option<&[u8]>,
    ) -> Result<Option<Revision>, StorageError> {
        let expect = match expect {
            Expect::Absent => host::Expect::Absent,
            Expect::Revision(revision) => host::Expect::Revision(revision.0),
            Expect::Value(value) => host::Expect::Value(value.clone()),
        };
        let revision = ns.compare_and_swap(key, &expect, value).map_err(from)?;
        Ok(revision.map(Revision))
    }

    pub(super) fn increment(ns: &Handle, key: &[u8], delta: i64) -> Result<i64, StorageError> {
        ns.increment(key, delta).map_err(from)
    }

    pub(super) fn batch(ns: &Handle, writes: &[Write]) -> Result<(), StorageError> {
        let writes: Vec<host::Write> = writes
            .iter()
            .map(|write| match write {
                Write::Set(key, value) => host::Write::Set((key.clone(), value.clone())),
                Write::Delete(key) => host::Write::Delete(key.clone()),
            })
            .collect();
        ns.batch(&writes).map_err(from)
    }

    fn entry(entry: host::Entry) -> Entry {
        Entry {
            value: entry.value,
            revision: Revision(entry.revision),
        }
    }

    fn from(err: host::StorageError) -> StorageError {
        use host::StorageError as E;
        match err {
            E::Denied(message) => StorageError::Denied(message),
            E::QuotaExceeded(quota) => StorageError::QuotaExceeded {
                limit: match quota.limit {
                    host::QuotaLimit::Keys => QuotaLimit::Keys,
                    host::QuotaLimit::Bytes => QuotaLimit::Bytes,
                    host::QuotaLimit::ValueSize => QuotaLimit::ValueSize,
                    host::QuotaLimit::KeySize => QuotaLimit::KeySize,
                    host::QuotaLimit::Namespaces => QuotaLimit::Namespaces,
                },
                max: quota.max,
                actual: quota.actual,
                message: quota.message,
            },
            E::Conflict(current) => StorageError::Conflict {
                current: current.map(entry),
            },
            E::NotAnInteger(message) => StorageError::NotAnInteger(message),
            E::Invalid(message) => StorageError::Invalid(message),
            E::Unavailable(message) => StorageError::Unavailable(message),
        }
    }
}

/// Off wasm, the test host of the current call serves them (`airssys::testing`).
#[cfg(not(target_arch = "wasm32"))]
use crate::testing::storage as imp;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_wasm_open_is_unsupported() {
        let err = open("app.cache").unwrap_err();
        assert!(matches!(err, StorageError::Unsupported(_)), "{err:?}");
        let err = Error::from(err);
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(err.message().contains("inside a component"), "{err}");
    }

    #[test]
    fn errors_convert_to_the_crate_error_with_their_kind() {
        let conflict = StorageError::Conflict {
            current: Some(Entry {
                value: b"1".to_vec(),
                revision: Revision(7),
            }),
        };
        let err = Error::from(conflict);
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.message().contains("holds revision 7"), "{err}");
        let quota = StorageError::QuotaExceeded {
            limit: QuotaLimit::Keys,
            max: 1,
            actual: 2,
            message: "namespace `a` would exceed its max_keys quota (2 > 1)".into(),
        };
        assert_eq!(Error::from(quota).kind(), ErrorKind::InvalidInput);
        assert_eq!(
            Error::from(StorageError::Denied("storage `a`".into())).kind(),
            ErrorKind::Denied
        );
    }
}
