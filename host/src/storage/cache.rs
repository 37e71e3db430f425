//! Committed values kept in memory, so most reads answer at once on the caller's task instead
//! of hopping to the blocking pool for a read transaction (which costs more than the read).
//!
//! The writer thread updates the cache with every change of a commit after the commit is
//! durable and before it acknowledges any write of it, so a read never sees a value older than
//! an acknowledged write. A read that misses fills the cache from its read transaction only if
//! no commit updated the cache since the read began; otherwise the value it read may already be
//! stale and is not kept. Absent keys are cached too, as `None`.
//!
//! The cache is bounded by the bytes of its keys and values (S3-FIFO eviction, from
//! `quick_cache`); evicted keys are read from the file again.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use quick_cache::{Equivalent, Weighter};

use airssys_contract::storage::Entry;

/// Default [`Storage::open`](super::Storage::open) cache: 32 MiB of keys and values.
pub const DEFAULT_CACHE_SIZE: u64 = 32 << 20;

/// What each cached item costs besides its bytes (map slot, `Bytes` header, revision).
const ITEM_OVERHEAD: u64 = 64;

/// A namespace and a key, owned, as the cache stores them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key(String, Vec<u8>);

/// A namespace and a key, borrowed, to look up without allocating. Hashes as [`Key`] does:
/// field by field, `&str` as `String` and `&[u8]` as `Vec<u8>`.
struct Lookup<'a>(&'a str, &'a [u8]);

impl Hash for Lookup<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
        self.1.hash(state);
    }
}

impl Equivalent<Key> for Lookup<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        self.0 == key.0 && self.1 == key.1.as_slice()
    }
}

#[derive(Clone)]
struct Size;

impl Weighter<Key, Option<Entry>> for Size {
    fn weight(&self, key: &Key, value: &Option<Entry>) -> u64 {
        let value = value.as_ref().map_or(0, |entry| entry.value.len());
        (key.0.len() + key.1.len() + value) as u64 + ITEM_OVERHEAD
    }
}

/// One change a commit made: a value stored, or (`None`) a key removed.
pub(crate) type Change = (String, Vec<u8>, Option<Entry>);

pub(crate) struct Cache {
    values: quick_cache::sync::Cache<Key, Option<Entry>, Size>,
    /// Counts the commits applied to the cache.
    commits: AtomicU64,
    /// Held while a commit updates the cache and while a read fills it, so a fill can tell
    /// whether a commit came between its read and its fill.
    update: Mutex<()>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("items", &self.values.len())
            .field("bytes", &self.values.weight())
            .field("capacity", &self.values.capacity())
            .finish()
    }
}

impl Cache {
    /// A cache of at most `bytes` of keys and values.
    pub(crate) fn new(bytes: u64) -> Self {
        let items = usize::try_from(bytes / 256).unwrap_or(usize::MAX).max(16);
        Self {
            values: quick_cache::sync::Cache::with_weighter(items, bytes, Size),
            commits: AtomicU64::new(0),
            update: Mutex::new(()),
        }
    }

    /// What the cache knows of `key`: `Some(None)` when it is known to be absent, `None` when
    /// the cache cannot say.
    pub(crate) fn get(&self, namespace: &str, key: &[u8]) -> Option<Option<Entry>> {
        self.values.get(&Lookup(namespace, key))
    }

    /// Where a read that missed starts; pass it to [`fill`](Self::fill).
    pub(crate) fn mark(&self) -> u64 {
        self.commits.load(Ordering::Acquire)
    }

    /// Keeps what a read found, unless a commit updated the cache since `mark`.
    pub(crate) fn fill(&self, mark: u64, namespace: &str, key: &[u8], found: Option<Entry>) {
        let _update = self.update.lock().unwrap_or_else(PoisonError::into_inner);
        if self.commits.load(Ordering::Acquire) == mark {
            self.values
                .insert(Key(namespace.to_owned(), key.to_vec()), found);
        }
    }

    /// Applies a durable commit's changes; called by the writer before it acknowledges them.
    pub(crate) fn commit(&self, changes: Vec<Change>) {
        if changes.is_empty() {
            return;
        }
        let _update = self.update.lock().unwrap_or_else(PoisonError::into_inner);
        for (namespace, key, entry) in changes {
            self.values.insert(Key(namespace, key), entry);
        }
        self.commits.fetch_add(1, Ordering::AcqRel);
    }

    /// Forgets everything (the store closed).
    pub(crate) fn clear(&self) {
        let _update = self.update.lock().unwrap_or_else(PoisonError::into_inner);
        self.values.clear();
        self.commits.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::storage::Revision;

    fn entry(value: &'static str, revision: u64) -> Option<Entry> {
        Some(Entry {
            value: Bytes::from_static(value.as_bytes()),
            revision: Revision::new(revision),
        })
    }

    #[test]
    fn a_fill_after_a_commit_is_not_kept() {
        let cache = Cache::new(1 << 20);
        let mark = cache.mark();
        // The commit lands between the read and its fill; the read's value is older.
        cache.commit(vec![("ns".into(), b"k".to_vec(), entry("new", 2))]);
        cache.fill(mark, "ns", b"k", entry("old", 1));
        assert_eq!(cache.get("ns", b"k"), Some(entry("new", 2)));

        let mark = cache.mark();
        cache.fill(mark, "ns", b"absent", None);
        assert_eq!(cache.get("ns", b"absent"), Some(None), "absence is cached");
        assert_eq!(cache.get("other", b"k"), None, "namespaces are apart");
    }

    #[test]
    fn keys_never_collide_across_namespaces() {
        let cache = Cache::new(1 << 20);
        cache.commit(vec![
            ("a".into(), b".b\0k".to_vec(), entry("1", 1)),
            ("a.b".into(), b"\0k".to_vec(), entry("2", 1)),
        ]);
        assert_eq!(cache.get("a", b".b\0k"), Some(entry("1", 1)));
        assert_eq!(cache.get("a.b", b"\0k"), Some(entry("2", 1)));
    }

    #[test]
    fn stays_within_its_bytes() {
        let cache = Cache::new(64 << 10);
        for i in 0..1_000u32 {
            let value = Bytes::from(vec![0u8; 1_000]);
            cache.commit(vec![(
                "ns".into(),
                i.to_be_bytes().to_vec(),
                Some(Entry {
                    value,
                    revision: Revision::new(u64::from(i)),
                }),
            )]);
        }
        assert!(cache.values.weight() <= 64 << 10, "{cache:?}");
    }
}
