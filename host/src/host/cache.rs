//! The host's in-memory cache of compiled components, by SHA-256 of their bytes: bounded by
//! the bytes its entries weigh, the least recently used evicted first.

use std::hash::Hash;

use lru::LruCache;

/// Values of `V` by `K`, weighing at most `max` bytes together.
pub(super) struct Cache<K: Hash + Eq, V> {
    entries: LruCache<K, (V, usize)>,
    bytes: usize,
    max: usize,
}

impl<K: Hash + Eq, V: Clone> Cache<K, V> {
    pub(super) fn new(max: usize) -> Self {
        Self {
            entries: LruCache::unbounded(),
            bytes: 0,
            max,
        }
    }

    /// The value at `key`, now the most recently used.
    pub(super) fn get(&mut self, key: &K) -> Option<V> {
        self.entries.get(key).map(|(value, _)| value.clone())
    }

    /// Keeps `value`, weighing `bytes`, evicting the least recently used entries until all
    /// fit. A value heavier than the whole cache is not kept.
    pub(super) fn insert(&mut self, key: K, value: V, bytes: usize) {
        if bytes > self.max {
            return;
        }
        if let Some((_, (_, replaced))) = self.entries.push(key, (value, bytes)) {
            self.bytes -= replaced;
        }
        self.bytes += bytes;
        while self.bytes > self.max {
            match self.entries.pop_lru() {
                Some((_, (_, evicted))) => self.bytes -= evicted,
                None => break,
            }
        }
    }

    /// Bytes the entries weigh together.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_go_first_once_the_bytes_are_over() {
        let mut cache = Cache::new(100);
        cache.insert("a", 1, 40);
        cache.insert("b", 2, 40);
        assert_eq!(cache.get(&"a"), Some(1), "a is now more recent than b");
        cache.insert("c", 3, 40);
        assert_eq!(cache.get(&"b"), None, "b was the least recently used");
        assert_eq!((cache.get(&"a"), cache.get(&"c")), (Some(1), Some(3)));
        assert_eq!(cache.bytes(), 80);
        cache.insert("d", 4, 100);
        assert_eq!(cache.bytes(), 100, "one entry may fill it");
        assert_eq!((cache.get(&"a"), cache.get(&"c")), (None, None));
    }

    #[test]
    fn an_entry_heavier_than_the_cache_is_not_kept() {
        let mut cache = Cache::new(10);
        cache.insert("small", 1, 5);
        cache.insert("huge", 2, 11);
        assert_eq!((cache.get(&"small"), cache.get(&"huge")), (Some(1), None));
        let mut off = Cache::new(0);
        off.insert("any", 1, 1);
        assert_eq!(off.get(&"any"), None, "a zero-byte cache keeps nothing");
    }

    #[test]
    fn inserting_a_key_again_replaces_its_weight() {
        let mut cache = Cache::new(100);
        cache.insert("a", 1, 60);
        cache.insert("a", 2, 30);
        assert_eq!((cache.get(&"a"), cache.bytes()), (Some(2), 30));
    }
}
