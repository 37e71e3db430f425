//! The values a store keeps and the writes it is asked for.
//!
//! They are shaped so that a NATS JetStream key-value bucket can serve them as well as redb:
//! revisions are opaque increasing numbers (JetStream's stream sequence), and compare-and-swap
//! expects a revision (`update(key, value, revision)`), absence (`create`) or a previous value
//! (read the revision, then `update` on it).

use std::fmt;

use bytes::Bytes;

/// The revision of a stored value: a number that grows with every write in its namespace and
/// is never reused, not even after a delete, so a compare-and-swap on a revision cannot
/// mistake a newer value for the one it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Revision(u64);

impl Revision {
    /// A revision as the backend numbers it (redb: per-namespace counter from 1; JetStream:
    /// the stream sequence).
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
    pub value: Bytes,
    /// When it was written.
    pub revision: Revision,
}

/// What a compare-and-swap expects the key to hold; anything else is a
/// [`Conflict`](super::StorageError::Conflict).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// The key holds nothing (create-if-absent).
    Absent,
    /// The key holds the value written at this revision.
    Revision(Revision),
    /// The key holds exactly these bytes (as `wasi:keyvalue/atomics` swaps do).
    Value(Bytes),
}

/// One write of a batch, which applies all its writes or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOp {
    /// Store `value` under `key`.
    Set {
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Bytes,
    },
    /// Remove `key` (nothing happens if it is absent).
    Delete {
        /// The key.
        key: Vec<u8>,
    },
}

impl BatchOp {
    /// A set of `key` to `value`.
    pub fn set(key: impl Into<Vec<u8>>, value: impl Into<Bytes>) -> Self {
        Self::Set {
            key: key.into(),
            value: value.into(),
        }
    }

    /// A delete of `key`.
    pub fn delete(key: impl Into<Vec<u8>>) -> Self {
        Self::Delete { key: key.into() }
    }

    /// The key written.
    pub fn key(&self) -> &[u8] {
        match self {
            Self::Set { key, .. } | Self::Delete { key } => key,
        }
    }
}
