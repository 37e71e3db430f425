//! The storage engine against raw redb, in one run.
//!
//! - `storage_get`: one read of a 100-byte value. Baselines: a raw redb read transaction on
//!   the calling thread, and the same read on tokio's blocking pool (what an async embedder
//!   must do to keep file I/O off its workers, and what the engine does).
//! - `storage_set`: one durable write from a lone writer. Baseline: a raw redb write
//!   transaction with `Durability::Immediate` per set.
//! - `storage_100_writers`: durable sets from 100 concurrent writers. Baseline: one raw redb
//!   durable commit per set, from 100 writers on the blocking pool; the engine groups them.
//!
//! Run: `cargo bench -p airssys-host --bench storage`. The files live in a temporary directory
//! on the same disk as the system's temporary files.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use airssys_host::storage::{Namespace, Storage};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use redb::{Database, Durability, ReadableDatabase, TableDefinition};
use tokio::runtime::Runtime;

const TABLE: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("bench");
const KEYS: usize = 1_000;
const VALUE: [u8; 100] = [7; 100];
const WRITERS: u64 = 100;

fn key(i: usize) -> Vec<u8> {
    format!("key-{i:06}").into_bytes()
}

fn raw_db(path: &Path) -> Database {
    let db = Database::create(path).expect("raw redb file");
    let txn = db.begin_write().expect("write");
    {
        let mut table = txn.open_table(TABLE).expect("table");
        for i in 0..KEYS {
            table.insert(key(i).as_slice(), &VALUE[..]).expect("insert");
        }
    }
    txn.commit().expect("commit");
    db
}

fn raw_get(db: &Database, key: &[u8]) -> Vec<u8> {
    let txn = db.begin_read().expect("read");
    let table = txn.open_table(TABLE).expect("table");
    let value = table.get(key).expect("get").expect("present");
    value.value().to_vec()
}

fn raw_set(db: &Database, key: &[u8]) {
    let mut txn = db.begin_write().expect("write");
    txn.set_durability(Durability::Immediate)
        .expect("durability");
    {
        let mut table = txn.open_table(TABLE).expect("table");
        table.insert(key, &VALUE[..]).expect("insert");
    }
    txn.commit().expect("commit");
}

fn engine(runtime: &Runtime, path: &Path) -> Namespace {
    let storage = Storage::open(path).expect("engine file");
    let ns = storage.namespace("bench").expect("namespace");
    runtime.block_on(async {
        for i in 0..KEYS {
            ns.set(key(i), VALUE.to_vec()).await.expect("seed");
        }
    });
    ns
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temporary directory");
    let raw = Arc::new(raw_db(&dir.path().join("raw.redb")));
    let ns = engine(&runtime, &dir.path().join("engine.redb"));

    let mut group = c.benchmark_group("storage_get");
    let mut i = 0;
    let mut next = move || {
        i = (i + 1) % KEYS;
        key(i)
    };
    group.bench_function("raw_redb", |b| {
        b.iter(|| black_box(raw_get(&raw, &next())));
    });
    group.bench_function("raw_redb_blocking_pool", |b| {
        b.iter(|| {
            let (raw, key) = (Arc::clone(&raw), next());
            runtime.block_on(async {
                black_box(
                    tokio::task::spawn_blocking(move || raw_get(&raw, &key))
                        .await
                        .expect("read"),
                )
            })
        });
    });
    group.bench_function("airssys", |b| {
        b.iter(|| runtime.block_on(async { black_box(ns.get(next()).await.expect("get")) }));
    });
    group.finish();

    let mut group = c.benchmark_group("storage_set");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    group.bench_function("raw_redb", |b| b.iter(|| raw_set(&raw, &next())));
    group.bench_function("airssys", |b| {
        b.iter(|| runtime.block_on(async { ns.set(next(), VALUE.to_vec()).await.expect("set") }));
    });
    group.finish();

    let mut group = c.benchmark_group("storage_100_writers");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(1));
    // One iteration is one set; each sample spreads its sets over 100 concurrent writers.
    group.bench_function("raw_redb_commit_per_set", |b| {
        b.iter_custom(|sets| {
            runtime.block_on(async {
                let started = Instant::now();
                let writers: Vec<_> = (0..WRITERS)
                    .map(|writer| {
                        let raw = Arc::clone(&raw);
                        tokio::task::spawn_blocking(move || {
                            for i in (writer..sets).step_by(WRITERS as usize) {
                                raw_set(&raw, &key(i as usize % KEYS));
                            }
                        })
                    })
                    .collect();
                for writer in writers {
                    writer.await.expect("writer");
                }
                started.elapsed()
            })
        });
    });
    group.bench_function("airssys_group_commit", |b| {
        b.iter_custom(|sets| {
            runtime.block_on(async {
                let started = Instant::now();
                let writers: Vec<_> = (0..WRITERS)
                    .map(|writer| {
                        let ns = ns.clone();
                        tokio::spawn(async move {
                            for i in (writer..sets).step_by(WRITERS as usize) {
                                ns.set(key(i as usize % KEYS), VALUE.to_vec())
                                    .await
                                    .expect("set");
                            }
                        })
                    })
                    .collect();
                for writer in writers {
                    writer.await.expect("writer");
                }
                started.elapsed()
            })
        });
    });
    group.finish();
}

criterion_group!(storage, benches);
criterion_main!(storage);
