//! The in-memory backend, for tests and throwaway hosts: the contract's [`MemoryStore`] (the
//! same write rules as the redb backend), nothing kept after the process.

use airssys_contract::storage::{
    Batch, BatchOp, Bytes, Delete, Entry, Expect, Increment, MemoryStore, Quota, Result, Revision,
    Set, Swap, Usage,
};
use async_trait::async_trait;

use super::backend::Backend;

/// Every call is a short critical section with no I/O, so it runs on the caller's task.
#[derive(Debug, Default)]
pub(crate) struct MemoryBackend(MemoryStore);

#[async_trait]
impl Backend for MemoryBackend {
    async fn get(&self, namespace: &str, key: &[u8]) -> Result<Option<Entry>> {
        self.0.get(namespace, key)
    }

    async fn keys(
        &self,
        namespace: &str,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>> {
        self.0.keys(namespace, prefix, after, limit)
    }

    async fn export(&self, namespace: &str) -> Result<Vec<(Vec<u8>, Entry)>> {
        self.0.export(namespace)
    }

    async fn usage(&self, namespace: &str) -> Result<Usage> {
        self.0.usage(namespace)
    }

    async fn namespaces(&self) -> Result<Vec<String>> {
        self.0.namespaces()
    }

    async fn set(
        &self,
        namespace: &str,
        quota: Quota,
        key: Vec<u8>,
        value: Bytes,
    ) -> Result<Revision> {
        self.0.write(namespace, quota, Set { key, value })
    }

    async fn delete(&self, namespace: &str, quota: Quota, key: Vec<u8>) -> Result<()> {
        self.0.write(namespace, quota, Delete { key })
    }

    async fn compare_and_swap(
        &self,
        namespace: &str,
        quota: Quota,
        key: Vec<u8>,
        expect: Expect,
        value: Option<Bytes>,
    ) -> Result<Option<Revision>> {
        self.0.write(namespace, quota, Swap { key, expect, value })
    }

    async fn increment(
        &self,
        namespace: &str,
        quota: Quota,
        key: Vec<u8>,
        delta: i64,
    ) -> Result<i64> {
        self.0.write(namespace, quota, Increment { key, delta })
    }

    async fn batch(&self, namespace: &str, quota: Quota, ops: Vec<BatchOp>) -> Result<()> {
        self.0.write(namespace, quota, Batch(ops))
    }

    async fn close(&self) -> Result<()> {
        self.0.close();
        Ok(())
    }
}
