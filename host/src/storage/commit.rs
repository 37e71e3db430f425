//! Group commit: one thread owns redb's single write transaction, takes every write queued
//! since its last commit, applies them in one transaction, commits it durably (one disk sync),
//! and only then answers each caller.
//!
//! The trade: a write waits for the commit of its group (one sync, plus the writes queued
//! ahead of it in the same group) rather than for a sync of its own, so a lone writer sees
//! about one sync of latency, and many concurrent writers share each sync instead of queueing
//! one sync each. Throughput grows with concurrency until the group cap.
//!
//! Callers await a reply channel, so no async worker thread ever waits on the disk. A write
//! already queued is applied even if its caller stops waiting.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, Durability, ReadableTable};
use tokio::sync::{mpsc, oneshot};

use airssys_contract::storage::{Meta, Mutation, Quota, Result, StorageError, Table, Target};

use super::cache::Cache;
use super::redb::{META, RedbTable, data_table, io, meta_from, meta_to};

/// Most writes committed in one transaction, so one group's latency stays bounded.
const MAX_GROUP: usize = 512;

/// Writes waiting for the writer; when full, callers wait to enqueue (backpressure).
const QUEUE: usize = 4_096;

/// The handle to the writer thread.
#[derive(Debug)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Message>,
}

enum Message {
    Write(Box<dyn Job>),
    Close(oneshot::Sender<()>),
}

/// A queued write, its typed outcome erased so one queue carries every kind.
trait Job: Send {
    fn namespace(&self) -> &str;
    /// Applies the write inside the group's transaction. An error is a backend failure that
    /// abandons the group; the write's own refusal is kept for [`finish`](Self::finish).
    fn apply(&mut self, table: &mut dyn Table, meta: &mut Meta) -> Result<()>;
    /// Whether the write was refused (by its quota, an expectation, ...).
    fn refused(&self) -> bool;
    /// Answers the caller once the group's commit is known.
    fn finish(self: Box<Self>, committed: Result<()>);
}

struct Pending<M: Mutation> {
    namespace: String,
    quota: Quota,
    mutation: Option<M>,
    outcome: Option<Result<M::Output>>,
    reply: oneshot::Sender<Result<M::Output>>,
}

impl<M: Mutation> Job for Pending<M> {
    fn namespace(&self) -> &str {
        &self.namespace
    }

    fn apply(&mut self, table: &mut dyn Table, meta: &mut Meta) -> Result<()> {
        let Some(mutation) = self.mutation.take() else {
            return Ok(());
        };
        let outcome = mutation.apply(&mut Target {
            namespace: &self.namespace,
            quota: self.quota,
            table,
            meta,
        });
        match outcome {
            Err(err) if err.is_backend_failure() => Err(err),
            outcome => {
                self.outcome = Some(outcome);
                Ok(())
            }
        }
    }

    fn refused(&self) -> bool {
        matches!(self.outcome, Some(Err(_)))
    }

    fn finish(self: Box<Self>, committed: Result<()>) {
        let answer = match committed {
            Ok(()) => self.outcome.unwrap_or(Err(StorageError::Closed)),
            Err(err) => Err(err),
        };
        // The caller may have stopped waiting; the write stands either way.
        let _ = self.reply.send(answer);
    }
}

impl Writer {
    /// Starts the writer thread on `db`; it keeps `cache` up to date with what it commits.
    pub(crate) fn start(
        db: Arc<Database>,
        path: PathBuf,
        cache: Option<Arc<Cache>>,
    ) -> Result<Self> {
        let (queue, receiver) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("airssys-storage-writer".into())
            .spawn({
                let path = path.clone();
                move || run(db, &path, cache.as_deref(), receiver)
            })
            .map_err(|err| StorageError::io(path, err))?;
        Ok(Self { queue })
    }

    /// Queues `mutation` and waits until its group has committed.
    pub(crate) async fn submit<M: Mutation>(
        &self,
        namespace: &str,
        quota: Quota,
        mutation: M,
    ) -> Result<M::Output> {
        let (reply, answer) = oneshot::channel();
        let job = Pending {
            namespace: namespace.to_owned(),
            quota,
            mutation: Some(mutation),
            outcome: None,
            reply,
        };
        self.queue
            .send(Message::Write(Box::new(job)))
            .await
            .map_err(|_| StorageError::Closed)?;
        // A dropped reply means the writer stopped (closed, or it panicked).
        answer.await.map_err(|_| StorageError::Closed)?
    }

    /// Commits what is queued, stops the thread and returns once it has let go of the
    /// database. Later writes fail with [`StorageError::Closed`].
    pub(crate) async fn close(&self) {
        let (ack, done) = oneshot::channel();
        if self.queue.send(Message::Close(ack)).await.is_ok() {
            let _ = done.await;
        }
    }
}

fn run(db: Arc<Database>, path: &Path, cache: Option<&Cache>, mut queue: mpsc::Receiver<Message>) {
    let mut acks = Vec::new();
    while acks.is_empty() {
        let Some(first) = queue.blocking_recv() else {
            break; // every handle is gone
        };
        let mut group = Vec::new();
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Message::Write(job) => group.push(job),
                Message::Close(ack) => {
                    acks.push(ack);
                    break;
                }
            }
            next = (group.len() < MAX_GROUP)
                .then(|| queue.try_recv().ok())
                .flatten();
        }
        if !group.is_empty() {
            let committed = commit(&db, path, cache, &mut group);
            // Refused writes first: a writer that lost a compare-and-swap race retries before
            // the winner's next write can queue, so the winner of one round does not win every
            // round after it.
            group.sort_by_key(|job| !job.refused());
            for job in group {
                job.finish(committed.clone());
            }
        }
    }
    queue.close();
    while let Ok(message) = queue.try_recv() {
        match message {
            Message::Write(job) => job.finish(Err(StorageError::Closed)),
            Message::Close(ack) => acks.push(ack),
        }
    }
    // Let go of the file before saying so, so it can be opened again at once.
    drop(db);
    for ack in acks {
        let _ = ack.send(());
    }
}

/// Applies `group` in one durable transaction, then updates the cache with its changes (before
/// any write of the group is acknowledged).
fn commit(
    db: &Database,
    path: &Path,
    cache: Option<&Cache>,
    group: &mut [Box<dyn Job>],
) -> Result<()> {
    let mut txn = db.begin_write().map_err(io(path))?;
    txn.set_durability(Durability::Immediate)
        .map_err(io(path))?;
    // Writes to different namespaces commute; a stable sort keeps each namespace's writes in
    // arrival order and lets each namespace's table be opened once per group.
    group.sort_by(|a, b| a.namespace().cmp(b.namespace()));
    let mut changes = Vec::new();
    {
        let mut metas = txn.open_table(META).map_err(io(path))?;
        for jobs in group.chunk_by_mut(|a, b| a.namespace() == b.namespace()) {
            let Some(namespace) = jobs.first().map(|job| job.namespace().to_owned()) else {
                continue;
            };
            let stored = metas
                .get(namespace.as_str())
                .map_err(io(path))?
                .map(|guard| meta_from(guard.value()));
            let mut meta = stored.unwrap_or_default();
            let name = data_table(&namespace);
            let mut table = RedbTable {
                table: txn.open_table(name.definition()).map_err(io(path))?,
                path,
                namespace: &namespace,
                changes: &mut changes,
            };
            for job in jobs.iter_mut() {
                job.apply(&mut table, &mut meta)?;
            }
            metas
                .insert(namespace.as_str(), meta_to(meta))
                .map_err(io(path))?;
        }
    }
    txn.commit().map_err(io(path))?;
    if let Some(cache) = cache {
        cache.commit(changes);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use redb::ReadableDatabase;

    use super::*;
    use airssys_contract::storage::{
        Batch, BatchOp, Entry, Expect, Increment, QuotaLimit, Revision, Set, Swap, Usage,
    };

    type Answer<T> = oneshot::Receiver<Result<T>>;

    fn queue<M: Mutation>(
        group: &mut Vec<Box<dyn Job>>,
        namespace: &str,
        mutation: M,
    ) -> Answer<M::Output> {
        let (reply, answer) = oneshot::channel();
        group.push(Box::new(Pending {
            namespace: namespace.to_owned(),
            quota: Quota::new().max_keys(2),
            mutation: Some(mutation),
            outcome: None,
            reply,
        }));
        answer
    }

    fn set(key: &str, value: &'static str) -> Set {
        Set {
            key: key.into(),
            value: Bytes::from_static(value.as_bytes()),
        }
    }

    /// One group, one transaction: later writes see earlier ones, each refusal is answered on
    /// its own, and the rest commit.
    #[test]
    fn each_write_in_a_group_is_answered_on_its_own() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("store.redb");
        let db = Database::create(&path).expect("create");

        let mut group = Vec::new();
        let mut first = queue(&mut group, "ns", set("a", "1"));
        let mut elsewhere = queue(&mut group, "other", set("a", "1"));
        let swap = Swap {
            key: "a".into(),
            expect: Expect::Absent,
            value: Some(Bytes::from_static(b"x")),
        };
        let mut conflict = queue(&mut group, "ns", swap);
        let batch = Batch(vec![BatchOp::set("x", "1"), BatchOp::set("y", "1")]);
        let mut over_quota = queue(&mut group, "ns", batch);
        let mut sum = queue(
            &mut group,
            "ns",
            Increment {
                key: "a".into(),
                delta: 2,
            },
        );
        let committed = commit(&db, &path, None, &mut group);
        assert!(committed.is_ok(), "{committed:?}");
        for job in group {
            job.finish(committed.clone());
        }

        assert_eq!(
            first.try_recv().expect("answered").ok(),
            Some(Revision::new(1))
        );
        // Revisions are counted per namespace.
        assert_eq!(
            elsewhere.try_recv().expect("answered").ok(),
            Some(Revision::new(1))
        );
        match conflict.try_recv().expect("answered") {
            Err(StorageError::Conflict { current, .. }) => assert_eq!(
                current,
                Some(Entry {
                    value: Bytes::from_static(b"1"),
                    revision: Revision::new(1),
                })
            ),
            other => panic!("expected a conflict, got {other:?}"),
        }
        match over_quota.try_recv().expect("answered") {
            Err(StorageError::QuotaExceeded { limit, .. }) => assert_eq!(limit, QuotaLimit::Keys),
            other => panic!("expected a quota error, got {other:?}"),
        }
        assert_eq!(sum.try_recv().expect("answered").ok(), Some(3));

        let txn = db.begin_read().expect("read");
        let table = txn
            .open_table(data_table("ns").definition())
            .expect("table");
        let keys: Vec<Vec<u8>> = table
            .iter()
            .expect("iterate")
            .map(|item| item.expect("entry").0.value().to_vec())
            .collect();
        assert_eq!(keys, [b"a".to_vec()]);
        let stored = table.get(&b"a"[..]).expect("get").expect("a");
        assert_eq!(stored.value(), (2, &b"3"[..]));
        let metas = txn.open_table(META).expect("meta");
        let meta = meta_from(metas.get("ns").expect("get").expect("ns").value());
        assert_eq!(meta.usage, Usage { keys: 1, bytes: 2 });
        assert_eq!(meta.revision, 2);
    }
}
