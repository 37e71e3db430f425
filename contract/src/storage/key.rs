//! Namespace names, and where a page of keys starts.
//!
//! Keys are arbitrary bytes and are never encoded together with their namespace: each backend
//! keeps a namespace's keys in a structure of their own (a redb table, a map), so no key can
//! reach another namespace whatever bytes it holds.

use std::fmt;
use std::ops::Bound;
use std::str::FromStr;

use crate::CapabilityKind;

use super::error::{Result, StorageError};

/// The longest namespace name, in bytes.
pub const MAX_NAMESPACE_LEN: usize = 255;

/// The most keys one page of a listing holds.
pub const MAX_PAGE_SIZE: usize = 1_000;

/// Checks that `name` names one namespace: dot-separated tokens of the `storage` capability
/// grammar (`app.cache`), without the wildcards that only grants may use.
///
/// ```
/// use airssys_contract::storage::validate_namespace;
/// assert!(validate_namespace("app.cache").is_ok());
/// assert!(validate_namespace("app.*").is_err());
/// ```
pub fn validate_namespace(name: &str) -> Result<()> {
    let invalid = |reason: String| StorageError::InvalidNamespace {
        namespace: name.to_owned(),
        reason,
    };
    if name.len() > MAX_NAMESPACE_LEN {
        return Err(invalid(format!(
            "it is {} bytes long; use at most {MAX_NAMESPACE_LEN}",
            name.len()
        )));
    }
    CapabilityKind::Storage
        .validate(name)
        .map_err(|err| invalid(err.reason().to_owned()))?;
    if name.split('.').any(|token| token == "*" || token == ">") {
        return Err(invalid(
            "`*` and `>` are patterns for grants; name one namespace, like `app.cache`".into(),
        ));
    }
    Ok(())
}

/// Where a listing resumes: an opaque token returned with a page of keys, to pass back for the
/// next page. It holds the last key returned, so the next page starts strictly after it: keys
/// written or deleted meanwhile never make a page repeat or skip a key that existed throughout.
///
/// Its text form (`to_string`, `parse`) is what crosses to guests.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(Vec<u8>);

impl Cursor {
    /// The cursor of a page whose last key is `key`.
    pub fn after(key: Vec<u8>) -> Self {
        Self(key)
    }

    /// The last key of the page it came with.
    pub fn key(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(&self.0))
    }
}

impl FromStr for Cursor {
    type Err = StorageError;

    fn from_str(text: &str) -> Result<Self> {
        hex::decode(text)
            .map(Self)
            .map_err(|_| StorageError::InvalidCursor)
    }
}

/// The first key a listing of `prefix` resuming after `after` may return.
pub fn list_start<'a>(prefix: &'a [u8], after: Option<&'a [u8]>) -> Bound<&'a [u8]> {
    match after {
        Some(after) if after >= prefix => Bound::Excluded(after),
        _ => Bound::Included(prefix),
    }
}

/// One page of a key listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPage {
    /// Keys in ascending byte order.
    pub keys: Vec<Vec<u8>>,
    /// Where the next page starts; `None` when this page is the last.
    pub cursor: Option<Cursor>,
}

impl KeyPage {
    /// How many keys to fetch for a page of `limit` (clamped to 1..=[`MAX_PAGE_SIZE`]): one
    /// more than the page holds, which tells whether another page follows.
    pub fn fetch(limit: usize) -> usize {
        limit.clamp(1, MAX_PAGE_SIZE) + 1
    }

    /// The page of `limit` keys out of `keys`, fetched as [`fetch`](Self::fetch) says, with
    /// the cursor of the next page when there is one.
    pub fn from_fetched(mut keys: Vec<Vec<u8>>, limit: usize) -> Self {
        let limit = limit.clamp(1, MAX_PAGE_SIZE);
        let cursor = if keys.len() > limit {
            keys.truncate(limit);
            keys.last().cloned().map(Cursor::after)
        } else {
            None
        };
        Self { keys, cursor }
    }
}
