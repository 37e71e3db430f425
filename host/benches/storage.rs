//! Storage against raw redb, in one run: the engine, and a component calling it.
//!
//! - `storage_get`: 100 reads of a 100-byte value per iteration. Baselines: a raw redb read
//!   transaction per read on the calling thread, and the same on tokio's blocking pool (what an
//!   async embedder must do to keep file I/O off its workers). Then the engine with its cache
//!   of committed values (hits answer on the caller's task) and without one (every read hops to
//!   the blocking pool), and a component (`tests/fixtures/keeper`) making the 100 reads in one
//!   request through `airssys::storage`, with and without the cache.
//! - `storage_set`: 10 durable writes per iteration from a lone writer. Baseline: a raw redb
//!   write transaction with `Durability::Immediate` per set; then the engine, and a component
//!   making the 10 sets in one request.
//! - `storage_100_writers`: durable sets from 100 concurrent writers. Baseline: one raw redb
//!   durable commit per set, from 100 writers on the blocking pool; then the engine's group
//!   commit from 100 tasks, and 100 components each setting in turn.
//!
//! Run: `cargo bench -p airssys-host --bench storage`. The files live in a temporary directory
//! on the same disk as the system's temporary files.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use airssys_host::build::BuildOptions;
use airssys_host::storage::{BatchOp, Namespace, Storage};
use airssys_host::testing::build_with;
use airssys_host::{Capabilities, CapabilityKind, ComponentHandle, Host, LoadOptions};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use redb::{Database, Durability, ReadableDatabase, TableDefinition};
use serde_json::{Value, json};
use tokio::runtime::Runtime;

const TABLE: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("bench");
const KEYS: usize = 1_000;
const VALUE: [u8; 100] = [7; 100];
const WRITERS: u64 = 100;
/// Reads per `storage_get` iteration.
const GETS: u32 = 100;
/// Writes per `storage_set` iteration.
const SETS: u32 = 10;

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

/// The engine on its own file, seeded with the same keys as the raw file.
fn engine(runtime: &Runtime, path: &Path, cache: u64) -> Namespace {
    let storage = Storage::open_with_cache(path, cache).expect("engine file");
    let ns = storage.namespace("bench").expect("namespace");
    let seed = (0..KEYS).map(|i| BatchOp::set(key(i), VALUE.to_vec()));
    runtime.block_on(ns.batch(seed)).expect("seed");
    ns
}

fn keeper_wasm() -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let options = BuildOptions {
        release: true,
        target_dir: Some(root.join("target/guests")),
        quiet: true,
    };
    build_with(root.join("tests/fixtures/keeper"), &options).unwrap()
}

/// A host on `storage` with `count` keepers granted the namespace `bench`.
fn keepers(runtime: &Runtime, storage: Storage, count: usize) -> Vec<ComponentHandle> {
    let wasm = keeper_wasm();
    let mut grants = Capabilities::default();
    grants.add(CapabilityKind::Storage, "bench").unwrap();
    let host = Host::builder()
        .mode(airssys_host::Mode::Permissive)
        .mailbox_capacity(4)
        .storage(storage)
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut keepers = Vec::with_capacity(count);
        for i in 0..count {
            let options = LoadOptions::new()
                .address(format!("keeper-{i}"))
                .grants(grants.clone());
            keepers.push(host.load_with(&wasm, options).await.unwrap());
        }
        keepers
    })
}

/// Asks a keeper to run `of` on `bench` `times` times in one request.
async fn repeat(keeper: &ComponentHandle, times: u64, of: Value) -> Value {
    let reply: Value = keeper
        .request_json(&json!({"ns": "bench", "op": "repeat", "times": times, "of": of}))
        .await
        .unwrap();
    assert!(reply.get("error").is_none(), "{reply}");
    reply
}

fn get(key: &str) -> Value {
    json!({"op": "get", "key": key})
}

fn set(key: &str) -> Value {
    json!({"op": "set", "key": key, "value": "x".repeat(VALUE.len())})
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temporary directory");
    let raw = Arc::new(raw_db(&dir.path().join("raw.redb")));
    let cached = engine(&runtime, &dir.path().join("cached.redb"), 32 << 20);
    let uncached = engine(&runtime, &dir.path().join("uncached.redb"), 0);
    let one = key(1);
    let one_text = String::from_utf8(one.clone()).unwrap();

    let mut group = c.benchmark_group("storage_get");
    group.throughput(Throughput::Elements(GETS.into()));
    group.bench_function("raw_redb", |b| {
        b.iter(|| {
            for _ in 0..GETS {
                black_box(raw_get(&raw, &one));
            }
        });
    });
    group.bench_function("raw_redb_blocking_pool", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for _ in 0..GETS {
                    let (raw, key) = (Arc::clone(&raw), one.clone());
                    let read = tokio::task::spawn_blocking(move || raw_get(&raw, &key));
                    black_box(read.await.expect("read"));
                }
            })
        });
    });
    for (name, ns) in [("engine_cache", &cached), ("engine_no_cache", &uncached)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                runtime.block_on(async {
                    for _ in 0..GETS {
                        black_box(ns.get(&one).await.expect("get"));
                    }
                })
            });
        });
    }
    // Components on the same seeded files: the namespace handle is the guest's, the file the
    // engine's above.
    let (cached_storage, uncached_storage) = (
        Storage::open_with_cache(dir.path().join("component-cached.redb"), 32 << 20).unwrap(),
        Storage::open_with_cache(dir.path().join("component-uncached.redb"), 0).unwrap(),
    );
    for storage in [&cached_storage, &uncached_storage] {
        let ns = storage.namespace("bench").unwrap();
        runtime.block_on(async { ns.set(one.clone(), VALUE.to_vec()).await.unwrap() });
    }
    let keeper_cached = keepers(&runtime, cached_storage, 1).remove(0);
    let keeper_uncached = keepers(&runtime, uncached_storage, 1).remove(0);
    for (name, keeper) in [
        ("component_cache", &keeper_cached),
        ("component_no_cache", &keeper_uncached),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| runtime.block_on(repeat(keeper, GETS.into(), get(&one_text))));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("storage_set");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(SETS.into()));
    group.bench_function("raw_redb", |b| {
        b.iter(|| {
            for _ in 0..SETS {
                raw_set(&raw, &one);
            }
        });
    });
    group.bench_function("engine", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for _ in 0..SETS {
                    cached.set(one.clone(), VALUE.to_vec()).await.expect("set");
                }
            })
        });
    });
    group.bench_function("component", |b| {
        b.iter(|| runtime.block_on(repeat(&keeper_cached, SETS.into(), set(&one_text))));
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
    group.bench_function("engine_group_commit", |b| {
        b.iter_custom(|sets| {
            runtime.block_on(async {
                let started = Instant::now();
                let writers: Vec<_> = (0..WRITERS)
                    .map(|writer| {
                        let ns = cached.clone();
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
    let storage = Storage::open(dir.path().join("components.redb")).unwrap();
    let components = keepers(&runtime, storage, WRITERS as usize);
    group.bench_function("components_group_commit", |b| {
        b.iter_custom(|sets| {
            runtime.block_on(async {
                let started = Instant::now();
                let writers: Vec<_> = components
                    .iter()
                    .enumerate()
                    .map(|(writer, keeper)| {
                        let keeper = keeper.clone();
                        // This writer's share of the sets, on a key of its own.
                        let share = (writer as u64..sets).step_by(WRITERS as usize).count();
                        tokio::spawn(async move {
                            if share > 0 {
                                repeat(&keeper, share as u64, set(&format!("w{writer}"))).await;
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
