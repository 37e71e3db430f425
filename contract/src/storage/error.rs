//! Every way a storage call can fail.

use std::error::Error as StdError;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use super::value::Entry;

/// `Result` with [`StorageError`] as the default error.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Why a storage call failed. Messages name the namespace and say how to fix the problem; they
/// never include a key or a value, which may be large or private.
///
/// It is `Clone` so that one failed group commit can be reported to every write in the group.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The namespace name does not follow the `storage` capability grammar.
    #[error("invalid storage namespace `{namespace}`: {reason}")]
    InvalidNamespace {
        /// The name given.
        namespace: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The key is empty.
    #[error("empty key in namespace `{namespace}`: keys need at least one byte")]
    EmptyKey {
        /// The namespace.
        namespace: String,
    },
    /// A list cursor that no page returned.
    #[error(
        "invalid list cursor: pass back the `cursor` of the previous page unchanged, or none to start"
    )]
    InvalidCursor,
    /// The host-side inspection API was asked for a namespace that holds no keys.
    #[error(
        "namespace `{namespace}` holds no keys; list the namespaces that do with `Storage::namespaces`"
    )]
    NotFound {
        /// The namespace.
        namespace: String,
    },
    /// A write would exceed one of the namespace's quotas; nothing was written.
    #[error(
        "namespace `{namespace}` would exceed its {limit} quota ({actual} > {max}); {}",
        limit.fix()
    )]
    QuotaExceeded {
        /// The namespace.
        namespace: String,
        /// Which limit.
        limit: QuotaLimit,
        /// The limit's value.
        max: u64,
        /// What the write would have needed.
        actual: u64,
    },
    /// A compare-and-swap found something other than what it expected; nothing was written.
    #[error(
        "compare-and-swap in namespace `{namespace}` found {}; read the key again and retry",
        found(current.as_ref())
    )]
    Conflict {
        /// The namespace.
        namespace: String,
        /// What the key holds now, so the caller can retry without another read.
        current: Option<Entry>,
    },
    /// An increment found a value that is not a decimal `i64`.
    #[error(
        "cannot increment a key in namespace `{namespace}`: its value is not a decimal i64 (like `42` or `-7`); increment only keys written by increment or holding such text"
    )]
    NotAnInteger {
        /// The namespace.
        namespace: String,
    },
    /// An increment would leave the `i64` range.
    #[error(
        "incrementing a key in namespace `{namespace}` by {delta} overflows i64; the value is unchanged"
    )]
    Overflow {
        /// The namespace.
        namespace: String,
        /// The delta asked for.
        delta: i64,
    },
    /// The storage file could not be opened, read or committed to.
    #[error("storage file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the backend said.
        source: Arc<dyn StdError + Send + Sync>,
    },
    /// Another process has the file open (redb allows one at a time), most likely a running
    /// `airssys up`.
    #[error(
        "storage file {} is open in another process (a running `airssys up`?); stop that host first, or reach its store through it",
        path.display()
    )]
    InUse {
        /// The file.
        path: PathBuf,
    },
    /// A networked store (NATS JetStream) could not be reached or refused the call. Nothing
    /// was written; the same call may succeed once the store is back.
    #[error("storage backend {backend} is unavailable: {reason}")]
    Unavailable {
        /// Which store (`nats bucket KV_…`).
        backend: String,
        /// What went wrong, and the fix where there is one.
        reason: String,
    },
    /// The store was closed (the host's `Storage::close`), or its writer stopped.
    #[error("the storage is closed; open it again to read or write")]
    Closed,
}

impl StorageError {
    /// A failure of the store's file at `path` (a backend's I/O error).
    pub fn io(
        path: impl Into<PathBuf>,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self::Io {
            path: path.into(),
            source: Arc::from(source.into()),
        }
    }

    /// Whether the backend itself failed (rather than this one call being refused), in which
    /// case a group of writes must be abandoned as a whole.
    pub fn is_backend_failure(&self) -> bool {
        matches!(self, Self::Io { .. } | Self::Unavailable { .. })
    }
}

fn found(current: Option<&Entry>) -> String {
    match current {
        Some(entry) => format!("revision {}", entry.revision),
        None => "no value".to_owned(),
    }
}

/// Which limit a write (or an open) ran into (see [`Quota`](super::Quota)). It mirrors
/// `quota-limit` in `wit/storage.wit`, so a new limit is a contract change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaLimit {
    /// [`Quota::max_keys`](super::Quota::max_keys).
    Keys,
    /// [`Quota::max_bytes`](super::Quota::max_bytes).
    Bytes,
    /// [`Quota::max_value_size`](super::Quota::max_value_size).
    ValueSize,
    /// [`Quota::max_key_size`](super::Quota::max_key_size).
    KeySize,
    /// How many namespaces one component may open (the host's `Limits::namespaces`).
    Namespaces,
}

impl QuotaLimit {
    fn fix(self) -> &'static str {
        match self {
            Self::Keys => "delete keys, or raise `max_keys` for this namespace",
            Self::Bytes => "delete keys or store less, or raise `max_bytes` for this namespace",
            Self::ValueSize => "store smaller values, or raise `max_value_size` for this namespace",
            Self::KeySize => "use shorter keys, or raise `max_key_size` for this namespace",
            Self::Namespaces => {
                "use fewer namespaces, or raise the `namespaces` limit of this component"
            }
        }
    }
}

impl fmt::Display for QuotaLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Keys => "max_keys",
            Self::Bytes => "max_bytes (keys plus values)",
            Self::ValueSize => "max_value_size (bytes)",
            Self::KeySize => "max_key_size (bytes)",
            Self::Namespaces => "namespaces (per component)",
        })
    }
}
