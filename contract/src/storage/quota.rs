//! Per-namespace quotas and the usage they are checked against.

use super::error::{QuotaLimit, Result, StorageError};

/// Limits on one namespace, checked on every write; a write that would exceed one fails with
/// [`StorageError::QuotaExceeded`] and writes nothing.
///
/// | limit | default |
/// |---|---|
/// | [`max_keys`](Self::max_keys) | 100 000 keys |
/// | [`max_bytes`](Self::max_bytes) | 64 MiB of keys plus values |
/// | [`max_value_size`](Self::max_value_size) | 1 MiB per value |
/// | [`max_key_size`](Self::max_key_size) | 1 KiB per key |
///
/// Lowering a limit below what a namespace already holds keeps its data: writes that do not
/// grow it (overwrites of the same size or smaller, deletes) still succeed.
///
/// ```
/// use airssys_contract::storage::Quota;
/// let quota = Quota::new().max_keys(1_000).max_value_size(64 << 10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    max_keys: u64,
    max_bytes: u64,
    max_value_size: u64,
    max_key_size: u64,
}

impl Default for Quota {
    fn default() -> Self {
        Self {
            max_keys: 100_000,
            max_bytes: 64 << 20,
            max_value_size: 1 << 20,
            max_key_size: 1 << 10,
        }
    }
}

impl Quota {
    /// The defaults in the table above.
    pub fn new() -> Self {
        Self::default()
    }

    /// Most keys the namespace may hold.
    pub fn max_keys(mut self, keys: u64) -> Self {
        self.max_keys = keys;
        self
    }

    /// Most bytes the namespace may hold, counting every key and every value.
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Largest value, in bytes.
    pub fn max_value_size(mut self, bytes: u64) -> Self {
        self.max_value_size = bytes;
        self
    }

    /// Longest key, in bytes.
    pub fn max_key_size(mut self, bytes: u64) -> Self {
        self.max_key_size = bytes;
        self
    }

    /// The value of one of its limits (`None` for [`QuotaLimit::Namespaces`], which is the
    /// host's, not a namespace's).
    ///
    /// ```
    /// use airssys_contract::storage::{Quota, QuotaLimit};
    /// let quota = Quota::new().max_value_size(4096);
    /// assert_eq!(quota.limit(QuotaLimit::ValueSize), Some(4096));
    /// ```
    pub fn limit(&self, limit: QuotaLimit) -> Option<u64> {
        match limit {
            QuotaLimit::Keys => Some(self.max_keys),
            QuotaLimit::Bytes => Some(self.max_bytes),
            QuotaLimit::ValueSize => Some(self.max_value_size),
            QuotaLimit::KeySize => Some(self.max_key_size),
            QuotaLimit::Namespaces => None,
        }
    }

    /// The quota that admits only what both `self` and `other` admit: each limit the lower of
    /// the two. A component's storage quota meets the namespace's this way.
    pub fn intersect(self, other: Quota) -> Quota {
        Quota {
            max_keys: self.max_keys.min(other.max_keys),
            max_bytes: self.max_bytes.min(other.max_bytes),
            max_value_size: self.max_value_size.min(other.max_value_size),
            max_key_size: self.max_key_size.min(other.max_key_size),
        }
    }

    /// Checks a key given to any call: non-empty and within `max_key_size`.
    pub fn check_key(&self, namespace: &str, key: &[u8]) -> Result<()> {
        if key.is_empty() {
            return Err(StorageError::EmptyKey {
                namespace: namespace.to_owned(),
            });
        }
        exceeds(namespace, QuotaLimit::KeySize, self.max_key_size, len(key))
    }

    /// Checks a value about to be stored.
    pub fn check_value(&self, namespace: &str, value: &[u8]) -> Result<()> {
        exceeds(
            namespace,
            QuotaLimit::ValueSize,
            self.max_value_size,
            len(value),
        )
    }

    /// Checks that going from `before` to `after` takes no count over its limit, nor grows a
    /// count that is already over (after the limit was lowered).
    pub fn check_usage(&self, namespace: &str, before: Usage, after: Usage) -> Result<()> {
        if after.keys > before.keys {
            exceeds(namespace, QuotaLimit::Keys, self.max_keys, after.keys)?;
        }
        if after.bytes > before.bytes {
            exceeds(namespace, QuotaLimit::Bytes, self.max_bytes, after.bytes)?;
        }
        Ok(())
    }
}

fn exceeds(namespace: &str, limit: QuotaLimit, max: u64, actual: u64) -> Result<()> {
    if actual > max {
        return Err(StorageError::QuotaExceeded {
            namespace: namespace.to_owned(),
            limit,
            max,
            actual,
        });
    }
    Ok(())
}

/// A length as the quotas count it.
pub(crate) fn len(bytes: &[u8]) -> u64 {
    bytes.len() as u64
}

/// The size of an entry as the quotas count it: its key plus its value.
pub fn entry_size(key: &[u8], value: &[u8]) -> u64 {
    len(key) + len(value)
}

/// What a namespace holds, as its quota counts it. Kept exact by every write, in the same
/// transaction as the write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Keys stored.
    pub keys: u64,
    /// Bytes stored: every key plus every value.
    pub bytes: u64,
}

impl Usage {
    /// The usage after replacing an entry of `old` bytes (`None`: absent) by one of `new`.
    pub fn replace(self, old: Option<u64>, new: Option<u64>) -> Self {
        let (keys, bytes) = (self.keys, self.bytes);
        let (keys, bytes) = match old {
            Some(old) => (keys.saturating_sub(1), bytes.saturating_sub(old)),
            None => (keys, bytes),
        };
        match new {
            Some(new) => Usage {
                keys: keys.saturating_add(1),
                bytes: bytes.saturating_add(new),
            },
            None => Usage { keys, bytes },
        }
    }
}
